import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Item, ListDecideView, ListRecord, ListType, Position } from '@floorsync/domain';
import {
  asUserId,
  decideListCommand,
  listCodeKey,
  parseCsv,
  readListsCsv,
} from '@floorsync/domain';
import { PoisonJobError } from '../runner.js';
import type { SyncApi, SyncSession } from '../sync-api.js';
import { decodeText } from '../text.js';

/**
 * Movement lists from the ERP by file drop: the ERP writes CSV files into a folder; each file
 * is read, checked against the master data (`readListsCsv`: nothing from a file with an error
 * is imported) and sent as `createList` mutations through the sync protocol, like any device.
 *
 * Exactly once, without a state file: a file is sent as its own client (`erp-lists-<hash of its
 * bytes>`), mutation k for its k-th list, so a crash after sending and before moving the file
 * away sends the same mutations again and the server answers "already applied". A list's id
 * comes from its type and document number, so the same document in a second file is refused
 * as existing, never created twice.
 *
 * Folder: `<dir>/*.csv` waiting (the ERP should write a file under another name and rename it
 * in, or the drop waits until it has not changed for `settleMs`); `<dir>/processing/` claimed
 * (moved there first, with a time stamp, so the ERP can reuse a name at once); `<dir>/done/`
 * imported, with a `.report.json` beside each; `<dir>/failed/` refused, with a `.errors.txt`
 * saying why. A file is checked whole first — the CSV, and each list against the lists' own
 * rules and the lists that exist — so a refused file creates nothing (unless the rules change
 * between the check and the push: then the report names the list that was refused).
 */
export interface ListDropOptions {
  readonly api: SyncApi;
  readonly dir: string;
  /** The list type of rows without a `type` column. Default `receipt`. */
  readonly defaultType?: ListType;
  /** How often to look for files. Default 2000 ms. */
  readonly pollMs?: number;
  /** A file younger than this may still be being written. Default 1000 ms. */
  readonly settleMs?: number;
  /**
   * A larger file is refused (to `failed/`) without being read: read whole, a runaway export
   * would take the worker's memory at every start. Default 20 MB.
   */
  readonly maxBytes?: number;
  readonly onError?: (error: unknown) => void;
  /** Told of every file handled. */
  readonly onFile?: (report: ListDropReport) => void;
}

export interface ListDropReport {
  readonly file: string;
  readonly outcome: 'imported' | 'failed';
  readonly lists: readonly { readonly code: string; readonly status: string }[];
  readonly errors: readonly string[];
}

export interface ListDrop {
  /** Looks at the folder now (and resolves once what it found is handled). */
  scan(): Promise<void>;
  stop(): Promise<void>;
}

/** A UUID (v8, RFC 9562 "custom") from a hash: the same document always gets the same id. */
export const listIdOf = (type: ListType, code: string): string => {
  const h = createHash('sha256').update(`floorsync-list\u0000${type}\u0000${code}`).digest('hex');
  const variant = ((parseInt(h[16] as string, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

/**
 * The note beside a file refused while it was sent (the rules changed between the check and the
 * push): its errors, then the lists of the file that the server did take, so whoever fixes the
 * file knows they exist. Sending the fixed file again is safe: a list that exists under its
 * document's id stays as it is.
 */
const failureNote = (
  errors: readonly string[],
  taken: readonly { readonly code: string; readonly status: string }[],
): string => {
  const lines = [...errors];
  if (taken.length > 0)
    lines.push(
      '',
      `These ${taken.length} lists of the file were created (or were there already) and stay:`,
      ...taken.map((l) => `  ${l.code} (${l.status})`),
    );
  return `${lines.join('\n')}\n`;
};

/** Mutations per push, and their size at most (the push limit is 5 MB, 5,000,000 bytes). */
const PUSH_BATCH = 100;
const PUSH_BYTES = 3 * 1024 * 1024;

export function startListDrop(o: ListDropOptions): ListDrop {
  const pollMs = o.pollMs ?? 2000;
  const settleMs = o.settleMs ?? 1000;
  const maxBytes = o.maxBytes ?? 20_000_000;
  let running = true;
  let scanning: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;
  const processing = path.join(o.dir, 'processing');
  /** One session per file (its own client group), kept across retries: no login per attempt. */
  const sessions = new Map<string, SyncSession>();
  /**
   * A claimed file the server did not take (not reached, or not now): tried again after a wait
   * that doubles with each failure, up to a minute — not every poll, signing in each time.
   */
  const backoff = new Map<string, { failures: number; next: number }>();

  /** Moves a file out of `processing/` with a note beside it. */
  const finish = async (name: string, to: 'done' | 'failed', note: string, suffix: string) => {
    const folder = path.join(o.dir, to);
    await mkdir(folder, { recursive: true });
    const target = path.join(folder, name);
    await writeFile(`${target}${suffix}`, note);
    await rename(path.join(processing, name), target);
  };

  /** `name` is in `processing/`, its original name after the time stamp. */
  const importFile = async (name: string): Promise<void> => {
    const file = name.replace(/^\d{4}-\d{2}-\d{2}T[\d-]+Z-/, '');
    const fail = async (errors: string[], lists: ListDropReport['lists'] = []) => {
      await finish(name, 'failed', `${errors.join('\n')}\n`, '.errors.txt');
      o.onFile?.({ file, outcome: 'failed', lists, errors });
    };
    const size = (await stat(path.join(processing, name))).size;
    if (size > maxBytes)
      return fail([
        `the file has ${size} bytes; at most ${maxBytes} (split it into several files)`,
      ]);
    const bytes = await readFile(path.join(processing, name));
    const text = decodeText(bytes);
    if (text === null) return fail(['this is not a CSV text file']);
    let table: string[][];
    try {
      // As the server reads uploads: a few MB must not become millions of rows in memory.
      table = parseCsv(text, { maxRows: 200_000, maxColumns: 256 });
    } catch (error) {
      return fail([
        `not a valid CSV file: ${error instanceof Error ? error.message : String(error)}`,
      ]);
    }
    const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 24);
    let session = sessions.get(hash);
    if (!session) sessions.set(hash, (session = await o.api.session(`erp-lists-${hash}`)));
    const [items, positions] = await Promise.all([
      session.get<Item[]>('/api/items'),
      session.get<Position[]>('/api/positions'),
    ]);
    const byId = new Map(items.map((i) => [i.id, i]));
    const bySku = new Map(items.map((i) => [i.sku, i]));
    const byBarcode = new Map(items.flatMap((i) => i.barcodes.map((b) => [b, i] as const)));
    const byCode = new Map(positions.map((p) => [p.code, p]));
    const positionById = new Map(positions.map((p) => [p.id, p]));
    const report = readListsCsv(
      table,
      {
        itemBySku: (sku) => bySku.get(sku),
        itemByBarcode: (b) => byBarcode.get(b),
        positionByCode: (c) => byCode.get(c),
      },
      { defaultType: o.defaultType ?? 'receipt', listIdOf },
    );
    if (report.errors.length > 0)
      return fail(
        report.errors.map((e) => `line ${e.line}${e.column ? `, ${e.column}` : ''}: ${e.message}`),
      );

    // The lists' own rules before anything is sent (tracking, positions, codes taken): one
    // refusal and nothing of the file goes. A list that exists under the id this document
    // always gets was imported before (another file with the same document): it stays as it
    // is, and the file still counts as imported.
    const existing = new Map<string, ListRecord>();
    for (const l of report.lists) {
      const q = `/api/lists?type=${l.args.type}&code=${encodeURIComponent(l.args.code)}`;
      for (const found of await session.get<ListRecord[]>(q))
        existing.set(listCodeKey(found.type, found.code), found);
    }
    const view: ListDecideView = {
      item: (id) => byId.get(id),
      position: (id) => positionById.get(id),
      list: (id) => [...existing.values()].find((x) => x.id === id),
      listByCode: (type, code) => existing.get(listCodeKey(type, code)),
      line: () => undefined,
    };
    const already = new Set<number>();
    const refusals: string[] = [];
    report.lists.forEach((l, k) => {
      const same = existing.get(listCodeKey(l.args.type, l.args.code));
      if (same?.id === l.args.listId) {
        already.add(k);
        return;
      }
      const d = decideListCommand(
        view,
        { name: 'createList', args: l.args },
        { actor: { userId: asUserId('erp'), role: 'supervisor' } },
      );
      if (d.kind === 'rejected') refusals.push(`line ${l.line}, list ${l.args.code}: ${d.message}`);
    });
    if (refusals.length > 0) return fail(refusals);

    // List k is mutation k of this file's client, whatever happened before: a re-sent file
    // is answered "duplicate". Batches stay well under the push size limit.
    const outcomes: { code: string; status: string }[] = [];
    const errors: string[] = [];
    const taken: { code: string; status: string }[] = [];
    let k = 0;
    while (k < report.lists.length) {
      const batch: { id: number; name: string; args: unknown }[] = [];
      let bytes = 0;
      while (k < report.lists.length && batch.length < PUSH_BATCH) {
        const args = (report.lists[k] as { args: unknown }).args;
        const size = JSON.stringify(args).length;
        if (batch.length > 0 && bytes + size > PUSH_BYTES) break;
        batch.push({ id: k + 1, name: 'createList', args });
        bytes += size;
        k++;
      }
      const res = await session.push(batch);
      for (const r of res.results as readonly {
        id: number;
        status: string;
        error?: { code: string; message: string };
      }[]) {
        const l = report.lists[r.id - 1];
        if (!l) continue;
        const existed = already.has(r.id - 1);
        const ok = !r.error && (r.status === 'applied' || r.status === 'duplicate');
        const outcome = { code: l.args.code, status: existed ? 'existing' : r.status };
        outcomes.push(outcome);
        if (ok || existed) taken.push(outcome);
        // A refusal now (or, re-sent, the refusal the first attempt got) is an error, unless
        // the list was there already.
        if (!ok && !existed)
          errors.push(`line ${l.line}, list ${l.args.code}: ${r.error?.message ?? r.status}`);
      }
    }
    const result: ListDropReport = {
      file,
      outcome: errors.length === 0 ? 'imported' : 'failed',
      lists: outcomes,
      errors,
    };
    if (result.outcome === 'imported')
      await finish(name, 'done', `${JSON.stringify(result, null, 2)}\n`, '.report.json');
    else await finish(name, 'failed', failureNote(errors, taken), '.errors.txt');
    o.onFile?.(result);
  };

  /** A failure the same file cannot get past: it goes to `failed/`, the folder moves on. */
  const permanent = (error: unknown): boolean =>
    error instanceof PoisonJobError ||
    ['EACCES', 'EPERM', 'ENAMETOOLONG', 'EISDIR'].includes(
      (error as NodeJS.ErrnoException | null)?.code ?? '',
    );

  const scanOnce = async (): Promise<void> => {
    await mkdir(processing, { recursive: true });
    // Claim new files first: renamed into processing/, so a file the ERP writes again under the
    // same name meanwhile is a new file, not this one changed under our feet.
    // An unreadable folder is a failed scan (said by the tick), not an empty one.
    const waiting = (await readdir(o.dir, { withFileTypes: true }))
      .filter((d) => d.isFile() && d.name.toLowerCase().endsWith('.csv'))
      .map((d) => d.name)
      .sort();
    for (const name of waiting) {
      const info = await stat(path.join(o.dir, name)).catch(() => null);
      if (!info || Date.now() - info.mtimeMs < settleMs) continue;
      // Written a moment ago with an old time stamp (a copy that keeps it): wait for its size
      // to stay the same for a moment.
      await new Promise((r) => setTimeout(r, 50));
      const again = await stat(path.join(o.dir, name)).catch(() => null);
      if (!again || again.size !== info.size) continue;
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      await rename(path.join(o.dir, name), path.join(processing, `${stamp}-${name}`)).catch(
        (error: unknown) => o.onError?.(error),
      );
    }
    const claimed = (await readdir(processing))
      .filter((n) => n.toLowerCase().endsWith('.csv'))
      .sort();
    for (const name of claimed) {
      if (!running) return;
      const waitFor = backoff.get(name);
      if (waitFor && Date.now() < waitFor.next) continue;
      try {
        await importFile(name);
        backoff.delete(name);
      } catch (error) {
        if (permanent(error)) {
          backoff.delete(name);
          const message = error instanceof Error ? error.message : String(error);
          await finish(name, 'failed', `${message}\n`, '.errors.txt').catch(() => undefined);
          o.onFile?.({ file: name, outcome: 'failed', lists: [], errors: [message] });
        } else {
          // The server did not answer: the file stays claimed, tried again after its wait; the
          // others still go now. A session may have been the trouble: new ones next time.
          sessions.clear();
          const failures = (waitFor?.failures ?? 0) + 1;
          const delay = Math.min(60_000, pollMs * 2 ** failures);
          backoff.set(name, { failures, next: Date.now() + delay });
          o.onError?.(error);
        }
      }
    }
  };

  // Scans run one after another; a scan asked for while one runs looks again after it, so
  // it sees files that arrived meanwhile.
  let chain: Promise<void> = Promise.resolve();
  const scan = (): Promise<void> => {
    const next = chain.then(scanOnce, scanOnce);
    chain = next;
    scanning = next;
    return next;
  };

  // A scan that fails as a whole (the folder cannot be created or read: a share that went
  // away, a permission) is said and tried again at the next tick — never a rejection nobody
  // handles, which would end the process (the embedded server's too).
  const tick = () => {
    if (!running) return;
    void scan()
      .catch((error: unknown) => o.onError?.(error))
      .finally(() => {
        if (running) timer = setTimeout(tick, pollMs);
      });
  };
  tick(); // its first scan creates the folders

  return {
    scan,
    async stop() {
      running = false;
      if (timer) clearTimeout(timer);
      await scanning?.catch(() => undefined); // said by the tick already
    },
  };
}
