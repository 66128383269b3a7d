import { afterEach, describe, expect, it } from 'vitest';
import { MAX_RESEND, pull } from '../src/replay/pull.js';
import { Device, warehouseWithOperators } from './harness.js';
import type { TestServer } from './harness.js';

let server: TestServer;
afterEach(async () => {
  await server.close();
});

type Patch = { op: string; key?: string; value?: unknown }[];
type EventValue = {
  seq: number;
  type: string;
  data: Record<string, unknown>;
  meta: { clientID: string; mutationID: number };
};

async function setup() {
  const w = await warehouseWithOperators();
  server = w.server;
  return w;
}

/** Pulls events from `cookie` until the head, checking the snapshot rule on every page. */
async function pullAll(device: Device, cookie: number, limit?: number) {
  const events: EventValue[] = [];
  let c = cookie;
  for (let pages = 0; pages < 1000; pages++) {
    const res = await device.pull(c, limit ? { limit } : {});
    const page = res.patch.map((p) => p.value as EventValue);
    for (const [clientID, lmid] of Object.entries(res.lastMutationIDChanges)) {
      const seen = [...events, ...page].filter((e) => e.meta.clientID === clientID);
      // The snapshot rule: mutation lmid's events are here, nothing after it is.
      expect(seen.some((e) => e.meta.mutationID === lmid) || lmid === 0).toBe(true);
      expect(
        page.filter((e) => e.meta.clientID === clientID).every((e) => e.meta.mutationID <= lmid),
      ).toBe(true);
    }
    events.push(...page);
    c = res.cookie as number;
    if (!res.hasMore) return { events, cookie: c };
  }
  throw new Error('pull did not finish');
}

describe('pull', () => {
  it('sends events after the cookie as e/<12-digit seq> puts in seq order, paged', async () => {
    const { op1 } = await setup();
    await op1.pushOk(
      Array.from({ length: 25 }, () =>
        op1.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 1 }),
      ),
    );
    const first = await op1.pull(0, { limit: 10 });
    expect(first.hasMore).toBe(true);
    expect(first.patch).toHaveLength(10);
    expect(first.patch[0]?.key).toBe('e/000000000001');
    const seqs = first.patch.map((p) => (p.value as EventValue).seq);
    expect(seqs).toEqual(seqs.slice().sort((a, b) => a - b));
    expect(first.cookie).toBe(seqs.at(-1));
    const all = await pullAll(op1, 0, 10);
    expect(all.events.map((e) => e.seq)).toEqual(
      Array.from({ length: all.events.length }, (_, i) => i + 1),
    );
    expect(all.events).toHaveLength(7 + 25);
  });

  it('limit is a page size hint: above 10,000 it is taken as 10,000; below 1 or not an integer, 400', async () => {
    const { op1 } = await setup();
    const all = await op1.pull(0, { limit: 50_000 });
    expect(all.patch).toHaveLength(7);
    expect(all.hasMore).toBe(false);
    for (const limit of [0, -1, 2.5, '10'])
      await expect(op1.pull(0, { limit }), String(limit)).rejects.toThrow(/^pull: 400 /);
  });

  it('lastMutationIDChanges lists only the group’s clients that changed after the cookie, as of the page', async () => {
    const { op1, op2 } = await setup();
    await op1.pushOk([op1.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 1 })]);
    const mid = (await op1.pull(0)).cookie as number;
    await op2.pushOk([op2.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 1 })]);
    await op1.pushOk([op1.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 1 })]);
    const res = await op1.pull(mid);
    expect(res.lastMutationIDChanges).toEqual({ [op1.clientID]: 2 });
    expect((await op1.pull(res.cookie)).lastMutationIDChanges).toEqual({});
  });

  it('never shows a lastMutationID without its events, nor skips a seq, while pushes run concurrently', async () => {
    const { op1, op2 } = await setup();
    const writers = [op1, op2].map(async (d) => {
      for (let i = 0; i < 15; i++) {
        await d.pushOk(
          Array.from({ length: 3 }, () =>
            d.mutation('receiveStock', { itemId: 'A', positionId: 'Q', quantity: 1 }),
          ),
        );
      }
    });
    let cookie = 0;
    const seen: EventValue[] = [];
    let done = false;
    const reader = (async () => {
      while (!done) {
        // In-process requests resolve as microtasks: yield so the writers' commits can run.
        await new Promise((resolve) => setImmediate(resolve));
        const r = await pullAll(op1, cookie, 7);
        seen.push(...r.events);
        cookie = r.cookie;
      }
    })();
    await Promise.all(writers);
    done = true;
    await reader;
    const rest = await pullAll(op1, cookie);
    seen.push(...rest.events);
    expect(seen.map((e) => e.seq)).toEqual(Array.from({ length: seen.length }, (_, i) => i + 1));
    expect(
      seen.filter((e) => e.type === 'StockReceived' && e.data['positionId'] === 'Q'),
    ).toHaveLength(90);
  });

  it('pages of events are the same JSON from the store and from the recent events, for every device', async () => {
    const { op1, op2, supervisor } = await setup();
    for (let i = 0; i < 3; i++) {
      await op1.pushOk(
        Array.from({ length: 7 }, () =>
          op1.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 1 }),
        ),
      );
    }
    const raw = async (d: Device, cookie: number, limit: number) => {
      const res = await server.request('/sync/pull', {
        method: 'POST',
        token: d.token,
        json: { pullVersion: 1, clientGroupID: d.clientGroupID, cookie, profileID: 'p', limit },
      });
      expect(res.headers.get('content-type')).toBe('application/json');
      return res.text();
    };
    // The first pull of each range reads the store; the same pulls again are served from
    // what it learned. Both must be byte for byte what JSON.stringify of the answer gives.
    const pages: string[] = [];
    for (const [cookie, limit] of [
      [0, 5],
      [5, 5],
      [3, 100],
      [12, 2],
      [0, 100],
    ] as const) {
      const first = await raw(op2, cookie, limit);
      expect(first).toBe(JSON.stringify(JSON.parse(first)));
      pages.push(first);
    }
    for (const [i, [cookie, limit]] of (
      [
        [0, 5],
        [5, 5],
        [3, 100],
        [12, 2],
        [0, 100],
      ] as const
    ).entries()) {
      // op2's own pulls again, and the lastMutationIDChanges are op2's group's (none).
      expect(await raw(op2, cookie, limit)).toBe(pages[i]);
    }
    // Another device's page of the same range: the same events, its own lastMutationIDs.
    const mine = JSON.parse(await raw(op1, 0, 100)) as {
      patch: unknown[];
      lastMutationIDChanges: unknown;
    };
    const theirs = JSON.parse(pages[4] ?? '') as { patch: unknown[] };
    expect(mine.patch).toEqual(theirs.patch);
    expect(mine.lastMutationIDChanges).toEqual({ [op1.clientID]: 21 });
    expect(JSON.parse(await raw(supervisor, 0, 100))).toMatchObject({ cookie: 7 + 21 });
  });

  it('a cookie beyond the head cannot be from this server: ClientStateNotFound', async () => {
    const { op1 } = await setup();
    expect(await op1.pull(10_000)).toEqual({ error: 'ClientStateNotFound' });
  });
});

describe('reset: a new device starts from a snapshot, not from history (scenario 9, server side)', () => {
  it('cookie null → clear + the current state as s/ entries, with the head as cookie and the group’s lastMutationIDs', async () => {
    const { op1, supervisor } = await setup();
    await supervisor.pushOk([
      supervisor.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 5 }),
      supervisor.mutation('receiveStock', {
        itemId: 'L',
        positionId: 'Q',
        quantity: 2,
        lot: 'L1',
        expiresOn: '2027-01-31',
      }),
      supervisor.mutation('shipStock', { itemId: 'A', from: 'P', quantity: 5 }),
      supervisor.mutation('receiveStock', {
        itemId: 'S',
        positionId: 'R',
        quantity: 1,
        serial: 'SN1',
      }),
    ]);
    await op1.pushOk([op1.mutation('receiveStock', { itemId: 'A', positionId: 'R', quantity: 3 })]);
    const res = await op1.pull(null);
    expect(res.patch[0]).toEqual({ op: 'clear' });
    const keys = res.patch.slice(1).map((p) => p.key as string);
    expect(keys).toEqual(keys.slice().sort());
    expect(keys.filter((k) => k.startsWith('s/item/'))).toHaveLength(3);
    expect(keys.filter((k) => k.startsWith('s/position/'))).toHaveLength(4);
    const stock = res.patch.filter((p) => p.key?.startsWith('s/stock/')).map((p) => p.value);
    expect(stock).toEqual(
      expect.arrayContaining([
        { itemId: 'L', positionId: 'Q', lot: 'L1', serial: null, quantity: 2 },
        { itemId: 'S', positionId: 'R', lot: null, serial: 'SN1', quantity: 1 },
        { itemId: 'A', positionId: 'R', lot: null, serial: null, quantity: 3 },
      ]),
    );
    expect(stock).toHaveLength(3); // A at P was shipped: no line
    expect(res.patch.find((p) => p.key?.startsWith('s/lot/'))?.value).toEqual({
      itemId: 'L',
      lot: 'L1',
      expiresOn: '2027-01-31',
    });
    expect(res.cookie).toBe(
      ((await (await server.request('/health')).json()) as { head: number }).head,
    );
    expect(res.lastMutationIDChanges).toEqual({ [op1.clientID]: 1 });
    expect(res.hasMore).toBe(false);
  });

  it('a long history (100,000 events) is not replayed: the reset carries the state only, its size set by the state', async () => {
    const { op1, supervisor } = await setup();
    const before = await op1.pull(null);
    const entriesOf = (p: Patch) => p.filter((x) => x.key?.startsWith('s/')).length;
    // A busy site: one box shuttled between two bins 100,000 times (1,000 per push).
    await supervisor.pushOk([
      supervisor.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 1 }),
    ]);
    const HISTORY = 100_000;
    for (let done = 0; done < HISTORY; done += 1000) {
      const res = await supervisor.pushOk(
        Array.from({ length: 1000 }, (_, i) =>
          supervisor.mutation(
            'moveStock',
            (done + i) % 2 === 0
              ? { itemId: 'A', from: 'P', to: 'Q', quantity: 1 }
              : { itemId: 'A', from: 'Q', to: 'P', quantity: 1 },
          ),
        ),
      );
      expect(res.results.every((r) => r.status === 'applied')).toBe(true);
    }
    const head = ((await (await server.request('/health')).json()) as { head: number }).head;
    expect(head).toBeGreaterThan(HISTORY);

    // A new device: a clear and the state as it is now — no event of the history.
    const fresh = await op1.pull(null);
    expect(fresh.hasMore).toBe(false);
    expect(fresh.cookie).toBe(head);
    expect(fresh.patch.filter((p) => p.key?.startsWith('e/'))).toEqual([]);
    const stock = fresh.patch.filter((p) => p.key?.startsWith('s/stock/')).map((p) => p.value);
    expect(stock).toEqual([{ itemId: 'A', positionId: 'P', lot: null, serial: null, quantity: 1 }]);
    // As many entries as before the history plus the one stock line: the history adds nothing.
    expect(entriesOf(fresh.patch)).toBe(entriesOf(before.patch) + 1);
    // And it follows on from the head: nothing to replay.
    const next = await op1.pull(head);
    expect(next.patch).toEqual([]);
  }, 120_000);

  it('a paged snapshot stays exact while other devices keep changing stock', async () => {
    const { op1, op2, supervisor } = await setup();
    // 60 stock lines: A on P, Q, R across 20 lots of L, etc.
    await supervisor.pushOk(
      Array.from({ length: 60 }, (_, i) =>
        supervisor.mutation('receiveStock', {
          itemId: 'L',
          positionId: ['P', 'Q', 'R'][i % 3],
          quantity: 10,
          lot: `LOT-${String(i).padStart(2, '0')}`,
        }),
      ),
    );
    const entries = new Map<string, unknown>();
    const apply = (patch: Patch) => {
      for (const p of patch) {
        if (p.op === 'clear') entries.clear();
        else if (p.op === 'put') entries.set(p.key as string, p.value);
        else if (p.op === 'del') entries.delete(p.key as string);
      }
    };
    let res = await op1.pull(null, { limit: 17 });
    apply(res.patch);
    let round = 0;
    while (res.hasMore) {
      // Between pages, another device moves and ships stock in lines already sent and not yet sent.
      const lot = `LOT-${String(round * 3).padStart(2, '0')}`;
      const late = `LOT-${String(59 - round).padStart(2, '0')}`;
      await op2.pushOk([
        op2.mutation('shipStock', {
          itemId: 'L',
          from: ['P', 'Q', 'R'][(round * 3) % 3],
          quantity: 10,
          lot,
        }),
        op2.mutation('moveStock', {
          itemId: 'L',
          from: ['P', 'Q', 'R'][(59 - round) % 3],
          to: 'C',
          quantity: 4,
          lot: late,
        }),
      ]);
      res = await op1.pull(res.cookie, { limit: 17 });
      apply(res.patch);
      round++;
    }
    expect(round).toBeGreaterThan(2);
    // The device's state at the final cookie equals a fresh one-page snapshot of the server.
    const truth = await new Device(server, await server.login('sup', 'sup-password')).pull(null, {
      limit: 10_000,
    });
    expect(truth.cookie).toBe(res.cookie);
    const expected = new Map(truth.patch.slice(1).map((p) => [p.key as string, p.value]));
    expect(Object.fromEntries(entries)).toEqual(Object.fromEntries(expected));
    // And the events after the cookie continue from there.
    await op2.pushOk([op2.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 1 })]);
    const next = await op1.pull(res.cookie);
    expect(next.patch).toHaveLength(1);
  });
});

describe('a paging cookie made up by a client', () => {
  it('an old order and the last key: one answer never re-sends more than MAX_RESEND entries; the snapshot starts over', async () => {
    const { op1, supervisor } = await setup();
    await supervisor.pushOk(
      Array.from({ length: 30 }, (_, i) =>
        supervisor.mutation('receiveStock', {
          itemId: 'L',
          positionId: 'P',
          quantity: 1,
          lot: `LOT-${String(i).padStart(2, '0')}`,
        }),
      ),
    );
    const forged = { order: 0, after: '\uffff' };
    // Over HTTP, within the bound: it is answered (the whole store is small here) …
    const answered = await op1.pull(forged);
    expect(answered.hasMore).toBe(false);
    expect(answered.patch.length).toBeGreaterThan(30);
    // … and past the bound, it is not built at all.
    const clientGroupID = op1.clientGroupID;
    const over = await server.storage.read((tx) =>
      pull(tx, { clientGroupID, cookie: forged, conflictsOf: null, maxResend: 30 }),
    );
    expect(over).toEqual({ error: 'ClientStateNotFound' });
    const within = await server.storage.read((tx) =>
      pull(tx, { clientGroupID, cookie: forged, conflictsOf: null, maxResend: 10_000 }),
    );
    expect(within).toMatchObject({ hasMore: false });
    expect(MAX_RESEND).toBe(40_000);
    // An honest snapshot starting over from null still works.
    expect((await op1.pull(null)).patch[0]).toEqual({ op: 'clear' });
  });
});

describe('reset snapshots carry open conflicts for this user', () => {
  it('an operator gets only their own open conflicts; a supervisor gets all', async () => {
    const { op1, op2, supervisor } = await setup();
    await op1.pushOk([op1.mutation('moveStock', { itemId: 'A', from: 'P', to: 'P', quantity: 1 })]); // rejected → conflict of op1
    await op2.pushOk([
      op2.mutation('receiveStock', { itemId: 'ghost', positionId: 'P', quantity: 1 }),
    ]); // unknown item → conflict of op2
    const conflictsIn = (patch: Patch) =>
      patch
        .filter((p) => p.key?.startsWith('s/conflict/'))
        .map((p) => (p.value as { mutation: { clientID: string } }).mutation.clientID);
    expect(conflictsIn((await op1.pull(null)).patch)).toEqual([op1.clientID]);
    expect(conflictsIn((await op2.pull(null)).patch)).toEqual([op2.clientID]);
    expect(conflictsIn((await supervisor.pull(null)).patch).sort()).toEqual(
      [op1.clientID, op2.clientID].sort(),
    );
  });
});

describe('a pull page never ends inside a mutation', () => {
  /**
   * A stock conflict (op1 ships 3 of the 1 the supervisor received), and the admin's device
   * that will resolve it. `compensate()` resolves it with a found adjustment: a mutation of two
   * events (ConflictResolved, StockAdjusted).
   */
  async function conflictToCompensate() {
    const w = await setup();
    await w.supervisor.pushOk([
      w.supervisor.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 1 }),
    ]);
    await w.op1.pushOk([w.op1.mutation('shipStock', { itemId: 'A', from: 'P', quantity: 3 })]); // P goes to −2
    const conflicts = (await (
      await server.request('/api/conflicts?status=open', { token: w.admin })
    ).json()) as { id: string }[];
    const adminDevice = new Device(server, w.admin);
    const before = ((await (await server.request('/health')).json()) as { head: number }).head;
    const compensate = (delta: number) =>
      adminDevice.pushOk([
        adminDevice.mutation('resolveConflict', {
          conflictId: conflicts[0]?.id,
          action: 'compensate',
          note: `found ${delta} more`,
          args: {
            name: 'adjustStock',
            args: { itemId: 'A', positionId: 'P', delta, reason: 'found' },
          },
        }),
      ]);
    return { ...w, adminDevice, before, compensate };
  }

  it('a two-event mutation comes whole, with its lastMutationID, even with limit 1', async () => {
    const { adminDevice, before, compensate } = await conflictToCompensate();
    await compensate(2);
    const page = await adminDevice.pull(before, { limit: 1 });
    expect(page.patch.map((p) => (p.value as EventValue).type)).toEqual([
      'ConflictResolved',
      'StockAdjusted',
    ]);
    expect(page.lastMutationIDChanges).toEqual({ [adminDevice.clientID]: 1 });
  });

  it('a mutation the limit would cut goes to the next page: never more than limit events then', async () => {
    const { supervisor, adminDevice, before, compensate } = await conflictToCompensate();
    // One event (seq before+1), then a mutation of two (before+2, before+3).
    const received = await supervisor.pushOk([
      supervisor.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 1 }),
    ]);
    await compensate(1);
    const seqs = (p: { patch: { value?: unknown }[] }) =>
      p.patch.map((x) => (x.value as EventValue).seq);

    const first = await adminDevice.pull(before, { limit: 2 });
    expect(seqs(first)).toEqual([before + 1]);
    expect(first.cookie).toBe(before + 1);
    expect(first.hasMore).toBe(true);
    expect(first.lastMutationIDChanges).toEqual({});
    const second = await adminDevice.pull(first.cookie, { limit: 2 });
    expect(seqs(second)).toEqual([before + 2, before + 3]);
    expect(second.hasMore).toBe(false);
    expect(second.lastMutationIDChanges).toEqual({ [adminDevice.clientID]: 1 });

    // Room for all three: one page.
    expect(seqs(await adminDevice.pull(before, { limit: 3 }))).toEqual([
      before + 1,
      before + 2,
      before + 3,
    ]);
    // The supervisor's own page with limit 2 ends before the admin's mutation, its lmid with it.
    const own = await supervisor.pull(before, { limit: 2 });
    expect(seqs(own)).toEqual([before + 1]);
    expect(own.lastMutationIDChanges).toEqual({ [supervisor.clientID]: received.results[0]?.id });
  });
});

describe('GET /api/stock', () => {
  it('answers at most 10,000 lines and says so when there are more (X-Truncated)', async () => {
    const { op1, admin } = await setup();
    // 10,001 lines: one lot each of item L on P, in pushes of 1,000.
    for (let from = 0; from <= 10_000; from += 1000)
      await op1.pushOk(
        Array.from({ length: Math.min(1000, 10_001 - from) }, (_, i) =>
          op1.mutation('receiveStock', {
            itemId: 'L',
            positionId: 'P',
            quantity: 1,
            lot: `LOT-${from + i}`,
          }),
        ),
      );
    const all = await server.request('/api/stock?itemId=L', { token: admin });
    expect(all.headers.get('x-truncated')).toBe('10000');
    expect(((await all.json()) as unknown[]).length).toBe(10_000);
    const narrow = await server.request('/api/stock?itemId=A', { token: admin });
    expect(narrow.headers.get('x-truncated')).toBeNull();
  }, 60_000);
});
