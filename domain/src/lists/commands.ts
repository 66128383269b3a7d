import { z } from 'zod';
import {
  isoDateSchema,
  itemIdSchema,
  lotSchema,
  positionIdSchema,
  serialSchema,
  userIdSchema,
} from '../shared/ids.js';
import { qtyEquals, quantitySchema } from '../shared/quantity.js';

/**
 * Movement-list commands (DOMAIN.md, "Movement lists"). Mutation names are a public API:
 * imperative camelCase, never renamed. Confirming a line is not a command of its own: it is
 * `receiveStock` / `shipStock` / `moveStock` carrying `listId` + `lineNo`, and undoing a
 * confirmation is `reverseMovement` of that movement — so a scan is one fact, in one place.
 */

/** A list's id: a UUID minted by whoever creates it (a supervisor's device, the ERP import). */
export const listIdSchema = z.uuid({ error: 'listId must be a UUID' }).brand<'ListId'>();
export type ListId = z.infer<typeof listIdSchema>;
/** Trusted cast for values already validated elsewhere (rows read back, inventory events). */
export const asListId = (s: string) => s as ListId;

/** What a list's lines do: each type is confirmed by one inventory command. */
export const LIST_TYPES = ['receipt', 'shipment', 'transfer'] as const;
export const listTypeSchema = z.enum(LIST_TYPES, {
  error: `type must be one of: ${LIST_TYPES.join(', ')}`,
});
export type ListType = z.infer<typeof listTypeSchema>;

/** The command that confirms a line of each list type. */
export const CONFIRMING_COMMAND = {
  receipt: 'receiveStock',
  shipment: 'shipStock',
  transfer: 'moveStock',
} as const satisfies Record<ListType, string>;

/** ERP documents can be long; a list past this is split upstream (and stays under the push limit). */
export const LIST_MAX_LINES = 10_000;

export const listLineSchema = z.strictObject({
  lineNo: z.int({ error: 'lineNo must be a whole number' }).min(1, 'lineNo must be at least 1'),
  itemId: itemIdSchema,
  /** The planned quantity. */
  quantity: quantitySchema,
  /** Prescribed lot / serial, when the document names one. */
  lot: lotSchema.optional(),
  serial: serialSchema.optional(),
  /** Where the goods should go: receipt and transfer lines. */
  suggestedPositionId: positionIdSchema.optional(),
  /** Where the goods should come from: shipment and transfer lines. */
  suggestedFromId: positionIdSchema.optional(),
});
export type ListLineArgs = z.infer<typeof listLineSchema>;

export const createListArgs = z
  .strictObject({
    listId: listIdSchema,
    type: listTypeSchema,
    /** The document number people and the ERP use; unique per type. */
    code: z.string().trim().min(1, 'code must not be empty').max(64),
    partner: z.string().trim().min(1).max(200).optional(),
    references: z.array(z.string().trim().min(1).max(100)).max(50).optional(),
    dueOn: isoDateSchema.optional(),
    lines: z
      .array(listLineSchema)
      .min(1, 'a list needs at least one line')
      .max(LIST_MAX_LINES, `a list has at most ${LIST_MAX_LINES} lines`),
  })
  .superRefine((v, ctx) => {
    // Cross-field rules the per-line schema cannot see: they need the list's type or its
    // other lines. Reported per line so a 10,000-line import says which line is wrong.
    const lineOf = new Map<number, number>();
    const serialLine = new Map<string, number>();
    v.lines.forEach((line, i) => {
      const first = lineOf.get(line.lineNo);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['lines', i, 'lineNo'],
          message: `line numbers must be unique: ${line.lineNo} appears twice`,
        });
      } else lineOf.set(line.lineNo, i);
      if (line.suggestedFromId !== undefined && v.type === 'receipt') {
        ctx.addIssue({
          code: 'custom',
          path: ['lines', i, 'suggestedFromId'],
          message:
            'a receipt comes from outside: suggestedFromId is for shipment and transfer lines',
        });
      }
      if (line.suggestedPositionId !== undefined && v.type === 'shipment') {
        ctx.addIssue({
          code: 'custom',
          path: ['lines', i, 'suggestedPositionId'],
          message: 'a shipment leaves the site: give where to pick as suggestedFromId',
        });
      }
      if (line.suggestedFromId !== undefined && line.suggestedFromId === line.suggestedPositionId) {
        ctx.addIssue({
          code: 'custom',
          path: ['lines', i, 'suggestedPositionId'],
          message: 'suggested source and destination are the same position',
        });
      }
      if (line.serial !== undefined) {
        if (!qtyEquals(line.quantity, 1)) {
          ctx.addIssue({
            code: 'custom',
            path: ['lines', i, 'quantity'],
            message: `a line with serial ${line.serial} plans exactly 1, not ${line.quantity}`,
          });
        }
        const key = `${line.itemId}\u0000${line.serial}`;
        const other = serialLine.get(key);
        if (other !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['lines', i, 'serial'],
            message: `serial ${line.serial} is already planned on line ${other}`,
          });
        } else serialLine.set(key, line.lineNo);
      }
    });
  });

export const assignListArgs = z.strictObject({
  listId: listIdSchema,
  /** `null` takes the list off whoever had it. */
  userId: userIdSchema.nullable(),
});

export const closeListArgs = z.strictObject({
  listId: listIdSchema,
  note: z.string().trim().max(500).optional(),
});

/** Name → args schema, for the replay's command table. */
export const listCommandArgs = {
  createList: createListArgs,
  assignList: assignListArgs,
  closeList: closeListArgs,
} as const;

export type ListCommandName = keyof typeof listCommandArgs;
export type ListCommand = {
  [N in ListCommandName]: {
    readonly name: N;
    readonly args: z.infer<(typeof listCommandArgs)[N]>;
  };
}[ListCommandName];
export type ListCommandArgs<N extends ListCommandName> = z.infer<(typeof listCommandArgs)[N]>;
