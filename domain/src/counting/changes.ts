import type { EventId, ItemId, Lot, PositionId, UserId } from '../shared/ids.js';
import { asEventId } from '../shared/ids.js';
import { roundQty } from '../shared/quantity.js';
import type { CountSessionId } from './commands.js';
import type { CountingEvent } from './events.js';
import { isCountingEvent } from './events.js';
import type { CountEntry, CountPosition, CountRecord, CountSession } from './state.js';
import {
  currentCounts,
  hasVariance,
  isFrozen,
  recordStatus,
  sortSerials,
  withCount,
} from './state.js';

/**
 * What an event does to counting sessions, as primitive whole-record changes — the counting
 * counterpart of the inventory's `changesOf` and the lists' `listChangesOf`. The in-memory
 * fold (`evolveCounting`, `foldCounting`) and every storage adapter apply exactly these, so
 * the rule is written once. Records are computed from the state before the event, read one
 * at a time through the view: a session's header, one line, one position.
 */

/**
 * What computing the changes (and deciding a counting command) reads. Every answer is one
 * record or one membership test, so storage answers each with one indexed lookup:
 * sessions by id and by code, scope members by (session, id), lines by (session, lineNo) and
 * by (session, item, position, lot), positions by (session, position).
 */
export interface CountingReadView {
  countSession(id: CountSessionId): CountSession | undefined;
  /** Codes are unique across sessions. */
  countSessionByCode(code: string): CountSession | undefined;
  /** Is this position (positions scope) or item (items scope) in the session's scope? */
  inCountScope(sessionId: CountSessionId, id: string): boolean;
  countRecord(sessionId: CountSessionId, lineNo: number): CountRecord | undefined;
  countRecordOfPair(
    sessionId: CountSessionId,
    itemId: ItemId,
    positionId: PositionId,
    lot: Lot | null,
  ): CountRecord | undefined;
  countPosition(sessionId: CountSessionId, positionId: PositionId): CountPosition | undefined;
}

export type CountChange =
  | { readonly op: 'putCountSession'; readonly session: CountSession }
  /** Written once, when the session is planned: the scope never changes. */
  | {
      readonly op: 'putCountScope';
      readonly sessionId: CountSessionId;
      readonly ids: readonly string[];
    }
  | { readonly op: 'putCountRecord'; readonly record: CountRecord }
  | { readonly op: 'putCountPosition'; readonly position: CountPosition };

/** Any event of the log, as stored. Events that concern no session change nothing. */
export interface LoggedCountEvent {
  readonly id: string;
  readonly type: string;
  readonly data: unknown;
}

// ─── Counters ───────────────────────────────────────────────────────────────────────────────

type Tally = Pick<
  CountSession,
  'disagreements' | 'recounts' | 'variances' | 'applied' | 'failed' | 'skipped' | 'raced'
>;

const one = (b: boolean) => (b ? 1 : 0);

const tallyOf = (r: CountRecord | undefined): Tally => ({
  disagreements: one(r?.status === 'disagreement'),
  recounts: one(r?.status === 'recount'),
  variances: one(r !== undefined && hasVariance(r)),
  applied: one(r?.applyState === 'applied'),
  failed: one(r?.applyState === 'failed'),
  skipped: one(r?.applyState === 'skipped'),
  raced: one(r?.applied?.raced === true),
});

/** The session once one of its lines went from `before` to `after`: counters, and completion. */
function withLine(
  session: CountSession,
  before: CountRecord | undefined,
  after: CountRecord,
): CountSession {
  const b = tallyOf(before);
  const a = tallyOf(after);
  const next: CountSession = {
    ...session,
    lines: Math.max(session.lines, after.lineNo),
    disagreements: session.disagreements - b.disagreements + a.disagreements,
    recounts: session.recounts - b.recounts + a.recounts,
    variances: session.variances - b.variances + a.variances,
    applied: session.applied - b.applied + a.applied,
    failed: session.failed - b.failed + a.failed,
    skipped: session.skipped - b.skipped + a.skipped,
    raced: session.raced - b.raced + a.raced,
  };
  return completed(next);
}

/** An applying session is applied once every planned line is applied or skipped. */
const completed = (s: CountSession): CountSession =>
  s.status === 'applying' && s.applied + s.skipped >= s.planned ? { ...s, status: 'applied' } : s;

/** The session once one of its positions went from `before` to `after`. */
const withPosition = (
  session: CountSession,
  before: CountPosition | undefined,
  after: CountPosition,
): CountSession => ({
  ...session,
  openCounts: session.openCounts - (before?.open.length ?? 0) + after.open.length,
  positionsCounted: session.positionsCounted - one(before?.counted === true) + one(after.counted),
});

const blankPosition = (sessionId: CountSessionId, positionId: PositionId): CountPosition => ({
  sessionId,
  positionId,
  open: [],
  counted: false,
  countedBy: [],
  empty: false,
});

const withUser = (users: readonly UserId[], u: UserId) =>
  users.includes(u) ? users : [...users, u];

/** A session's line and position changes, with the session's counters kept in step. */
const lineChanges = (
  session: CountSession,
  before: CountRecord | undefined,
  after: CountRecord,
): CountChange[] => [
  { op: 'putCountRecord', record: after },
  { op: 'putCountSession', session: withLine(session, before, after) },
];

// ─── The changes ────────────────────────────────────────────────────────────────────────────

/** The entry a `CountRecorded` event adds to its line. */
export function entryOfEvent(id: EventId, d: CountingEventDataOf<'CountRecorded'>): CountEntry {
  return {
    eventId: id,
    countedBy: d.countedBy,
    counted: d.counted,
    expected: d.expected,
    serials: d.serials ? sortSerials(d.serials) : null,
    expectedSerials: d.expectedSerials ? sortSerials(d.expectedSerials) : null,
    superseded: false,
    late: false,
  };
}

type CountingEventDataOf<T extends CountingEvent['type']> = Extract<
  CountingEvent,
  { type: T }
>['data'];

/** A new, empty line for a pair (its first count follows). */
export const newRecord = (
  session: CountSession,
  d: { readonly itemId: ItemId; readonly positionId: PositionId; readonly lot?: Lot | undefined },
  serialized: boolean,
): CountRecord => ({
  sessionId: session.id,
  lineNo: session.lines + 1,
  positionId: d.positionId,
  itemId: d.itemId,
  lot: d.lot ?? null,
  serialized,
  counts: [],
  status: 'counted',
  recountExcept: null,
  accepted: null,
  reason: null,
  race: null,
  applyState: 'pending',
  applied: null,
  failure: null,
});

/**
 * The changes `event` makes to counting sessions, given the state before it. The log is
 * trusted (deciders are the gate): an unknown session or line, a duplicate plan, or an event
 * folded twice changes nothing, so a replay never throws.
 */
export function countChangesOf(view: CountingReadView, event: LoggedCountEvent): CountChange[] {
  if (!isCountingEvent(event)) return [];
  const id = asEventId(event.id);
  const e = event as CountingEvent;
  const session = view.countSession(e.data.sessionId);
  if (e.type === 'CountSessionPlanned') {
    const d = e.data;
    if (session || view.countSessionByCode(d.code)) return [];
    return [
      {
        op: 'putCountSession',
        session: {
          id: d.sessionId,
          code: d.code,
          scope: { kind: d.scope.kind, size: d.scope.ids.length },
          mode: d.mode,
          recountAbove: d.recountAbove,
          note: d.note ?? null,
          status: 'planned',
          assignees: [],
          approvedBy: null,
          reason: null,
          approvalNote: null,
          cancelNote: null,
          lines: 0,
          positionsCounted: 0,
          openCounts: 0,
          disagreements: 0,
          recounts: 0,
          variances: 0,
          planned: 0,
          applied: 0,
          failed: 0,
          skipped: 0,
          raced: 0,
        },
      },
      { op: 'putCountScope', sessionId: d.sessionId, ids: d.scope.ids },
    ];
  }
  if (!session) return [];
  const put = (next: CountSession): CountChange[] =>
    next === session ? [] : [{ op: 'putCountSession', session: next }];

  switch (e.type) {
    case 'CountSessionAssigned':
      return put({ ...session, assignees: e.data.userIds });
    case 'CountSessionStarted':
      return put(session.status === 'planned' ? { ...session, status: 'counting' } : session);
    case 'CountSessionClosed':
      return put(session.status === 'counting' ? { ...session, status: 'review' } : session);
    case 'CountSessionCancelled':
      return put(
        isFrozen(session.status)
          ? session
          : { ...session, status: 'cancelled', cancelNote: e.data.note ?? null },
      );
    case 'CountSessionApproved': {
      const d = e.data;
      if (session.status !== 'review') return [];
      const out: CountChange[] = [];
      for (const r of d.reasons) {
        const record = view.countRecord(session.id, r.lineNo);
        if (record) out.push({ op: 'putCountRecord', record: { ...record, reason: r.reason } });
      }
      out.push({
        op: 'putCountSession',
        session: completed({
          ...session,
          status: 'applying',
          planned: d.planned,
          approvedBy: d.approvedBy,
          reason: d.reason ?? null,
          approvalNote: d.note ?? null,
        }),
      });
      return out;
    }
    case 'PositionCountStarted': {
      const d = e.data;
      const before = view.countPosition(session.id, d.positionId);
      const p = before ?? blankPosition(session.id, d.positionId);
      if (p.open.some((o) => o.userId === d.countedBy)) return [];
      const after = { ...p, open: [...p.open, { userId: d.countedBy, eventId: id }] };
      return [
        { op: 'putCountPosition', position: after },
        { op: 'putCountSession', session: withPosition(session, before, after) },
      ];
    }
    case 'PositionCountFinished': {
      const d = e.data;
      const before = view.countPosition(session.id, d.positionId);
      const p = before ?? blankPosition(session.id, d.positionId);
      const after: CountPosition = {
        ...p,
        open: p.open.filter((o) => o.userId !== d.countedBy),
        counted: true,
        countedBy: withUser(p.countedBy, d.countedBy),
        empty: d.empty,
      };
      return [
        { op: 'putCountPosition', position: after },
        { op: 'putCountSession', session: withPosition(session, before, after) },
      ];
    }
    case 'PositionCountReleased': {
      const d = e.data;
      const before = view.countPosition(session.id, d.positionId);
      if (!before?.open.some((o) => o.userId === d.userId)) return [];
      const after = { ...before, open: before.open.filter((o) => o.userId !== d.userId) };
      return [
        { op: 'putCountPosition', position: after },
        { op: 'putCountSession', session: withPosition(session, before, after) },
      ];
    }
    case 'CountRecorded': {
      const d = e.data;
      const lot = d.serials !== undefined ? null : (d.lot ?? null);
      const before = view.countRecordOfPair(session.id, d.itemId, d.positionId, lot);
      if (before?.counts.some((c) => c.eventId === id)) return [];
      const base =
        before ?? newRecord(session, { ...d, lot: lot ?? undefined }, d.serials !== undefined);
      const after = withCount(
        base,
        entryOfEvent(id, d),
        isFrozen(session.status),
        session.recountAbove,
      );
      let next = withLine(session, before, after);
      const out: CountChange[] = [{ op: 'putCountRecord', record: after }];
      const pBefore = view.countPosition(session.id, d.positionId);
      const p = pBefore ?? blankPosition(session.id, d.positionId);
      if (!p.counted || !p.countedBy.includes(d.countedBy)) {
        const pAfter = { ...p, counted: true, countedBy: withUser(p.countedBy, d.countedBy) };
        out.push({ op: 'putCountPosition', position: pAfter });
        next = withPosition(next, pBefore, pAfter);
      }
      out.push({ op: 'putCountSession', session: next });
      return out;
    }
    case 'CountAccepted': {
      const d = e.data;
      const before = view.countRecord(session.id, d.lineNo);
      const entry = before && currentCounts(before).find((c) => c.countedBy === d.countedBy);
      if (!before || !entry || before.accepted?.acceptedIn === id) return [];
      const accepted = { ...entry, acceptedBy: d.acceptedBy, acceptedIn: id };
      const after = { ...before, accepted, status: recordStatus({ ...before, accepted }) };
      return lineChanges(session, before, after);
    }
    case 'CountRaceDecided': {
      const d = e.data;
      const before = view.countRecord(session.id, d.lineNo);
      if (!before || before.race?.eventId === id) return [];
      const after: CountRecord = {
        ...before,
        race: { choice: d.choice, decidedBy: d.decidedBy, eventId: id },
        applied: before.applied && {
          ...before.applied,
          choice: d.choice,
          delta: roundQty(before.applied.delta + d.correction),
        },
      };
      return lineChanges(session, before, after);
    }
    case 'CountRecordApplied': {
      const d = e.data;
      const before = view.countRecord(session.id, d.lineNo);
      if (!before || before.applyState === 'applied') return [];
      const after: CountRecord = {
        ...before,
        applyState: 'applied',
        failure: null,
        applied: {
          choice: d.choice,
          raced: d.raced,
          stockBefore: d.stockBefore,
          serialsBefore: d.serialsBefore ?? null,
          delta: d.delta,
        },
      };
      return lineChanges(session, before, after);
    }
    case 'CountRecordFailed': {
      const d = e.data;
      const before = view.countRecord(session.id, d.lineNo);
      if (!before || before.applyState === 'applied' || before.applyState === 'skipped') return [];
      const after: CountRecord = {
        ...before,
        applyState: 'failed',
        failure: { code: d.code, message: d.message },
      };
      return lineChanges(session, before, after);
    }
    case 'CountRecordSkipped': {
      const before = view.countRecord(session.id, e.data.lineNo);
      if (!before || before.applyState === 'applied' || before.applyState === 'skipped') return [];
      return lineChanges(session, before, { ...before, applyState: 'skipped' });
    }
    default: {
      const unreachable: never = e;
      return unreachable;
    }
  }
}

// ─── Conflicts ──────────────────────────────────────────────────────────────────────────────

/** Conflict keys (see `ConflictDraft.key`): one open conflict per line and kind. */
export const disagreementKey = (
  sessionId: CountSessionId,
  r: { readonly itemId: ItemId; readonly positionId: PositionId; readonly lot: Lot | null },
) => `count-disagreement/${sessionId}/${r.itemId}/${r.positionId}/${r.lot ?? ''}`;
export const raceKey = (sessionId: CountSessionId, lineNo: number) =>
  `count-raced-movement/${sessionId}/${lineNo}`;
export const applyFailedKey = (sessionId: CountSessionId, lineNo: number) =>
  `count-apply-failed/${sessionId}/${lineNo}`;

/**
 * The open conflicts an event settles, by key: accepting a count ends the line's
 * disagreement, a race decision its race, an apply or a skip an earlier failure. For the
 * replay, which resolves them in the same transaction (computed, like the changes, from the
 * state before the event).
 */
export function settledConflictKeys(view: CountingReadView, event: LoggedCountEvent): string[] {
  if (!isCountingEvent(event)) return [];
  const e = event as CountingEvent;
  switch (e.type) {
    case 'CountAccepted': {
      const r = view.countRecord(e.data.sessionId, e.data.lineNo);
      return r ? [disagreementKey(r.sessionId, r)] : [];
    }
    case 'CountRaceDecided':
      return [raceKey(e.data.sessionId, e.data.lineNo)];
    case 'CountRecordApplied':
    case 'CountRecordSkipped':
      return [applyFailedKey(e.data.sessionId, e.data.lineNo)];
    default:
      return [];
  }
}
