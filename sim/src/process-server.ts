import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Storage } from '@floorsync/sync-server';
import { openSqliteStorage } from '@floorsync/sync-server';
import { ADMIN_PASSWORD, SIM_BASE, ServerBase } from './server.js';
import type { StopKind } from './server.js';

/**
 * The process mode's server: the built sync server (`node sync-server/dist/main.js`, the
 * embedded configuration — SQLite, in-process bus, no NATS) as a real child process on a temp
 * data directory, listening on a free port of 127.0.0.1 and reached over real HTTP.
 *
 * - `stop('kill')` is a crash: SIGKILL, whatever the process was doing. `stop('term')` is a
 *   graceful stop: SIGTERM, and the process must exit 0 on its own. `start()` spawns a new
 *   process on the same DATA_DIR (its port may differ: requests follow `base`).
 * - `storage` is a second connection to the same SQLite file (WAL mode lets processes share
 *   it), opened in this process after the child is up, for the checks to read. Nothing is
 *   ever written through it, and it is closed before the child is stopped, so that it is never
 *   the last connection to close (SQLite checkpoints the WAL when the last one closes).
 * - A child that exits without being told to is reported (`problems`): the server crashed.
 *
 * Not deterministic: the server runs on its own clock and ids (UUIDv7 from the real time),
 * argon2 passwords, its own timers, and the OS schedules the two processes.
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
const MAIN = path.join(ROOT, 'sync-server/dist/main.js');
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

/**
 * Children alive in this process, and data directories not removed yet: killed and removed
 * when it exits, whatever happened to the run (the soak exits this way on SIGINT/SIGTERM).
 */
const alive = new Set<ChildProcess>();
const dirs = new Set<string>();
let exitHook = false;
const onExit = () => {
  for (const c of alive) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
};

function ensureBuilt(): void {
  if (existsSync(MAIN)) return;
  execFileSync('npm', ['run', 'build', '-w', 'sync-server'], { cwd: ROOT, stdio: 'pipe' });
  if (!existsSync(MAIN)) throw new Error(`the build did not produce ${MAIN}`);
}

/** Server processes started here and still alive (0 once every run has been torn down). */
export const liveServerProcesses = (): number => alive.size;

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

export class ProcessServer extends ServerBase {
  readonly mode = 'process';
  readonly dir: string;
  readonly file: string;
  private child: ChildProcess | null = null;
  private base: string | null = null;
  private reader: Storage | null = null;
  /** The end of the current (or last) child's output, for reports. */
  private output = '';
  /** SIGKILLs so far (every crash, whatever caused it). */
  kills = 0;
  /** SIGTERMs so far (graceful stops). */
  terms = 0;
  /** What went wrong with a process (an exit nobody asked for, a graceful stop that failed). */
  readonly problems: string[] = [];

  private constructor(o: { dir?: string }) {
    super();
    this.dir = mkdtempSync(path.join(o.dir ?? tmpdir(), 'floorsync-sim-process-'));
    this.file = path.join(this.dir, 'floorsync.db');
    dirs.add(this.dir);
    if (!exitHook) {
      exitHook = true;
      process.once('exit', onExit);
    }
  }

  static async create(o: { dir?: string } = {}): Promise<ProcessServer> {
    const s = new ProcessServer(o);
    try {
      await s.start();
    } catch (e) {
      await s.dispose();
      throw e;
    }
    return s;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** The running child's base URL (`http://127.0.0.1:PORT`), null when it is down. */
  get baseUrl(): string | null {
    return this.base;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get storage(): Storage {
    if (!this.reader) throw new Error('the server is down');
    return this.reader;
  }

  async start(): Promise<void> {
    if (this.child) throw new Error('already running');
    ensureBuilt();
    this.output = '';
    const child = spawn(process.execPath, [MAIN], {
      // A clean environment: nothing of the test runner's (NODE_OPTIONS, STORAGE, NATS_URL…).
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? tmpdir(),
        DATA_DIR: this.dir,
        HOST: '127.0.0.1',
        PORT: '0',
        ADMIN_PASSWORD,
        DEMO: '',
        NATS_URL: '',
        STORAGE: 'sqlite',
        LOG_LEVEL: 'info', // the 'listening' line carries the URL
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    alive.add(child);
    const keep = (b: Buffer) => {
      this.output += b.toString();
      if (this.output.length > 8_000) this.output = this.output.slice(-4_000);
    };
    child.stderr?.on('data', keep);
    let base: string;
    try {
      base = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`the server did not start: ${this.output}`)),
          START_TIMEOUT_MS,
        );
        const onExit = (code: number | null, signal: string | null) => {
          clearTimeout(timer);
          reject(new Error(`the server exited while starting (${signal ?? code}): ${this.output}`));
        };
        child.once('exit', onExit);
        let listening = false;
        child.stdout?.on('data', (b: Buffer) => {
          keep(b); // and keeps draining the log lines, or the child would block on a full pipe
          if (listening) return;
          const m = this.output.match(/"url":"(http:\/\/127\.0\.0\.1:\d+)"/);
          if (m?.[1]) {
            listening = true;
            clearTimeout(timer);
            child.off('exit', onExit);
            resolve(m[1]);
          }
        });
      });
    } catch (e) {
      child.kill('SIGKILL');
      alive.delete(child);
      throw e;
    }
    child.once('exit', (code, signal) => {
      alive.delete(child);
      if (this.child !== child) return; // stopped on purpose
      this.problems.push(
        `the server process exited by itself (${signal ?? `code ${code}`}); its last output: ${this.output.slice(-1500)}`,
      );
      this.child = null;
      this.base = null;
      void this.closeReader();
    });
    this.child = child;
    this.base = base;
    // After the child's bootstrap (migrations done): this connection only reads.
    this.reader = openSqliteStorage({ path: this.file, checkpointEveryMs: 0 });
  }

  private async closeReader(): Promise<void> {
    const r = this.reader;
    this.reader = null;
    await r?.close();
  }

  async stop(kind: StopKind = 'kill'): Promise<void> {
    if (!this.child) return;
    if (kind === 'kill') this.kills++;
    else this.terms++;
    await this.halt(kind);
  }

  private async halt(kind: StopKind): Promise<void> {
    const child = this.child;
    if (!child) return;
    await this.closeReader();
    this.child = null;
    this.base = null;
    const done = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
      if (exited(child)) resolve({ code: child.exitCode, signal: child.signalCode });
      else child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    child.kill(kind === 'kill' ? 'SIGKILL' : 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), STOP_TIMEOUT_MS);
    });
    const outcome = await Promise.race([done, late]);
    clearTimeout(timer);
    if (outcome === 'late') {
      this.problems.push(
        `the server process did not exit within ${STOP_TIMEOUT_MS / 1000} s of ${kind === 'kill' ? 'SIGKILL' : 'SIGTERM'}; killed`,
      );
      child.kill('SIGKILL');
      await done;
    } else if (kind === 'term' && outcome.code !== 0) {
      this.problems.push(
        `the server process stopped on SIGTERM with ${outcome.signal ?? `code ${outcome.code}`}, not 0; its last output: ${this.output.slice(-1500)}`,
      );
    }
    alive.delete(child);
  }

  async dispose(): Promise<void> {
    try {
      await this.halt('kill'); // the end of the run, not a fault: not counted
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
      dirs.delete(this.dir);
    }
  }

  async deliver(url: string, init?: RequestInit): Promise<Response> {
    const base = this.base;
    if (!base) throw new TypeError('fetch failed (connect ECONNREFUSED)');
    const target = url.startsWith(SIM_BASE)
      ? base + url.slice(SIM_BASE.length)
      : url.startsWith('/')
        ? base + url
        : url;
    return fetch(target, init);
  }
}
