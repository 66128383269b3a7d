import { z } from 'zod';
import { rejectionCodeSchema } from '../shared/decision.js';
import {
  itemIdSchema,
  lotSchema,
  positionIdSchema,
  serialSchema,
  userIdSchema,
} from '../shared/ids.js';
import {
  countModeSchema,
  countSessionIdSchema,
  raceChoiceSchema,
  varianceReasonSchema,
} from './commands.js';

/**
 * Counting events: past tense, never renamed; these are version 1 (a changed payload becomes
 * a new version with an upcaster). Schemas are for trust boundaries (rows read back, pull
 * pages); inside `countChangesOf` the types are trusted.
 *
 * Stock changes are not counting events: applying a line appends the inventory's own
 * `StockAdjusted` (reason `count-correction`) beside `CountRecordApplied`, so stock folds as
 * for any adjustment.
 *
 * Who did something is in the data (`countedBy`, `approvedBy`, …), not only in the envelope's
 * meta: the read model keeps it, and `countChangesOf` sees only `id`, `type` and `data`.
 */

const qty = z.number().finite();

export const countSessionPlannedData = z.object({
  sessionId: countSessionIdSchema,
  code: z.string(),
  scope: z.object({
    kind: z.enum(['positions', 'items']),
    ids: z.array(z.string()),
  }),
  mode: countModeSchema,
  recountAbove: z.object({ quantity: qty.nullable(), percent: qty.nullable() }).nullable(),
  note: z.string().optional(),
});

export const countSessionAssignedData = z.object({
  sessionId: countSessionIdSchema,
  userIds: z.array(userIdSchema),
});

export const countSessionStartedData = z.object({ sessionId: countSessionIdSchema });

/** Counting → review: no more counts expected (late ones from offline devices still count). */
export const countSessionClosedData = z.object({ sessionId: countSessionIdSchema });

export const countSessionCancelledData = z.object({
  sessionId: countSessionIdSchema,
  note: z.string().optional(),
});

/**
 * Review → applying. Freezes the plan: lines `1 … planned` are applied, lines counted later
 * are kept but not applied.
 */
export const countSessionApprovedData = z.object({
  sessionId: countSessionIdSchema,
  approvedBy: userIdSchema,
  planned: z.int(),
  /** For every line with a variance that `reasons` does not name. */
  reason: varianceReasonSchema.optional(),
  reasons: z.array(z.object({ lineNo: z.int(), reason: varianceReasonSchema })),
  note: z.string().optional(),
});

export const positionCountStartedData = z.object({
  sessionId: countSessionIdSchema,
  positionId: positionIdSchema,
  countedBy: userIdSchema,
});

export const positionCountFinishedData = z.object({
  sessionId: countSessionIdSchema,
  positionId: positionIdSchema,
  countedBy: userIdSchema,
  /** "Position confirmed empty". */
  empty: z.boolean(),
});

/** A supervisor's force-release of a position left in progress. */
export const positionCountReleasedData = z.object({
  sessionId: countSessionIdSchema,
  positionId: positionIdSchema,
  /** Whose count is released. */
  userId: userIdSchema,
  releasedBy: userIdSchema,
  note: z.string().optional(),
});

/**
 * One count of a pair. Quantities always (for serials: the sizes of the sets); the sets too for
 * a serialized item (sorted).
 */
export const countRecordedData = z.object({
  sessionId: countSessionIdSchema,
  positionId: positionIdSchema,
  itemId: itemIdSchema,
  lot: lotSchema.optional(),
  countedBy: userIdSchema,
  counted: qty,
  expected: qty,
  serials: z.array(serialSchema).optional(),
  expectedSerials: z.array(serialSchema).optional(),
});

export const countAcceptedData = z.object({
  sessionId: countSessionIdSchema,
  lineNo: z.int(),
  /** Whose count is taken as the truth. */
  countedBy: userIdSchema,
  acceptedBy: userIdSchema,
  note: z.string().optional(),
});

export const countRaceDecidedData = z.object({
  sessionId: countSessionIdSchema,
  lineNo: z.int(),
  choice: raceChoiceSchema,
  decidedBy: userIdSchema,
  /** Net stock change of the corrections this decision appended (0 before the apply). */
  correction: qty,
  note: z.string().optional(),
});

const serialAt = z.object({ serial: serialSchema, lot: lotSchema.nullable() });

export const countRecordAppliedData = z.object({
  sessionId: countSessionIdSchema,
  lineNo: z.int(),
  choice: raceChoiceSchema,
  /** Stock of the pair differed from what the count expected: someone moved it meanwhile. */
  raced: z.boolean(),
  /** Stock of the pair just before (what a later change of choice corrects from). */
  stockBefore: qty,
  serialsBefore: z.array(serialAt).optional(),
  /** Net stock change of the adjustments appended with it. */
  delta: qty,
});

/** The adjustment was refused by the inventory rules: nothing changed; retry or skip the line. */
export const countRecordFailedData = z.object({
  sessionId: countSessionIdSchema,
  lineNo: z.int(),
  code: rejectionCodeSchema,
  message: z.string(),
});

export const countRecordSkippedData = z.object({
  sessionId: countSessionIdSchema,
  lineNo: z.int(),
  skippedBy: userIdSchema,
  note: z.string(),
});

export const countingEventData = {
  CountSessionPlanned: countSessionPlannedData,
  CountSessionAssigned: countSessionAssignedData,
  CountSessionStarted: countSessionStartedData,
  CountSessionClosed: countSessionClosedData,
  CountSessionCancelled: countSessionCancelledData,
  CountSessionApproved: countSessionApprovedData,
  PositionCountStarted: positionCountStartedData,
  PositionCountFinished: positionCountFinishedData,
  PositionCountReleased: positionCountReleasedData,
  CountRecorded: countRecordedData,
  CountAccepted: countAcceptedData,
  CountRaceDecided: countRaceDecidedData,
  CountRecordApplied: countRecordAppliedData,
  CountRecordFailed: countRecordFailedData,
  CountRecordSkipped: countRecordSkippedData,
} as const;

export type CountingEventType = keyof typeof countingEventData;
export type CountingEvent = {
  [T in CountingEventType]: {
    readonly type: T;
    readonly data: z.infer<(typeof countingEventData)[T]>;
  };
}[CountingEventType];
export type CountingEventData<T extends CountingEventType> = z.infer<(typeof countingEventData)[T]>;

export const isCountingEvent = (e: { readonly type: string }): e is CountingEvent =>
  Object.hasOwn(countingEventData, e.type);
