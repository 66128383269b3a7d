import 'fake-indexeddb/auto';
import { randomUUID } from 'node:crypto';
import type { Role } from '@floorsync/domain';
import { Dexie } from 'dexie';
import { afterEach, describe, expect, it } from 'vitest';
import { openReplica, readConfirmed, unconfirmedRows } from './db.js';
import { AuthRequiredError, InvalidCommandError, RetryableError, SyncEngine } from './engine.js';
import { listenForPokes } from './pokes.js';
import { TEST_ADMIN_PASSWORD, TEST_BASE, startTestServer } from './test-server.js';

/**
 * The sync engine in Node: Dexie on fake-indexeddb, against the real server (Hono app on a
 * temp SQLite file, driven in-process), with faults injected into the transport.
 */
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server() {
  const s = await startTestServer((fn) => cleanups.push(fn));
  /** A fetch that reaches the in-process app, with fault switches. */
  const net = { down: false, dropResponses: 0, calls: [] as string[], pushSizes: [] as number[] };
  const fetchFn: typeof fetch = async (input, init) => {
    const url = input instanceof Request ? input.url : input instanceof URL ? input.href : input;
    net.calls.push(url);
    if (!net.down && url.endsWith('/sync/push') && typeof init?.body === 'string')
      net.pushSizes.push((JSON.parse(init.body) as { mutations: unknown[] }).mutations.length);
    if (net.down) throw new TypeError('fetch failed');
    const res = await s.deliver(url, init);
    if (net.dropResponses > 0) {
      net.dropResponses--;
      throw new TypeError('connection reset after the server answered');
    }
    return res;
  };
  return { ...s, fetchFn, net };
}

type Server = Awaited<ReturnType<typeof server>>;

/** A handheld: its own IndexedDB database, a session, and the engine. */
async function device(
  s: Server,
  username: string,
  options: { dbName?: string; pullLimit?: number; journalRows?: number } = {},
) {
  const db = openReplica(options.dbName ?? `device-${randomUUID()}`);
  cleanups.push(() => db.close());
  const session = { token: null as string | null, user: null as { id: string; role: Role } | null };
  const engine = await SyncEngine.open({
    db,
    baseUrl: TEST_BASE,
    fetch: s.fetchFn,
    token: () => session.token,
    user: () => session.user,
    batchSize: 50,
    ...(options.pullLimit ? { pullLimit: options.pullLimit } : {}),
    ...(options.journalRows !== undefined ? { journalRows: options.journalRows } : {}),
  });
  const signIn = async (name = username) => {
    const r = await s.login(name, `${name}-password`, engine.clientGroupID, engine.deviceSecret);
    session.token = r.token;
    session.user = r.user;
  };
  await signIn();
  return { db, engine, session, signIn };
}

/** Another engine on the same installation's database (a second tab, or the app restarted). */
async function sameInstallation(
  s: Server,
  name: string,
  session: { readonly token: string | null; readonly user: { id: string; role: Role } | null },
  options: { batchSize?: number } = {},
) {
  const db = openReplica(name);
  cleanups.push(() => db.close());
  const engine = await SyncEngine.open({
    db,
    baseUrl: TEST_BASE,
    fetch: s.fetchFn,
    token: () => session.token,
    user: () => session.user,
    ...options,
  });
  return { db, engine };
}

const qty = (engine: SyncEngine, item: string, position: string) =>
  engine.view.quantity(item as never, position as never, null, null);

describe('sync engine', () => {
  it('a shift offline: 2,000 scans, a restart mid-shift, then bounded batches with progress, each scan exactly one event (scenario 1, 7 at engine level)', async () => {
    const s = await server();
    const name = `device-${randomUUID()}`;
    const d = await device(s, 'op1', { dbName: name });
    await d.engine.pull(); // a first sync: master data
    s.net.down = true;
    const scan = (engine: SyncEngine) =>
      engine.mutate('receiveStock', { itemId: 'A', positionId: 'P', quantity: 1 });
    for (let i = 0; i < 1000; i++) await scan(d.engine);
    expect(d.engine.pending).toBe(1000);
    expect(qty(d.engine, 'A', 'P')).toBe(1000); // the overlay shows the operator's scans at once
    await expect(d.engine.push()).rejects.toBeInstanceOf(RetryableError);

    // The app restarts mid-shift: a new engine over the same database, and the shift goes on.
    d.db.close();
    const { db: db2, engine: engine2 } = await sameInstallation(s, name, d.session);
    expect(engine2.pending).toBe(1000);
    expect(engine2.clientID).toBe(d.engine.clientID);
    for (let i = 0; i < 1000; i++) await scan(engine2);
    expect(engine2.pending).toBe(2000);
    expect(qty(engine2, 'A', 'P')).toBe(2000);

    // Back online: the queue goes in batches of the default 200, with progress before each.
    s.net.down = false;
    const progress: string[] = [];
    const pushed = await engine2.push((p) => progress.push(`${p.sent}/${p.total}`));
    expect(pushed.sent).toBe(2000);
    expect(s.net.pushSizes).toEqual(Array.from({ length: 10 }, () => 200));
    expect(progress).toEqual(Array.from({ length: 11 }, (_, i) => `${i * 200}/2000`));
    await engine2.pull();
    expect(engine2.pending).toBe(0);
    expect(await s.stockAt('A', 'P')).toBe(2000);
    expect(qty(engine2, 'A', 'P')).toBe(2000);
    expect((await unconfirmedRows(db2)).length).toBe(0);

    // Every scan is exactly one event in the server's log: mutations 1…2000 of this client.
    const admin = await s.login('admin', TEST_ADMIN_PASSWORD);
    const ids: number[] = [];
    for (let after = 0; ;) {
      const page = (await (
        await s.api(`/api/events?after=${after}&limit=2000`, { token: admin.token })
      ).json()) as { seq: number; type: string; meta: { clientID: string; mutationID: number } }[];
      for (const e of page)
        if (e.meta.clientID === engine2.clientID) {
          expect(e.type).toBe('StockReceived');
          ids.push(e.meta.mutationID);
        }
      if (page.length < 2000) break;
      after = page.at(-1)?.seq ?? after;
    }
    expect(ids).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
  }, 120_000);

  it('a dropped response after the server committed: re-sending adds nothing (scenario 2)', async () => {
    const s = await server();
    const d = await device(s, 'op1');
    await d.engine.mutate('receiveStock', { itemId: 'A', positionId: 'P', quantity: 5 });
    s.net.dropResponses = 1;
    await expect(d.engine.sync()).rejects.toBeInstanceOf(RetryableError);
    expect(d.engine.pending).toBe(1);
    await d.engine.sync();
    expect(d.engine.pending).toBe(0);
    expect(await s.stockAt('A', 'P')).toBe(5);
    expect(qty(d.engine, 'A', 'P')).toBe(5);
  });

  it('a deactivated account keeps its queue and says so; activated again, the same scans go', async () => {
    const s = await server();
    const d = await device(s, 'op1');
    const op1 = d.session.user?.id ?? '';
    await d.engine.mutate('receiveStock', { itemId: 'A', positionId: 'Q', quantity: 3 });
    const admin = await s.login('admin', TEST_ADMIN_PASSWORD);
    const setActive = (active: boolean) =>
      s.api(`/api/users/${op1}`, {
        method: 'PATCH',
        token: admin.token,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ active }),
      });
    expect((await setActive(false)).status).toBe(200);
    const refused = await d.engine.sync().then(
      () => null,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(AuthRequiredError);
    expect((refused as AuthRequiredError).code).toBe('USER_DEACTIVATED');
    expect((await unconfirmedRows(d.db)).length).toBe(1);
    expect((await setActive(true)).status).toBe(200);
    await d.signIn('op1');
    await d.engine.sync();
    expect(d.engine.pending).toBe(0);
    expect(await s.stockAt('A', 'Q')).toBe(3);
  });

  it('an expired login keeps the queue; after signing in again the same batch goes, attributed to who scanned (scenario 6)', async () => {
    const s = await server();
    const d = await device(s, 'op1');
    const op1 = d.session.user?.id;
    await d.engine.mutate('receiveStock', { itemId: 'A', positionId: 'Q', quantity: 2 });
    s.clock.ms += 13 * 3600_000; // the token expires during the shift
    await expect(d.engine.sync()).rejects.toBeInstanceOf(AuthRequiredError);
    expect((await unconfirmedRows(d.db)).length).toBe(1);
    await d.signIn('op2'); // the next shift signs in on the same handheld
    await d.engine.sync();
    expect(d.engine.pending).toBe(0);
    const admin = await s.login('admin', TEST_ADMIN_PASSWORD);
    const events = (await (await s.api('/api/events?after=0', { token: admin.token })).json()) as {
      type: string;
      meta: { clientID: string; userId: string };
    }[];
    expect(
      events.filter((e) => e.meta.clientID === d.engine.clientID).map((e) => e.meta.userId),
    ).toEqual([op1]);
  });

  it('a refused scan comes back as data the operator can read, and does not block the queue (scenario 4)', async () => {
    const s = await server();
    const d = await device(s, 'op1');
    await d.engine.pull();
    await d.engine.mutate('receiveStock', { itemId: 'A', positionId: 'P', quantity: 3 });
    const bad = await d.engine.mutate('moveStock', {
      itemId: 'A',
      from: 'P',
      to: 'P',
      quantity: 1,
    });
    expect(bad.decision).toMatchObject({ kind: 'rejected', code: 'SAME_POSITION' }); // a warning at scan time already
    await d.engine.mutate('moveStock', { itemId: 'A', from: 'P', to: 'Q', quantity: 1 });
    await d.engine.sync();
    expect(d.engine.pending).toBe(0);
    const outcomes = await d.db.outcomes.toArray();
    expect(outcomes).toEqual([
      expect.objectContaining({
        mutationID: bad.id,
        status: 'rejected',
        code: 'SAME_POSITION',
        message: 'source and destination are the same position',
        // What the scan was, for the operator to tell which one to redo.
        name: 'moveStock',
        args: { itemId: 'A', from: 'P', to: 'P', quantity: 1 },
      }),
    ]);
    expect([qty(d.engine, 'A', 'P'), qty(d.engine, 'A', 'Q')]).toEqual([2, 1]);
  });

  it('a malformed command is not queued', async () => {
    const s = await server();
    const d = await device(s, 'op1');
    await expect(
      d.engine.mutate('receiveStock', { itemId: 'A', positionId: 'P', quantity: -1 }),
    ).rejects.toBeInstanceOf(InvalidCommandError);
    expect((await unconfirmedRows(d.db)).length).toBe(0);
  });

  it('two offline devices pick the last units: both converge to the server’s −4 (scenario 5, replicas)', async () => {
    const s = await server();
    const sup = await device(s, 'sup');
    await sup.engine.mutate('receiveStock', { itemId: 'A', positionId: 'P', quantity: 10 });
    await sup.engine.sync();
    const d1 = await device(s, 'op1');
    const d2 = await device(s, 'op2');
    await d1.engine.pull();
    await d2.engine.pull();
    const m1 = await d1.engine.mutate('moveStock', {
      itemId: 'A',
      from: 'P',
      to: 'Q',
      quantity: 8,
    });
    const m2 = await d2.engine.mutate('moveStock', {
      itemId: 'A',
      from: 'P',
      to: 'R',
      quantity: 6,
    });
    expect([m1.decision.kind, m2.decision.kind]).toEqual(['accepted', 'accepted']); // each device alone saw enough
    await d1.engine.sync();
    await d2.engine.sync();
    await d1.engine.pull();
    for (const e of [d1.engine, d2.engine]) {
      expect([qty(e, 'A', 'P'), qty(e, 'A', 'Q'), qty(e, 'A', 'R')]).toEqual([-4, 8, 6]);
      expect(e.pending).toBe(0);
    }
    expect(await d2.db.outcomes.toArray()).toEqual([
      expect.objectContaining({ status: 'conflict', conflicts: [expect.any(String)] }),
    ]);
  });

  it('scenario 13: a serial the device holds in stock is refused at the scan; one it could not know of is recorded with a conflict', async () => {
    const s = await server();
    const sup = await device(s, 'sup');
    await sup.engine.mutate('defineItem', { itemId: 'S', sku: 'S', name: 'S', tracking: 'serial' });
    await sup.engine.sync();
    const d1 = await device(s, 'op1');
    const d2 = await device(s, 'op2');
    await d1.engine.pull();
    await d2.engine.pull();
    const receipt = (serial: string, positionId: string) =>
      ({ itemId: 'S', positionId, quantity: 1, serial }) as const;

    expect(await d1.engine.scan('receiveStock', receipt('SN1', 'P'))).toMatchObject({
      queued: true,
    });
    await d1.engine.sync();
    await d2.engine.pull();
    // d2 knows SN1 is at P: its receipt at Q is refused on the device, nothing queued.
    expect(await d2.engine.scan('receiveStock', receipt('SN1', 'Q'))).toEqual({
      queued: false,
      decision: {
        kind: 'rejected',
        code: 'SERIAL_ELSEWHERE',
        message: 'serial SN1 of S is already in stock at P',
      },
    });
    expect(d2.engine.pending).toBe(0);

    // SN2 is received by d1 while d2 has not heard of it (d2 offline, say): d2's receipt is
    // queued, and the server records both with a serial-elsewhere conflict.
    await d1.engine.scan('receiveStock', receipt('SN2', 'P'));
    await d1.engine.sync();
    expect(await d2.engine.scan('receiveStock', receipt('SN2', 'Q'))).toMatchObject({
      queued: true,
      decision: { kind: 'accepted', conflicts: [] },
    });
    await d2.engine.sync();
    expect(await d2.db.outcomes.toArray()).toEqual([
      expect.objectContaining({ status: 'conflict', conflicts: [expect.any(String)] }),
    ]);
    expect(
      d2.engine.view
        .linesWithSerial('SN2' as never)
        .map((l) => l.positionId)
        .sort(),
    ).toEqual(['P', 'Q']);
  });

  it('a pending scan is re-decided on top of what others did (rebase)', async () => {
    const s = await server();
    const sup = await device(s, 'sup');
    await sup.engine.mutate('receiveStock', { itemId: 'A', positionId: 'P', quantity: 5 });
    await sup.engine.sync();
    const d = await device(s, 'op1');
    await d.engine.pull();
    s.net.down = true;
    await d.engine.mutate('moveStock', { itemId: 'A', from: 'P', to: 'Q', quantity: 2 });
    expect(qty(d.engine, 'A', 'P')).toBe(3);
    s.net.down = false;
    await sup.engine.mutate('shipStock', { itemId: 'A', from: 'P', quantity: 5 }); // meanwhile, on another device
    await sup.engine.sync();
    await d.engine.pull(); // confirmed: P=0; the pending move is decided again on top
    expect(d.engine.pending).toBe(1);
    expect(d.engine.confirmedView.quantity('A' as never, 'P' as never, null, null)).toBe(0);
    expect(qty(d.engine, 'A', 'P')).toBe(-2);
    expect(qty(d.engine, 'A', 'Q')).toBe(2);
  });

  it('movement lists on the device: from the snapshot and the log, scanned offline, kept over a restart (scenario 18, engine level)', async () => {
    const s = await server();
    const LIST = '0192f0c8-0000-7000-8000-0000000000f1';
    const sup = await device(s, 'sup');
    await sup.engine.mutate('createList', {
      listId: LIST,
      type: 'receipt',
      code: 'R-1001',
      lines: [
        { lineNo: 1, itemId: 'A', quantity: 10, suggestedPositionId: 'P' },
        { lineNo: 2, itemId: 'A', quantity: 5 },
      ],
    });
    await sup.engine.sync();
    // A new device gets the open list in its snapshot.
    const name = `device-${randomUUID()}`;
    const d = await device(s, 'op1', { dbName: name });
    await d.engine.pull();
    expect(d.engine.lists.lists.get(LIST as never)?.code).toBe('R-1001');

    // Offline: 6 to P and 4 to Q complete line 1 on the device at once.
    s.net.down = true;
    const scan = (positionId: string, quantity: number, lineNo = 1) =>
      d.engine.mutate('receiveStock', { itemId: 'A', positionId, quantity, listId: LIST, lineNo });
    expect((await scan('P', 6)).decision.kind).toBe('accepted');
    expect((await scan('Q', 4)).decision.kind).toBe('accepted');
    const line = () => d.engine.lists.lists.get(LIST as never)?.lines[0];
    expect(line()).toMatchObject({ confirmed: 10, status: 'done' });
    expect(line()?.confirmations.map((c) => [c.positionId, c.deviation])).toEqual([
      ['P', false],
      ['Q', true],
    ]);
    // A line the list does not have: the goods are received all the same, and the device
    // already flags the reference (the server decides, and records the same conflict).
    const wrong = await scan('P', 1, 9);
    expect(wrong.decision).toMatchObject({
      kind: 'accepted',
      conflicts: [{ kind: 'unknown-code' }],
    });

    // The app restarts offline: the queue and the list as scanned are still there.
    d.db.close();
    const again = await sameInstallation(s, name, d.session);
    expect(again.engine.lists.lists.get(LIST as never)?.lines[0]?.confirmed).toBe(10);

    s.net.down = false;
    await again.engine.sync();
    expect(again.engine.pending).toBe(0);
    // Confirmed by the server now: the list came back through the log, the same as scanned.
    const confirmed = again.engine.lists.lists.get(LIST as never);
    expect(confirmed?.status).toBe('in-progress');
    expect(confirmed?.lines.map((l) => [l.confirmed, l.status])).toEqual([
      [10, 'done'],
      [0, 'open'],
    ]);
    // And the supervisor closes it: it leaves the device, as it leaves a new device's snapshot.
    await sup.engine.mutate('closeList', { listId: LIST });
    await sup.engine.sync();
    await again.engine.pull();
    expect(again.engine.lists.lists.has(LIST as never)).toBe(false);
    again.db.close();
    const restarted = await sameInstallation(s, name, d.session);
    expect(restarted.engine.lists.lists.size).toBe(0);
    // A scan made against it offline is still recorded: the goods moved (the server flags it).
    const late = await restarted.engine.mutate('receiveStock', {
      itemId: 'A',
      positionId: 'R',
      quantity: 2,
      listId: LIST,
      lineNo: 2,
    });
    expect(late.decision.kind).toBe('accepted');
    await restarted.engine.sync();
    expect(await s.stockAt('A', 'R')).toBe(2);
  });

  it('counting sessions on the device: from the snapshot and the log, counted offline, gone once cancelled (scenario 19, engine level)', async () => {
    const s = await server();
    const C1 = '0192f0c8-0000-7000-8000-00000000c001';
    const sup = await device(s, 'sup');
    const name = `device-${randomUUID()}`;
    const d = await device(s, 'op1', { dbName: name });
    const op1 = d.session.user?.id ?? '';
    await sup.engine.pull(); // the supervisor's device decides with the master data
    for (const [n, args] of [
      ['receiveStock', { itemId: 'A', positionId: 'P', quantity: 100 }],
      ['planCountSession', { sessionId: C1, code: 'C-1', positionIds: ['P', 'Q'], mode: 'blind' }],
      ['assignCountSession', { sessionId: C1, userIds: [op1] }],
      ['startCountSession', { sessionId: C1 }],
    ] as const)
      expect((await sup.engine.mutate(n, args)).decision.kind).toBe('accepted');
    await sup.engine.sync();
    await d.engine.pull();
    const session = () => d.engine.counting.sessions.get(C1 as never);
    expect(session()).toMatchObject({ code: 'C-1', status: 'counting', assignees: [op1] });
    expect([...(d.engine.counting.scopes.get(C1 as never) ?? [])]).toEqual(['P', 'Q']);

    // Offline: the count is decided on the device with the server's rules.
    s.net.down = true;
    await d.engine.mutate('startPositionCount', { sessionId: C1, positionId: 'P' });
    const counted = await d.engine.mutate('recordCount', {
      sessionId: C1,
      positionId: 'P',
      itemId: 'A',
      counted: 95,
      expected: qty(d.engine, 'A', 'P'),
    });
    expect(counted.decision.kind).toBe('accepted');
    const outOfScope = await d.engine.mutate('recordCount', {
      sessionId: C1,
      positionId: 'R',
      itemId: 'A',
      counted: 1,
      expected: 0,
    });
    expect(outOfScope.decision).toMatchObject({ kind: 'rejected', code: 'COUNT_OUT_OF_SCOPE' });
    const line = () => d.engine.counting.records.get(`${C1}\u00001`);
    expect(line()?.counts.map((c) => [c.countedBy, c.counted, c.expected])).toEqual([
      [op1, 95, 100],
    ]);
    expect(session()?.openCounts).toBe(1);

    // Restarted offline: the queue and the session as counted are still there.
    d.db.close();
    const again = await sameInstallation(s, name, d.session);
    expect(again.engine.counting.records.get(`${C1}\u00001`)?.counts[0]?.counted).toBe(95);

    s.net.down = false;
    await again.engine.sync();
    expect(again.engine.pending).toBe(0);
    // Confirmed by the server: the line came back through the log, the same as counted.
    expect(again.engine.counting.records.get(`${C1}\u00001`)?.counts[0]).toMatchObject({
      countedBy: op1,
      counted: 95,
      expected: 100,
    });
    // A new device gets the line in its snapshot.
    const fresh = await device(s, 'op2');
    await fresh.engine.pull();
    expect(fresh.engine.counting.records.get(`${C1}\u00001`)?.counts[0]?.counted).toBe(95);
    expect(fresh.engine.counting.positions.size).toBe(1);

    // Cancelled: it leaves the device with its lines and positions, and stays gone after a restart.
    await sup.engine.mutate('cancelCountSession', { sessionId: C1, note: 'recount next week' });
    await sup.engine.sync();
    await again.engine.pull();
    expect(again.engine.counting.sessions.size).toBe(0);
    expect(again.engine.counting.records.size).toBe(0);
    again.db.close();
    const restarted = await sameInstallation(s, name, d.session);
    expect(restarted.engine.counting.sessions.size).toBe(0);
    expect(restarted.engine.counting.positions.size).toBe(0);
  });

  it('a filled-in sheet is queued all or nothing: any row the device refuses leaves the queue as it was (scanAll)', async () => {
    const s = await server();
    const C1 = '0192f0c8-0000-7000-8000-00000000c011';
    const name = `device-${randomUUID()}`;
    const sup = await device(s, 'sup', { dbName: name });
    await sup.engine.pull();
    await sup.engine.mutate('receiveStock', { itemId: 'A', positionId: 'P', quantity: 100 });
    const before = sup.engine.pending;
    const overlayBefore = sup.engine.counting;

    // Decided in order, each on top of the ones before: the start needs the plan before it.
    const planned = await sup.engine.scanAll([
      {
        name: 'planCountSession',
        args: { sessionId: C1, code: 'C-11', positionIds: ['P', 'Q'], mode: 'blind' },
      },
      { name: 'startCountSession', args: { sessionId: C1 } },
    ]);
    expect(planned).toEqual({ queued: true, ids: [before + 1, before + 2] });
    expect(sup.engine.counting.sessions.get(C1 as never)?.status).toBe('counting');

    // One row out of the session's scope: nothing of the sheet is queued, the view is unchanged.
    const rows = (positionId: string) => [
      {
        name: 'recordCount',
        args: { sessionId: C1, positionId: 'P', itemId: 'A', counted: 97, expected: 100 },
      },
      {
        name: 'recordCount',
        args: { sessionId: C1, positionId, itemId: 'A', counted: 1, expected: 0 },
      },
    ];
    const counting = sup.engine.counting;
    const refused = await sup.engine.scanAll(rows('R'));
    expect(refused).toEqual({
      queued: false,
      refused: [
        {
          index: 1,
          decision: expect.objectContaining({ kind: 'rejected', code: 'COUNT_OUT_OF_SCOPE' }),
        },
      ],
    });
    expect(sup.engine.pending).toBe(before + 2);
    expect((await unconfirmedRows(sup.db)).length).toBe(before + 2);
    expect(sup.engine.counting).toBe(counting);
    expect(sup.engine.counting.records.size).toBe(0);
    // A row the device cannot read at all: thrown before anything is queued.
    await expect(
      sup.engine.scanAll([rows('Q')[0] as never, { name: 'recordCount', args: { sessionId: C1 } }]),
    ).rejects.toBeInstanceOf(InvalidCommandError);
    expect((await unconfirmedRows(sup.db)).length).toBe(before + 2);

    // Every row fine: all queued together, with ids after those of the other tab's scans.
    const { engine: tab2 } = await sameInstallation(s, name, sup.session);
    const other = await tab2.mutate('receiveStock', { itemId: 'A', positionId: 'Q', quantity: 1 });
    const sheet = await sup.engine.scanAll(rows('Q'));
    expect(sheet).toEqual({ queued: true, ids: [other.id + 1, other.id + 2] });
    expect(sup.engine.counting.records.size).toBe(2);
    expect(overlayBefore.sessions.size).toBe(0); // the views are values: the old one is untouched
    await sup.engine.sync();
    expect(sup.engine.pending).toBe(0);
    expect(await sup.db.outcomes.count()).toBe(0); // none rejected by the server
    const fresh = await device(s, 'op2');
    await fresh.engine.pull();
    expect(
      [...fresh.engine.counting.records.values()]
        .map((r) => [r.positionId, r.counts[0]?.counted])
        .sort(),
    ).toEqual([
      ['P', 97],
      ['Q', 1],
    ]);
  });

  it('scanAll’s trial leaves no trace: a refused batch leaves stock as it was, a queued one counts once (review finding)', async () => {
    const s = await server();
    const d = await device(s, 'sup');
    await d.engine.pull();
    // A row pending: the overlay is the engine's own copy, which folding changes in place.
    await d.engine.mutate('receiveStock', { itemId: 'A', positionId: 'P', quantity: 10 });
    const move = (from: string, to: string, quantity: number) => ({
      name: 'moveStock',
      args: { itemId: 'A', from, to, quantity },
    });
    const where = () => ['P', 'Q', 'R'].map((p) => qty(d.engine, 'A', p));
    const refused = await d.engine.scanAll([move('P', 'Q', 3), move('P', 'P', 1)]);
    expect(refused).toMatchObject({ queued: false, refused: [{ index: 1 }] });
    expect(where()).toEqual([10, 0, 0]);
    expect(d.engine.pending).toBe(1);
    // In order, each on top of the one before: the second moves what the first brought.
    const queued = await d.engine.scanAll([move('P', 'Q', 3), move('Q', 'R', 2)]);
    expect(queued.queued).toBe(true);
    expect(where()).toEqual([7, 1, 2]);
    await d.engine.sync();
    expect(d.engine.pending).toBe(0);
    expect(where()).toEqual([7, 1, 2]);
    expect([
      await s.stockAt('A', 'P'),
      await s.stockAt('A', 'Q'),
      await s.stockAt('A', 'R'),
    ]).toEqual([7, 1, 2]);
  });

  it('a device that signs in during a count gets its lines and positions from a snapshot in pages (found by the simulator)', async () => {
    const s = await server();
    const C1 = '0192f0c8-0000-7000-8000-00000000c002';
    const sup = await device(s, 'sup');
    const op = await device(s, 'op1');
    const op1 = op.session.user?.id ?? '';
    await sup.engine.pull();
    for (const [n, args] of [
      ['receiveStock', { itemId: 'A', positionId: 'P', quantity: 100 }],
      ['planCountSession', { sessionId: C1, code: 'C-2', positionIds: ['P', 'Q'], mode: 'blind' }],
      ['assignCountSession', { sessionId: C1, userIds: [op1] }],
      ['startCountSession', { sessionId: C1 }],
    ] as const)
      expect((await sup.engine.mutate(n, args)).decision.kind).toBe('accepted');
    await sup.engine.sync();
    await op.engine.pull();
    await op.engine.mutate('startPositionCount', { sessionId: C1, positionId: 'P' });
    await op.engine.mutate('recordCount', {
      sessionId: C1,
      positionId: 'P',
      itemId: 'A',
      counted: 97,
      expected: 100,
    });
    await op.engine.sync();
    expect(op.engine.pending).toBe(0);

    // Snapshot keys sort count-line < count-position < count-session: in pages of 2, the line
    // and the position come before the session they belong to.
    const paged = await device(s, 'op2', { pullLimit: 2 });
    const whole = await device(s, 'op2');
    expect((await paged.engine.pull()).pages).toBeGreaterThan(2);
    await whole.engine.pull();
    const summary = (e: typeof paged.engine) => ({
      sessions: [...e.counting.sessions.keys()],
      lines: [...e.counting.records.values()].map((r) => [
        r.lineNo,
        r.counts.map((c) => c.counted),
      ]),
      positions: [...e.counting.positions.values()].map((p) => [p.positionId, p.counted]),
    });
    expect(summary(whole.engine)).toEqual({
      sessions: [C1],
      lines: [[1, [97]]],
      positions: [['P', true]],
    });
    expect(summary(paged.engine)).toEqual(summary(whole.engine));

    // And it follows the count from there: the next count lands on the line it has.
    await op.engine.mutate('recordCount', {
      sessionId: C1,
      positionId: 'P',
      itemId: 'A',
      counted: 98,
      expected: 100,
    });
    await op.engine.sync();
    await paged.engine.pull();
    expect(summary(paged.engine).lines).toEqual([[1, [97, 98]]]);
  });

  it('production jobs on the device: running ones decide consumption and production offline; a completed one leaves', async () => {
    const s = await server();
    const J = '0192f0c8-0000-7000-8000-0000000000e1';
    const sup = await device(s, 'sup');
    await sup.engine.pull();
    for (const [n, args] of [
      ['receiveStock', { itemId: 'A', positionId: 'P', quantity: 10 }],
      ['createProductionJob', { jobId: J, code: 'J-1', itemId: 'A' }],
      ['startProductionJob', { jobId: J }],
    ] as const)
      expect((await sup.engine.mutate(n, args)).decision.kind).toBe('accepted');
    await sup.engine.sync();
    const name = `device-${randomUUID()}`;
    const d = await device(s, 'op1', { dbName: name });
    await d.engine.pull();
    expect(d.engine.jobs.get(J as never)).toMatchObject({ code: 'J-1', status: 'running' });

    s.net.down = true;
    const consumed = await d.engine.mutate('consumeForJob', {
      jobId: J,
      itemId: 'A',
      from: 'P',
      quantity: 3,
    });
    expect(consumed.decision).toMatchObject({ kind: 'accepted', conflicts: [] });
    const produced = await d.engine.mutate('produceForJob', {
      jobId: J,
      itemId: 'A',
      to: 'Q',
      quantity: 1,
    });
    expect(produced.decision.kind).toBe('accepted');
    expect(qty(d.engine, 'A', 'P')).toBe(7);
    expect(d.engine.jobs.get(J as never)?.produced).toBe(1);
    // Restarted offline: the job is still there (from the replica's entries).
    d.db.close();
    const again = await sameInstallation(s, name, d.session);
    expect(again.engine.jobs.get(J as never)?.status).toBe('running');

    s.net.down = false;
    await again.engine.sync();
    expect(again.engine.pending).toBe(0);
    expect(await s.stockAt('A', 'P')).toBe(7);
    // Completed on the server: it leaves the device (and a new device's snapshot).
    await sup.engine.mutate('completeProductionJob', { jobId: J });
    await sup.engine.sync();
    await again.engine.pull();
    expect(again.engine.jobs.has(J as never)).toBe(false);
    const fresh = await device(s, 'op2');
    await fresh.engine.pull();
    expect(fresh.engine.jobs.size).toBe(0);
  });

  it('a reversed production lowers the job on a device that never saw the production (sim finding 6)', async () => {
    const s = await server();
    const J = '0192f0c8-0000-7000-8000-0000000000e6';
    const sup = await device(s, 'sup');
    await sup.engine.pull();
    for (const [n, args] of [
      ['createProductionJob', { jobId: J, code: 'J-6', itemId: 'A' }],
      ['startProductionJob', { jobId: J }],
    ] as const)
      expect((await sup.engine.mutate(n, args)).decision.kind).toBe('accepted');
    await sup.engine.sync();
    // One device follows the job from its start: it folds the productions as they come.
    const watching = await device(s, 'op2');
    await watching.engine.pull();
    for (const quantity of [2, 3]) {
      const r = await sup.engine.mutate('produceForJob', {
        jobId: J,
        itemId: 'A',
        to: 'Q',
        quantity,
      });
      expect(r.decision.kind).toBe('accepted');
    }
    await sup.engine.sync();
    // Another signs in after them: its snapshot has the job at 5, and no StockProduced.
    const late = await device(s, 'op1');
    await late.engine.pull();
    await watching.engine.pull();
    expect(late.engine.jobs.get(J as never)?.produced).toBe(5);
    expect(watching.engine.jobs.get(J as never)?.produced).toBe(5);

    const events = (await (
      await s.api('/api/events?after=0&limit=2000', { token: s.admin.token })
    ).json()) as { id: string; type: string; data: { quantity?: number } }[];
    const three = events.find((e) => e.type === 'StockProduced' && e.data.quantity === 3);
    if (!three) throw new Error('no StockProduced of 3 in the log');
    const reversed = await sup.engine.mutate('reverseMovement', { eventId: three.id });
    expect(reversed.decision.kind).toBe('accepted');
    await sup.engine.sync();
    await late.engine.pull();
    await watching.engine.pull();
    // The server's count, as a device signing in now gets it: 2. Both devices follow it.
    const fresh = await device(s, 'op1');
    await fresh.engine.pull();
    expect(fresh.engine.jobs.get(J as never)?.produced).toBe(2);
    expect(late.engine.jobs.get(J as never)?.produced).toBe(2);
    expect(watching.engine.jobs.get(J as never)?.produced).toBe(2);
    expect(qty(late.engine, 'A', 'Q')).toBe(2);
  });

  it('a new device starts from a paged snapshot with progress, then follows events (scenario 9, engine level)', async () => {
    const s = await server();
    const sup = await device(s, 'sup');
    for (let i = 0; i < 30; i++) {
      await sup.engine.mutate('defineItem', {
        itemId: `I${i}`,
        sku: `SKU-${i}`,
        name: `Item ${i}`,
        tracking: 'none',
      });
      await sup.engine.mutate('receiveStock', {
        itemId: `I${i}`,
        positionId: ['P', 'Q', 'R'][i % 3],
        quantity: i + 1,
      });
    }
    await sup.engine.sync();
    const fresh = await device(s, 'op1', { pullLimit: 7 });
    const seen: number[] = [];
    const progress = await fresh.engine.pull((p) => seen.push(p.entries));
    expect(progress.resetting).toBe(true);
    expect(progress.pages).toBeGreaterThan(5);
    // Progress is reported page by page, growing, up to every entry of the snapshot.
    expect(seen.length).toBeGreaterThan(5);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1] as number);
    expect(seen.at(-1)).toBe(progress.entries);
    expect(progress.entries).toBeGreaterThanOrEqual(30 + 3 + 1 + 30);
    expect(progress.events).toBe(0); // no history replayed
    for (let i = 0; i < 30; i++)
      expect(
        fresh.engine.view.quantity(`I${i}` as never, ['P', 'Q', 'R'][i % 3] as never, null, null),
      ).toBe(i + 1);
    expect((await readConfirmed(fresh.db)).size).toBe(30 + 3 + 1 + 30);
    await sup.engine.mutate('moveStock', { itemId: 'I0', from: 'P', to: 'Q', quantity: 1 });
    await sup.engine.sync();
    const next = await fresh.engine.pull();
    expect(next.events).toBe(1);
    expect(fresh.engine.view.quantity('I0' as never, 'Q' as never, null, null)).toBe(1);
  });

  it('two tabs of one installation write to one queue without clashing ids (scenario 8, storage level)', async () => {
    const s = await server();
    const name = `device-${randomUUID()}`;
    const tab1 = await device(s, 'op1', { dbName: name });
    const { db: db2, engine: tab2 } = await sameInstallation(s, name, tab1.session);
    const ids = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? tab1.engine : tab2).mutate('receiveStock', {
          itemId: 'A',
          positionId: 'P',
          quantity: 1,
        }),
      ),
    );
    expect(ids.map((r) => r.id).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    const syncer = await SyncEngine.open({
      db: db2,
      baseUrl: TEST_BASE,
      fetch: s.fetchFn,
      token: () => tab1.session.token,
      user: () => tab1.session.user,
    });
    await syncer.sync();
    expect(await s.stockAt('A', 'P')).toBe(20);
    expect((await unconfirmedRows(db2)).length).toBe(0);
  });
});

describe('pokes', () => {
  it('a device hears a poke when another device’s push commits, and pulls it (scenario 10, engine level)', async () => {
    const s = await server();
    const watcher = await device(s, 'op1');
    await watcher.engine.pull();
    const controller = new AbortController();
    const heads: number[] = [];
    let pulled: Promise<unknown> = Promise.resolve();
    const listening = listenForPokes({
      baseUrl: TEST_BASE,
      fetch: s.fetchFn,
      token: () => watcher.session.token,
      signal: controller.signal,
      onPoke: (head) => {
        heads.push(head);
        pulled = watcher.engine.pull();
      },
    });
    cleanups.push(async () => {
      controller.abort();
      await listening;
    });
    const deadline = Date.now() + 5000;
    while (heads.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(heads).toHaveLength(1); // the poke on connect
    const other = await device(s, 'op2');
    await other.engine.mutate('receiveStock', { itemId: 'A', positionId: 'R', quantity: 4 });
    await other.engine.sync();
    while (heads.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await pulled;
    expect(heads.at(-1)).toBeGreaterThan(heads[0] ?? 0);
    expect(qty(watcher.engine, 'A', 'R')).toBe(4);
  });
});

describe('engine under concurrency (review findings)', () => {
  it('the syncing tab sends what another tab queued in between (no endless gap)', async () => {
    const s = await server();
    const name = `device-${randomUUID()}`;
    const tabA = await device(s, 'op1', { dbName: name });
    const { db: dbB, engine: tabB } = await sameInstallation(s, name, tabA.session);
    await tabB.mutate('receiveStock', { itemId: 'A', positionId: 'P', quantity: 1 }); // id 1, unseen by tab A
    await tabA.engine.mutate('receiveStock', { itemId: 'A', positionId: 'P', quantity: 2 }); // id 2
    await tabA.engine.sync();
    expect(await s.stockAt('A', 'P')).toBe(3);
    expect(s.net.calls.filter((u) => u.endsWith('/sync/push')).length).toBeLessThan(5);
    expect((await unconfirmedRows(dbB)).length).toBe(0);
  });

  it('a tab whose next id went stale while the other tab sent and cleared that id takes the next one (no id used twice)', async () => {
    const s = await server();
    const name = `device-${randomUUID()}`;
    const tabA = await device(s, 'op1', { dbName: name });
    const { db: dbB, engine: tabB } = await sameInstallation(s, name, tabA.session);
    await tabB.mutate('receiveStock', { itemId: 'A', positionId: 'P', quantity: 1 }); // id 1: both tabs now expect 2
    await tabA.engine.mutate('receiveStock', { itemId: 'A', positionId: 'P', quantity: 2 }); // id 2
    await tabA.engine.sync(); // sends 1 and 2; the acknowledged rows leave the outbox
    expect((await unconfirmedRows(dbB)).length).toBe(0);
    // Tab B still expects id 2. Row 2 is gone, so only the stored counter tells it is taken.
    const r = await tabB.mutate('receiveStock', { itemId: 'A', positionId: 'P', quantity: 4 });
    expect(r.id).toBe(3);
    await tabB.sync();
    expect(await s.stockAt('A', 'P')).toBe(7); // a reused id 2 would be a duplicate: 3
  });

  it('overlapping pulls never apply a page twice', async () => {
    const s = await server();
    const sup = await device(s, 'sup');
    await sup.engine.mutate('receiveStock', { itemId: 'A', positionId: 'P', quantity: 5 });
    await sup.engine.sync();
    const d = await device(s, 'op1');
    await Promise.all([d.engine.pull(), d.engine.pull(), d.engine.sync()]);
    expect(qty(d.engine, 'A', 'P')).toBe(5);
    const entries = await readConfirmed(d.db);
    expect(
      [...entries]
        .filter(([key]) => key.startsWith('s/stock/'))
        .map(([, value]) => (value as { quantity: number }).quantity),
    ).toEqual([5]);
  });

  it('pending rows are re-decided as the server will decide them: the author’s role, never more than the session’s', async () => {
    const s = await server();
    const d = await device(s, 'sup');
    await d.engine.pull();
    s.net.down = true;
    await d.engine.mutate('defineItem', {
      itemId: 'NEW',
      sku: 'NEW',
      name: 'New item',
      tracking: 'none',
    });
    expect(d.engine.view.item('NEW' as never)?.sku).toBe('NEW'); // the supervisor sees it at once
    await d.signIn('op1'); // the next shift signs in before it was sent
    s.net.down = false;
    await d.engine.pull();
    expect(d.engine.view.item('NEW' as never)).toBeUndefined(); // an operator's session cannot define items…
    await d.engine.sync();
    const outcome = await d.db.outcomes.toArray();
    expect(outcome).toEqual([expect.objectContaining({ status: 'rejected', code: 'FORBIDDEN' })]); // …and the server agrees
  });

  it('a scan committed while a pull page is being written is neither lost nor applied twice', async () => {
    const s = await server();
    const d = await device(s, 'op1');
    await d.engine.pull();
    await d.engine.mutate('receiveStock', { itemId: 'A', positionId: 'P', quantity: 1 });
    await d.engine.push();
    // The next page confirms mutation 1 and writes its stock line; while its transaction is
    // open, the operator scans again (mutation 2).
    let during: Promise<{ id: number }> | null = null;
    const scanNow = () => {
      during ??= Dexie.ignoreTransaction(() =>
        d.engine.mutate('receiveStock', { itemId: 'A', positionId: 'P', quantity: 2 }),
      );
    };
    d.db.entries.hook('creating', scanNow);
    d.db.entries.hook('updating', scanNow);
    const page = await d.engine.pull();
    d.db.entries.hook('creating').unsubscribe(scanNow);
    d.db.entries.hook('updating').unsubscribe(scanNow);
    expect(page.events).toBe(1);
    expect(during).not.toBeNull();
    expect((await during!).id).toBe(2);
    // Mutation 1 confirmed, 2 queued: each counted once, in memory and after a restart.
    expect(d.engine.pending).toBe(1);
    expect(qty(d.engine, 'A', 'P')).toBe(3);
    expect(qty({ view: d.engine.confirmedView } as SyncEngine, 'A', 'P')).toBe(1);
    expect((await unconfirmedRows(d.db)).map((r) => r.id)).toEqual([2]);
    const restarted = await SyncEngine.open({
      db: d.db,
      baseUrl: TEST_BASE,
      fetch: s.fetchFn,
      token: () => d.session.token,
      user: () => d.session.user,
    });
    expect(restarted.pending).toBe(1);
    expect(qty(restarted, 'A', 'P')).toBe(3);
    await d.engine.sync();
    expect(d.engine.pending).toBe(0);
    expect(await s.stockAt('A', 'P')).toBe(3);
    expect(qty(d.engine, 'A', 'P')).toBe(3);
    expect((await unconfirmedRows(d.db)).length).toBe(0);
  });

  it('a push takes along what another tab queued and never announced (it was closed at once)', async () => {
    const s = await server();
    const name = `device-${randomUUID()}`;
    const tab1 = await device(s, 'op1', { dbName: name });
    await tab1.engine.pull();
    const tab2 = await sameInstallation(s, name, tab1.session);
    // Tab 1 queues two scans and is closed before any message reaches tab 2.
    await tab1.engine.mutate('receiveStock', { itemId: 'A', positionId: 'Q', quantity: 2 });
    await tab1.engine.mutate('receiveStock', { itemId: 'A', positionId: 'Q', quantity: 3 });
    tab1.db.close();
    expect(tab2.engine.pending).toBe(0); // it has not heard of them
    const pushed = await tab2.engine.push();
    expect(pushed.sent).toBe(2);
    expect(await s.stockAt('A', 'Q')).toBe(5);
  });

  it('a pulled page never waits for the outbox: it is written outside the scan’s tables, and confirmed rows beyond the journal are dropped after the pull', async () => {
    const s = await server();
    const d = await device(s, 'op1', { journalRows: 2 });
    await d.engine.pull();
    const scopes: string[][] = [];
    const original = d.db.transaction.bind(d.db) as (...a: unknown[]) => unknown;
    (d.db as unknown as { transaction: (...a: unknown[]) => unknown }).transaction = (
      ...a: unknown[]
    ) => {
      const tables = a.slice(1, -1).flat() as { name: string }[];
      // Writes only: a push reads the shared queue (read-only) to take other tabs' scans along.
      if (a[0] === 'rw') scopes.push(tables.map((t) => t.name).sort());
      return original(...a);
    };
    for (let i = 0; i < 3; i++)
      await d.engine.mutate('receiveStock', { itemId: 'A', positionId: 'P', quantity: 1 });
    await d.engine.sync();
    const pageScopes = scopes.filter((t) => t.includes('cursor'));
    expect(pageScopes.length).toBeGreaterThan(0);
    for (const t of pageScopes) expect(t).not.toContain('outbox');
    for (const t of pageScopes) expect(t).not.toContain('meta');
    expect((await unconfirmedRows(d.db)).length).toBe(0);
    // The journal keeps the newest two confirmed rows, to send again to a restored server.
    expect((await d.db.outbox.toArray()).map((r) => r.id)).toEqual([2, 3]);
    expect(d.engine.pending).toBe(0);
    expect(qty(d.engine, 'A', 'P')).toBe(3);
  });
});

describe('replica storage', () => {
  it('a replica of version 1 (cookie in meta, one row per entry) opens as version 2 with its queue and state', async () => {
    const s = await server();
    const d = await device(s, 'op1');
    await d.engine.pull();
    const confirmed = await readConfirmed(d.db);
    const name = `device-v1-${randomUUID()}`;
    const v1 = new Dexie(name);
    v1.version(1).stores({
      outbox: 'id',
      entries: 'key',
      events: 'seq',
      outcomes: 'key, mutationID',
      meta: 'key',
    });
    await v1.open();
    const row = {
      id: 2,
      clientID: 'c-old',
      name: 'receiveStock',
      args: { itemId: 'A', positionId: 'P', quantity: 4 },
      userID: d.session.user?.id ?? null,
      role: 'operator',
      occurredAt: new Date(0).toISOString(),
      timestamp: 0,
    };
    await v1.table('meta').bulkPut([
      { key: 'clientGroupID', value: 'g-old' },
      { key: 'clientID', value: 'c-old' },
      { key: 'nextMutationID', value: 3 },
      { key: 'cookie', value: 42 },
    ]);
    await v1.table('entries').bulkPut([...confirmed].map(([key, value]) => ({ key, value })));
    await v1.table('outbox').put(row);
    v1.close();

    const db = openReplica(name);
    cleanups.push(() => db.close());
    const engine = await SyncEngine.open({
      db,
      baseUrl: TEST_BASE,
      fetch: s.fetchFn,
      token: () => d.session.token,
      user: () => d.session.user,
    });
    expect(engine.clientID).toBe('c-old');
    expect(engine.pullCookie).toBe(42);
    expect(engine.queued.map((r) => r.id)).toEqual([2]);
    expect(qty(engine, 'A', 'P')).toBe(4);
    expect(await db.meta.get('cookie')).toBeUndefined();
    expect(await db.cursor.toArray()).toEqual([{ key: 'pull', cookie: 42, acked: 0 }]);
    expect(await readConfirmed(db)).toEqual(confirmed);
    // An installation from before device secrets gets one, kept for the next start. The server
    // binds it only to a group it has never seen (as here): from then on the group's ID alone
    // signs in nowhere. A group it knew without a secret stays so (docs/PROTOCOL.md).
    expect(engine.deviceSecret).toMatch(/^[0-9a-f]{64}$/);
    expect((await db.meta.get('deviceSecret'))?.value).toBe(engine.deviceSecret);
    const again = await sameInstallation(s, name, d.session);
    expect(again.engine.deviceSecret).toBe(engine.deviceSecret);
    await s.login('op1', 'op1-password', 'g-old', engine.deviceSecret);
    await expect(s.login('op1', 'op1-password', 'g-old')).rejects.toThrow('login: 403');
    await s.login('op1', 'op1-password', 'g-old', again.engine.deviceSecret);
  });
});
