import type { LabelPrinter } from '../src/labels/routes.js';
import type { JobSink } from '../src/jobs/routes.js';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Role } from '@floorsync/domain';
import type { AppHandle } from '../src/app.js';
import { createApp } from '../src/app.js';
import { serveNode } from '../src/http/node.js';
import type { PasswordHasher } from '../src/auth/passwords.js';
import { argon2Hasher } from '../src/auth/passwords.js';
import { bootstrap } from '../src/bootstrap.js';
import { inProcessBus } from '../src/bus/in-process.js';
import type { Logger } from '../src/log.js';
import { silentLogger } from '../src/log.js';
import type { Storage } from '../src/storage/port.js';
import { openSqliteStorage } from '../src/storage/sqlite/sqlite-storage.js';

/**
 * A real server for tests: a temp SQLite file, the in-process bus, a controllable clock.
 * `app.request()` drives it without a socket; `listen()` gives it a real port on 127.0.0.1.
 */
export const ADMIN_PASSWORD = 'admin-test-password';

/** Argon2 at test strength: the same code path, cheaper parameters. */
export const fastHasher: PasswordHasher = argon2Hasher({ memoryCost: 1024, timeCost: 1 });

export class TestClock {
  constructor(public ms = Date.parse('2026-11-25T21:00:00.000Z')) {}
  now = () => new Date(this.ms);
  advance(ms: number) {
    this.ms += ms;
  }
}

export interface TestServer {
  readonly handle: AppHandle;
  readonly storage: Storage;
  readonly clock: TestClock;
  readonly dir: string;
  readonly file: string;
  request(path: string, init?: RequestInit & { token?: string; json?: unknown }): Promise<Response>;
  login(username: string, password: string, clientGroupID?: string): Promise<string>;
  createUser(
    adminToken: string,
    username: string,
    role: Role,
    password?: string,
  ): Promise<{ id: string }>;
  listen(): Promise<string>;
  close(): Promise<void>;
}

export async function startServer(
  options: {
    demo?: boolean;
    storage?: Storage;
    dir?: string;
    pokeIntervalMs?: number;
    jobs?: JobSink;
    printers?: readonly LabelPrinter[];
    metricsToken?: string;
    trustProxy?: boolean;
    maxStreams?: number;
    /** The app's log lines (default: none). */
    log?: Logger;
  } = {},
): Promise<TestServer> {
  const dir = options.dir ?? mkdtempSync(path.join(tmpdir(), 'floorsync-test-'));
  const file = path.join(dir, 'floorsync.db');
  const storage = options.storage ?? openSqliteStorage({ path: file });
  const clock = new TestClock();
  const newId = () => randomUUID();
  await bootstrap({
    storage,
    hasher: fastHasher,
    log: silentLogger,
    clock: clock.now,
    newId,
    adminPassword: ADMIN_PASSWORD,
    demo: options.demo ?? false,
    announce: () => {},
  });
  const handle = createApp({
    storage,
    bus: inProcessBus(),
    hasher: fastHasher,
    log: options.log ?? silentLogger,
    clock: clock.now,
    newId,
    ...(options.jobs ? { jobs: options.jobs } : {}),
    ...(options.printers ? { printers: options.printers } : {}),
    config: {
      heartbeatMs: 200,
      ...(options.pokeIntervalMs !== undefined ? { pokeIntervalMs: options.pokeIntervalMs } : {}),
      ...(options.metricsToken !== undefined ? { metricsToken: options.metricsToken } : {}),
      ...(options.trustProxy !== undefined ? { trustProxy: options.trustProxy } : {}),
      ...(options.maxStreams !== undefined ? { maxStreams: options.maxStreams } : {}),
    },
  });
  let server: Server | undefined;

  const request: TestServer['request'] = (p, init = {}) => {
    const headers = new Headers(init.headers);
    if (init.token) headers.set('authorization', `Bearer ${init.token}`);
    let body = init.body;
    if (init.json !== undefined) {
      body = JSON.stringify(init.json);
      headers.set('content-type', 'application/json');
    }
    return Promise.resolve(
      handle.app.request(p, { ...init, headers, ...(body !== undefined ? { body } : {}) }),
    );
  };

  const ts: TestServer = {
    handle,
    storage,
    clock,
    dir,
    file,
    request,
    async login(username, password, clientGroupID) {
      const res = await request('/api/auth/login', {
        method: 'POST',
        json: { username, password, ...(clientGroupID ? { clientGroupID } : {}) },
      });
      if (res.status !== 200)
        throw new Error(`login ${username}: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { token: string }).token;
    },
    async createUser(adminToken, username, role, password = `${username}-password`) {
      const res = await request('/api/users', {
        method: 'POST',
        token: adminToken,
        json: { username, password, name: username, role },
      });
      if (res.status !== 201)
        throw new Error(`create ${username}: ${res.status} ${await res.text()}`);
      return (await res.json()) as { id: string };
    },
    listen() {
      return new Promise((resolve) => {
        server = serveNode(handle, { port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) =>
          resolve(`http://127.0.0.1:${info.port}`),
        );
      });
    },
    async close() {
      await handle.close();
      await new Promise<void>((resolve) => {
        if (!server) return resolve();
        server.close(() => resolve());
        // Connections are kept alive for 95 s: a test does not wait for them to time out.
        server.closeAllConnections();
      });
      await storage.close();
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
  return ts;
}

/** A device: one client group, one client, numbering its mutations 1, 2, 3, … */
export class Device {
  next = 1;
  constructor(
    readonly server: TestServer,
    public token: string,
    readonly clientGroupID = `g-${randomUUID()}`,
    readonly clientID = `c-${randomUUID()}`,
  ) {}

  mutation(name: string, args: Record<string, unknown>, extra: Record<string, unknown> = {}) {
    return {
      clientID: this.clientID,
      id: this.next++,
      name,
      args,
      timestamp: this.server.clock.ms,
      ...extra,
    };
  }

  push(mutations: unknown[], extra: Record<string, unknown> = {}) {
    return this.server.request('/sync/push', {
      method: 'POST',
      token: this.token,
      json: {
        pushVersion: 1,
        clientGroupID: this.clientGroupID,
        profileID: 'p',
        schemaVersion: '1',
        mutations,
        ...extra,
      },
    });
  }

  async pushOk(mutations: unknown[]) {
    const res = await this.push(mutations);
    if (res.status !== 200) throw new Error(`push: ${res.status} ${await res.text()}`);
    return (await res.json()) as {
      results: {
        status: string;
        id: number;
        seqs?: number[];
        conflicts?: string[];
        error?: { code: string; message: string };
        expectedID?: number;
      }[];
      head: number;
    };
  }

  async pull(cookie: unknown, extra: Record<string, unknown> = {}) {
    const res = await this.server.request('/sync/pull', {
      method: 'POST',
      token: this.token,
      json: {
        pullVersion: 1,
        clientGroupID: this.clientGroupID,
        cookie,
        profileID: 'p',
        schemaVersion: '1',
        ...extra,
      },
    });
    if (res.status !== 200) throw new Error(`pull: ${res.status} ${await res.text()}`);
    return (await res.json()) as {
      cookie: unknown;
      lastMutationIDChanges: Record<string, number>;
      patch: { op: string; key?: string; value?: unknown }[];
      hasMore?: boolean;
    };
  }
}

/** Master data every server test starts from: bins P, Q, R, pallet C on P; items A (plain), L (lot), S (serial). */
export const masterData = [
  { name: 'definePosition', args: { positionId: 'P', code: 'P', kind: 'bin' } },
  { name: 'definePosition', args: { positionId: 'Q', code: 'Q', kind: 'bin' } },
  { name: 'definePosition', args: { positionId: 'R', code: 'R', kind: 'bin' } },
  {
    name: 'definePosition',
    args: { positionId: 'C', code: 'C', kind: 'container', parentId: 'P' },
  },
  { name: 'defineItem', args: { itemId: 'A', sku: 'A', name: 'Plain A', tracking: 'none' } },
  { name: 'defineItem', args: { itemId: 'L', sku: 'L', name: 'Lot L', tracking: 'lot' } },
  { name: 'defineItem', args: { itemId: 'S', sku: 'S', name: 'Serial S', tracking: 'serial' } },
];

/** Starts a server with admin + a supervisor device that defined the master data. */
export async function warehouseServer(
  options: {
    storage?: Storage;
    pokeIntervalMs?: number;
    jobs?: JobSink;
    printers?: readonly LabelPrinter[];
    log?: Logger;
    maxStreams?: number;
  } = {},
) {
  const server = await startServer(options);
  const admin = await server.login('admin', ADMIN_PASSWORD);
  await server.createUser(admin, 'sup', 'supervisor');
  await server.createUser(admin, 'op1', 'operator');
  await server.createUser(admin, 'op2', 'operator');
  const supervisor = new Device(server, await server.login('sup', 'sup-password'));
  const res = await supervisor.pushOk(masterData.map((m) => supervisor.mutation(m.name, m.args)));
  if (res.results.some((r) => r.status !== 'applied'))
    throw new Error(`master data: ${JSON.stringify(res.results)}`);
  return { server, admin, supervisor };
}

/** The warehouse server plus two operators' devices, `op1` and `op2`. */
export async function warehouseWithOperators(
  options: { storage?: Storage; jobs?: JobSink; printers?: readonly LabelPrinter[] } = {},
) {
  const w = await warehouseServer(options);
  const op1 = new Device(w.server, await w.server.login('op1', 'op1-password'));
  const op2 = new Device(w.server, await w.server.login('op2', 'op2-password'));
  return { ...w, op1, op2 };
}

/** Current quantity of item at position from the read API. */
export async function quantityAt(
  server: TestServer,
  token: string,
  itemId: string,
  positionId: string,
): Promise<number> {
  const res = await server.request(`/api/stock?itemId=${itemId}&positionId=${positionId}`, {
    token,
  });
  const lines = (await res.json()) as { quantity: number }[];
  return lines.reduce((s, l) => s + l.quantity, 0);
}
