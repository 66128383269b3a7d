import { describe, expect, it } from 'vitest';
import type { LoggedEvent } from '../projection.js';
import { asUserId } from '../shared/ids.js';
import { A, P } from '../testing/index.js';
import type { ListId } from './commands.js';
import { asListId } from './commands.js';
import { listProgress, openListsOf } from './queries.js';
import type { MovementList } from './state.js';
import { foldLists } from './state.js';

const id = (n: number) => asListId(`0192f0c8-0000-7000-8000-${String(n).padStart(12, '0')}`);
const ana = asUserId('u-ana');
const ben = asUserId('u-ben');

let seq = 0;
const ev = (type: string, data: unknown): LoggedEvent => ({ id: `e${++seq}`, type, data });
const create = (listId: ListId, code: string, planned: number[], dueOn?: string) =>
  ev('ListCreated', {
    listId,
    type: 'receipt',
    code,
    references: [],
    ...(dueOn ? { dueOn } : {}),
    lines: planned.map((quantity, i) => ({ lineNo: i + 1, itemId: A, quantity })),
  });
const scan = (listId: ListId, lineNo: number, quantity: number) =>
  ev('StockReceived', { itemId: A, positionId: P, quantity, listId, lineNo });
const assign = (listId: ListId, userId: string | null) => ev('ListAssigned', { listId, userId });
const close = (listId: ListId) => ev('ListClosed', { listId });

const listOf = (events: LoggedEvent[], listId: ListId): MovementList => {
  const list = foldLists(events).lists.get(listId);
  if (!list) throw new Error('no list');
  return list;
};

describe('listProgress', () => {
  it('counts lines, quantities, what is still open and a percentage', () => {
    const L1 = id(1);
    expect(listProgress(listOf([create(L1, 'R-1', [10, 5])], L1))).toEqual({
      lines: 2,
      linesDone: 0,
      planned: 15,
      confirmed: 0,
      open: 15,
      percent: 0,
    });
    expect(
      listProgress(listOf([create(L1, 'R-1', [10, 5]), scan(L1, 1, 10), scan(L1, 2, 2)], L1)),
    ).toEqual({
      lines: 2,
      linesDone: 1,
      planned: 15,
      confirmed: 12,
      open: 3,
      percent: 80,
    });
  });

  it('does not let an over-delivery hide a shortfall, and rounds down', () => {
    const L1 = id(1);
    const list = listOf([create(L1, 'R-1', [10, 20]), scan(L1, 1, 25), scan(L1, 2, 19.99)], L1);
    expect(listProgress(list)).toMatchObject({ confirmed: 44.99, open: 0.01, percent: 99 });
  });

  it('has nothing open once the list is closed', () => {
    const L1 = id(1);
    const list = listOf([create(L1, 'R-1', [10, 5]), scan(L1, 1, 4), close(L1)], L1);
    expect(listProgress(list)).toMatchObject({ confirmed: 4, open: 0, percent: 26 });
  });

  it('sums decimals without float drift', () => {
    const L1 = id(1);
    const list = listOf([create(L1, 'R-1', [0.3]), scan(L1, 1, 0.1), scan(L1, 1, 0.2)], L1);
    expect(listProgress(list)).toMatchObject({
      confirmed: 0.3,
      open: 0,
      percent: 100,
      linesDone: 1,
    });
  });
});

describe('openListsOf', () => {
  it('lists what the user has left to do, the most urgent first', () => {
    const state = foldLists([
      create(id(1), 'R-1', [1], '2026-12-03'),
      create(id(2), 'R-2', [1]),
      create(id(3), 'R-3', [1], '2026-12-01'),
      create(id(4), 'R-4', [1], '2026-11-01'),
      create(id(5), 'R-5', [2], '2026-12-02'),
      create(id(6), 'R-6', [1], '2026-10-01'),
      ...[1, 2, 3, 4, 5].map((n) => assign(id(n), ana)),
      assign(id(6), ben),
      assign(id(1), null), // taken off Ana again
      scan(id(4), 1, 1), // completed: nothing left to do
      scan(id(5), 1, 1), // in progress
      close(id(3)),
    ]);
    expect(openListsOf(state, ana).map((l) => [l.code, l.status])).toEqual([
      ['R-5', 'in-progress'],
      ['R-2', 'open'],
    ]);
    expect(openListsOf(state, ben).map((l) => l.code)).toEqual(['R-6']);
    expect(openListsOf(state, asUserId('u-nobody'))).toEqual([]);
  });
});
