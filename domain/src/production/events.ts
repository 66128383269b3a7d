import { z } from 'zod';
import {
  isoDateSchema,
  itemIdSchema,
  lotSchema,
  positionIdSchema,
  serialSchema,
} from '../shared/ids.js';
import { jobIdSchema, replacementReasonSchema } from './commands.js';

/**
 * Production events: past tense, never renamed; these are version 1 (a changed payload becomes
 * a new version with an upcaster). Schemas are for trust boundaries (rows read back, pull
 * pages); inside the folds the types are trusted.
 *
 * `StockConsumed` and `StockProduced` are stock movements as much as `StockShipped` and
 * `StockReceived` are: their stock effect is `productionStockChangesOf` (inventory primitives:
 * stock from a position to PRODUCTION, from PRODUCTION to a position), their genealogy effect
 * is `genealogyChangesOf`. Both can be reversed with `reverseMovement`.
 */

const qty = z.number().finite();

const serialRefData = z.object({ itemId: itemIdSchema, serial: serialSchema });

export const productionJobCreatedData = z.object({
  jobId: jobIdSchema,
  code: z.string(),
  itemId: itemIdSchema,
  quantity: qty.optional(),
  note: z.string().optional(),
});

export const productionJobStartedData = z.object({ jobId: jobIdSchema });

export const productionJobCompletedData = z.object({
  jobId: jobIdSchema,
  note: z.string().optional(),
});

export const stockConsumedData = z.object({
  jobId: jobIdSchema,
  itemId: itemIdSchema,
  from: positionIdSchema,
  quantity: qty,
  lot: lotSchema.optional(),
  serial: serialSchema.optional(),
});

export const stockProducedData = z.object({
  jobId: jobIdSchema,
  itemId: itemIdSchema,
  to: positionIdSchema,
  quantity: qty,
  lot: lotSchema.optional(),
  serial: serialSchema.optional(),
  expiresOn: isoDateSchema.optional(),
});

export const serialAssembledData = z.object({ parent: serialRefData, child: serialRefData });

/** The link `oldChild` → `parent` is kept, marked replaced; `newChild` → `parent` is made. */
export const assemblyReplacedData = z.object({
  parent: serialRefData,
  oldChild: serialRefData,
  newChild: serialRefData,
  reason: replacementReasonSchema,
  note: z.string().optional(),
});

export const productionEventData = {
  ProductionJobCreated: productionJobCreatedData,
  ProductionJobStarted: productionJobStartedData,
  ProductionJobCompleted: productionJobCompletedData,
  StockConsumed: stockConsumedData,
  StockProduced: stockProducedData,
  SerialAssembled: serialAssembledData,
  AssemblyReplaced: assemblyReplacedData,
} as const;

export type ProductionEventType = keyof typeof productionEventData;
export type ProductionEvent = {
  [T in ProductionEventType]: {
    readonly type: T;
    readonly data: z.infer<(typeof productionEventData)[T]>;
  };
}[ProductionEventType];
export type ProductionEventData<T extends ProductionEventType> = z.infer<
  (typeof productionEventData)[T]
>;

export const isProductionEvent = (e: { readonly type: string }): e is ProductionEvent =>
  Object.hasOwn(productionEventData, e.type);
