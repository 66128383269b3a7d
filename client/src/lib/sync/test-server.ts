import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Role } from '@floorsync/domain';
import {
  argon2Hasher,
  backupDatabase,
  bootstrap,
  createApp,
  inProcessBus,
  openSqliteStorage,
  restoreDatabase,
  silentLogger,
} from '@floorsync/sync-server';

/**
 * For the engine's Node tests (not shipped): the real sync server — the Hono app on a temp
 * SQLite file, driven in-process — with users `op1`, `op2`, `sup` (password `<name>-password`)
 * and bins P, Q, R and item A pushed by a supervisor's device. `stop()` ends the "process"
 * (requests then fail as a refused connection does); `start()` opens a new one on the same
 * file, as `main.ts` would. The caller's `onCleanup` receives the teardown.
 */
export const TEST_BASE = 'http://floorsync.test';
export const TEST_ADMIN_PASSWORD = 'admin-test-password';
const hasher = argon2Hasher({ memoryCost: 1024, timeCost: 1 });

export async function startTestServer(onCleanup: (fn: () => Promise<void>) => void) {
  const dir = mkdtempSync(path.join(tmpdir(), 'floorsync-client-'));
  const file = path.join(dir, 'floorsync.db');
  const clock = { ms: Date.parse('2026-11-25T21:00:00Z') };
  const now = () => new Date(clock.ms);
  let proc: {
    storage: ReturnType<typeof openSqliteStorage>;
    handle: ReturnType<typeof createApp>;
  } | null = null;
  const start = async () => {
    if (proc) throw new Error('already running');
    const storage = openSqliteStorage({ path: file });
    await bootstrap({
      storage,
      hasher,
      log: silentLogger,
      clock: now,
      newId: randomUUID,
      adminPassword: TEST_ADMIN_PASSWORD,
      demo: false,
      announce: () => {},
    });
    const handle = createApp({
      storage,
      bus: inProcessBus(),
      hasher,
      log: silentLogger,
      clock: now,
      newId: randomUUID,
    });
    proc = { storage, handle };
  };
  const stop = async () => {
    const p = proc;
    proc = null;
    if (p) {
      await p.handle.close();
      await p.storage.close();
    }
  };
  await start();
  onCleanup(async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Delivers a request to the running process (a path, or a URL under TEST_BASE). */
  const deliver = async (url: string, init?: RequestInit) => {
    if (!proc) throw new TypeError('fetch failed (connect ECONNREFUSED)');
    return proc.handle.app.request(url.replace(TEST_BASE, ''), init);
  };
  const api = async (p: string, init: RequestInit & { token?: string | null } = {}) => {
    const headers = new Headers(init.headers);
    if (init.token) headers.set('authorization', `Bearer ${init.token}`);
    return deliver(p, { ...init, headers });
  };
  const login = async (
    username: string,
    password: string,
    clientGroupID?: string,
    deviceSecret?: string,
  ) => {
    const res = await api('/api/auth/login', {
      method: 'POST',
      body: JSON.stringify({
        username,
        password,
        ...(clientGroupID ? { clientGroupID } : {}),
        ...(deviceSecret ? { deviceSecret } : {}),
      }),
    });
    if (res.status !== 200) throw new Error(`login: ${res.status}`);
    return (await res.json()) as { token: string; user: { id: string; role: Role } };
  };
  const admin = await login('admin', TEST_ADMIN_PASSWORD);
  for (const [username, role] of [
    ['op1', 'operator'],
    ['op2', 'operator'],
    ['sup', 'supervisor'],
  ] as const) {
    await api('/api/users', {
      method: 'POST',
      token: admin.token,
      body: JSON.stringify({ username, password: `${username}-password`, name: username, role }),
    });
  }
  // Master data, as a supervisor's device would push it.
  const sup = await login('sup', 'sup-password');
  const master = [
    { name: 'definePosition', args: { positionId: 'P', code: 'P', kind: 'bin' } },
    { name: 'definePosition', args: { positionId: 'Q', code: 'Q', kind: 'bin' } },
    { name: 'definePosition', args: { positionId: 'R', code: 'R', kind: 'bin' } },
    { name: 'defineItem', args: { itemId: 'A', sku: 'A', name: 'A', tracking: 'none' } },
  ].map((m, i) => ({ clientID: 'c-sup', id: i + 1, ...m }));
  const seeded = await api('/sync/push', {
    method: 'POST',
    token: sup.token,
    body: JSON.stringify({ pushVersion: 1, clientGroupID: 'g-sup', mutations: master }),
  });
  if (seeded.status !== 200) throw new Error(`master data: ${seeded.status}`);

  /** Quantity of an item at a position, summed over lots and serials, as the server has it. */
  const stockAt = async (itemId: string, positionId: string) => {
    const lines = (await (
      await api(`/api/stock?itemId=${itemId}&positionId=${positionId}`, { token: admin.token })
    ).json()) as { quantity: number }[];
    return lines.reduce((s, l) => s + l.quantity, 0);
  };
  /** A backup of the database now (online), as `npm run db -- backup` makes it. */
  let backups = 0;
  const backup = async () => {
    const target = path.join(dir, `backup-${++backups}.db`);
    await backupDatabase(file, target);
    return target;
  };
  /** The process stops, `backup` is restored in place (with its seq hole), a new one starts. */
  const restore = async (from: string) => {
    await stop();
    const r = restoreDatabase(from, file);
    await start();
    return r;
  };
  return { deliver, api, login, admin, stockAt, start, stop, clock, backup, restore };
}

export type TestServer = Awaited<ReturnType<typeof startTestServer>>;
