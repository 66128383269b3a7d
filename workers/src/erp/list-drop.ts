import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Item, ListType, Position } from '@floorsync/domain';
import { parseCsv, readListsCsv } from '@floorsync/domain';
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
 * in, or the drop waits until it has not changed for `settleMs`); `<dir>/done/` imported, with
 * a `.report.json` beside each; `<dir>/failed/` refused, with a `.errors.txt` saying why.
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

/** Mutations per push: lists can be long, a push has a size limit. */
const PUSH_BATCH = 20;

export function startListDrop(o: ListDropOptions): ListDrop {
  const pollMs = o.pollMs ?? 2000;
  const settleMs = o.settleMs ?? 1000;
  let running = true;
  let scanning: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;

  const move = async (file: string, to: 'done' | 'failed', note: string, suffix: string) => {
    const folder = path.join(o.dir, to);
    await mkdir(folder, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const target = path.join(folder, `${stamp}-${file}`);
    await writeFile(`${target}${suffix}`, note);
    await rename(path.join(o.dir, file), target);
  };

  const importFile = async (file: string): Promise<void> => {
    const bytes = await readFile(path.join(o.dir, file));
    const fail = async (errors: string[]) => {
      await move(file, 'failed', `${errors.join('\n')}\n`, '.errors.txt');
      o.onFile?.({ file, outcome: 'failed', lists: [], errors });
    };
    const text = decodeText(bytes);
    if (text === null) return fail(['this is not a CSV text file']);
    let table: string[][];
    try {
      table = parseCsv(text);
    } catch (error) {
      return fail([
        `not a valid CSV file: ${error instanceof Error ? error.message : String(error)}`,
      ]);
    }
    const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 24);
    const session: SyncSession = await o.api.session(`erp-lists-${hash}`);
    const [items, positions] = await Promise.all([
      session.get<Item[]>('/api/items'),
      session.get<Position[]>('/api/positions'),
    ]);
    const bySku = new Map(items.map((i) => [i.sku, i]));
    const byBarcode = new Map(items.flatMap((i) => i.barcodes.map((b) => [b, i] as const)));
    const byCode = new Map(positions.map((p) => [p.code, p]));
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

    const outcomes: { code: string; status: string }[] = [];
    const errors: string[] = [];
    for (let i = 0; i < report.lists.length; i += PUSH_BATCH) {
      const batch = report.lists.slice(i, i + PUSH_BATCH);
      const res = await session.push(
        batch.map((l, k) => ({ id: i + k + 1, name: 'createList', args: l.args })),
      );
      for (const [k, r] of res.results.entries()) {
        const l = batch[k];
        if (!l) continue;
        const result = r as { status: string; error?: { code: string; message: string } };
        outcomes.push({ code: l.args.code, status: result.status });
        if (result.status === 'rejected')
          errors.push(`line ${l.line}, list ${l.args.code}: ${result.error?.message ?? 'refused'}`);
      }
    }
    const result: ListDropReport = {
      file,
      outcome: errors.length === 0 ? 'imported' : 'failed',
      lists: outcomes,
      errors,
    };
    // Sent: what the server refused (a list that exists) is in the report, the rest is in.
    await move(
      file,
      result.outcome === 'imported' ? 'done' : 'failed',
      result.outcome === 'imported'
        ? `${JSON.stringify(result, null, 2)}\n`
        : `${errors.join('\n')}\n`,
      result.outcome === 'imported' ? '.report.json' : '.errors.txt',
    );
    o.onFile?.(result);
  };

  const scanOnce = async (): Promise<void> => {
    const names = (await readdir(o.dir, { withFileTypes: true }).catch(() => []))
      .filter((d) => d.isFile() && d.name.toLowerCase().endsWith('.csv'))
      .map((d) => d.name)
      .sort();
    for (const name of names) {
      if (!running) return;
      const info = await stat(path.join(o.dir, name)).catch(() => null);
      if (!info || Date.now() - info.mtimeMs < settleMs) continue;
      try {
        await importFile(name);
      } catch (error) {
        // The server did not answer, or the file vanished: left where it is, tried again.
        o.onError?.(error);
        return;
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

  const tick = () => {
    if (!running) return;
    void scan().finally(() => {
      if (running) timer = setTimeout(tick, pollMs);
    });
  };
  void mkdir(o.dir, { recursive: true }).then(tick, (error: unknown) => o.onError?.(error));

  return {
    scan,
    async stop() {
      running = false;
      if (timer) clearTimeout(timer);
      await scanning;
    },
  };
}
