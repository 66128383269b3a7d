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
import { parseArangoUrl } from './url.js';

/**
 * The ArangoDB adapter against a real ArangoDB server: the storage contract every adapter
 * passes, two processes on one database, and the container traversal. Needs `ARANGO_URL`
 * (http://user:password@host:8529); each store opened here gets a database of its own, dropped
 * at the end. There is no ArangoDB server on the development machine: without `ARANGO_URL`
 * these tests are skipped, saying so. The parts that need no server run always.
 */

const ARANGO_URL = process.env['ARANGO_URL'] ?? '';
const SKIP_REASON = 'ARANGO_URL is not set: no ArangoDB server to test against';
if (!ARANGO_URL)
  console.warn(`arango-storage.test.ts: skipping the ArangoDB tests — ${SKIP_REASON}`);

const databases = new Set<string>();
const urlFor = (database: string): string => {
  const u = new URL(ARANGO_URL);
  u.pathname = `/${database}`;
  return u.toString();
};
const freshDatabase = (): string => {
  const name = `floorsync_test_${randomBytes(6).toString('hex')}`;
  databases.add(name);
  return name;
};
const byStorage = new WeakMap<Storage, string>();
const openOn = async (database: string): Promise<ArangoStorage> => {
  const s = await openArangoStorage(urlFor(database));
  byStorage.set(s, database);
  return s;
};

afterAll(async () => {
  if (!ARANGO_URL || databases.size === 0) return;
  // Drop every database these tests made, through a store on the first one.
  for (const name of databases) {
    const store = await ArangoStore.open(urlFor(name));
    await store.dropDatabase().catch(() => undefined);
    await store.close();
  }
});

describe('ARANGO_URL', () => {
  it('takes credentials and the database from the URL and never shows the password', () => {
    const p = parseArangoUrl('https://floor%40sync:s3cr%2Ft@db.example:8529/site_7');
    expect(p.databaseName).toBe('site_7');
    expect(p.config.url).toBe('https://db.example:8529');
    expect(p.config.auth).toEqual({ username: 'floor@sync', password: 's3cr/t' });
    expect(p.display).toBe('https://db.example:8529/site_7');
    expect(JSON.stringify(p.config.url) + p.display).not.toContain('s3cr');
  });

  it('defaults the database to floorsync and accepts a /_db/ path', () => {
    expect(parseArangoUrl('http://127.0.0.1:8529').databaseName).toBe('floorsync');
    expect(parseArangoUrl('http://127.0.0.1:8529/_db/wh').databaseName).toBe('wh');
    expect(parseArangoUrl('http://127.0.0.1:8529').config.auth).toBeUndefined();
  });

  it('refuses what is not an ArangoDB URL with a clear message, without echoing secrets', () => {
    expect(() => parseArangoUrl('arango')).toThrow(/ARANGO_URL is not a URL/);
    expect(() => parseArangoUrl('tcp://u:pw@h:8529')).toThrow(/http:\/\/ or https:\/\//);
    expect(() => parseArangoUrl('http://u:pw@h:8529/bad%20name')).toThrow(/invalid database/);
    // A raw '%' in the password: said, naming the variable, not the value.
    expect(() => parseArangoUrl('http://root:100%@h:8529/db')).toThrow(
      /^ARANGO_URL: its user or password has a '%' that starts no escape/,
    );
    try {
      parseArangoUrl('ftp://u:hunter2@h');
    } catch (error) {
      expect(String(error)).not.toContain('hunter2');
    }
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
        env: { ...process.env, STORAGE: 'arango', ARANGO_URL: urlFor(database) },
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
