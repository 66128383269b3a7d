import { z } from 'zod';
import {
  eventIdSchema,
  isoDateSchema,
  itemIdSchema,
  lotSchema,
  positionIdSchema,
  serialSchema,
} from '../shared/ids.js';
import { jobIdSchema } from '../production/commands.js';
import { adjustmentReasonSchema, positionKindSchema, trackingSchema } from './commands.js';

/**
 * Inventory events: past tense, never renamed. A changed payload becomes a new version with
 * an upcaster; these are version 1. Schemas are used where events cross a trust boundary
 * (rows read back, pull pages); inside `evolve` the types are trusted.
 */

const qty = z.number().finite();
const listRef = {
  listId: z.string().optional(),
  lineNo: z.int().optional(),
};

export const itemDefinedData = z.object({
  itemId: itemIdSchema,
  sku: z.string(),
  name: z.string(),
  tracking: trackingSchema,
  barcodes: z.array(z.string()),
  uom: z.string(),
});

export const positionDefinedData = z.object({
  positionId: positionIdSchema,
  code: z.string(),
  parentId: positionIdSchema,
  kind: positionKindSchema,
  fixed: z.boolean(),
  disposable: z.boolean(),
  name: z.string().optional(),
});

export const positionRetiredData = z.object({
  positionId: positionIdSchema,
  reason: z.enum(['manual', 'disposable-empty']),
});

export const stockReceivedData = z.object({
  itemId: itemIdSchema,
  positionId: positionIdSchema,
  quantity: qty,
  lot: lotSchema.optional(),
  serial: serialSchema.optional(),
  expiresOn: isoDateSchema.optional(),
  ...listRef,
});

export const stockMovedData = z.object({
  itemId: itemIdSchema,
  from: positionIdSchema,
  to: positionIdSchema,
  quantity: qty,
  lot: lotSchema.optional(),
  serial: serialSchema.optional(),
  ...listRef,
});

export const containerMovedData = z.object({
  containerId: positionIdSchema,
  from: positionIdSchema,
  to: positionIdSchema,
});

export const stockShippedData = z.object({
  itemId: itemIdSchema,
  from: positionIdSchema,
  quantity: qty,
  lot: lotSchema.optional(),
  serial: serialSchema.optional(),
  ...listRef,
});

export const stockAdjustedData = z.object({
  itemId: itemIdSchema,
  positionId: positionIdSchema,
  delta: qty,
  reason: adjustmentReasonSchema,
  note: z.string().optional(),
  lot: lotSchema.optional(),
  serial: serialSchema.optional(),
});

/**
 * Undoes (part of) an earlier movement: stock goes from the original's `to` back to its `from`.
 * `producedBy`: the movement was this job's production, whose `produced` count the reversal
 * lowers — named in the event so a device that never saw the production (it signed in after)
 * folds the job as the server does. Absent on events written before it existed; the server's
 * fold then finds the job in its trace of the movement.
 */
export const movementReversedData = z.object({
  movementId: eventIdSchema,
  itemId: itemIdSchema,
  from: positionIdSchema,
  to: positionIdSchema,
  quantity: qty,
  lot: lotSchema.optional(),
  serial: serialSchema.optional(),
  note: z.string().optional(),
  producedBy: jobIdSchema.optional(),
});

export const inventoryEventData = {
  ItemDefined: itemDefinedData,
  PositionDefined: positionDefinedData,
  PositionRetired: positionRetiredData,
  StockReceived: stockReceivedData,
  StockMoved: stockMovedData,
  ContainerMoved: containerMovedData,
  StockShipped: stockShippedData,
  StockAdjusted: stockAdjustedData,
  MovementReversed: movementReversedData,
} as const;

export type InventoryEventType = keyof typeof inventoryEventData;
export type InventoryEvent = {
  [T in InventoryEventType]: {
    readonly type: T;
    readonly data: z.infer<(typeof inventoryEventData)[T]>;
  };
}[InventoryEventType];
export type EventData<T extends InventoryEventType> = z.infer<(typeof inventoryEventData)[T]>;
