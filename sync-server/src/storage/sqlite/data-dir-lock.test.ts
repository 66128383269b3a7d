import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DataDirLock } from './data-dir-lock.js';
import { DataDirInUse, lockDataDir } from './data-dir-lock.js';

const dirs: string[] = [];
const locks: DataDirLock[] = [];
afterEach(() => {
  for (const l of locks.splice(0)) l.release();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const dir = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'floorsync-lock-'));
  dirs.push(d);
  return d;
};
const take = (d: string, use: 'alone' | 'shared') => {
  const l = lockDataDir(d, use);
  locks.push(l);
  return l;
};
/** What another process gets: 'took' or the error's name. */
function fromAnotherProcess(d: string, use: 'alone' | 'shared'): string {
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(${JSON.stringify(path.join(d, 'floorsync.lock'))}, { timeout: 0 });
    try {
      if (${JSON.stringify(use)} === 'alone') db.exec('BEGIN EXCLUSIVE');
      else { db.exec('BEGIN'); db.prepare('SELECT count(*) FROM sqlite_master').get(); }
      process.stdout.write('took');
    } catch (e) { process.stdout.write(e.code); }`;
  const r = spawnSync(process.execPath, ['-e', script], {
    cwd: path.resolve(import.meta.dirname, '../../..'), // where better-sqlite3 resolves
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
}

describe('the data directory lock', () => {
  it('alone excludes everyone; shared admits shared; a release gives the directory back', () => {
    const d = dir();
    const first = take(d, 'alone');
    expect(() => take(d, 'alone')).toThrow(DataDirInUse);
    expect(() => take(d, 'shared')).toThrow(/held by a Floorsync server without NATS_URL/);
    expect(fromAnotherProcess(d, 'shared')).toBe('SQLITE_BUSY');
    first.release();
    first.release(); // twice is harmless
    take(d, 'shared');
    take(d, 'shared');
    expect(fromAnotherProcess(d, 'shared')).toBe('took');
    expect(() => take(d, 'alone')).toThrow(/in use by another Floorsync server/);
    expect(fromAnotherProcess(d, 'alone')).toBe('SQLITE_BUSY');
    for (const l of locks.splice(0)) l.release();
    take(d, 'alone');
  });

  it('a process that ends (here, at once after taking it) leaves no stale lock', () => {
    const d = dir();
    expect(fromAnotherProcess(d, 'alone')).toBe('took'); // it exits holding the lock
    take(d, 'alone');
  });

  it('a directory that is not there is SQLite’s error, not "in use"', () => {
    const missing = path.join(dir(), 'missing');
    let error: unknown;
    try {
      take(missing, 'alone');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(DataDirInUse);
  });
});
