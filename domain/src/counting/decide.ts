import type { InventoryCommand } from '../inventory/commands.js';
import { decide as decideInventory } from '../inventory/decide.js';
import type { InventoryEvent } from '../inventory/events.js';
import type { InventoryView, Item, Position } from '../inventory/state.js';
import { pairValue } from '../jobs/row-error.js';
import type { ConflictDraft, Decision, FactMode, RejectionCode } from '../shared/decision.js';
import { conflictText } from '../shared/conflict-text.js';
import { conflictKindForRejection, reject } from '../shared/decision.js';
import type { ItemId, Lot, PositionId, Serial } from '../shared/ids.js';
import { asEventId } from '../shared/ids.js';
import { roundQty } from '../shared/quantity.js';
import type { Actor, Role } from '../shared/roles.js';
import { roleAllows } from '../shared/roles.js';
import type { CountingReadView } from './changes.js';
import { applyFailedKey, disagreementKey, entryOfEvent, newRecord, raceKey } from './changes.js';
import type {
  CountingCommand,
  CountingCommandArgs,
  CountingCommandName,
  CountSessionId,
} from './commands.js';
import { COUNTING_FACTS } from './commands.js';
import type { CountingEvent, CountingEventData } from './events.js';
import type { CountAdjustment, CountEntry, CountRecord, CountSession } from './state.js';
import {
  adjustmentsOf,
  correctionOf,
  currentCounts,
  effectiveCount,
  hasVariance,
  isFrozen,
  isRaced,
  pairStockOf,
  sameCount,
  sortSerials,
  withCount,
} from './state.js';

// ─── Rejections ─────────────────────────────────────────────────────────────────────────────

/** A counting command decided: counting events, and the inventory's `StockAdjusted` on apply. */
export type CountingDecision = Decision<CountingEvent | InventoryEvent>;

type CountingRejectionCode = RejectionCode;

/** Short-circuits a decider; always caught in `decideCountingCommand`, so callers see values. */
class Rejection extends Error {
  constructor(
    readonly code: CountingRejectionCode,
    message: string,
  ) {
    super(message);
  }
}
const refuse = (code: CountingRejectionCode, message: string): never => {
  throw new Rejection(code, message);
};

/** Drops `undefined` members so events carry no `"note": undefined` noise. */
const compact = <T extends object>(o: T): T => {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as T;
};

// ─── Context and roles ──────────────────────────────────────────────────────────────────────

/**
 * What the counting deciders read: sessions, lines and positions one at a time, and inventory
 * (master data for checks; a pair's stock when a line is applied, through the inventory's own
 * `decide` for the adjustments).
 */
export type CountingDecideView = CountingReadView & InventoryView;

export interface CountingContext {
  readonly actor: Actor;
  /** How floor facts that contradict the session are treated; intents are always strict. */
  readonly mode: FactMode;
}

/** The least role per command: operators report counts, supervisors run sessions. */
export const COUNTING_ROLES: Readonly<Record<CountingCommandName, Role>> = {
  planCountSession: 'supervisor',
  assignCountSession: 'supervisor',
  startCountSession: 'supervisor',
  closeCountSession: 'supervisor',
  cancelCountSession: 'supervisor',
  startPositionCount: 'operator',
  recordCount: 'operator',
  confirmPositionEmpty: 'operator',
  finishPositionCount: 'operator',
  releasePositionCount: 'supervisor',
  acceptCount: 'supervisor',
  decideCountRace: 'supervisor',
  approveCountSession: 'supervisor',
  applyCountRecord: 'supervisor',
  skipCountRecord: 'supervisor',
};

type Decided = {
  readonly events: readonly (CountingEvent | InventoryEvent)[];
  readonly conflicts: readonly ConflictDraft[];
};
type Decider<N extends CountingCommandName> = (
  view: CountingDecideView,
  args: CountingCommandArgs<N>,
  ctx: CountingContext,
) => Decided;

const only = (...events: (CountingEvent | InventoryEvent)[]): Decided => ({
  events,
  conflicts: [],
});

// ─── Shared checks ──────────────────────────────────────────────────────────────────────────

function needSession(view: CountingReadView, id: CountSessionId): CountSession {
  return view.countSession(id) ?? refuse('UNKNOWN_COUNT_SESSION', `unknown counting session ${id}`);
}

/** Why a session is not where an intent needs it, in the words the protocol uses. */
function stateOf(s: CountSession): string {
  switch (s.status) {
    case 'planned':
      return `counting session ${s.code} has not started`;
    case 'counting':
      return `counting session ${s.code} is still counting`;
    case 'review':
    case 'applying':
    case 'applied':
      return `counting session ${s.code} is closed`;
    case 'cancelled':
      return `counting session ${s.code} is cancelled`;
    default: {
      const unreachable: never = s.status;
      return unreachable;
    }
  }
}

function needStatus(s: CountSession, ...allowed: CountSession['status'][]): void {
  if (!allowed.includes(s.status)) refuse('STALE_INTENT', stateOf(s));
}

function needLine(view: CountingReadView, s: CountSession, lineNo: number): CountRecord {
  return (
    view.countRecord(s.id, lineNo) ??
    refuse('UNKNOWN_COUNT_LINE', `counting session ${s.code} has no line ${lineNo}`)
  );
}

function needItem(view: InventoryView, id: ItemId): Item {
  return view.item(id) ?? refuse('UNKNOWN_ITEM', `unknown item ${id}`);
}

/** A position that can hold stock. */
function needPosition(view: InventoryView, id: PositionId): Position {
  const p = view.position(id) ?? refuse('UNKNOWN_POSITION', `unknown position ${id}`);
  if (p.virtual) refuse('VIRTUAL_POSITION', `${p.code} is a virtual endpoint and holds no stock`);
  return p;
}

/** A position of the session: in a positions scope, one of its positions. */
function sessionPosition(view: CountingDecideView, s: CountSession, id: PositionId): Position {
  const p = needPosition(view, id);
  if (s.scope.kind === 'positions' && !view.inCountScope(s.id, id))
    refuse('COUNT_OUT_OF_SCOPE', `${p.code} is not in the scope of counting session ${s.code}`);
  return p;
}

/** An item of the session: in an items scope, one of its items. */
function sessionItem(view: CountingDecideView, s: CountSession, id: ItemId): Item {
  const item = needItem(view, id);
  if (s.scope.kind === 'items' && !view.inCountScope(s.id, id))
    refuse('COUNT_OUT_OF_SCOPE', `${item.sku} is not in the scope of counting session ${s.code}`);
  return item;
}

/**
 * A floor fact about a session. Recorded whatever the session's state when replayed (`record`:
 * an offline device's count is real); checked before it happens (`strict`): counting only.
 */
function factAllowed(s: CountSession, ctx: CountingContext): void {
  if (ctx.mode === 'strict' && s.status !== 'counting') refuse('STALE_INTENT', stateOf(s));
}

const pairLabel = (
  item: Pick<Item, 'sku'>,
  position: Pick<Position, 'code'>,
  lot: Lot | null,
): string => `${item.sku}${lot !== null ? ` lot ${lot}` : ''} at ${position.code}`;

function lineLabel(view: InventoryView, s: CountSession, r: CountRecord): string {
  const item = view.item(r.itemId) ?? { sku: r.itemId };
  const position = view.position(r.positionId) ?? { code: r.positionId };
  return `line ${r.lineNo} of ${s.code} (${pairLabel(item, position, r.lot)})`;
}

/** Serials for messages: `{s1, s2}`. */
const serialSet = (s: readonly string[]) => `{${s.join(', ')}}`;

/** A count as a conflict text's value: the number, or the serial set. */
const countValue = (e: Pick<CountEntry, 'counted' | 'serials'>): string | number =>
  e.serials !== null ? serialSet(e.serials) : e.counted;

/** A line as a conflict text's values: codes only (`pairValue`). */
function lineValues(view: InventoryView, s: CountSession, r: CountRecord) {
  const item = view.item(r.itemId) ?? { sku: r.itemId };
  const position = view.position(r.positionId) ?? { code: r.positionId };
  return { line: r.lineNo, session: s.code, pair: pairValue(item.sku, position.code, r.lot) };
}

const shown = (e: Pick<CountEntry, 'counted' | 'serials'>): string =>
  e.serials !== null ? serialSet(e.serials) : String(e.counted);

// ─── Counts (floor facts) ───────────────────────────────────────────────────────────────────

type CountData = CountingEventData<'CountRecorded'>;

interface CountForm {
  readonly lot?: Lot | undefined;
  readonly counted?: number | undefined;
  readonly expected?: number | undefined;
  readonly serials?: readonly Serial[] | undefined;
  readonly expectedSerials?: readonly Serial[] | undefined;
}

/** The `CountRecorded` data of a count, after the item's tracking rules. */
function countData(
  s: CountSession,
  item: Item,
  positionId: PositionId,
  a: CountForm,
  ctx: CountingContext,
): CountData {
  const base = { sessionId: s.id, positionId, itemId: item.id, countedBy: ctx.actor.userId };
  if (item.tracking === 'serial') {
    if (a.serials === undefined)
      refuse('SERIAL_REQUIRED', `${item.sku} is serialized: count it as the set of serials found`);
    if (a.lot !== undefined)
      refuse('LOT_NOT_ALLOWED', `${item.sku} is counted by serial: do not give a lot`);
    const serials = sortSerials(a.serials ?? []);
    const expectedSerials = sortSerials(a.expectedSerials ?? []);
    return {
      ...base,
      counted: serials.length,
      expected: expectedSerials.length,
      serials,
      expectedSerials,
    };
  }
  if (a.serials !== undefined)
    refuse('SERIAL_NOT_ALLOWED', `${item.sku} is not serialized: count a quantity`);
  if (item.tracking === 'lot' && a.lot === undefined)
    refuse('LOT_REQUIRED', `${item.sku} is lot-tracked: count each lot on its own`);
  if (item.tracking === 'none' && a.lot !== undefined)
    refuse('LOT_NOT_ALLOWED', `${item.sku} is not lot-tracked; do not give a lot`);
  return compact({
    ...base,
    lot: a.lot,
    counted: roundQty(a.counted ?? 0),
    expected: roundQty(a.expected ?? 0),
  });
}

/**
 * The events of counts at one position, and what they contradict: a count that makes its line
 * a disagreement opens (or joins) the line's `count-disagreement` conflict; a late count that
 * differs from what is applied opens one too, so it is seen, while it changes nothing.
 */
function countsDecided(
  view: CountingDecideView,
  s: CountSession,
  position: Position,
  counts: readonly { readonly item: Item; readonly data: CountData }[],
): { events: CountingEvent[]; conflicts: ConflictDraft[] } {
  const events: CountingEvent[] = [];
  const conflicts: ConflictDraft[] = [];
  for (const { item, data } of counts) {
    events.push({ type: 'CountRecorded', data });
    const lot = data.lot ?? null;
    const before = view.countRecordOfPair(s.id, item.id, position.id, lot);
    // Not logged yet: no event id. Only its values decide what it contradicts.
    const entry: CountEntry = entryOfEvent(asEventId(''), data);
    const what = `${pairLabel(item, position, lot)} in ${s.code}`;
    const pair = { itemId: item.id, positionId: position.id, lot };
    const detail = { sessionId: s.id, ...pair };
    const said = { pair: pairValue(item.sku, position.code, lot), session: s.code };
    if (s.status === 'cancelled') continue;
    if (isFrozen(s.status)) {
      const inPlan = before !== undefined && before.lineNo <= s.planned;
      const applied = inPlan ? effectiveCount(before) : null;
      if (applied !== null && sameCount(applied, entry)) continue;
      conflicts.push({
        kind: 'count-disagreement',
        key: disagreementKey(s.id, pair),
        message: `${what}: ${shown(entry)} counted by ${entry.countedBy} after approval, ${
          applied !== null ? `${shown(applied)} approved` : 'nothing counted before'
        }; the late count is kept, not applied`,
        detail: {
          ...detail,
          late: true,
          counted: entry.counted,
          serials: entry.serials,
          text:
            applied !== null
              ? conflictText('LATE_COUNT', {
                  ...said,
                  counted: countValue(entry),
                  by: entry.countedBy,
                  approved: countValue(applied),
                })
              : conflictText('LATE_FIRST_COUNT', {
                  ...said,
                  counted: countValue(entry),
                  by: entry.countedBy,
                }),
        },
      });
      continue;
    }
    const after = withCount(
      before ?? newRecord(s, { ...pair, lot: lot ?? undefined }, item.tracking === 'serial'),
      entry,
      false,
      s.recountAbove,
    );
    if (after.status !== 'disagreement') continue;
    const current = currentCounts(after);
    conflicts.push({
      kind: 'count-disagreement',
      key: disagreementKey(s.id, pair),
      message: `${what}: counted ${current.map((c) => `${shown(c)} by ${c.countedBy}`).join(', ')}`,
      detail: {
        ...detail,
        counts: current.map((c) => ({
          countedBy: c.countedBy,
          counted: c.counted,
          serials: c.serials,
        })),
        text: conflictText('COUNTS_DISAGREE', {
          ...said,
          counts: current.map((c) => `${countValue(c)} (${c.countedBy})`).join(', '),
        }),
      },
    });
  }
  return { events, conflicts };
}

const recordCount: Decider<'recordCount'> = (view, a, ctx) => {
  const s = needSession(view, a.sessionId);
  const position = sessionPosition(view, s, a.positionId);
  const item = sessionItem(view, s, a.itemId);
  factAllowed(s, ctx);
  return countsDecided(view, s, position, [
    { item, data: countData(s, item, position.id, a, ctx) },
  ]);
};

const confirmPositionEmpty: Decider<'confirmPositionEmpty'> = (view, a, ctx) => {
  const s = needSession(view, a.sessionId);
  const position = sessionPosition(view, s, a.positionId);
  const counts = a.expected.map((l) => {
    const item = sessionItem(view, s, l.itemId);
    const form: CountForm =
      l.serials !== undefined
        ? { serials: [], expectedSerials: l.serials }
        : { lot: l.lot, counted: 0, expected: l.quantity };
    if (item.tracking === 'serial' && l.serials === undefined)
      refuse('SERIAL_REQUIRED', `${item.sku} is serialized: give the serials the device expected`);
    return { item, data: countData(s, item, position.id, { ...form, lot: l.lot }, ctx) };
  });
  factAllowed(s, ctx);
  const decided = countsDecided(view, s, position, counts);
  return {
    events: [
      ...decided.events,
      {
        type: 'PositionCountFinished',
        data: {
          sessionId: s.id,
          positionId: position.id,
          countedBy: ctx.actor.userId,
          empty: true,
        },
      },
    ],
    conflicts: decided.conflicts,
  };
};

const startPositionCount: Decider<'startPositionCount'> = (view, a, ctx) => {
  const s = needSession(view, a.sessionId);
  const position = sessionPosition(view, s, a.positionId);
  factAllowed(s, ctx);
  return only({
    type: 'PositionCountStarted',
    data: { sessionId: s.id, positionId: position.id, countedBy: ctx.actor.userId },
  });
};

const finishPositionCount: Decider<'finishPositionCount'> = (view, a, ctx) => {
  const s = needSession(view, a.sessionId);
  const position = sessionPosition(view, s, a.positionId);
  factAllowed(s, ctx);
  return only({
    type: 'PositionCountFinished',
    data: { sessionId: s.id, positionId: position.id, countedBy: ctx.actor.userId, empty: false },
  });
};

// ─── Session intents ────────────────────────────────────────────────────────────────────────

const planCountSession: Decider<'planCountSession'> = (view, a) => {
  if (view.countSession(a.sessionId))
    refuse('STALE_INTENT', `counting session ${a.sessionId} already exists`);
  if (view.countSessionByCode(a.code))
    refuse('DUPLICATE_CODE', `a counting session with code ${a.code} already exists`);
  for (const id of a.positionIds ?? []) {
    const p = needPosition(view, id);
    if (p.retired) refuse('POSITION_RETIRED', `position ${p.code} is retired`);
  }
  for (const id of a.itemIds ?? []) needItem(view, id);
  const t = a.recountAbove;
  return only({
    type: 'CountSessionPlanned',
    data: compact({
      sessionId: a.sessionId,
      code: a.code,
      scope:
        a.positionIds !== undefined
          ? { kind: 'positions' as const, ids: a.positionIds }
          : { kind: 'items' as const, ids: a.itemIds ?? [] },
      mode: a.mode,
      recountAbove:
        t && (t.quantity !== undefined || t.percent !== undefined)
          ? { quantity: t.quantity ?? null, percent: t.percent ?? null }
          : null,
      note: a.note || undefined,
    }),
  });
};

const assignCountSession: Decider<'assignCountSession'> = (view, a) => {
  const s = needSession(view, a.sessionId);
  needStatus(s, 'planned', 'counting', 'review');
  return only({ type: 'CountSessionAssigned', data: { sessionId: s.id, userIds: a.userIds } });
};

const startCountSession: Decider<'startCountSession'> = (view, a) => {
  const s = needSession(view, a.sessionId);
  if (s.status === 'counting')
    refuse('STALE_INTENT', `counting session ${s.code} has already started`);
  needStatus(s, 'planned');
  return only({ type: 'CountSessionStarted', data: { sessionId: s.id } });
};

const closeCountSession: Decider<'closeCountSession'> = (view, a) => {
  const s = needSession(view, a.sessionId);
  needStatus(s, 'counting');
  if (s.openCounts > 0) {
    refuse(
      'COUNT_OPEN',
      `counting session ${s.code} still has ${s.openCounts} position count${s.openCounts > 1 ? 's' : ''} in progress: wait for them to finish, or release those a dead device left open`,
    );
  }
  return only({ type: 'CountSessionClosed', data: { sessionId: s.id } });
};

const cancelCountSession: Decider<'cancelCountSession'> = (view, a) => {
  const s = needSession(view, a.sessionId);
  if (s.status === 'applying' || s.status === 'applied')
    refuse('STALE_INTENT', `counting session ${s.code} is approved: it can no longer be cancelled`);
  if (s.status === 'cancelled')
    refuse('STALE_INTENT', `counting session ${s.code} is already cancelled`);
  return only({
    type: 'CountSessionCancelled',
    data: compact({ sessionId: s.id, note: a.note || undefined }),
  });
};

const releasePositionCount: Decider<'releasePositionCount'> = (view, a, ctx) => {
  const s = needSession(view, a.sessionId);
  const position = needPosition(view, a.positionId);
  if (!view.countPosition(s.id, position.id)?.open.some((o) => o.userId === a.userId))
    refuse('STALE_INTENT', `${position.code} is not being counted by ${a.userId} in ${s.code}`);
  return only({
    type: 'PositionCountReleased',
    data: compact({
      sessionId: s.id,
      positionId: position.id,
      userId: a.userId,
      releasedBy: ctx.actor.userId,
      note: a.note || undefined,
    }),
  });
};

const acceptCount: Decider<'acceptCount'> = (view, a, ctx) => {
  const s = needSession(view, a.sessionId);
  if (isFrozen(s.status)) refuse('STALE_INTENT', `${stateOf(s)}: its counts can no longer change`);
  const r = needLine(view, s, a.lineNo);
  const entry = currentCounts(r).find((c) => c.countedBy === a.countedBy);
  if (!entry)
    refuse('UNKNOWN_COUNT_LINE', `line ${r.lineNo} of ${s.code} has no count by ${a.countedBy}`);
  if (r.accepted?.eventId === entry?.eventId)
    refuse(
      'STALE_INTENT',
      `the count of ${a.countedBy} is already accepted on line ${r.lineNo} of ${s.code}`,
    );
  return only({
    type: 'CountAccepted',
    data: compact({
      sessionId: s.id,
      lineNo: r.lineNo,
      countedBy: a.countedBy,
      acceptedBy: ctx.actor.userId,
      note: a.note || undefined,
    }),
  });
};

const approveCountSession: Decider<'approveCountSession'> = (view, a, ctx) => {
  const s = needSession(view, a.sessionId);
  if (s.status === 'counting')
    refuse(
      'STALE_INTENT',
      `counting session ${s.code} is still counting: close it for review first`,
    );
  if (s.status === 'applying' || s.status === 'applied')
    refuse('STALE_INTENT', `counting session ${s.code} is already approved`);
  needStatus(s, 'review');
  if (s.disagreements > 0 || s.recounts > 0) {
    const parts = [
      s.disagreements > 0 &&
        `${s.disagreements} line${s.disagreements > 1 ? 's have' : ' has'} disagreeing counts`,
      s.recounts > 0 &&
        `${s.recounts} line${s.recounts > 1 ? 's need' : ' needs'} a recount by someone else`,
    ].filter(Boolean);
    refuse(
      'COUNT_UNRESOLVED',
      `counting session ${s.code} cannot be approved: ${parts.join(' and ')} (accept one count per line to resolve)`,
    );
  }
  // Every line with a variance needs a reason: the session's, or its own. Counted without
  // reading every line: the named lines with a variance must be all of them.
  let covered = 0;
  for (const { lineNo } of a.reasons ?? []) if (hasVariance(needLine(view, s, lineNo))) covered++;
  if (a.reason === undefined && covered < s.variances) {
    const missing = s.variances - covered;
    refuse(
      'REASON_REQUIRED',
      `${missing} line${missing > 1 ? 's' : ''} of ${s.code} with a variance ${missing > 1 ? 'have' : 'has'} no reason code: give one for the session or one per line`,
    );
  }
  return only({
    type: 'CountSessionApproved',
    data: compact({
      sessionId: s.id,
      approvedBy: ctx.actor.userId,
      planned: s.lines,
      reason: a.reason,
      reasons: a.reasons ?? [],
      note: a.note || undefined,
    }),
  });
};

// ─── Applying ───────────────────────────────────────────────────────────────────────────────

type Adjusted =
  | { readonly ok: true; readonly events: InventoryEvent[]; readonly conflicts: ConflictDraft[] }
  | { readonly ok: false; readonly code: RejectionCode; readonly message: string };

/**
 * A line's adjustments, each decided by the inventory's own `adjustStock` rules (reason
 * `count-correction`), in `record` mode: a count is a fact, so stock going negative or a
 * serial found that is recorded elsewhere is flagged, not refused. All or nothing: the first
 * refusal (an item gone, a retired position receiving) fails the whole line.
 *
 * Each adjustment is decided against the state before the line (they touch different stock
 * lines); a disposable container retired by several of them is retired once.
 */
function adjust(
  view: CountingDecideView,
  ctx: CountingContext,
  r: CountRecord,
  adjustments: readonly CountAdjustment[],
  note: string,
): Adjusted {
  const events: InventoryEvent[] = [];
  const conflicts: ConflictDraft[] = [];
  const retired = new Set<string>();
  for (const adj of adjustments) {
    const command: InventoryCommand = {
      name: 'adjustStock',
      args: compact({
        itemId: r.itemId,
        positionId: r.positionId,
        delta: adj.delta,
        reason: 'count-correction' as const,
        note,
        lot: adj.lot ?? undefined,
        serial: adj.serial ?? undefined,
      }),
    };
    const d = decideInventory(view, command, { actor: ctx.actor, mode: 'record' });
    if (d.kind === 'rejected') return { ok: false, code: d.code, message: d.message };
    for (const e of d.events) {
      if (e.type === 'PositionRetired') {
        if (retired.has(e.data.positionId)) continue;
        retired.add(e.data.positionId);
      }
      events.push(e);
    }
    conflicts.push(...d.conflicts);
  }
  return { ok: true, events, conflicts };
}

const netOf = (adjustments: readonly CountAdjustment[]) =>
  roundQty(adjustments.reduce((sum, a) => sum + a.delta, 0));

const applyCountRecord: Decider<'applyCountRecord'> = (view, a, ctx) => {
  const s = needSession(view, a.sessionId);
  if (s.status === 'applied')
    refuse('STALE_INTENT', `counting session ${s.code} is already applied`);
  if (s.status !== 'applying')
    refuse(
      'STALE_INTENT',
      s.status === 'review' ? `counting session ${s.code} is not approved` : stateOf(s),
    );
  const r = needLine(view, s, a.lineNo);
  const label = lineLabel(view, s, r);
  if (r.lineNo > s.planned)
    refuse('STALE_INTENT', `${label} was counted after approval and is not applied`);
  if (r.applyState === 'applied' || r.applyState === 'skipped')
    refuse('STALE_INTENT', `${label} is already ${r.applyState}`);
  const entry = effectiveCount(r) ?? refuse('COUNT_UNRESOLVED', `${label} has no agreed count`);

  const stock = pairStockOf(view, r);
  const raced = isRaced(entry, stock);
  const choice = r.race?.choice ?? 'keep-delta';
  const adjustments = adjustmentsOf(r, entry, stock, choice);
  const reason = r.reason ?? s.reason;
  const note = `count ${s.code} line ${r.lineNo}${reason !== null ? `: ${reason}` : ''}`;
  const done = adjust(view, ctx, r, adjustments, note);
  if (!done.ok) {
    return {
      events: [
        {
          type: 'CountRecordFailed',
          data: { sessionId: s.id, lineNo: r.lineNo, code: done.code, message: done.message },
        },
      ],
      conflicts: [
        {
          kind: conflictKindForRejection(done.code),
          key: applyFailedKey(s.id, r.lineNo),
          message: `${label} was not applied: ${done.message} (retry it, or skip it)`,
          detail: {
            sessionId: s.id,
            lineNo: r.lineNo,
            code: done.code,
            text: conflictText('COUNT_NOT_APPLIED', {
              ...lineValues(view, s, r),
              reason: done.message,
            }),
          },
        },
      ],
    };
  }
  const delta = netOf(adjustments);
  const conflicts = [...done.conflicts];
  if (raced && r.race === null) {
    const keepCounted = adjustmentsOf(r, entry, stock, 'keep-counted');
    const after = roundQty(stock.quantity + delta);
    const was = (n: number, serials: readonly string[] | null) =>
      serials !== null ? serialSet(serials) : String(n);
    const wasValue = (n: number, serials: readonly string[] | null) =>
      serials !== null ? serialSet(serials) : n;
    conflicts.push({
      kind: 'count-raced-movement',
      key: raceKey(s.id, r.lineNo),
      message: `${label} moved after it was counted: expected ${was(entry.expected, entry.expectedSerials)}, counted ${shown(entry)}, ${was(stock.quantity, stock.serials?.map((x) => x.serial) ?? null)} there at apply; the difference was applied (${after}), keeping the count would give ${roundQty(stock.quantity + netOf(keepCounted))}`,
      detail: {
        sessionId: s.id,
        lineNo: r.lineNo,
        itemId: r.itemId,
        positionId: r.positionId,
        lot: r.lot,
        expected: entry.expected,
        counted: entry.counted,
        stockBefore: stock.quantity,
        applied: choice,
        keepDelta: after,
        keepCounted: roundQty(stock.quantity + netOf(keepCounted)),
        text: conflictText('COUNT_RACED', {
          ...lineValues(view, s, r),
          expected: wasValue(entry.expected, entry.expectedSerials),
          counted: countValue(entry),
          there: wasValue(stock.quantity, stock.serials?.map((x) => x.serial) ?? null),
          applied: after,
          keep: roundQty(stock.quantity + netOf(keepCounted)),
        }),
      },
    });
  }
  return {
    events: [
      ...done.events,
      {
        type: 'CountRecordApplied',
        data: compact({
          sessionId: s.id,
          lineNo: r.lineNo,
          choice,
          raced,
          stockBefore: stock.quantity,
          serialsBefore: stock.serials ? [...stock.serials] : undefined,
          delta,
        }),
      },
    ],
    conflicts,
  };
};

const decideCountRace: Decider<'decideCountRace'> = (view, a, ctx) => {
  const s = needSession(view, a.sessionId);
  needStatus(s, 'counting', 'review', 'applying', 'applied');
  const r = needLine(view, s, a.lineNo);
  const label = lineLabel(view, s, r);
  if (r.race?.choice === a.choice)
    refuse('STALE_INTENT', `${label}: ${a.choice} is already decided`);
  let corrections: InventoryEvent[] = [];
  let conflicts: ConflictDraft[] = [];
  let correction = 0;
  if (r.applied !== null && r.applied.choice !== a.choice) {
    // Already applied the other way: correct stock by the difference between the two.
    const entry = effectiveCount(r) ?? refuse('COUNT_UNRESOLVED', `${label} has no agreed count`);
    const before = { quantity: r.applied.stockBefore, serials: r.applied.serialsBefore };
    const adjustments = correctionOf(r, entry, before, r.applied.choice, a.choice);
    const done = adjust(view, ctx, r, adjustments, `count ${s.code} line ${r.lineNo}: ${a.choice}`);
    if (!done.ok) return refuse(done.code, `${label}: ${done.message}`);
    corrections = done.events;
    conflicts = done.conflicts;
    correction = netOf(adjustments);
  }
  return {
    events: [
      ...corrections,
      {
        type: 'CountRaceDecided',
        data: compact({
          sessionId: s.id,
          lineNo: r.lineNo,
          choice: a.choice,
          decidedBy: ctx.actor.userId,
          correction,
          note: a.note || undefined,
        }),
      },
    ],
    conflicts,
  };
};

const skipCountRecord: Decider<'skipCountRecord'> = (view, a, ctx) => {
  const s = needSession(view, a.sessionId);
  needStatus(s, 'applying');
  const r = needLine(view, s, a.lineNo);
  const label = lineLabel(view, s, r);
  if (r.lineNo > s.planned) refuse('STALE_INTENT', `${label} is not in the approved plan`);
  if (r.applyState === 'applied' || r.applyState === 'skipped')
    refuse('STALE_INTENT', `${label} is already ${r.applyState}`);
  return only({
    type: 'CountRecordSkipped',
    data: { sessionId: s.id, lineNo: r.lineNo, skippedBy: ctx.actor.userId, note: a.note },
  });
};

const deciders: { readonly [N in CountingCommandName]: Decider<N> } = {
  planCountSession,
  assignCountSession,
  startCountSession,
  closeCountSession,
  cancelCountSession,
  startPositionCount,
  recordCount,
  confirmPositionEmpty,
  finishPositionCount,
  releasePositionCount,
  acceptCount,
  decideCountRace,
  approveCountSession,
  applyCountRecord,
  skipCountRecord,
};

/**
 * Decides a counting command (args already parsed) against current state: role, then the
 * command's rules. Pure; never throws for a business reason. Floor facts are decided in
 * `ctx.mode`; intents always strictly (they never look at the mode).
 */
export function decideCountingCommand(
  view: CountingDecideView,
  command: CountingCommand,
  ctx: CountingContext,
): CountingDecision {
  const required = COUNTING_ROLES[command.name];
  if (!roleAllows(ctx.actor.role, required)) {
    return reject(
      'FORBIDDEN',
      `${command.name} needs the ${required} role; you are ${ctx.actor.role}`,
    );
  }
  try {
    const decider: Decider<CountingCommandName> = deciders[command.name];
    const mode = COUNTING_FACTS.has(command.name) ? ctx.mode : 'strict';
    const d = decider(view, command.args, { ...ctx, mode });
    return { kind: 'accepted', events: d.events, conflicts: d.conflicts };
  } catch (e) {
    if (e instanceof Rejection) return reject(e.code, e.message);
    throw e;
  }
}
