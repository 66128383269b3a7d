import { describe, expect, it } from 'vitest';
import { storageContract } from '../contract.js';
import type { Storage } from '../port.js';
import { StorageUnavailableError } from '../port.js';
import type { Commit, Missed, ReplicaStore, Write, WriteTransaction } from './replica.js';
import { openReplicaStorage } from './replica.js';

/**
 * The replica layer on its own, over a commit log kept in memory (`LogStore` below): the same
 * storage contract as every adapter, plus what only a replica has — several processes on one
 * store, a refused commit, a replica that fell behind. Everything crosses the store as JSON,
 * as it crosses ArangoDB's HTTP API. The ArangoDB store itself is tested against a real server
 * in `arango-storage.test.ts` (when `ARANGO_URL` is set).
 */

const json = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
/** A round trip: the store answers on a later turn of the event loop, as over the network. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

class LogStore implements ReplicaStore {
  commits: Commit[] = [];
  readonly records = new Map<string, Write>();
  /** Commits at or below this version are gone. */
  pruned = 0;
  /** The next commit fails: before it is saved, or after (saved, but the answer is lost). */
  failNext: 'before' | 'after' | null = null;
  private lock: Promise<void> = Promise.resolve();
  closed = 0;

  get version(): number {
    return this.commits.at(-1)?.version ?? this.pruned;
  }

  async load() {
    await tick();
    const version = this.version;
    const rows = [...this.records.values()].sort(([ta, ka], [tb, kb]) =>
      ta === 'event' && tb === 'event' ? Number(ka) - Number(kb) : 0,
    );
    const copied = json(rows);
    return {
      version,
      records: (async function* () {
        for (const r of copied) {
          await tick();
          yield r;
        }
      })(),
    };
  }

  async since(version: number, all = false): Promise<Missed> {
    await tick();
    // Behind this replica (restored from a backup), or its commits pruned: load everything.
    if (version > this.version || version < this.pruned) return 'reload';
    const after = this.commits.filter((c) => c.version > version);
    // `since` answers a page; inside the write lock, everything up to the newest.
    return { commits: json(all ? after : after.slice(0, 7)) };
  }

  syncs = 0;
  /** The next abort fails (the connection dropped). */
  failAbort = false;
  async sync() {
    await tick();
    this.syncs++;
  }

  /** Replaces everything with an older copy, as a restore from a backup does. */
  restore(from: { commits: Commit[]; records: Map<string, Write> }): void {
    this.commits = json(from.commits);
    this.records.clear();
    for (const [k, v] of from.records) this.records.set(k, json(v));
  }

  async beginWrite(version: number): Promise<WriteTransaction> {
    let release!: () => void;
    const previous = this.lock;
    this.lock = new Promise<void>((r) => (release = r));
    await previous;
    let missed: Missed;
    try {
      missed = await this.since(version, true);
    } catch (error) {
      release();
      throw error;
    }
    return {
      missed,
      commit: async (c: Commit) => {
        try {
          await tick();
          if (this.failNext === 'before') throw new Error('connection reset');
          if (c.version !== this.version + 1)
            throw new Error(`commit ${c.version} does not follow ${this.version}`);
          const saved = json(c);
          this.commits.push(saved);
          for (const w of saved.writes) {
            const id = `${w[0]}\u0000${w[1]}`;
            if (w[2] === null) this.records.delete(id);
            else this.records.set(id, w);
          }
          if (this.failNext === 'after') throw new Error('answer lost');
        } finally {
          this.failNext = null;
          release();
        }
      },
      abort: async () => {
        await tick();
        release();
        if (this.failAbort) {
          this.failAbort = false;
          throw new Error('connection reset');
        }
      },
    };
  }

  prune(): void {
    this.pruned = this.version;
    this.commits = [];
  }

  async close() {
    await tick();
    this.closed++;
  }
}

const stores = new WeakMap<Storage, LogStore>();
const openOn = async (store: LogStore): Promise<Storage> => {
  const s = await openReplicaStorage(store);
  stores.set(s, store);
  return s;
};

storageContract('replica over an in-memory commit log', () => openOn(new LogStore()), {
  reopen: (closed) => openOn(stores.get(closed) as LogStore),
});

const event = (id: string, clientID = 'c1', mutationID = 1) => ({
  id,
  type: 'Noted',
  data: { id },
  meta: {
    clientID,
    mutationID,
    userId: 'u',
    occurredAt: '2026-03-02T08:00:00.000Z',
    recordedAt: '2026-03-02T08:00:00.000Z',
    conflicts: [],
  },
  clientGroupID: 'g1',
});

describe('replica', () => {
  it('two processes on one store: each sees the other’s commits, seqs stay one sequence', async () => {
    const store = new LogStore();
    const a = await openOn(store);
    const b = await openOn(store);
    await a.write((tx) => tx.appendEvent(event('e1')));
    expect(await b.read((tx) => tx.head())).toBe(1);
    // Writes through both at once: the store serialises them; each catches up first.
    const seqs = await Promise.all([
      a.write((tx) => tx.appendEvent(event('e2'))),
      b.write((tx) => tx.appendEvent(event('e3'))),
      a.write((tx) => tx.appendEvent(event('e4'))),
      b.write((tx) => tx.appendEvent(event('e5'))),
    ]);
    expect([...seqs].sort()).toEqual([2, 3, 4, 5]);
    const logA = await a.read((tx) => tx.eventsAfter(0, 10).map((e) => e.id));
    const logB = await b.read((tx) => tx.eventsAfter(0, 10).map((e) => e.id));
    expect(logA).toEqual(logB);
    expect(logA).toHaveLength(5);
    await Promise.all([a.close(), b.close()]);
  });

  it('a lease is held by one process at a time across processes', async () => {
    const store = new LogStore();
    const a = await openOn(store);
    const b = await openOn(store);
    const [gotA, gotB] = await Promise.all([
      a.write((tx) => tx.acquireLease('relay', 'A', 1000, 15_000)),
      b.write((tx) => tx.acquireLease('relay', 'B', 1000, 15_000)),
    ]);
    expect([gotA, gotB].filter(Boolean)).toHaveLength(1);
    await Promise.all([a.close(), b.close()]);
  });

  it('a refused commit undoes the whole batch in memory; the next write goes on from there', async () => {
    const store = new LogStore();
    const s = await openOn(store);
    await s.write((tx) => tx.appendEvent(event('e1')));
    store.failNext = 'before';
    const refused = s.write((tx) => {
      tx.appendEvent(event('e2'));
      tx.setProgress('relay', 2);
    });
    await expect(refused).rejects.toBeInstanceOf(StorageUnavailableError);
    expect(await s.read((tx) => [tx.head(), tx.progress('relay')])).toEqual([1, 0]);
    expect(await s.write((tx) => tx.appendEvent(event('e3')))).toBe(2);
    expect(await s.read((tx) => tx.eventsAfter(0, 9).map((e) => e.id))).toEqual(['e1', 'e3']);
    await s.close();
  });

  it('a commit whose answer was lost: undone in memory, then read back from the store', async () => {
    const store = new LogStore();
    const s = await openOn(store);
    store.failNext = 'after';
    await expect(s.write((tx) => tx.appendEvent(event('e1')))).rejects.toBeInstanceOf(
      StorageUnavailableError,
    );
    // The store has it: the next read catches up, as it would with another process's commit.
    expect(await s.read((tx) => tx.eventsAfter(0, 9).map((e) => e.id))).toEqual(['e1']);
    expect(await s.write((tx) => tx.appendEvent(event('e2')))).toBe(2);
    await s.close();
  });

  it('a replica whose missed commits were pruned loads everything again', async () => {
    const store = new LogStore();
    const a = await openOn(store);
    const b = await openOn(store);
    for (let i = 1; i <= 30; i++) await a.write((tx) => tx.appendEvent(event(`e${i}`)));
    store.prune();
    await a.write((tx) => tx.setProgress('relay', 30));
    expect(await b.read((tx) => [tx.head(), tx.progress('relay')])).toEqual([30, 30]);
    expect(await b.write((tx) => tx.appendEvent(event('e31')))).toBe(31);
    await Promise.all([a.close(), b.close()]);
  });

  it('a write that throws inside a batch leaves no trace in the commit', async () => {
    const store = new LogStore();
    const s = await openOn(store);
    const ok = s.write((tx) => tx.appendEvent(event('e1')));
    const bad = s.write((tx) => {
      tx.appendEvent(event('e2'));
      tx.setProgress('x', 9);
      throw new Error('no');
    });
    await expect(bad).rejects.toThrow('no');
    expect(await ok).toBe(1);
    expect(store.commits).toHaveLength(1);
    const tables = store.commits[0]?.writes.map((w) => w[0]);
    expect(tables).not.toContain('progress');
    // The seq the failed write took and gave back is not shipped as an event.
    expect(store.commits[0]?.writes.filter((w) => w[0] === 'event' && w[2] !== null)).toHaveLength(
      1,
    );
    await s.close();
  });

  it('a batch that changes nothing commits nothing; close closes the store once', async () => {
    const store = new LogStore();
    const s = await openOn(store);
    expect(await s.write((tx) => tx.head())).toBe(0);
    expect(store.commits).toHaveLength(0);
    await s.close();
    await s.close();
    expect(store.closed).toBe(1);
    await expect(s.read((tx) => tx.head())).rejects.toBeInstanceOf(StorageUnavailableError);
  });

  it('a store restored behind the replica: it loads everything again and goes on', async () => {
    const store = new LogStore();
    const s = await openOn(store);
    await s.write((tx) => tx.appendEvent(event('e1')));
    const backup = { commits: json(store.commits), records: new Map(store.records) };
    await s.write((tx) => tx.appendEvent(event('e2')));
    store.restore(backup);
    expect(await s.read((tx) => tx.eventsAfter(0, 9).map((e) => e.id))).toEqual(['e1']);
    expect(await s.write((tx) => tx.appendEvent(event('e3')))).toBe(2);
    await s.close();
  });

  it('durable() syncs the store once another process’s commit was applied, and only then', async () => {
    const store = new LogStore();
    const a = await openOn(store);
    const b = await openOn(store);
    await a.write((tx) => tx.appendEvent(event('e1')));
    await a.durable();
    expect(store.syncs).toBe(0); // its own commit: durable when the write resolved
    await b.read((tx) => tx.head());
    await b.durable();
    expect(store.syncs).toBe(1);
    await b.durable();
    expect(store.syncs).toBe(1);
    await Promise.all([a.close(), b.close()]);
  });

  it('a batch with nothing to commit keeps its outcomes when ending the transaction fails', async () => {
    const store = new LogStore();
    const s = await openOn(store);
    store.failAbort = true;
    await expect(
      s.write(() => {
        throw new Error('job j1 exists');
      }),
    ).rejects.toThrow('job j1 exists');
    expect(await s.write((tx) => tx.head())).toBe(0);
    await s.close();
  });

  it('a warning callback that throws does not leave a refused batch in memory', async () => {
    const store = new LogStore();
    const s = await openReplicaStorage(store, {
      onWarning: () => {
        throw new Error('logger broke');
      },
    });
    store.failNext = 'before';
    await expect(s.write((tx) => tx.appendEvent(event('e1')))).rejects.toBeInstanceOf(
      StorageUnavailableError,
    );
    expect(await s.write((tx) => tx.appendEvent(event('e2')))).toBe(1);
    expect(await (await openOn(store)).read((tx) => tx.eventsAfter(0, 9).map((e) => e.id))).toEqual(
      ['e2'],
    );
    await s.close();
  });

  it('close() called twice at once closes the store once', async () => {
    const store = new LogStore();
    const s = await openOn(store);
    await Promise.all([s.close(), s.close()]);
    expect(store.closed).toBe(1);
  });
});
