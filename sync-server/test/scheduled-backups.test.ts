import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LogLevel } from '../src/log.js';
import { verifyDatabase } from '../src/storage/sqlite/backup.js';
import {
  scheduledBackupFiles,
  startScheduledBackups,
} from '../src/storage/sqlite/scheduled-backups.js';
import type { ScheduledBackups } from '../src/storage/sqlite/scheduled-backups.js';
import { openSqliteStorage } from '../src/storage/sqlite/sqlite-storage.js';
import type { TestServer } from './harness.js';
import { warehouseWithOperators } from './harness.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup() {
  const dir = mkdtempSync(path.join(tmpdir(), 'floorsync-scheduled-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'floorsync.db');
  const w = await warehouseWithOperators({ storage: openSqliteStorage({ path: file }) });
  const server: TestServer = w.server;
  cleanups.push(() => server.close());
  const lines: { level: LogLevel; msg: string; fields?: Record<string, unknown> }[] = [];
  const log = {
    log: (level: LogLevel, msg: string, fields?: Record<string, unknown>) =>
      lines.push({ level, msg, ...(fields ? { fields } : {}) }),
  };
  return { ...w, dir, file, log, lines };
}

const receipt = (d: { mutation: (n: string, a: Record<string, unknown>) => unknown }) =>
  d.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 1 });

const started: ScheduledBackups[] = [];
afterEach(async () => {
  for (const b of started.splice(0)) await b.stop();
});

describe('backups on a timer (BACKUP_DIR)', () => {
  it('each backup is a checked file named by its time; only the newest `keep` stay', async () => {
    const s = await setup();
    const backups = path.join(s.dir, 'backups');
    let clock = Date.parse('2026-11-27T02:00:00Z');
    const b = startScheduledBackups({
      source: s.file,
      dir: backups,
      everyMs: 3600_000,
      keep: 2,
      log: s.log,
      now: () => new Date(clock),
    });
    started.push(b);
    const heads: number[] = [];
    for (let i = 0; i < 3; i++) {
      await s.op1.pushOk([receipt(s.op1)]);
      const r = await b.runNow();
      heads.push(r?.head ?? -1);
      clock += 3600_000;
    }
    expect(heads[2]).toBeGreaterThan(heads[1] ?? 0);
    expect(scheduledBackupFiles(backups)).toEqual([
      'floorsync-2026-11-27T03-00-00-000Z.db',
      'floorsync-2026-11-27T04-00-00-000Z.db',
    ]);
    expect(verifyDatabase(path.join(backups, 'floorsync-2026-11-27T04-00-00-000Z.db')).head).toBe(
      heads[2],
    );
    expect(b.lastSuccessMs).toBe(Date.parse('2026-11-27T04:00:00Z'));
    const made = s.lines.filter((l) => l.msg === 'backup made');
    expect(made).toHaveLength(3);
    expect(made[2]?.fields).toMatchObject({ head: heads[2], pruned: 1 });
  });

  it('a failure is logged and leaves nothing behind; the server goes on', async () => {
    const s = await setup();
    const blocked = path.join(s.dir, 'not-a-folder');
    writeFileSync(blocked, 'a file where the folder should be');
    const b = startScheduledBackups({
      source: s.file,
      dir: blocked,
      everyMs: 3600_000,
      keep: 2,
      log: s.log,
    });
    started.push(b);
    expect(await b.runNow()).toBeNull();
    expect(b.lastSuccessMs).toBeNull();
    // Said at start (the folder is tried at once), and again by the failed turn.
    expect(s.lines.filter((l) => l.level === 'error').map((l) => l.msg)).toEqual([
      'backup folder unusable: backups fail until it is fixed',
      'backup failed; trying again at the next turn',
    ]);
    expect(readdirSync(s.dir).filter((f) => f.includes('partial'))).toEqual([]);
    await s.op1.pushOk([receipt(s.op1)]); // the server is unaffected
  });

  it('is failing from start until a backup succeeds; the last success survives a restart', async () => {
    const s = await setup();
    const blocked = path.join(s.dir, 'mount');
    writeFileSync(blocked, 'the backup disk is not mounted yet');
    let clock = Date.parse('2026-11-27T02:00:00Z');
    const b = startScheduledBackups({
      source: s.file,
      dir: blocked,
      everyMs: 3600_000,
      keep: 2,
      log: s.log,
      now: () => new Date(clock),
    });
    started.push(b);
    expect(b.status()).toEqual({ lastSuccessMs: null, failingSince: clock });
    const since = clock;
    clock += 3600_000;
    expect(await b.runNow()).toBeNull();
    expect(b.status()).toEqual({ lastSuccessMs: null, failingSince: since }); // since the first
    rmSync(blocked); // the disk is back
    clock += 3600_000;
    expect(await b.runNow()).not.toBeNull();
    expect(b.status()).toEqual({ lastSuccessMs: clock, failingSince: null });
    await b.stop();

    // Another start on the same folder: its newest backup is the last success, not "never".
    const again = startScheduledBackups({
      source: s.file,
      dir: blocked,
      everyMs: 3600_000,
      keep: 2,
      log: s.log,
      now: () => new Date(clock),
    });
    started.push(again);
    const newest = scheduledBackupFiles(blocked).at(-1) ?? '';
    expect(again.status()).toEqual({
      lastSuccessMs: Math.round(statSync(path.join(blocked, newest)).mtimeMs),
      failingSince: null,
    });
    // Its check of the folder wrote a file and took it away again.
    expect(readdirSync(blocked).filter((f) => !f.endsWith('.db'))).toEqual([]);
  });

  it('runs by itself on its timer, and stop() lets a backup under way end', async () => {
    const s = await setup();
    const backups = path.join(s.dir, 'auto');
    const b = startScheduledBackups({
      source: s.file,
      dir: backups,
      everyMs: 40,
      keep: 100,
      firstDelayMs: 10,
      log: s.log,
    });
    started.push(b);
    const deadline = Date.now() + 20_000;
    while (s.lines.filter((l) => l.msg === 'backup made').length < 2) {
      if (Date.now() > deadline) throw new Error('no two backups by the timer');
      await new Promise((r) => setTimeout(r, 20));
    }
    await b.stop();
    const after = scheduledBackupFiles(backups).length;
    await new Promise((r) => setTimeout(r, 150));
    expect(scheduledBackupFiles(backups).length).toBe(after); // stopped: no more
    expect(after).toBeGreaterThanOrEqual(2);
  });
});
