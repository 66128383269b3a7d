import { afterEach, describe, expect, it } from 'vitest';
import type { TestServer } from './harness.js';
import { Device, quantityAt, warehouseWithOperators } from './harness.js';

/**
 * Movement lists through the sync protocol and the read API: a supervisor (or the ERP import)
 * creates a list, operators confirm its lines with the ordinary receive/move/ship scans
 * carrying `listId` + `lineNo`, and everyone reads progress from `/api/lists`. Scenario 18 of
 * SCENARIOS.md end to end on the server.
 */
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const R1 = '0192f0c8-0000-7000-8000-0000000000a1';
const R2 = '0192f0c8-0000-7000-8000-0000000000b2';

async function setup() {
  const w = await warehouseWithOperators();
  server = w.server;
  const me = async (d: Device) => {
    const res = await w.server.request('/api/auth/me', { token: d.token });
    return ((await res.json()) as { user: { id: string } }).user.id;
  };
  const op1Id = await me(w.op1);
  const get = async <T>(path: string, token = w.supervisor.token): Promise<T> => {
    const res = await w.server.request(path, { token });
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as T;
  };
  return { ...w, op1Id, get };
}

interface ListView {
  id: string;
  code: string;
  status: string;
  assignee: string | null;
  lines: { lineNo: number; planned: number; confirmed: number; status: string }[];
  progress: { planned: number; confirmed: number; open: number; percent: number };
}

const createList = (d: Device, listId: string, code: string, lines: unknown[]) =>
  d.mutation('createList', { listId, type: 'receipt', code, partner: 'ACME', lines });

describe('movement lists over the sync protocol', () => {
  it('scenario 18: 10 A confirmed as 6 to P and 4 to Q completes the line; 4 of 10 leaves 6 open; closing cancels untouched lines and moves no stock', async () => {
    const w = await setup();
    const created = await w.supervisor.pushOk([
      createList(w.supervisor, R1, 'R-1001', [
        { lineNo: 1, itemId: 'A', quantity: 10, suggestedPositionId: 'P' },
        { lineNo: 2, itemId: 'A', quantity: 10 },
        { lineNo: 3, itemId: 'L', quantity: 5 },
      ]),
      w.supervisor.mutation('assignList', { listId: R1, userId: w.op1Id }),
    ]);
    expect(created.results.map((r) => r.status)).toEqual(['applied', 'applied']);

    const scans = await w.op1.pushOk([
      w.op1.mutation('receiveStock', {
        itemId: 'A',
        positionId: 'P',
        quantity: 6,
        listId: R1,
        lineNo: 1,
      }),
      w.op1.mutation('receiveStock', {
        itemId: 'A',
        positionId: 'Q',
        quantity: 4,
        listId: R1,
        lineNo: 1,
      }),
      w.op1.mutation('receiveStock', {
        itemId: 'A',
        positionId: 'R',
        quantity: 4,
        listId: R1,
        lineNo: 2,
      }),
    ]);
    expect(scans.results.map((r) => r.status)).toEqual(['applied', 'applied', 'applied']);

    // The operator sees the list assigned to them; the other operator does not.
    const mine = await w.get<{ code: string; linesDone: number }[]>('/api/lists', w.op1.token);
    expect(mine.map((l) => [l.code, l.linesDone])).toEqual([['R-1001', 1]]);
    expect(await w.get<unknown[]>('/api/lists', w.op2.token)).toEqual([]);
    const hidden = await w.server.request(`/api/lists/${R1}`, { token: w.op2.token });
    expect(hidden.status).toBe(404);

    let list = await w.get<ListView>(`/api/lists/${R1}`, w.op1.token);
    expect(list.status).toBe('in-progress');
    expect(list.lines.map((l) => [l.lineNo, l.confirmed, l.status])).toEqual([
      [1, 10, 'done'],
      [2, 4, 'partial'],
      [3, 0, 'open'],
    ]);
    expect(list.progress).toMatchObject({ planned: 25, confirmed: 14, open: 11 });

    const stockBefore = await quantityAt(w.server, w.supervisor.token, 'A', 'P');
    const closed = await w.supervisor.pushOk([
      w.supervisor.mutation('closeList', { listId: R1, note: 'rest never came' }),
    ]);
    expect(closed.results[0]?.status).toBe('applied');
    // Closing moves no stock: its one event is the list's own.
    const closedSeqs = closed.results[0]?.seqs ?? [];
    const closeEvents = await w.get<{ seq: number; type: string }[]>(
      `/api/events?after=${(closedSeqs[0] ?? 1) - 1}`,
    );
    expect(closeEvents.map((e) => e.type)).toEqual(['ListClosed']);
    list = await w.get<ListView>(`/api/lists/${R1}`);
    expect(list.status).toBe('closed');
    expect(list.lines.map((l) => l.status)).toEqual(['done', 'partial', 'cancelled']);
    expect(list.progress.open).toBe(0);
    expect(await quantityAt(w.server, w.supervisor.token, 'A', 'P')).toBe(stockBefore);
    expect(await quantityAt(w.server, w.supervisor.token, 'A', 'Q')).toBe(4);
    expect(await quantityAt(w.server, w.supervisor.token, 'A', 'R')).toBe(4);

    // A scan made offline against the list closed meanwhile: the goods were received, so the
    // movement is recorded — without the list line, and with a conflict saying why.
    const late = await w.op1.pushOk([
      w.op1.mutation('receiveStock', {
        itemId: 'A',
        positionId: 'P',
        quantity: 1,
        listId: R1,
        lineNo: 2,
      }),
    ]);
    expect(late.results[0]).toMatchObject({ status: 'applied' });
    expect(late.results[0]?.conflicts).toHaveLength(1);
    expect(await quantityAt(w.server, w.supervisor.token, 'A', 'P')).toBe(stockBefore + 1);
    expect((await w.get<ListView>(`/api/lists/${R1}`)).lines[1]).toMatchObject({ confirmed: 4 });
    const conflicts = await w.get<{ kind: string; message: string }[]>(
      '/api/conflicts?status=open',
    );
    expect(conflicts.map((c) => [c.kind, c.message])).toContainEqual([
      'stale-intent',
      'list R-1001 is closed: the movement is recorded without the list line',
    ]);
  });

  it('reversing a confirmed line re-opens its quantity', async () => {
    const w = await setup();
    await w.supervisor.pushOk([
      createList(w.supervisor, R1, 'R-1', [{ lineNo: 1, itemId: 'A', quantity: 5 }]),
    ]);
    const scan = await w.op1.pushOk([
      w.op1.mutation('receiveStock', {
        itemId: 'A',
        positionId: 'P',
        quantity: 5,
        listId: R1,
        lineNo: 1,
      }),
    ]);
    const seq = scan.results[0]?.seqs?.[0] as number;
    const events = await w.get<{ seq: number; id: string }[]>(`/api/events?after=${seq - 1}`);
    const movementId = events.find((e) => e.seq === seq)?.id as string;
    expect((await w.get<ListView>(`/api/lists/${R1}`)).status).toBe('completed');
    const reversed = await w.supervisor.pushOk([
      w.supervisor.mutation('reverseMovement', { eventId: movementId, quantity: 2 }),
    ]);
    expect(reversed.results[0]?.status).toBe('applied');
    const list = await w.get<ListView>(`/api/lists/${R1}`);
    expect(list.status).toBe('in-progress');
    expect(list.lines[0]).toMatchObject({ confirmed: 3, status: 'partial' });
  });

  it('refuses what does not fit: roles, unknown lists and lines, duplicates, bad queries', async () => {
    const w = await setup();
    const byOperator = await w.op1.pushOk([
      createList(w.op1, R2, 'R-9', [{ lineNo: 1, itemId: 'A', quantity: 1 }]),
    ]);
    expect(byOperator.results[0]).toMatchObject({
      status: 'rejected',
      error: { code: 'FORBIDDEN' },
    });
    await w.supervisor.pushOk([
      createList(w.supervisor, R1, 'R-1', [{ lineNo: 1, itemId: 'A', quantity: 5 }]),
    ]);
    const results = await w.supervisor.pushOk([
      createList(w.supervisor, R2, 'R-1', [{ lineNo: 1, itemId: 'A', quantity: 5 }]),
      createList(w.supervisor, R2, 'R-2', [
        { lineNo: 1, itemId: 'A', quantity: 5 },
        { lineNo: 1, itemId: 'A', quantity: 5 },
      ]),
      createList(w.supervisor, R2, 'R-3', [{ lineNo: 1, itemId: 'nope', quantity: 5 }]),
    ]);
    expect(results.results.map((r) => r.error?.code)).toEqual([
      'DUPLICATE_CODE',
      'VALIDATION_FAILED',
      'UNKNOWN_ITEM',
    ]);
    const scans = await w.op1.pushOk([
      w.op1.mutation('receiveStock', {
        itemId: 'A',
        positionId: 'P',
        quantity: 1,
        listId: R2,
        lineNo: 1,
      }),
      w.op1.mutation('receiveStock', {
        itemId: 'A',
        positionId: 'P',
        quantity: 1,
        listId: R1,
        lineNo: 7,
      }),
      w.op1.mutation('shipStock', { itemId: 'A', from: 'P', quantity: 1, listId: R1, lineNo: 1 }),
    ]);
    // Replayed scans are facts: recorded without the reference that does not fit, flagged.
    expect(scans.results.map((r) => [r.status, r.conflicts?.length])).toEqual([
      ['applied', 1],
      ['applied', 1],
      ['applied', 1],
    ]);
    const flagged = await w.get<{ message: string; detail: { code: string } }[]>(
      '/api/conflicts?status=open',
    );
    const withoutLine = flagged.filter((c) => c.message.endsWith('without the list line'));
    expect(withoutLine.map((c) => c.detail.code).sort()).toEqual([
      'LIST_MISMATCH',
      'UNKNOWN_LIST',
      'UNKNOWN_LIST_LINE',
    ]);
    expect((await w.get<ListView>(`/api/lists/${R1}`)).lines[0]).toMatchObject({ confirmed: 0 });

    const bad = await w.server.request('/api/lists?status=finished', { token: w.supervisor.token });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
    const missing = await w.server.request(`/api/lists/${R2}`, { token: w.supervisor.token });
    expect(missing.status).toBe(404);
    const all = await w.get<{ code: string }[]>('/api/lists?status=open&type=receipt');
    expect(all.map((l) => l.code)).toEqual(['R-1']);
    // Unassigned: open for any operator, on the API as on the device.
    const forOperator = await w.get<{ code: string }[]>('/api/lists', w.op2.token);
    expect(forOperator.map((l) => l.code)).toEqual(['R-1']);
    expect((await w.server.request(`/api/lists/${R1}`, { token: w.op2.token })).status).toBe(200);
  });

  it('a new device gets open lists in its snapshot', async () => {
    const w = await setup();
    await w.supervisor.pushOk([
      createList(w.supervisor, R1, 'R-1', [{ lineNo: 1, itemId: 'A', quantity: 5 }]),
      createList(w.supervisor, R2, 'R-2', [{ lineNo: 1, itemId: 'A', quantity: 5 }]),
      w.supervisor.mutation('closeList', { listId: R2 }),
    ]);
    const fresh = new Device(w.server, w.op1.token);
    const body = await fresh.pull(null);
    const lists = body.patch.filter((p) => p.key?.startsWith('s/list/'));
    expect(lists.map((p) => p.key)).toEqual([`s/list/${R1}`]);
    expect(lists[0]?.value).toMatchObject({ code: 'R-1', lines: [{ lineNo: 1, planned: 5 }] });
  });
});
