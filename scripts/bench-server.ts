import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { spawnServer } from './server-process.js';

/**
 * A real sync-server process (built `sync-server/dist/main.js`) on a temp data directory, for
 * benchmarks over loopback. On a machine with 2+ cores and `taskset`, the server gets core 0
 * and the calling load generator core 1, so the two do not preempt each other.
 */
export const BENCH_ADMIN_PASSWORD = 'bench-admin-password';

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
    env: { ADMIN_PASSWORD: BENCH_ADMIN_PASSWORD, DEMO: '' },
    nodeArgs,
    command: serverCommand(),
  });
  try {
    return await fn(server.base);
  } finally {
    await server.stop();
  }
}
