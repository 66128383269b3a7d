import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  asEventId,
  asItemId,
  asLot,
  changesOf,
  genealogyQueriesOf,
  linkIdOf,
  lotNode,
  nodeKey,
} from '@floorsync/domain';
import type {
  GenealogyLink,
  InventoryEvent,
  JobId,
  JobStatus,
  ProductionJob,
} from '@floorsync/domain';
import { A, P, received, warehouse } from '@floorsync/domain/testing';
import { storageContract } from '../contract.js';
import type { NewEvent, ReadTx, Storage, WriteTx } from '../port.js';
import { StorageUnavailableError } from '../port.js';
import { reach } from '../../genealogy/routes.js';
import { MIGRATIONS } from './schema.js';
import { startCheckpointer } from './checkpointer.js';
import { LAST_MUTATION_ID_CHANGES, QUEUED_JOBS_SQL, openSqliteStorage } from './sqlite-storage.js';

/**
 * The SQLite adapter on real files (WAL needs a file: `:memory:` would not exercise it):
 * the storage contract, plus what only SQLite promises — durability across reopen,
 * migrations, pragmas and group commit.
 */

const root = mkdtempSync(path.join(tmpdir(), 'floorsync-sqlite-test-'));
let count = 0;
/** Files created by the current test (each with its -wal and -shm companions). */
let files: string[] = [];
const paths = new WeakMap<Storage, string>();

const newFile = (): string => {
  const file = path.join(root, `store-${++count}.db`);
  files.push(file);
  return file;
};
const openAt = (file: string): Storage => {
  const s = openSqliteStorage({ path: file });
  paths.set(s, file);
  return s;
};

afterEach(() => {
  for (const f of files)
    for (const suffix of ['', '-wal', '-shm']) rmSync(f + suffix, { force: true });
  files = [];
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

storageContract('sqlite', () => openAt(newFile()), {
  reopen: (closed) => {
    const file = paths.get(closed);
    if (file === undefined) throw new Error('not a store this suite opened');
    return openAt(file);
  },
});

// ─── SQLite only ────────────────────────────────────────────────────────────────────────────

const T0 = '2026-03-02T08:00:00.000Z';

const plain = (id: string, clientID = 'c1', mutationID = 1): NewEvent => ({
  id,
  type: 'MutationRejected',
  data: { id },
  meta: { clientID, mutationID, userId: 'u1', occurredAt: T0, recordedAt: T0, conflicts: [] },
  clientGroupID: 'g1',
});

function record(tx: WriteTx, id: string, event: InventoryEvent): number {
  const seq = tx.appendEvent({ ...plain(id), type: event.type, data: event.data });
  for (const change of changesOf({ ...event, id: asEventId(id) })) tx.applyChange(change, seq);
  return seq;
}

/** What a device or an admin could see. */
const look = (tx: ReadTx) => ({
  head: tx.head(),
  events: tx.eventsAfter(0, 10_000),
  stock: tx.stock({}),
  items: tx.items(),
  positions: tx.positions(),
  item: tx.item(A),
  snapshot: tx.snapshotEntries({ afterKey: null, limit: 10_000 }),
  changed: tx.snapshotEntries({ changedAfter: 0, upToKey: 's/~' }),
  conflicts: tx.conflicts({}),
  users: tx.users(),
  session: tx.session('t1'),
  ticket: tx.ticket('k1'),
  lmid: tx.lastMutationID('c1'),
  clients: tx.clientsOfGroup('g1'),
  device: tx.device('g1'),
  onDevice: tx.userOnDevice('g1', 'u1'),
});

describe('sqlite specifics', () => {
  const open = new Set<Storage>();
  const raw = new Set<Database.Database>();
  const store = (file: string): Storage => {
    const s = openAt(file);
    open.add(s);
    return s;
  };
  const connect = (file: string): Database.Database => {
    const db = new Database(file);
    raw.add(db);
    return db;
  };
  afterEach(async () => {
    for (const db of raw) db.close();
    raw.clear();
    await Promise.all([...open].map((s) => s.close()));
    open.clear();
  });

  /** The store's own better-sqlite3 connection, if it can be reached at run time. */
  const connectionOf = async (s: Storage): Promise<Database.Database | undefined> =>
    s.read((tx) => {
      const db: unknown = Reflect.get(tx, 'db');
      return db instanceof Database ? db : undefined;
    });

  it('data survives close and reopen of the same file', async () => {
    const file = newFile();
    const s = store(file);
    await s.write((tx) => {
      for (const [i, e] of warehouse().entries()) record(tx, `w${i}`, e);
      const seq = record(tx, 'r1', received(A, P, 5));
      tx.setLastMutationID('c1', 'g1', 1, seq);
      tx.openConflict({
        id: 'k1',
        kind: 'negative-stock',
        key: 'negative-stock/x',
        message: 'm',
        openedAt: T0,
        openedSeq: seq,
        mutation: null,
        userId: 'u1',
        detail: { a: 1 },
      });
      tx.linkConflict('k1', { seq, clientID: 'c1', mutationID: 1 });
      tx.createUser({
        id: 'u1',
        username: 'alice',
        name: 'Alice',
        role: 'admin',
        active: true,
        passwordHash: 'h',
        createdAt: T0,
      });
      tx.createSession({
        tokenHash: 't1',
        userId: 'u1',
        clientGroupID: 'g1',
        createdAt: T0,
        expiresAt: '2026-03-03T08:00:00.000Z',
        revoked: false,
      });
      tx.createTicket({ ticketHash: 'k1', userId: 'u1', clientGroupID: 'g1', expiresAt: T0 });
      tx.touchDevice('g1', 'u1', T0, 'push', { pending: 1, appVersion: '2.0' });
    });
    const before = await s.read(look);
    expect(before.head).toBe(warehouse().length + 1);
    expect(before.stock).toHaveLength(1);
    await s.close();
    open.delete(s);
    expect(existsSync(file)).toBe(true);

    // Another connection finds it all in the file.
    const db = connect(file);
    expect(db.prepare('SELECT COUNT(*) FROM events').pluck().get()).toBe(before.head);
    expect(db.prepare('SELECT quantity FROM stock WHERE item_id = ?').pluck().get(A)).toBe(5);
    db.close();
    raw.delete(db);

    const again = store(file);
    expect(await again.read(look)).toEqual(before);
    expect(await again.write((tx) => tx.appendEvent(plain('next')))).toBe(before.head + 1);
  });

  it('records each migration once; reopening applies none again', async () => {
    const file = newFile();
    await store(file).close();
    const rowsOf = () => {
      const db = connect(file);
      const out = {
        migrations: db
          .prepare('SELECT version, name, applied_at FROM migrations ORDER BY version')
          .all() as {
          version: number;
          name: string;
          applied_at: string;
        }[],
        virtual: db.prepare('SELECT COUNT(*) FROM positions WHERE virtual = 1').pluck().get(),
        tables: db
          .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
          .pluck()
          .all(),
      };
      db.close();
      raw.delete(db);
      return out;
    };
    const first = rowsOf();
    expect(first.migrations.map((m) => [m.version, m.name])).toEqual(
      MIGRATIONS.map((m) => [m.version, m.name]),
    );
    for (const m of first.migrations) expect(Number.isNaN(Date.parse(m.applied_at))).toBe(false);
    expect(first.virtual).toBe(3);
    expect(first.tables).toEqual(
      expect.arrayContaining(['migrations', 'events', 'stock', 'conflicts']),
    );

    // Data written in between must survive the reopen (a re-applied migration would fail or wipe it).
    const s = store(file);
    await s.write((tx) => tx.appendEvent(plain('kept')));
    await s.close();
    open.delete(s);
    await store(file).close();
    const second = rowsOf();
    expect(second).toEqual(first);
    const again = store(file);
    expect(await again.read((tx) => tx.eventsAfter(0, 10).map((e) => e.id))).toEqual(['kept']);
  });

  it('answers lastMutationIDChanges from the rowid range of the page, not a scan of the log', async () => {
    const file = newFile();
    await store(file).close();
    const db = connect(file);
    // Migration 3 dropped the (client group, seq) index: the query must stay a range of seq.
    const plan = (
      db.prepare(`EXPLAIN QUERY PLAN ${LAST_MUTATION_ID_CHANGES}`).all(0, 10, 'g') as {
        detail: string;
      }[]
    )
      .map((r) => r.detail)
      .join('\n');
    expect(plan).toMatch(/SEARCH events USING INTEGER PRIMARY KEY \(rowid>\? AND rowid<\?\)/);
    const indexes = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'")
      .pluck()
      .all();
    expect(indexes).toEqual(['events_mutation']);
  });

  it('migration 9 gives the jobs kept before it their snapshot key and liveness; live jobs page through an index', async () => {
    // A store as migration 8 left it, holding jobs (one id needs URI-encoding in its key).
    const file = newFile();
    const db = connect(file);
    db.exec(
      'CREATE TABLE migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
    );
    for (const m of MIGRATIONS.filter((x) => x.version <= 8)) {
      db.exec(m.sql);
      db.prepare('INSERT INTO migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        m.version,
        m.name,
        T0,
      );
    }
    const job = (id: string, status: JobStatus, produced: number): ProductionJob => ({
      id: id as JobId,
      code: `J-${id}`,
      itemId: A,
      planned: null,
      status,
      produced,
      note: null,
      completionNote: null,
    });
    const running = job('j/1 %', 'running', 2);
    const completed = job('j-2', 'completed', 5);
    const created = job('j-3', 'created', 0);
    const insert = db.prepare(
      'INSERT INTO production_jobs (id, code, job, seq) VALUES (?, ?, ?, ?)',
    );
    for (const [j, seq] of [
      [running, 7],
      [completed, 9],
      [created, 4],
    ] as const)
      insert.run(j.id, j.code, JSON.stringify(j), seq);
    db.close();
    raw.delete(db);

    const s = store(file);
    const jobsOnly = (entries: readonly { key: string }[]) =>
      entries.filter((e) => e.key.startsWith('s/job/'));
    const got = await s.read((tx) => ({
      entries: jobsOnly(tx.snapshotEntries({ afterKey: null, limit: 100 })),
      changed: jobsOnly(tx.snapshotEntries({ changedAfter: 0, upToKey: 's/~' })),
      after7: jobsOnly(tx.snapshotEntries({ changedAfter: 7, upToKey: 's/~' })),
    }));
    expect(got.entries).toEqual([
      { key: 's/job/j%2F1%20%25', value: running, seq: 7 },
      { key: 's/job/j-3', value: created, seq: 4 },
    ]);
    expect(got.changed).toEqual([
      { key: 's/job/j%2F1%20%25', value: running, seq: 7 },
      { key: 's/job/j-2', value: null, seq: 9 },
      { key: 's/job/j-3', value: created, seq: 4 },
    ]);
    expect(got.after7).toEqual([{ key: 's/job/j-2', value: null, seq: 9 }]);
    await s.close();
    open.delete(s);

    // Live jobs are paged through the (live, skey) index, not by reading the completed ones.
    const check = connect(file);
    const plan = (
      check
        .prepare(
          'EXPLAIN QUERY PLAN SELECT * FROM production_jobs WHERE skey > ? AND live = 1 ORDER BY skey LIMIT ?',
        )
        .all('', 10) as { detail: string }[]
    )
      .map((r) => r.detail)
      .join('\n');
    expect(plan).toMatch(/USING INDEX production_jobs_live \(live=\? AND skey>\?\)/);
    expect(plan).not.toMatch(/TEMP B-TREE/);
    // The jobs screen's bulk adjustments, newest first, found by index among the label prints.
    const jobsPlan = (
      check
        .prepare(
          'EXPLAIN QUERY PLAN SELECT * FROM jobs WHERE kind = ? ORDER BY created_at DESC, id DESC LIMIT ?',
        )
        .all('bulk-adjust', 50) as { detail: string }[]
    )
      .map((r) => r.detail)
      .join('\n');
    expect(jobsPlan).toMatch(/USING INDEX jobs_kind_created \(kind=\?\)/);
    expect(jobsPlan).not.toMatch(/TEMP B-TREE/);
    // A start's queued jobs: the partial index, not a scan of every job ever run.
    const queuedPlan = (
      check.prepare(`EXPLAIN QUERY PLAN ${QUEUED_JOBS_SQL}`).all() as { detail: string }[]
    )
      .map((r) => r.detail)
      .join('\n');
    expect(queuedPlan).toMatch(/USING INDEX jobs_queued/);
    expect(queuedPlan).not.toMatch(/TEMP B-TREE|SCAN jobs\b(?! USING)/);
  });

  it('two stores on one file (two server processes): each sees what the other committed, caches included', async () => {
    const file = newFile();
    const a = store(file);
    // b's WAL syncs are counted: a read that sees a's commits makes the next durable() sync.
    let bSyncs = 0;
    const b = openSqliteStorage({
      path: file,
      syncWal: () => {
        bSyncs++;
        return Promise.resolve();
      },
    });
    open.add(b);
    // b looks the item up (and positions) before it exists: cached as missing.
    expect(await b.read((tx) => tx.item(A))).toBeUndefined();
    await b.write((tx) => tx.appendEvent(plain('from-b')));
    const syncsBefore = bSyncs;
    await a.write((tx) => {
      for (const [i, e] of warehouse().entries()) record(tx, `w${i}`, e);
    });
    const seen = await b.read((tx) => ({ item: tx.item(A)?.sku, head: tx.head() }));
    expect(seen).toEqual({ item: 'A', head: warehouse().length + 1 });
    await b.durable();
    expect(bSyncs).toBe(syncsBefore + 1); // a's commit is made durable before b hands it out
    // A write through b decides against a's items too (its cache was dropped).
    const inB = await b.write((tx) => [tx.item(A)?.sku, tx.position(P)?.code]);
    expect(inB).toEqual(['A', 'P']);
  });

  it('a read is one snapshot even when another process commits in the middle of it', async () => {
    const file = newFile();
    const s = store(file);
    await s.write((tx) => tx.appendEvent(plain('first')));
    const other = connect(file); // another process's connection to the same file
    other.pragma('busy_timeout = 5000');
    const seen = await s.read((tx) => {
      const before = { head: tx.head(), events: tx.eventsAfter(0, 10).length };
      other
        .prepare(
          `INSERT INTO events (id, type, data, meta, client_group_id, client_id, mutation_id)
           VALUES ('from-other', 'MutationRejected', '{}', '{"clientID":"c9","mutationID":1,"userId":"u","occurredAt":"x","recordedAt":"x","conflicts":[]}', 'g9', 'c9', 1)`,
        )
        .run();
      return { before, after: { head: tx.head(), events: tx.eventsAfter(0, 10).length } };
    });
    expect(seen.after).toEqual(seen.before); // the other commit is not half-seen inside the read
    expect(seen.before).toEqual({ head: 1, events: 1 });
    expect(await s.read((tx) => tx.head())).toBe(2); // the next read sees it
  });

  it('puts the file in WAL mode', async () => {
    const file = newFile();
    const s = store(file);
    await s.write((tx) => tx.appendEvent(plain('x')));
    // journal_mode = WAL is persistent: a separate connection sees it.
    const db = connect(file);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(existsSync(`${file}-wal`)).toBe(true);
  });

  it('acknowledges a write only once the WAL is synced, off the commit; durable() waits for it too', async () => {
    const file = newFile();
    // The WAL sync, held until the test lets it finish.
    const syncs: { fd: number; done: () => void; fail: (e: Error) => void }[] = [];
    let held = true;
    const s = openSqliteStorage({
      path: file,
      syncWal: (fd) =>
        held
          ? new Promise<void>((resolve, reject) => syncs.push({ fd, done: resolve, fail: reject }))
          : Promise.resolve(),
    });
    open.add(s);
    const settled = (p: Promise<unknown>) => {
      const state = { done: false, error: undefined as unknown };
      p.then(
        () => (state.done = true),
        (e: unknown) => (state.error = e),
      );
      return state;
    };
    const tick = () => new Promise((r) => setImmediate(r));

    const first = settled(s.write((tx) => tx.appendEvent(plain('a'))));
    await tick();
    await tick();
    // Committed (another connection reads it) but not acknowledged: the sync is running.
    const db = connect(file);
    expect(db.prepare('SELECT COUNT(*) FROM events').pluck().get()).toBe(1);
    expect(syncs).toHaveLength(1);
    expect(syncs[0]?.fd).toBeGreaterThan(2);
    expect(first.done).toBe(false);
    const durable = settled(s.durable());

    // A second commit while the first sync runs needs a sync of its own, started after it.
    const second = settled(s.write((tx) => tx.appendEvent(plain('b'))));
    await tick();
    await tick();
    expect(db.prepare('SELECT COUNT(*) FROM events').pluck().get()).toBe(2);
    syncs[0]?.done();
    await tick();
    expect(first.done).toBe(true);
    expect(second.done).toBe(false);
    expect(syncs).toHaveLength(2);
    syncs[1]?.done();
    await tick();
    expect(second.done).toBe(true);
    expect(durable.done).toBe(true);
    // Nothing committed since: durable() needs no sync.
    await s.durable();
    expect(syncs).toHaveLength(2);

    // A failed sync: the write is reported unavailable (the device retries and finds it applied).
    const third = s.write((tx) => tx.appendEvent(plain('c')));
    await tick();
    await tick();
    syncs[2]?.fail(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    await expect(third).rejects.toBeInstanceOf(StorageUnavailableError);
    held = false; // close() syncs what is still pending

    // Commits themselves do not fsync (NORMAL); the WAL sync above is what makes them durable.
    const own = await connectionOf(s);
    if (own) expect(own.pragma('synchronous', { simple: true })).toBe(1);
  });

  it('commits writes issued in the same tick in one transaction, each isolated', async () => {
    const file = newFile();
    const s = store(file);
    const db = connect(file);
    const committed = () =>
      db.prepare('SELECT COALESCE(MAX(seq), 0) FROM events').pluck().get() as number;

    // A write resolves once committed: another connection sees it.
    await s.write((tx) => tx.appendEvent(plain('base')));
    expect(committed()).toBe(1);

    const seen: { id: string; inside: number; outside: number }[] = [];
    const boom = new Error('boom');
    const results = await Promise.allSettled([
      s.write((tx) => {
        tx.appendEvent(plain('a', 'ca'));
        seen.push({ id: 'a', inside: tx.head(), outside: committed() });
        return 'a';
      }),
      s.write((tx) => {
        tx.appendEvent(plain('b', 'cb'));
        tx.setLastMutationID('cb', 'g1', 1, tx.head());
        seen.push({ id: 'b', inside: tx.head(), outside: committed() });
        throw boom;
      }),
      s.write((tx) => {
        tx.appendEvent(plain('c', 'cc'));
        seen.push({ id: 'c', inside: tx.head(), outside: committed() });
        return 'c';
      }),
    ]);
    // While the batch ran nothing of it was committed (one transaction), and each write saw the
    // ones before it, minus the one that failed.
    expect(seen).toEqual([
      { id: 'a', inside: 2, outside: 1 },
      { id: 'b', inside: 3, outside: 1 },
      { id: 'c', inside: 3, outside: 1 },
    ]);
    expect(results).toEqual([
      { status: 'fulfilled', value: 'a' },
      { status: 'rejected', reason: boom },
      { status: 'fulfilled', value: 'c' },
    ]);
    expect(committed()).toBe(3);
    expect(db.prepare('SELECT id FROM events ORDER BY seq').pluck().all()).toEqual([
      'base',
      'a',
      'c',
    ]);
    expect(db.prepare('SELECT COUNT(*) FROM clients').pluck().get()).toBe(0);

    // A write issued after the batch settled runs in a transaction of its own.
    const outside = await s.write(() => committed());
    expect(outside).toBe(3);
  });

  it('rejects writes with StorageUnavailableError while another connection holds the lock, then recovers', async () => {
    const file = newFile();
    const s = store(file);
    await s.write((tx) => tx.appendEvent(plain('before')));
    const db = connect(file);
    db.exec('BEGIN IMMEDIATE');
    // The adapter waits out its busy timeout (5 s), then gives up.
    await expect(s.write((tx) => tx.appendEvent(plain('blocked')))).rejects.toBeInstanceOf(
      StorageUnavailableError,
    );
    db.exec('ROLLBACK');
    expect(await s.write((tx) => tx.appendEvent(plain('after')))).toBe(2);
    expect(await s.read((tx) => tx.eventsAfter(0, 10).map((e) => e.id))).toEqual([
      'before',
      'after',
    ]);
  }, 20_000);

  it('checkpoints the WAL from its worker thread, not inside commits', async () => {
    const fill = async (s: Storage) => {
      // About 4 MB of events: below SQLite's own checkpoint threshold (4000 pages, 16 MB).
      for (let b = 0; b < 20; b++)
        await s.write((tx) => {
          for (let i = 0; i < 100; i++)
            tx.appendEvent({ ...plain(`e${b}-${i}`), data: { pad: 'x'.repeat(2000) } });
        });
    };
    const mainFileSize = (file: string) => statSync(file).size;

    const withWorker = newFile();
    const s = openSqliteStorage({ path: withWorker, checkpointEveryMs: 20 });
    open.add(s);
    const db = await connectionOf(s);
    if (db) expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    const before = mainFileSize(withWorker);
    await fill(s);
    const deadline = Date.now() + 5000;
    while (mainFileSize(withWorker) < before + 3_000_000 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(mainFileSize(withWorker)).toBeGreaterThan(before + 3_000_000);

    // Without the worker (and below the automatic threshold) the pages stay in the WAL.
    const without = newFile();
    const t = openSqliteStorage({ path: without, checkpointEveryMs: 0 });
    open.add(t);
    const before2 = mainFileSize(without);
    await fill(t);
    await new Promise((r) => setTimeout(r, 200));
    expect(mainFileSize(without)).toBeLessThan(before2 + 1_000_000);
  });

  it('turns automatic checkpoints back on when the checkpoint worker fails, and stops at once after it died', async () => {
    let checkpointer: ReturnType<typeof startCheckpointer> | undefined;
    const failure = await new Promise<Error>((resolve) => {
      checkpointer = startCheckpointer({
        path: path.join(root, 'no-such-dir', 'x.db'),
        intervalMs: 10,
        onFailure: resolve,
      });
    });
    expect(failure.message).toMatch(/directory|unable|exited|open/i);
    // Its worker is gone (it exited with the error): the stop of a store closing then used to
    // wait for that exit again, for ever — a test's close hung when its files were removed
    // before the worker had opened them.
    await new Promise((r) => setTimeout(r, 200));
    const stopped = await Promise.race([
      (checkpointer as NonNullable<typeof checkpointer>).stop().then(() => 'stopped'),
      new Promise((r) => setTimeout(() => r('still waiting after 5 s'), 5000)),
    ]);
    expect(stopped).toBe('stopped');
  });
});

describe('sqlite genealogy in one query', () => {
  it('reachable() answers exactly what the domain traversal answers, on random graphs with cycles, replaced and reversed links', async () => {
    const s = openAt(newFile());
    let seed = 7;
    const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const node = (i: number) => lotNode(asItemId('item'), asLot(`n${i}`));
    const links: GenealogyLink[] = [];
    for (let i = 0; i < 400; i++) {
      const from = node(rnd(60));
      const to = node(rnd(60));
      const kind = (['consumed-into', 'produced', 'contained-in', 'packed-on'] as const)[
        rnd(4)
      ] as GenealogyLink['kind'];
      const fromKey = nodeKey(from);
      const toKey = nodeKey(to);
      const eventId = asEventId(`e${i}`);
      links.push({
        id: linkIdOf(kind, fromKey, toKey, eventId),
        kind,
        from,
        to,
        fromKey,
        toKey,
        quantity: 1,
        eventId,
        lastEventId: eventId,
        status: (['active', 'active', 'active', 'replaced', 'reversed'] as const)[
          rnd(5)
        ] as GenealogyLink['status'],
        replacement: null,
        shipment: null,
      });
    }
    await s.write((tx) =>
      links.forEach((l) => tx.applyProductionChange({ op: 'putLink', link: l }, 1)),
    );
    await s.read((tx) => {
      const reachable = tx.reachable?.bind(tx);
      expect(reachable).toBeDefined();
      if (!reachable) return;
      const g = genealogyQueriesOf(tx);
      let compared = 0;
      for (let i = 0; i < 60; i += 3) {
        for (const direction of ['up', 'down'] as const)
          for (const history of [false, true])
            for (const maxDepth of [0, 1, 2, 4, 50]) {
              const want =
                direction === 'down'
                  ? g.descendants(node(i), { maxDepth, history })
                  : g.ancestors(node(i), { maxDepth, history });
              const got = reachable(nodeKey(node(i)), direction, maxDepth, history);
              const sorted = [...got.nodes].sort(
                (a, b) => a.depth - b.depth || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
              );
              expect(sorted).toEqual(want.nodes.map((n) => ({ key: n.key, depth: n.depth })));
              expect(got.truncated).toBe(want.truncated);
              // And as the API answers it: nodes decoded, in the domain's order.
              expect(reach(tx, node(i), direction, { maxDepth, history })).toEqual(want);
              compared++;
            }
      }
      expect(compared).toBe(400);
    });
    await s.close();
  });
});
