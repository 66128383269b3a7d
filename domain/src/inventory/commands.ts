import { z } from 'zod';
import {
  eventIdSchema,
  isoDateSchema,
  itemIdSchema,
  lotSchema,
  positionIdSchema,
  serialSchema,
} from '../shared/ids.js';
import { deltaSchema, quantitySchema } from '../shared/quantity.js';

/**
 * Inventory commands (mutation names are a public API: imperative camelCase, never renamed —
 * a handheld may replay a queue recorded by last week's build). Args are validated per
 * mutation: a bad one is a recorded rejection, not a failed request.
 */

export const TRACKING = ['none', 'lot', 'serial'] as const;
export const trackingSchema = z.enum(TRACKING);
export type Tracking = z.infer<typeof trackingSchema>;

/** Position kinds. `site`, `zone`, `bin` and `container` are the protocol's; `warehouse` and `rack` are additive. */
export const POSITION_KINDS = ['site', 'warehouse', 'zone', 'rack', 'bin', 'container'] as const;
export const positionKindSchema = z.enum(POSITION_KINDS);
export type PositionKind = z.infer<typeof positionKindSchema>;

/** Why stock was adjusted. Mandatory on every adjustment; stable codes for reports and ERPs. */
export const ADJUSTMENT_REASONS = [
  'count-correction',
  'damaged',
  'expired',
  'lost',
  'found',
  'sample',
  'scrap',
  'conflict-resolution',
  'other',
] as const;
export const adjustmentReasonSchema = z.enum(ADJUSTMENT_REASONS, {
  error: `reason must be one of: ${ADJUSTMENT_REASONS.join(', ')}`,
});
export type AdjustmentReason = z.infer<typeof adjustmentReasonSchema>;

const listRef = {
  listId: z.string().min(1).max(128).optional(),
  lineNo: z.int().min(1).optional(),
};

const barcodeSchema = z.string().trim().min(1).max(64);

export const defineItemArgs = z.strictObject({
  itemId: itemIdSchema,
  sku: z.string().trim().min(1).max(64),
  name: z.string().trim().min(1).max(200),
  tracking: trackingSchema,
  barcodes: z.array(barcodeSchema).max(50).optional(),
  uom: z.string().trim().min(1).max(16).optional(),
});

export const definePositionArgs = z.strictObject({
  positionId: positionIdSchema,
  code: z.string().trim().min(1).max(64),
  parentId: positionIdSchema.optional(),
  kind: positionKindSchema,
  fixed: z.boolean().optional(),
  disposable: z.boolean().optional(),
  name: z.string().trim().min(1).max(200).optional(),
});

export const retirePositionArgs = z.strictObject({
  positionId: positionIdSchema,
});

export const receiveStockArgs = z.strictObject({
  itemId: itemIdSchema,
  positionId: positionIdSchema,
  quantity: quantitySchema,
  lot: lotSchema.optional(),
  serial: serialSchema.optional(),
  expiresOn: isoDateSchema.optional(),
  ...listRef,
});

export const moveStockArgs = z.strictObject({
  itemId: itemIdSchema,
  from: positionIdSchema,
  to: positionIdSchema,
  quantity: quantitySchema,
  lot: lotSchema.optional(),
  serial: serialSchema.optional(),
  ...listRef,
});

export const moveContainerArgs = z.strictObject({
  containerId: positionIdSchema,
  to: positionIdSchema,
});

export const shipStockArgs = z.strictObject({
  itemId: itemIdSchema,
  from: positionIdSchema,
  quantity: quantitySchema,
  lot: lotSchema.optional(),
  serial: serialSchema.optional(),
  ...listRef,
});

export const adjustStockArgs = z.strictObject({
  itemId: itemIdSchema,
  positionId: positionIdSchema,
  delta: deltaSchema,
  reason: adjustmentReasonSchema,
  note: z.string().max(500).optional(),
  lot: lotSchema.optional(),
  serial: serialSchema.optional(),
});

export const reverseMovementArgs = z.strictObject({
  eventId: eventIdSchema,
  quantity: quantitySchema.optional(),
  note: z.string().max(500).optional(),
});

/** Name → args schema, the single table the replay validates against. */
export const inventoryCommandArgs = {
  defineItem: defineItemArgs,
  definePosition: definePositionArgs,
  retirePosition: retirePositionArgs,
  receiveStock: receiveStockArgs,
  moveStock: moveStockArgs,
  moveContainer: moveContainerArgs,
  shipStock: shipStockArgs,
  adjustStock: adjustStockArgs,
  reverseMovement: reverseMovementArgs,
} as const;

export type InventoryCommandName = keyof typeof inventoryCommandArgs;
export type InventoryCommand = {
  [N in InventoryCommandName]: {
    readonly name: N;
    readonly args: z.infer<(typeof inventoryCommandArgs)[N]>;
  };
}[InventoryCommandName];
export type CommandArgs<N extends InventoryCommandName> = z.infer<(typeof inventoryCommandArgs)[N]>;
