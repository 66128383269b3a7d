import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../log.js';
import type { DatabaseReport } from './backup.js';
import { backupDatabase } from './backup.js';

/**
 * Backups on a timer (`BACKUP_DIR`, `BACKUP_EVERY_HOURS`, `BACKUP_KEEP`): what a cron line
 * running `npm run db -- backup` would do, for an installation without one. Each backup is
 * `floorsync-<UTC time>.db` in the folder (checked before it is named, as every backup), and
 * only the newest `keep` of those stay. A failure is logged and tried again at the next turn;
 * it never stops the server. The first backup comes a minute after start when the newest one
 * in the folder is older than the interval (or there is none), else when it falls due.
 *
 * At start the folder is tried at once (made if missing, a file written and removed), so that
 * a folder that cannot take a backup is said in the start's log, not a day later, and is
 * failing from then on in `status()` (`/health`, `/metrics`) until a backup succeeds. The
 * last success starts as the newest backup already in the folder: a restart does not look
 * like a server that never backed up.
 */
export interface ScheduledBackupsOptions {
  /** The live database. */
  readonly source: string;
  readonly dir: string;
  readonly everyMs: number;
  readonly keep: number;
  readonly log: Logger;
  readonly now?: () => Date;
  /** Delay of a first backup that is overdue (default one minute). */
  readonly firstDelayMs?: number;
}

export interface BackupStatus {
  /** When the newest backup was made (epoch ms): this process's, or the folder's newest at start. */
  readonly lastSuccessMs: number | null;
  /** Since when backups fail (epoch ms: the first failure since the last success), or null. */
  readonly failingSince: number | null;
}

export interface ScheduledBackups {
  /** Makes a backup now (the timer's turn), prunes, and resolves with it (null: it failed). */
  runNow(): Promise<DatabaseReport | null>;
  /** When the newest backup was made (epoch ms), null when there is none. */
  readonly lastSuccessMs: number | null;
  status(): BackupStatus;
  stop(): Promise<void>;
}

const NAME = /^floorsync-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z\.db$/;

/** The backups in `dir` this schedule made, oldest first (the names sort by time). */
export function scheduledBackupFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => NAME.test(f))
    .sort();
}

export function startScheduledBackups(o: ScheduledBackupsOptions): ScheduledBackups {
  const now = o.now ?? (() => new Date());
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<DatabaseReport | null> | null = null;
  let stopped = false;
  let failingSince: number | null = null;
  const failed = (at: number, message: string, error: unknown) => {
    failingSince ??= at;
    o.log.log('error', message, {
      dir: o.dir,
      error: error instanceof Error ? error.message : String(error),
    });
  };

  const runOnce = async (): Promise<DatabaseReport | null> => {
    const t0 = performance.now();
    const at = now();
    const file = path.join(o.dir, `floorsync-${at.toISOString().replace(/[:.]/g, '-')}.db`);
    try {
      fs.mkdirSync(o.dir, { recursive: true });
      const r = await backupDatabase(o.source, file);
      lastSuccessMs = at.getTime();
      failingSince = null;
      const pruned = scheduledBackupFiles(o.dir).slice(0, -o.keep);
      for (const f of pruned) fs.rmSync(path.join(o.dir, f), { force: true });
      o.log.log('info', 'backup made', {
        file,
        head: r.head,
        bytes: r.bytes,
        ms: Math.round(performance.now() - t0),
        pruned: pruned.length,
      });
      return r;
    } catch (error) {
      failed(at.getTime(), 'backup failed; trying again at the next turn', error);
      return null;
    }
  };

  const run = (): Promise<DatabaseReport | null> => {
    running ??= runOnce().finally(() => {
      running = null;
    });
    return running;
  };

  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      void run().then(() => schedule(o.everyMs));
    }, ms);
    timer.unref();
  };

  // A folder that cannot take a backup is not a reason not to start (the floor goes on, and a
  // backup disk can come back): it is said now, and the timer keeps trying.
  const newestMs = (() => {
    try {
      const newest = scheduledBackupFiles(o.dir).at(-1);
      return newest ? fs.statSync(path.join(o.dir, newest)).mtimeMs : null;
    } catch {
      return null;
    }
  })();
  let lastSuccessMs: number | null = newestMs === null ? null : Math.round(newestMs);
  let usable = true;
  try {
    fs.mkdirSync(o.dir, { recursive: true });
    const probe = path.join(o.dir, `.floorsync-probe-${process.pid}`);
    fs.writeFileSync(probe, 'floorsync checks it can write here\n');
    fs.rmSync(probe, { force: true });
  } catch (error) {
    usable = false;
    failed(now().getTime(), 'backup folder unusable: backups fail until it is fixed', error);
  }
  const firstDelay = o.firstDelayMs ?? 60_000;
  // A folder that failed its check is tried again soon (once fixed, backups and the health
  // say so within the interval, not when the next backup would have been due).
  schedule(
    newestMs === null || !usable
      ? firstDelay
      : Math.max(firstDelay, newestMs + o.everyMs - now().getTime()),
  );

  return {
    runNow: run,
    get lastSuccessMs() {
      return lastSuccessMs;
    },
    status: () => ({ lastSuccessMs, failingSince }),
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running; // a backup under way ends before the database closes
    },
  };
}
