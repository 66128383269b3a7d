import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { PasswordHasher } from '../src/auth/passwords.js';
import type { BootstrapOptions } from '../src/bootstrap.js';
import { bootstrap } from '../src/bootstrap.js';
import { silentLogger } from '../src/log.js';
import type { Storage } from '../src/storage/port.js';
import { openSqliteStorage } from '../src/storage/sqlite/sqlite-storage.js';
import { fastHasher } from './harness.js';

/**
 * A generated admin password is kept in a file of mode 0600 and never said: the announcement
 * names the file. Real SQLite files in a temp directory.
 */
let dir: string;
const opened: Storage[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

function options(storage: Storage, said: string[], o: Partial<BootstrapOptions> = {}) {
  return {
    storage,
    hasher: fastHasher,
    log: silentLogger,
    clock: () => new Date('2026-11-27T12:00:00Z'),
    newId: () => randomUUID(),
    adminPassword: undefined,
    passwordFile: path.join(dir, 'initial-admin-password'),
    demo: false,
    announce: (t: string) => said.push(t),
    ...o,
  } satisfies BootstrapOptions;
}

function open(name = 'floorsync.db'): Storage {
  const s = openSqliteStorage({ path: path.join(dir, name) });
  opened.push(s);
  return s;
}

async function signsIn(storage: Storage, password: string): Promise<boolean> {
  const admin = await storage.read((tx) => tx.users().find((u) => u.username === 'admin'));
  if (admin === undefined) return false;
  return fastHasher.verify(admin.passwordHash, password);
}

describe('first start without ADMIN_PASSWORD', () => {
  it('keeps the generated password in a file only its account can read, and says where, never what', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'floorsync-bootstrap-'));
    const storage = open();
    const said: string[] = [];
    const r = await bootstrap(options(storage, said));
    const file = path.join(dir, 'initial-admin-password');
    expect(r).toEqual({ created: true, passwordFile: file });
    const password = readFileSync(file, 'utf8').trim();
    expect(password.length).toBeGreaterThanOrEqual(16);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await signsIn(storage, password)).toBe(true);
    expect(said.join('')).toContain(file);
    expect(said.join('')).not.toContain(password);
    expect(readdirSync(dir).filter((f) => f.startsWith('initial-admin-password'))).toEqual([
      'initial-admin-password',
    ]);
    // A second start of the same database: nothing made, nothing said, the file untouched.
    const again: string[] = [];
    expect(await bootstrap(options(storage, again))).toEqual({ created: false });
    expect(again).toEqual([]);
    expect(readFileSync(file, 'utf8').trim()).toBe(password);
  });

  it('replaces a file left from an earlier database', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'floorsync-bootstrap-'));
    const file = path.join(dir, 'initial-admin-password');
    writeFileSync(file, 'an-old-password-of-a-deleted-database\n', { mode: 0o644 });
    const storage = open();
    await bootstrap(options(storage, []));
    const password = readFileSync(file, 'utf8').trim();
    expect(password).not.toBe('an-old-password-of-a-deleted-database');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await signsIn(storage, password)).toBe(true);
  });

  it('a directory it cannot write stops the start with a clear error and an empty database', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'floorsync-bootstrap-'));
    const storage = open();
    // A path through a file: unwritable for every account, root too.
    writeFileSync(path.join(dir, 'a-file'), '');
    const target = path.join(dir, 'a-file', 'initial-admin-password');
    await expect(bootstrap(options(storage, [], { passwordFile: target }))).rejects.toThrow(
      /cannot keep the generated admin password in .* \(ENOTDIR\): make DATA_DIR writable or set ADMIN_PASSWORD/,
    );
    expect(await storage.read((tx) => tx.users().length)).toBe(0);
  });

  it('an instance that lost the race to create the database leaves the winner’s file alone', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'floorsync-bootstrap-'));
    // Two instances on one database and one data directory, starting together.
    const a = open();
    const b = open();
    // Each hashes its admin's password only when both have found the database empty.
    const waiting: (() => void)[] = [];
    const together: PasswordHasher = {
      hash: async (p) => {
        await new Promise<void>((r) => {
          waiting.push(r);
          if (waiting.length === 2) for (const go of waiting) go();
        });
        return fastHasher.hash(p);
      },
      verify: (h, p) => fastHasher.verify(h, p),
    };
    const [ra, rb] = await Promise.all([
      bootstrap(options(a, [], { hasher: together })),
      bootstrap(options(b, [], { hasher: together })),
    ]);
    expect([ra.created, rb.created].sort()).toEqual([false, true]);
    const file = path.join(dir, 'initial-admin-password');
    expect(readdirSync(dir).filter((f) => f.startsWith('initial-admin-password'))).toEqual([
      'initial-admin-password',
    ]);
    expect(await signsIn(a, readFileSync(file, 'utf8').trim())).toBe(true);
  });

  it('ADMIN_PASSWORD set: no file, nothing said', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'floorsync-bootstrap-'));
    const storage = open();
    const said: string[] = [];
    expect(
      await bootstrap(options(storage, said, { adminPassword: 'a-chosen-admin-password' })),
    ).toEqual({ created: true });
    expect(said).toEqual([]);
    expect(readdirSync(dir).some((f) => f.startsWith('initial-admin-password'))).toBe(false);
    expect(await signsIn(storage, 'a-chosen-admin-password')).toBe(true);
  });
});
