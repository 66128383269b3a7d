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
}): Storage {
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
    batch.forEach((w, i) => {
      const out = outcomes[i];
      if (out?.ok) w.resolve(out.value);
      else w.reject(out?.error ?? new Error('write lost its outcome'));
    });
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
        return Promise.resolve(fn(o.tx));
      } catch (error) {
        return Promise.reject(o.toError(error));
      }
    },
    close() {
      if (closed) return Promise.resolve();
      flush(); // writes issued before close still commit
      closed = true;
      return Promise.resolve(o.close());
    },
  };
}
