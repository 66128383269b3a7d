import { readFileSync } from 'node:fs';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Bench, BenchResult } from '../../scripts/bench-kit.js';
import {
  BENCH_ADMIN_PASSWORD,
  BENCH_METRICS_TOKEN,
  serverCommand,
} from '../../scripts/bench-server.js';
import { spawnServer } from '../../scripts/server-process.js';
import { Api, Device, scan, seed } from './sync.bench.js';

/**
 * The load test of issue 7 (`npm run bench -- load`): 500 devices against a real server process
 * on loopback, over real HTTP and SSE, for a bounded time. Each device holds a poke stream and
 * pulls when poked (one pull at a time, one more if poked meanwhile), as the client does; it
 * scans at shop-floor pace (Poisson, one scan every `SCAN_GAP_S` seconds on average) and pushes
 * each scan at once — unless it is offline: devices drop off the network at random for a few
 * seconds, keep scanning into their queue, and push the queue as one batch when they are back
 * (then pull what they missed).
 *
 * After `WARMUP_S` seconds of the same workload, `SECONDS` are measured. Reported: push latency
 * p50/p95/p99 (from the scan, or from the moment the device came back
 * for scans queued offline, to the acknowledgement — time waiting behind the device's previous
 * push counts), propagation p99 (an acknowledged scan to the moment each of 20 watching devices
 * has pulled it: commit → poke → pull), the server process's RSS and CPU, and errors. The
 * load generator shares the machine with the server; its own CPU and event-loop delay are
 * reported too, since they are inside every latency measured.
 */
const DEVICES = 500;
const WATCHERS = 20;
const SECONDS = Number(process.env.LOAD_SECONDS ?? 30);
/**
 * The same workload runs this long before the measured `SECONDS` (`LOAD_WARMUP_SECONDS`): a
 * floor at work, not a server whose push path the JIT has not compiled yet and whose clients
 * it has never seen. Its push p99 is reported apart (`load.warmup_push_p99_ms`), not hidden.
 */
const WARMUP_S = Number(process.env.LOAD_WARMUP_SECONDS ?? 5);
const SCAN_GAP_S = 5;
/** Chance per second that an online device drops off; offline periods last 2–8 s. */
const DROP_PER_S = 0.02;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const pct = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))] ?? 0;

/** A process's CPU seconds (user + system) and RSS, from /proc (Linux). */
function procStat(pid: number): { cpuS: number; rssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
  const rssPages = Number(fields[21]);
  return { cpuS: ticks / 100, rssMb: (rssPages * 4096) / 1024 / 1024 };
}

/** A histogram's cumulative buckets (bound in ms → count) from Prometheus text. */
function histogram(text: string, name: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const m of text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\d+)$`, 'gm')))
    out.set(m[1] === '+Inf' ? Infinity : Number(m[1]) * 1000, Number(m[2]));
  return out;
}

/**
 * The q-quantile of what a histogram counted between two scrapes, as the upper bound of its
 * bucket (ms): coarse (1, 2, 5, 10, 20, 50, 100, 250, 500…) but measured inside the server.
 */
function quantileBetween(before: string, after: string, name: string, q: number): number {
  const b = histogram(before, name);
  const a = [...histogram(after, name)].map(([le, n]) => [le, n - (b.get(le) ?? 0)] as const);
  const total = a.at(-1)?.[1] ?? 0;
  if (total === 0) return 0;
  return a.find(([, n]) => n >= total * q)?.[0] ?? Infinity;
}

/** How many observations a histogram counted above `boundMs` between two scrapes. */
function countAbove(before: string, after: string, name: string, boundMs: number): number {
  const b = histogram(before, name);
  const a = histogram(after, name);
  const total = (a.get(Infinity) ?? 0) - (b.get(Infinity) ?? 0);
  return total - ((a.get(boundMs) ?? 0) - (b.get(boundMs) ?? 0));
}

const gaugeOf = (text: string, series: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? NaN : Number(line.slice(series.length + 1)) * 1000;
};

async function loadRun(base: string, pid: number) {
  const api = new Api(base);
  const errors: string[] = [];
  const fail = (what: string) => (e: unknown) => {
    if (errors.length < 1000) errors.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
  };
  try {
    await seed(api);
    const start = (JSON.parse((await api.request('GET', '/health')).text) as { head: number }).head;
    // Acknowledged heads, in order, with when they were acknowledged.
    const acked: { head: number; at: number; measured: boolean }[] = [];
    const propagation: number[] = [];

    interface Sim {
      device: Device;
      cookie: number;
      online: boolean;
      pulling: boolean;
      poked: boolean;
      queue: { scan: ReturnType<typeof scan>; at: number }[];
      pushing: boolean;
      watcher: boolean;
      /** Index into `acked` of the first head this watcher has not seen yet. */
      seenUpTo: number;
    }
    const sims: Sim[] = [];
    const pull = (s: Sim) => {
      if (!s.online) return;
      if (s.pulling) {
        s.poked = true;
        return;
      }
      s.pulling = true;
      void (async () => {
        do {
          s.poked = false;
          s.cookie = await s.device.pullFrom(s.cookie);
          if (s.watcher) {
            const now = performance.now();
            while (s.seenUpTo < acked.length && (acked[s.seenUpTo]?.head ?? Infinity) <= s.cookie) {
              const a = acked[s.seenUpTo++];
              if (a?.measured) propagation.push(now - a.at);
            }
          }
        } while (s.poked && s.online);
      })()
        .catch(fail('pull'))
        .finally(() => (s.pulling = false));
    };
    // Sign-ins are argon2 on the server: a few at a time, before the clock starts.
    for (let i = 0; i < DEVICES + WATCHERS; i += 10) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(10, DEVICES + WATCHERS - i) }, async (_, j) => {
          const n = i + j;
          const s: Sim = {
            device: null as unknown as Device,
            cookie: start,
            online: true,
            pulling: false,
            poked: false,
            queue: [],
            pushing: false,
            watcher: n >= DEVICES,
            seenUpTo: 0,
          };
          // Each device has its own connections, as a handheld has: 500 devices are 500
          // HTTP clients, not one pool shared by all.
          s.device = await Device.create(new Api(base), `load-${n}`, true, (head) => {
            if (head > s.cookie) pull(s);
          });
          return s;
        }),
      );
      sims.push(...batch);
    }
    // A handheld that has been running holds two keep-alive connections (its push and its
    // pull may overlap): open them now, not all in the first second of the measured run. The
    // server accepts one connection per turn of its event loop (Node 20, libuv 1.46), so 500
    // devices opening their second connection at once would wait seconds to be accepted.
    for (let i = 0; i < sims.length; i += 20)
      await Promise.all(
        sims
          .slice(i, i + 20)
          .map((s) => Promise.all([s.device.pullFrom(s.cookie), s.device.pullFrom(s.cookie)])),
      );
    // Let the server settle after the sign-ins (sessions written, the WAL checkpointed, the
    // devices' activity flushed): the run measures a floor at work, not the setup's tail.
    await sleep(3000);
    const latencies: number[] = [];
    /** When each latency ended (ms since the measured run started), for the tail by window. */
    const endedAt: number[] = [];
    const warmupLatencies: number[] = [];
    let pushes = 0;
    const pushQueue = (s: Sim) => {
      if (s.pushing || !s.online || s.queue.length === 0) return;
      s.pushing = true;
      const batch = s.queue.splice(0, 100);
      void s.device
        .push(batch.map((b) => b.scan))
        .then((head) => {
          const now = performance.now();
          // A scan counts when it was made (or came back online) in the measured run; a push
          // counts when it carried such a scan, as its latencies do.
          if (batch.some((b) => b.at >= measureFrom)) pushes++;
          for (const b of batch) {
            if (b.at < measureFrom) warmupLatencies.push(now - b.at);
            else {
              latencies.push(now - b.at);
              endedAt.push(now - measureFrom);
            }
          }
          acked.push({ head, at: now, measured: now >= measureFrom });
        })
        .catch(fail('push'))
        .finally(() => {
          s.pushing = false;
          pushQueue(s);
        });
    };

    const loop = monitorEventLoopDelay({ resolution: 10 });
    const t0 = performance.now();
    const measureFrom = t0 + WARMUP_S * 1000;
    const end = measureFrom + SECONDS * 1000;
    // The server's counters, CPU and the generator's loop delay from the end of the warm-up.
    let metrics0 = '';
    let proc0 = procStat(pid);
    let cpu0 = process.cpuUsage();
    let rssPeak = proc0.rssMb;
    const marked = sleep(measureFrom - performance.now()).then(async () => {
      proc0 = procStat(pid);
      cpu0 = process.cpuUsage();
      loop.enable();
      metrics0 = (await api.request('GET', '/metrics', undefined, BENCH_METRICS_TOKEN)).text;
    });
    let scans = 0;
    let offlinePeriods = 0;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, procStat(pid).rssMb);
    }, 500);
    await Promise.all(
      sims
        .filter((s) => !s.watcher)
        .map(async (s, k) => {
          const gap = () => -Math.log(1 - Math.random()) * SCAN_GAP_S * 1000;
          let nextScan = t0 + gap();
          let nextDrop = t0 - Math.log(1 - Math.random()) * (1000 / DROP_PER_S);
          let backAt = Infinity;
          for (let i = 0; ; i++) {
            const at = Math.min(nextScan, s.online ? nextDrop : backAt);
            if (at >= end) break;
            await sleep(at - performance.now());
            if (at === nextScan) {
              if (at >= measureFrom) scans++;
              s.queue.push({ scan: scan(k + i), at: performance.now() });
              pushQueue(s);
              nextScan += gap();
            } else if (s.online) {
              s.online = false;
              s.device.api.disconnect(); // off the Wi-Fi: it reconnects when back
              offlinePeriods++;
              backAt = performance.now() + 2000 + Math.random() * 6000;
            } else {
              // Back: the queue's waiting starts now (offline time is not the server's).
              const now = performance.now();
              for (const q of s.queue) q.at = Math.max(q.at, now);
              s.online = true;
              nextDrop = now - Math.log(1 - Math.random()) * (1000 / DROP_PER_S);
              backAt = Infinity;
              pushQueue(s);
              pull(s);
            }
          }
          // The end: a device still offline comes back and pushes what it queued; as above,
          // its waiting starts now.
          if (!s.online) {
            const now = performance.now();
            for (const q of s.queue) q.at = Math.max(q.at, now);
            s.online = true;
          }
          pushQueue(s);
        }),
    );
    // Quiesce: every queue pushed, every watcher caught up (bounded).
    for (let waited = 0; waited < 15_000; waited += 50) {
      const busy = sims.some((s) => s.queue.length > 0 || s.pushing);
      const behind = sims.some((s) => s.watcher && s.seenUpTo < acked.length);
      if (!busy && !behind) break;
      await sleep(50);
    }
    await marked;
    clearInterval(sampler);
    const elapsedS = (performance.now() - measureFrom) / 1000;
    const proc1 = procStat(pid);
    const cpu = process.cpuUsage(cpu0);
    loop.disable();
    const metrics1 = (await api.request('GET', '/metrics', undefined, BENCH_METRICS_TOKEN)).text;
    for (const s of sims) s.device.api.close();
    // The tail by 5 s window (stderr): a start-up stall and a steady tail look alike in one p99.
    const windows: number[][] = [];
    latencies.forEach((l, i) => (windows[Math.floor((endedAt[i] ?? 0) / 5000)] ??= []).push(l));
    process.stderr.write(
      `  push p99 by 5 s window: ${[...windows].map((w) => (w ? pct(w, 0.99).toFixed(0) : '-')).join(' ')} ms\n`,
    );
    process.stderr.write(
      `  inside the server: ${countAbove(metrics0, metrics1, 'floorsync_push_duration_seconds', 100)} pushes over 100 ms, ` +
        `${countAbove(metrics0, metrics1, 'floorsync_pull_duration_seconds', 100)} pulls over 100 ms, ` +
        `${countAbove(metrics0, metrics1, 'floorsync_wal_sync_duration_seconds', 50)} WAL syncs over 50 ms\n`,
    );
    const unseen = sims
      .filter((s) => s.watcher)
      .reduce((n, s) => n + (acked.length - s.seenUpTo), 0);
    return {
      scans,
      pushes,
      p50: pct(latencies, 0.5),
      p95: pct(latencies, 0.95),
      p99: pct(latencies, 0.99),
      warmupP99: pct(warmupLatencies, 0.99),
      propagationP50: pct(propagation, 0.5),
      propagationP99: pct(propagation, 0.99),
      unseen,
      offlinePeriods,
      serverCpu: (proc1.cpuS - proc0.cpuS) / elapsedS,
      serverRssMb: proc1.rssMb,
      serverRssPeakMb: rssPeak,
      generatorCpu: (cpu.user + cpu.system) / 1e6 / elapsedS,
      generatorLoopP99: loop.percentile(99) / 1e6,
      generatorLoopMax: loop.max / 1e6,
      server: {
        pushP99: quantileBetween(metrics0, metrics1, 'floorsync_push_duration_seconds', 0.99),
        pullP99: quantileBetween(metrics0, metrics1, 'floorsync_pull_duration_seconds', 0.99),
        walSyncP99: quantileBetween(
          metrics0,
          metrics1,
          'floorsync_wal_sync_duration_seconds',
          0.99,
        ),
        loopP99: gaugeOf(metrics1, 'floorsync_event_loop_delay_seconds{quantile="0.99"}'),
        loopMax: gaugeOf(metrics1, 'floorsync_event_loop_delay_max_seconds'),
        pulls:
          (Number(/^floorsync_pulls_total (\d+)$/m.exec(metrics1)?.[1]) || 0) -
          (Number(/^floorsync_pulls_total (\d+)$/m.exec(metrics0)?.[1]) || 0),
      },
      errors,
    };
  } finally {
    api.close();
  }
}

export const benches: Bench[] = [
  {
    name: 'load.push_p99_ms',
    async run() {
      if (os.platform() !== 'linux') throw new Error('the load test reads /proc (Linux only)');
      const server = await spawnServer({
        env: { ADMIN_PASSWORD: BENCH_ADMIN_PASSWORD, DEMO: '', METRICS_TOKEN: BENCH_METRICS_TOKEN },
        // BENCH_SERVER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the server.
        nodeArgs: (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean),
        command: serverCommand(),
      });
      try {
        const pid = server.child.pid;
        if (pid === undefined) throw new Error('no server pid');
        const r = await loadRun(server.base, pid);
        if (r.errors.length > 0)
          process.stderr.write(`  ${r.errors.length} errors; the first: ${r.errors[0]}\n`);
        process.stderr.write(
          `  ${r.scans} scans in ${r.pushes} pushes by ${DEVICES} devices over ${SECONDS} s after ${WARMUP_S} s of warm-up, ${r.offlinePeriods} offline periods\n`,
        );
        const unit = `ms (${DEVICES} devices + ${WATCHERS} watching, a scan every ${SCAN_GAP_S} s each, offline at random; ${SECONDS} s)`;
        const out: Record<string, BenchResult> = {
          'load.push_p50_ms': { value: r.p50, unit },
          'load.push_p95_ms': { value: r.p95, unit },
          'load.push_p99_ms': { value: r.p99, unit },
          'load.warmup_push_p99_ms': {
            value: r.warmupP99,
            unit: `ms (the same, in the ${WARMUP_S} s of warm-up before the measured run)`,
          },
          'load.propagation_p50_ms': { value: r.propagationP50, unit },
          'load.propagation_p99_ms': { value: r.propagationP99, unit },
          'load.scans': { value: r.scans, unit: 'scans acknowledged' },
          'load.unseen': { value: r.unseen, unit: 'acknowledged scans a watcher never pulled' },
          'load.errors': { value: r.errors.length, unit: 'failed requests' },
          'load.server_cpu': { value: r.serverCpu, unit: 'share of a core (server process)' },
          'load.server_rss_mb': { value: r.serverRssPeakMb, unit: 'MB (server process, peak)' },
          'load.generator_cpu': { value: r.generatorCpu, unit: 'share of a core (load generator)' },
          'load.generator_loop_delay_p99_ms': {
            value: r.generatorLoopP99,
            unit: `ms (the load generator's event loop; max ${r.generatorLoopMax.toFixed(0)})`,
          },
          'load.server_push_p99_ms': {
            value: r.server.pushP99,
            unit: 'ms, bucket bound (inside the server: after authentication to the answer)',
          },
          'load.server_pull_p99_ms': {
            value: r.server.pullP99,
            unit: `ms, bucket bound (inside the server; ${r.server.pulls} pulls)`,
          },
          'load.server_wal_sync_p99_ms': {
            value: r.server.walSyncP99,
            unit: 'ms, bucket bound (fdatasync of the WAL)',
          },
          'load.server_loop_delay_p99_ms': {
            value: r.server.loopP99,
            unit: `ms (the server's event loop since it started; max ${r.server.loopMax.toFixed(0)})`,
          },
        };
        return out;
      } finally {
        await server.stop();
      }
    },
  },
];
