import { z } from 'zod';
import {
  isoDateSchema,
  itemIdSchema,
  lotSchema,
  positionIdSchema,
  serialSchema,
  userIdSchema,
} from '../shared/ids.js';
import { listIdSchema, listTypeSchema } from './commands.js';

/**
 * Movement-list events: past tense, never renamed; these are version 1 (a changed payload
 * becomes a new version with an upcaster). Schemas are for trust boundaries (rows read back,
 * pull pages); inside `evolveLists` the types are trusted.
 *
 * There is no "line confirmed" event: a confirmation is the inventory movement itself
 * (`StockReceived` / `StockMoved` / `StockShipped` with `listId` + `lineNo`), and its undoing
 * is the `MovementReversed` that points to it.
 */

const qty = z.number().finite();

export const listLineData = z.object({
  lineNo: z.int(),
  itemId: itemIdSchema,
  /** Planned quantity. */
  quantity: qty,
  lot: lotSchema.optional(),
  serial: serialSchema.optional(),
  suggestedPositionId: positionIdSchema.optional(),
  suggestedFromId: positionIdSchema.optional(),
});

export const listCreatedData = z.object({
  listId: listIdSchema,
  type: listTypeSchema,
  code: z.string(),
  partner: z.string().optional(),
  references: z.array(z.string()),
  dueOn: isoDateSchema.optional(),
  lines: z.array(listLineData),
});

export const listAssignedData = z.object({
  listId: listIdSchema,
  userId: userIdSchema.nullable(),
});

/** Cancels the lines with nothing confirmed. Moves no stock: it is the only event of a close. */
export const listClosedData = z.object({
  listId: listIdSchema,
  note: z.string().optional(),
});

export const listEventData = {
  ListCreated: listCreatedData,
  ListAssigned: listAssignedData,
  ListClosed: listClosedData,
} as const;

export type ListEventType = keyof typeof listEventData;
export type ListEvent = {
  [T in ListEventType]: {
    readonly type: T;
    readonly data: z.infer<(typeof listEventData)[T]>;
  };
}[ListEventType];
export type ListEventData<T extends ListEventType> = z.infer<(typeof listEventData)[T]>;

export const isListEvent = (e: { readonly type: string }): e is ListEvent =>
  Object.hasOwn(listEventData, e.type);
