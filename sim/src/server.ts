import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Role } from '@floorsync/domain';
import { SUBJECTS } from '@floorsync/domain';
import type { AppHandle, PasswordHasher, Storage } from '@floorsync/sync-server';
import {
  bootstrap,
  createApp,
  inProcessBus,
  openSqliteStorage,
  silentLogger,
} from '@floorsync/sync-server';

/**
 * The real server in this process: the Hono app (`createApp`) on a temp SQLite file, with the
 * simulation's clock and ids. `stop()` ends the "process" (requests then fail as a refused
 * connection does); `start()` opens a new one on the same file, as `main.ts` would — the same
 * as the client's `test-server.ts`, minus everything that is not deterministic: no checkpoint
 * thread, no fdatasync on the thread pool (commits are still awaited), no device-activity
 * timer firing mid-run (activity is flushed when a process stops), no session cache.
 */
export const SIM_BASE = 'http://floorsync.sim';
export const ADMIN_PASSWORD = 'admin-sim-password';

/** A hasher without salt or thread pool: passwords are not what this simulation tests. */
const simHasher: PasswordHasher = {
  hash: (password) => Promise.resolve(`sim$${createHash('sha256').update(password).digest('hex')}`),
  verify: (hashed, password) =>
    Promise.resolve(hashed === `sim$${createHash('sha256').update(password).digest('hex')}`),
};

export interface ServerOptions {
  readonly clock: () => Date;
  readonly newId: () => string;
  /** Where the temp directory goes (default: the OS temp dir). */
  readonly dir?: string;
  /** Told of every poke the server publishes (a commit that appended events). */
  readonly onPoke: (head: number) => void;
}

export interface LoginAnswer {
  readonly token: string;
  readonly user: { readonly id: string; readonly role: Role };
}

/** How a server process ends: `kill` (SIGKILL, a crash), `term` (SIGTERM, a graceful stop). */
export type StopKind = 'kill' | 'term';

/**
 * What the simulation needs of a server, in either mode: in this process (`SimServer`), or a
 * real child process reached over HTTP (`ProcessServer`, `process-server.ts`).
 */
export abstract class ServerBase {
  /** Restarts so far (a new process on the same file). */
  restarts = 0;
  abstract readonly mode: 'in-process' | 'process';
  abstract readonly dir: string;
  abstract readonly file: string;
  abstract readonly running: boolean;
  /** The storage the checks read (throws when the server is down). */
  abstract readonly storage: Storage;
  abstract start(): Promise<void>;
  /** Ends the server process (`kind` matters only for a real process: SIGKILL or SIGTERM). */
  abstract stop(kind?: StopKind): Promise<void>;
  abstract dispose(): Promise<void>;
  /** Delivers a request to the running process (a path, or a URL under SIM_BASE). */
  abstract deliver(url: string, init?: RequestInit): Promise<Response>;

  async restart(kind?: StopKind): Promise<void> {
    await this.stop(kind);
    await this.start();
    this.restarts++;
  }

  async api(p: string, init: RequestInit & { token?: string | null } = {}): Promise<Response> {
    const { token, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (token) headers.set('authorization', `Bearer ${token}`);
    if (rest.body !== undefined) headers.set('content-type', 'application/json');
    return this.deliver(p, { ...rest, headers });
  }

  async json<T>(p: string, token: string, init: RequestInit = {}): Promise<T> {
    const res = await this.api(p, { ...init, token });
    if (res.status < 200 || res.status > 299)
      throw new Error(`${init.method ?? 'GET'} ${p}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  async login(
    username: string,
    password: string,
    clientGroupID?: string,
    deviceSecret?: string,
  ): Promise<LoginAnswer> {
    const res = await this.api('/api/auth/login', {
      method: 'POST',
      body: JSON.stringify({
        username,
        password,
        ...(clientGroupID ? { clientGroupID } : {}),
        ...(deviceSecret ? { deviceSecret } : {}),
      }),
    });
    if (res.status !== 200) throw new Error(`login ${username}: ${res.status}`);
    return (await res.json()) as LoginAnswer;
  }
}

export class SimServer extends ServerBase {
  readonly mode = 'in-process';
  private proc: { storage: Storage; handle: AppHandle } | null = null;
  readonly dir: string;
  readonly file: string;

  private constructor(private readonly o: ServerOptions) {
    super();
    this.dir = mkdtempSync(path.join(o.dir ?? tmpdir(), 'floorsync-sim-'));
    this.file = path.join(this.dir, 'floorsync.db');
  }

  static async create(o: ServerOptions): Promise<SimServer> {
    const s = new SimServer(o);
    await s.start();
    return s;
  }

  get running(): boolean {
    return this.proc !== null;
  }

  /** The running process's storage (for the checks; throws when it is down). */
  get storage(): Storage {
    if (!this.proc) throw new Error('the server is down');
    return this.proc.storage;
  }

  async start(): Promise<void> {
    if (this.proc) throw new Error('already running');
    const storage = openSqliteStorage({
      path: this.file,
      checkpointEveryMs: 0,
      syncWal: () => Promise.resolve(),
    });
    await bootstrap({
      storage,
      hasher: simHasher,
      log: silentLogger,
      clock: this.o.clock,
      newId: this.o.newId,
      adminPassword: ADMIN_PASSWORD,
      demo: false,
      announce: () => {},
    });
    const bus = inProcessBus({ maxEvents: 1 });
    bus.subscribe(SUBJECTS.poke, (payload) => {
      const head = (payload as { head?: unknown }).head;
      if (typeof head === 'number') this.o.onPoke(head);
    });
    const handle = createApp({
      storage,
      bus,
      hasher: simHasher,
      log: silentLogger,
      clock: this.o.clock,
      newId: this.o.newId,
      config: { activityFlushMs: 2 ** 30, sessionCacheMs: 0, heartbeatMs: 2 ** 30 },
    });
    this.proc = { storage, handle };
  }

  async stop(_kind?: StopKind): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (p) {
      await p.handle.close();
      await p.storage.close();
    }
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  async deliver(url: string, init?: RequestInit): Promise<Response> {
    if (!this.proc) throw new TypeError('fetch failed (connect ECONNREFUSED)');
    return this.proc.handle.app.request(url.replace(SIM_BASE, ''), init);
  }
}
