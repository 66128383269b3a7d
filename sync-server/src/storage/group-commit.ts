import type { ReadTx, Storage, WriteTx } from './port.js';
import { StorageUnavailableError } from './port.js';

export type Outcome =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: Error };

/**
 * The `Storage` promise API over a store with a synchronous transaction object (SQLite via
 * better-sqlite3, the in-memory twin). Writes are queued and run together on a later turn of
 * the event loop (group commit: writes that arrive while requests are being handled share one
 * transaction — one fsync), so a write started inside another write's or a read's callback
 * never runs inside it. Reads run at once: the store is synchronous, so a read sees one
 * consistent state for its whole duration.
 */
export function groupCommitStorage(o: {
  readonly tx: WriteTx;
  /**
   * Runs the batch in one transaction, each write isolated (a savepoint): returns one outcome
   * per write, or throws when the transaction as a whole failed (nothing committed).
   */
  readonly runBatch: (writes: readonly ((tx: WriteTx) => unknown)[]) => Outcome[];
  readonly toError: (e: unknown) => Error;
  readonly close: () => void | Promise<void>;
  /**
   * Makes what the batches committed so far durable (an fsync of the log). When given,
   * commits do not wait for the disk themselves: a batch's writes resolve once a `sync`
   * started after its commit has finished, so the event loop never blocks on an fsync and
   * one sync serves every batch committed while the previous one ran.
   */
  readonly sync?: () => Promise<void>;
  /**
   * Runs before every read; true when another process sharing the store committed since
   * (SQLite's `data_version`). Its commits may not be durable yet, and this read may hand out
   * their seqs: the next `durable()` syncs for them too (an fsync covers the whole file).
   */
  readonly beforeRead?: () => boolean;
  /** Runs after every read (SQLite: ends the read transaction `beforeRead` began). */
  readonly afterRead?: () => void;
}): Storage {
  const syncer = o.sync ? coalescing(o.sync) : null;
  let committed = 0; // batches committed
  let synced = 0; // batches known durable
  let queue: {
    fn: (tx: WriteTx) => unknown;
    resolve: (v: unknown) => void;
    reject: (e: Error) => void;
  }[] = [];
  let scheduled = false;
  let closed = false;

  const flush = () => {
    scheduled = false;
    const batch = queue;
    queue = [];
    if (batch.length === 0) return;
    let outcomes: Outcome[];
    try {
      outcomes = o.runBatch(batch.map((w) => w.fn));
    } catch (error) {
      const failure = o.toError(error);
      for (const w of batch) w.reject(failure);
      return;
    }
    const settle = () =>
      batch.forEach((w, i) => {
        const out = outcomes[i];
        if (out?.ok) w.resolve(out.value);
        else w.reject(out?.error ?? new Error('write lost its outcome'));
      });
    committed++;
    if (!syncer) return settle();
    syncCommitted().then(settle, (failure: Error) => {
      // Committed but maybe not on disk: report it unavailable. A device retries, and the
      // retry finds the mutations applied (duplicate) if they did survive.
      for (const w of batch) w.reject(failure);
    });
  };

  /** Resolves once every batch committed so far is durable; rejects with the store's error. */
  const syncCommitted = (): Promise<void> => {
    if (!syncer || synced >= committed) return Promise.resolve();
    const mark = committed;
    return syncer().then(
      () => {
        synced = Math.max(synced, mark);
      },
      (error: unknown) => Promise.reject(o.toError(error)),
    );
  };

  return {
    write<T>(fn: (tx: WriteTx) => T): Promise<T> {
      if (closed) return Promise.reject(new StorageUnavailableError('storage is closed'));
      return new Promise<T>((resolve, reject) => {
        queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
    read<T>(fn: (tx: ReadTx) => T): Promise<T> {
      if (closed) return Promise.reject(new StorageUnavailableError('storage is closed'));
      try {
        if (o.beforeRead?.() === true) committed++;
        return Promise.resolve(fn(o.tx));
      } catch (error) {
        return Promise.reject(o.toError(error));
      } finally {
        o.afterRead?.();
      }
    },
    durable: syncCommitted,
    async close() {
      if (closed) return;
      flush(); // writes issued before close still commit
      closed = true;
      await syncCommitted().catch(() => undefined);
      await o.close();
    },
  };
}

/**
 * Coalesces calls of `run` (an fsync): a call resolves when a run that started after the call
 * has finished. Calls made while a run is in flight share the one run after it.
 */
export function coalescing(run: () => Promise<void>): () => Promise<void> {
  let inFlight: Promise<void> | null = null;
  let next: Promise<void> | null = null;
  const start = (): Promise<void> => {
    const p = run().finally(() => {
      inFlight = null;
    });
    inFlight = p;
    return p;
  };
  return () => {
    if (!inFlight) return start();
    // The one in flight may have started before what the caller needs synced: wait for it,
    // then run once more for everyone who asked meanwhile.
    next ??= inFlight
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => {
        next = null;
        return start();
      });
    return next;
  };
}
