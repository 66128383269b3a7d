import { spawn, spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import type { BenchResult } from './bench-kit.js';
import { startNatsServer } from './nats-server.js';
import { spawnServer } from './server-process.js';

const root = path.resolve(import.meta.dirname, '..');

/**
 * A real sync-server process (built `sync-server/dist/main.js`) on a temp data directory, for
 * benchmarks over loopback. On a machine with 2+ cores and `taskset`, the server gets core 0
 * and the calling load generator core 1, so the two do not preempt each other.
 */
export const BENCH_ADMIN_PASSWORD = 'bench-admin-password';
/** The servers' `METRICS_TOKEN`: benchmarks read `/metrics` with it. */
export const BENCH_METRICS_TOKEN = 'bench-metrics-token-0123456789';

const pinned = (() => {
  if (os.cpus().length < 2) return false;
  const r = spawnSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });
  if (r.status === 0)
    process.stderr.write('bench: server pinned to core 0, load generator to core 1\n');
  return r.status === 0;
})();

/**
 * How to start a server process so that it runs on core 0 (empty when nothing is pinned).
 * Child processes of this one (a browser, a server started without this) inherit core 1.
 */
export const serverCommand = (): readonly string[] => (pinned ? ['taskset', '-c', '0'] : []);

export async function withServer<T>(fn: (base: string) => Promise<T>): Promise<T> {
  // BENCH_SERVER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the server.
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const server = await spawnServer({
    env: { ADMIN_PASSWORD: BENCH_ADMIN_PASSWORD, DEMO: '', METRICS_TOKEN: BENCH_METRICS_TOKEN },
    nodeArgs,
    command: serverCommand(),
  });
  try {
    return await fn(server.base);
  } finally {
    await server.stop();
  }
}

/**
 * A job measured two ways in one run: on a server that runs jobs itself (embedded), then on a
 * server with NATS and a worker process (`workers/dist/main.js`) taking the job from the
 * queue. `measure` gets the server's base URL and returns seconds. The NATS half is skipped,
 * with a note, when no nats-server can be started.
 */
export async function embeddedAndNats(
  name: string,
  measure: (base: string) => Promise<number>,
  units: { readonly embedded: string; readonly nats: string },
): Promise<Record<string, BenchResult>> {
  const out: Record<string, BenchResult> = {};
  const embedded = await spawnServer({
    env: { ADMIN_PASSWORD: BENCH_ADMIN_PASSWORD, DEMO: '' },
    command: serverCommand(),
  });
  try {
    out[name] = { value: await measure(embedded.base), unit: units.embedded };
  } finally {
    await embedded.stop();
  }
  const natsName = name.replace(/_s$/, '_nats_s');
  let nats;
  try {
    nats = await startNatsServer();
  } catch (error) {
    process.stderr.write(`${natsName} skipped: ${String(error)}\n`);
    return out;
  }
  const workerPassword = 'bench-worker-password-0123456789';
  const server = await spawnServer({
    env: {
      ADMIN_PASSWORD: BENCH_ADMIN_PASSWORD,
      DEMO: '',
      NATS_URL: nats.url,
      WORKER_PASSWORD: workerPassword,
    },
    command: serverCommand(),
  });
  const worker = spawn(process.execPath, [path.join(root, 'workers/dist/main.js')], {
    env: {
      ...process.env,
      NATS_URL: nats.url,
      FLOORSYNC_URL: server.base,
      WORKER_PASSWORD: workerPassword,
    },
    stdio: 'ignore',
  });
  try {
    out[natsName] = { value: await measure(server.base), unit: units.nats };
  } finally {
    worker.kill('SIGTERM');
    await new Promise((r) => worker.once('exit', r));
    await server.stop();
    await nats.dispose();
  }
  return out;
}
