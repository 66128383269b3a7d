import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LoggedEvent } from '../projection.js';
import type { Serial, UserId } from '../shared/ids.js';
import { asEventId, asSerial, asUserId } from '../shared/ids.js';
import { A, L, P, Q, R } from '../testing/index.js';
import { countChangesOf } from './changes.js';
import { asCountSessionId } from './commands.js';
import type { CountEntry, CountRecord, CountingState } from './state.js';
import {
  adjustmentsOf,
  correctionOf,
  countingStateOf,
  countingViewOf,
  evolveCounting,
  foldCounting,
  hasVariance,
  initialCountingState,
  isLargeVariance,
  linesOf,
  positionsOf,
  withCount,
} from './state.js';

const C1 = asCountSessionId('0192f0c8-0000-7000-8000-00000000c001');
const ana = asUserId('u-ana');
const ben = asUserId('u-ben');

/** Gives events ids `e1`, `e2`, … in order, as the log would. */
const logged = (...events: Omit<LoggedEvent, 'id'>[]): LoggedEvent[] =>
  events.map((e, i) => ({ ...e, id: `e${i + 1}` }));

const planned = (
  recountAbove: { quantity: number | null; percent: number | null } | null = null,
) => ({
  type: 'CountSessionPlanned',
  data: {
    sessionId: C1,
    code: 'C-1',
    scope: { kind: 'positions', ids: [P, Q, R] },
    mode: 'blind',
    recountAbove,
  },
});
const started = { type: 'CountSessionStarted', data: { sessionId: C1 } };
const closed = { type: 'CountSessionClosed', data: { sessionId: C1 } };
const recorded = (countedBy: UserId, positionId: string, counted: number, expected: number) => ({
  type: 'CountRecorded',
  data: { sessionId: C1, positionId, itemId: A, countedBy, counted, expected },
});
const approved = (planned: number) => ({
  type: 'CountSessionApproved',
  data: { sessionId: C1, approvedBy: ben, planned, reason: 'lost', reasons: [] },
});
const applied = (lineNo: number) => ({
  type: 'CountRecordApplied',
  data: { sessionId: C1, lineNo, choice: 'keep-delta', raced: true, stockBefore: 9, delta: -1 },
});
const raceDecided = (lineNo: number, correction: number) => ({
  type: 'CountRaceDecided',
  data: { sessionId: C1, lineNo, choice: 'keep-counted', decidedBy: ben, correction },
});

describe('evolveCounting', () => {
  it('is pure: the state it is given is left as it was', () => {
    const [plan, count] = logged(planned(), recorded(ana, P, 8, 10));
    const before = evolveCounting(initialCountingState(), plan as LoggedEvent);
    const snapshot = structuredClone(before);
    const after = evolveCounting(before, count as LoggedEvent);
    expect(before).toEqual(snapshot);
    expect(countingViewOf(after).countRecord(C1, 1)?.counts[0]?.counted).toBe(8);
  });

  it('returns the same state for events that concern no session', () => {
    const state = foldCounting(logged(planned(), started));
    const other = asCountSessionId('0192f0c8-0000-7000-8000-00000000ffff');
    for (const event of [
      { id: 'x1', type: 'StockReceived', data: { itemId: A, positionId: P, quantity: 1 } },
      { id: 'x2', type: 'MutationRejected', data: {} },
      {
        id: 'x3',
        ...recorded(ana, P, 1, 1),
        data: { ...recorded(ana, P, 1, 1).data, sessionId: other },
      },
      { id: 'x4', ...applied(7) },
      {
        id: 'x5',
        type: 'CountAccepted',
        data: { sessionId: C1, lineNo: 1, countedBy: ana, acceptedBy: ben },
      },
      {
        id: 'x6',
        type: 'PositionCountReleased',
        data: { sessionId: C1, positionId: P, userId: ana, releasedBy: ben },
      },
      { id: 'x7', ...started },
    ]) {
      expect(evolveCounting(state, event)).toBe(state);
    }
  });

  it('shares the records an event did not touch', () => {
    const state = foldCounting(
      logged(planned(), started, recorded(ana, P, 1, 1), recorded(ana, Q, 1, 1)),
    );
    const next = evolveCounting(state, { id: 'e9', ...recorded(ben, Q, 2, 1) });
    expect(next.records.get(`${C1}\u00001`)).toBe(state.records.get(`${C1}\u00001`));
    expect(next.scopes).toBe(state.scopes);
  });

  it('folds a session from plan to apply, and a duplicate of its last event changes nothing', () => {
    const events = logged(
      planned(),
      started,
      { type: 'PositionCountStarted', data: { sessionId: C1, positionId: P, countedBy: ana } },
      recorded(ana, P, 9, 10),
      recorded(ben, Q, 3, 3),
      {
        type: 'PositionCountFinished',
        data: { sessionId: C1, positionId: P, countedBy: ana, empty: false },
      },
      closed,
      approved(2),
      applied(1),
      raceDecided(1, 1),
    );
    const once = foldCounting(events);
    expect(evolveCounting(once, events.at(-1)!)).toBe(once);
    expect(countingViewOf(once).countRecord(C1, 1)?.applied).toMatchObject({ delta: 0 });
    expect(once.sessions.get(C1)).toMatchObject({ status: 'applying', applied: 1, lines: 2 });
  });

  it('keeps the first session of an id and of a code (the deciders refuse the others)', () => {
    const state = foldCounting(
      logged(planned(), { ...planned(), data: { ...planned().data, mode: 'open' } }),
    );
    expect(state.sessions.get(C1)?.mode).toBe('blind');
  });

  it('records a count that arrives after approval as late: the line does not change', () => {
    const state = foldCounting(
      logged(
        planned(),
        started,
        recorded(ana, P, 9, 10),
        closed,
        approved(1),
        recorded(ben, P, 4, 10),
      ),
    );
    const line = countingViewOf(state).countRecord(C1, 1);
    expect(line?.counts.map((c) => [c.countedBy, c.counted, c.late])).toEqual([
      [ana, 9, false],
      [ben, 4, true],
    ]);
    expect(line?.status).toBe('counted');
  });
});

// ─── Rules ──────────────────────────────────────────────────────────────────────────────────

const entry = (
  countedBy: UserId,
  counted: number,
  expected: number,
  serials?: { found: string[]; expected: string[] },
): CountEntry => ({
  eventId: asEventId(`e-${countedBy}-${counted}`),
  countedBy,
  counted,
  expected,
  serials: serials ? serials.found.map(asSerial) : null,
  expectedSerials: serials ? serials.expected.map(asSerial) : null,
  superseded: false,
  late: false,
});

describe('variance thresholds', () => {
  it('by quantity and by percent of what was expected (strictly above)', () => {
    expect(isLargeVariance(entry(ana, 7, 10), { quantity: 3, percent: null })).toBe(false);
    expect(isLargeVariance(entry(ana, 6, 10), { quantity: 3, percent: null })).toBe(true);
    expect(isLargeVariance(entry(ana, 9, 10), { quantity: null, percent: 10 })).toBe(false);
    expect(isLargeVariance(entry(ana, 8.9, 10), { quantity: null, percent: 10 })).toBe(true);
    // Found where nothing was expected: any percentage is exceeded.
    expect(isLargeVariance(entry(ana, 1, 0), { quantity: null, percent: 50 })).toBe(true);
    expect(isLargeVariance(entry(ana, 10, 10), { quantity: 0, percent: 0 })).toBe(false);
    expect(isLargeVariance(entry(ana, 0, 10), null)).toBe(false);
  });

  it('of serials: every serial missing or found counts', () => {
    const e = entry(ana, 3, 3, { found: ['s2', 's3', 's4'], expected: ['s1', 's2', 's3'] });
    expect(isLargeVariance(e, { quantity: 1, percent: null })).toBe(true);
    expect(isLargeVariance(e, { quantity: 2, percent: null })).toBe(false);
  });
});

const blank: CountRecord = {
  sessionId: C1,
  lineNo: 1,
  positionId: P,
  itemId: A,
  lot: null,
  serialized: false,
  counts: [],
  status: 'counted',
  recountExcept: null,
  accepted: null,
  reason: null,
  race: null,
  applyState: 'pending',
  applied: null,
  failure: null,
};

describe('withCount', () => {
  it('supersedes the same person’s count and keeps the order of arrival', () => {
    let r = withCount(blank, entry(ana, 8, 10), false, null);
    r = withCount(r, entry(ben, 9, 10), false, null);
    expect(r.status).toBe('disagreement');
    r = withCount(r, entry(ana, 9, 10), false, null);
    expect(r.counts.map((c) => [c.countedBy, c.counted, c.superseded])).toEqual([
      [ana, 8, true],
      [ben, 9, false],
      [ana, 9, false],
    ]);
    expect(r.status).toBe('counted');
    expect(hasVariance(r)).toBe(true);
  });
});

describe('adjustments', () => {
  const serialLine = { ...blank, serialized: true };
  const e = entry(ana, 3, 3, { found: ['s2', 's3', 's4'], expected: ['s1', 's2', 's3'] });
  const at = (...serials: string[]) => ({
    quantity: serials.length,
    serials: serials.map((s) => ({ serial: s as Serial, lot: null })),
  });

  it('keep-delta applies what the count saw; keep-counted sets the pair to the count', () => {
    expect(adjustmentsOf(serialLine, e, at('s2', 's3'), 'keep-delta')).toEqual([
      { delta: -1, lot: null, serial: 's1' },
      { delta: 1, lot: null, serial: 's4' },
    ]);
    expect(adjustmentsOf(serialLine, e, at('s2', 's3', 's5'), 'keep-counted')).toEqual([
      { delta: -1, lot: null, serial: 's5' },
      { delta: 1, lot: null, serial: 's4' },
    ]);
    const q = entry(ana, 95, 100);
    expect(adjustmentsOf(blank, q, { quantity: 90, serials: null }, 'keep-delta')).toEqual([
      { delta: -5, lot: null, serial: null },
    ]);
    expect(adjustmentsOf(blank, q, { quantity: 95, serials: null }, 'keep-counted')).toEqual([]);
  });

  it('a change of mind corrects by the difference of the two choices', () => {
    const q = entry(ana, 95, 100);
    const before = { quantity: 90, serials: null };
    expect(correctionOf(blank, q, before, 'keep-delta', 'keep-counted')).toEqual([
      { delta: 10, lot: null, serial: null },
    ]);
    expect(correctionOf(blank, q, before, 'keep-counted', 'keep-delta')).toEqual([
      { delta: -10, lot: null, serial: null },
    ]);
    // s1 left before the apply: keep-delta took it off again (−1); keep-counted gives it back.
    expect(correctionOf(serialLine, e, at('s2', 's3'), 'keep-delta', 'keep-counted')).toEqual([
      { delta: 1, lot: null, serial: 's1' },
    ]);
  });
});

// ─── Properties ─────────────────────────────────────────────────────────────────────────────

type Step =
  | {
      readonly kind: 'count';
      readonly user: number;
      readonly pos: number;
      readonly counted: number;
    }
  | { readonly kind: 'accept'; readonly line: number; readonly user: number }
  | { readonly kind: 'start' | 'finish' | 'release'; readonly user: number; readonly pos: number }
  | { readonly kind: 'close' | 'approve' }
  | { readonly kind: 'apply' | 'fail' | 'skip'; readonly line: number };

const USERS = [ana, ben, asUserId('u-cat')];
const POSITIONS = [P, Q, R, L as string];

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('count' as const),
      user: fc.nat(2),
      pos: fc.nat(3),
      counted: fc.constantFrom(0, 7, 8, 10, 2.5),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('accept' as const),
      line: fc.integer({ min: 1, max: 5 }),
      user: fc.nat(2),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constantFrom('start' as const, 'finish' as const, 'release' as const),
      user: fc.nat(2),
      pos: fc.nat(3),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constantFrom('close' as const, 'approve' as const) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constantFrom('apply' as const, 'fail' as const, 'skip' as const),
      line: fc.integer({ min: 1, max: 5 }),
    }),
  },
);

/** A log of one session; transitions and references may be out of place (the fold must cope). */
function logOf(steps: readonly Step[], threshold: number | null): LoggedEvent[] {
  const events: Omit<LoggedEvent, 'id'>[] = [
    planned(threshold === null ? null : { quantity: threshold, percent: null }),
    started,
  ];
  const counted = new Set<number>(); // lines are pairs: here one per position (item A only)
  for (const s of steps) {
    const lines = counted.size;
    switch (s.kind) {
      case 'count':
        events.push(recorded(USERS[s.user]!, POSITIONS[s.pos]!, s.counted, 10));
        counted.add(s.pos);
        break;
      case 'accept':
        events.push({
          type: 'CountAccepted',
          data: { sessionId: C1, lineNo: s.line, countedBy: USERS[s.user], acceptedBy: ben },
        });
        break;
      case 'start':
        events.push({
          type: 'PositionCountStarted',
          data: { sessionId: C1, positionId: POSITIONS[s.pos], countedBy: USERS[s.user] },
        });
        break;
      case 'finish':
        events.push({
          type: 'PositionCountFinished',
          data: {
            sessionId: C1,
            positionId: POSITIONS[s.pos],
            countedBy: USERS[s.user],
            empty: false,
          },
        });
        break;
      case 'release':
        events.push({
          type: 'PositionCountReleased',
          data: {
            sessionId: C1,
            positionId: POSITIONS[s.pos],
            userId: USERS[s.user],
            releasedBy: ben,
          },
        });
        break;
      case 'close':
        events.push(closed);
        break;
      case 'approve':
        events.push(approved(Math.min(lines, 4)));
        break;
      case 'apply':
        events.push(applied(s.line));
        break;
      case 'fail':
        events.push({
          type: 'CountRecordFailed',
          data: { sessionId: C1, lineNo: s.line, code: 'POSITION_RETIRED', message: 'retired' },
        });
        break;
      case 'skip':
        events.push({
          type: 'CountRecordSkipped',
          data: { sessionId: C1, lineNo: s.line, skippedBy: ben, note: 'n' },
        });
        break;
      default: {
        const unreachable: never = s;
        return unreachable;
      }
    }
  }
  return logged(...events);
}

/** The counters a session should have, recounted from its lines and positions. */
function recount(state: CountingState) {
  const lines = linesOf(state, C1);
  const positions = positionsOf(state, C1);
  const n = (f: (r: CountRecord) => boolean) => lines.filter(f).length;
  return {
    lines: lines.length,
    disagreements: n((r) => r.status === 'disagreement'),
    recounts: n((r) => r.status === 'recount'),
    variances: n(hasVariance),
    applied: n((r) => r.applyState === 'applied'),
    failed: n((r) => r.applyState === 'failed'),
    skipped: n((r) => r.applyState === 'skipped'),
    raced: n((r) => r.applied?.raced === true),
    openCounts: positions.reduce((sum, p) => sum + p.open.length, 0),
    positionsCounted: positions.filter((p) => p.counted).length,
  };
}

describe('properties', () => {
  const logs = fc
    .tuple(fc.array(step, { maxLength: 40 }), fc.option(fc.constantFrom(0, 2), { nil: null }))
    .map(([steps, threshold]) => logOf(steps, threshold));

  it('the session’s counters always equal what its lines and positions say', () => {
    fc.assert(
      fc.property(logs, (events) => {
        const state = foldCounting(events);
        expect(state.sessions.get(C1)).toMatchObject(recount(state));
      }),
      { numRuns: 300 },
    );
  });

  it('foldCounting equals evolveCounting event by event', () => {
    fc.assert(
      fc.property(logs, (events) => {
        const folded = foldCounting(events);
        const evolved = events.reduce(evolveCounting, initialCountingState());
        expect(folded).toEqual(evolved);
      }),
      { numRuns: 200 },
    );
  });

  it('an event delivered twice in a row changes nothing the second time', () => {
    fc.assert(
      fc.property(logs, (events) => {
        let state = initialCountingState();
        for (const e of events) {
          state = evolveCounting(state, e);
          expect(evolveCounting(state, e)).toEqual(state);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('countChangesOf only ever writes the session the event names', () => {
    fc.assert(
      fc.property(logs, (events) => {
        let state = initialCountingState();
        for (const e of events) {
          for (const c of countChangesOf(countingViewOf(state), e)) {
            const sessionId =
              c.op === 'putCountSession'
                ? c.session.id
                : c.op === 'putCountRecord'
                  ? c.record.sessionId
                  : c.op === 'putCountPosition'
                    ? c.position.sessionId
                    : c.sessionId;
            expect(sessionId).toBe(C1);
          }
          state = evolveCounting(state, e);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('countingStateOf rebuilds the folded state from its records (a snapshot, one session’s rows)', () => {
    fc.assert(
      fc.property(logs, (events) => {
        const folded = foldCounting(events);
        const rebuilt = countingStateOf(
          [...folded.sessions.values()].map((s) => ({
            ...s,
            scopeIds: [...(folded.scopes.get(s.id) ?? [])],
          })),
          folded.records.values(),
          folded.positions.values(),
        );
        expect(rebuilt).toEqual(folded);
      }),
      { numRuns: 100 },
    );
  });
});
