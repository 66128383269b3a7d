/**
 * Conformance: genuine `replicache` (v15) clients drive the sync server over real HTTP.
 *
 * SYNC-PROTOCOL.md promises that "any genuine Replicache client can talk to the server".
 * These tests hold the server to that with Replicache's own push/pull code paths — its
 * default pusher and puller, its mutation numbering, its retry loop, its rebase, its
 * mutation recovery — rather than with our own client or hand-written requests.
 *
 * Node environment: Replicache v15 runs in Node 20 as is. With `kvStore: 'mem'` it never
 * touches IndexedDB; `document`, `navigator`, `location` and `requestIdleCallback` are all
 * feature-tested by Replicache before use; `fetch`, `Request`, `BroadcastChannel`, `crypto`
 * and `performance` are Node globals. So no browser stand-ins are installed. (v15 ignores
 * `licenseKey`, so none is passed.) The only global this file replaces is `fetch` — with a
 * pass-through (`Wire`) that records every push/pull exchange and can simulate the network:
 * drop a push response after the server answered, cut a device off, make requests overlap.
 *
 * Each device is its own Replicache `name` (so its own client group) and its own login.
 * `schemaVersion` is SCHEMA_VERSION ('1'): the server refuses Replicache's default ('').
 * Periodic pulls are off (`pullInterval: null`): the tests decide when a device pulls.
 */
import { randomUUID } from 'node:crypto';
import { SCHEMA_VERSION } from '@floorsync/domain';
import type { LogSink, ReadonlyJSONValue, UpdateNeededReason, WriteTransaction } from 'replicache';
import { Replicache } from 'replicache';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TestServer } from './harness.js';
import { quantityAt, warehouseServer } from './harness.js';

// ─── Mutators ─────────────────────────────────────────────────────────────────────────────
// The server is authoritative; locally a mutation only leaves a marker, which Replicache's
// rebase must drop once the server has confirmed the mutation (nothing on the server writes
// `pending/…`).

type ReceiveStockArgs = { itemId: string; positionId: string; quantity: number };
type MoveStockArgs = { itemId: string; from: string; to: string; quantity: number };

const mutators = {
  async receiveStock(tx: WriteTransaction, args: ReceiveStockArgs) {
    await tx.set(`pending/${tx.clientID}/${tx.mutationID}`, { name: 'receiveStock', args });
  },
  async moveStock(tx: WriteTransaction, args: MoveStockArgs) {
    await tx.set(`pending/${tx.clientID}/${tx.mutationID}`, { name: 'moveStock', args });
  },
};
type Rep = Replicache<typeof mutators>;

// ─── Wire: a recording pass-through for fetch ────────────────────────────────────────────

interface SentMutation {
  readonly clientID: string;
  readonly id: number;
  readonly name: string;
}
interface MutationResult {
  readonly clientID: string;
  readonly id: number;
  readonly status: string;
  readonly seqs?: number[];
}
interface PushExchange {
  readonly auth: string;
  readonly clientGroupID: string;
  readonly mutations: readonly SentMutation[];
  /** What the server answered (even when the answer was then lost). */
  readonly status: number;
  readonly body: { results?: MutationResult[]; head?: number; error?: string } | null;
  /** Replicache got a network error instead of this answer. */
  readonly lost: boolean;
}
interface PullExchange {
  readonly auth: string;
  readonly clientGroupID: string;
  readonly cookie: unknown;
  readonly status: number;
  readonly body: {
    cookie?: unknown;
    lastMutationIDChanges?: Record<string, number>;
    patch?: { op: string; key?: string }[];
    error?: string;
  } | null;
}

const realFetch = globalThis.fetch;

class Wire {
  readonly pushes: PushExchange[] = [];
  readonly pulls: PullExchange[] = [];
  readonly #toLose = new Map<string, number>();
  /** Client groups whose requests fail with a network error before reaching the server. */
  readonly offline = new Set<string>();
  /** Requests refused by `offline`. */
  offlineAttempts = 0;
  /** Sessions whose pulls fail with a network error (their pushes still go through). */
  readonly pullsCut = new Set<string>();
  /** Push/pull requests sent and not yet answered. */
  inFlight = 0;
  readonly #gates = new Map<string, { count: number; waiting: (() => void)[] }>();

  /** The next `count` pulls of this session overlap in the server (see `fetch`). */
  gatePulls(auth: string, count: number): void {
    this.#gates.set(auth, { count, waiting: [] });
  }

  /** The next push with this Authorization header reaches the server; its answer is lost. */
  loseNextPushResponse(auth: string): void {
    this.#toLose.set(auth, (this.#toLose.get(auth) ?? 0) + 1);
  }

  readonly fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const path = new URL(request.url).pathname;
    if (path !== '/sync/push' && path !== '/sync/pull') return realFetch(request);
    const auth = request.headers.get('authorization') ?? '';
    const sent = (await request.clone().json()) as Record<string, unknown>;
    if (
      this.offline.has(String(sent['clientGroupID'])) ||
      (path === '/sync/pull' && this.pullsCut.has(auth))
    ) {
      this.offlineAttempts++;
      throw new TypeError('fetch failed (test: this device is offline)');
    }
    const gate = path === '/sync/pull' ? this.#gates.get(auth) : undefined;
    let outgoing = request;
    if (gate) {
      // Headers go out at once; the body follows only when every gated request is under
      // way (plus a moment for the server to read their headers): a slow link, where
      // requests overlap inside the server.
      const bytes = new Uint8Array(await request.clone().arrayBuffer());
      const released = new Promise<void>((resolve) => {
        gate.waiting.push(resolve);
        if (gate.waiting.length < gate.count) return;
        this.#gates.delete(auth);
        setTimeout(() => gate.waiting.forEach((go) => go()), 50);
      });
      const body = new ReadableStream<Uint8Array>({
        async start(controller) {
          await released;
          controller.enqueue(bytes);
          controller.close();
        },
      });
      // `duplex` is required by Node's fetch for a streamed body; DOM's RequestInit lacks it.
      const init = { method: 'POST', headers: request.headers, body, duplex: 'half' };
      outgoing = new Request(request.url, init);
    }
    let response: Response;
    let text: string;
    this.inFlight++;
    try {
      response = await realFetch(outgoing);
      // Reading the whole body means the server has answered — and it answers a push only
      // after its transaction is durable (SYNC-PROTOCOL.md, push rule 4).
      text = await response.text();
    } finally {
      this.inFlight--;
    }
    let body: unknown;
    try {
      body = JSON.parse(text) as unknown;
    } catch {
      body = { error: `non-JSON body: ${text.slice(0, 200)}` };
    }
    if (path === '/sync/push') {
      const pending = this.#toLose.get(auth) ?? 0;
      const lost = pending > 0;
      if (lost) this.#toLose.set(auth, pending - 1);
      this.pushes.push({
        auth,
        clientGroupID: String(sent['clientGroupID']),
        mutations: (sent['mutations'] as SentMutation[]).map(({ clientID, id, name }) => ({
          clientID,
          id,
          name,
        })),
        status: response.status,
        body: body as PushExchange['body'],
        lost,
      });
      if (lost)
        throw new TypeError(
          'fetch failed (test: the connection dropped before the push response arrived)',
        );
    } else {
      this.pulls.push({
        auth,
        clientGroupID: String(sent['clientGroupID']),
        cookie: sent['cookie'],
        status: response.status,
        body: body as PullExchange['body'],
      });
    }
    return new Response(text, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

// ─── Helpers ──────────────────────────────────────────────────────────────────────────────

/** Polls `probe` every `everyMs` until it returns a value other than `undefined`; bounded. */
async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  diagnose: () => unknown = () => '',
  timeoutMs = 8_000,
  everyMs = 10,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${JSON.stringify(diagnose())}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

interface Envelope {
  readonly seq: number;
  readonly id: string;
  readonly type: string;
  readonly data: Record<string, unknown>;
  readonly meta: {
    readonly clientID: string;
    readonly mutationID: number;
    readonly userId: string;
  };
}

interface LogLine {
  readonly level: string;
  readonly text: string;
}

interface Session {
  /** The Authorization header value. */
  readonly auth: string;
  readonly userId: string;
}

interface DeviceHandle extends Session {
  readonly username: string;
  readonly rep: Rep;
  readonly clientGroupID: string;
  readonly logs: LogLine[];
  readonly updatesNeeded: UpdateNeededReason[];
}

const storeEntries = (rep: Rep): Promise<[string, ReadonlyJSONValue][]> =>
  rep.query(async (tx) =>
    (await tx.scan().entries().toArray()).map(([k, v]) => [k, v] as [string, ReadonlyJSONValue]),
  );

const eventEntries = async (rep: Rep): Promise<Envelope[]> =>
  (await storeEntries(rep))
    .filter(([k]) => k.startsWith('e/'))
    .map(([, v]) => v as unknown as Envelope);

// ─── Suite ────────────────────────────────────────────────────────────────────────────────

describe('genuine Replicache v15 clients against the sync server', () => {
  let server: TestServer;
  let supToken: string;
  let base: string;
  let wire: Wire;
  let baseline: number;
  const devices: DeviceHandle[] = [];

  beforeEach(async () => {
    const started = await warehouseServer();
    server = started.server;
    supToken = started.supervisor.token;
    base = await server.listen();
    wire = new Wire();
    vi.stubGlobal('fetch', wire.fetch);
    baseline = await head();
  });

  afterEach(async () => {
    await Promise.all(devices.splice(0).map((d) => d.rep.close()));
    // A request Replicache sent just before closing is let finish: closing the HTTP server
    // under it would wait for that connection's keep-alive timeout.
    await until('in-flight sync requests to finish', () =>
      wire.inFlight === 0 ? true : undefined,
    );
    vi.unstubAllGlobals();
    await server.close();
  });

  async function head(): Promise<number> {
    const res = await server.request('/health');
    return ((await res.json()) as { head: number }).head;
  }

  async function serverEvents(): Promise<Envelope[]> {
    const res = await server.request('/api/events?after=0&limit=2000', { token: supToken });
    expect(res.status).toBe(200);
    return (await res.json()) as Envelope[];
  }

  /** lastMutationID per client of a group, as the server records it (GET /api/devices). */
  async function serverClients(clientGroupID: string): Promise<Record<string, number> | undefined> {
    const res = await server.request('/api/devices', { token: supToken });
    expect(res.status).toBe(200);
    const rows = (await res.json()) as { clientGroupID: string; clients: Record<string, number> }[];
    return rows.find((r) => r.clientGroupID === clientGroupID)?.clients;
  }

  /** A fresh session of `username` (bound to `clientGroupID` at login when given). */
  async function signIn(username: string, clientGroupID?: string): Promise<Session> {
    const token = await server.login(username, `${username}-password`, clientGroupID);
    const me = await server.request('/api/auth/me', { token });
    return {
      auth: `Bearer ${token}`,
      userId: ((await me.json()) as { user: { id: string } }).user.id,
    };
  }

  /**
   * A Replicache instance with Replicache's default pusher and puller. By default a handheld
   * of its own: a fresh sign-in and its own Replicache `name`, hence its own client group.
   * - `sameNameAs`: another instance on that handheld. With the same mutators Replicache puts
   *   it in that client group (a second tab); with other mutators (a new app build) it gets a
   *   new client group, and Replicache recovers the old group's pending mutations.
   * - `session`: use that session; `'getAuth'`: start without one and sign in through
   *   Replicache's `getAuth` (called on a 401), binding the session to this instance's group
   *   at login as SYNC-PROTOCOL.md allows.
   */
  async function openDevice(
    username: string,
    opts: {
      schemaVersion?: string;
      sameNameAs?: DeviceHandle;
      session?: Session | 'getAuth';
      mutators?: typeof mutators;
    } = {},
  ): Promise<DeviceHandle> {
    const session =
      opts.session === 'getAuth'
        ? { auth: '', userId: (await signIn(username)).userId }
        : (opts.session ?? (await signIn(username)));
    const logs: LogLine[] = [];
    const sink: LogSink = {
      log(level, _context, ...args) {
        logs.push({
          level,
          text: args
            .map((a) =>
              a instanceof Error
                ? `${a.name}: ${a.message}`
                : typeof a === 'string'
                  ? a
                  : JSON.stringify(a),
            )
            .join(' '),
        });
      },
    };
    const rep = new Replicache({
      name: opts.sameNameAs?.rep.name ?? `conformance-${username}-${randomUUID()}`,
      kvStore: 'mem',
      pushURL: `${base}/sync/push`,
      pullURL: `${base}/sync/pull`,
      auth: session.auth,
      schemaVersion: opts.schemaVersion ?? SCHEMA_VERSION,
      mutators: opts.mutators ?? mutators,
      pullInterval: null,
      pushDelay: 5,
      requestOptions: { minDelayMs: 10, maxDelayMs: 200 },
      logLevel: 'error',
      logSinks: [sink],
    });
    if (opts.session === 'getAuth') {
      rep.getAuth = async () => (await signIn(username, await rep.clientGroupID)).auth;
    }
    const device: DeviceHandle = {
      username,
      userId: session.userId,
      auth: session.auth,
      rep,
      clientGroupID: await rep.clientGroupID,
      logs,
      updatesNeeded: [],
    };
    // Replicache's default reloads the page (a no-op without `location`); record instead.
    rep.onUpdateNeeded = (reason) => device.updatesNeeded.push(reason);
    devices.push(device);
    return device;
  }

  /** Opens a device and waits until its first pull (a reset) has landed in its store. */
  async function syncedDevice(username: string, tabOf?: DeviceHandle): Promise<DeviceHandle> {
    const device = await openDevice(username, tabOf ? { sameNameAs: tabOf, session: tabOf } : {});
    await device.rep.pull({ now: true });
    await until(
      `${username}'s reset snapshot`,
      async () =>
        (await storeEntries(device.rep)).some(([k]) => k.startsWith('s/')) ? true : undefined,
      () => wire.pulls.filter((p) => p.auth === device.auth),
    );
    return device;
  }

  /** Waits until the server's log holds `count` events after the baseline. */
  async function eventsAfterBaseline(count: number): Promise<Envelope[]> {
    let seen: Envelope[] = [];
    return until(
      `${count} events after seq ${baseline}`,
      async () => {
        seen = (await serverEvents()).filter((e) => e.seq > baseline);
        return seen.length >= count ? seen : undefined;
      },
      () => ({
        events: seen.map((e) => [e.seq, e.type, e.meta.clientID, e.meta.mutationID]),
        pushes: wire.pushes,
      }),
    );
  }

  /**
   * Pulls every device until none has pending mutations, each holds every server event, and
   * every push sent has been answered.
   */
  async function converge(...ds: DeviceHandle[]): Promise<void> {
    let state: unknown;
    await until(
      'all devices to converge',
      async () => {
        await Promise.all(ds.map((d) => d.rep.pull({ now: true })));
        const serverSeqs = (await serverEvents()).filter((e) => e.seq > baseline).map((e) => e.seq);
        const views = await Promise.all(
          ds.map(async (d) => ({
            who: d.username,
            pending: (await d.rep.experimentalPendingMutations()).map((m) => `${m.name}#${m.id}`),
            seqs: (await eventEntries(d.rep)).map((e) => e.seq),
          })),
        );
        state = { serverSeqs, views };
        // And no push still on the wire: a pull can confirm a mutation (the server committed
        // it) before its push's answer has reached the device and been recorded here — seen
        // on a loaded machine as a mutation that was "never answered applied".
        const done =
          wire.inFlight === 0 &&
          views.every(
            (v) => v.pending.length === 0 && JSON.stringify(v.seqs) === JSON.stringify(serverSeqs),
          );
        return done ? true : undefined;
      },
      () => state,
    );
  }

  /** Each mutation of `device`, in order, as its events in the server log: (mutationID, type). */
  const mutationsOf = (events: Envelope[], device: DeviceHandle) =>
    events
      .filter((e) => e.meta.clientID === device.rep.clientID)
      .map((e) => [e.meta.mutationID, e.type, e.meta.userId]);

  /** Across all push answers: how often each (clientID, id) was answered `applied`. */
  const appliedCounts = () => {
    const counts = new Map<string, number>();
    for (const p of wire.pushes) {
      for (const r of p.body?.results ?? []) {
        if (r.status === 'applied')
          counts.set(`${r.clientID}#${r.id}`, (counts.get(`${r.clientID}#${r.id}`) ?? 0) + 1);
      }
    }
    return Object.fromEntries(counts);
  };

  const errorLogs = (d: DeviceHandle) =>
    d.logs.filter((l) => l.level === 'error').map((l) => l.text);

  it('applies each mutation of two Replicache devices exactly once', async () => {
    const a = await syncedDevice('op1');
    const b = await syncedDevice('op2');
    expect(a.clientGroupID).not.toBe(b.clientGroupID);

    // Interleaved, as two handhelds on the floor would.
    await a.rep.mutate.receiveStock({ itemId: 'A', positionId: 'P', quantity: 10 });
    await b.rep.mutate.receiveStock({ itemId: 'A', positionId: 'R', quantity: 5 });
    await a.rep.mutate.moveStock({ itemId: 'A', from: 'P', to: 'Q', quantity: 4 });
    await b.rep.mutate.moveStock({ itemId: 'A', from: 'R', to: 'Q', quantity: 2 });

    const events = await eventsAfterBaseline(4);
    // Both devices settle (confirmation by pull), then the log is checked again: nothing extra.
    await converge(a, b);
    const after = (await serverEvents()).filter((e) => e.seq > baseline);
    expect(after).toEqual(events);

    expect(mutationsOf(after, a)).toEqual([
      [1, 'StockReceived', a.userId],
      [2, 'StockMoved', a.userId],
    ]);
    expect(mutationsOf(after, b)).toEqual([
      [1, 'StockReceived', b.userId],
      [2, 'StockMoved', b.userId],
    ]);
    expect(after.map((e) => e.data)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ itemId: 'A', positionId: 'P', quantity: 10 }),
        expect.objectContaining({ itemId: 'A', positionId: 'R', quantity: 5 }),
        expect.objectContaining({ itemId: 'A', from: 'P', to: 'Q', quantity: 4 }),
        expect.objectContaining({ itemId: 'A', from: 'R', to: 'Q', quantity: 2 }),
      ]),
    );

    expect(await quantityAt(server, supToken, 'A', 'P')).toBe(6);
    expect(await quantityAt(server, supToken, 'A', 'Q')).toBe(6);
    expect(await quantityAt(server, supToken, 'A', 'R')).toBe(3);

    // Every push was a 200 with per-mutation results; each mutation applied exactly once.
    expect(wire.pushes.every((p) => p.status === 200 && Array.isArray(p.body?.results))).toBe(true);
    expect(appliedCounts()).toEqual({
      [`${a.rep.clientID}#1`]: 1,
      [`${a.rep.clientID}#2`]: 1,
      [`${b.rep.clientID}#1`]: 1,
      [`${b.rep.clientID}#2`]: 1,
    });
    expect(
      wire.pushes
        .flatMap((p) => p.body?.results ?? [])
        .filter((r) => r.status !== 'applied' && r.status !== 'duplicate'),
    ).toEqual([]);
    expect(errorLogs(a)).toEqual([]);
    expect(errorLogs(b)).toEqual([]);
  });

  it('a push whose response is lost is re-pushed by Replicache and applied only once', async () => {
    const a = await syncedDevice('op1');
    wire.loseNextPushResponse(a.auth);
    // Until the re-push, no pull may get through: a pull would confirm the mutations (the
    // server did apply them) and Replicache would rightly have nothing left to re-push.
    wire.pullsCut.add(a.auth);

    await a.rep.mutate.receiveStock({ itemId: 'A', positionId: 'P', quantity: 7 });
    await a.rep.mutate.moveStock({ itemId: 'A', from: 'P', to: 'R', quantity: 3 });

    // Replicache saw a network error, backs off and pushes its pending mutations again.
    const { lost, retry } = await until(
      'a successful re-push of the mutations whose push response was lost',
      () => {
        const mine = wire.pushes.filter((p) => p.auth === a.auth);
        const lostAt = mine.findIndex((p) => p.lost);
        const lostPush = mine[lostAt];
        if (!lostPush) return undefined;
        const later = mine
          .slice(lostAt + 1)
          .find(
            (p) =>
              !p.lost &&
              p.status === 200 &&
              lostPush.mutations.every((m) => p.mutations.some((n) => n.id === m.id)),
          );
        return later ? { lost: lostPush, retry: later } : undefined;
      },
      () => wire.pushes,
    );
    wire.pullsCut.delete(a.auth);
    await eventsAfterBaseline(2);

    // The lost push was committed by the server before it answered.
    expect(lost.status).toBe(200);
    const lostResults = lost.body?.results ?? [];
    expect(lostResults.map((r) => [r.id, r.status])).toEqual(
      lost.mutations.map((m) => [m.id, 'applied']),
    );
    // The re-push carries the same mutations again, answered `duplicate` with the original seqs.
    for (const r of lostResults) {
      const again = retry.body?.results?.find((x) => x.clientID === r.clientID && x.id === r.id);
      expect(again).toMatchObject({ status: 'duplicate', seqs: r.seqs });
    }

    await converge(a);
    const events = (await serverEvents()).filter((e) => e.seq > baseline);
    expect(mutationsOf(events, a)).toEqual([
      [1, 'StockReceived', a.userId],
      [2, 'StockMoved', a.userId],
    ]);
    expect(await quantityAt(server, supToken, 'A', 'P')).toBe(4);
    expect(await quantityAt(server, supToken, 'A', 'R')).toBe(3);
    expect(appliedCounts()).toEqual({ [`${a.rep.clientID}#1`]: 1, [`${a.rep.clientID}#2`]: 1 });
    expect(await serverClients(a.clientGroupID)).toEqual({ [a.rep.clientID]: 2 });
  });

  it('both devices pull and converge on the same events and the server’s lastMutationIDs', async () => {
    const a = await syncedDevice('op1');
    const b = await syncedDevice('op2');
    wire.loseNextPushResponse(a.auth);

    await a.rep.mutate.receiveStock({ itemId: 'A', positionId: 'P', quantity: 10 });
    await b.rep.mutate.receiveStock({ itemId: 'A', positionId: 'Q', quantity: 8 });
    await a.rep.mutate.moveStock({ itemId: 'A', from: 'P', to: 'R', quantity: 4 });
    await b.rep.mutate.moveStock({ itemId: 'A', from: 'Q', to: 'R', quantity: 3 });
    await a.rep.mutate.moveStock({ itemId: 'A', from: 'R', to: 'Q', quantity: 1 });

    // Before any confirmation both stores show their own optimistic markers.
    expect((await storeEntries(a.rep)).filter(([k]) => k.startsWith('pending/'))).toHaveLength(3);
    expect((await storeEntries(b.rep)).filter(([k]) => k.startsWith('pending/'))).toHaveLength(2);

    await eventsAfterBaseline(5);
    // (The log can show the commit a moment before the answer reaches the wire.)
    await until(
      'A’s lost push response',
      () => (wire.pushes.some((p) => p.auth === a.auth && p.lost) ? true : undefined),
      () => wire.pushes,
    );
    await converge(a, b);

    const server5 = (await serverEvents()).filter((e) => e.seq > baseline);
    expect(server5).toHaveLength(5);
    const [eventsA, eventsB] = [await eventEntries(a.rep), await eventEntries(b.rep)];
    // Same events, in seq order, byte for byte what the server serves.
    expect(eventsA).toEqual(server5);
    expect(eventsB).toEqual(server5);
    // The whole stores agree: the same reset snapshot + the same events, and no optimistic
    // marker survived the rebase (the server confirmed every mutation).
    const [storeA, storeB] = [await storeEntries(a.rep), await storeEntries(b.rep)];
    expect(storeA).toEqual(storeB);
    expect(storeA.filter(([k]) => !k.startsWith('e/') && !k.startsWith('s/'))).toEqual([]);

    // Replicache dropped its pending mutations: its confirmed lastMutationID equals the server's.
    expect(await a.rep.experimentalPendingMutations()).toEqual([]);
    expect(await b.rep.experimentalPendingMutations()).toEqual([]);
    expect(await serverClients(a.clientGroupID)).toEqual({ [a.rep.clientID]: 3 });
    expect(await serverClients(b.clientGroupID)).toEqual({ [b.rep.clientID]: 2 });
    expect(mutationsOf(server5, a).map(([id]) => id)).toEqual([1, 2, 3]);
    expect(mutationsOf(server5, b).map(([id]) => id)).toEqual([1, 2]);
    // What the pulls told each device about its own client, at the end.
    for (const d of [a, b]) {
      const reported = Object.assign(
        {},
        ...wire.pulls
          .filter((p) => p.auth === d.auth)
          .map((p) => p.body?.lastMutationIDChanges ?? {}),
      ) as Record<string, number>;
      expect(reported).toEqual(await serverClients(d.clientGroupID));
    }

    expect(await quantityAt(server, supToken, 'A', 'P')).toBe(6);
    expect(await quantityAt(server, supToken, 'A', 'Q')).toBe(6);
    expect(await quantityAt(server, supToken, 'A', 'R')).toBe(6);

    // Cookies: Replicache starts at null, then echoes exactly the cookie of the previous answer.
    for (const d of [a, b]) {
      const mine = wire.pulls.filter((p) => p.auth === d.auth);
      expect(mine[0]?.cookie).toBeNull();
      for (let i = 1; i < mine.length; i++)
        expect(mine[i]?.cookie).toEqual(mine[i - 1]?.body?.cookie);
      expect(mine.at(-1)?.body?.cookie).toBe(server5.at(-1)?.seq);
    }
    // No protocol complaints from Replicache (e.g. "cookie did not change, but
    // lastMutationIDChanges is not empty"); A's only errors are from the dropped connection.
    expect(errorLogs(b)).toEqual([]);
    expect(errorLogs(a).filter((t) => !/push/i.test(t))).toEqual([]);
  });

  it('two Replicache tabs of one device (one client group, two clients) are both confirmed', async () => {
    // Same `name` → Replicache puts both instances in one client group (the process-wide mem
    // store stands in for the browser profile's IndexedDB). One login, as two tabs share it.
    // Both tabs are open and synced before anything happens, so both start from the same
    // reset (a tab that resets later holds the snapshot `s/…` at that later seq instead of the
    // earlier events `e/…` — the same logical state, different keys).
    const t1 = await syncedDevice('op1');
    const t2 = await syncedDevice('op1', t1);
    const tab2 = t2.rep;
    expect(t2.clientGroupID).toBe(t1.clientGroupID);
    expect(tab2.clientID).not.toBe(t1.rep.clientID);

    await t1.rep.mutate.receiveStock({ itemId: 'A', positionId: 'P', quantity: 5 });
    await tab2.mutate.receiveStock({ itemId: 'A', positionId: 'Q', quantity: 2 });
    await t1.rep.mutate.moveStock({ itemId: 'A', from: 'P', to: 'R', quantity: 1 });

    await eventsAfterBaseline(3);
    await converge(t1, t2);
    expect(await serverClients(t1.clientGroupID)).toEqual({
      [t1.rep.clientID]: 2,
      [tab2.clientID]: 1,
    });
    const events = (await serverEvents()).filter((e) => e.seq > baseline);
    expect(events).toHaveLength(3);
    expect(await eventEntries(t1.rep)).toEqual(events);
    expect(await eventEntries(tab2)).toEqual(events);
    expect(await quantityAt(server, supToken, 'A', 'P')).toBe(4);
    expect(await quantityAt(server, supToken, 'A', 'Q')).toBe(2);
    expect(await quantityAt(server, supToken, 'A', 'R')).toBe(1);
    expect(errorLogs(t1)).toEqual([]);
    expect(errorLogs(t2)).toEqual([]);
  });

  // Not covered on purpose: a Replicache app whose update changes its mutators gets a new
  // client group, and Replicache then pushes the old group's pending mutations ("mutation
  // recovery") with the new instance's session. SYNC-PROTOCOL.md binds a session to one client
  // group, so that recovery push is refused (403) unless the app signs in once per group.
  // Floorsync's own client keeps one client group per installation across builds, so it is
  // not affected; docs/PROTOCOL.md records the limitation for third-party Replicache apps.

  it('binds a fresh session to one client group even when two groups first use it at once', async () => {
    // SYNC-PROTOCOL.md: a session is bound to at most one client group — the first one it
    // pushes or pulls with; another group gets 403. Genuine Replicache does use one session
    // for two groups at the same moment: after an app update (its own first pull and the
    // recovery push for the old group) or with two Replicache names for one user.
    const shared = await signIn('op1');
    wire.gatePulls(shared.auth, 2); // the two first pulls overlap in the server
    const [x, y] = await Promise.all([
      openDevice('op1', { session: shared }),
      openDevice('op1', { session: shared }),
    ]);
    expect(x.clientGroupID).not.toBe(y.clientGroupID);
    const statuses = (d: DeviceHandle) =>
      wire.pulls.filter((p) => p.clientGroupID === d.clientGroupID).map((p) => p.status);
    await until(
      'an answer to each device',
      () => (statuses(x).length > 0 && statuses(y).length > 0 ? true : undefined),
      () => [statuses(x), statuses(y)],
    );
    const me = await server.request('/api/auth/me', { token: shared.auth.slice('Bearer '.length) });
    const bound = ((await me.json()) as { clientGroupID: string | null }).clientGroupID;
    const served = [x, y].filter((d) => statuses(d).includes(200)).map((d) => d.clientGroupID);
    expect(
      served,
      `pull statuses per group ${JSON.stringify({ [x.clientGroupID]: statuses(x), [y.clientGroupID]: statuses(y) })}; session bound to ${bound}`,
    ).toEqual([bound]);
  });

  it('answers an unsupported schemaVersion so that Replicache asks for an update, and applies nothing', async () => {
    const d = await openDevice('op1', { schemaVersion: 'no-such-schema' });
    await d.rep.mutate.receiveStock({ itemId: 'A', positionId: 'P', quantity: 1 });
    await until(
      'onUpdateNeeded from both push and pull',
      () => {
        const answered =
          wire.pushes.some((p) => p.auth === d.auth) && wire.pulls.some((p) => p.auth === d.auth);
        return answered && d.updatesNeeded.length >= 2 ? true : undefined;
      },
      () => ({ updatesNeeded: d.updatesNeeded, pushes: wire.pushes, pulls: wire.pulls }),
    );
    expect(d.updatesNeeded).toContainEqual({ type: 'VersionNotSupported', versionType: 'schema' });
    for (const x of [...wire.pushes, ...wire.pulls]) {
      expect(x.status).toBe(200);
      expect(x.body).toEqual({ error: 'VersionNotSupported', versionType: 'schema' });
    }
    expect(await head()).toBe(baseline);
  });
});
