import type { ChildProcess } from 'node:child_process';
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { reproduction, runSeed, SITUATIONS } from './sim.js';
import type { SimOptions, SimResult, Situation } from './sim.js';

/**
 * The soak: `npm run soak -- …` (see USAGE below and README.md). Runs seeds one after the other; a failing seed is reported with its violations, the end of
 * its trace and the command that runs it again (with the fewest steps that still fail, when
 * shrinking finds fewer). Ends with exactly one line `soak: N seeds, V violations` and exits
 * non-zero when there was any violation.
 */
/** A command line that cannot be run: answered with the usage. */
class UsageError extends Error {}

interface Args {
  seed: number | null;
  seeds: number;
  start: number;
  devices: number;
  steps: number;
  faults: number | undefined;
  trace: boolean;
  /** Failing seeds to shrink (each costs up to 8 more runs); the rest print the plain command. */
  shrink: number;
  hostileProxy: boolean;
  maxTabs: number | undefined;
  refreshBeforeSync: boolean;
  minutes: number | null;
  process: boolean;
  restartWeight: number | undefined;
  restoreWeight: number | undefined;
  reconcileSteps: number | undefined;
  workload: 1 | 2 | 3 | undefined;
  /** Child processes running seeds side by side (`--jobs`). */
  jobs: number;
  /** This process is one of them (internal). */
  child: boolean;
}

function parse(argv: readonly string[]): Args {
  const a: Args = {
    seed: null,
    seeds: 1,
    start: 1,
    devices: 4,
    steps: 300,
    faults: undefined,
    trace: false,
    shrink: 3,
    hostileProxy: false,
    maxTabs: undefined,
    refreshBeforeSync: false,
    minutes: null,
    process: false,
    restartWeight: undefined,
    restoreWeight: undefined,
    reconcileSteps: undefined,
    workload: undefined,
    jobs: 1,
    child: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v)) throw new UsageError(`${flag} needs a number`);
      return v;
    };
    switch (flag) {
      case '--seed':
        a.seed = value();
        break;
      case '--seeds':
        a.seeds = value();
        break;
      case '--start':
        a.start = value();
        break;
      case '--devices':
        a.devices = value();
        break;
      case '--steps':
        a.steps = value();
        break;
      case '--faults':
        a.faults = value();
        break;
      case '--refresh-before-sync':
        a.refreshBeforeSync = true;
        break;
      case '--tabs':
        a.maxTabs = value();
        break;
      case '--minutes':
        a.minutes = value();
        break;
      case '--trace':
        a.trace = true;
        break;
      case '--hostile-proxy':
        a.hostileProxy = true;
        break;
      case '--process':
        a.process = true;
        break;
      case '--workload': {
        const w = value();
        if (w !== 1 && w !== 2 && w !== 3) throw new UsageError('--workload is 1, 2 or 3');
        a.workload = w;
        break;
      }
      case '--reconcile-steps':
        a.reconcileSteps = value();
        break;
      case '--restart-weight':
        a.restartWeight = value();
        break;
      case '--restore-weight':
        a.restoreWeight = value();
        break;
      case '--jobs':
        a.jobs = value();
        break;
      case '--child':
        a.child = true;
        break;
      case '--no-shrink':
        a.shrink = 0;
        break;
      case '--shrink':
        a.shrink = value();
        break;
      default:
        throw new UsageError(`unknown argument ${flag}`);
    }
  }
  if (a.devices < 1 || a.steps < 0 || a.seeds < 1) throw new UsageError('nothing to run');
  if (!Number.isInteger(a.jobs) || a.jobs < 1) throw new UsageError('--jobs is a whole number ≥ 1');
  return a;
}

/** The fewest steps (found by bisection, a few runs at most) with which the seed still fails. */
async function shrink(r: SimResult, extra: Partial<SimOptions>): Promise<number> {
  let failing = r.steps;
  let passing = 0;
  for (let runs = 0; runs < 8 && failing - passing > 1; runs++) {
    const mid = Math.floor((failing + passing) / 2);
    const again = await runSeed({ ...extra, seed: r.seed, devices: r.devices, steps: mid });
    if (again.violations.length > 0) failing = mid;
    else passing = mid;
  }
  return failing;
}

/** What one seed's run printed, and how it went. */
interface SeedReport {
  readonly seed: number;
  readonly violations: number;
  /** Printed for a seed that ran clean, when the soak's progress line is due. */
  readonly okLine: string;
  /** Printed for a failing seed: its violations, its trace's end, the command. */
  readonly failure: readonly string[];
  /** "seed S reached …" for every rare situation the run reached (`SITUATIONS`). */
  readonly reached: readonly string[];
}

/** Runs one seed; a failing one is shrunk when `shrinkIt`. Prints nothing itself. */
async function runOne(
  a: Args,
  extra: Partial<SimOptions>,
  flags: string,
  seed: number,
  shrinkIt: boolean,
): Promise<SeedReport> {
  const s0 = performance.now();
  const r = await runSeed({
    ...extra,
    seed,
    devices: a.devices,
    steps: a.steps,
    ...(a.trace ? { onTrace: (line: string) => console.log(line) } : {}),
  });
  const ms = performance.now() - s0;
  const s = r.stats;
  const okLine = `seed ${seed}: ok in ${(ms / 1000).toFixed(1)} s — ${s.mutations} mutations (${s.rejected} rejected), ${s.events} events, ${s.conflicts} conflicts (${s.eventTypes['ConflictResolved'] ?? 0} resolved), ${s.serverRestarts} server restarts${r.process ? ` (${s.processKills} SIGKILL, ${s.processTerms} SIGTERM)` : ''}${s.restores ? `, ${s.restores} restores (${s.lostByRestores ?? 0} mutations lost and sent again)` : ''}, faults ×${s.intensity} ${JSON.stringify(s.faults)}, trace ${r.traceHash.slice(0, 16)}`;
  const reached = Object.entries(s.situations).map(
    ([k, n]) => `seed ${seed} reached ${k} ×${n}: ${SITUATIONS[k as Situation]}`,
  );
  if (r.violations.length === 0) return { seed, violations: 0, okLine, failure: [], reached };
  const out = [`\nseed ${seed}: ${r.violations.length} violation(s)`];
  for (const v of r.violations) out.push(`  - ${v}`);
  if (!a.trace) {
    out.push('  the end of its trace:');
    for (const line of r.traceTail.slice(-30)) out.push(`    ${line}`);
  }
  const steps = shrinkIt ? await shrink(r, extra) : r.steps;
  out.push(
    `  reproduce: ${reproduction({ seed, devices: a.devices, steps, process: a.process })}${flags}`,
  );
  if (a.process)
    out.push('  (process mode is not deterministic: the same seed may not fail the same way)');
  if (steps !== r.steps)
    out.push(`  (fails with ${steps} steps as with ${r.steps}; --trace prints every step)`);
  return { seed, violations: r.violations.length, okLine, failure: out, reached };
}

/**
 * `--jobs J`: the seeds are run by J child processes of this script, handed one at a time as
 * each child is free (so a slow seed holds up no other); each seed's run is the same as alone.
 * Each child shrinks up to `--shrink` of its own failing seeds. A child that dies takes the
 * soak down with it, naming its seed; the others are killed (and so are the server processes
 * they started in process mode: a child exits when its parent goes).
 */
async function inChildren(
  a: Args,
  argv: readonly string[],
  seeds: readonly number[],
  stop: { at: number },
  report: (r: SeedReport) => void,
): Promise<void> {
  const childArgs = [...argv.filter((_, i) => !isJobsFlag(argv, i)), '--child'];
  const children: ChildProcess[] = [];
  const killAll = () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  };
  process.once('exit', killAll);
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: Math.min(a.jobs, seeds.length) }, () => {
        const child = fork(process.argv[1] ?? '', childArgs, { execArgv: process.execArgv });
        children.push(child);
        let running: number | null = null;
        return new Promise<void>((resolve, reject) => {
          const give = () => {
            const seed = seeds[next];
            if (seed === undefined || performance.now() > stop.at) {
              running = null;
              child.send({ done: true });
              return;
            }
            next++;
            running = seed;
            child.send({ seed });
          };
          child.on('message', (m: SeedReport) => {
            report(m);
            give();
          });
          child.on('error', reject);
          child.on('exit', (code, signal) => {
            if (code === 0 && running === null) resolve();
            else
              reject(
                new Error(
                  `a soak job died (${signal ?? `exit ${code}`})` +
                    (running !== null
                      ? ` running seed ${running}: npm run soak -- --seed ${running}`
                      : ''),
                ),
              );
          });
          give();
        });
      }),
    );
  } finally {
    killAll();
    process.off('exit', killAll);
  }
}

/** `[1, 2, 3, 7]` → `1–3, 7`. */
function ranges(seeds: readonly number[]): string {
  const sorted = [...seeds].sort((x, y) => x - y);
  const out: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === (sorted[j] as number) + 1) j++;
    out.push(i === j ? `${sorted[i]}` : `${sorted[i]}–${sorted[j]}`);
    i = j + 1;
  }
  return out.join(', ');
}

const isJobsFlag = (argv: readonly string[], i: number) =>
  argv[i] === '--jobs' || argv[i - 1] === '--jobs';

/** A child of `--jobs`: runs the seeds its parent hands it, and reports each. */
function child(a: Args, extra: Partial<SimOptions>, flags: string): Promise<number> {
  // The parent gone (killed, crashed): stop, rather than run a seed nobody will hear of.
  let finished = false;
  process.on('disconnect', () => {
    if (!finished) process.exit(1);
  });
  // Ctrl-C reaches the whole process group: the parent decides (it lets running seeds end).
  process.on('SIGINT', () => undefined);
  let shrunk = 0;
  return new Promise((resolve) => {
    let queue = Promise.resolve();
    process.on('message', (m: { seed?: number; done?: boolean }) => {
      queue = queue.then(async () => {
        if (m.done || m.seed === undefined) {
          finished = true;
          resolve(0);
          return;
        }
        const r = await runOne(a, extra, flags, m.seed, shrunk < a.shrink);
        if (r.violations > 0) shrunk++;
        process.send?.(r);
      });
    });
  });
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const a = parse(argv);
  const seeds = a.seed !== null ? [a.seed] : Array.from({ length: a.seeds }, (_, i) => a.start + i);
  const stop = { at: a.minutes !== null ? performance.now() + a.minutes * 60_000 : Infinity };
  let interrupted: number | null = null;
  // Interrupted (Ctrl-C, SIGTERM): no new seed starts, the running ones end and are counted,
  // and the summary says which seeds ran. Again: out at once — through 'exit', where the server
  // processes of process mode are killed (a signal's default action would leave them running).
  if (!a.child)
    for (const [signal, code] of [
      ['SIGINT', 130],
      ['SIGTERM', 143],
    ] as const)
      process.on(signal, () => {
        if (interrupted !== null) process.exit(code);
        interrupted = code;
        stop.at = 0;
        console.log(`soak: ${signal}: stopping after the seeds running (again: stop now)`);
      });
  const extra: Partial<SimOptions> = {
    ...(a.faults !== undefined ? { faults: a.faults } : {}),
    ...(a.hostileProxy ? { hostileProxy: true } : {}),
    ...(a.maxTabs !== undefined ? { maxTabs: a.maxTabs } : {}),
    ...(a.refreshBeforeSync ? { refreshBeforeSync: true } : {}),
    ...(a.process ? { process: true } : {}),
    ...(a.restartWeight !== undefined ? { restartWeight: a.restartWeight } : {}),
    ...(a.restoreWeight !== undefined ? { restoreWeight: a.restoreWeight } : {}),
    ...(a.reconcileSteps !== undefined ? { reconcileSteps: a.reconcileSteps } : {}),
    ...(a.workload !== undefined ? { workload: a.workload } : {}),
  };
  const flags =
    (a.faults !== undefined ? ` --faults ${a.faults}` : '') +
    (a.hostileProxy ? ' --hostile-proxy' : '') +
    (a.maxTabs !== undefined ? ` --tabs ${a.maxTabs}` : '') +
    (a.refreshBeforeSync ? ' --refresh-before-sync' : '') +
    (a.restartWeight !== undefined ? ` --restart-weight ${a.restartWeight}` : '') +
    (a.restoreWeight !== undefined ? ` --restore-weight ${a.restoreWeight}` : '') +
    (a.reconcileSteps !== undefined ? ` --reconcile-steps ${a.reconcileSteps}` : '') +
    (a.workload !== undefined ? ` --workload ${a.workload}` : '');
  if (a.child) return child(a, extra, flags);
  const t0 = performance.now();
  let ran = 0;
  let violations = 0;
  let failed = 0;
  const done = new Set<number>();
  const report = (r: SeedReport) => {
    ran++;
    done.add(r.seed);
    violations += r.violations;
    for (const line of r.reached) console.log(line);
    if (r.violations > 0) {
      failed++;
      for (const line of r.failure) console.log(line);
    } else if (seeds.length === 1 || ran % 25 === 0)
      console.log(
        r.okLine +
          (seeds.length > 1
            ? ` [${ran} seeds, ${(ran / ((performance.now() - t0) / 1000)).toFixed(2)}/s]`
            : ''),
      );
  };
  if (a.jobs > 1 && seeds.length > 1) await inChildren(a, argv, seeds, stop, report);
  else
    for (const seed of seeds) {
      if (performance.now() > stop.at) break;
      report(await runOne(a, extra, flags, seed, failed < a.shrink));
    }
  const secs = (performance.now() - t0) / 1000;
  if (ran > 1)
    console.log(
      `${ran} seeds in ${secs.toFixed(1)} s (${(ran / secs).toFixed(2)} seeds/s), ${failed} failed`,
    );
  // Which seeds ran, as ranges (with --jobs they end out of order): to resume, or to count.
  if (ran > 1 && ran < seeds.length) console.log(`seeds run: ${ranges([...done])}`);
  console.log(`soak: ${ran} seeds, ${violations} violations`);
  if (interrupted !== null) return interrupted;
  return violations > 0 ? 1 : 0;
}

const USAGE = `usage: npm run soak -- [--seed S | --seeds N [--start S] [--minutes M]]
       [--devices D] [--steps K] [--faults X] [--tabs T] [--refresh-before-sync]
       [--hostile-proxy] [--trace] [--shrink N | --no-shrink]
       [--process [--restart-weight W]] [--restore-weight W] [--reconcile-steps R] [--workload 1|2|3]
       [--jobs J]
  --process            the server is a real child process (node sync-server/dist/main.js)
                       over HTTP; restarts are SIGKILL or SIGTERM and a new process on the
                       same data directory. Not deterministic: the seed decides the workload
                       and the fault schedule, not the run.
  --restart-weight W   the scheduler's weight of a server restart (default 0.8)
  --restore-weight W   the weight of a database backup and of a restore of it (default 0: off)
  --reconcile-steps R  steps of the reconciliation after a clean check when conflicts are
                       open: an admin's device resolves them under the same faults, then the
                       run is checked again (default 60; 0: none)
  --workload 1|2|3     1: stock, containers, counting, reversals (the first workload);
                       2: and movement lists; 3 (default): and production jobs
  --jobs J             run the seeds in J child processes side by side (one per free core);
                       each seed runs as it would alone`;

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    const message = e instanceof Error ? e.message : String(e);
    console.error(e instanceof UsageError ? `${message}\n${USAGE}` : `soak stopped: ${message}`);
    process.exit(2);
  },
);
