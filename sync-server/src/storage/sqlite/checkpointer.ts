import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * WAL checkpoints off the request path. SQLite's automatic checkpoint runs inside the commit
 * that crosses the threshold: it copies the WAL into the main file and fsyncs it, on the
 * event loop, and every push waiting behind that commit waits for it too (tens of
 * milliseconds — the tail of push latency). Here a worker thread with its own connection runs
 * `PRAGMA wal_checkpoint(PASSIVE)` on a timer instead; a passive checkpoint never blocks
 * the writer, and the writer restarts the WAL from the top once everything in it is copied.
 *
 * If the worker fails, `onFailure` is called; the caller then turns automatic checkpoints
 * back on, so the WAL can never grow without bound.
 */
export interface Checkpointer {
  stop(): Promise<void>;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 0');
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    parentPort.postMessage({ error: String(error && error.message ? error.message : error) });
  }
}, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m === 'stop') {
    clearInterval(timer);
    try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
    db.close();
    parentPort.close();
  }
});
`;

export function startCheckpointer(o: {
  readonly path: string;
  readonly intervalMs: number;
  readonly onFailure: (error: Error) => void;
}): Checkpointer {
  const module = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { module, path: o.path, intervalMs: o.intervalMs },
  });
  let stopped = false;
  let failed = false;
  // Settled when the worker is gone, however it ended: a stop after it died (it could not
  // open the file, say) must not wait for an exit that already happened.
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const fail = (error: Error) => {
    if (stopped || failed) return;
    failed = true;
    o.onFailure(error);
  };
  worker.on('message', (m: { error?: string }) => {
    if (m.error !== undefined) fail(new Error(`WAL checkpoint failed: ${m.error}`));
  });
  worker.on('error', fail);
  worker.on('exit', (code) => {
    if (!stopped) fail(new Error(`the checkpoint worker exited (${code})`));
  });
  worker.unref();
  return {
    stop() {
      if (stopped) return Promise.resolve();
      stopped = true;
      // A worker that does not answer is not worth waiting for at shutdown. The timer is
      // not unref'd: in a process with nothing else to do (a tool, a benchmark) an unref'd
      // worker and timer would let it exit with this promise never settled.
      const giveUp = setTimeout(() => void worker.terminate(), 2000);
      worker.postMessage('stop');
      return exited.finally(() => clearTimeout(giveUp));
    },
  };
}
