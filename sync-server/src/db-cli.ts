import path from 'node:path';
import { readConfig } from './config.js';
import {
  DEFAULT_RESTORE_GAP,
  backupDatabase,
  restoreDatabase,
  verifyDatabase,
} from './storage/sqlite/backup.js';

/**
 * `node sync-server/dist/db-cli.js backup <file> | restore <file> [--gap N] [--force] | verify <file>`
 * (root: `npm run db -- …`). The database is `$DATA_DIR/floorsync.db`, as the server's. Prints
 * one JSON line with what it did; on failure the reason on stderr and exit code 1 (2: usage).
 */
const USAGE = `usage:
  db backup <new file>                     copy the live database (the server may run)
  db restore <backup file> [--gap N] [--force]
                                           replace the database with a backup (server stopped)
  db verify <file>                         check a backup (or the database) and describe it
The database is $DATA_DIR/floorsync.db (DATA_DIR default ./data).`;

async function main(argv: readonly string[]): Promise<number> {
  const [command, file, ...rest] = argv;
  if (!command || !file || !['backup', 'restore', 'verify'].includes(command)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const config = readConfig(process.env);
  if (config.storage !== 'sqlite') {
    process.stderr.write(
      'db backup/restore is for the SQLite storage; back up ArangoDB with arangodump (docs/ARANGO.md).\n',
    );
    return 2;
  }
  const database = path.join(config.dataDir, 'floorsync.db');
  let gap = DEFAULT_RESTORE_GAP;
  let force = false;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '--force') force = true;
    else if (a === '--gap') gap = Number(rest[++i]);
    else {
      process.stderr.write(`unknown option ${a}\n${USAGE}\n`);
      return 2;
    }
  }
  const t0 = performance.now();
  try {
    if (command === 'verify') {
      process.stdout.write(`${JSON.stringify({ verified: verifyDatabase(file) })}\n`);
    } else if (command === 'backup') {
      const r = await backupDatabase(database, path.resolve(file));
      const ms = Math.round(performance.now() - t0);
      process.stdout.write(`${JSON.stringify({ backup: r, from: database, ms })}\n`);
    } else {
      const { previous, hole, ...restored } = restoreDatabase(path.resolve(file), database, {
        gap,
        force,
      });
      process.stdout.write(
        `${JSON.stringify({
          restored,
          from: path.resolve(file),
          previous,
          nextSeq: hole[1] + 1,
        })}\n`,
      );
    }
    return 0;
  } catch (e) {
    process.stderr.write(`db ${command}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
