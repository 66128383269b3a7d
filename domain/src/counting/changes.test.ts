import { describe, expect, it } from 'vitest';
import type { LoggedEvent } from '../projection.js';
import { asUserId } from '../shared/ids.js';
import { A, P, S } from '../testing/index.js';
import {
  applyFailedKey,
  countChangesOf,
  disagreementKey,
  raceKey,
  settledConflictKeys,
} from './changes.js';
import { asCountSessionId } from './commands.js';
import { countingViewOf, foldCounting } from './state.js';

const C1 = asCountSessionId('0192f0c8-0000-7000-8000-00000000c001');
const ana = asUserId('u-ana');

let n = 0;
const ev = (type: string, data: unknown): LoggedEvent => ({ id: `e${++n}`, type, data });
const plan = ev('CountSessionPlanned', {
  sessionId: C1,
  code: 'C-1',
  scope: { kind: 'positions', ids: [P] },
  mode: 'blind',
  recountAbove: null,
});
const start = ev('CountSessionStarted', { sessionId: C1 });

/**
 * The changes are the contract storage adapters implement (SQLite, the twin, ArangoDB): whole
 * records, computed from the state before the event, one session / line / position at a time.
 */
describe('countChangesOf', () => {
  it('plans a session: its header, and its scope once', () => {
    expect(countChangesOf(countingViewOf(foldCounting([])), plan)).toEqual([
      {
        op: 'putCountSession',
        session: expect.objectContaining({
          id: C1,
          code: 'C-1',
          scope: { kind: 'positions', size: 1 },
          status: 'planned',
          lines: 0,
        }),
      },
      { op: 'putCountScope', sessionId: C1, ids: [P] },
    ]);
  });

  it('a first count of a pair: a new line numbered after the others, its position, the counters', () => {
    const view = countingViewOf(foldCounting([plan, start]));
    const counted = ev('CountRecorded', {
      sessionId: C1,
      positionId: P,
      itemId: S,
      countedBy: ana,
      counted: 2,
      expected: 2,
      serials: ['s2', 's1'],
      expectedSerials: ['s1', 's3'],
    });
    const changes = countChangesOf(view, counted);
    expect(changes.map((c) => c.op)).toEqual([
      'putCountRecord',
      'putCountPosition',
      'putCountSession',
    ]);
    expect(changes[0]).toEqual({
      op: 'putCountRecord',
      record: {
        sessionId: C1,
        lineNo: 1,
        positionId: P,
        itemId: S,
        lot: null,
        serialized: true,
        counts: [
          {
            eventId: counted.id,
            countedBy: ana,
            counted: 2,
            expected: 2,
            serials: ['s1', 's2'],
            expectedSerials: ['s1', 's3'],
            superseded: false,
            late: false,
          },
        ],
        status: 'counted',
        recountExcept: null,
        accepted: null,
        reason: null,
        race: null,
        applyState: 'pending',
        applied: null,
        failure: null,
      },
    });
    expect(changes[1]).toEqual({
      op: 'putCountPosition',
      position: {
        sessionId: C1,
        positionId: P,
        open: [],
        counted: true,
        countedBy: [ana],
        empty: false,
      },
    });
    expect(changes[2]).toMatchObject({
      op: 'putCountSession',
      session: { lines: 1, positionsCounted: 1, variances: 1 },
    });
  });

  it('changes nothing for other events, unknown sessions, or a stale transition', () => {
    const view = countingViewOf(foldCounting([plan, start]));
    expect(
      countChangesOf(view, ev('StockReceived', { itemId: A, positionId: P, quantity: 1 })),
    ).toEqual([]);
    expect(countChangesOf(view, ev('CountSessionStarted', { sessionId: C1 }))).toEqual([]);
    expect(
      countChangesOf(
        view,
        ev('CountSessionStarted', {
          sessionId: asCountSessionId('0192f0c8-0000-7000-8000-0000000000ff'),
        }),
      ),
    ).toEqual([]);
  });
});

describe('settledConflictKeys', () => {
  it('names the conflicts an event settles', () => {
    const counted = ev('CountRecorded', {
      sessionId: C1,
      positionId: P,
      itemId: A,
      countedBy: ana,
      counted: 1,
      expected: 2,
    });
    const view = countingViewOf(foldCounting([plan, start, counted]));
    const keys = (type: string, data: Record<string, unknown>) =>
      settledConflictKeys(view, ev(type, { sessionId: C1, lineNo: 1, ...data }));
    expect(keys('CountAccepted', { countedBy: ana, acceptedBy: ana })).toEqual([
      disagreementKey(C1, { itemId: A, positionId: P, lot: null }),
    ]);
    expect(
      keys('CountRaceDecided', { choice: 'keep-delta', decidedBy: ana, correction: 0 }),
    ).toEqual([raceKey(C1, 1)]);
    expect(keys('CountRecordSkipped', { skippedBy: ana, note: 'x' })).toEqual([
      applyFailedKey(C1, 1),
    ]);
    expect(keys('CountSessionClosed', {})).toEqual([]);
    expect(disagreementKey(C1, { itemId: A, positionId: P, lot: null })).toBe(
      `count-disagreement/${C1}/${A}/${P}/`,
    );
  });
});
