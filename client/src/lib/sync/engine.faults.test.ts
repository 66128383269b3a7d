import 'fake-indexeddb/auto';
import { randomUUID } from 'node:crypto';
import type { MutationResult, Role, StockLine } from '@floorsync/domain';
import type { DBCore, DBCoreMutateRequest, DBCoreTable } from 'dexie';
import { afterEach, describe, expect, it } from 'vitest';
import { openReplica, readConfirmed, unconfirmedRows } from './db.js';
import type { ReplicaDB } from './db.js';
import {
  AuthRequiredError,
  ClientStateLostError,
  DeviceRefusedError,
  RetryableError,
  SyncEngine,
} from './engine.js';
import { TEST_BASE, startTestServer } from './test-server.js';

/**
 * The sync engine under faults: Dexie on fake-indexeddb, against the real server (the Hono app
 * on a temp SQLite file, driven in-process), with each fault injected where it happens in the
 * field — the network between them (duplicated, delayed, replayed, lost answers), the server
 * process (a 401 mid-drain, a crash and a restart on the same file) or the device's database
 * (closed under a transaction).
 */
const BASE = TEST_BASE;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** One request the device makes, and what the network does with it. */
interface SyncRequest {
  readonly path: string;
  readonly body: unknown;
}
/** A fault: decides what reaches the server (`send()`, any number of times) and what comes back. */
type Fault = (req: SyncRequest, send: () => Promise<Response>) => Promise<Response>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
const statusesOf = async (res: Response): Promise<string[]> =>
  ((await res.clone().json()) as { results: MutationResult[] }).results.map((r) => r.status);
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** The test server (`test-server.ts`), plus a faulty network and the log's view of things. */
async function server() {
  const s = await startTestServer((fn) => cleanups.push(fn));
  const { api, admin } = s;
  /** A device's fetch: every request goes through `net.fault` when one is set. */
  const transport = (net: { fault: Fault | null }): typeof fetch => {
    return async (input, init) => {
      const url = input instanceof Request ? input.url : input instanceof URL ? input.href : input;
      const p = url.replace(BASE, '');
      const send = () => s.deliver(p, init);
      const fault = net.fault;
      if (!fault) return send();
      const body: unknown = typeof init?.body === 'string' ? JSON.parse(init.body) : undefined;
      return fault({ path: p, body }, send);
    };
  };

  const events = async () =>
    (await (await api('/api/events?after=0&limit=2000', { token: admin.token })).json()) as {
      seq: number;
      type: string;
      meta: { clientID: string; mutationID: number };
    }[];
  /** The server's head: the seq of its last event. */
  const head = async () => (await events()).at(-1)?.seq ?? 0;
  /**
   * The mutation ids of `clientID` the server applied, sorted. A mutation applied twice would
   * show twice (its events are recorded again), so this is "exactly once" when it is 1…n.
   */
  const appliedIDs = async (clientID: string) => {
    const mine = (await events()).filter((e) => e.meta.clientID === clientID);
    const ids: number[] = [];
    const seen = new Set<string>();
    for (const { type, meta } of mine) {
      const again = seen.has(`${meta.mutationID}:${type}`); // the same event of one mutation
      if (again || !ids.includes(meta.mutationID)) ids.push(meta.mutationID);
      seen.add(`${meta.mutationID}:${type}`);
    }
    return ids.sort((a, b) => a - b);
  };
  const stock = async () =>
    (await (await api('/api/stock', { token: admin.token })).json()) as StockLine[];
  return { ...s, transport, head, appliedIDs, stock };
}

type Server = Awaited<ReturnType<typeof server>>;

/** A handheld: its own IndexedDB database, a session, the engine, and the network it sees. */
async function device(
  s: Server,
  username: string,
  options: { batchSize?: number; onChange?: () => void } = {},
) {
  const dbName = `device-${randomUUID()}`;
  const net = { fault: null as Fault | null };
  const session = { token: null as string | null, user: null as { id: string; role: Role } | null };
  const openEngine = (db: ReplicaDB) =>
    SyncEngine.open({
      db,
      baseUrl: BASE,
      fetch: s.transport(net),
      token: () => session.token,
      user: () => session.user,
      batchSize: options.batchSize ?? 50,
      ...(options.onChange ? { onChange: options.onChange } : {}),
    });
  const db = openReplica(dbName);
  cleanups.push(() => db.close());
  const engine = await openEngine(db);
  const signIn = async () => {
    const r = await s.login(username, `${username}-password`, engine.clientGroupID);
    session.token = r.token;
    session.user = r.user;
  };
  await signIn();
  /** The app restarts: a new Dexie instance on the same database, a new engine over it. */
  const reopen = async (prepare?: (db: ReplicaDB) => void) => {
    const db2 = openReplica(dbName);
    prepare?.(db2);
    cleanups.push(() => db2.close());
    return { db: db2, engine: await openEngine(db2) };
  };
  return { db, engine, session, signIn, net, reopen };
}

const qty = (engine: SyncEngine, item: string, position: string) =>
  engine.view.quantity(item as never, position as never, null, null);

const lineKey = (l: StockLine) => `${l.itemId}@${l.positionId}/${l.lot ?? ''}/${l.serial ?? ''}`;

/** The replica (persisted and in memory) holds exactly the server's stock. */
async function expectReplicaEqualsServer(s: Server, db: ReplicaDB, engine: SyncEngine) {
  const server = (await s.stock())
    .filter((l) => l.quantity !== 0)
    .map((l) => `${lineKey(l)}=${l.quantity}`)
    .sort();
  const persisted = [...(await readConfirmed(db))]
    .filter(([key]) => key.startsWith('s/stock/'))
    .map(([, value]) => value as StockLine)
    .filter((l) => l.quantity !== 0)
    .map((l) => `${lineKey(l)}=${l.quantity}`)
    .sort();
  expect(persisted).toEqual(server);
  const inMemory = (await s.stock()).map(
    (l) =>
      `${lineKey(l)}=${engine.confirmedView.quantity(l.itemId, l.positionId, l.lot, l.serial)}`,
  );
  expect(inMemory.filter((l) => !l.endsWith('=0')).sort()).toEqual(server);
}

/** Receives `quantity` of A at P: each scan adds what it says, so a double count shows. */
const receive = (engine: SyncEngine, quantity: number, positionId = 'P') =>
  engine.mutate('receiveStock', { itemId: 'A', positionId, quantity });

describe('engine under faults', () => {
  it('duplicates: every batch and pull delivered twice, the device seeing the second answer — applied once, outbox drained, stock counted once', async () => {
    const s = await server();
    const d = await device(s, 'op1', { batchSize: 5 });
    await d.engine.pull();
    const quantities = [3, 1, 4, 1, 5, 9, 2]; // two batches: 5 and 2
    for (const q of quantities) await receive(d.engine, q);

    const pushes: { first: string[]; second: string[] }[] = [];
    d.net.fault = async (req, send) => {
      const first = await send();
      const second = await send(); // the network delivered the request again
      if (req.path === '/sync/push')
        pushes.push({ first: await statusesOf(first), second: await statusesOf(second) });
      return second; // …and the device sees the second answer
    };
    const pushed = await d.engine.push();
    expect(pushes).toEqual([
      { first: Array(5).fill('applied'), second: Array(5).fill('duplicate') },
      { first: Array(2).fill('applied'), second: Array(2).fill('duplicate') },
    ]);
    expect(pushed.results.map((r) => [r.id, r.status])).toEqual(
      range(1, 7).map((id) => [id, 'duplicate']),
    );
    await d.engine.pull();
    expect(d.engine.pending).toBe(0);
    expect((await unconfirmedRows(d.db)).length).toBe(0);
    expect(await d.db.outcomes.count()).toBe(0); // a duplicate is no refusal or conflict
    expect(await s.stockAt('A', 'P')).toBe(sum(quantities));
    expect(await s.appliedIDs(d.engine.clientID)).toEqual(range(1, 7));
    await expectReplicaEqualsServer(s, d.db, d.engine);

    // The device carries on over the same network: the next id is applied once too.
    await receive(d.engine, 6);
    await d.engine.sync();
    expect(d.engine.pending).toBe(0);
    expect(await s.stockAt('A', 'P')).toBe(sum(quantities) + 6);
    expect(await s.appliedIDs(d.engine.clientID)).toEqual(range(1, 8));
    await expectReplicaEqualsServer(s, d.db, d.engine);
  });

  it('duplicates: two copies of each batch race each other into the server — each mutation applied by exactly one copy', async () => {
    const s = await server();
    const d = await device(s, 'op1', { batchSize: 4 });
    await d.engine.pull();
    const quantities = [2, 7, 1, 8, 2, 8];
    for (const q of quantities) await receive(d.engine, q);

    const perMutation = new Map<number, string[]>();
    d.net.fault = async (req, send) => {
      if (req.path !== '/sync/push') return send();
      const copies = await Promise.all([send(), send()]); // both in flight at once
      const statuses = await Promise.all(copies.map(statusesOf));
      const ids = (req.body as { mutations: { id: number }[] }).mutations.map((m) => m.id);
      ids.forEach((id, i) => perMutation.set(id, statuses.map((st) => st[i] ?? 'missing').sort()));
      // The device sees the copy that lost the race (all duplicates), when there is one.
      const lost = statuses.findIndex((st) => st.every((x) => x === 'duplicate'));
      return copies[lost === -1 ? 1 : lost] as Response;
    };
    await d.engine.sync();
    expect([...perMutation].sort(([a], [b]) => a - b)).toEqual(
      range(1, 6).map((id) => [id, ['applied', 'duplicate']]),
    );
    expect(d.engine.pending).toBe(0);
    expect((await unconfirmedRows(d.db)).length).toBe(0);
    expect(await s.stockAt('A', 'P')).toBe(sum(quantities));
    expect(await s.appliedIDs(d.engine.clientID)).toEqual(range(1, 6));
    await expectReplicaEqualsServer(s, d.db, d.engine);
  });

  it('reordering: a pull answer held in the network is not overtaken — the next sync waits behind it, the replica never goes back and ends at the server’s head', async () => {
    const s = await server();
    const sup = await device(s, 'sup');
    await receive(sup.engine, 10);
    await sup.engine.sync();
    const cookies: unknown[] = [];
    const holder: { engine?: SyncEngine } = {};
    const d = await device(s, 'op1', { onChange: () => cookies.push(holder.engine?.pullCookie) });
    holder.engine = d.engine;
    await d.engine.pull(); // reset snapshot

    let pulls = 0;
    let release = () => {};
    const gate = new Promise<void>((r) => (release = r));
    d.net.fault = async (req, send) => {
      if (req.path !== '/sync/pull' || pulls++ > 0) return send();
      const answer = await send(); // the server answers now…
      await gate; // …the answer arrives later, stale by then
      return answer;
    };
    await d.engine.mutate('moveStock', { itemId: 'A', from: 'P', to: 'Q', quantity: 2 });
    const first = d.engine.sync();
    await until(() => pulls === 1, 'the first pull');
    // Meanwhile another device changes the stock, and this device is asked to sync again.
    await receive(sup.engine, 5);
    await sup.engine.sync();
    const second = d.engine.sync();
    const third = d.engine.pull();
    await sleep(30);
    expect(pulls).toBe(1); // single flight: nothing overtakes the held answer
    release();
    await Promise.all([first, second, third]);

    const numeric = cookies.filter((c): c is number => typeof c === 'number');
    expect(numeric.length).toBeGreaterThanOrEqual(3);
    expect(numeric).toEqual([...numeric].sort((a, b) => a - b));
    expect(d.engine.pullCookie).toBe(await s.head());
    expect(d.engine.pending).toBe(0);
    expect([qty(d.engine, 'A', 'P'), qty(d.engine, 'A', 'Q')]).toEqual([
      await s.stockAt('A', 'P'),
      await s.stockAt('A', 'Q'),
    ]);
    await expectReplicaEqualsServer(s, d.db, d.engine);
  });

  // Found by this test (fixed in engine.ts applyPage): a pull answer used to be applied
  // whatever its cookie. An old events page replayed in reply to a newer request (a proxy or
  // cache between device and server) set the cookie back and folded that page's events a
  // second time (addStock deltas are not idempotent); the replica drifted for good. Now a page
  // behind the cookie is ignored and events at or before it are skipped.
  it('reordering: a stale pull answer replayed after a newer one is ignored — the replica neither goes back nor counts events twice', async () => {
    const s = await server();
    const sup = await device(s, 'sup');
    await receive(sup.engine, 10);
    await sup.engine.sync();
    const d = await device(s, 'op1');
    await d.engine.pull(); // reset snapshot

    await receive(sup.engine, 5, 'Q');
    await sup.engine.sync();
    let recorded: string | null = null;
    d.net.fault = async (req, send) => {
      const res = await send();
      if (req.path === '/sync/pull') recorded ??= await res.clone().text();
      return res;
    };
    await d.engine.pull(); // an events page (Q +5), recorded on the way
    d.net.fault = null;
    await receive(sup.engine, 3);
    await sup.engine.sync();
    await d.engine.pull(); // a newer page (P +3)
    const cookie = d.engine.pullCookie as number;
    expect(cookie).toBe(await s.head());

    // The old answer arrives again, in reply to the next pull.
    const stale = recorded;
    expect(stale).not.toBeNull();
    d.net.fault = () =>
      Promise.resolve(
        new Response(stale, { status: 200, headers: { 'content-type': 'application/json' } }),
      );
    await d.engine.pull();
    d.net.fault = null;
    // Soft: every symptom is checked. The cookie must not go back, nor the stock move.
    expect.soft(d.engine.pullCookie).toBe(cookie);
    expect
      .soft([qty(d.engine, 'A', 'P'), qty(d.engine, 'A', 'Q')])
      .toEqual([await s.stockAt('A', 'P'), await s.stockAt('A', 'Q')]);
    await d.engine.sync(); // and the network is sound again: the replica must end as the server

    expect(d.engine.pullCookie).toBe(await s.head());
    expect([qty(d.engine, 'A', 'P'), qty(d.engine, 'A', 'Q')]).toEqual([
      await s.stockAt('A', 'P'),
      await s.stockAt('A', 'Q'),
    ]);
    await expectReplicaEqualsServer(s, d.db, d.engine);
  });

  it('a 401 for a token the app replaced while the request was out (signed in again, here or in another tab) is stale: not a sign-out', async () => {
    const s = await server();
    const d = await device(s, 'op1');
    await d.engine.pull();
    await receive(d.engine, 4);
    const statuses: number[] = [];
    d.net.fault = async (req, send) => {
      if (req.path === '/sync/push' && statuses.length === 0) {
        // Signed out (the token revoked) and in again, with this push already on its way.
        const old = d.session.token;
        expect((await s.api('/api/auth/logout', { method: 'POST', token: old })).ok).toBe(true);
        await d.signIn();
        expect(d.session.token).not.toBe(old);
      }
      const res = await send();
      if (req.path === '/sync/push') statuses.push(res.status);
      return res;
    };
    const refused = await d.engine.sync().then(
      () => null,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(AuthRequiredError);
    expect((refused as AuthRequiredError).stale).toBe(true);
    expect(statuses).toEqual([401]);
    // A token revoked and not replaced: a sign-out, not stale.
    const other = await device(s, 'op2');
    await other.engine.pull();
    await receive(other.engine, 1);
    expect(
      (await s.api('/api/auth/logout', { method: 'POST', token: other.session.token })).ok,
    ).toBe(true);
    const out = await other.engine.sync().then(
      () => null,
      (e: unknown) => e,
    );
    expect(out).toMatchObject({ name: 'AuthRequiredError', stale: false });
    // Signed out while the push was out (the app holds no token now): the sign-out this 401
    // confirms, not stale.
    await other.signIn();
    other.net.fault = async (req, send) => {
      if (req.path === '/sync/push') {
        await s.api('/api/auth/logout', { method: 'POST', token: other.session.token });
        other.session.token = null;
      }
      return send();
    };
    const signedOut = await other.engine.sync().then(
      () => null,
      (e: unknown) => e,
    );
    expect(signedOut).toMatchObject({ name: 'AuthRequiredError', stale: false });
    // The sync again, with the new token: sent once.
    await d.engine.sync();
    expect(statuses).toEqual([401, 200]);
    expect(d.engine.pending).toBe(0);
    expect(await s.stockAt('A', 'P')).toBe(4);
  });

  it('a 401 in the middle of a multi-batch push: the outbox keeps everything, and after a new sign-in the rest lands exactly once', async () => {
    const s = await server();
    const d = await device(s, 'op1', { batchSize: 5 });
    await d.engine.pull();
    const quantities = range(1, 12);
    for (const q of quantities) await receive(d.engine, q);

    const answers: { status: number; results: string[] }[] = [];
    d.net.fault = async (req, send) => {
      const res = await send();
      if (req.path !== '/sync/push') return res;
      answers.push({ status: res.status, results: res.ok ? await statusesOf(res) : [] });
      if (answers.length === 1) {
        // The session is revoked while the device drains (signed out elsewhere, or expired).
        const out = await s.api('/api/auth/logout', { method: 'POST', token: d.session.token });
        expect(out.ok).toBe(true);
      }
      return res;
    };
    await expect(d.engine.sync()).rejects.toBeInstanceOf(AuthRequiredError);
    expect(answers).toEqual([
      { status: 200, results: Array(5).fill('applied') },
      { status: 401, results: [] },
    ]);
    expect(await s.appliedIDs(d.engine.clientID)).toEqual(range(1, 5));
    expect(await s.stockAt('A', 'P')).toBe(sum(quantities.slice(0, 5)));
    // Nothing is lost: a row leaves the outbox only when a pull confirms it.
    expect((await d.db.outbox.toArray()).map((r) => r.id)).toEqual(range(1, 12));
    expect(d.engine.pending).toBe(12);
    expect(qty(d.engine, 'A', 'P')).toBe(sum(quantities));

    await d.signIn(); // a new token
    await d.engine.sync();
    expect(answers.slice(2).every((a) => a.status === 200)).toBe(true);
    expect(answers.flatMap((a) => a.results)).not.toContain('gap');
    expect(answers.slice(2).flatMap((a) => a.results)).toContain('applied');
    expect(d.engine.pending).toBe(0);
    expect((await unconfirmedRows(d.db)).length).toBe(0);
    expect(await s.appliedIDs(d.engine.clientID)).toEqual(range(1, 12));
    expect(await s.stockAt('A', 'P')).toBe(sum(quantities));
    await expectReplicaEqualsServer(s, d.db, d.engine);
  });

  it('a device revoked while it has scans queued: refused with its reason, nothing of the queue lost', async () => {
    const s = await server();
    const d = await device(s, 'op1');
    await d.engine.pull();
    await receive(d.engine, 3);
    const revoked = await s.api(`/api/devices/${d.engine.clientGroupID}/revoke`, {
      method: 'POST',
      token: s.admin.token,
    });
    expect(revoked.ok).toBe(true);
    const error = await d.engine.sync().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DeviceRefusedError);
    expect(error).toMatchObject({ reason: 'DEVICE_REVOKED' });
    expect(d.engine.pending).toBe(1);
  });

  it('server restart mid-drain: the process dies after committing a batch, before answering; a new process on the same SQLite file takes the rest exactly once', async () => {
    const s = await server();
    const d = await device(s, 'op1', { batchSize: 5 });
    await d.engine.pull();
    const quantities = range(1, 12).map((i) => i * 10);
    for (const q of quantities) await receive(d.engine, q);

    let pushes = 0;
    const results: string[] = [];
    d.net.fault = async (req, send) => {
      if (req.path === '/sync/push' && ++pushes === 2) {
        await send(); // the server commits the second batch…
        await s.stop(); // …and its process dies before the answer leaves
        throw new TypeError('socket hang up');
      }
      const res = await send();
      if (req.path === '/sync/push') results.push(...(await statusesOf(res)));
      return res;
    };
    await expect(d.engine.sync()).rejects.toBeInstanceOf(RetryableError);
    expect(pushes).toBe(2);
    // While the server is down, retries fail the same way and keep everything.
    await expect(d.engine.sync()).rejects.toBeInstanceOf(RetryableError);
    expect((await d.db.outbox.toArray()).map((r) => r.id)).toEqual(range(1, 12));
    expect(d.engine.pending).toBe(12);

    await s.start(); // a new server process on the same file
    expect(await s.appliedIDs(d.engine.clientID)).toEqual(range(1, 10)); // the commit survived
    await d.engine.sync();
    expect(results).not.toContain('gap');
    expect(results).toContain('duplicate'); // the unanswered batch was sent again…
    expect(d.engine.pending).toBe(0);
    expect((await unconfirmedRows(d.db)).length).toBe(0);
    expect(await s.appliedIDs(d.engine.clientID)).toEqual(range(1, 12)); // …and applied once
    expect(await s.stockAt('A', 'P')).toBe(sum(quantities));
    await expectReplicaEqualsServer(s, d.db, d.engine);
  });

  it('the server restored from last night’s backup: a device sends again, from its journal, the confirmed scans the restore lost — once each; a device that only pulled starts over', async () => {
    const s = await server();
    const d1 = await device(s, 'op1');
    const d2 = await device(s, 'op2');
    await receive(d1.engine, 10);
    await receive(d1.engine, 20);
    await d1.engine.sync();
    const backup = await s.backup();
    // The rest of the day, after the backup: confirmed, and gone from the outbox's queue.
    for (const q of [30, 40, 50]) await receive(d1.engine, q);
    await d1.engine.sync();
    await d2.engine.sync();
    expect(d1.engine.pending).toBe(0);
    expect((await unconfirmedRows(d1.db)).length).toBe(0);
    expect((await d1.db.outbox.toArray()).map((r) => r.id)).toEqual(range(1, 5)); // the journal

    const restored = await s.restore(backup);
    expect(await s.stockAt('A', 'P')).toBe(30); // the server lost mutations 3–5
    expect(await s.appliedIDs(d1.engine.clientID)).toEqual([1, 2]);

    const pushed: number[] = [];
    d1.net.fault = async (req, send) => {
      const res = await send();
      if (req.path === '/sync/push')
        pushed.push(...(req.body as { mutations: { id: number }[] }).mutations.map((m) => m.id));
      return res;
    };
    // One sync: the pull is told the device's history is unknown (its cookie is in the
    // restore's seq hole), the reset says the server has mutation 2, and 3–5 go again.
    await d1.engine.sync();
    expect(pushed).toEqual([3, 4, 5]);
    expect(await s.appliedIDs(d1.engine.clientID)).toEqual(range(1, 5)); // once each
    expect(await s.stockAt('A', 'P')).toBe(150);
    expect(d1.engine.pending).toBe(0);
    expect(d1.engine.pullCookie).toBe(await s.head());
    expect(d1.engine.pullCookie).toBeGreaterThan(restored.hole[1]);
    await expectReplicaEqualsServer(s, d1.db, d1.engine);

    // The device that only pulled: its cookie is in the hole too; it starts over and agrees.
    await d2.engine.sync();
    expect(d2.engine.pullCookie).toBe(await s.head());
    await expectReplicaEqualsServer(s, d2.db, d2.engine);
  });

  it('a scan after the restore, before any pull: the push’s gap names a confirmed id, the journal fills it, and nothing is applied twice', async () => {
    const s = await server();
    const d = await device(s, 'op1', { batchSize: 2 });
    await receive(d.engine, 1);
    await d.engine.sync();
    const backup = await s.backup();
    for (const q of [2, 4, 8]) await receive(d.engine, q);
    await d.engine.sync();
    await s.restore(backup);
    await receive(d.engine, 16); // mutation 5, queued against the restored server
    const statuses: string[] = [];
    d.net.fault = async (req, send) => {
      const res = await send();
      if (req.path === '/sync/push') statuses.push(...(await statusesOf(res)));
      return res;
    };
    await d.engine.sync();
    expect(statuses[0]).toBe('gap'); // expected 2: this device had it confirmed
    expect(statuses.filter((x) => x === 'applied')).toHaveLength(4);
    expect(await s.appliedIDs(d.engine.clientID)).toEqual(range(1, 5));
    expect(await s.stockAt('A', 'P')).toBe(31);
    expect(d.engine.pending).toBe(0);
    await expectReplicaEqualsServer(s, d.db, d.engine);
  });

  it('a scan the server acknowledged but lost in a restore before any pull confirmed it is sent again once three pulls to the head do not confirm it', async () => {
    const s = await server();
    const d = await device(s, 'op1');
    await receive(d.engine, 1);
    await d.engine.sync();
    const backup = await s.backup();
    await receive(d.engine, 2);
    await d.engine.push(); // acknowledged ("applied"), not yet confirmed by a pull
    expect(await s.appliedIDs(d.engine.clientID)).toEqual([1, 2]);
    await s.restore(backup);
    // The device's cookie is the backup's head: no hole, no reset. Its pulls reach the head
    // without confirming mutation 2; one such pull could be a late answer, three are not.
    for (let i = 0; i < 3; i++) await d.engine.sync();
    expect(await s.appliedIDs(d.engine.clientID)).toEqual([1]);
    expect(d.engine.pending).toBe(1);
    await d.engine.sync();
    expect(await s.appliedIDs(d.engine.clientID)).toEqual([1, 2]);
    expect(await s.stockAt('A', 'P')).toBe(3);
    expect(d.engine.pending).toBe(0);
    await expectReplicaEqualsServer(s, d.db, d.engine);
  });

  it('a journal too short for what the restore lost: the device stops and says so, keeps its scans, and sends nothing twice', async () => {
    const s = await server();
    const d = await device(s, 'op1');
    // The same device with a journal of one row.
    const short = await SyncEngine.open({
      db: d.db,
      baseUrl: BASE,
      fetch: s.transport(d.net),
      token: () => d.session.token,
      user: () => d.session.user,
      journalRows: 1,
    });
    await receive(short, 1);
    await short.sync();
    const backup = await s.backup();
    for (const q of [2, 4, 8]) await receive(short, q);
    await short.sync();
    expect((await d.db.outbox.toArray()).map((r) => r.id)).toEqual([4]);
    await s.restore(backup);
    await receive(short, 16);
    await expect(short.sync()).rejects.toBeInstanceOf(ClientStateLostError);
    expect(await s.appliedIDs(short.clientID)).toEqual([1]);
    expect(await s.stockAt('A', 'P')).toBe(1);
    // Nothing was dropped: the scan after the restore and the journal are still there.
    expect((await d.db.outbox.toArray()).map((r) => r.id)).toEqual([4, 5]);
  });

  it('database closed under a mutate: it rejects or commits whole, never half; after reopening, ids stay gap-free and the server takes them all', async () => {
    const s = await server();
    const d = await device(s, 'op1');
    await d.engine.pull();
    // Powers of two: the server's total tells exactly which scans landed.
    const landed: { id: number; quantity: number }[] = [];
    const scan = async (engine: SyncEngine, quantity: number) => {
      const r = await receive(engine, quantity);
      landed.push({ id: r.id, quantity });
      return r;
    };
    /** The persisted queue is whole: ids 1…n without a gap, and the next id right after. */
    const expectWholeQueue = async (db: ReplicaDB) => {
      const rows = await db.outbox.orderBy('id').toArray();
      expect(rows.map((r) => [r.id, r.args['quantity']])).toEqual(
        landed.map((l) => [l.id, l.quantity]),
      );
      expect(rows.map((r) => r.id)).toEqual(range(1, rows.length));
      expect((await db.meta.get('nextMutationID'))?.value).toBe(rows.length + 1);
    };
    await scan(d.engine, 1);

    // 1. Closed just before: the scan is refused, and the screen does not show it.
    d.db.close();
    await expect(receive(d.engine, 2)).rejects.toThrow(/closed/i);
    expect(d.engine.pending).toBe(1);
    expect(qty(d.engine, 'A', 'P')).toBe(1);

    // 2. The connection is closed forcibly mid-transaction (as a browser does when it drops
    //    the database: the transaction aborts) — after the outbox row, before the next id.
    let abortOnce = false;
    const r2 = await d.reopen((db) =>
      db.use({
        stack: 'dbcore',
        name: 'close-mid-transaction',
        create: (down: DBCore): DBCore => ({
          ...down,
          table: (name: string): DBCoreTable => {
            const table = down.table(name);
            if (name !== 'outbox') return table;
            return {
              ...table,
              mutate: async (req: DBCoreMutateRequest) => {
                const res = await table.mutate(req);
                if (abortOnce) {
                  abortOnce = false;
                  (req.trans as unknown as IDBTransaction).abort();
                  db.close();
                }
                return res;
              },
            };
          },
        }),
      }),
    );
    await expectWholeQueue(r2.db);
    expect(r2.engine.pending).toBe(1);
    abortOnce = true;
    await expect(receive(r2.engine, 4)).rejects.toThrow();
    expect(r2.engine.pending).toBe(1);

    // 3. Closed (gracefully) while a mutate is in flight, at several points of its transaction:
    //    each either commits whole (and resolves) or leaves nothing (and rejects).
    let quantity = 8;
    const outcomes: string[] = [];
    for (const ticks of [0, 1, 2, 3, 5, 8, 13]) {
      const r = await d.reopen();
      await expectWholeQueue(r.db);
      const q = quantity;
      quantity *= 2;
      const inFlight = scan(r.engine, q).then(
        () => 'committed',
        (e: unknown) => (e instanceof Error ? e.name : 'rejected'),
      );
      for (let i = 0; i < ticks; i++) await Promise.resolve();
      r.db.close();
      outcomes.push(await inFlight);
    }
    // The points straddle the start of the transaction: closed before it, the scan is refused;
    // closed once it runs, IndexedDB lets it finish and the scan is queued whole.
    expect(new Set(outcomes)).toEqual(new Set(['DatabaseClosedError', 'committed']));

    // After reopening, new scans continue the ids without a gap, and the server takes them all.
    const last = await d.reopen();
    await expectWholeQueue(last.db);
    await scan(last.engine, quantity);
    await scan(last.engine, quantity * 2);
    await expectWholeQueue(last.db);
    const results: string[] = [];
    d.net.fault = async (req, send) => {
      const res = await send();
      if (req.path === '/sync/push') results.push(...(await statusesOf(res)));
      return res;
    };
    await last.engine.sync();
    expect(results).toEqual(Array(landed.length).fill('applied')); // no gap blocks the queue
    expect(last.engine.pending).toBe(0);
    expect((await unconfirmedRows(last.db)).length).toBe(0);
    expect(await s.appliedIDs(last.engine.clientID)).toEqual(range(1, landed.length));
    expect(await s.stockAt('A', 'P')).toBe(sum(landed.map((l) => l.quantity)));
    await expectReplicaEqualsServer(s, last.db, last.engine);
  });
});
