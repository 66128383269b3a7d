import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');

/**
 * A worker process as a scaled-out site runs it (`workers/dist/main.js`, built first): taking
 * jobs from `natsUrl`, talking to the sync server at `serverUrl` as `worker`. `env` adds to (or
 * overrides) its environment. Its output is drained; the caller kills it.
 */
export function spawnWorker(o: {
  natsUrl: string;
  serverUrl: string;
  password: string;
  env?: Record<string, string>;
}): ChildProcess {
  const w = spawn(process.execPath, [path.join(root, 'workers/dist/main.js')], {
    env: {
      ...process.env,
      NATS_URL: o.natsUrl,
      FLOORSYNC_URL: o.serverUrl,
      WORKER_PASSWORD: o.password,
      ...o.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  w.stdout?.resume();
  w.stderr?.resume();
  return w;
}
