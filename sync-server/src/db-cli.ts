import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { MIN_PASSWORD_LENGTH } from '@floorsync/domain';
import { argon2Hasher } from './auth/passwords.js';
import { readConfig } from './config.js';
import { RELAY } from './relay.js';
import { openArangoStorage } from './storage/arango/arango-store.js';
import type { Storage } from './storage/port.js';
import { openSqliteStorage } from './storage/sqlite/sqlite-storage.js';
import type { DataDirLock } from './storage/sqlite/data-dir-lock.js';
import { DataDirInUse, lockDataDir } from './storage/sqlite/data-dir-lock.js';
import {
  DEFAULT_RESTORE_GAP,
  backupDatabase,
  restoreDatabase,
  verifyDatabase,
} from './storage/sqlite/backup.js';

/**
 * `node sync-server/dist/db-cli.js backup <file> | restore <file> [--gap N] [--force] |
 * verify <file> | set-password <username> | relay-from-start` (root: `npm run db -- …`). The database is
 * `$DATA_DIR/floorsync.db`, as the server's. Prints one JSON line with what it did; on failure
 * the reason on stderr and exit code 1 (2: usage).
 */
const USAGE = `usage:
  db backup <new file>                     copy the live database (the server may run)
  db restore <backup file> [--gap N] [--force]
                                           replace the database with a backup (server stopped)
  db verify <file>                         check a backup (or the database) and describe it
  db set-password <username>               a new password, read from the first line of stdin
                                           (a lost admin password; the server may run; also
                                           with STORAGE=arango)
  db relay-from-start [--force]            the outbox relay publishes the whole log again at the
                                           next start (a rebuilt NATS stream; servers stopped;
                                           --force: although a -wal file is there)
The database is $DATA_DIR/floorsync.db (DATA_DIR default ./data), or ArangoDB's (ARANGO_URL and
ARANGO_DATABASE, ARANGO_USERNAME, ARANGO_PASSWORD) for set-password.`;

async function main(argv: readonly string[]): Promise<number> {
  const [command, file, ...rest] = argv;
  const relay = command === 'relay-from-start';
  const usable = relay
    ? file === undefined || (file === '--force' && rest.length === 0)
    : !!file && ['backup', 'restore', 'verify', 'set-password'].includes(command ?? '');
  if (!usable) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  let config: ReturnType<typeof readConfig>;
  try {
    config = readConfig(process.env);
  } catch (e) {
    // One message, as the server gives it: the variables and why, not a stack trace.
    process.stderr.write(`db: ${(e as Error).message}\n`);
    return 2;
  }
  if (config.unusedArangoVariables.length > 0) {
    // The server only warns (it starts on SQLite, the default); a tool that would quietly
    // change a SQLite file where ArangoDB was meant must not.
    process.stderr.write(
      `db: ${config.unusedArangoVariables.join(', ')} set but STORAGE is not: set STORAGE=arango for ArangoDB, or STORAGE=sqlite for $DATA_DIR/floorsync.db\n`,
    );
    return 2;
  }
  if (config.storage !== 'sqlite') {
    if (command === 'set-password' && file !== undefined && rest.length === 0) {
      // Through the storage port, as the servers write: they see it at their next read.
      const settings = config.arango ?? '';
      return passwordCommand(file, () => openArangoStorage(settings));
    }
    process.stderr.write(
      'db commands but set-password are for the SQLite storage; back up ArangoDB with arangodump (docs/ARANGO.md), set its relay back as deploy/nats/README.md says.\n',
    );
    return 2;
  }
  const database = path.join(config.dataDir, 'floorsync.db');
  if (relay) {
    try {
      if (!existsSync(database)) throw new Error(`${database} does not exist`);
      const was = await alone(config.dataDir, () => relayFromStart(database, file === '--force'));
      process.stdout.write(`${JSON.stringify({ relayFrom: 0, was })}\n`);
      return 0;
    } catch (e) {
      process.stderr.write(`db ${command}: ${e instanceof Error ? e.message : String(e)}\n`);
      return 1;
    }
  }
  if (file === undefined) return 2; // only relay-from-start goes without one (above)
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
    if (command === 'set-password') {
      if (rest.length > 0) {
        process.stderr.write(`unknown option ${rest[0]}\n${USAGE}\n`);
        return 2;
      }
      if (!existsSync(database)) throw new Error(`${database} does not exist`);
      return await passwordCommand(file, () =>
        openSqliteStorage({ path: database, checkpointEveryMs: 0 }),
      );
    }
    if (command === 'verify') {
      process.stdout.write(`${JSON.stringify({ verified: verifyDatabase(file) })}\n`);
    } else if (command === 'backup') {
      const r = await backupDatabase(database, path.resolve(file));
      const ms = Math.round(performance.now() - t0);
      process.stdout.write(`${JSON.stringify({ backup: r, from: database, ms })}\n`);
    } else {
      // Run without the server's DATA_DIR, a restore would go into ./data here and the server
      // start again on its old database: with no DATA_DIR, only into a ./data that has one.
      if (!process.env['DATA_DIR']?.trim() && !existsSync(database) && !force)
        throw new Error(
          `DATA_DIR is not set and ${database} does not exist: set DATA_DIR to the server's data directory (or --force to restore into ${config.dataDir})`,
        );
      // A new machine's empty data directory is a place to restore to, too.
      mkdirSync(config.dataDir, { recursive: true });
      const { previous, hole, ...restored } = await alone(config.dataDir, () =>
        restoreDatabase(path.resolve(file), database, { gap, force }),
      );
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

/**
 * Runs `f` with the data directory to itself: refused while any server runs on it, embedded or
 * scaled out, whatever `--force` says (the lock is certain where a `-wal` file is only a sign).
 */
async function alone<T>(dataDir: string, f: () => T | Promise<T>): Promise<T> {
  let lock: DataDirLock;
  try {
    lock = lockDataDir(dataDir, 'alone');
  } catch (e) {
    if (e instanceof DataDirInUse)
      throw new Error(
        `${e.message}: a server is running on it. Stop every server on this data directory first (--force does not override this)`,
        { cause: e },
      );
    throw e;
  }
  try {
    return await f();
  } finally {
    lock.release();
  }
}

/** `set-password`: reads the password, sets it, prints one JSON line (exit code 0, or 1). */
async function passwordCommand(
  username: string,
  open: () => Storage | Promise<Storage>,
): Promise<number> {
  try {
    const r = await setPassword(open, username, await firstLine(process.stdin));
    process.stdout.write(`${JSON.stringify({ passwordSet: r })}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`db set-password: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

/**
 * Sets a user's password (at least `MIN_PASSWORD_LENGTH` characters) and signs them out
 * everywhere, as an admin's new password does in the Users screen. For the one case the screen
 * cannot help: no admin who can sign in. Another process's commit, so a running server sees
 * it at the next sign-in.
 */
async function setPassword(
  open: () => Storage | Promise<Storage>,
  username: string,
  password: string,
): Promise<{ username: string; role: string; active: boolean }> {
  if (password.length < MIN_PASSWORD_LENGTH)
    throw new Error(`the password must have at least ${MIN_PASSWORD_LENGTH} characters`);
  const passwordHash = await argon2Hasher().hash(password);
  const storage = await open();
  try {
    return await storage.write((tx) => {
      const user = tx.userByUsername(username);
      if (!user) throw new Error(`no user ${JSON.stringify(username)}`);
      tx.updateUser(user.id, { passwordHash });
      tx.revokeSessionsOfUser(user.id);
      return { username: user.username, role: user.role, active: user.active };
    });
  } finally {
    await storage.close();
  }
}

/**
 * Sets the outbox relay's position back to the log's start, so that the next server to relay
 * publishes every event again, in order (rebuilding a lost or new NATS stream: deploy/nats).
 * Only with the servers stopped: a running relay would write its position back. The caller
 * holds the data directory alone, so no server of this version runs; a `-wal` file beside the
 * database still means one stopped without closing it (or one that takes no lock runs), as for
 * a restore: `--force` when none runs (starting one to clear it would relay into the emptied
 * stream from the old position).
 */
async function relayFromStart(database: string, force: boolean): Promise<number> {
  if (existsSync(`${database}-wal`) && !force)
    throw new Error(
      `${database}-wal exists: a server is running on this database, or one stopped without closing it. Stop the servers first; if none runs (one was killed), add --force`,
    );
  const storage = openSqliteStorage({ path: database, checkpointEveryMs: 0 });
  try {
    return await storage.write((tx) => {
      const before = tx.progress(RELAY);
      tx.setProgress(RELAY, 0);
      return before;
    });
  } finally {
    await storage.close();
  }
}

/** The first line of a stream (without its line ending), however it arrives. */
async function firstLine(input: NodeJS.ReadableStream): Promise<string> {
  if ('isTTY' in input && input.isTTY) process.stderr.write('New password (one line): ');
  let text = '';
  for await (const chunk of input) {
    text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    const end = text.search(/\r?\n/);
    if (end >= 0) return text.slice(0, end);
  }
  return text;
}

process.exitCode = await main(process.argv.slice(2));
