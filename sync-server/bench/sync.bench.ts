import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Bench, BenchResult } from '../../scripts/bench-kit.js';
import {
  BENCH_ADMIN_PASSWORD,
  BENCH_METRICS_TOKEN,
  withServer,
} from '../../scripts/bench-server.js';
import { LeanClient, LeanPokeStream } from '../../scripts/lean-http.js';

/**
 * Sync-server benchmarks over loopback HTTP against a real server process on a real file
 * (WAL, every acknowledged write on disk). The load generator runs in this process; on a 2-core machine it
 * competes with the server, so absolute figures are conservative — compare ratios.
 */
const PASSWORD = BENCH_ADMIN_PASSWORD;

async function withApi<T>(fn: (api: Api) => Promise<T>): Promise<T> {
  return withServer(async (base) => {
    const api = new Api(base);
    try {
      return await fn(api);
    } finally {
      api.close();
    }
  });
}

/**
 * The load generator's HTTP client: raw keep-alive sockets (`scripts/lean-http.ts`), because
 * Node's `http` client costs about as much CPU per request as the server spends answering,
 * and on 2 cores it, not the server, would set the pace.
 */
export class Api {
  private readonly client: LeanClient;
  constructor(readonly base: string) {
    this.client = new LeanClient(base);
  }
  async request(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
  ): Promise<{ status: number; text: string }> {
    const r = await this.client.request(
      method,
      path,
      body === undefined ? '' : JSON.stringify(body),
      {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
    );
    return { status: r.status, text: r.body.toString() };
  }
  async post(path: string, body: unknown, token?: string): Promise<unknown> {
    const res = await this.request('POST', path, body, token);
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${res.text}`);
    return JSON.parse(res.text) as unknown;
  }
  /** Server-side p99 of push handling, from the /metrics histogram (a bucket bound, in ms). */
  async serverPushP99Ms(): Promise<number> {
    const text = (await this.request('GET', '/metrics', undefined, BENCH_METRICS_TOKEN)).text;
    const buckets = [
      ...text.matchAll(/^floorsync_push_duration_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm),
    ].map((m) => [m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2])] as const);
    const total = buckets.at(-1)?.[1] ?? 0;
    return (buckets.find(([, n]) => n >= total * 0.99)?.[0] ?? Infinity) * 1000;
  }
  readonly devices: Device[] = [];
  /**
   * Closes the idle HTTP connections (a handheld off the network); the next request
   * reconnects. A request in flight is left to finish.
   */
  disconnect() {
    this.client.closeIdle();
  }
  close() {
    for (const d of this.devices) d.stream?.close();
    this.client.close();
  }
  async login(group: string): Promise<string> {
    return (
      (await this.post('/api/auth/login', {
        username: 'admin',
        password: PASSWORD,
        clientGroupID: group,
      })) as { token: string }
    ).token;
  }
}

/** A device: its own session and client group, and (as every device holds one) a poke stream. */
export class Device {
  next = 1;
  /** Patch operations received by pulls. */
  pulled = 0;
  constructor(
    readonly api: Api,
    readonly token: string,
    readonly group: string,
    readonly stream: LeanPokeStream | null,
    readonly client = `${group}-c`,
  ) {}
  static async create(api: Api, name: string, listen = true, onPoke?: (head: number) => void) {
    const token = await api.login(name);
    const stream = listen
      ? new LeanPokeStream(
          api.base,
          ((await api.post('/api/auth/ticket', {}, token)) as { ticket: string }).ticket,
          onPoke,
        )
      : null;
    const device = new Device(api, token, name, stream);
    api.devices.push(device);
    return device;
  }
  /** Pulls from `cookie` until the server has no more; returns the new cookie. */
  async pullFrom(cookie: number): Promise<number> {
    for (;;) {
      const res = (await this.api.post(
        '/sync/pull',
        { pullVersion: 1, clientGroupID: this.group, cookie, profileID: 'p', schemaVersion: '1' },
        this.token,
      )) as { cookie: number; hasMore?: boolean; patch: unknown[] };
      this.pulled += res.patch.length;
      cookie = res.cookie;
      if (!res.hasMore) return cookie;
    }
  }
  async push(mutations: { name: string; args: unknown }[]): Promise<number> {
    const res = (await this.api.post(
      '/sync/push',
      {
        pushVersion: 1,
        clientGroupID: this.group,
        mutations: mutations.map((m) => ({
          clientID: this.client,
          id: this.next++,
          ...m,
          timestamp: Date.now(),
        })),
      },
      this.token,
    )) as { results: { status: string }[]; head: number };
    if (res.results.some((r) => r.status !== 'applied'))
      throw new Error(`not applied: ${JSON.stringify(res.results[0])}`);
    return res.head;
  }
}

const BINS = 50;
export async function seed(api: Api) {
  const d = await Device.create(api, 'seed', false);
  const m: { name: string; args: unknown }[] = [
    { name: 'defineItem', args: { itemId: 'A', sku: 'A', name: 'A', tracking: 'none' } },
  ];
  for (let i = 0; i < BINS; i++)
    m.push({ name: 'definePosition', args: { positionId: `B${i}`, code: `B${i}`, kind: 'bin' } });
  await d.push(m);
}

/** A receipt into a bin: the most common scan; each one is a full replay (decide, event, stock, movement). */
export const scan = (i: number) => ({
  name: 'receiveStock',
  args: { itemId: 'A', positionId: `B${i % BINS}`, quantity: 1 },
});

async function pushLoad(api: Api, devices: number, batch: number, perDevice: number) {
  const ds = await Promise.all(
    Array.from({ length: devices }, (_, i) => Device.create(api, `d${devices}-${batch}-${i}`)),
  );
  const latencies: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    ds.map(async (d, k) => {
      for (let b = 0; b < perDevice; b++) {
        const s = performance.now();
        await d.push(Array.from({ length: batch }, (_, j) => scan(k + j)));
        latencies.push(performance.now() - s);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  // The streams must have worked, or the run measured a server with nobody listening. Pokes
  // are coalesced (one round per POKE_INTERVAL_MS), so a short run may end before its round.
  const heard = () => ds.some((d) => (d.stream?.pokes ?? 0) > 1);
  for (let waited = 0; !heard() && waited < 2000; waited += 20)
    await new Promise((r) => setTimeout(r, 20));
  if (!heard()) throw new Error('no device heard a poke within 2 s of the last push');
  for (const d of ds) d.stream?.close(); // the next run's devices are the only listeners
  latencies.sort((a, b) => a - b);
  return {
    perSecond: (devices * batch * perDevice) / seconds,
    p99: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
  };
}

/**
 * Each device scans at random (Poisson) times, `perSecond` scans a second on average, for
 * `seconds`, and pushes one scan at a time, as the client does. A scan's latency runs from the
 * moment it was scanned to its acknowledgement, so time queued behind the device's previous
 * push counts (no coordinated omission). `onAck` hears each acknowledged head.
 */
async function scanAtRandom(
  ds: readonly Device[],
  perSecond: number,
  seconds: number,
  onAck?: (head: number, at: number) => void,
): Promise<number[]> {
  const latencies: number[] = [];
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(
    ds.map(async (d, k) => {
      // The scan times of this device, drawn up front.
      const gap = () => -Math.log(1 - Math.random()) * (1000 / perSecond);
      const times: number[] = [];
      for (let t = t0 + gap(); t < end; t += gap()) times.push(t);
      for (const [i, at] of times.entries()) {
        await sleep(at - performance.now());
        const head = await d.push([scan(k + i)]);
        const now = performance.now();
        latencies.push(now - at);
        onAck?.(head, now);
      }
    }),
  );
  return latencies;
}

/**
 * Open loop: each of `devices` devices scans at random (Poisson) times, `perSecond` scans a
 * second on average, for `seconds`; a device pushes one scan at a time, as the client does.
 * A scan's latency runs from the moment it was scanned to its acknowledgement, so time spent
 * queued behind the device's previous push counts (no coordinated omission).
 */
let openRuns = 0;
async function openLoop(api: Api, devices: number, perSecond: number, seconds: number) {
  const run = ++openRuns;
  const ds = await Promise.all(
    Array.from({ length: devices }, (_, i) => Device.create(api, `open${run}-${i}`)),
  );
  const latencies = await scanAtRandom(ds, perSecond, seconds);
  for (const d of ds) d.stream?.close();
  latencies.sort((a, b) => a - b);
  return {
    pushes: latencies.length,
    p50: latencies[Math.floor(latencies.length * 0.5)] ?? 0,
    p99: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
  };
}

/**
 * A working floor: `devices` devices, each holding a poke stream and pulling when poked (one
 * pull at a time, and one more after it when poked meanwhile), as the client does; each scans
 * at random (Poisson) times, `perSecond` scans a second on average, and pushes one scan at a
 * time. One more device only watches, as a supervisor's screen does. Reports the push latency
 * (scan → acknowledgement, including time queued behind the device's previous push), how long
 * until the watching device has pulled an acknowledged scan, and the pulls the pokes caused.
 */
let floorRuns = 0;
async function floor(api: Api, devices: number, perSecond: number, seconds: number) {
  const run = ++floorRuns;
  const start = (JSON.parse((await api.request('GET', '/health')).text) as { head: number }).head;
  const pullLatencies: number[] = [];
  const pullErrors: unknown[] = [];
  /** Pulls on pokes, one at a time; calls `pulled` with each new cookie. */
  const puller = (d: () => Device, pulled: (cookie: number) => void) => {
    let cookie = start;
    let pulling = false;
    let pokedAt: number | null = null; // the first poke not yet answered by a pull
    return (head: number) => {
      if (head <= cookie) return;
      pokedAt ??= performance.now();
      if (pulling) return;
      pulling = true;
      void (async () => {
        while (pokedAt !== null) {
          const since = pokedAt;
          pokedAt = null;
          cookie = await d().pullFrom(cookie);
          pullLatencies.push(performance.now() - since);
          pulled(cookie);
        }
        pulling = false;
      })().catch((e: unknown) => pullErrors.push(e)); // reported after the run
    };
  };
  // Acknowledged heads waiting to be seen by the watcher, in order.
  const acked: { head: number; at: number }[] = [];
  const propagation: number[] = [];
  let watcher: Device | null = null;
  watcher = await Device.create(
    api,
    `floor${run}-watcher`,
    true,
    puller(
      () => watcher as Device,
      (cookie) => {
        const now = performance.now();
        acked.sort((a, b) => a.head - b.head);
        while (acked.length > 0 && (acked[0]?.head ?? Infinity) <= cookie)
          propagation.push(now - (acked.shift()?.at ?? now));
      },
    ),
  );
  const ds: Device[] = [];
  for (let i = 0; i < devices; i++) {
    let self: Device | null = null;
    self = await Device.create(
      api,
      `floor${run}-${i}`,
      true,
      puller(
        () => self as Device,
        () => undefined,
      ),
    );
    ds.push(self);
  }
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  // The load generator's own event-loop delay: it is inside every latency measured here.
  const lag = monitorEventLoopDelay({ resolution: 5 });
  lag.enable();
  const latencies = await scanAtRandom(ds, perSecond, seconds, (head, at) =>
    acked.push({ head, at }),
  );
  const cpu = process.cpuUsage(cpu0);
  lag.disable();
  const busy = (cpu.user + cpu.system) / 1000 / (performance.now() - t0);
  await new Promise((r) => setTimeout(r, 500)); // the last pokes and pulls
  for (const d of [...ds, watcher]) d.stream?.close();
  if (pullErrors.length > 0)
    throw new Error(`${pullErrors.length} pulls failed; the first: ${String(pullErrors[0])}`);
  const pct = (xs: number[], q: number) =>
    [...xs].sort((a, b) => a - b)[Math.floor(xs.length * q)] ?? 0;
  return {
    pushes: latencies.length,
    p50: pct(latencies, 0.5),
    p99: pct(latencies, 0.99),
    seenP99: pct(propagation, 0.99),
    unseen: acked.length,
    pullsPerSecond: pullLatencies.length / seconds,
    /** The load generator's CPU share of its one core: near 1, it would be what is measured. */
    generatorBusy: busy,
    generatorLagP99: lag.percentile(99) / 1e6,
    eventsPerPull: [...ds, watcher].reduce((n, d) => n + d.pulled, 0) / pullLatencies.length,
    pullP99: pct(pullLatencies, 0.99),
  };
}

/** The ceiling: plain inserts of event-sized rows into the same kind of file, 100 per transaction. */
function rawInsertPerSecond(): number {
  const dir = mkdtempSync(path.join(tmpdir(), 'floorsync-raw-'));
  const db = new Database(path.join(dir, 'raw.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(
      'CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE, type TEXT, data TEXT, meta TEXT)',
    );
    const insert = db.prepare('INSERT INTO events (id, type, data, meta) VALUES (?, ?, ?, ?)');
    const data = JSON.stringify({ itemId: 'A', positionId: 'B1', quantity: 1 });
    const meta = JSON.stringify({
      clientID: 'c',
      mutationID: 1,
      userId: 'u',
      occurredAt: new Date().toISOString(),
      recordedAt: new Date().toISOString(),
      conflicts: [],
    });
    const tx = db.transaction((n: number, from: number) => {
      for (let i = 0; i < n; i++) insert.run(`id-${from + i}`, 'StockReceived', data, meta);
    });
    const rows = 100_000;
    const t0 = performance.now();
    for (let i = 0; i < rows; i += 100) tx(100, i);
    return rows / ((performance.now() - t0) / 1000);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A new device's first sync (cookie null, paged until done): seconds, entries, events. */
async function reset(api: Api, name: string) {
  const d = await Device.create(api, name, false);
  const t0 = performance.now();
  let cookie: unknown = null;
  let entries = 0;
  let events = 0;
  for (;;) {
    const res = (await api.post(
      '/sync/pull',
      { pullVersion: 1, clientGroupID: d.group, cookie, profileID: 'p', schemaVersion: '1' },
      d.token,
    )) as { cookie: unknown; patch: { key?: string }[]; hasMore?: boolean };
    for (const p of res.patch) {
      if (p.key?.startsWith('s/')) entries++;
      if (p.key?.startsWith('e/')) events++;
    }
    cookie = res.cookie;
    if (!res.hasMore) break;
  }
  return { seconds: (performance.now() - t0) / 1000, entries, events };
}

export const benches: Bench[] = [
  {
    name: 'push.batch100_per_s',
    reports: ['sqlite.raw_insert_per_s'],
    async run() {
      const out: Record<string, BenchResult> = {};
      const raw = rawInsertPerSecond();
      out['sqlite.raw_insert_per_s'] = { value: raw, unit: 'rows/s' };
      await withApi(async (api) => {
        await seed(api);
        await pushLoad(api, 2, 100, 5); // warm-up
        await openLoop(api, 100, 5, 2);
        // Server-side view of single pushes under 100 devices, on a fresh histogram.
        await withApi(async (fresh) => {
          await seed(fresh);
          await pushLoad(fresh, 100, 1, 10);
          out['push.single_server_p99_ms'] = {
            value: await fresh.serverPushP99Ms(),
            unit: 'ms (histogram bucket bound)',
          };
        });
        // 100 devices each scanning 5 times a second (a person scans about once every few
        // seconds): the latency an operator sees, at a load the server is not saturated by.
        const open = await openLoop(api, 100, 5, 6);
        out['push.single_open_p50_ms'] = { value: open.p50, unit: 'ms (100 devices × 5 scans/s)' };
        out['push.single_open_p99_ms'] = { value: open.p99, unit: 'ms (100 devices × 5 scans/s)' };
        for (const [devices, batch, perDevice] of [
          [1, 1, 500],
          [1, 100, 40],
          [10, 1, 100],
          [10, 100, 20],
          [100, 1, 10],
          [100, 100, 2],
        ] as const) {
          const r = await pushLoad(api, devices, batch, perDevice);
          out[`push.devices${devices}_batch${batch}_per_s`] = {
            value: r.perSecond,
            unit: 'mutations/s',
          };
          out[`push.devices${devices}_batch${batch}_p99_ms`] = { value: r.p99, unit: 'ms' };
          if (devices === 10 && batch === 100) {
            out['push.batch100_per_s'] = { value: r.perSecond, unit: 'mutations/s' };
            out['push.batch100_vs_raw_insert_ratio'] = { value: r.perSecond / raw, unit: 'ratio' };
          }
          if (devices === 100 && batch === 1)
            out['push.single_p99_ms'] = { value: r.p99, unit: 'ms' };
        }
      });
      return out;
    },
  },
  {
    name: 'push.floor100_p99_ms',
    async run() {
      const out: Record<string, BenchResult> = {};
      await withApi(async (api) => {
        await seed(api);
        await floor(api, 20, 5, 2); // warm-up
        for (const [perSecond, label] of [
          [1, 'floor100'],
          [5, 'floor100_busy'],
        ] as const) {
          const f = await floor(api, 100, perSecond, 10);
          if (f.unseen > 0) throw new Error(`${f.unseen} acknowledged scans never seen`);
          const unit = `ms (100 devices × ${perSecond} scan/s, listening and pulling)`;
          out[`push.${label}_p50_ms`] = { value: f.p50, unit };
          out[`push.${label}_p99_ms`] = { value: f.p99, unit };
          out[`push.${label}_seen_p99_ms`] = { value: f.seenP99, unit };
          out[`push.${label}_pull_p99_ms`] = { value: f.pullP99, unit };
          out[`push.${label}_pulls_per_s`] = { value: f.pullsPerSecond, unit: 'pulls/s' };
          out[`push.${label}_events_per_pull`] = { value: f.eventsPerPull, unit: 'events' };
          out[`push.${label}_generator_cpu`] = { value: f.generatorBusy, unit: 'share of a core' };
          out[`push.${label}_generator_lag_p99_ms`] = {
            value: f.generatorLagP99,
            unit: 'ms (the load generator’s event-loop delay: part of every latency above)',
          };
        }
      });
      return out;
    },
  },
  {
    // Scenario 9: a new device in a site with 1,000,000 events becomes usable from a snapshot.
    // Its first sync is timed on the same state before and after a million-event history (one
    // box shuttled between two bins): the ratio says whether the history costs it anything.
    name: 'pull.reset_1m_history_s',
    async run() {
      return withApi(async (api) => {
        await seed(api);
        const writer = await Device.create(api, 'shuttle', false);
        await writer.push([scan(0)]); // one box in B0
        const shuttle = (i: number) => ({
          name: 'moveStock',
          args: {
            itemId: 'A',
            from: i % 2 === 0 ? 'B0' : 'B1',
            to: i % 2 === 0 ? 'B1' : 'B0',
            quantity: 1,
          },
        });
        const short = await reset(api, 'fresh-short');
        for (let i = 0; i < 1000; i++)
          await writer.push(Array.from({ length: 1000 }, (_, j) => shuttle(i * 1000 + j)));
        const long = await reset(api, 'fresh-long');
        if (short.events + long.events > 0) throw new Error('a reset replayed history');
        if (long.entries !== short.entries)
          throw new Error(`state differs: ${short.entries} vs ${long.entries} entries`);
        return {
          'pull.reset_1m_history_s': { value: long.seconds, unit: 's (1,000,000 events behind)' },
          'pull.reset_short_history_s': { value: short.seconds, unit: 's (51 events behind)' },
          'pull.reset_1m_vs_short_ratio': { value: long.seconds / short.seconds, unit: 'ratio' },
          'pull.reset_entries': { value: long.entries, unit: 'snapshot entries' },
        };
      });
    },
  },
  {
    name: 'pull.100k_s',
    async run() {
      return withApi(async (api) => {
        await seed(api);
        const writer = await Device.create(api, 'writer', false);
        for (let i = 0; i < 100; i++)
          await writer.push(Array.from({ length: 1000 }, (_, j) => scan(i * 1000 + j)));
        const reader = await Device.create(api, 'fresh', false);
        const t0 = performance.now();
        let cookie = 0;
        let events = 0;
        for (;;) {
          const res = (await api.post(
            '/sync/pull',
            {
              pullVersion: 1,
              clientGroupID: reader.group,
              cookie,
              profileID: 'p',
              schemaVersion: '1',
            },
            reader.token,
          )) as {
            cookie: number;
            patch: unknown[];
            hasMore?: boolean;
          };
          events += res.patch.length;
          cookie = res.cookie;
          if (!res.hasMore) break;
        }
        const seconds = (performance.now() - t0) / 1000;
        if (events < 100_000) throw new Error(`pulled only ${events} events`);
        return { value: seconds, unit: 's' };
      });
    },
  },
];
