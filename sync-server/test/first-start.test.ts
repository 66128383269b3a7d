import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerProcess } from '../../scripts/server-process.js';
import { spawnServer } from '../../scripts/server-process.js';

/**
 * A fresh database as the built server makes it (`dist/main.js`, embedded defaults): one user,
 * `admin`, with the password of `ADMIN_PASSWORD` or a random one printed once — in demo mode
 * too, which adds its documented users and warehouse. The embedded job runner's account
 * (`worker`) appears only when a job needs it.
 */
let server: ServerProcess | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

type User = { id: string; username: string; role: string };

async function call<T>(
  base: string,
  path: string,
  o: { token?: string; json?: unknown; body?: string; method?: string } = {},
): Promise<{ status: number; body: T }> {
  const res = await fetch(base + path, {
    method: o.method ?? (o.json === undefined && o.body === undefined ? 'GET' : 'POST'),
    headers: {
      ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
      ...(o.json !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(o.json !== undefined ? { body: JSON.stringify(o.json) } : {}),
    ...(o.body !== undefined ? { body: o.body } : {}),
  });
  return { status: res.status, body: (await res.json()) as T };
}

async function login(base: string, username: string, password: string): Promise<string> {
  const r = await call<{ token: string }>(base, '/api/auth/login', {
    json: { username, password },
  });
  expect(r.status, `sign-in of ${username}`).toBe(200);
  return r.body.token;
}

describe('first start', () => {
  it('a fresh database has one user, admin, with ADMIN_PASSWORD (and ArangoDB settings without STORAGE are said to be unused)', async () => {
    server = await spawnServer({
      env: {
        ADMIN_PASSWORD: 'first-start-password',
        DEMO: '',
        // STORAGE unset (empty): SQLite, its default, and a warning naming what is not used.
        STORAGE: '',
        ARANGO_URL: 'http://floorsync:hunter2@127.0.0.1:9/fs',
        // Whatever the machine's environment has for ArangoDB's own tests.
        ARANGO_DATABASE: '',
        ARANGO_USERNAME: '',
        ARANGO_PASSWORD: '',
      },
    });
    const warning = server
      .stdout()
      .split('\n')
      .filter((l) => l.includes('ArangoDB settings not used'));
    expect(warning).toHaveLength(1);
    expect(JSON.parse(warning[0] as string)).toMatchObject({
      level: 'warn',
      variables: ['ARANGO_URL'],
      database: expect.stringMatching(/floorsync\.db$/),
    });
    expect(server.stdout()).not.toContain('hunter2');
    const admin = await login(server.base, 'admin', 'first-start-password');
    const users = await call<User[]>(server.base, '/api/users', { token: admin });
    expect(users.body.map((u) => [u.username, u.role])).toEqual([['admin', 'admin']]);
    // The job runner's name is kept for it: a person of that name would be taken over.
    const refused = await call<{ code: string; detail: string }>(server.base, '/api/users', {
      token: admin,
      json: { username: 'Worker', password: 'a-worker-password', name: 'Wanda', role: 'operator' },
    });
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toContain('reserved');
  });

  it('demo mode publishes no admin password: a random one, printed once with the demo sign-ins; npm run demo opens the app in a browser', async () => {
    // npm run demo's OPEN_BROWSER=1, with a browser that writes down what it was given.
    const dir = mkdtempSync(path.join(tmpdir(), 'floorsync-browser-'));
    const opened = path.join(dir, 'opened');
    const browser = path.join(dir, 'browser');
    writeFileSync(browser, `#!/bin/sh\nprintf '%s' "$1" > '${opened}'\n`, { mode: 0o755 });
    try {
      server = await spawnServer({
        env: { ADMIN_PASSWORD: '', DEMO: '1', OPEN_BROWSER: '1', BROWSER: browser },
      });
      const url = server.base;
      await expect.poll(() => existsSync(opened) && readFileSync(opened, 'utf8')).toBe(url);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const s = server;
    await expect.poll(() => /Sign in as: .*admin \/ \S+/.test(s.stderr())).toBe(true);
    const password = /Sign in as: .*admin \/ (\S+)/.exec(s.stderr())?.[1] as string;
    expect(password).not.toBe('admin-demo-pass');
    expect(password.length).toBeGreaterThanOrEqual(10);
    expect(
      (
        await call(server.base, '/api/auth/login', {
          json: { username: 'admin', password: 'admin-demo-pass' },
        })
      ).status,
    ).toBe(401);
    const admin = await login(server.base, 'admin', password);
    const users = await call<User[]>(server.base, '/api/users', { token: admin });
    expect(users.body.map((u) => u.username).sort()).toEqual([
      'admin',
      'operator',
      'operator2',
      'supervisor',
    ]);

    // The embedded runner's account comes with the first job that needs it, and works.
    const supervisor = await login(server.base, 'supervisor', 'supervisor-demo');
    const upload = await call<{ id: string; state: string }>(
      server.base,
      '/api/jobs/bulk-adjust?fileName=found.csv',
      { token: supervisor, body: 'item;position;delta;reason\nNUT-M8;A-01-01;2;found\n' },
    );
    expect(upload.body.state).toBe('validated');
    const started = await call(server.base, `/api/jobs/${upload.body.id}/start`, {
      token: supervisor,
      json: {},
    });
    expect(started.status).toBe(202);
    await expect
      .poll(
        async () =>
          (
            await call<{ state: string }>(server!.base, `/api/jobs/${upload.body.id}`, {
              token: supervisor,
            })
          ).body.state,
        { timeout: 30_000 },
      )
      .toBe('completed');
    const after = await call<User[]>(server.base, '/api/users', { token: admin });
    expect(after.body.find((u) => u.username === 'worker')?.role).toBe('supervisor');
  });
});

describe('the process', () => {
  it('serves the web app for its paths, but an unknown API path is a 404 problem, not the app', async () => {
    const client = mkdtempSync(path.join(tmpdir(), 'floorsync-client-'));
    try {
      writeFileSync(path.join(client, 'index.html'), '<!doctype html><title>app</title>');
      server = await spawnServer({
        env: { ADMIN_PASSWORD: 'first-start-password', DEMO: '', CLIENT_DIR: client },
      });
      const page = await fetch(`${server.base}/scan`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<title>app</title>');
      const admin = await login(server.base, 'admin', 'first-start-password');
      for (const p of ['/api/nope', '/sync/nope', '/api']) {
        const res = await fetch(server.base + p, { headers: { authorization: `Bearer ${admin}` } });
        expect(res.status, p).toBe(404);
        expect(res.headers.get('content-type'), p).toBe('application/problem+json');
      }
      expect(
        ((await (await fetch(`${server.base}/health`)).json()) as { status: string }).status,
      ).toBe('ok');
    } finally {
      rmSync(client, { recursive: true, force: true });
    }
  });

  it('a BACKUP_DIR that cannot take a backup is said at start and failing in /health and /metrics', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'floorsync-backup-dir-'));
    try {
      const blocked = path.join(dir, 'not-a-folder');
      writeFileSync(blocked, 'a file where the backup folder should be');
      server = await spawnServer({
        env: {
          ADMIN_PASSWORD: 'first-start-password',
          DEMO: '',
          BACKUP_DIR: path.join(blocked, 'backups'),
          METRICS_TOKEN: 'a-metrics-token-for-the-test',
        },
      });
      const s = server;
      expect(s.stdout()).toContain('backup folder unusable');
      const health = (await (await fetch(`${s.base}/health`)).json()) as {
        status: string;
        backups?: { last: string | null; failingSince: string | null };
      };
      expect(health.status).toBe('ok'); // the floor goes on
      expect(health.backups?.last).toBeNull();
      expect(Date.parse(health.backups?.failingSince ?? '')).toBeGreaterThan(0);
      const text = await (
        await fetch(`${s.base}/metrics`, {
          headers: { authorization: 'Bearer a-metrics-token-for-the-test' },
        })
      ).text();
      expect(text).toContain('floorsync_backup_failing 1');
      expect(text).toContain('floorsync_backup_last_success_timestamp_seconds 0');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an embedded ERP export says how far it got in /health and /metrics', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'floorsync-erp-out-'));
    try {
      server = await spawnServer({
        env: {
          ADMIN_PASSWORD: 'first-start-password',
          DEMO: '1',
          ERP_EXPORT_DIR: out,
          METRICS_TOKEN: 'a-metrics-token-for-the-test',
        },
      });
      const s = server;
      const health = async () =>
        (await (await fetch(`${s.base}/health`)).json()) as {
          head: number;
          erpExport?: { cursor: number; failingSince: string | null };
        };
      const { head } = await health();
      expect(head).toBeGreaterThan(0); // the demo warehouse's receipts
      await expect
        .poll(async () => (await health()).erpExport, { timeout: 20_000 })
        .toEqual({ cursor: head, failingSince: null });
      const text = await (
        await fetch(`${s.base}/metrics`, {
          headers: { authorization: 'Bearer a-metrics-token-for-the-test' },
        })
      ).text();
      expect(text).toContain(`floorsync_erp_export_seq ${head}`);
      expect(text).toContain('floorsync_erp_export_lag_events 0');
      expect(text).toContain('floorsync_erp_export_failing 0');
      expect(text).toMatch(/floorsync_erp_export_last_success_timestamp_seconds \d{10}/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('SIGTERM: every part stops, the database last (its WAL folded in and removed), exit 0; the ERP export and the list import stop without a failure', async () => {
    // An ERP that takes 200 ms a movement: the export is in the middle of one at the stop.
    let posted = 0;
    const erp = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        posted++;
        setTimeout(() => res.writeHead(201).end('{}'), 200);
      });
    });
    await new Promise<void>((r) => erp.listen(0, '127.0.0.1', r));
    const drop = mkdtempSync(path.join(tmpdir(), 'floorsync-drop-'));
    const s = await spawnServer({
      env: {
        ADMIN_PASSWORD: 'first-start-password',
        DEMO: '1',
        ERP_EXPORT_URL: `http://127.0.0.1:${(erp.address() as AddressInfo).port}/movements`,
        ERP_IMPORT_DIR: drop,
      },
    });
    try {
      await login(s.base, 'operator', 'operator-demo');
      expect(existsSync(path.join(s.dir, 'floorsync.db-wal'))).toBe(true);
      await expect.poll(() => posted, { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
      const exited = new Promise<number | null>((r) => s.child.once('exit', (code) => r(code)));
      s.child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(existsSync(path.join(s.dir, 'floorsync.db-wal'))).toBe(false);
      const afterStop = s.stdout().slice(s.stdout().indexOf('"shutting down"'));
      expect(afterStop).toContain('"stopped"');
      expect(afterStop).not.toMatch(/failed; retrying|did not stop cleanly/);
    } finally {
      await s.stop();
      erp.closeAllConnections();
      await new Promise<void>((r) => erp.close(() => r()));
      rmSync(drop, { recursive: true, force: true });
    }
  });

  it('DATA_DIR: an embedded server has it alone (a second one, embedded or with NATS, is refused); a killed one leaves no stale lock', async () => {
    const first = await spawnServer({ env: { ADMIN_PASSWORD: 'first-start-password' } });
    try {
      const refused = (env: Record<string, string>) =>
        spawnServer({
          env: { ADMIN_PASSWORD: 'first-start-password', DATA_DIR: first.dir, ...env },
        }).then(
          async (s) => {
            await s.stop();
            return new Error('it started');
          },
          (e: unknown) => e as Error,
        );
      const embedded = await refused({});
      expect(embedded.message).toContain('server exited (1)');
      expect(embedded.message).toContain(
        `floorsync: DATA_DIR ${first.dir} is in use by another Floorsync server or database command`,
      );
      expect(embedded.message).toContain('set NATS_URL on every server to share it');
      expect(embedded.message).not.toMatch(/\n\s+at /);
      // Refused before it tries to reach NATS (nothing listens on port 1).
      const scaled = await refused({ NATS_URL: 'nats://127.0.0.1:1' });
      expect(scaled.message).toContain(
        `DATA_DIR ${first.dir} is held by a Floorsync server without NATS_URL`,
      );
      // The first one still serves, its database untouched by the refused starts.
      await login(first.base, 'admin', 'first-start-password');
      const killed = new Promise((r) => first.child.once('exit', r));
      first.child.kill('SIGKILL');
      await killed;
      server = await spawnServer({
        env: { ADMIN_PASSWORD: 'first-start-password', DATA_DIR: first.dir },
      });
      await login(server.base, 'admin', 'first-start-password');
    } finally {
      await server?.stop();
      server = undefined;
      await first.stop();
    }
  });

  it('db restore is refused while a server runs on DATA_DIR, --force or not; once it stopped, it restores', async () => {
    const s = await spawnServer({ env: { ADMIN_PASSWORD: 'first-start-password' } });
    const db = (...args: string[]) =>
      spawnSync(
        process.execPath,
        [path.resolve(import.meta.dirname, '../dist/db-cli.js'), ...args],
        {
          env: { ...process.env, DATA_DIR: s.dir, STORAGE: 'sqlite' },
          encoding: 'utf8',
        },
      );
    try {
      const backupFile = path.join(s.dir, 'backup.db');
      expect(db('backup', backupFile).status).toBe(0); // the server may run for a backup
      for (const args of [
        ['restore', backupFile],
        ['restore', backupFile, '--force'],
      ]) {
        const r = db(...args);
        expect(r.status).toBe(1);
        expect(r.stderr).toContain(`DATA_DIR ${s.dir} is in use`);
        expect(r.stderr).toContain('--force does not override this');
      }
      expect(db('relay-from-start', '--force').stderr).toContain('a server is running on it');
      await login(s.base, 'admin', 'first-start-password'); // unharmed
      const exited = new Promise((r) => s.child.once('exit', r));
      s.child.kill('SIGTERM');
      await exited;
      const restored = db('restore', backupFile);
      expect(restored.stderr).toBe('');
      expect(restored.status).toBe(0);
      expect(JSON.parse(restored.stdout)).toMatchObject({ from: backupFile });
    } finally {
      await s.stop();
    }
  });

  it('a database that cannot be opened stops it with one line naming the file and DATA_DIR', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'floorsync-not-a-dir-'));
    try {
      const notADir = path.join(dir, 'a-file');
      writeFileSync(notADir, 'not a folder');
      const failed = await spawnServer({ env: { DATA_DIR: notADir } }).then(
        () => new Error('it started'),
        (e: unknown) => e as Error,
      );
      expect(failed.message).toContain('server exited (1)');
      expect(failed.message).toContain(
        `cannot open the database ${path.join(notADir, 'floorsync.db')} (DATA_DIR)`,
      );
      expect(failed.message).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a port already taken stops it with one line naming HOST and PORT (a new demo has said its sign-ins first)', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    try {
      const port = (taken.address() as { port: number }).port;
      // A demo's first start: its admin password is printed before the port fails it.
      const failed = await spawnServer({
        env: { ADMIN_PASSWORD: '', DEMO: '1', PORT: String(port) },
      }).then(
        () => new Error('it started'),
        (e: unknown) => e as Error,
      );
      expect(failed.message).toContain('server exited (1)');
      expect(failed.message).toContain(`cannot listen on HOST=127.0.0.1 PORT=${port}: EADDRINUSE`);
      expect(failed.message).not.toContain('Unhandled');
      expect(failed.message).toMatch(/Sign in as: .*admin \/ [\w-]{10,}/);
    } finally {
      taken.close();
    }
  });
});
