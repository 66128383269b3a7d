import type { ReadTx, Storage, WriteTx } from '../port.js';
import { StorageUnavailableError } from '../port.js';
import type { TwinTable } from '../memory/memory-storage.js';
import { MemoryTx, TWIN_TABLES } from '../memory/memory-storage.js';

/**
 * A `Storage` for a store whose driver is asynchronous (ArangoDB): the in-memory twin is the
 * working copy every decision is made against, synchronously, and the store is the durable,
 * shared truth the twin is a write-through replica of.
 *
 * - **Commits.** A write batch (group commit) runs against the twin inside one undo frame while
 *   the twin reports every record it changes. The changed records, as they are after the batch,
 *   become one `Commit` — `[table, key, value | null]` rows, whole records, not operations — which
 *   the store saves with the records themselves in one exclusive transaction. If the store
 *   refuses or is unreachable, the frame is undone and the batch's writes fail with
 *   `StorageUnavailableError`; nothing half-written stays in memory.
 * - **Several processes.** Commits are numbered (`version`). Before a batch (inside the store's
 *   exclusive transaction, so nobody commits in between) and before a read, the replica applies
 *   the commits other processes made since its own version. A replica too far behind (its
 *   commits already pruned) loads everything again.
 * - **Order.** Reads and writes run one after another in the order they were asked; reads that
 *   queue up together share one catch-up. A read sees only committed, durable state.
 *
 * `valueOf`/`putRecord` of the twin and `onTouch` are the whole interface between the two: the
 * replica adds no second description of any write.
 */

/** One changed record: `null` when it was removed. */
export type Write = readonly [table: TwinTable, key: string, value: unknown];

export interface Commit {
  readonly version: number;
  /** The log's head after this commit. */
  readonly head: number;
  readonly writes: readonly Write[];
}

/** What other processes committed since a version; `reload` when those commits are gone. */
export type Missed = { readonly commits: readonly Commit[] } | 'reload';

/** The durable side of a replica. */
export interface ReplicaStore {
  /** Every record (events in seq order), and the version they are at least as new as. */
  load(): Promise<{ readonly version: number; readonly records: AsyncIterable<Write> }>;
  /** Commits after `version`, oldest first (at most a page: call again while non-empty). */
  since(version: number): Promise<Missed>;
  /**
   * Opens the exclusive write transaction: nobody else commits until it ends. Tells what was
   * committed since `version` first: every commit up to the newest (not a page), or `reload`.
   * `since` and `beginWrite` answer `reload` too when the store is behind `version` (restored
   * from a backup).
   */
  beginWrite(version: number): Promise<WriteTransaction>;
  /** Makes everything committed so far durable (a write that waits for the disk). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface WriteTransaction {
  readonly missed: Missed;
  /** Saves the commit and ends the transaction; resolves once it is durable. */
  commit(c: Commit): Promise<void>;
  /** Ends the transaction without saving anything. */
  abort(): Promise<void>;
}

export interface ReplicaOptions {
  /** At most this many writes share one commit. */
  readonly maxBatch?: number;
  /** Told of failures the replica recovered from (a refused commit, a reload). */
  readonly onWarning?: (message: string) => void;
}

type Op =
  | {
      readonly kind: 'read';
      readonly fn: (tx: ReadTx) => unknown;
      readonly resolve: (v: unknown) => void;
      readonly reject: (e: Error) => void;
    }
  | {
      readonly kind: 'write';
      readonly fn: (tx: WriteTx) => unknown;
      readonly resolve: (v: unknown) => void;
      readonly reject: (e: Error) => void;
    };

const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

const unavailable = (e: unknown): Error =>
  e instanceof StorageUnavailableError
    ? e
    : new StorageUnavailableError(`store unavailable: ${asError(e).message}`);

/** Opens a replica over `store`: loads every record into a fresh twin first. */
export async function openReplicaStorage(
  store: ReplicaStore,
  options: ReplicaOptions = {},
): Promise<Storage> {
  const maxBatch = options.maxBatch ?? 1000;
  let tx = new MemoryTx();
  let version = 0;
  /** A catch-up applied commits of other processes since the last `durable()`. */
  let othersApplied = false;
  const warn = (message: string): void => {
    try {
      options.onWarning?.(message);
    } catch {
      // A logger that throws must not leave a batch half-handled.
    }
  };

  const loadAll = async (): Promise<void> => {
    const fresh = new MemoryTx();
    const { version: at, records } = await store.load();
    for await (const [table, key, value] of records) fresh.putRecord(table, key, value);
    tx = fresh;
    version = at;
    // Whatever was committed while the records were read: each commit sets whole records,
    // so applying one again over a newer record ends in the same state.
    await catchUp();
  };

  const apply = (commits: readonly Commit[]): void => {
    for (const c of commits) {
      if (c.version <= version) continue;
      if (c.version !== version + 1)
        throw new Error(`replica: commit ${c.version} arrived after ${version}`);
      for (const [table, key, value] of c.writes) tx.putRecord(table, key, value ?? undefined);
      version = c.version;
      othersApplied = true;
    }
  };

  const applyMissed = async (missed: Missed): Promise<boolean> => {
    if (missed === 'reload') {
      warn('replica fell behind the commits the store keeps: loading everything');
      await loadAll();
      return false;
    }
    apply(missed.commits);
    return missed.commits.length > 0;
  };

  const catchUp = async (): Promise<void> => {
    // Pages of commits until none is left.
    while (await applyMissed(await store.since(version)));
  };

  await loadAll();

  let queue: Op[] = [];
  let running = false;
  let closed = false;
  let idle: (() => void)[] = [];

  const runReads = async (reads: Extract<Op, { kind: 'read' }>[]): Promise<void> => {
    try {
      await catchUp();
    } catch (error) {
      const failure = unavailable(error);
      for (const r of reads) r.reject(failure);
      return;
    }
    for (const r of reads) {
      try {
        r.resolve(r.fn(tx));
      } catch (error) {
        r.reject(asError(error));
      }
    }
  };

  /**
   * Opens the store's write transaction with this replica caught up inside it. Catching up
   * (and, when far behind, loading everything) happens before the lock is taken, so other
   * processes never wait on one that is loading; inside, only the few commits made since.
   */
  const beginCaughtUp = async (): Promise<WriteTransaction> => {
    for (let attempt = 0; ; attempt++) {
      await catchUp();
      const w = await store.beginWrite(version);
      try {
        if (w.missed !== 'reload') {
          apply(w.missed.commits);
          return w;
        }
      } catch (error) {
        await w.abort().catch(() => undefined);
        throw error;
      }
      await w.abort().catch(() => undefined);
      if (attempt >= 2) throw new Error('replica could not catch up with the store');
      warn('replica fell behind the commits the store keeps: loading everything');
      await loadAll();
    }
  };

  const runWrites = async (writes: Extract<Op, { kind: 'write' }>[]): Promise<void> => {
    let w: WriteTransaction;
    try {
      w = await beginCaughtUp();
    } catch (error) {
      const failure = unavailable(error);
      for (const op of writes) op.reject(failure);
      return;
    }

    // Each record the batch touches, as it was before: a record a rolled-back write touched is
    // the same object again afterwards (the twin's records are immutable), and is not shipped.
    const dirty = new Map<string, readonly [TwinTable, string, unknown]>();
    const mark = tx.begin();
    tx.onTouch = (table, key) => {
      const id = `${table}\u0000${key}`;
      if (!dirty.has(id)) dirty.set(id, [table, key, tx.valueOf(table, key)]);
    };
    const outcomes = writes.map((op) => {
      try {
        return { ok: true as const, value: tx.savepoint(() => op.fn(tx)) };
      } catch (error) {
        return { ok: false as const, error: asError(error) };
      }
    });
    tx.onTouch = undefined;
    const rows: Write[] = [];
    for (const [table, key, before] of dirty.values()) {
      const after = tx.valueOf(table, key);
      if (after !== before) rows.push([table, key, after ?? null]);
    }

    if (rows.length === 0) {
      // Nothing to keep: the writes' own outcomes stand, whatever ending the transaction says.
      tx.end(mark, true);
      await w.abort().catch((error: unknown) => warn(`abort failed: ${asError(error).message}`));
    } else {
      const c: Commit = { version: version + 1, head: tx.head(), writes: rows };
      try {
        await w.commit(c);
      } catch (error) {
        // Undo first: nothing below may leave the twin holding what the store refused.
        tx.end(mark, false);
        await w.abort().catch(() => undefined);
        const failure = unavailable(error);
        for (const op of writes) op.reject(failure);
        warn(`commit failed, ${writes.length} writes undone: ${failure.message}`);
        return;
      }
      tx.end(mark, true);
      version = c.version;
    }
    writes.forEach((op, i) => {
      const out = outcomes[i];
      if (out?.ok) op.resolve(out.value);
      else op.reject(out?.error ?? new Error('write lost its outcome'));
    });
  };

  const pump = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      while (queue.length > 0) {
        const first = queue[0] as Op;
        // Take the longest run of one kind at the head: reads share a catch-up, writes a commit.
        let n = 1;
        while (
          n < queue.length &&
          queue[n]?.kind === first.kind &&
          (first.kind === 'read' || n < maxBatch)
        )
          n++;
        const run = queue.slice(0, n);
        queue = queue.slice(n);
        try {
          if (first.kind === 'read') await runReads(run as Extract<Op, { kind: 'read' }>[]);
          else await runWrites(run as Extract<Op, { kind: 'write' }>[]);
        } catch (error) {
          // A bug, not the store: still, every caller hears back and the queue goes on.
          const failure = asError(error);
          for (const op of run) op.reject(failure);
        }
      }
    } finally {
      running = false;
      const waiting = idle;
      idle = [];
      for (const done of waiting) done();
    }
  };

  const enqueue = <T>(kind: Op['kind'], fn: (tx: WriteTx) => T): Promise<T> => {
    if (closed) return Promise.reject(new StorageUnavailableError('storage is closed'));
    return new Promise<T>((resolve, reject) => {
      queue.push({ kind, fn, resolve: resolve as (v: unknown) => void, reject } as Op);
      // Writes issued in the same turn of the event loop share a commit.
      if (queue.length === 1) setImmediate(() => void pump());
    });
  };

  const drained = (): Promise<void> =>
    !running && queue.length === 0
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          idle.push(resolve);
          if (!running) void pump();
        });

  let closing: Promise<void> | null = null;
  return {
    write: (fn) => enqueue('write', fn),
    read: (fn) => enqueue('read', fn as (tx: WriteTx) => ReturnType<typeof fn>),
    /**
     * This process's commits are on disk when their writes resolve. Another process's commit
     * can be visible a moment before its store has synced it; once a catch-up applied one,
     * the next `durable()` asks the store to sync (one sync covers everything before it).
     */
    durable: () => {
      if (!othersApplied) return Promise.resolve();
      othersApplied = false;
      return store.sync().catch((error: unknown) => {
        othersApplied = true;
        return Promise.reject(unavailable(error));
      });
    },
    close() {
      closing ??= (async () => {
        await drained();
        closed = true;
        await store.close();
      })();
      return closing;
    },
  };
}

/** Every table a replica's store must keep. */
export const REPLICA_TABLES = TWIN_TABLES;
