import { z } from 'zod';
import {
  isoDateSchema,
  itemIdSchema,
  lotSchema,
  positionIdSchema,
  serialSchema,
} from '../shared/ids.js';
import { quantitySchema } from '../shared/quantity.js';

/**
 * Production-job and assembly commands (DOMAIN.md, "Production jobs (light)" and
 * "Genealogy"). Mutation names are a public API: imperative camelCase, never renamed.
 *
 * A supervisor creates, starts and completes jobs; operators consume and produce for a running
 * job and assemble serials. Consuming and producing move stock (to and from the virtual
 * PRODUCTION endpoint) and link lots and serials in the genealogy graph.
 */

/** A job's id: a UUID minted by whoever creates it (a supervisor's device, an ERP import). */
export const jobIdSchema = z.uuid({ error: 'jobId must be a UUID' }).brand<'JobId'>();
export type JobId = z.infer<typeof jobIdSchema>;
/** Trusted cast for values already validated elsewhere (rows read back, events). */
export const asJobId = (s: string) => s as JobId;

/** Why an assembled serial was swapped for another. Stable codes for reports. */
export const REPLACEMENT_REASONS = ['defective', 'damaged', 'upgrade', 'rework', 'other'] as const;
export const replacementReasonSchema = z.enum(REPLACEMENT_REASONS, {
  error: `reason must be one of: ${REPLACEMENT_REASONS.join(', ')}`,
});
export type ReplacementReason = z.infer<typeof replacementReasonSchema>;

/** One serialized unit: a serial is unique per item, so the item is part of its identity. */
export const serialRefSchema = z.strictObject({ itemId: itemIdSchema, serial: serialSchema });
export type SerialRef = z.infer<typeof serialRefSchema>;

const sameSerial = (a: SerialRef, b: SerialRef) => a.itemId === b.itemId && a.serial === b.serial;

const note = z.string().trim().max(500, 'note must be at most 500 characters').optional();

export const createProductionJobArgs = z.strictObject({
  jobId: jobIdSchema,
  /** The job number people and the ERP use; unique. */
  code: z
    .string({ error: 'code must be a text' })
    .trim()
    .min(1, 'code must not be empty')
    .max(64, 'code must be at most 64 characters'),
  /** The product the job makes. */
  itemId: itemIdSchema,
  /** Planned quantity of the product, when there is a plan. */
  quantity: quantitySchema.optional(),
  note,
});

export const startProductionJobArgs = z.strictObject({ jobId: jobIdSchema });

export const completeProductionJobArgs = z.strictObject({ jobId: jobIdSchema, note });

/** Stock of a component leaves `from` into the job (a `consumption` movement to PRODUCTION). */
export const consumeForJobArgs = z.strictObject({
  jobId: jobIdSchema,
  itemId: itemIdSchema,
  from: positionIdSchema,
  quantity: quantitySchema,
  lot: lotSchema.optional(),
  serial: serialSchema.optional(),
});

/** The job's product arrives at `to` (a `production` movement from PRODUCTION). */
export const produceForJobArgs = z.strictObject({
  jobId: jobIdSchema,
  itemId: itemIdSchema,
  to: positionIdSchema,
  quantity: quantitySchema,
  lot: lotSchema.optional(),
  serial: serialSchema.optional(),
  expiresOn: isoDateSchema.optional(),
});

/** Serial BOM linkage: `child` is built into `parent`. No stock moves (consume it if it should). */
export const assembleSerialArgs = z
  .strictObject({ parent: serialRefSchema, child: serialRefSchema })
  .refine((v) => !sameSerial(v.parent, v.child), {
    path: ['child'],
    message: 'a serial cannot be assembled into itself',
  });

/** Swaps an assembled child for another; the old link is kept, marked replaced, with the reason. */
export const replaceAssemblyArgs = z
  .strictObject({
    parent: serialRefSchema,
    oldChild: serialRefSchema,
    newChild: serialRefSchema,
    reason: replacementReasonSchema,
    note,
  })
  .superRefine((v, ctx) => {
    if (sameSerial(v.oldChild, v.newChild)) {
      ctx.addIssue({
        code: 'custom',
        path: ['newChild'],
        message: 'the new child is the old one: nothing would be replaced',
      });
    }
    if (sameSerial(v.parent, v.newChild)) {
      ctx.addIssue({
        code: 'custom',
        path: ['newChild'],
        message: 'a serial cannot be assembled into itself',
      });
    }
  });

/** Name → args schema, for the replay's command table. */
export const productionCommandArgs = {
  createProductionJob: createProductionJobArgs,
  startProductionJob: startProductionJobArgs,
  completeProductionJob: completeProductionJobArgs,
  consumeForJob: consumeForJobArgs,
  produceForJob: produceForJobArgs,
  assembleSerial: assembleSerialArgs,
  replaceAssembly: replaceAssemblyArgs,
} as const;

export type ProductionCommandName = keyof typeof productionCommandArgs;
export type ProductionCommand = {
  [N in ProductionCommandName]: {
    readonly name: N;
    readonly args: z.infer<(typeof productionCommandArgs)[N]>;
  };
}[ProductionCommandName];
export type ProductionCommandArgs<N extends ProductionCommandName> = z.infer<
  (typeof productionCommandArgs)[N]
>;

export const isProductionCommandName = (name: string): name is ProductionCommandName =>
  Object.hasOwn(productionCommandArgs, name);

/**
 * Commands that report what happened on the floor: decided in the replay's fact mode (stock
 * contradictions become conflicts). The job's status is checked in every mode — consuming for
 * a job completed meanwhile is a stale intent (DOMAIN.md, "Sync and conflicts").
 */
export const PRODUCTION_PHYSICAL_FACTS: ReadonlySet<ProductionCommandName> =
  new Set<ProductionCommandName>(['consumeForJob', 'produceForJob']);
