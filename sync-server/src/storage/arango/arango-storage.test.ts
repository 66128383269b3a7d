import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { PositionId } from '@floorsync/domain';
import { asEventId, changesOf } from '@floorsync/domain';
import { C, P, Q, R, ZONE, positionDefined, warehouse } from '@floorsync/domain/testing';
import { storageContract } from '../contract.js';
import type { Storage, WriteTx } from '../port.js';
import type { ArangoStorage } from './arango-store.js';
import { ArangoStore, isUnavailable, openArangoStorage } from './arango-store.js';
import type { ArangoSettings } from './url.js';
import { arangoConnection, arangoSettingsOf } from './url.js';

/**
 * The ArangoDB adapter against a real ArangoDB server: the storage contract every adapter
 * passes, two processes on one database, and the container traversal. Needs `ARANGO_URL`
 * (http://host:8529, with `ARANGO_USERNAME` and `ARANGO_PASSWORD`, or http://user:password@host:8529);
 * each store opened here gets a database of its own (whatever `ARANGO_DATABASE` says), dropped
 * at the end. There is no ArangoDB server on the development machine: without `ARANGO_URL`
 * these tests are skipped, saying so. The parts that need no server run always.
 */

const ARANGO_URL = process.env['ARANGO_URL'] ?? '';
const SKIP_REASON = 'ARANGO_URL is not set: no ArangoDB server to test against';
if (!ARANGO_URL)
  console.warn(`arango-storage.test.ts: skipping the ArangoDB tests — ${SKIP_REASON}`);

const databases = new Set<string>();
/** The environment's server and credentials, on a database of the test's own. */
const settingsFor = (database: string): ArangoSettings => {
  const base = arangoSettingsOf(process.env) as ArangoSettings;
  const u = new URL(base.url);
  u.pathname = '/';
  return { ...base, url: u.toString(), database };
};
const freshDatabase = (): string => {
  const name = `floorsync_test_${randomBytes(6).toString('hex')}`;
  databases.add(name);
  return name;
};
const byStorage = new WeakMap<Storage, string>();
const openOn = async (database: string): Promise<ArangoStorage> => {
  const s = await openArangoStorage(settingsFor(database));
  byStorage.set(s, database);
  return s;
};

afterAll(async () => {
  if (!ARANGO_URL || databases.size === 0) return;
  // Drop every database these tests made, through a store on the first one.
  for (const name of databases) {
    const store = await ArangoStore.open(settingsFor(name));
    await store.dropDatabase().catch(() => undefined);
    await store.close();
  }
});

describe('ArangoDB settings (ARANGO_URL, ARANGO_DATABASE, ARANGO_USERNAME, ARANGO_PASSWORD)', () => {
  it('takes credentials and the database from the URL and never shows the password', () => {
    const p = arangoConnection('https://floor%40sync:s3cr%2Ft@db.example:8529/site_7');
    expect(p.databaseName).toBe('site_7');
    expect(p.config.url).toBe('https://db.example:8529');
    expect(p.config.auth).toEqual({ username: 'floor@sync', password: 's3cr/t' });
    expect(p.display).toBe('https://db.example:8529/site_7');
    expect(JSON.stringify(p.config.url) + p.display).not.toContain('s3cr');
  });

  it('defaults the database to floorsync and accepts a /_db/ path', () => {
    expect(arangoConnection('http://127.0.0.1:8529').databaseName).toBe('floorsync');
    expect(arangoConnection('http://127.0.0.1:8529/_db/wh').databaseName).toBe('wh');
    expect(arangoConnection('http://127.0.0.1:8529').config.auth).toBeUndefined();
  });

  it('refuses what is not an ArangoDB URL with a clear message, without echoing secrets', () => {
    expect(() => arangoConnection('arango')).toThrow(/ARANGO_URL is not a URL/);
    expect(() => arangoConnection('tcp://u:pw@h:8529')).toThrow(/http:\/\/ or https:\/\//);
    expect(() => arangoConnection('http://u:pw@h:8529/bad%20name')).toThrow(
      /^ARANGO_URL: its path is not a database name/,
    );
    // A password with an unescaped '/' spills into the path: never repeated.
    expect(() => arangoConnection('http://fs:12/34secret@db:8529/wh')).toThrow(
      /^ARANGO_URL: its path is not a database name[^]*set ARANGO_PASSWORD instead$/,
    );
    // A raw '%' in the password: said, naming the variable, not the value.
    expect(() => arangoConnection('http://root:100%@h:8529/db')).toThrow(
      /^ARANGO_URL: its user, password or database has a '%' that starts no escape/,
    );
    for (const url of ['ftp://u:hunter2@h', 'http://fs:12/34hunter2@db:8529/wh', 'hunter2'])
      expect(() => arangoConnection(url)).toThrow(/^(?![^]*hunter2)[^]*$/);
  });

  it('takes the database, user and password from variables of their own (no escaping), never showing the password', () => {
    const p = arangoConnection({
      url: 'https://db.example:8529',
      database: 'site_7',
      username: 'floorsync',
      password: 'p@ss:/%#?w',
    });
    expect(p.databaseName).toBe('site_7');
    expect(p.config.url).toBe('https://db.example:8529');
    expect(p.config.auth).toEqual({ username: 'floorsync', password: 'p@ss:/%#?w' });
    expect(p.display).toBe('https://db.example:8529/site_7');
    // A password alone is ArangoDB's first user's, root (as its driver assumes).
    expect(arangoConnection({ url: 'http://h:8529', password: 'pw' }).config.auth).toEqual({
      username: 'root',
      password: 'pw',
    });
    // Given both ways, the same: fine.
    expect(
      arangoConnection({
        url: 'http://fs:pw@h:8529/wh',
        database: 'wh',
        username: 'fs',
        password: 'pw',
      }).config.auth,
    ).toEqual({ username: 'fs', password: 'pw' });
  });

  it('refuses a part given two different ways, naming the variable and neither password', () => {
    const thrown = (s: ArangoSettings): string => {
      try {
        arangoConnection(s);
      } catch (e) {
        return (e as Error).message;
      }
      return 'accepted';
    };
    expect(thrown({ url: 'http://fs:pw@h:8529', username: 'other' })).toMatch(
      /^ARANGO_USERNAME differs from the user in ARANGO_URL/,
    );
    const passwords = thrown({ url: 'http://fs:first-secret@h:8529', password: 'second-secret' });
    expect(passwords).toMatch(/^ARANGO_PASSWORD differs from the password in ARANGO_URL/);
    expect(passwords).not.toMatch(/first-secret|second-secret/);
    expect(thrown({ url: 'http://h:8529/wh', database: 'other' })).toMatch(
      /^ARANGO_DATABASE differs from the database in ARANGO_URL/,
    );
    expect(thrown({ url: 'http://h:8529', database: '7-eleven' })).toMatch(
      /^ARANGO_DATABASE names an invalid database: 7-eleven/,
    );
  });

  it('reads the settings from the environment, an empty variable as unset', () => {
    expect(arangoSettingsOf({ ARANGO_PASSWORD: 'pw' })).toBeUndefined();
    expect(
      arangoSettingsOf({ ARANGO_URL: 'http://h:8529', ARANGO_DATABASE: '', ARANGO_USERNAME: 'fs' }),
    ).toEqual({ url: 'http://h:8529', database: undefined, username: 'fs', password: undefined });
  });

  it('tells an unreachable store from a bug', async () => {
    // A refused connection (nothing listens on port 9 of loopback) is "unavailable".
    const failure = await ArangoStore.open('http://127.0.0.1:9/x').catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).name).toBe('StorageUnavailableError');
    expect(isUnavailable(new Error('a bug'))).toBe(false);
  });
});

describe.skipIf(!ARANGO_URL)('ArangoDB adapter (ARANGO_URL)', () => {
  storageContract('arango', () => openOn(freshDatabase()), {
    reopen: (closed) => openOn(byStorage.get(closed) as string),
  });

  const record = (tx: WriteTx, i: number, event: ReturnType<typeof warehouse>[number]) => {
    const id = `w-${i}`;
    const seq = tx.appendEvent({
      id,
      type: event.type,
      data: event.data,
      meta: {
        clientID: 'setup',
        mutationID: i + 1,
        userId: 'u',
        occurredAt: '2026-03-02T08:00:00.000Z',
        recordedAt: '2026-03-02T08:00:00.000Z',
        conflicts: [],
      },
      clientGroupID: 'g',
    });
    for (const change of changesOf({ ...event, id: asEventId(id) })) tx.applyChange(change, seq);
    return seq;
  };

  it('db set-password on ArangoDB: a new password from stdin, the user signed out everywhere', async () => {
    const database = freshDatabase();
    const s = await openOn(database);
    try {
      await s.write((tx) => {
        tx.createUser({
          id: 'u-admin',
          username: 'admin',
          name: 'Admin',
          role: 'admin',
          active: true,
          passwordHash: 'old-hash',
          createdAt: '2026-11-28T00:00:00.000Z',
        });
        tx.createSession({
          tokenHash: 'a-session',
          userId: 'u-admin',
          clientGroupID: null,
          createdAt: '2026-11-28T00:00:00.000Z',
          expiresAt: '2099-01-01T00:00:00.000Z',
          revoked: false,
        });
      });
      const tsx = path.resolve(import.meta.dirname, '../../../../node_modules/.bin/tsx');
      const cli = path.resolve(import.meta.dirname, '../../db-cli.ts');
      const child = spawn(tsx, [cli, 'set-password', 'admin'], {
        env: {
          ...process.env,
          STORAGE: 'arango',
          ARANGO_URL: settingsFor(database).url,
          ARANGO_DATABASE: database,
        },
      });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stdin.end('a-brand-new-password\n');
      const code = await new Promise((resolve) => child.on('close', resolve));
      expect(code).toBe(0);
      expect(JSON.parse(out)).toEqual({
        passwordSet: { username: 'admin', role: 'admin', active: true },
      });
      const after = await s.read((tx) => ({
        hash: tx.userByUsername('admin')?.passwordHash,
        session: tx.session('a-session')?.revoked,
      }));
      expect(after.hash).not.toBe('old-hash');
      expect(after.hash).toMatch(/^\$argon2/);
      expect(after.session).toBe(true);
    } finally {
      await s.close();
    }
  }, 60_000);

  it('two processes on one database: a write through one is read through the other', async () => {
    const database = freshDatabase();
    const a = await openOn(database);
    const b = await openOn(database);
    try {
      await a.write((tx) => warehouse().forEach((e, i) => record(tx, i, e)));
      const seen = await b.read((tx) => ({ head: tx.head(), bins: tx.children(ZONE).length }));
      expect(seen).toEqual({ head: warehouse().length, bins: 3 });
      const [la, lb] = await Promise.all([
        a.write((tx) => tx.acquireLease('relay', 'A', 1000, 15_000)),
        b.write((tx) => tx.acquireLease('relay', 'B', 1000, 15_000)),
      ]);
      expect([la, lb].filter(Boolean)).toHaveLength(1);
      const seqs = await Promise.all([
        a.write((tx) => record(tx, 100, positionDefined('pa' as PositionId, 'PA', 'bin', ZONE))),
        b.write((tx) => record(tx, 101, positionDefined('pb' as PositionId, 'PB', 'bin', ZONE))),
      ]);
      expect([...seqs].sort()).toEqual([warehouse().length + 1, warehouse().length + 2]);
      expect(await a.read((tx) => tx.eventsAfter(0, 100).map((e) => e.id))).toEqual(
        await b.read((tx) => tx.eventsAfter(0, 100).map((e) => e.id)),
      );
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('the contents of a position, any depth, is one traversal and matches the twin', async () => {
    const s = await openOn(freshDatabase());
    try {
      await s.write((tx) => warehouse().forEach((e, i) => record(tx, i, e)));
      const below = await s.read((tx) => {
        const out: string[] = [];
        const walk = (id: PositionId) =>
          tx.children(id).forEach((c) => {
            out.push(c.id);
            walk(c.id);
          });
        walk(ZONE);
        return out.sort();
      });
      expect((await s.store.subtree(ZONE)).sort()).toEqual(below);
      expect(below).toEqual([C, P, Q, R].sort());
      expect(await s.store.subtree(P)).toEqual([C]);
      expect(await s.store.subtree(Q)).toEqual([]);
    } finally {
      await s.close();
    }
  });
});
