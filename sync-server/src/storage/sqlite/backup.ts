import fs from 'node:fs';
import Database from 'better-sqlite3';
import type { SeqHole } from '../port.js';
import { SEQ_HOLES_KEY, parseSeqHoles } from './seq-holes.js';

/**
 * Backup and restore of the SQLite database, for the person running the server.
 *
 * - **Backup** is online: SQLite's backup API reads a consistent copy while the server goes on
 *   committing (WAL included, which copying the file alone misses). The copy is checked
 *   (`integrity_check`, the log readable) before it takes its final name, and a backup never
 *   overwrites a file: nothing half-written is ever left under the name asked for.
 * - **Restore** puts a checked backup in place of the database, with the server stopped. The
 *   lost history — every commit after the backup — had used seqs after the backup's last one.
 *   Issuing those seqs again would make them mean other events: a handheld whose cookie is one
 *   of them would pull on from the middle of another history and keep the lost events as if
 *   they were real, and the relay would take the NATS stream's lost events for the new ones.
 *   So the restore moves the next seq past a hole (`gap` seqs, a billion by default: more than
 *   any floor commits between two backups) and records it; a pull whose cookie is in the hole
 *   gets `ClientStateNotFound` (the device starts over from a snapshot and sends its queue
 *   again). The database it replaces is kept beside it, never deleted.
 */

export interface DatabaseReport {
  readonly file: string;
  readonly bytes: number;
  /** The last event's seq. */
  readonly head: number;
  readonly events: number;
  /** The newest schema migration applied. */
  readonly schema: number;
  readonly holes: readonly SeqHole[];
}

/** Opens `file` read-only and checks it is a whole Floorsync database; throws what is wrong. */
export function verifyDatabase(file: string): DatabaseReport {
  if (!fs.existsSync(file)) throw new Error(`${file} does not exist`);
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (e) {
    throw new Error(`${file} cannot be opened as SQLite: ${(e as Error).message}`, { cause: e });
  }
  try {
    let integrity: unknown;
    try {
      integrity = db.pragma('integrity_check', { simple: true });
    } catch (e) {
      throw new Error(`${file} is not a SQLite database: ${(e as Error).message}`, { cause: e });
    }
    if (integrity !== 'ok')
      throw new Error(`${file} failed SQLite's integrity check: ${String(integrity)}`);
    const tables = new Set(
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[],
    );
    for (const t of ['migrations', 'events', 'meta', 'clients'])
      if (!tables.has(t)) throw new Error(`${file} is not a Floorsync database (no table ${t})`);
    const log = db
      .prepare('SELECT COALESCE(MAX(seq), 0) AS head, COUNT(*) AS n FROM events')
      .get() as {
      head: number;
      n: number;
    };
    const schema = db
      .prepare('SELECT COALESCE(MAX(version), 0) FROM migrations')
      .pluck()
      .get() as number;
    const raw = db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(SEQ_HOLES_KEY);
    return {
      file,
      bytes: fs.statSync(file).size,
      head: log.head,
      events: log.n,
      schema,
      holes: typeof raw === 'string' ? parseSeqHoles(raw) : [],
    };
  } finally {
    db.close();
  }
}

/** Removes a file and its SQLite companions, ignoring those that are not there. */
function removeDatabaseFiles(file: string): void {
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`])
    fs.rmSync(f, { force: true });
}

/**
 * Copies the live database at `source` to `target` (a new file), online, and checks the copy.
 * Resolves with the copy's report.
 */
export async function backupDatabase(source: string, target: string): Promise<DatabaseReport> {
  if (!fs.existsSync(source)) throw new Error(`no database at ${source} (is DATA_DIR right?)`);
  if (fs.existsSync(target)) throw new Error(`${target} exists: a backup never overwrites a file`);
  const partial = `${target}.partial`;
  removeDatabaseFiles(partial);
  const db = new Database(source, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    await db.backup(partial);
  } catch (e) {
    removeDatabaseFiles(partial);
    throw new Error(`the backup of ${source} failed: ${(e as Error).message}`, {
      cause: e,
    });
  } finally {
    db.close();
  }
  try {
    // A standalone file, out of WAL mode: one file to copy around, and reading it (verify,
    // restore) leaves no -wal/-shm beside it. The server puts WAL back on open.
    const copy = new Database(partial, { fileMustExist: true });
    try {
      copy.pragma('journal_mode = DELETE');
    } finally {
      copy.close();
    }
    verifyDatabase(partial);
    fs.renameSync(partial, target);
  } catch (e) {
    removeDatabaseFiles(partial);
    throw e;
  }
  return verifyDatabase(target);
}

export interface RestoreOptions {
  /** Seqs skipped after the last one issued (by the backup or the database replaced). Default 1e9. */
  readonly gap?: number;
  /** Restore although `<database>-wal` exists (a server crashed and cannot be started). */
  readonly force?: boolean;
  readonly now?: () => Date;
}

export interface RestoreReport extends DatabaseReport {
  /** Where the database that was replaced now is (null: there was none). */
  readonly previous: string | null;
  /** The hole this restore added: the next event's seq is `hole[1] + 1`. */
  readonly hole: SeqHole;
}

export const DEFAULT_RESTORE_GAP = 1_000_000_000;
/** Events travel under 12-digit keys (`e/000000001043`): no seq may reach 10^12. */
const MAX_SEQ = 999_999_999_999;

/** A read that may fail on a damaged or foreign file: its fallback then. */
function tryRead<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}

/**
 * The highest seq the database ever issued or skipped (its AUTOINCREMENT record, its last
 * event, the end of its holes), and its holes.
 */
function issuedBy(db: Database.Database): { issued: number; holes: SeqHole[] } {
  const seq = tryRead(
    () =>
      (db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'").pluck().get() as
        number | undefined) ?? 0,
    0,
  );
  const head = tryRead(
    () => db.prepare('SELECT COALESCE(MAX(seq), 0) FROM events').pluck().get() as number,
    0,
  );
  const raw = tryRead(
    () => db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(SEQ_HOLES_KEY),
    undefined,
  );
  const holes = typeof raw === 'string' ? parseSeqHoles(raw) : [];
  return { issued: Math.max(seq, head, ...holes.map(([, to]) => to)), holes };
}

/** `issuedBy` of the database at `file`; null when there is no readable database there. */
function issuedByFile(file: string): { issued: number; holes: SeqHole[] } | null {
  if (!fs.existsSync(file)) return null;
  const db = tryRead(() => new Database(file, { fileMustExist: true }), null);
  if (!db) return null; // not a database any more (a dead disk's remains): the backup counts
  try {
    return tryRead(() => issuedBy(db), null);
  } finally {
    db.close();
  }
}

/**
 * Puts `backup` in place of the database `target`, with the server stopped. See the module's
 * comment for the seq hole.
 */
export function restoreDatabase(
  backup: string,
  target: string,
  o: RestoreOptions = {},
): RestoreReport {
  const gap = o.gap ?? DEFAULT_RESTORE_GAP;
  if (!Number.isSafeInteger(gap) || gap < 1)
    throw new Error(`the gap must be a positive integer, not ${gap}`);
  verifyDatabase(backup);
  if (fs.existsSync(`${target}-wal`) && !o.force)
    throw new Error(
      `${target}-wal exists: a server is running on this database, or one stopped without closing it. ` +
        'Stop the server and try again; if it crashed and cannot start, restore with --force.',
    );
  // Restoring over a database that came from a restore itself (or restoring the same backup
  // twice): the seqs it issued after its own hole must not be issued again either.
  const replaced = issuedByFile(target);
  const staging = `${target}.restoring`;
  removeDatabaseFiles(staging);
  let hole: SeqHole;
  try {
    fs.copyFileSync(backup, staging);
    const db = new Database(staging, { fileMustExist: true });
    try {
      hole = db.transaction(() => {
        // The highest seq ever issued (AUTOINCREMENT's record), not only the last one kept.
        const own = issuedBy(db);
        const issued = Math.max(own.issued, replaced?.issued ?? 0);
        if (issued + gap > MAX_SEQ)
          throw new Error(
            `a gap of ${gap} after seq ${issued} passes the largest seq (${MAX_SEQ}): choose a smaller --gap`,
          );
        // From the backup's last seq: everything after it is the lost history, whatever
        // the replaced database went on to issue.
        const h: SeqHole = [own.issued + 1, issued + gap];
        // Every range skipped before, in the backup or in the database replaced, stays refused.
        const known = new Map(
          [...own.holes, ...(replaced?.holes ?? [])].map((x) => [`${x[0]}-${x[1]}`, x] as const),
        );
        const holes = [...known.values(), h].sort((a, b) => a[0] - b[0]);
        db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(
          SEQ_HOLES_KEY,
          JSON.stringify(holes),
        );
        db.prepare("DELETE FROM sqlite_sequence WHERE name = 'events'").run();
        db.prepare("INSERT INTO sqlite_sequence (name, seq) VALUES ('events', ?)").run(h[1]);
        return h;
      })();
      db.pragma('journal_mode = DELETE'); // one file; the server puts WAL back on open
    } finally {
      db.close();
    }
    verifyDatabase(staging);
  } catch (e) {
    removeDatabaseFiles(staging);
    throw e;
  }
  // The swap: the replaced database keeps existing under a new name (hard links), its WAL
  // leaves the name — a WAL beside the restored file would be replayed into it — and the
  // restored file takes the name in one rename.
  let previous: string | null = null;
  if (fs.existsSync(target)) {
    const stamp = (o.now?.() ?? new Date()).toISOString().replace(/[:.]/g, '-');
    previous = `${target}.before-restore-${stamp}`;
    for (const suffix of ['', '-wal', '-shm'])
      if (fs.existsSync(`${target}${suffix}`))
        fs.linkSync(`${target}${suffix}`, `${previous}${suffix}`);
    fs.rmSync(`${target}-wal`, { force: true });
    fs.rmSync(`${target}-shm`, { force: true });
  }
  fs.renameSync(staging, target);
  return { ...verifyDatabase(target), previous, hole };
}
