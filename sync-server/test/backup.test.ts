import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { closedPort } from '../../workers/test/fake-printer.js';
import {
  DEFAULT_RESTORE_GAP,
  backupDatabase,
  restoreDatabase,
  verifyDatabase,
} from '../src/storage/sqlite/backup.js';
import { openSqliteStorage } from '../src/storage/sqlite/sqlite-storage.js';
import type { TestServer } from './harness.js';
import { Device, startServer, warehouseWithOperators } from './harness.js';

const run = promisify(execFile);
const dirs: string[] = [];
const servers: TestServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'floorsync-backup-'));
  dirs.push(d);
  return d;
}

const receipt = (d: Device, quantity = 1) =>
  d.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity });

/** A warehouse on a SQLite file of this test's own (the harness's server stays in charge of it). */
async function warehouseOnFile(file: string) {
  const w = await warehouseWithOperators({ storage: openSqliteStorage({ path: file }) });
  servers.push(w.server);
  return w;
}

describe('backup and restore of the SQLite database', () => {
  it('backs up online while pushes commit; the copy is checked and named only when whole', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'floorsync.db');
    const { op1 } = await warehouseOnFile(file);
    await op1.pushOk(Array.from({ length: 20 }, () => receipt(op1)));
    const target = path.join(dir, 'backup.db');
    // Pushes go on during the backup: the copy is one consistent moment of the log.
    const [report] = await Promise.all([
      backupDatabase(file, target),
      op1.pushOk(Array.from({ length: 20 }, () => receipt(op1))),
    ]);
    expect(report.head).toBeGreaterThan(20);
    expect(report.events).toBe(report.head); // no hole: every seq up to the head is an event
    expect(report.holes).toEqual([]);
    expect(existsSync(`${target}.partial`)).toBe(false);
    expect(verifyDatabase(target)).toMatchObject({ head: report.head, events: report.events });

    // Never over a file; the file there is left as it was.
    writeFileSync(path.join(dir, 'taken.db'), 'precious');
    await expect(backupDatabase(file, path.join(dir, 'taken.db'))).rejects.toThrow(
      /exists: a backup never overwrites a file/,
    );
    expect(readFileSync(path.join(dir, 'taken.db'), 'utf8')).toBe('precious');
    await expect(backupDatabase(path.join(dir, 'none.db'), path.join(dir, 'x.db'))).rejects.toThrow(
      /no database at/,
    );
    expect(existsSync(path.join(dir, 'x.db'))).toBe(false);
  });

  it("a restore skips the lost history's seqs: a device whose cookie is in the hole starts over, the others go on", async () => {
    const dir = tempDir();
    const file = path.join(dir, 'floorsync.db');
    const { server, op1, op2, supervisor } = await warehouseOnFile(file);
    await op1.pushOk([receipt(op1, 5), receipt(op1, 5)]);
    const before = await op2.pull(0);
    const cookieBefore = before.cookie as number;
    const backup = path.join(dir, 'nightly.db');
    const saved = await backupDatabase(file, backup);
    expect(saved.head).toBe(cookieBefore);

    // The day goes on after the backup: these commits are the history a restore loses.
    await op1.pushOk([receipt(op1, 7), receipt(op1, 7), receipt(op1, 7)]);
    const lost = await op1.pull(cookieBefore);
    const lostCookie = lost.cookie as number;
    expect(lostCookie).toBeGreaterThan(cookieBefore);
    expect(lost.lastMutationIDChanges[op1.clientID]).toBe(5);

    // The disk dies; the server is stopped and the nightly backup restored.
    await server.close();
    servers.splice(servers.indexOf(server), 1);
    const restored = restoreDatabase(backup, file, { now: () => new Date('2026-11-27T06:00:00Z') });
    // The hole starts after the highest seq the backup ever issued, and ends a billion after
    // the highest the replaced database issued.
    expect(restored.hole).toEqual([saved.head + 1, lostCookie + DEFAULT_RESTORE_GAP]);
    expect(restored).toMatchObject({
      head: saved.head,
      events: saved.events,
      holes: [restored.hole],
    });
    expect(restored.previous).toMatch(/floorsync\.db\.before-restore-2026-11-27T06-00-00-000Z$/);
    // The replaced database is kept, with the lost history in it.
    expect(verifyDatabase(restored.previous ?? '').head).toBe(lostCookie);

    const again = await startServer({ storage: openSqliteStorage({ path: file }) });
    servers.push(again);
    const as = (d: Device, next: number) => {
      const moved = new Device(again, d.token, d.clientGroupID, d.clientID);
      moved.next = next;
      return moved;
    };
    const op1After = as(op1, 6);
    const op2After = as(op2, op2.next);
    const supAfter = as(supervisor, supervisor.next);

    // The next commit takes the seq after the hole.
    const pushed = await op2After.pushOk([receipt(op2After, 2)]);
    expect(pushed.results[0]?.seqs).toEqual([restored.hole[1] + 1]);

    // op1's cookie names an event of the lost history: it must start over, not pull on from the
    // middle of another history (before the hole, it would have been a valid-looking cookie).
    expect(lostCookie).toBeLessThan(pushed.head);
    expect(await op1After.pull(lostCookie)).toEqual({ error: 'ClientStateNotFound' });
    // Its reset snapshot says where the server has its mutations: 2, not 5.
    const reset = await op1After.pull(null);
    expect(reset.lastMutationIDChanges[op1.clientID]).toBe(2);
    // Its next mutation is a gap the server names: mutations 3–5 are what the restore lost.
    const gap = await op1After.pushOk([receipt(op1After)]);
    expect(gap.results[0]).toMatchObject({ status: 'gap', expectedID: 3 });

    // A device whose cookie is from before the backup pulls on as usual, across the hole.
    const onward = await supAfter.pull(cookieBefore);
    expect(onward.patch.map((p) => (p.value as { seq: number }).seq)).toEqual([
      restored.hole[1] + 1,
    ]);
    expect(onward.cookie).toBe(restored.hole[1] + 1);
    const paged = await supAfter.pull({ order: lostCookie, after: 's/' });
    expect(paged).toEqual({ error: 'ClientStateNotFound' });
  });

  it('restoring again (the same backup, or an older one) never issues a seq the restored server used', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'floorsync.db');
    const first = await warehouseOnFile(file);
    await first.op1.pushOk([receipt(first.op1)]);
    const backup = path.join(dir, 'b.db');
    await backupDatabase(file, backup);
    expect(existsSync(`${backup}-wal`)).toBe(false); // a standalone file
    await first.server.close();
    servers.splice(servers.indexOf(first.server), 1);
    const r1 = restoreDatabase(backup, file, { gap: 100 });
    expect(existsSync(`${file}-wal`)).toBe(false); // nothing that looks like a running server

    // The restored server commits after its hole…
    const again = await startServer({ storage: openSqliteStorage({ path: file }) });
    servers.push(again);
    const op = new Device(again, first.op1.token, first.op1.clientGroupID, first.op1.clientID);
    op.next = first.op1.next;
    const pushed = await op.pushOk([receipt(op), receipt(op)]);
    expect(pushed.head).toBe(r1.hole[1] + 2);
    await again.close();
    servers.splice(servers.indexOf(again), 1);

    // …then the same backup is restored once more: the new hole covers those commits too.
    const r2 = restoreDatabase(backup, file, { gap: 100 });
    expect(r2.hole).toEqual([r1.hole[0], r1.hole[1] + 2 + 100]);
    expect(r2.holes).toEqual([r1.hole, r2.hole]);
    // A gap that would pass the 12-digit event keys is refused; nothing changes.
    expect(() => restoreDatabase(backup, file, { gap: 999_999_999_999 })).toThrow(
      /passes the largest seq/,
    );
    expect(verifyDatabase(file).holes).toEqual([r1.hole, r2.hole]);
  });

  it('a reset snapshot paged across a restore starts over (its earlier pages may hold the lost history)', async () => {
    // Found by the simulator's restore mode (seed 500286): pages read before the restore held
    // the lost history; the restored head was the snapshot's H0, so the last page's re-sending
    // of what changed after H0 did not undo them.
    const dir = tempDir();
    const file = path.join(dir, 'floorsync.db');
    const first = await warehouseOnFile(file);
    await first.op1.pushOk([receipt(first.op1, 5)]);
    const backup = path.join(dir, 'b.db');
    const saved = await backupDatabase(file, backup);
    const page1 = await first.op2.pull(null, { limit: 2 });
    expect(page1.hasMore).toBe(true);
    const paging = page1.cookie as { order: number; after: string };
    expect(paging.order).toBe(saved.head);
    expect(paging).not.toHaveProperty('restore'); // never restored: the cookie as it always was
    await first.op1.pushOk([receipt(first.op1, 7)]); // the lost history
    await first.server.close();
    servers.splice(servers.indexOf(first.server), 1);
    const r = restoreDatabase(backup, file);
    const again = await startServer({ storage: openSqliteStorage({ path: file }) });
    servers.push(again);
    const op2 = new Device(again, first.op2.token, first.op2.clientGroupID, first.op2.clientID);
    // H0 is neither beyond the head nor in the hole: only the restore's mark tells.
    expect(await op2.pull(paging, { limit: 2 })).toEqual({ error: 'ClientStateNotFound' });
    const fresh = await op2.pull(null, { limit: 2 });
    expect(fresh.cookie).toMatchObject({ order: saved.head, restore: r.hole[1] });
    const next = await op2.pull(fresh.cookie, { limit: 2 });
    expect(next.patch.length).toBeGreaterThan(0); // a snapshot begun after the restore goes on
  });

  it('refuses what it must not do, and leaves everything as it was', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'floorsync.db');
    const { op1 } = await warehouseOnFile(file);
    await op1.pushOk([receipt(op1)]);
    const backup = path.join(dir, 'b.db');
    await backupDatabase(file, backup);
    // The server still runs: its WAL is there.
    expect(() => restoreDatabase(backup, file)).toThrow(/a server is running on this database/);
    const junk = path.join(dir, 'junk.db');
    writeFileSync(junk, 'not a database at all, just text');
    expect(() => restoreDatabase(junk, file, { force: true })).toThrow(
      /not a SQLite database|cannot be opened/,
    );
    expect(() => restoreDatabase(path.join(dir, 'missing.db'), file)).toThrow(/does not exist/);
    expect(() => restoreDatabase(backup, file, { gap: 0 })).toThrow(
      /gap must be a positive integer/,
    );
    expect(existsSync(`${file}.restoring`)).toBe(false);
    expect(verifyDatabase(file).holes).toEqual([]);
  });

  it('the command line: backup, verify and restore print one JSON line; bad usage exits 2', async () => {
    const dir = tempDir();
    const data = path.join(dir, 'data');
    const file = path.join(data, 'floorsync.db');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(data);
    const { op1, server } = await warehouseOnFile(file);
    await op1.pushOk([receipt(op1), receipt(op1)]);
    const cli = path.resolve(import.meta.dirname, '../src/db-cli.ts');
    const tsx = path.resolve(import.meta.dirname, '../../node_modules/.bin/tsx');
    const env = { ...process.env, DATA_DIR: data, STORAGE: 'sqlite' };
    const out = await run(tsx, [cli, 'backup', path.join(dir, 'b.db')], { env });
    const backup = JSON.parse(out.stdout) as { backup: { head: number; events: number } };
    expect(backup.backup.head).toBeGreaterThan(0);
    const verified = JSON.parse(
      (await run(tsx, [cli, 'verify', path.join(dir, 'b.db')], { env })).stdout,
    ) as {
      verified: { head: number };
    };
    expect(verified.verified.head).toBe(backup.backup.head);
    await server.close();
    servers.splice(servers.indexOf(server), 1);
    const restored = JSON.parse(
      (await run(tsx, [cli, 'restore', path.join(dir, 'b.db'), '--gap', '1000'], { env })).stdout,
    ) as { restored: { holes: number[][] }; nextSeq: number };
    expect(restored.nextSeq).toBe(backup.backup.head + 1001);
    expect(restored.restored.holes).toEqual([[backup.backup.head + 1, backup.backup.head + 1000]]);
    // Without the server's DATA_DIR, a restore would go into ./data here while the server
    // starts again on its old database: refused, and nothing is made.
    const elsewhere = tempDir();
    const { DATA_DIR: _unset, ...withoutDataDir } = env;
    const lost = await run(tsx, [cli, 'restore', path.join(dir, 'b.db')], {
      env: withoutDataDir,
      cwd: elsewhere,
    }).catch((e: { code: number; stderr: string }) => e);
    expect(lost).toMatchObject({ code: 1, stderr: expect.stringContaining('DATA_DIR is not set') });
    expect(existsSync(path.join(elsewhere, 'data'))).toBe(false);
    const usage = await run(tsx, [cli, 'frobnicate'], { env }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(usage).toMatchObject({ code: 2, stderr: expect.stringContaining('usage:') });
    const failed = await run(tsx, [cli, 'verify', path.join(dir, 'nope.db')], { env }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(failed).toMatchObject({ code: 1, stderr: expect.stringContaining('does not exist') });
    // A bad setting: one message naming the variable, as the server says it, no stack trace.
    const misconfigured = await run(tsx, [cli, 'verify', path.join(dir, 'b.db')], {
      env: { ...env, PORT: 'eighty' },
    }).catch((e: { code: number; stderr: string }) => e);
    expect(misconfigured).toMatchObject({ code: 2 });
    expect((misconfigured as { stderr: string }).stderr).toMatch(
      /^db: invalid configuration:\n {2}PORT: /,
    );
    expect((misconfigured as { stderr: string }).stderr).not.toMatch(/\n\s+at /);
    // Six processes through tsx, ~2.5 s each alone: 17 s beside a soak, 36 s in a busy CI run.
  }, 90_000);
});

describe('db set-password', () => {
  /** The CLI through tsx with `input` on its stdin: exit code, stdout, stderr. */
  const cli = (args: string[], input: string, env: NodeJS.ProcessEnv) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const tsx = path.resolve(import.meta.dirname, '../../node_modules/.bin/tsx');
      const child = spawn(tsx, [path.resolve(import.meta.dirname, '../src/db-cli.ts'), ...args], {
        env,
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
      child.stdin.end(input);
    });

  it('sets a lost password from stdin, signs the user out everywhere, refuses a short one or an unknown user', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'floorsync.db');
    const { server, op1 } = await warehouseOnFile(file);
    const env = { ...process.env, DATA_DIR: dir, STORAGE: 'sqlite' };
    const set = await cli(['set-password', 'op1'], 'a-brand-new-password\nrest ignored\n', env);
    expect(set).toMatchObject({ code: 0 });
    expect(JSON.parse(set.stdout)).toEqual({
      passwordSet: { username: 'op1', role: 'operator', active: true },
    });
    // Not the password on the command line or in its output.
    expect(set.stdout + set.stderr).not.toContain('a-brand-new-password');
    const login = (password: string) =>
      server.request('/api/auth/login', { method: 'POST', json: { username: 'op1', password } });
    expect((await login('op1-password')).status).toBe(401);
    expect((await login('a-brand-new-password')).status).toBe(200);
    // The session it had is gone (another process's commit, seen by the server).
    const pushed = await op1.push([receipt(op1)]);
    expect(pushed.status).toBe(401);

    const short = await cli(['set-password', 'op1'], 'short\n', env);
    expect(short).toMatchObject({ code: 1, stderr: expect.stringContaining('at least 10') });
    const nobody = await cli(['set-password', 'nobody'], 'long-enough-password\n', env);
    expect(nobody).toMatchObject({ code: 1, stderr: expect.stringContaining('no user "nobody"') });
    expect((await login('a-brand-new-password')).status).toBe(200);
    // Three processes through tsx, ~2.5 s each alone.
  }, 90_000);

  it('STORAGE=arango: set-password goes to ArangoDB (an unreachable one is one line, its credentials never shown); other commands are SQLite only', async () => {
    const port = await closedPort(); // nobody listens there
    const env = {
      ...process.env,
      STORAGE: 'arango',
      // The password in a variable of its own, as ARCHITECTURE.md names them.
      ARANGO_URL: `http://127.0.0.1:${port}`,
      ARANGO_DATABASE: 'floorsync',
      ARANGO_USERNAME: 'root',
      ARANGO_PASSWORD: 'a-secret-pw',
    };
    const unreachable = await cli(['set-password', 'admin'], 'long-enough-password\n', env);
    expect(unreachable).toMatchObject({
      code: 1,
      stderr: expect.stringContaining(
        `db set-password: ArangoDB at http://127.0.0.1:${port}/floorsync`,
      ),
    });
    expect(unreachable.stderr).not.toContain('a-secret-pw');
    const backup = await cli(['backup', path.join(tempDir(), 'b.db')], '', env);
    expect(backup).toMatchObject({ code: 2, stderr: expect.stringContaining('SQLite') });
    // ArangoDB's settings without STORAGE: the server starts on SQLite and warns; the tool,
    // which would change a SQLite file where ArangoDB was meant, refuses.
    const dir = tempDir();
    const unset = await cli(['set-password', 'admin'], 'long-enough-password\n', {
      ...env,
      STORAGE: '',
      DATA_DIR: dir,
    });
    expect(unset).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(
        /^db: ARANGO_URL, ARANGO_DATABASE, ARANGO_USERNAME, ARANGO_PASSWORD set but STORAGE is not/,
      ),
    });
    expect(unset.stderr).not.toContain('a-secret-pw');
    expect(existsSync(path.join(dir, 'floorsync.db'))).toBe(false);
  }, 60_000);

  it('relay-from-start: refused while a server runs; with the servers stopped, the relay starts over at 0', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'floorsync.db');
    const { server, op1 } = await warehouseOnFile(file);
    await op1.pushOk([receipt(op1)]);
    await server.storage.write((tx) => tx.setProgress('relay', 7));
    const env = { ...process.env, DATA_DIR: dir, STORAGE: 'sqlite' };
    const running = await cli(['relay-from-start'], '', env);
    expect(running).toMatchObject({ code: 1, stderr: expect.stringContaining('Stop the servers') });
    await server.close();
    servers.splice(servers.indexOf(server), 1);
    const reset = await cli(['relay-from-start'], '', env);
    expect(reset).toMatchObject({ code: 0 });
    expect(JSON.parse(reset.stdout)).toEqual({ relayFrom: 0, was: 7 });
    const again = openSqliteStorage({ path: file, checkpointEveryMs: 0 });
    try {
      expect(await again.read((tx) => tx.progress('relay'))).toBe(0);
    } finally {
      await again.close();
    }
    // A killed server left its -wal file: refused, unless forced.
    const stale = await warehouseOnFile(path.join(dir, 'stale.db'));
    await stale.server.storage.write((tx) => tx.setProgress('relay', 5));
    const staleEnv = { ...env, DATA_DIR: path.join(dir, 'stale-data') };
    const { mkdirSync, copyFileSync } = await import('node:fs');
    mkdirSync(staleEnv.DATA_DIR);
    for (const suffix of ['', '-wal'])
      copyFileSync(
        path.join(dir, `stale.db${suffix}`),
        path.join(staleEnv.DATA_DIR, `floorsync.db${suffix}`),
      );
    expect(await cli(['relay-from-start'], '', staleEnv)).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('add --force'),
    });
    const forced = await cli(['relay-from-start', '--force'], '', staleEnv);
    expect(forced).toMatchObject({ code: 0 });
    expect(JSON.parse(forced.stdout)).toEqual({ relayFrom: 0, was: 5 });
    const extra = await cli(['relay-from-start', 'now'], '', env);
    expect(extra).toMatchObject({ code: 2, stderr: expect.stringContaining('usage:') });
  }, 90_000);
});
