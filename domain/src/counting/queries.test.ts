import { describe, expect, it } from 'vitest';
import type { LoggedEvent } from '../projection.js';
import { asUserId } from '../shared/ids.js';
import { A, P, Q } from '../testing/index.js';
import { asCountSessionId } from './commands.js';
import {
  applyCountMutations,
  countApplyProgress,
  countSessionsOf,
  openCountsOf,
  recountsFor,
} from './queries.js';
import type { CountSession } from './state.js';
import { foldCounting } from './state.js';

const id = (k: number) =>
  asCountSessionId(`0192f0c8-0000-7000-8000-${String(k).padStart(12, '0')}`);
const ana = asUserId('u-ana');
const ben = asUserId('u-ben');

let seq = 0;
const ev = (type: string, data: unknown): LoggedEvent => ({ id: `e${++seq}`, type, data });
const plan = (sessionId: ReturnType<typeof id>, code: string) =>
  ev('CountSessionPlanned', {
    sessionId,
    code,
    scope: { kind: 'positions', ids: [P, Q] },
    mode: 'blind',
    recountAbove: { quantity: 1, percent: null },
  });

describe('the apply job', () => {
  const session = { id: id(1), planned: 250, applied: 0, skipped: 0, failed: 0 } as CountSession;

  it('pages the plan as mutations of its own client: line k is mutation k', () => {
    expect(applyCountMutations(session, 1, 2)).toEqual([
      { id: 1, name: 'applyCountRecord', args: { sessionId: id(1), lineNo: 1 } },
      { id: 2, name: 'applyCountRecord', args: { sessionId: id(1), lineNo: 2 } },
    ]);
    expect(applyCountMutations(session, 201, 100).map((m) => m.id)).toEqual(
      Array.from({ length: 50 }, (_, i) => 201 + i),
    );
    expect(applyCountMutations(session, 251, 100)).toEqual([]);
    expect(applyCountMutations(session, 0, 1)[0]?.id).toBe(1);
  });

  it('reports progress; an empty plan is done', () => {
    expect(countApplyProgress({ ...session, applied: 120, failed: 3, skipped: 5 })).toEqual({
      planned: 250,
      applied: 120,
      failed: 3,
      skipped: 5,
      remaining: 125,
      percent: 50,
    });
    expect(countApplyProgress({ ...session, planned: 0 }).percent).toBe(100);
  });
});

describe('people', () => {
  const state = foldCounting([
    plan(id(1), 'C-2'),
    plan(id(2), 'C-1'),
    plan(id(3), 'C-3'),
    ev('CountSessionAssigned', { sessionId: id(1), userIds: [ana, ben] }),
    ev('CountSessionAssigned', { sessionId: id(2), userIds: [ana] }),
    ev('CountSessionAssigned', { sessionId: id(3), userIds: [ana] }),
    ev('CountSessionStarted', { sessionId: id(1) }),
    ev('CountSessionCancelled', { sessionId: id(3) }),
    ev('PositionCountStarted', { sessionId: id(1), positionId: P, countedBy: ana }),
    ev('PositionCountStarted', { sessionId: id(1), positionId: Q, countedBy: ben }),
    ev('PositionCountFinished', { sessionId: id(1), positionId: Q, countedBy: ben, empty: true }),
    ev('CountRecorded', {
      sessionId: id(1),
      positionId: P,
      itemId: A,
      countedBy: ana,
      counted: 3,
      expected: 9,
    }),
  ]);

  it('my sessions: assigned, with counting to do, by code', () => {
    expect(countSessionsOf(state, ana).map((s) => s.code)).toEqual(['C-1', 'C-2']);
    expect(countSessionsOf(state, ben).map((s) => s.code)).toEqual(['C-2']);
  });

  it('open position counts, and recounts someone else may do', () => {
    expect(openCountsOf(state, id(1))).toEqual([{ userId: ana, eventId: 'e9', positionId: P }]);
    expect(recountsFor(state, ben).map((r) => [r.lineNo, r.recountExcept])).toEqual([[1, ana]]);
    expect(recountsFor(state, ana)).toEqual([]);
  });
});
