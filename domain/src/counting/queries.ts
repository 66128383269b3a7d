import type { InventoryView, StockLine } from '../inventory/state.js';
import type { ItemId, Lot, PositionId, Serial, UserId } from '../shared/ids.js';
import { QTY_EPSILON, roundQty } from '../shared/quantity.js';
import type { CountSessionId, CountingCommandArgs } from './commands.js';
import type {
  CountEntry,
  CountRecord,
  CountRecordStatus,
  CountSession,
  CountingState,
  OpenCount,
} from './state.js';
import {
  adjustmentsOf,
  countPairKey,
  effectiveCount,
  isFrozen,
  isRaced,
  linesOf,
  pairStockOf,
  positionsOf,
} from './state.js';

/**
 * Read-side helpers for the supervisor's board, the operator's handheld and the apply job.
 * They read the in-memory state (device replica, tests) and, for live answers, current stock
 * through the inventory view — so "what is left" follows stock as it moves.
 */

// ─── Coverage ───────────────────────────────────────────────────────────────────────────────

export interface CountPair {
  readonly itemId: ItemId;
  readonly positionId: PositionId;
  readonly lot: Lot | null;
}

export interface CountCoverage {
  readonly positions: {
    /** Positions in scope; `null` for an items scope (wherever the items are). */
    readonly total: number | null;
    readonly counted: number;
    /** Being counted now (started, neither finished nor released). */
    readonly inProgress: number;
    /** Positions in scope not counted yet (positions scope only). */
    readonly left: readonly PositionId[];
  };
  readonly pairs: {
    /** Pairs in scope that hold stock now. */
    readonly expected: number;
    /** Of those, counted. */
    readonly counted: number;
    /** Counted pairs that hold no stock now (found goods, or counted empty since). */
    readonly unexpected: number;
    /** Pairs holding stock that nobody counted yet. */
    readonly left: readonly CountPair[];
  };
  /** 0–100, rounded down: positions counted (positions scope) or pairs counted (items scope). */
  readonly percent: number;
}

/** A stock line's pair: serial lines count per (position, item), the others per lot. */
const pairOfLine = (l: StockLine): CountPair => ({
  itemId: l.itemId,
  positionId: l.positionId,
  lot: l.serial !== null ? null : l.lot,
});

const percentOf = (done: number, total: number) =>
  total > 0 ? Math.min(100, Math.floor((done / total) * 100 + 1e-9)) : 100;

/**
 * What is counted and what is left, now: the session's lines against the stock its scope holds
 * at this moment (a pair emptied by a shipment is no longer left; a pair filled by a receipt is).
 */
export function countCoverage(
  state: CountingState,
  sessionId: CountSessionId,
  stock: Pick<InventoryView, 'linesAt' | 'linesOfItem'>,
): CountCoverage | undefined {
  const session = state.sessions.get(sessionId);
  if (!session) return undefined;
  const scope = [...(state.scopes.get(sessionId) ?? [])];
  const lines =
    session.scope.kind === 'positions'
      ? scope.flatMap((id) => stock.linesAt(id as PositionId))
      : scope.flatMap((id) => stock.linesOfItem(id as ItemId));
  const expected = new Map<string, CountPair>();
  for (const l of lines) {
    if (Math.abs(l.quantity) < QTY_EPSILON) continue;
    const pair = pairOfLine(l);
    expected.set(countPairKey(sessionId, pair.itemId, pair.positionId, pair.lot), pair);
  }
  const counted = new Set(
    linesOf(state, sessionId).map((r) => countPairKey(sessionId, r.itemId, r.positionId, r.lot)),
  );
  const left = [...expected].filter(([k]) => !counted.has(k)).map(([, p]) => p);
  let unexpected = 0;
  for (const k of counted) if (!expected.has(k)) unexpected++;

  const positions = positionsOf(state, sessionId);
  const countedPositions = new Set(positions.filter((p) => p.counted).map((p) => p.positionId));
  const inProgress = positions.filter((p) => p.open.length > 0).length;
  const byPositions = session.scope.kind === 'positions';
  return {
    positions: {
      total: byPositions ? scope.length : null,
      counted: countedPositions.size,
      inProgress,
      left: byPositions ? (scope as PositionId[]).filter((id) => !countedPositions.has(id)) : [],
    },
    pairs: {
      expected: expected.size,
      counted: expected.size - left.length,
      unexpected,
      left,
    },
    percent: byPositions
      ? percentOf(countedPositions.size, scope.length)
      : percentOf(expected.size - left.length, expected.size),
  };
}

/** Position counts left open, oldest first by log order (a dead device's show up here). */
export function openCountsOf(
  state: CountingState,
  sessionId: CountSessionId,
): (OpenCount & { readonly positionId: PositionId })[] {
  return positionsOf(state, sessionId).flatMap((p) =>
    p.open.map((o) => ({ ...o, positionId: p.positionId })),
  );
}

// ─── Review ─────────────────────────────────────────────────────────────────────────────────

export interface LineReview {
  readonly line: CountRecord;
  /** The count that would be applied; `null` while the counts disagree or a recount is due. */
  readonly count: CountEntry | null;
  /** Stock of the pair now. */
  readonly stock: number;
  /** Stock moved since the count: keeping the delta and keeping the count differ. */
  readonly raced: boolean;
  /** Stock after applying, each way. */
  readonly keepDelta: number | null;
  readonly keepCounted: number | null;
}

/** Every line with what applying it would do now, for the supervisor's review (live races). */
export function reviewLines(
  state: CountingState,
  sessionId: CountSessionId,
  stock: Pick<InventoryView, 'quantity' | 'linesAt'>,
): LineReview[] {
  return linesOf(state, sessionId).map((line) => {
    const count = effectiveCount(line);
    const now = pairStockOf(stock, line);
    if (count === null)
      return { line, count, stock: now.quantity, raced: false, keepDelta: null, keepCounted: null };
    const after = (choice: 'keep-delta' | 'keep-counted') =>
      roundQty(
        now.quantity + adjustmentsOf(line, count, now, choice).reduce((s, a) => s + a.delta, 0),
      );
    return {
      line,
      count,
      stock: now.quantity,
      raced: isRaced(count, now),
      keepDelta: after('keep-delta'),
      keepCounted: after('keep-counted'),
    };
  });
}

// ─── The apply job ──────────────────────────────────────────────────────────────────────────

export interface CountApplyProgress {
  readonly planned: number;
  readonly applied: number;
  readonly failed: number;
  readonly skipped: number;
  /** Lines not applied yet (failed ones included: they can be retried or skipped). */
  readonly remaining: number;
  /** 0–100, rounded down: applied or skipped of planned. */
  readonly percent: number;
}

export function countApplyProgress(s: CountSession): CountApplyProgress {
  const done = s.applied + s.skipped;
  return {
    planned: s.planned,
    applied: s.applied,
    failed: s.failed,
    skipped: s.skipped,
    remaining: s.planned - done,
    percent: percentOf(done, s.planned),
  };
}

export interface ApplyMutation {
  /** The mutation id in the job's own client: line k is mutation k. */
  readonly id: number;
  readonly name: 'applyCountRecord';
  readonly args: CountingCommandArgs<'applyCountRecord'>;
}

/**
 * The next page of an apply job: lines `from … from + limit − 1` of the plan, as mutations of
 * the job's own client (mutation k applies line k). A restarted job asks the server for its
 * client's `lastMutationID` and continues at the next one; anything pushed twice is a
 * `duplicate`, and a line applied by any other path is a refused stale intent — so every
 * line is applied exactly once.
 */
export function applyCountMutations(s: CountSession, from: number, limit: number): ApplyMutation[] {
  const out: ApplyMutation[] = [];
  for (let lineNo = Math.max(from, 1); lineNo <= s.planned && out.length < limit; lineNo++)
    out.push({ id: lineNo, name: 'applyCountRecord', args: { sessionId: s.id, lineNo } });
  return out;
}

// ─── People ─────────────────────────────────────────────────────────────────────────────────

/** Sessions assigned to the user with counting to do (planned or counting), by code. */
export function countSessionsOf(state: CountingState, userId: UserId): CountSession[] {
  const out: CountSession[] = [];
  for (const s of state.sessions.values()) {
    if (s.assignees.includes(userId) && (s.status === 'counting' || s.status === 'planned'))
      out.push(s);
  }
  return out.sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
}

/** Lines waiting for a recount that this user may do (anyone but the first counter). */
export function recountsFor(state: CountingState, userId: UserId): CountRecord[] {
  const out: CountRecord[] = [];
  for (const s of state.sessions.values()) {
    if (isFrozen(s.status)) continue;
    for (const r of linesOf(state, s.id))
      if (r.status === 'recount' && r.recountExcept !== userId) out.push(r);
  }
  return out;
}

/** A line as an operator's handheld shows it: their own count only; in blind mode no expected. */
export interface OperatorLine {
  readonly lineNo: number;
  readonly positionId: PositionId;
  readonly itemId: ItemId;
  readonly lot: Lot | null;
  readonly status: CountRecordStatus;
  /** Someone else must recount it, and this user may. */
  readonly recountByMe: boolean;
  readonly mine: { readonly counted: number; readonly serials: readonly Serial[] | null } | null;
  /** What this user's device expected — open mode only. */
  readonly expected: number | null;
}

export function operatorLine(
  session: CountSession,
  line: CountRecord,
  userId: UserId,
): OperatorLine {
  const mine = line.counts.findLast((c) => c.countedBy === userId) ?? null;
  return {
    lineNo: line.lineNo,
    positionId: line.positionId,
    itemId: line.itemId,
    lot: line.lot,
    status: line.status,
    recountByMe: line.status === 'recount' && line.recountExcept !== userId,
    mine: mine && { counted: mine.counted, serials: mine.serials },
    expected: session.mode === 'open' && mine !== null ? mine.expected : null,
  };
}
