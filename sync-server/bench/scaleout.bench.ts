import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Bench, BenchResult } from '../../scripts/bench-kit.js';
import {
  BENCH_ADMIN_PASSWORD,
  BENCH_METRICS_TOKEN,
  serverCommand,
} from '../../scripts/bench-server.js';
import { startNatsServer } from '../../scripts/nats-server.js';
import { spawnServer } from '../../scripts/server-process.js';
import { Api, Device, scan, seed } from './sync.bench.js';

/**
 * Scale-out propagation (`npm run bench -- scaleout`): two sync server processes sharing one
 * SQLite file (WAL) and one real nats-server, as `test/scale-out.test.ts` sets them up. One
 * device scans through instance A at a brisk pace (a scan every 100–400 ms); `WATCHERS` devices
 * on each instance hold a poke stream and pull when poked, as the client does. Propagation is
 * the time from A's acknowledgement of a scan to the moment a watcher has pulled it: on A, the
 * poke; on B, the poke message A publishes on NATS at commit → B's SSE poke → B's pull from
 * the shared file. (With NATS, A hears its own poke message through NATS as well.)
 *
 * Reported: p50/p95/p99 of each, and their ratio (B over A, same run, same load): what the
 * second instance adds. The target of issue 5 is under 1 s across instances; both instances
 * coalesce pokes over `POKE_INTERVAL_MS` (250 ms), so scans closer together than that wait for
 * the interval — part of every figure here, as on a floor.
 */
const ROUNDS = Number(process.env.SCALEOUT_ROUNDS ?? 150);
const WATCHERS = 10;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: readonly number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))] ?? 0;
const ms = (value: number): BenchResult => ({ value, unit: 'ms' });

interface Watcher {
  device: Device | null;
  cookie: number;
  pulling: boolean;
  poked: boolean;
  /** Index into `acked` of the first scan this watcher has not pulled yet. */
  seenUpTo: number;
}

async function scaleOut(): Promise<Record<string, BenchResult>> {
  const nats = await startNatsServer();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'floorsync-bench-scaleout-'));
  const env = {
    DATA_DIR: dataDir,
    NATS_URL: nats.url,
    ADMIN_PASSWORD: BENCH_ADMIN_PASSWORD,
    METRICS_TOKEN: BENCH_METRICS_TOKEN,
    DEMO: '',
  };
  const servers = [];
  const apis: Api[] = [];
  try {
    // Both servers on core 0 (when it can be pinned), the devices on core 1.
    const command = serverCommand();
    servers.push(await spawnServer({ env, command })); // first: it creates the schema and the admin
    servers.push(await spawnServer({ env, command }));
    const [onA, onB] = servers.map((s) => new Api(s.base)) as [Api, Api];
    apis.push(onA, onB);
    await seed(onA);

    const acked: { head: number; at: number }[] = [];
    const latency = { A: [] as number[], B: [] as number[] };
    const failures: Error[] = [];
    const watch = async (api: Api, name: string, into: number[]) => {
      const w: Watcher = {
        device: null,
        cookie: 0,
        pulling: false,
        poked: false,
        seenUpTo: 0,
      };
      const pull = () => {
        const device = w.device;
        if (!device) return; // the poke at connect, before the device is ready: it pulls anyway
        if (w.pulling) {
          w.poked = true;
          return;
        }
        w.pulling = true;
        void (async () => {
          do {
            w.poked = false;
            w.cookie = await device.pullFrom(w.cookie);
            const now = performance.now();
            while (w.seenUpTo < acked.length && (acked[w.seenUpTo]?.head ?? Infinity) <= w.cookie)
              into.push(now - (acked[w.seenUpTo++]?.at ?? now));
          } while (w.poked);
        })()
          .catch((error: unknown) => failures.push(new Error('pull failed', { cause: error })))
          .finally(() => (w.pulling = false));
      };
      const device = await Device.create(api, name, true, pull);
      w.cookie = await device.pullFrom(0);
      w.device = device;
      return w;
    };
    const watchers = [
      ...(await Promise.all(
        Array.from({ length: WATCHERS }, (_, i) => watch(onA, `watch-a-${i}`, latency.A)),
      )),
      ...(await Promise.all(
        Array.from({ length: WATCHERS }, (_, i) => watch(onB, `watch-b-${i}`, latency.B)),
      )),
    ];
    const scanner = await Device.create(onA, 'scanner', false);
    await sleep(500); // every stream has had its poke at connect
    for (let i = 0; i < ROUNDS && failures.length === 0; i++) {
      const head = await scanner.push([scan(i)]);
      acked.push({ head, at: performance.now() });
      await sleep(100 + Math.random() * 300);
    }
    // Every watcher pulls every scan, or the run is not a measurement.
    const until = Date.now() + 10_000;
    while (watchers.some((w) => w.seenUpTo < acked.length) && failures.length === 0) {
      if (Date.now() > until)
        throw new Error(
          `watchers still behind after 10 s: ${watchers.map((w) => acked.length - w.seenUpTo).join(',')}`,
        );
      await sleep(20);
    }
    if (failures[0]) throw failures[0];
    const p99A = pct(latency.A, 0.99);
    const p99B = pct(latency.B, 0.99);
    return {
      'scaleout.propagation_p50_ms': ms(pct(latency.B, 0.5)),
      'scaleout.propagation_p95_ms': ms(pct(latency.B, 0.95)),
      'scaleout.propagation_p99_ms': ms(p99B),
      'scaleout.same_instance_propagation_p50_ms': ms(pct(latency.A, 0.5)),
      'scaleout.same_instance_propagation_p99_ms': ms(p99A),
      'scaleout.cross_over_same_p99_ratio': { value: p99B / Math.max(p99A, 0.001), unit: 'x' },
      'scaleout.samples': { value: latency.B.length, unit: 'count' },
    };
  } finally {
    for (const api of apis) api.close();
    await Promise.all(servers.map((s) => s.stop()));
    await nats.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export const benches: Bench[] = [{ name: 'scaleout.propagation', run: scaleOut }];
