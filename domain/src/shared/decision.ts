import { z } from 'zod';

/**
 * Stable rejection codes. They travel to devices and into the log, so they are never
 * renamed; new ones may be added.
 */
export const REJECTION_CODES = [
  'VALIDATION_FAILED',
  'UNKNOWN_COMMAND',
  'FORBIDDEN',
  'UNKNOWN_ITEM',
  'UNKNOWN_POSITION',
  'UNKNOWN_MOVEMENT',
  'UNKNOWN_CONFLICT',
  'SAME_POSITION',
  'VIRTUAL_POSITION',
  'POSITION_RETIRED',
  'POSITION_NOT_EMPTY',
  'FIXED_POSITION',
  'NOT_A_CONTAINER',
  'CONTAINER_CYCLE',
  'PARENT_CHANGE',
  'KIND_CHANGE',
  'DUPLICATE_SKU',
  'DUPLICATE_BARCODE',
  'DUPLICATE_CODE',
  'INVALID_BARCODE',
  'TRACKING_LOCKED',
  'SERIAL_REQUIRED',
  'SERIAL_NOT_ALLOWED',
  'SERIAL_QUANTITY',
  'LOT_REQUIRED',
  'LOT_NOT_ALLOWED',
  'INSUFFICIENT_STOCK',
  'SERIAL_ELSEWHERE',
  'NOT_REVERSIBLE',
  'ALREADY_REVERSED',
  'REVERSAL_EXCEEDS',
  'STALE_INTENT',
  'UNKNOWN_LIST',
  'UNKNOWN_LIST_LINE',
  'LIST_MISMATCH',
  'UNKNOWN_JOB',
  'JOB_NOT_RUNNING',
  'JOB_MISMATCH',
  'SERIAL_ASSEMBLED',
  'NOT_ASSEMBLED',
  'ASSEMBLY_CYCLE',
  'UNKNOWN_COUNT_SESSION',
  'UNKNOWN_COUNT_LINE',
  'COUNT_OUT_OF_SCOPE',
  'COUNT_UNRESOLVED',
  'COUNT_OPEN',
  'REASON_REQUIRED',
] as const;
export const rejectionCodeSchema = z.enum(REJECTION_CODES);
export type RejectionCode = z.infer<typeof rejectionCodeSchema>;

/**
 * What kind of discrepancy a conflict records (DOMAIN.md, "Sync and conflicts"). The first
 * group are physical facts accepted against server state; the rest are recorded rejections.
 */
export const CONFLICT_KINDS = [
  'negative-stock',
  'serial-elsewhere',
  'count-raced-movement',
  'count-disagreement',
  'unknown-code',
  'stale-intent',
  'forbidden',
  'invalid-command',
] as const;
export const conflictKindSchema = z.enum(CONFLICT_KINDS);
export type ConflictKind = z.infer<typeof conflictKindSchema>;

/** Which conflict a rejection opens. One table, so client and server agree. */
export const conflictKindForRejection = (code: RejectionCode): ConflictKind => {
  switch (code) {
    case 'FORBIDDEN':
      return 'forbidden';
    case 'UNKNOWN_ITEM':
    case 'UNKNOWN_POSITION':
    case 'UNKNOWN_MOVEMENT':
    case 'UNKNOWN_CONFLICT':
    case 'UNKNOWN_LIST':
    case 'UNKNOWN_LIST_LINE':
    case 'UNKNOWN_JOB':
    case 'UNKNOWN_COUNT_SESSION':
    case 'UNKNOWN_COUNT_LINE':
      return 'unknown-code';
    case 'STALE_INTENT':
    case 'ALREADY_REVERSED':
    case 'POSITION_RETIRED':
    case 'POSITION_NOT_EMPTY':
    case 'INSUFFICIENT_STOCK':
    case 'SERIAL_ELSEWHERE':
    case 'REVERSAL_EXCEEDS':
    case 'SERIAL_ASSEMBLED':
    case 'NOT_ASSEMBLED':
    case 'COUNT_UNRESOLVED':
    case 'COUNT_OPEN':
      return 'stale-intent';
    case 'VALIDATION_FAILED':
    case 'UNKNOWN_COMMAND':
    case 'COUNT_OUT_OF_SCOPE':
    case 'REASON_REQUIRED':
    case 'SAME_POSITION':
    case 'VIRTUAL_POSITION':
    case 'FIXED_POSITION':
    case 'NOT_A_CONTAINER':
    case 'CONTAINER_CYCLE':
    case 'PARENT_CHANGE':
    case 'KIND_CHANGE':
    case 'DUPLICATE_SKU':
    case 'DUPLICATE_BARCODE':
    case 'DUPLICATE_CODE':
    case 'INVALID_BARCODE':
    case 'TRACKING_LOCKED':
    case 'SERIAL_REQUIRED':
    case 'SERIAL_NOT_ALLOWED':
    case 'SERIAL_QUANTITY':
    case 'LOT_REQUIRED':
    case 'LOT_NOT_ALLOWED':
    case 'NOT_REVERSIBLE':
    case 'LIST_MISMATCH':
    case 'JOB_NOT_RUNNING':
    case 'JOB_MISMATCH':
    case 'ASSEMBLY_CYCLE':
      return 'invalid-command';
    default: {
      const unreachable: never = code;
      return unreachable;
    }
  }
};

/**
 * A conflict the decision asks the caller to open (or to join, when one with the same
 * `key` is already open — two devices draining one stock line share one conflict).
 */
export interface ConflictDraft {
  readonly kind: ConflictKind;
  /** Groups drafts about the same discrepancy, e.g. `negative-stock/<item>/<position>/<lot>`. */
  readonly key: string;
  /** Plain words for the admin console. */
  readonly message: string;
  readonly detail: Readonly<Record<string, unknown>>;
}

/** A domain event before the log gives it an id, a seq and metadata. */
export interface DraftEvent<T extends string = string, D = unknown> {
  readonly type: T;
  readonly data: D;
}

/**
 * The outcome of `decide`: rejections are values, so a refused scan travels back to the
 * handheld as data. `accepted` may carry conflicts: a physical fact that contradicts state is
 * recorded anyway, and the discrepancy is flagged.
 */
export type Decision<E extends DraftEvent = DraftEvent> =
  | {
      readonly kind: 'accepted';
      readonly events: readonly E[];
      readonly conflicts: readonly ConflictDraft[];
    }
  | { readonly kind: 'rejected'; readonly code: RejectionCode; readonly message: string };

export const accept = <E extends DraftEvent>(
  events: readonly E[],
  conflicts: readonly ConflictDraft[] = [],
): Decision<E> => ({ kind: 'accepted', events, conflicts });

export const reject = (code: RejectionCode, message: string): Decision<never> => ({
  kind: 'rejected',
  code,
  message,
});

/**
 * How contradictions with state are treated.
 * - `record`: the command reports something that happened on the floor (a device replaying
 *   its queue): contradictions are accepted and flagged as conflicts. Facts are never refused.
 * - `strict`: the command is about to happen (an online scan checked before confirming, a
 *   supervisor at a desk): contradictions are refused so the person can act on them.
 */
export type FactMode = 'record' | 'strict';
