/**
 * What a conflict says, as a code and the values it names, beside its English `message`: so
 * that the admin console can say it in the admin's language (the client's catalogs have a
 * `conflictText.<CODE>` text with exactly these `{value}` placeholders: a test checks). It
 * travels in the conflict's `detail.text`; a conflict without it (an older one, or one opened
 * by a rejection, whose `detail.code` is the rejection's) is shown by its message.
 *
 * Values are codes (SKUs, position codes, serials, session codes, user ids), numbers and
 * serial sets (`{s1, s2}`), never words of a language — except `reason`, the English words of
 * a refusal, as a refusal's detail is. A counted pair is `pairValue`'s `SKU / lot @ position` (`jobs/row-error.ts`).
 */
export const CONFLICT_TEXTS = {
  /** A take left a stock line below zero. */
  STOCK_BELOW_ZERO: ['position', 'sku', 'available', 'taken', 'resulting'],
  /** … of one lot. */
  LOT_BELOW_ZERO: ['position', 'sku', 'lot', 'available', 'taken', 'resulting'],
  /** A serial taken from a position was recorded elsewhere (`recordedAt`: position codes). */
  SERIAL_NOT_AT: ['serial', 'sku', 'position', 'recordedAt'],
  /** … and was in stock nowhere. */
  SERIAL_NOT_IN_STOCK: ['serial', 'sku', 'position'],
  /** A serial entering stock was already in stock (`where`: position codes). */
  SERIAL_IN_STOCK: ['serial', 'sku', 'where'],
  /** A count came after its session's approval, which had applied another count. */
  LATE_COUNT: ['pair', 'session', 'counted', 'by', 'approved'],
  /** … for a pair nothing was counted for before. */
  LATE_FIRST_COUNT: ['pair', 'session', 'counted', 'by'],
  /** Counts of one pair disagree (`counts`: `5 (user id), 6 (user id)`). */
  COUNTS_DISAGREE: ['pair', 'session', 'counts'],
  /** Stock moved between a count and its apply: the difference was applied. */
  COUNT_RACED: ['line', 'session', 'pair', 'expected', 'counted', 'there', 'applied', 'keep'],
  /** A counted line could not be applied. */
  COUNT_NOT_APPLIED: ['line', 'session', 'pair', 'reason'],
  /** A movement's list line was refused; the movement itself is recorded. */
  LIST_LINE_DROPPED: ['reason'],
} as const satisfies Record<string, readonly string[]>;

export type ConflictTextCode = keyof typeof CONFLICT_TEXTS;
export const CONFLICT_TEXT_CODES = Object.keys(CONFLICT_TEXTS) as ConflictTextCode[];

/** What a conflict says: `detail.text`. */
export interface ConflictText<K extends ConflictTextCode = ConflictTextCode> {
  readonly code: K;
  readonly values: { readonly [V in (typeof CONFLICT_TEXTS)[K][number]]: string | number };
}

export const conflictText = <K extends ConflictTextCode>(
  code: K,
  values: ConflictText<K>['values'],
): ConflictText<K> => ({ code, values });
