import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The built sync server (`sync-server/dist/main.js`) as a child process on a temp data
 * directory, listening on a free port of 127.0.0.1: for benchmarks and end-to-end tests.
 * `command` wraps the node invocation (e.g. `taskset -c 0`); `env` adds to the environment.
 */
export interface ServerProcess {
  readonly base: string;
  readonly dir: string;
  readonly child: ChildProcess;
  /** SIGTERM, wait for the exit, remove the data directory. */
  readonly stop: () => Promise<void>;
  /** What it wrote to stderr so far (the last 10–20 kB). */
  readonly stderr: () => string;
  /** Its log lines (stdout) so far (the last 10–20 kB). */
  readonly stdout: () => string;
}

const root = path.resolve(import.meta.dirname, '..');

export async function spawnServer(
  o: {
    env?: Record<string, string>;
    command?: readonly string[];
    nodeArgs?: readonly string[];
  } = {},
): Promise<ServerProcess> {
  const main = path.join(root, 'sync-server/dist/main.js');
  if (!existsSync(main)) throw new Error('build first: sync-server/dist/main.js is missing');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'floorsync-server-'));
  const [cmd, ...args] = [...(o.command ?? []), process.execPath, ...(o.nodeArgs ?? []), main];
  const child = spawn(cmd, args, {
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dir,
      NATS_URL: '',
      STORAGE: 'sqlite', // whatever the environment has (ARANGO_URL for its tests, say)
      LOG_LEVEL: 'info', // the 'listening' line carries the URL
      ...o.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (b: Buffer) => {
    log += b.toString();
    if (log.length > 20_000) log = log.slice(-10_000);
  });
  let lines = '';
  child.stdout?.on('data', (b: Buffer) => {
    lines += b.toString();
    if (lines.length > 20_000) lines = lines.slice(-10_000);
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const base = await new Promise<string>((resolve, reject) => {
      let out = '';
      const t = setTimeout(() => reject(new Error(`server did not start: ${out}${log}`)), 30_000);
      child.stdout?.on('data', (b: Buffer) => {
        out += b.toString();
        const m = out.match(/"url":"(http:\/\/127\.0\.0\.1:\d+)"/);
        if (m?.[1]) {
          clearTimeout(t);
          resolve(m[1]);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`server exited (${code}): ${log}`));
      });
    });
    // Keep draining its log lines; BENCH_SERVER_OUT=<file> keeps them (with --trace-gc, say).
    const keep = process.env.BENCH_SERVER_OUT;
    if (keep) child.stdout?.on('data', (b: Buffer) => appendFileSync(keep, b));
    child.stdout?.resume();
    return { base, dir, child, stop, stderr: () => log, stdout: () => lines };
  } catch (e) {
    await stop();
    throw e;
  }
}
