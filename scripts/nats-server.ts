import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * A real `nats-server` with JetStream (Debian's 2.9.10 here; `npm test` installs it when
 * missing) on a free port of 127.0.0.1, storing in a temp directory. `restart()` stops it and
 * starts it again on the same port and store, as an operator's restart would.
 */
export interface NatsServer {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  restart(): Promise<void>;
  /** Stops it for good and removes its store. */
  dispose(): Promise<void>;
}

export function natsServerBinary(): string {
  const candidates = [
    process.env.NATS_SERVER_BIN,
    ...(process.env.PATH ?? '').split(':').map((d) => path.join(d, 'nats-server')),
    '/usr/sbin/nats-server',
    '/usr/bin/nats-server',
  ];
  const found = candidates.find((c): c is string => !!c && existsSync(c));
  if (!found)
    throw new Error(
      'nats-server not found: `npm test` installs it (apt-get install -y nats-server), or set NATS_SERVER_BIN',
    );
  return found;
}

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });

/** `args` adds to the command line (e.g. `['--user', 'u', '--pass', 'p']`). */
export async function startNatsServer(args: readonly string[] = []): Promise<NatsServer> {
  const bin = natsServerBinary();
  const port = await freePort();
  const store = mkdtempSync(path.join(tmpdir(), 'floorsync-nats-'));
  let child: ChildProcess | null = null;

  const start = () =>
    new Promise<void>((resolve, reject) => {
      const p = spawn(bin, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', store, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = p;
      let out = '';
      const timer = setTimeout(
        () => reject(new Error(`nats-server did not start: ${out.slice(-2000)}`)),
        15_000,
      );
      const onData = (b: Buffer) => {
        out += b.toString();
        if (out.includes('Server is ready')) {
          clearTimeout(timer);
          resolve();
        }
      };
      p.stdout?.on('data', onData);
      p.stderr?.on('data', onData);
      p.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`nats-server exited (${code}): ${out.slice(-2000)}`));
      });
    });

  const stop = async () => {
    const p: ChildProcess | null = child;
    child = null;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await exited;
  };

  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    stop,
    start,
    async restart() {
      await stop();
      await start();
    },
    async dispose() {
      await stop();
      rmSync(store, { recursive: true, force: true });
    },
  };
}
