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

export interface ScheduledBackups {
  /** Makes a backup now (the timer's turn), prunes, and resolves with it (null: it failed). */
  runNow(): Promise<DatabaseReport | null>;
  /** When the last backup of this process succeeded (epoch ms), null before one did. */
  readonly lastSuccessMs: number | null;
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
  let lastSuccessMs: number | null = null;

  const runOnce = async (): Promise<DatabaseReport | null> => {
    const t0 = performance.now();
    const at = now();
    const file = path.join(o.dir, `floorsync-${at.toISOString().replace(/[:.]/g, '-')}.db`);
    try {
      fs.mkdirSync(o.dir, { recursive: true });
      const r = await backupDatabase(o.source, file);
      lastSuccessMs = at.getTime();
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
      o.log.log('error', 'backup failed; trying again at the next turn', {
        dir: o.dir,
        error: error instanceof Error ? error.message : String(error),
      });
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

  // An unreadable folder is not a reason not to start: the first backup says what is wrong.
  const newestMs = (() => {
    try {
      const newest = scheduledBackupFiles(o.dir).at(-1);
      return newest ? fs.statSync(path.join(o.dir, newest)).mtimeMs : null;
    } catch {
      return null;
    }
  })();
  const firstDelay = o.firstDelayMs ?? 60_000;
  schedule(
    newestMs === null ? firstDelay : Math.max(firstDelay, newestMs + o.everyMs - now().getTime()),
  );

  return {
    runNow: run,
    get lastSuccessMs() {
      return lastSuccessMs;
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running; // a backup under way ends before the database closes
    },
  };
}
