import { z } from 'zod';

/**
 * Branded ids: the ids a warehouse confuses (an item id passed where a position id belongs)
 * become type errors. Ids are opaque strings; devices mint UUIDs so they can create and
 * reference things offline. Length is bounded so a hostile payload cannot bloat the log.
 */
const opaqueId = z.string().min(1).max(128);

export const itemIdSchema = opaqueId.brand<'ItemId'>();
export type ItemId = z.infer<typeof itemIdSchema>;

export const positionIdSchema = opaqueId.brand<'PositionId'>();
export type PositionId = z.infer<typeof positionIdSchema>;

export const eventIdSchema = opaqueId.brand<'EventId'>();
export type EventId = z.infer<typeof eventIdSchema>;

export const conflictIdSchema = opaqueId.brand<'ConflictId'>();
export type ConflictId = z.infer<typeof conflictIdSchema>;

export const userIdSchema = opaqueId.brand<'UserId'>();
export type UserId = z.infer<typeof userIdSchema>;

/** A serial number: unique per item; a serial stock line always holds exactly 1. */
export const serialSchema = z.string().trim().min(1).max(64).brand<'Serial'>();
export type Serial = z.infer<typeof serialSchema>;

/** A lot (batch) code of a lot-tracked item. */
export const lotSchema = z.string().trim().min(1).max(64).brand<'Lot'>();
export type Lot = z.infer<typeof lotSchema>;

/** Calendar date, `YYYY-MM-DD` (expiry dates have no time of day). */
export const isoDateSchema = z.iso.date();

/** Trusted casts for values already validated elsewhere (rows read back, constants). */
export const asItemId = (s: string) => s as ItemId;
export const asPositionId = (s: string) => s as PositionId;
export const asEventId = (s: string) => s as EventId;
export const asConflictId = (s: string) => s as ConflictId;
export const asUserId = (s: string) => s as UserId;
export const asSerial = (s: string) => s as Serial;
export const asLot = (s: string) => s as Lot;
