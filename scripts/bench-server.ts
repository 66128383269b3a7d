import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A real sync-server process (built `sync-server/dist/main.js`) on a temp data directory, for
 * benchmarks over loopback. On a machine with 2+ cores and `taskset`, the server gets core 0
 * and the calling load generator core 1, so the two do not preempt each other.
 */
export const BENCH_ADMIN_PASSWORD = 'bench-admin-password';
const root = path.resolve(import.meta.dirname, '..');

const pinned = (() => {
  if (os.cpus().length < 2) return false;
  const r = spawnSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });
  if (r.status === 0)
    process.stderr.write('bench: server pinned to core 0, load generator to core 1\n');
  return r.status === 0;
})();

export async function withServer<T>(fn: (base: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'floorsync-bench-'));
  const main = path.join(root, 'sync-server/dist/main.js');
  // BENCH_SERVER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the server.
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const [cmd, args] = pinned
    ? ['taskset', ['-c', '0', process.execPath, ...nodeArgs, main]]
    : [process.execPath, [...nodeArgs, main]];
  const child = spawn(cmd, args, {
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dir,
      ADMIN_PASSWORD: BENCH_ADMIN_PASSWORD,
      DEMO: '',
      LOG_LEVEL: 'info',
      NATS_URL: '',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const base = await new Promise<string>((resolve, reject) => {
      let out = '';
      const t = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 20_000);
      child.stdout?.on('data', (b: Buffer) => {
        out += b.toString();
        const m = out.match(/"url":"(http:\/\/127\.0\.0\.1:\d+)"/);
        if (m?.[1]) {
          clearTimeout(t);
          resolve(m[1]);
        }
      });
    });
    return await fn(base);
  } finally {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
