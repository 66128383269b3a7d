import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LoggedEvent } from '../projection.js';
import { roundQty } from '../shared/quantity.js';
import { A, L, P, Q, R } from '../testing/index.js';
import type { ListId } from './commands.js';
import { asListId } from './commands.js';
import type { ListsState } from './state.js';
import {
  evolveLists,
  foldLists,
  initialListsState,
  lineStatus,
  listStatus,
  listsStateOf,
  listsViewOf,
} from './state.js';

const LIST = asListId('0192f0c8-0000-7000-8000-000000000001');

/** Gives events ids `e1`, `e2`, … in order, as the log would. */
const logged = (...events: Omit<LoggedEvent, 'id'>[]): LoggedEvent[] =>
  events.map((e, i) => ({ ...e, id: `e${i + 1}` }));

const created = (
  lines: { lineNo: number; quantity: number; itemId?: string }[],
  listId: ListId = LIST,
) => ({
  type: 'ListCreated',
  data: {
    listId,
    type: 'receipt',
    code: 'R-1',
    references: [],
    lines: lines.map((l) => ({ itemId: A, suggestedPositionId: P, ...l })),
  },
});
const receivedOn = (lineNo: number, quantity: number, positionId = P, listId: string = LIST) => ({
  type: 'StockReceived',
  data: { itemId: A, positionId, quantity, listId, lineNo },
});
const reversed = (movementId: string, quantity: number) => ({
  type: 'MovementReversed',
  data: { movementId, itemId: A, from: P, to: '@outside', quantity },
});
const closed = { type: 'ListClosed', data: { listId: LIST } };

describe('evolveLists', () => {
  it('is pure: the state it is given is left as it was', () => {
    const [create, scan] = logged(created([{ lineNo: 1, quantity: 10 }]), receivedOn(1, 4));
    const before = evolveLists(initialListsState(), create as LoggedEvent);
    const snapshot = structuredClone(before);
    const after = evolveLists(before, scan as LoggedEvent);
    expect(before).toEqual(snapshot);
    expect(after.lists.get(LIST)?.lines[0]?.confirmed).toBe(4);
  });

  it('returns the same state for events that concern no list', () => {
    const state = foldLists(logged(created([{ lineNo: 1, quantity: 10 }])));
    for (const event of [
      { id: 'x1', type: 'StockReceived', data: { itemId: A, positionId: P, quantity: 1 } },
      { id: 'x2', type: 'MutationRejected', data: {} },
      { id: 'x3', type: 'ItemDefined', data: {} },
      { id: 'x4', ...receivedOn(1, 1, P, asListId('0192f0c8-0000-7000-8000-00000000ffff')) },
      { id: 'x5', ...receivedOn(7, 1) },
      { id: 'x6', ...reversed('unknown-movement', 1) },
    ]) {
      expect(evolveLists(state, event)).toBe(state);
    }
  });

  it('shares the lists and lines an event did not touch', () => {
    const other = asListId('0192f0c8-0000-7000-8000-000000000002');
    const state = foldLists(
      logged(
        created([
          { lineNo: 1, quantity: 1 },
          { lineNo: 2, quantity: 1 },
        ]),
        {
          ...created([{ lineNo: 1, quantity: 1 }], other),
          data: { ...created([{ lineNo: 1, quantity: 1 }], other).data, code: 'R-2' },
        },
      ),
    );
    const next = evolveLists(state, { id: 'e9', ...receivedOn(1, 1) });
    expect(next.lists.get(other)).toBe(state.lists.get(other));
    expect(next.lists.get(LIST)?.lines[1]).toBe(state.lists.get(LIST)?.lines[1]);
    expect(next.codes).toBe(state.codes);
  });

  it('folding the same event twice counts it once', () => {
    const events = logged(
      created([{ lineNo: 1, quantity: 10 }]),
      receivedOn(1, 4),
      reversed('e2', 1),
    );
    const once = foldLists(events);
    expect(foldLists(events, once)).toEqual(once);
    expect(once.lists.get(LIST)?.lines[0]?.confirmed).toBe(3);
  });

  it('keeps the first list of a code and of an id (the deciders refuse the others)', () => {
    const first = created([{ lineNo: 1, quantity: 1 }]);
    const state = foldLists(logged(first, created([{ lineNo: 1, quantity: 99 }])));
    expect(state.lists.get(LIST)?.lines[0]?.planned).toBe(1);
  });

  it('sorts lines by number whatever order the document gave', () => {
    const state = foldLists(
      logged(
        created([
          { lineNo: 30, quantity: 1 },
          { lineNo: 2, quantity: 1 },
          { lineNo: 10, quantity: 1 },
        ]),
      ),
    );
    expect(state.lists.get(LIST)?.lines.map((l) => l.lineNo)).toEqual([2, 10, 30]);
    expect(listsViewOf(state).line(LIST, 10)?.lineNo).toBe(10);
    expect(listsViewOf(state).line(LIST, 11)).toBeUndefined();
  });

  it('counts a scan that arrives after the close (the fold records facts; the check is the gate)', () => {
    const state = foldLists(
      logged(created([{ lineNo: 1, quantity: 10 }]), closed, receivedOn(1, 10)),
    );
    expect(state.lists.get(LIST)?.lines[0]).toMatchObject({ confirmed: 10, status: 'done' });
    expect(state.lists.get(LIST)?.status).toBe('closed');
  });

  it('reads by type and code through the view', () => {
    const view = listsViewOf(foldLists(logged(created([{ lineNo: 1, quantity: 1 }]))));
    expect(view.listByCode('receipt', 'R-1')?.id).toBe(LIST);
    expect(view.listByCode('shipment', 'R-1')).toBeUndefined();
  });
});

describe('statuses', () => {
  it('of a line follow planned, confirmed and the close, with the quantity tolerance', () => {
    expect(lineStatus(10, 0, false)).toBe('open');
    expect(lineStatus(10, 0, true)).toBe('cancelled');
    expect(lineStatus(10, 4, true)).toBe('partial');
    expect(lineStatus(10, 9.9999999, false)).toBe('done');
    expect(lineStatus(0.3, 0.1 + 0.2, false)).toBe('done');
    expect(lineStatus(10, 10.5, false)).toBe('over');
  });

  it('of a list: completed when every line is done or over', () => {
    const line = (status: 'open' | 'partial' | 'done' | 'over') =>
      ({ status }) as Parameters<typeof listStatus>[0][number];
    expect(listStatus([line('open'), line('open')], false)).toBe('open');
    expect(listStatus([line('done'), line('open')], false)).toBe('in-progress');
    expect(listStatus([line('partial')], false)).toBe('in-progress');
    expect(listStatus([line('done'), line('over')], false)).toBe('completed');
    expect(listStatus([line('done')], true)).toBe('closed');
  });
});

// ─── Properties ─────────────────────────────────────────────────────────────────────────────

type Step =
  | { readonly kind: 'scan'; readonly lineNo: number; readonly quantity: number }
  | { readonly kind: 'reverse'; readonly pick: number; readonly share: number }
  | { readonly kind: 'close' };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('scan' as const),
      lineNo: fc.integer({ min: 1, max: 5 }), // 5 is never planned: an unknown line
      quantity: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.constantFrom(0.1, 0.25, 1.333333)),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('reverse' as const),
      pick: fc.nat(),
      share: fc.constantFrom(0.25, 0.5, 1),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'close' as const }) },
);

const plans = fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 4 });

/** A log of one list: its creation, then scans, reversals (each movement at most once) and closes. */
function logOf(planned: readonly number[], steps: readonly Step[]): LoggedEvent[] {
  const events: LoggedEvent[] = [];
  const add = (e: Omit<LoggedEvent, 'id'>) => events.push({ ...e, id: `e${events.length + 1}` });
  add(created(planned.map((quantity, i) => ({ lineNo: i + 1, quantity }))));
  const scans: { id: string; quantity: number; reversed: boolean }[] = [];
  for (const s of steps) {
    if (s.kind === 'scan') {
      add(receivedOn(s.lineNo, s.quantity, [P, Q, R][s.quantity % 3]));
      scans.push({ id: `e${events.length}`, quantity: s.quantity, reversed: false });
    } else if (s.kind === 'reverse') {
      const target = scans[s.pick % Math.max(scans.length, 1)];
      if (!target || target.reversed) continue;
      target.reversed = true;
      add(reversed(target.id, roundQty(target.quantity * s.share)));
    } else add(closed);
  }
  return events;
}

/** An independent ledger from the log: per line, scans minus reversals, written out plainly. */
function ledger(events: readonly LoggedEvent[], lines: number): number[] {
  const out = Array.from({ length: lines }, () => 0);
  const lineOf = new Map<string, number>();
  for (const e of events) {
    const d = e.data as { lineNo?: number; quantity?: number; movementId?: string };
    if (e.type === 'StockReceived' && d.lineNo !== undefined && d.lineNo <= lines) {
      lineOf.set(e.id, d.lineNo);
      out[d.lineNo - 1] = roundQty((out[d.lineNo - 1] ?? 0) + (d.quantity ?? 0));
    }
    const line = e.type === 'MovementReversed' ? lineOf.get(d.movementId ?? '') : undefined;
    if (line !== undefined) out[line - 1] = roundQty((out[line - 1] ?? 0) - (d.quantity ?? 0));
  }
  return out;
}

const stepByStep = (events: readonly LoggedEvent[]): ListsState =>
  events.reduce(evolveLists, initialListsState());

describe('folding lists (properties)', () => {
  it('each line holds its scans minus their reversals, and its status follows', () => {
    fc.assert(
      fc.property(plans, fc.array(step, { maxLength: 40 }), (planned, steps) => {
        const events = logOf(planned, steps);
        const list = foldLists(events).lists.get(LIST);
        if (!list) throw new Error('list not created');
        expect(list.lines.map((l) => l.confirmed)).toEqual(ledger(events, planned.length));
        const isClosed = events.some((e) => e.type === 'ListClosed');
        for (const l of list.lines) {
          expect(l.status).toBe(lineStatus(l.planned, l.confirmed, isClosed));
          const net = l.confirmations.reduce((s, c) => s + c.quantity - c.reversed, 0);
          expect(roundQty(net)).toBe(l.confirmed);
        }
        expect(list.status).toBe(listStatus(list.lines, isClosed));
        const count = (...s: string[]) => list.lines.filter((l) => s.includes(l.status)).length;
        expect(list.linesDone).toBe(count('done', 'over'));
        expect(list.linesStarted).toBe(count('partial', 'done', 'over'));
      }),
      { numRuns: 300 },
    );
  });

  it('replaying with foldLists equals folding event by event, which never changes a given state', () => {
    fc.assert(
      fc.property(plans, fc.array(step, { maxLength: 40 }), fc.nat(), (planned, steps, cut) => {
        const events = logOf(planned, steps);
        expect(foldLists(events)).toEqual(stepByStep(events));
        const k = cut % (events.length + 1);
        const prefix = foldLists(events.slice(0, k));
        const snapshot = structuredClone(prefix);
        expect(foldLists(events.slice(k), prefix)).toEqual(stepByStep(events));
        stepByStep(events.slice(k)); // touches nothing of `prefix` either
        events.slice(k).reduce(evolveLists, prefix);
        expect(prefix).toEqual(snapshot);
      }),
      { numRuns: 200 },
    );
  });

  // Linear, not quadratic: 10,000 scans of one list fold in well under the test timeout
  // (copying every line per scan, as `evolveLists` must, took seconds).
  it('replays a 10,000-line list confirmed line by line', () => {
    const n = 10_000;
    const events = logged(
      created(Array.from({ length: n }, (_, i) => ({ lineNo: i + 1, quantity: 2, itemId: L }))),
      ...Array.from({ length: n }, (_, i) => ({
        type: 'StockReceived',
        data: { itemId: L, positionId: P, quantity: 2, lot: 'L1', listId: LIST, lineNo: i + 1 },
      })),
    );
    const list = foldLists(events).lists.get(LIST);
    expect(list?.status).toBe('completed');
  });
});

describe('listsStateOf', () => {
  it('rebuilds the state a device gets from a snapshot: codes and reversal refs included', () => {
    const state = foldLists(
      logged(
        created([
          { lineNo: 1, quantity: 10 },
          { lineNo: 2, quantity: 5 },
        ]),
        receivedOn(1, 6),
        receivedOn(2, 5),
      ),
    );
    expect(listsStateOf(state.lists.values())).toEqual(state);
  });
});
