import type { InventoryView } from '../inventory/state.js';
import type { EventId, ItemId, Lot, PositionId, Serial, UserId } from '../shared/ids.js';
import { QTY_EPSILON, qtyEquals, roundQty } from '../shared/quantity.js';
import type { CountChange, CountingReadView, LoggedCountEvent } from './changes.js';
import { countChangesOf } from './changes.js';
import type { CountMode, CountSessionId, RaceChoice, VarianceReason } from './commands.js';

// ─── The model ──────────────────────────────────────────────────────────────────────────────

/**
 * planned → counting → review → applying → applied, or cancelled before applying. Counts are
 * expected while `counting`; those arriving in `review` (an offline device) still count; from
 * `applying` on they are kept as late and never applied.
 */
export const COUNT_SESSION_STATUSES = [
  'planned',
  'counting',
  'review',
  'applying',
  'applied',
  'cancelled',
] as const;
export type CountSessionStatus = (typeof COUNT_SESSION_STATUSES)[number];

/** Sessions whose lines no longer change: a count arriving now is late. */
export const isFrozen = (status: CountSessionStatus): boolean =>
  status === 'applying' || status === 'applied' || status === 'cancelled';

/**
 * Sessions devices hold (snapshot entries `s/count-session/…`, `s/count-line/…`,
 * `s/count-position/…`): applied and cancelled ones are history, read over the API.
 */
export const isLiveCountSession = (status: CountSessionStatus): boolean =>
  status !== 'applied' && status !== 'cancelled';

export interface RecountThreshold {
  readonly quantity: number | null;
  readonly percent: number | null;
}

/**
 * A session without its lines (a session can have thousands): header and counters, so a
 * check reads one record. Counters are kept by `countChangesOf` from each line's before/after.
 */
export interface CountSession {
  readonly id: CountSessionId;
  readonly code: string;
  /** The scope's members are asked one at a time (`inCountScope`). */
  readonly scope: { readonly kind: 'positions' | 'items'; readonly size: number };
  readonly mode: CountMode;
  readonly recountAbove: RecountThreshold | null;
  readonly note: string | null;
  readonly status: CountSessionStatus;
  readonly assignees: readonly UserId[];
  readonly approvedBy: UserId | null;
  /** The approval's reason for lines with a variance and no reason of their own. */
  readonly reason: VarianceReason | null;
  readonly approvalNote: string | null;
  readonly cancelNote: string | null;
  /** Lines (pairs counted), numbered `1 … lines` in the order first counted. */
  readonly lines: number;
  /** Positions with a count or finished (confirmed empty included). */
  readonly positionsCounted: number;
  /** Position counts started and neither finished nor released ("in progress"). */
  readonly openCounts: number;
  readonly disagreements: number;
  /** Lines waiting for a recount by someone else. */
  readonly recounts: number;
  /** Lines whose effective count differs from what was expected. */
  readonly variances: number;
  /** Lines `1 … planned` are applied (set on approval). */
  readonly planned: number;
  readonly applied: number;
  readonly failed: number;
  readonly skipped: number;
  /** Applied lines whose pair had moved since the count. */
  readonly raced: number;
}

/** A live session as devices get it (`s/count-session/<id>`): header, counters, scope ids. */
export interface CountSessionEntry extends CountSession {
  readonly scopeIds: readonly string[];
}

/** One person's latest count of a pair. */
export interface CountEntry {
  /** The `CountRecorded` event. */
  readonly eventId: EventId;
  readonly countedBy: UserId;
  readonly counted: number;
  /** What the device held when counting (the set's size for serials). */
  readonly expected: number;
  /** Serialized items: the serials found and expected, sorted. `null` otherwise. */
  readonly serials: readonly Serial[] | null;
  readonly expectedSerials: readonly Serial[] | null;
  /** The same person counted the pair again later: kept as history, no longer counts. */
  readonly superseded: boolean;
  /** Arrived once the session was approved (or cancelled): kept, never applied. */
  readonly late: boolean;
}

/**
 * - `counted`: the counts agree (or a supervisor accepted one);
 * - `recount`: a variance above the session's threshold, counted by one person only: someone
 *   else must recount;
 * - `disagreement`: different counts by different people; resolved by `acceptCount`.
 */
export const COUNT_RECORD_STATUSES = ['counted', 'recount', 'disagreement'] as const;
export type CountRecordStatus = (typeof COUNT_RECORD_STATUSES)[number];

export const APPLY_STATES = ['pending', 'applied', 'failed', 'skipped'] as const;
export type ApplyState = (typeof APPLY_STATES)[number];

export interface SerialAt {
  readonly serial: Serial;
  readonly lot: Lot | null;
}

export interface AppliedCount {
  readonly choice: RaceChoice;
  readonly raced: boolean;
  readonly stockBefore: number;
  readonly serialsBefore: readonly SerialAt[] | null;
  /** Net stock change, corrections of a later race decision included. */
  readonly delta: number;
}

/** A line of a session: one (position, item, lot) pair and its counts. */
export interface CountRecord {
  readonly sessionId: CountSessionId;
  readonly lineNo: number;
  readonly positionId: PositionId;
  readonly itemId: ItemId;
  /** Serialized items are counted per (position, item): their lot travels with each serial. */
  readonly lot: Lot | null;
  readonly serialized: boolean;
  /**
   * Every count in the order it arrived: a recount by the same person supersedes theirs (the
   * earlier one is kept, flagged); late ones are kept too. `currentCounts` are the ones that count.
   */
  readonly counts: readonly CountEntry[];
  readonly status: CountRecordStatus;
  /** Set when a large variance needs a recount: by anyone but this person. */
  readonly recountExcept: UserId | null;
  /** A supervisor's choice, kept until a count that contradicts it arrives. */
  readonly accepted:
    | (CountEntry & {
        readonly acceptedBy: UserId;
        /** The `CountAccepted` event. */
        readonly acceptedIn: EventId;
      })
    | null;
  /** This line's own reason (approval); otherwise the session's. */
  readonly reason: VarianceReason | null;
  readonly race: {
    readonly choice: RaceChoice;
    readonly decidedBy: UserId;
    /** The `CountRaceDecided` event. */
    readonly eventId: EventId;
  } | null;
  readonly applyState: ApplyState;
  readonly applied: AppliedCount | null;
  readonly failure: { readonly code: string; readonly message: string } | null;
}

export interface OpenCount {
  readonly userId: UserId;
  /** The `PositionCountStarted` event (its meta says when). */
  readonly eventId: EventId;
}

/** A position as a session sees it: who is counting it now, and whether it was counted. */
export interface CountPosition {
  readonly sessionId: CountSessionId;
  readonly positionId: PositionId;
  readonly open: readonly OpenCount[];
  readonly counted: boolean;
  readonly countedBy: readonly UserId[];
  /** The last finish said "confirmed empty". */
  readonly empty: boolean;
}

// ─── Counts: the rules every reader shares ─────────────────────────────────────────────────

export const sortSerials = (serials: readonly Serial[]): Serial[] =>
  [...serials].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

const sameSet = (a: readonly Serial[], b: readonly Serial[]): boolean => {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((s) => set.has(s));
};

/** Two counts say the same: the same serials, or the same quantity (within the tolerance). */
export const sameCount = (
  a: Pick<CountEntry, 'counted' | 'serials'>,
  b: Pick<CountEntry, 'counted' | 'serials'>,
): boolean =>
  a.serials !== null && b.serials !== null
    ? sameSet(a.serials, b.serials)
    : qtyEquals(a.counted, b.counted);

export interface Variance {
  /** counted − expected. */
  readonly net: number;
  /** How far off: |net|, or for serials every serial missing or found. */
  readonly size: number;
  /** Serials expected and not found / found and not expected (empty for quantities). */
  readonly missing: readonly Serial[];
  readonly found: readonly Serial[];
}

type CountValues = Pick<CountEntry, 'counted' | 'expected' | 'serials' | 'expectedSerials'>;

export function varianceOf(e: CountValues): Variance {
  const net = roundQty(e.counted - e.expected);
  if (e.serials === null || e.expectedSerials === null)
    return { net, size: Math.abs(net), missing: [], found: [] };
  const counted = new Set(e.serials);
  const expected = new Set(e.expectedSerials);
  const missing = e.expectedSerials.filter((s) => !counted.has(s));
  const found = e.serials.filter((s) => !expected.has(s));
  return { net, size: missing.length + found.length, missing, found };
}

/** Above the session's threshold: more than `quantity` off, or more than `percent` of expected. */
export function isLargeVariance(e: CountValues, threshold: RecountThreshold | null): boolean {
  if (threshold === null) return false;
  const { size } = varianceOf(e);
  if (size < QTY_EPSILON) return false;
  if (threshold.quantity !== null && size - threshold.quantity >= QTY_EPSILON) return true;
  return (
    threshold.percent !== null &&
    size - (Math.abs(e.expected) * threshold.percent) / 100 >= QTY_EPSILON
  );
}

/** The latest count of each person, late ones left out: what agreement is judged on. */
export const currentCounts = (r: Pick<CountRecord, 'counts'>): CountEntry[] =>
  r.counts.filter((c) => !c.late && !c.superseded);

export function recordStatus(
  r: Pick<CountRecord, 'counts' | 'accepted' | 'recountExcept'>,
): CountRecordStatus {
  if (r.accepted !== null) return 'counted';
  const current = currentCounts(r);
  const first = current[0];
  if (first === undefined) return 'counted';
  if (current.some((c) => !sameCount(c, first))) return 'disagreement';
  if (r.recountExcept !== null && current.every((c) => c.countedBy === r.recountExcept))
    return 'recount';
  return 'counted';
}

/** The count a line applies: the accepted one, else the latest when they agree; none otherwise. */
export function effectiveCount(r: CountRecord): CountEntry | null {
  if (r.accepted !== null) return r.accepted;
  if (r.status !== 'counted') return null;
  return currentCounts(r).at(-1) ?? null;
}

export const hasVariance = (r: CountRecord): boolean => {
  const e = effectiveCount(r);
  return e !== null && varianceOf(e).size >= QTY_EPSILON;
};

/**
 * The line after one more count: it supersedes its counter's earlier one; a supervisor's
 * acceptance stands only if the new count agrees with it; a large variance counted by one
 * person so far asks for someone else's recount (and keeps asking until they have counted).
 * A late count (`frozen` session) is kept beside the others and changes nothing.
 */
export function withCount(
  record: CountRecord,
  entry: CountEntry,
  frozen: boolean,
  threshold: RecountThreshold | null,
): CountRecord {
  if (frozen) return { ...record, counts: [...record.counts, { ...entry, late: true }] };
  const counts = [
    ...record.counts.map((c) =>
      !c.late && !c.superseded && c.countedBy === entry.countedBy ? { ...c, superseded: true } : c,
    ),
    entry,
  ];
  const accepted =
    record.accepted !== null && sameCount(record.accepted, entry) ? record.accepted : null;
  const alone = currentCounts({ counts }).every((c) => c.countedBy === entry.countedBy);
  const recountExcept =
    record.recountExcept ?? (alone && isLargeVariance(entry, threshold) ? entry.countedBy : null);
  const next = { ...record, counts, accepted, recountExcept };
  return { ...next, status: recordStatus(next) };
}

// ─── What a count does to stock ─────────────────────────────────────────────────────────────

/** Stock of a line's pair now: a quantity, and for serialized items the serials there. */
export interface PairStock {
  readonly quantity: number;
  readonly serials: readonly SerialAt[] | null;
}

/** What reading a pair's stock asks of inventory (answered by every storage adapter today). */
export type PairStockView = Pick<InventoryView, 'quantity' | 'linesAt'>;

export function pairStockOf(
  view: PairStockView,
  r: Pick<CountRecord, 'itemId' | 'positionId' | 'lot' | 'serialized'>,
): PairStock {
  if (!r.serialized)
    return { quantity: view.quantity(r.itemId, r.positionId, r.lot, null), serials: null };
  const serials: SerialAt[] = [];
  for (const l of view.linesAt(r.positionId)) {
    if (l.itemId === r.itemId && l.serial !== null && l.quantity >= QTY_EPSILON)
      serials.push({ serial: l.serial, lot: l.lot });
  }
  serials.sort((a, b) => (a.serial < b.serial ? -1 : a.serial > b.serial ? 1 : 0));
  return { quantity: serials.length, serials };
}

/**
 * The pair holds something else than the count expected: someone moved it after (or without
 * the device knowing, before) the count. Then keeping the delta and keeping the counted
 * quantity give different stock, and a supervisor should know. When stock equals what was
 * expected both choices agree, so there is nothing to decide.
 */
export function isRaced(entry: CountEntry, stock: PairStock): boolean {
  if (entry.expectedSerials !== null && stock.serials !== null)
    return !sameSet(
      entry.expectedSerials,
      stock.serials.map((s) => s.serial),
    );
  return !qtyEquals(entry.expected, stock.quantity);
}

/** One stock adjustment of a line: a quantity, or ±1 of one serial. */
export interface CountAdjustment {
  readonly delta: number;
  readonly lot: Lot | null;
  readonly serial: Serial | null;
}

/**
 * The adjustments that apply `entry` to a pair holding `stock`:
 * - `keep-delta`: counted − expected-at-count-time (serials: −1 for each expected serial not
 *   found, +1 for each found serial not expected);
 * - `keep-counted`: counted − stock now (serials: the pair ends holding exactly those counted).
 * Removals come first, then additions, each in serial order.
 */
export function adjustmentsOf(
  record: Pick<CountRecord, 'lot'>,
  entry: CountEntry,
  stock: PairStock,
  choice: RaceChoice,
): CountAdjustment[] {
  if (entry.serials === null || stock.serials === null) {
    const base = choice === 'keep-delta' ? entry.expected : stock.quantity;
    const delta = roundQty(entry.counted - base);
    return Math.abs(delta) < QTY_EPSILON ? [] : [{ delta, lot: record.lot, serial: null }];
  }
  const lotOf = new Map(stock.serials.map((s) => [s.serial, s.lot] as const));
  const base =
    choice === 'keep-delta' ? (entry.expectedSerials ?? []) : stock.serials.map((s) => s.serial);
  const counted = new Set(entry.serials);
  const held = new Set(base);
  return [
    ...sortSerials(base.filter((s) => !counted.has(s))).map((serial): CountAdjustment => ({
      delta: -1,
      lot: lotOf.get(serial) ?? null,
      serial,
    })),
    ...sortSerials(entry.serials.filter((s) => !held.has(s))).map((serial): CountAdjustment => ({
      delta: 1,
      lot: lotOf.get(serial) ?? null,
      serial,
    })),
  ];
}

/**
 * What turns a line applied with `from` into one applied with `to`, from the stock it was
 * applied to: the difference of the two sets of adjustments (for quantities, `expected − stock`
 * towards keep-counted and its opposite back).
 */
export function correctionOf(
  record: Pick<CountRecord, 'lot'>,
  entry: CountEntry,
  before: PairStock,
  from: RaceChoice,
  to: RaceChoice,
): CountAdjustment[] {
  if (from === to) return [];
  const net = new Map<string, CountAdjustment>();
  const add = (a: CountAdjustment, sign: number) => {
    const key = a.serial ?? '';
    const prev = net.get(key);
    net.set(key, {
      ...a,
      lot: prev?.lot ?? a.lot,
      delta: roundQty((prev?.delta ?? 0) + sign * a.delta),
    });
  };
  for (const a of adjustmentsOf(record, entry, before, to)) add(a, 1);
  for (const a of adjustmentsOf(record, entry, before, from)) add(a, -1);
  return [...net.values()]
    .filter((a) => Math.abs(a.delta) >= QTY_EPSILON)
    .sort((a, b) => a.delta - b.delta || ((a.serial ?? '') < (b.serial ?? '') ? -1 : 1));
}

// ─── Keys ───────────────────────────────────────────────────────────────────────────────────

export const countRecordKey = (sessionId: CountSessionId, lineNo: number) =>
  `${sessionId}\u0000${lineNo}`;
export const countPairKey = (
  sessionId: CountSessionId,
  itemId: ItemId,
  positionId: PositionId,
  lot: Lot | null,
) => `${sessionId}\u0000${itemId}\u0000${positionId}\u0000${lot ?? ''}`;
export const countPositionKey = (sessionId: CountSessionId, positionId: PositionId) =>
  `${sessionId}\u0000${positionId}`;

// ─── The fold ───────────────────────────────────────────────────────────────────────────────

/**
 * All counting sessions, folded from the log. Immutable: `evolveCounting` returns the same
 * object when an event concerns no session, or a new one sharing every record it did not touch.
 */
export interface CountingState {
  readonly sessions: ReadonlyMap<CountSessionId, CountSession>;
  readonly codes: ReadonlyMap<string, CountSessionId>;
  readonly scopes: ReadonlyMap<CountSessionId, ReadonlySet<string>>;
  /** `countRecordKey` → line. */
  readonly records: ReadonlyMap<string, CountRecord>;
  /** `countPairKey` → line number. */
  readonly pairs: ReadonlyMap<string, number>;
  /** `countPositionKey` → position. */
  readonly positions: ReadonlyMap<string, CountPosition>;
}

export function initialCountingState(): CountingState {
  return {
    sessions: new Map(),
    codes: new Map(),
    scopes: new Map(),
    records: new Map(),
    pairs: new Map(),
    positions: new Map(),
  };
}

/** The in-memory state as the read view `countChangesOf` and the deciders need. */
export function countingViewOf(state: CountingState): CountingReadView {
  const countRecord = (sessionId: CountSessionId, lineNo: number) =>
    state.records.get(countRecordKey(sessionId, lineNo));
  return {
    countSession: (id) => state.sessions.get(id),
    countSessionByCode: (code) => {
      const id = state.codes.get(code);
      return id === undefined ? undefined : state.sessions.get(id);
    },
    inCountScope: (sessionId, id) => state.scopes.get(sessionId)?.has(id) ?? false,
    countRecord,
    countRecordOfPair: (sessionId, itemId, positionId, lot) => {
      const lineNo = state.pairs.get(countPairKey(sessionId, itemId, positionId, lot));
      return lineNo === undefined ? undefined : countRecord(sessionId, lineNo);
    },
    countPosition: (sessionId, positionId) =>
      state.positions.get(countPositionKey(sessionId, positionId)),
  };
}

type Writable = {
  -readonly [K in keyof CountingState]: CountingState[K] extends ReadonlyMap<infer Key, infer V>
    ? Map<Key, V>
    : never;
};

function applyCountChange(s: Writable, c: CountChange): void {
  switch (c.op) {
    case 'putCountSession':
      s.sessions.set(c.session.id, c.session);
      s.codes.set(c.session.code, c.session.id);
      return;
    case 'putCountScope':
      s.scopes.set(c.sessionId, new Set(c.ids));
      return;
    case 'putCountRecord': {
      const r = c.record;
      s.records.set(countRecordKey(r.sessionId, r.lineNo), r);
      s.pairs.set(countPairKey(r.sessionId, r.itemId, r.positionId, r.lot), r.lineNo);
      return;
    }
    case 'putCountPosition':
      s.positions.set(countPositionKey(c.position.sessionId, c.position.positionId), c.position);
      return;
    default: {
      const unreachable: never = c;
      return unreachable;
    }
  }
}

/** Which maps a change writes (so `evolveCounting` copies only those). */
const mapsOf = (c: CountChange): readonly (keyof CountingState)[] => {
  switch (c.op) {
    case 'putCountSession':
      return ['sessions', 'codes'];
    case 'putCountScope':
      return ['scopes'];
    case 'putCountRecord':
      return ['records', 'pairs'];
    case 'putCountPosition':
      return ['positions'];
    default: {
      const unreachable: never = c;
      return unreachable;
    }
  }
};

/**
 * Folds one event, purely: `state` is left as it was. Copies the maps it writes, so replaying
 * a long log event by event is quadratic — replay with `foldCounting` instead.
 */
export function evolveCounting(state: CountingState, event: LoggedCountEvent): CountingState {
  const changes = countChangesOf(countingViewOf(state), event);
  if (changes.length === 0) return state;
  const next = { ...state } as Record<keyof CountingState, unknown>;
  const copied = new Set<keyof CountingState>();
  for (const c of changes) {
    for (const m of mapsOf(c)) {
      if (copied.has(m)) continue;
      next[m] = new Map(state[m] as Map<unknown, unknown>);
      copied.add(m);
    }
    applyCountChange(next as Writable, c);
  }
  return next as unknown as CountingState;
}

/**
 * Folds many events (a replay, a pull page) in linear time: the maps are copied once, then
 * written in place. Same result as `evolveCounting` one by one; `from` is left as it was.
 */
export function foldCounting(
  events: Iterable<LoggedCountEvent>,
  from: CountingState = initialCountingState(),
): CountingState {
  const state: Writable = {
    sessions: new Map(from.sessions),
    codes: new Map(from.codes),
    scopes: new Map(from.scopes),
    records: new Map(from.records),
    pairs: new Map(from.pairs),
    positions: new Map(from.positions),
  };
  const view = countingViewOf(state);
  for (const event of events)
    for (const c of countChangesOf(view, event)) applyCountChange(state, c);
  return state;
}

/** The lines of one session, by number (in-memory state; storage pages through its table). */
export function linesOf(state: CountingState, sessionId: CountSessionId): CountRecord[] {
  const n = state.sessions.get(sessionId)?.lines ?? 0;
  const out: CountRecord[] = [];
  for (let lineNo = 1; lineNo <= n; lineNo++) {
    const r = state.records.get(countRecordKey(sessionId, lineNo));
    if (r) out.push(r);
  }
  return out;
}

/** The positions a session touched (in-memory state). */
export function positionsOf(state: CountingState, sessionId: CountSessionId): CountPosition[] {
  const out: CountPosition[] = [];
  for (const p of state.positions.values()) if (p.sessionId === sessionId) out.push(p);
  return out;
}

/**
 * A state holding the given sessions as they are (no fold): what the device builds from its
 * snapshot entries and the server from one session's rows, so the queries (`countCoverage`,
 * `reviewLines`, …) and the deciders read them like a folded log.
 */
export function countingStateOf(
  sessions: Iterable<CountSessionEntry>,
  records: Iterable<CountRecord>,
  positions: Iterable<CountPosition>,
): CountingState {
  const state: Writable = initialCountingState() as Writable;
  for (const { scopeIds, ...session } of sessions) {
    state.sessions.set(session.id, session);
    state.codes.set(session.code, session.id);
    state.scopes.set(session.id, new Set(scopeIds));
  }
  for (const r of records) {
    state.records.set(countRecordKey(r.sessionId, r.lineNo), r);
    state.pairs.set(countPairKey(r.sessionId, r.itemId, r.positionId, r.lot), r.lineNo);
  }
  for (const p of positions) state.positions.set(countPositionKey(p.sessionId, p.positionId), p);
  return state;
}
