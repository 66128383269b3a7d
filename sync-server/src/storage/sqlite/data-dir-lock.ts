import path from 'node:path';
import Database from 'better-sqlite3';

/**
 * Who may use a data directory at once, held for a process's lifetime in
 * `$DATA_DIR/floorsync.lock`: an embedded server (no NATS_URL) or a database command that
 * replaces the file (`db restore`, `db relay-from-start`) has it to itself; servers scaled out
 * with NATS share it. Two embedded servers on one file would each miss the other's commits
 * (their pokes stay in their own process), and a restore under a running server would send
 * that server's next commits into the file set aside.
 *
 * The lock is SQLite's own file lock on a small database of its own, in rollback-journal
 * mode: `BEGIN EXCLUSIVE` held open for "alone", a read transaction held open for "shared".
 * The kernel drops it when the process ends however it ends (a kill, a crash, a power cut on
 * restart), so there is never a stale lock to clear by hand, unlike a PID file. As SQLite's
 * locking of the database itself, it holds between processes and containers on one host, not
 * across hosts on a network file system.
 */
export type DataDirUse = 'alone' | 'shared';

export interface DataDirLock {
  readonly file: string;
  /** Gives the directory back (the process's end does the same). */
  release(): void;
}

/** The directory is taken: by whom, as far as the lock can tell. */
export class DataDirInUse extends Error {
  constructor(
    readonly dir: string,
    readonly wanted: DataDirUse,
  ) {
    super(
      wanted === 'alone'
        ? `DATA_DIR ${dir} is in use by another Floorsync server or database command (it holds floorsync.lock)`
        : `DATA_DIR ${dir} is held by a Floorsync server without NATS_URL or by a database restore (floorsync.lock)`,
    );
    this.name = 'DataDirInUse';
  }
}

export const LOCK_FILE = 'floorsync.lock';

/**
 * Takes the directory's lock at once (no waiting) or throws `DataDirInUse`. The directory
 * must exist. Any other failure (no permission, a read-only disk) throws SQLite's error.
 */
export function lockDataDir(dir: string, use: DataDirUse): DataDirLock {
  const file = path.join(dir, LOCK_FILE);
  const db = new Database(file, { timeout: 0 });
  try {
    if (use === 'alone') db.exec('BEGIN EXCLUSIVE');
    else {
      db.exec('BEGIN');
      // A read takes SQLite's SHARED lock, kept until the transaction ends.
      db.prepare('SELECT count(*) FROM sqlite_master').get();
    }
  } catch (e) {
    db.close();
    if ((e as { code?: string }).code === 'SQLITE_BUSY') throw new DataDirInUse(dir, use);
    throw e;
  }
  let held = true;
  return {
    file,
    release() {
      if (!held) return;
      held = false;
      db.close(); // ends the transaction, and with it the lock
    },
  };
}
