import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { Bench, BenchResult } from '../../scripts/bench-kit.js';
import { BENCH_ADMIN_PASSWORD, serverCommand } from '../../scripts/bench-server.js';
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
 * Reported: push latency p50/p95/p99 (from the scan, or from the moment the device came back
 * for scans queued offline, to the acknowledgement — time waiting behind the device's previous
 * push counts), propagation p99 (an acknowledged scan to the moment each of 20 watching devices
 * has pulled it: commit → poke → pull), the server process's RSS and CPU, and errors. The
 * load generator shares the machine with the server; its own CPU and event-loop delay are
 * reported too, since they are inside every latency measured.
 */
const DEVICES = 500;
const WATCHERS = 20;
const SECONDS = Number(process.env.LOAD_SECONDS ?? 30);
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
    const acked: { head: number; at: number }[] = [];
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
            while (s.seenUpTo < acked.length && (acked[s.seenUpTo]?.head ?? Infinity) <= s.cookie)
              propagation.push(now - (acked[s.seenUpTo++]?.at ?? now));
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
          s.device = await Device.create(api, `load-${n}`, true, (head) => {
            if (head > s.cookie) pull(s);
          });
          return s;
        }),
      );
      sims.push(...batch);
    }
    const latencies: number[] = [];
    let pushes = 0;
    const pushQueue = (s: Sim) => {
      if (s.pushing || !s.online || s.queue.length === 0) return;
      s.pushing = true;
      const batch = s.queue.splice(0, 100);
      void s.device
        .push(batch.map((b) => b.scan))
        .then((head) => {
          const now = performance.now();
          pushes++;
          for (const b of batch) latencies.push(now - b.at);
          acked.push({ head, at: now });
        })
        .catch(fail('push'))
        .finally(() => {
          s.pushing = false;
          pushQueue(s);
        });
    };

    const proc0 = procStat(pid);
    const cpu0 = process.cpuUsage();
    let rssPeak = proc0.rssMb;
    const t0 = performance.now();
    const end = t0 + SECONDS * 1000;
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
              scans++;
              s.queue.push({ scan: scan(k + i), at: performance.now() });
              pushQueue(s);
              nextScan += gap();
            } else if (s.online) {
              s.online = false;
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
          s.online = true;
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
    clearInterval(sampler);
    const elapsedS = (performance.now() - t0) / 1000;
    const proc1 = procStat(pid);
    const cpu = process.cpuUsage(cpu0);
    for (const s of sims) s.device.stream?.close();
    const unseen = sims
      .filter((s) => s.watcher)
      .reduce((n, s) => n + (acked.length - s.seenUpTo), 0);
    return {
      scans,
      pushes,
      p50: pct(latencies, 0.5),
      p95: pct(latencies, 0.95),
      p99: pct(latencies, 0.99),
      propagationP50: pct(propagation, 0.5),
      propagationP99: pct(propagation, 0.99),
      unseen,
      offlinePeriods,
      serverCpu: (proc1.cpuS - proc0.cpuS) / elapsedS,
      serverRssMb: proc1.rssMb,
      serverRssPeakMb: rssPeak,
      generatorCpu: (cpu.user + cpu.system) / 1e6 / elapsedS,
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
        env: { ADMIN_PASSWORD: BENCH_ADMIN_PASSWORD, DEMO: '' },
        command: serverCommand(),
      });
      try {
        const pid = server.child.pid;
        if (pid === undefined) throw new Error('no server pid');
        const r = await loadRun(server.base, pid);
        if (r.errors.length > 0)
          process.stderr.write(`  ${r.errors.length} errors; the first: ${r.errors[0]}\n`);
        process.stderr.write(
          `  ${r.scans} scans in ${r.pushes} pushes by ${DEVICES} devices over ${SECONDS} s, ${r.offlinePeriods} offline periods\n`,
        );
        const unit = `ms (${DEVICES} devices + ${WATCHERS} watching, a scan every ${SCAN_GAP_S} s each, offline at random; ${SECONDS} s)`;
        const out: Record<string, BenchResult> = {
          'load.push_p50_ms': { value: r.p50, unit },
          'load.push_p95_ms': { value: r.p95, unit },
          'load.push_p99_ms': { value: r.p99, unit },
          'load.propagation_p50_ms': { value: r.propagationP50, unit },
          'load.propagation_p99_ms': { value: r.propagationP99, unit },
          'load.scans': { value: r.scans, unit: 'scans acknowledged' },
          'load.unseen': { value: r.unseen, unit: 'acknowledged scans a watcher never pulled' },
          'load.errors': { value: r.errors.length, unit: 'failed requests' },
          'load.server_cpu': { value: r.serverCpu, unit: 'share of a core (server process)' },
          'load.server_rss_mb': { value: r.serverRssPeakMb, unit: 'MB (server process, peak)' },
          'load.generator_cpu': { value: r.generatorCpu, unit: 'share of a core (load generator)' },
        };
        return out;
      } finally {
        await server.stop();
      }
    },
  },
];
