import { readFile } from 'node:fs/promises';
import { eventEnvelopeSchema } from '@floorsync/domain';
import type { SyncApi } from '../sync-api.js';
import { writeFileDurably } from './durable.js';
import type { ErpPlugin } from './plugin.js';
import { MOVEMENT_TYPES, movementOf } from './plugin.js';

/**
 * Feeds an ERP plugin the confirmed movements, through the sync protocol like any device: it
 * pulls the log from its cookie, hands each movement to the plugin in seq order, and writes the
 * movement's seq to a small file (`cursorFile`) once the plugin has taken it. A crash between
 * the two hands that one movement over again: its idempotency key keeps the ERP right.
 * Works the same embedded and scaled out (it needs the sync server, not NATS).
 */
export interface ExporterOptions {
  readonly api: SyncApi;
  readonly plugin: ErpPlugin;
  readonly cursorFile: string;
  /** How often to look for new movements when caught up. Default 2000. */
  readonly pollMs?: number;
  /**
   * A failing plugin is retried after this long, doubling with each try that moved nothing
   * (at most 60 s). Default 1000.
   */
  readonly retryMs?: number;
  readonly onError?: (error: unknown) => void;
  /** The clock of `status()` (ms). Default `Date.now`. */
  readonly now?: () => number;
}

/** How the export is doing, for `/health` and `/metrics`. */
export interface ExportStatus {
  /** The cookie (seq) everything up to which has been exported. */
  readonly cursor: number;
  /** When the plugin last took a movement (ms since the epoch), or null. */
  readonly exportedAt: number | null;
  /** Since when every try has failed (ms since the epoch), or null while it works. */
  readonly failingSince: number | null;
}

export interface Exporter {
  /** The cookie (seq) everything up to which has been exported. */
  readonly cursor: number;
  status(): ExportStatus;
  /** Resolves once the exporter has caught up with `seq`. */
  caughtUp(seq: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The cursor file's seq: 0 when there is no file yet (a first start, or deleted on purpose to
 * hand everything over again). A file that cannot be read, or holds no seq (edited by hand),
 * stops the start with a message naming it — not a silent export of every movement again.
 */
export async function readCursor(file: string): Promise<number> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw new Error(`cannot read the ERP export cursor ${file}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const seq = text.trim();
  if (!/^\d{1,15}$/.test(seq))
    throw new Error(
      `the ERP export cursor ${file} holds no seq: write the seq of the last movement the ERP has booked (a number), or delete the file to hand every movement over again`,
    );
  return Number(seq);
}

export async function startExporter(o: ExporterOptions): Promise<Exporter> {
  const pollMs = o.pollMs ?? 2000;
  const now = o.now ?? Date.now;
  let exportedAt: number | null = null;
  let failingSince: number | null = null;
  let cursor = await readCursor(o.cursorFile);
  const waiters = new Set<{ seq: number; resolve: () => void }>();
  let running = true;
  let wake: (() => void) | null = null;
  // Stopping wakes a sleep, and one begun after the stop (the loop was in a request) ends at once.
  const stopped = new AbortController();
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (!running) return resolve();
      const t = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  // Durably: a cursor a power cut rolled forward past an export it lost would skip it for good.
  const save = (c: number) => writeFileDurably(o.cursorFile, String(c));

  const loop = (async () => {
    let session: Awaited<ReturnType<SyncApi['session']>> | null = null;
    let failures = 0;
    while (running) {
      const from = cursor;
      try {
        session ??= await o.api.session(`erp-${o.plugin.name}`);
        const page = await session.pull(cursor);
        if ('error' in page)
          throw new Error(
            `the server's log ends before this exporter's cursor ${cursor} (${String(page.error)}): was the database restored from a backup? Check what the ERP has, then set ${o.cursorFile} to the seq to go on from`,
          );
        let whole = true;
        for (const op of page.patch) {
          // Stopping: the rest of the page waits for the next start (from the saved cursor).
          if (!running) {
            whole = false;
            break;
          }
          if (op.op !== 'put' || !op.key?.startsWith('e/')) continue;
          const event = eventEnvelopeSchema.parse(op.value);
          if (!MOVEMENT_TYPES.has(event.type)) continue;
          await o.plugin.exportMovement(movementOf(event), stopped.signal);
          exportedAt = now();
          // After each movement: a failure later in the page does not hand this one over again.
          // The cursor moves once saved: a save that keeps failing (a full disk) is no progress.
          await save(event.seq);
          cursor = event.seq;
        }
        // Past the page's other events only when all of it was handed over.
        if (whole && page.cookie !== cursor) {
          await save(page.cookie);
          cursor = page.cookie;
        }
        failures = 0;
        failingSince = null;
        for (const w of [...waiters])
          if (cursor >= w.seq) {
            waiters.delete(w);
            w.resolve();
          }
        if (!page.hasMore) await sleep(pollMs);
      } catch (error) {
        // Stopped in the middle of a request (it was given up): not a failure of the export.
        if (!running) break;
        // Movements went through before this failure (one the ERP refuses now and then, late
        // in a long page): the backoff starts over, it does not grow while the export moves.
        if (cursor !== from) {
          failures = 0;
          failingSince = null;
        }
        failingSince ??= now();
        o.onError?.(error);
        session = null; // a fresh sign-in after e.g. an expired session
        await sleep(Math.min(60_000, (o.retryMs ?? 1000) * 2 ** failures++));
      }
    }
  })();

  return {
    get cursor() {
      return cursor;
    },
    status: () => ({ cursor, exportedAt, failingSince }),
    caughtUp(seq) {
      if (cursor >= seq) return Promise.resolve();
      return new Promise((resolve) => {
        waiters.add({ seq, resolve });
        wake?.();
      });
    },
    async stop() {
      running = false;
      stopped.abort();
      wake?.();
      await loop;
    },
  };
}
