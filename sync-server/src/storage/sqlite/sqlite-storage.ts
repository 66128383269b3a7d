import fs from 'node:fs';
import Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import type {
  ConflictId,
  ConflictKind,
  ConflictRecord,
  CountChange,
  JobProblem,
  CountPosition,
  CountRecord,
  CountSession,
  CountSessionEntry,
  CountSessionId,
  EventId,
  Item,
  ItemId,
  EventTrace,
  GenealogyLink,
  JobId,
  ListChange,
  ListId,
  ListLine,
  ListRecord,
  ListType,
  Lot,
  LotInfo,
  Movement,
  Position,
  PositionId,
  ProductionChange,
  ProductionJob,
  RecordedMutation,
  Role,
  Serial,
  StateChange,
  StockLine,
} from '@floorsync/domain';
import {
  VIRTUAL_POSITIONS,
  countLineKey,
  countPositionEntryKey,
  countSessionKey,
  isLiveCountSession,
  roundQty,
  qtyIsZero,
} from '@floorsync/domain';
import { conflictKey, itemKey, jobKey, listKey, lotKey, positionKey, stockKey } from '../keys.js';
import { listValue } from '../lists.js';
import { isLiveJob } from '../production.js';
import type {
  ConflictFilter,
  ConflictRow,
  CountSessionQuery,
  DeviceRow,
  JobRow,
  ListQuery,
  NewEvent,
  SeqHole,
  SessionRow,
  TicketRow,
  SnapshotEntry,
  SnapshotQuery,
  Storage,
  StockQuery,
  StoredEvent,
  UserRow,
  WriteTx,
} from '../port.js';
import { StorageUnavailableError } from '../port.js';
import type { Outcome } from '../group-commit.js';
import { groupCommitStorage } from '../group-commit.js';
import type { Checkpointer } from './checkpointer.js';
import { startCheckpointer } from './checkpointer.js';
import { MIGRATIONS } from './schema.js';
import { SEQ_HOLES_KEY, parseSeqHoles } from './seq-holes.js';

/**
 * The embedded default: one SQLite file through better-sqlite3.
 *
 * - WAL; a write resolves only once its commit is on disk, so a push response (sent after
 *   `write()` resolves) never acknowledges something a power cut loses. The fsync of the WAL
 *   does not block the event loop: commits run with `synchronous = NORMAL` (no fsync of their
 *   own) and the WAL is then fdatasync'ed on libuv's thread pool; a batch's writes resolve
 *   when a sync started after its commit has finished (one sync serves every batch committed
 *   meanwhile). Reads may see a commit a moment before it is durable; pulls await
 *   `durable()` before handing out a cookie. SQLite's own FULL mode would fsync inside
 *   `COMMIT` on the main thread: measured, a sixth of a single-scan push's time.
 * - Group commit: `write()` calls that arrive while the event loop is busy are queued and
 *   run together in one `BEGIN IMMEDIATE … COMMIT`, each inside its own savepoint.
 * - better-sqlite3 is synchronous, so a read or a write transaction runs without interleaving:
 *   `read()` is trivially a consistent snapshot, and seqs become visible in order.
 * - Several processes may share the file (WAL; writes serialise on SQLite's lock, waiting up
 *   to the busy timeout): what this connection caches is dropped when `data_version` shows
 *   another connection committed. One process is the embedded default; a large site's
 *   scale-out uses ArangoDB.
 */
export interface SqliteOptions {
  /** Path of the database file, or `:memory:` for tests that need no durability. */
  readonly path: string;
  /**
   * Checkpoint the WAL from a worker thread every this many ms instead of inside commits
   * (see `checkpointer.ts`). Default 1000; 0 keeps SQLite's automatic checkpoints.
   */
  readonly checkpointEveryMs?: number;
  /** Told when something degrades without failing (the checkpoint worker stopped). */
  readonly onWarning?: (message: string) => void;
  /** Makes the WAL durable (default: `fdatasync` on the thread pool). Tests replace it. */
  readonly syncWal?: (walFd: number) => Promise<void>;
  /** Told how long each sync of the WAL took (ms), for `/metrics`. */
  readonly onSync?: (ms: number) => void;
}

const fdatasync = (fd: number): Promise<void> =>
  new Promise((resolve, reject) => fs.fdatasync(fd, (e) => (e ? reject(e) : resolve())));

/** SQLite's automatic checkpoint threshold, in pages, when the checkpoint worker is off. */
const AUTO_CHECKPOINT_PAGES = 4000;

type Row = Record<string, unknown>;
const str = (v: unknown): string => v as string;
const num = (v: unknown): number => v as number;
const json = <T>(v: unknown): T => JSON.parse(v as string) as T;
const nullable = (v: unknown): string | null =>
  v === null || v === undefined || v === '' ? null : (v as string);
const jobOf = (r: Row): JobRow => ({
  id: str(r['id']),
  kind: str(r['kind']),
  status: str(r['status']) as JobRow['status'],
  createdBy: str(r['created_by']),
  createdAt: str(r['created_at']),
  fileName: nullable(r['file_name']),
  rows: num(r['rows']),
  total: num(r['total']),
  errors: json<JobRow['errors']>(r['errors']),
  startedAt: nullable(r['started_at']),
  error: nullable(r['error']),
  ...(r['problem'] !== null && r['problem'] !== undefined
    ? { problem: json<JobProblem>(r['problem']) }
    : {}),
});

const TRANSIENT = new Set([
  'SQLITE_BUSY',
  'SQLITE_FULL',
  'SQLITE_IOERR',
  'SQLITE_CANTOPEN',
  'SQLITE_READONLY',
  'SQLITE_LOCKED',
  'SQLITE_NOMEM',
]);
const isTransient = (e: unknown): boolean =>
  typeof e === 'object' &&
  e !== null &&
  typeof (e as { code?: unknown }).code === 'string' &&
  [...TRANSIENT].some((c) => (e as { code: string }).code.startsWith(c));

const toUnavailable = (e: unknown): Error =>
  isTransient(e)
    ? new StorageUnavailableError(`storage unavailable: ${(e as Error).message}`, { cause: e })
    : e instanceof Error
      ? e
      : new Error(String(e));

export function openSqliteStorage(options: SqliteOptions): Storage {
  const onDisk = options.path !== ':memory:' && options.path !== '';
  const db = new Database(options.path);
  db.pragma('journal_mode = WAL');
  // On disk, durability comes from the WAL sync below, off the event loop.
  db.pragma(onDisk ? 'synchronous = NORMAL' : 'synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = OFF');
  // Working set in memory; checkpoints less often (each one fsyncs the main file).
  db.pragma('cache_size = -65536');
  db.pragma('temp_store = MEMORY');
  db.pragma(`wal_autocheckpoint = ${AUTO_CHECKPOINT_PAGES}`);
  migrate(db);
  const tx = new SqliteTx(db);

  const every = options.checkpointEveryMs ?? 1000;
  let checkpointer: Checkpointer | null = null;
  if (every > 0 && onDisk) {
    db.pragma('wal_autocheckpoint = 0');
    checkpointer = startCheckpointer({
      path: options.path,
      intervalMs: every,
      onFailure(error) {
        if (db.open) db.pragma(`wal_autocheckpoint = ${AUTO_CHECKPOINT_PAGES}`);
        options.onWarning?.(`${error.message}; checkpoints run inside commits again`);
      },
    });
  }

  // The WAL exists once something committed: opened at the first sync.
  let walFd: number | null = null;
  const syncWal = options.syncWal ?? fdatasync;
  const sync = async () => {
    try {
      const t0 = performance.now();
      await syncWal((walFd ??= fs.openSync(`${options.path}-wal`, 'r')));
      options.onSync?.(performance.now() - t0);
    } catch (error) {
      throw new StorageUnavailableError(
        `the log could not be synced to disk: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  };

  const runNested = db.transaction((fn: () => unknown) => fn());
  const snapshot = db.prepare('SELECT 1 FROM migrations LIMIT 1');
  let readBegun = false;
  return groupCommitStorage({
    tx,
    runBatch(writes) {
      const outcomes: Outcome[] = [];
      try {
        db.exec('BEGIN IMMEDIATE');
        tx.noticeOtherWriters();
        for (const fn of writes) {
          tx.beginScope();
          try {
            // A nested better-sqlite3 transaction is a savepoint: a throw rolls back only this write.
            outcomes.push({ ok: true, value: runNested(() => fn(tx)) });
            tx.endScope(true);
          } catch (error) {
            tx.endScope(false);
            tx.resetCaches(); // this write's savepoint was rolled back
            outcomes.push({ ok: false, error: toUnavailable(error) });
          }
        }
        tx.flushStock(); // the batch's stock lines, once each
        db.exec('COMMIT');
        tx.endBatch();
      } catch (error) {
        tx.endBatch();
        tx.resetCaches();
        if (db.inTransaction) db.exec('ROLLBACK');
        throw error;
      }
      return outcomes;
    },
    toError: toUnavailable,
    // A read is one snapshot even while other processes commit to the file: a read
    // transaction, begun by a first table read, then the check for their commits (which
    // covers everything this snapshot can see).
    beforeRead: () => {
      // Reads are synchronous and never nest, nor run inside a write batch: if one ever did,
      // it must not end the transaction it found.
      if (db.inTransaction) throw new Error('a storage read inside another read or a write');
      db.exec('BEGIN');
      readBegun = true;
      snapshot.get();
      return tx.noticeOtherWriters();
    },
    afterRead: () => {
      if (!readBegun) return;
      readBegun = false;
      db.exec('COMMIT');
    },
    ...(onDisk ? { sync } : {}),
    async close() {
      await checkpointer?.stop();
      if (walFd !== null) fs.closeSync(walFd);
      db.close();
    },
  });
}

function migrate(db: Database.Database): void {
  db.exec(
    'CREATE TABLE IF NOT EXISTS migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
  );
  const applied = new Set(db.prepare('SELECT version FROM migrations').pluck().all() as number[]);
  for (const m of MIGRATIONS) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      if (m.version === 1) {
        const insert = db.prepare(
          `INSERT INTO positions (id, skey, code, parent_id, kind, fixed, disposable, retired, virtual, name, seq)
           VALUES (?, ?, ?, NULL, ?, 1, 0, 0, 1, NULL, 0)`,
        );
        for (const p of VIRTUAL_POSITIONS) insert.run(p.id, positionKey(p.id), p.code, p.kind);
      }
      if (m.version === 9) {
        // The jobs kept before jobs were snapshot entries: their key (URI-encoded, which SQL
        // cannot do) and whether they are live, from the record as stored.
        const update = db.prepare('UPDATE production_jobs SET skey = ?, live = ? WHERE id = ?');
        const rows = db.prepare('SELECT id, job FROM production_jobs').all() as Row[];
        for (const r of rows) {
          const id = str(r['id']);
          update.run(jobKey(id), isLiveJob(json<ProductionJob>(r['job'])) ? 1 : 0, id);
        }
      }
      db.prepare('INSERT INTO migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        m.version,
        m.name,
        new Date().toISOString(),
      );
    })();
  }
}

// ─── Row mapping ────────────────────────────────────────────────────────────────────────────

const itemOf = (r: Row): Item => ({
  id: str(r['id']) as ItemId,
  sku: str(r['sku']),
  name: str(r['name']),
  tracking: str(r['tracking']) as Item['tracking'],
  barcodes: json<string[]>(r['barcodes']),
  uom: str(r['uom']),
});

const positionOf = (r: Row): Position => ({
  id: str(r['id']) as PositionId,
  code: str(r['code']),
  parentId: nullable(r['parent_id']) as PositionId | null,
  kind: str(r['kind']) as Position['kind'],
  fixed: r['fixed'] === 1,
  disposable: r['disposable'] === 1,
  retired: r['retired'] === 1,
  virtual: r['virtual'] === 1,
  ...(r['name'] !== null ? { name: str(r['name']) } : {}),
});

const lineOf = (r: Row): StockLine => ({
  itemId: str(r['item_id']) as ItemId,
  positionId: str(r['position_id']) as PositionId,
  lot: nullable(r['lot']) as Lot | null,
  serial: nullable(r['serial']) as Serial | null,
  quantity: num(r['quantity']),
});

const movementOf = (r: Row): Movement => ({
  id: str(r['id']) as EventId,
  type: str(r['type']) as Movement['type'],
  itemId: str(r['item_id']) as ItemId,
  from: str(r['from_id']) as PositionId,
  to: str(r['to_id']) as PositionId,
  quantity: num(r['quantity']),
  lot: nullable(r['lot']) as Lot | null,
  serial: nullable(r['serial']) as Serial | null,
  ...(r['reason'] !== null ? { reason: r['reason'] as NonNullable<Movement['reason']> } : {}),
  reversedQuantity: num(r['reversed_quantity']),
  reversedBy: nullable(r['reversed_by']) as EventId | null,
});

const eventOf = (r: Row): StoredEvent => ({
  seq: num(r['seq']),
  id: str(r['id']),
  type: str(r['type']),
  data: json<unknown>(r['data']),
  meta: json<StoredEvent['meta']>(r['meta']),
});

const conflictValue = (c: ConflictRow) => ({
  id: c.id,
  kind: c.kind,
  status: c.status,
  message: c.message,
  openedAt: c.openedAt,
  mutation: c.mutation,
  detail: c.detail,
});

const userOf = (r: Row): UserRow => ({
  id: str(r['id']),
  username: str(r['username']),
  name: str(r['name']),
  role: str(r['role']) as Role,
  active: r['active'] === 1,
  passwordHash: str(r['password_hash']),
  createdAt: str(r['created_at']),
});

const deviceOf = (r: Row): DeviceRow => ({
  clientGroupID: str(r['client_group_id']),
  userId: nullable(r['user_id']),
  createdAt: str(r['created_at']),
  lastPushAt: nullable(r['last_push_at']),
  lastPullAt: nullable(r['last_pull_at']),
  revokedAt: nullable(r['revoked_at']),
  pending: (r['pending'] as number | null) ?? null,
  appVersion: nullable(r['app_version']),
  secretHash: nullable(r['secret_hash']),
});

/**
 * The clients of a group whose mutations have events in (after, upTo]: asked about the seq
 * range of one pull page, so a rowid range scan of at most a page of rows. No index on the
 * group is needed, and every append saves maintaining one (migration 3 dropped it).
 */
export const LAST_MUTATION_ID_CHANGES = `SELECT client_id, MAX(mutation_id) AS m FROM events
  WHERE seq > ? AND seq <= ? AND client_group_id = ? GROUP BY client_id`;

/**
 * Every queued job, oldest first: the partial index `jobs_queued` (migration 14), whose `WHERE`
 * this must repeat word for word (a parameter in its place could not use it).
 */
export const QUEUED_JOBS_SQL = "SELECT * FROM jobs WHERE status = 'queued' ORDER BY created_at, id";

/** A stock line in the write-back cache of a batch (see `SqliteTx.stockLines`). */
interface StockEntry {
  readonly itemId: string;
  readonly positionId: string;
  readonly lot: string;
  readonly serial: string;
  quantity: number;
  seq: number;
  /** Changed since last written. */
  dirty: boolean;
  /** Changed in this batch at all. */
  changed: boolean;
}

// ─── The transaction view ───────────────────────────────────────────────────────────────────

/** Reads and writes on the one connection. Statements are prepared once. */
class SqliteTx implements WriteTx {
  private readonly cache = new Map<string, Statement>();
  private readonly pluckCache = new Map<string, Statement>();
  private savepoints = 0;
  /**
   * Items and positions change rarely and are read by nearly every decision: cached by id,
   * invalidated by the writes that change them, and dropped whole on any rollback.
   */
  private readonly itemsById = new Map<string, Item | undefined>();
  private readonly positionsById = new Map<string, Position | undefined>();
  /** (device, user) pairs known to be recorded: never deleted, so a hit needs no read. */
  private readonly deviceUsers = new Set<string>();

  /**
   * Stock lines touched by the write batch in progress, with their quantity as of now: a
   * write-back cache. A line's quantity is read once per batch, changed in memory by each
   * `addStock` (with the domain's own rounding, `roundQty`, as the in-memory twin does) and
   * written once, when the batch commits, however many scans of the batch touched it. Queries
   * on the stock table flush it first. Valid for one batch: the batch holds SQLite's write
   * lock, so no other connection changes a line meanwhile.
   */
  private readonly stockLines = new Map<string, StockEntry>();
  /**
   * One frame per open write or savepoint: the lines it changed, as they were before (null:
   * not cached then). A failure restores them; a success hands them to the enclosing frame.
   */
  private readonly stockUndo: Map<string, StockEntry | null>[] = [];

  /**
   * SQLite's `data_version` changes when another connection (another server process sharing
   * the file, an operator's `sqlite3` shell) commits: then nothing cached here can be trusted.
   * Our own commits leave it as it is.
   */
  private dataVersion: number | null = null;
  noticeOtherWriters(): boolean {
    const v = (this.versionStatement ??= this.db.prepare('PRAGMA data_version').pluck()).get();
    if (v === this.dataVersion) return false;
    const first = this.dataVersion === null;
    this.dataVersion = v as number;
    if (first) return false;
    this.resetCaches();
    return true;
  }
  private versionStatement: Statement | null = null;

  resetCaches(): void {
    this.holes = null;
    this.itemsById.clear();
    this.positionsById.clear();
    this.deviceUsers.clear();
  }

  /** Starts a write or savepoint scope for the stock cache. */
  beginScope(): void {
    this.stockUndo.push(new Map());
  }
  /** Ends the innermost scope: kept on success, undone on failure. */
  endScope(ok: boolean): void {
    const frame = this.stockUndo.pop();
    if (!frame) return;
    const parent = this.stockUndo.at(-1);
    if (ok) {
      if (parent) for (const [k, v] of frame) if (!parent.has(k)) parent.set(k, v);
      return;
    }
    for (const [k, before] of frame) {
      if (before) this.stockLines.set(k, before);
      else this.stockLines.delete(k);
    }
    // A flush inside the failed scope was rolled back with it: write every changed line again
    // (absolute quantities, so writing twice is harmless).
    for (const e of this.stockLines.values()) if (e.changed) e.dirty = true;
  }
  /** Writes the changed lines (before any stock query, and before the batch commits). */
  flushStock(): void {
    for (const [key, e] of this.stockLines) {
      if (!e.dirty) continue;
      this.run(
        `INSERT INTO stock (skey, item_id, position_id, lot, serial, quantity, seq)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (skey) DO UPDATE SET quantity = excluded.quantity, seq = excluded.seq`,
        key,
        e.itemId,
        e.positionId,
        e.lot,
        e.serial,
        e.quantity,
        e.seq,
      );
      e.dirty = false;
    }
  }
  /** The batch ended (committed or rolled back): nothing cached survives it. */
  endBatch(): void {
    this.stockLines.clear();
    this.stockUndo.length = 0;
  }

  constructor(private readonly db: Database.Database) {}

  private st(sql: string): Statement {
    let s = this.cache.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.cache.set(sql, s);
    }
    return s;
  }
  private get(sql: string, ...args: unknown[]): Row | undefined {
    return this.st(sql).get(...args) as Row | undefined;
  }
  private all(sql: string, ...args: unknown[]): Row[] {
    return this.st(sql).all(...args) as Row[];
  }
  private run(sql: string, ...args: unknown[]): void {
    this.st(sql).run(...args);
  }

  // InventoryView
  item(id: ItemId) {
    if (this.itemsById.has(id)) return this.itemsById.get(id);
    const r = this.get('SELECT * FROM items WHERE id = ?', id);
    const item = r && itemOf(r);
    if (this.itemsById.size > 50_000) this.itemsById.clear();
    this.itemsById.set(id, item);
    return item;
  }
  itemBySku(sku: string) {
    const r = this.get('SELECT * FROM items WHERE sku = ?', sku);
    return r && itemOf(r);
  }
  itemByBarcode(barcode: string) {
    const r = this.get(
      'SELECT i.* FROM barcodes b JOIN items i ON i.id = b.item_id WHERE b.code = ?',
      barcode,
    );
    return r && itemOf(r);
  }
  position(id: PositionId) {
    if (this.positionsById.has(id)) return this.positionsById.get(id);
    const r = this.get('SELECT * FROM positions WHERE id = ?', id);
    const position = r && positionOf(r);
    if (this.positionsById.size > 50_000) this.positionsById.clear();
    this.positionsById.set(id, position);
    return position;
  }
  positionByCode(code: string) {
    const r = this.get('SELECT * FROM positions WHERE code = ?', code);
    return r && positionOf(r);
  }
  children(id: PositionId) {
    return this.all('SELECT * FROM positions WHERE parent_id = ?', id).map(positionOf);
  }
  quantity(itemId: ItemId, positionId: PositionId, lot: Lot | null, serial: Serial | null) {
    const key = stockKey(itemId, positionId, lot, serial);
    const cached = this.stockLines.get(key);
    if (cached) return cached.quantity;
    const r = this.get('SELECT quantity FROM stock WHERE skey = ?', key);
    return r ? num(r['quantity']) : 0;
  }
  linesAt(positionId: PositionId) {
    this.flushStock();
    return this.all('SELECT * FROM stock WHERE position_id = ? AND quantity <> 0', positionId).map(
      lineOf,
    );
  }
  linesOfItem(itemId: ItemId) {
    this.flushStock();
    return this.all('SELECT * FROM stock WHERE item_id = ? AND quantity <> 0', itemId).map(lineOf);
  }
  linesWithSerial(serial: Serial) {
    this.flushStock();
    return this.all(
      "SELECT * FROM stock WHERE serial = ? AND serial <> '' AND quantity <> 0",
      serial,
    ).map(lineOf);
  }
  lotsWithCode(lot: Lot): LotInfo[] {
    return this.all('SELECT item_id, lot, expires_on FROM lots WHERE lot = ?', lot).map((r) => ({
      itemId: str(r['item_id']) as ItemId,
      lot: str(r['lot']) as Lot,
      expiresOn: nullable(r['expires_on']),
    }));
  }
  movement(id: EventId) {
    const r = this.get('SELECT * FROM movements WHERE id = ?', id);
    return r && movementOf(r);
  }
  conflict(id: ConflictId): ConflictRecord | undefined {
    const r = this.get('SELECT id, kind, status, mutation, detail FROM conflicts WHERE id = ?', id);
    return (
      r && {
        id: str(r['id']) as ConflictId,
        kind: str(r['kind']) as ConflictKind,
        status: str(r['status']) as 'open' | 'resolved',
        mutation: r['mutation'] === null ? null : json<RecordedMutation>(r['mutation']),
        detail: json<Record<string, unknown>>(r['detail']),
      }
    );
  }

  // Log and sync bookkeeping
  private holes: SeqHole[] | null = null;
  seqHoles(): readonly SeqHole[] {
    if (this.holes) return this.holes;
    const raw = this.get('SELECT value FROM meta WHERE key = ?', SEQ_HOLES_KEY)?.['value'];
    this.holes = typeof raw === 'string' ? parseSeqHoles(raw) : [];
    return this.holes;
  }
  head() {
    return num(this.get('SELECT COALESCE(MAX(seq), 0) AS head FROM events')?.['head'] ?? 0);
  }
  eventsAfter(after: number, limit: number) {
    return this.all(
      'SELECT seq, id, type, data, meta FROM events WHERE seq > ? ORDER BY seq LIMIT ?',
      after,
      limit,
    ).map(eventOf);
  }
  eventsOfMutation(clientID: string, mutationID: number) {
    return this.all(
      'SELECT seq, id, type, data, meta FROM events WHERE client_id = ? AND mutation_id = ? ORDER BY seq',
      clientID,
      mutationID,
    ).map(eventOf);
  }
  lastMutationID(clientID: string) {
    const r = this.get(
      'SELECT client_group_id, last_mutation_id FROM clients WHERE client_id = ?',
      clientID,
    );
    return (
      r && { clientGroupID: str(r['client_group_id']), lastMutationID: num(r['last_mutation_id']) }
    );
  }
  lastMutationIDChanges(clientGroupID: string, after: number, upTo: number) {
    const rows = this.all(LAST_MUTATION_ID_CHANGES, after, upTo, clientGroupID);
    return Object.fromEntries(rows.map((r) => [str(r['client_id']), num(r['m'])]));
  }
  clientsOfGroup(clientGroupID: string) {
    const rows = this.all(
      'SELECT client_id, last_mutation_id FROM clients WHERE client_group_id = ?',
      clientGroupID,
    );
    return Object.fromEntries(rows.map((r) => [str(r['client_id']), num(r['last_mutation_id'])]));
  }

  snapshotEntries(opts: SnapshotQuery): SnapshotEntry[] {
    this.flushStock();
    const user = opts.conflictsOf ?? null;
    const tables: {
      table: string;
      value: (r: Row) => unknown;
      exists: string;
      params?: unknown[];
    }[] = [
      {
        table: 'conflicts',
        value: (r) => conflictValue(this.conflictOf(r)),
        exists: "status = 'open' AND (? IS NULL OR user_id = ?)",
        params: [user, user],
      },
      // Counting: count-line < count-position < count-session, all before item.
      { table: 'count_records', value: (r) => json<CountRecord>(r['record']), exists: 'live = 1' },
      {
        table: 'count_positions',
        value: (r) => json<CountPosition>(r['position']),
        exists: 'live = 1',
      },
      {
        table: 'count_sessions',
        value: (r) => this.countSessionEntry(json<CountSession>(r['session'])),
        exists: 'live = 1',
      },
      { table: 'items', value: itemOf, exists: '1' },
      // Jobs created or running; completed ones are tombstones (isLiveJob, kept in live).
      {
        table: 'production_jobs',
        value: (r) => json<ProductionJob>(r['job']),
        exists: 'live = 1',
      },
      {
        table: 'lists',
        value: (r) => {
          const record = json<ListRecord>(r['record']);
          return listValue(record, this.lines(record.id));
        },
        exists: "status <> 'closed'",
      },
      {
        table: 'lots',
        value: (r) => ({
          itemId: r['item_id'],
          lot: r['lot'],
          expiresOn: nullable(r['expires_on']),
        }),
        exists: '1',
      },
      { table: 'positions', value: positionOf, exists: 'virtual = 0' },
      { table: 'stock', value: lineOf, exists: 'quantity <> 0' },
    ];
    const out: SnapshotEntry[] = [];
    if ('changedAfter' in opts) {
      // The tables are in key order (above): the first `limit` of them all are these.
      for (const t of tables) {
        const left = (opts.limit ?? Number.MAX_SAFE_INTEGER) - out.length;
        if (left <= 0) break;
        for (const r of this.all(
          `SELECT *, (${t.exists}) AS live FROM ${t.table} WHERE seq > ? AND skey <= ? ORDER BY skey LIMIT ?`,
          ...(t.params ?? []),
          opts.changedAfter,
          opts.upToKey,
          left,
        )) {
          out.push({
            key: str(r['skey']),
            value: r['live'] === 1 ? t.value(r) : null,
            seq: num(r['seq']),
          });
        }
      }
      return out;
    }
    for (const t of tables) {
      const left = opts.limit - out.length;
      if (left <= 0) break;
      const rows = this.all(
        `SELECT * FROM ${t.table} WHERE skey > ? AND ${t.exists} ORDER BY skey LIMIT ?`,
        opts.afterKey ?? '',
        ...(t.params ?? []),
        left,
      );
      for (const r of rows)
        out.push({ key: str(r['skey']), value: t.value(r), seq: num(r['seq']) });
    }
    return out;
  }

  stock(q: StockQuery) {
    this.flushStock();
    const where = ['quantity <> 0'];
    const args: unknown[] = [];
    if (q.itemId !== undefined) {
      where.push('item_id = ?');
      args.push(q.itemId);
    }
    if (q.positionId !== undefined) {
      where.push('position_id = ?');
      args.push(q.positionId);
    }
    if (q.lot !== undefined) {
      where.push('lot = ?');
      args.push(q.lot);
    }
    if (q.serial !== undefined) {
      where.push('serial = ?');
      args.push(q.serial);
    }
    args.push(q.limit ?? 10_000);
    return this.all(
      `SELECT * FROM stock WHERE ${where.join(' AND ')} ORDER BY skey LIMIT ?`,
      ...args,
    ).map(lineOf);
  }
  items() {
    return this.all('SELECT * FROM items ORDER BY sku').map(itemOf);
  }
  positions() {
    return this.all('SELECT * FROM positions WHERE virtual = 0 ORDER BY code').map(positionOf);
  }
  private conflictOf(r: Row): ConflictRow {
    const links = this.all(
      'SELECT seq, client_id, mutation_id FROM conflict_links WHERE conflict_id = ? ORDER BY seq',
      r['id'],
    );
    const mutations: { clientID: string; mutationID: number }[] = [];
    for (const l of links) {
      const m = { clientID: str(l['client_id']), mutationID: num(l['mutation_id']) };
      if (!mutations.some((x) => x.clientID === m.clientID && x.mutationID === m.mutationID))
        mutations.push(m);
    }
    return {
      id: str(r['id']),
      kind: str(r['kind']) as ConflictKind,
      key: str(r['key']),
      status: str(r['status']) as 'open' | 'resolved',
      message: str(r['message']),
      openedAt: str(r['opened_at']),
      openedSeq: num(r['opened_seq']),
      mutation: r['mutation'] === null ? null : json<RecordedMutation>(r['mutation']),
      userId: nullable(r['user_id']),
      detail: json<Record<string, unknown>>(r['detail']),
      seqs: links.map((l) => num(l['seq'])),
      mutations,
      resolution:
        r['resolution'] === null
          ? null
          : json<NonNullable<ConflictRow['resolution']>>(r['resolution']),
    };
  }
  conflicts(filter: ConflictFilter & { readonly limit?: number }) {
    const [where, args] = conflictWhere(filter);
    const limit =
      filter.limit === undefined ? '' : ` LIMIT ${Math.max(0, Math.floor(filter.limit))}`;
    const sql = `SELECT * FROM conflicts ${where} ORDER BY opened_seq DESC${limit}`;
    return this.all(sql, ...args).map((r) => this.conflictOf(r));
  }
  conflictCount(filter: ConflictFilter) {
    const [where, args] = conflictWhere(filter);
    return num(this.get(`SELECT COUNT(*) AS n FROM conflicts ${where}`, ...args)?.['n']);
  }
  conflictRow(id: string) {
    const r = this.get('SELECT * FROM conflicts WHERE id = ?', id);
    return r && this.conflictOf(r);
  }

  userByUsername(username: string) {
    const r = this.get('SELECT * FROM users WHERE username = ?', username);
    return r && userOf(r);
  }
  userById(id: string) {
    const r = this.get('SELECT * FROM users WHERE id = ?', id);
    return r && userOf(r);
  }
  users() {
    return this.all('SELECT * FROM users ORDER BY username').map(userOf);
  }
  session(tokenHash: string): SessionRow | undefined {
    const r = this.get('SELECT * FROM sessions WHERE token_hash = ?', tokenHash);
    return (
      r && {
        tokenHash: str(r['token_hash']),
        userId: str(r['user_id']),
        clientGroupID: nullable(r['client_group_id']),
        createdAt: str(r['created_at']),
        expiresAt: str(r['expires_at']),
        revoked: r['revoked'] === 1,
      }
    );
  }
  ticket(ticketHash: string) {
    const r = this.get('SELECT * FROM tickets WHERE ticket_hash = ?', ticketHash);
    return (
      r && {
        userId: str(r['user_id']),
        clientGroupID: nullable(r['client_group_id']),
        expiresAt: str(r['expires_at']),
        ...(r['session_hash'] != null ? { sessionHash: str(r['session_hash']) } : {}),
      }
    );
  }
  device(clientGroupID: string) {
    const r = this.get('SELECT * FROM devices WHERE client_group_id = ?', clientGroupID);
    return r && deviceOf(r);
  }
  devices() {
    return this.all(
      'SELECT * FROM devices ORDER BY COALESCE(last_push_at, last_pull_at, created_at) DESC',
    ).map(deviceOf);
  }
  userOnDevice(clientGroupID: string, userId: string) {
    const key = `${clientGroupID}\u0000${userId}`;
    if (this.deviceUsers.has(key)) return true;
    const known =
      this.get(
        'SELECT 1 AS x FROM device_users WHERE client_group_id = ? AND user_id = ?',
        clientGroupID,
        userId,
      ) !== undefined;
    if (known) this.deviceUsers.add(key);
    return known;
  }

  // Writes
  savepoint<T>(fn: () => T): T {
    const name = `sp${++this.savepoints}`;
    this.st(`SAVEPOINT ${name}`).run();
    this.beginScope();
    try {
      const result = fn();
      this.st(`RELEASE ${name}`).run();
      this.endScope(true);
      return result;
    } catch (error) {
      this.endScope(false);
      this.resetCaches();
      this.st(`ROLLBACK TO ${name}`).run();
      this.st(`RELEASE ${name}`).run();
      throw error;
    } finally {
      this.savepoints--;
    }
  }
  appendEvent(e: NewEvent): number {
    // seq is the rowid (INTEGER PRIMARY KEY AUTOINCREMENT): never reused, strictly increasing.
    const info = this.st(
      `INSERT INTO events (id, type, data, meta, client_group_id, client_id, mutation_id)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      e.id,
      e.type,
      JSON.stringify(e.data),
      JSON.stringify(e.meta),
      e.clientGroupID,
      e.meta.clientID,
      e.meta.mutationID,
    );
    return Number(info.lastInsertRowid);
  }
  applyChange(change: StateChange, seq: number): void {
    switch (change.op) {
      case 'putItem': {
        const i = change.item;
        this.itemsById.delete(i.id);
        this.run('DELETE FROM barcodes WHERE item_id = ?', i.id);
        this.run(
          `INSERT INTO items (id, skey, sku, name, tracking, barcodes, uom, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET sku = excluded.sku, name = excluded.name, tracking = excluded.tracking,
             barcodes = excluded.barcodes, uom = excluded.uom, seq = excluded.seq`,
          i.id,
          itemKey(i.id),
          i.sku,
          i.name,
          i.tracking,
          JSON.stringify(i.barcodes),
          i.uom,
          seq,
        );
        for (const b of i.barcodes)
          this.run('INSERT OR REPLACE INTO barcodes (code, item_id) VALUES (?, ?)', b, i.id);
        return;
      }
      case 'putPosition': {
        const p = change.position;
        this.positionsById.delete(p.id);
        this.run(
          `INSERT INTO positions (id, skey, code, parent_id, kind, fixed, disposable, retired, virtual, name, seq)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET code = excluded.code, parent_id = excluded.parent_id, kind = excluded.kind,
             fixed = excluded.fixed, disposable = excluded.disposable, retired = excluded.retired, name = excluded.name, seq = excluded.seq`,
          p.id,
          positionKey(p.id),
          p.code,
          p.parentId,
          p.kind,
          p.fixed ? 1 : 0,
          p.disposable ? 1 : 0,
          p.retired ? 1 : 0,
          p.virtual ? 1 : 0,
          p.name ?? null,
          seq,
        );
        return;
      }
      case 'setParent':
        this.positionsById.delete(change.positionId);
        this.run(
          'UPDATE positions SET parent_id = ?, seq = ? WHERE id = ?',
          change.parentId,
          seq,
          change.positionId,
        );
        return;
      case 'retire':
        this.positionsById.delete(change.positionId);
        this.run('UPDATE positions SET retired = 1, seq = ? WHERE id = ?', seq, change.positionId);
        return;
      case 'addStock': {
        const key = stockKey(change.itemId, change.positionId, change.lot, change.serial);
        let e = this.stockLines.get(key);
        const frame = this.stockUndo.at(-1);
        if (frame && !frame.has(key)) frame.set(key, e ? { ...e } : null);
        if (!e) {
          const r = this.get('SELECT quantity FROM stock WHERE skey = ?', key);
          e = {
            itemId: change.itemId,
            positionId: change.positionId,
            lot: change.lot ?? '',
            serial: change.serial ?? '',
            quantity: r ? num(r['quantity']) : 0,
            seq,
            dirty: false,
            changed: false,
          };
          this.stockLines.set(key, e);
        }
        // The domain's arithmetic (the in-memory twin's too): rounded to 6 decimals, and 0
        // within the tolerance (the row stays as a tombstone for snapshot paging).
        const q = roundQty(e.quantity + change.delta);
        e.quantity = qtyIsZero(q) ? 0 : q;
        e.seq = seq;
        e.dirty = true;
        e.changed = true;
        if (!frame) this.flushStock(); // outside a write scope (none today): write through
        return;
      }
      case 'putLot': {
        const l = change.lot;
        this.run(
          `INSERT INTO lots (skey, item_id, lot, expires_on, seq) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (skey) DO UPDATE SET expires_on = COALESCE(excluded.expires_on, lots.expires_on),
             seq = CASE WHEN excluded.expires_on IS NOT NULL AND excluded.expires_on IS NOT lots.expires_on THEN excluded.seq ELSE lots.seq END`,
          lotKey(l.itemId, l.lot),
          l.itemId,
          l.lot,
          l.expiresOn,
          seq,
        );
        return;
      }
      case 'putMovement': {
        const m = change.movement;
        this.run(
          `INSERT INTO movements (id, seq, type, item_id, from_id, to_id, quantity, lot, serial, reason, reversed_quantity, reversed_by)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          m.id,
          seq,
          m.type,
          m.itemId,
          m.from,
          m.to,
          m.quantity,
          m.lot ?? '',
          m.serial ?? '',
          m.reason ?? null,
          m.reversedQuantity,
          m.reversedBy,
        );
        return;
      }
      case 'markReversed': {
        const r = this.get(
          'SELECT reversed_quantity FROM movements WHERE id = ?',
          change.movementId,
        );
        if (!r) return;
        this.run(
          'UPDATE movements SET reversed_quantity = ?, reversed_by = ? WHERE id = ?',
          roundQty(num(r['reversed_quantity']) + change.quantity),
          change.reversalId,
          change.movementId,
        );
        return;
      }
      default: {
        const unreachable: never = change;
        throw new Error(`unknown state change ${JSON.stringify(unreachable)}`);
      }
    }
  }
  setLastMutationID(clientID: string, clientGroupID: string, id: number, seq: number) {
    this.run(
      `INSERT INTO clients (client_id, client_group_id, last_mutation_id, seq) VALUES (?, ?, ?, ?)
       ON CONFLICT (client_id) DO UPDATE SET last_mutation_id = excluded.last_mutation_id, seq = excluded.seq`,
      clientID,
      clientGroupID,
      id,
      seq,
    );
  }
  openConflict(c: Parameters<WriteTx['openConflict']>[0]) {
    this.run(
      `INSERT INTO conflicts (id, skey, kind, key, status, message, opened_at, opened_seq, mutation, user_id, detail, resolution, seq)
       VALUES (?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, ?, NULL, ?)`,
      c.id,
      conflictKey(c.id),
      c.kind,
      c.key,
      c.message,
      c.openedAt,
      c.openedSeq,
      c.mutation === null ? null : JSON.stringify(c.mutation),
      c.userId,
      JSON.stringify(c.detail),
      c.openedSeq,
    );
  }
  openConflictByKey(key: string) {
    const r = this.get(
      "SELECT id FROM conflicts WHERE key = ? AND status = 'open' ORDER BY opened_seq DESC LIMIT 1",
      key,
    );
    return r ? str(r['id']) : undefined;
  }
  linkConflict(conflictId: string, link: { seq: number; clientID: string; mutationID: number }) {
    this.run(
      'INSERT OR IGNORE INTO conflict_links (conflict_id, seq, client_id, mutation_id) VALUES (?, ?, ?, ?)',
      conflictId,
      link.seq,
      link.clientID,
      link.mutationID,
    );
  }
  resolveConflict(conflictId: string, resolution: NonNullable<ConflictRow['resolution']>) {
    this.run(
      "UPDATE conflicts SET status = 'resolved', resolution = ?, seq = ? WHERE id = ?",
      JSON.stringify(resolution),
      resolution.seq,
      conflictId,
    );
  }
  competingOutflows(itemId: ItemId, positionId: PositionId, lot: string | null) {
    return this.all(
      `SELECT m.seq AS seq, e.client_id AS client_id, e.mutation_id AS mutation_id FROM movements m JOIN events e ON e.seq = m.seq
       WHERE m.item_id = ? AND m.from_id = ? AND m.lot = ?
         AND m.seq > COALESCE((SELECT MAX(seq) FROM movements WHERE item_id = ? AND to_id = ? AND lot = ?), 0)
       ORDER BY m.seq LIMIT 50`,
      itemId,
      positionId,
      lot ?? '',
      itemId,
      positionId,
      lot ?? '',
    ).map((r) => ({
      seq: num(r['seq']),
      clientID: str(r['client_id']),
      mutationID: num(r['mutation_id']),
    }));
  }

  createUser(u: UserRow) {
    this.run(
      'INSERT INTO users (id, username, name, role, active, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      u.id,
      u.username,
      u.name,
      u.role,
      u.active ? 1 : 0,
      u.passwordHash,
      u.createdAt,
    );
  }
  updateUser(
    id: string,
    patch: Partial<Pick<UserRow, 'name' | 'role' | 'active' | 'passwordHash'>>,
  ) {
    if (patch.name !== undefined)
      this.run('UPDATE users SET name = ? WHERE id = ?', patch.name, id);
    if (patch.role !== undefined)
      this.run('UPDATE users SET role = ? WHERE id = ?', patch.role, id);
    if (patch.active !== undefined)
      this.run('UPDATE users SET active = ? WHERE id = ?', patch.active ? 1 : 0, id);
    if (patch.passwordHash !== undefined)
      this.run('UPDATE users SET password_hash = ? WHERE id = ?', patch.passwordHash, id);
  }
  createSession(s: SessionRow) {
    this.run(
      'INSERT INTO sessions (token_hash, user_id, client_group_id, created_at, expires_at, revoked) VALUES (?, ?, ?, ?, ?, ?)',
      s.tokenHash,
      s.userId,
      s.clientGroupID,
      s.createdAt,
      s.expiresAt,
      s.revoked ? 1 : 0,
    );
  }
  bindSession(tokenHash: string, clientGroupID: string) {
    this.run(
      'UPDATE sessions SET client_group_id = ? WHERE token_hash = ? AND client_group_id IS NULL',
      clientGroupID,
      tokenHash,
    );
  }
  revokeSession(tokenHash: string) {
    this.run('UPDATE sessions SET revoked = 1 WHERE token_hash = ?', tokenHash);
  }
  revokeSessionsOfUser(userId: string) {
    this.run('UPDATE sessions SET revoked = 1 WHERE user_id = ?', userId);
  }
  createTicket(t: TicketRow & { ticketHash: string }) {
    this.run(
      'INSERT INTO tickets (ticket_hash, user_id, client_group_id, expires_at, session_hash) VALUES (?, ?, ?, ?, ?)',
      t.ticketHash,
      t.userId,
      t.clientGroupID,
      t.expiresAt,
      t.sessionHash ?? null,
    );
  }
  progress(name: string) {
    const v = this.get('SELECT value FROM meta WHERE key = ?', `progress:${name}`)?.['value'];
    return v === undefined ? 0 : Number(v);
  }
  setProgress(name: string, seq: number) {
    this.run(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      `progress:${name}`,
      String(seq),
    );
  }
  productionJob(id: JobId) {
    const r = this.get('SELECT job FROM production_jobs WHERE id = ?', id);
    return r ? json<ProductionJob>(r['job']) : undefined;
  }
  productionJobByCode(code: string) {
    const r = this.get('SELECT job FROM production_jobs WHERE code = ?', code);
    return r ? json<ProductionJob>(r['job']) : undefined;
  }
  linksFrom(key: string) {
    return this.all('SELECT link FROM genealogy_links WHERE from_key = ?', key).map((r) =>
      json<GenealogyLink>(r['link']),
    );
  }
  linksTo(key: string) {
    return this.all('SELECT link FROM genealogy_links WHERE to_key = ?', key).map((r) =>
      json<GenealogyLink>(r['link']),
    );
  }
  reachable(rootKey: string, direction: 'up' | 'down', maxDepth: number, history: boolean) {
    // Breadth first, a level per query: the frontier's links in one indexed lookup (the keys
    // as a JSON array), only the other end's key read — no link parsed.
    const [near, far] = direction === 'down' ? ['from_key', 'to_key'] : ['to_key', 'from_key'];
    const sql = `SELECT l.${far} AS other FROM genealogy_links l
      WHERE l.${near} IN (SELECT value FROM json_each(?))
        AND (l.status = 'active' OR (? = 1 AND l.status = 'replaced'))`;
    // The keys alone, not a row object each (tens of thousands of rows for a recall).
    const keysOf = (this.pluckCache.get(sql) ??
      this.pluckCache.set(sql, this.db.prepare(sql).pluck()).get(sql)) as Statement<
      unknown[],
      string
    >;
    const depthOf = new Map<string, number>([[rootKey, 0]]);
    let frontier = [rootKey];
    let truncated = false;
    for (let depth = 0; frontier.length > 0; depth++) {
      const others = keysOf.all(JSON.stringify(frontier), history ? 1 : 0);
      if (depth === maxDepth) {
        truncated = others.some((key) => !depthOf.has(key));
        break;
      }
      const next: string[] = [];
      for (const key of others) {
        if (depthOf.has(key)) continue;
        depthOf.set(key, depth + 1);
        next.push(key);
      }
      frontier = next;
    }
    depthOf.delete(rootKey);
    return { nodes: [...depthOf].map(([key, depth]) => ({ key, depth })), truncated };
  }
  link(id: string) {
    const r = this.get('SELECT link FROM genealogy_links WHERE id = ?', id);
    return r ? json<GenealogyLink>(r['link']) : undefined;
  }
  trace(eventId: EventId) {
    const r = this.get('SELECT trace FROM event_traces WHERE event_id = ?', eventId);
    return r ? json<EventTrace>(r['trace']) : undefined;
  }
  applyProductionChange(c: ProductionChange, seq: number) {
    switch (c.op) {
      case 'putJob':
        // The entry's seq moves while the job is live and once more when it is completed (a
        // tombstone from then on); a later change to a completed job (a reversed production
        // lowering what it made) is no change to any device's snapshot, so it keeps its seq.
        this.run(
          `INSERT INTO production_jobs (id, skey, code, job, live, seq)
           VALUES (@id, @skey, @code, @job, @live, CASE WHEN @live = 1 THEN @seq ELSE 0 END)
           ON CONFLICT (id) DO UPDATE SET code = excluded.code, job = excluded.job,
             live = excluded.live,
             seq = CASE WHEN production_jobs.live = 1 OR excluded.live = 1 THEN @seq
               ELSE production_jobs.seq END`,
          {
            id: c.job.id,
            skey: jobKey(c.job.id),
            code: c.job.code,
            job: JSON.stringify(c.job),
            live: isLiveJob(c.job) ? 1 : 0,
            seq,
          },
        );
        return;
      case 'putLink':
        this.run(
          `INSERT INTO genealogy_links (id, from_key, to_key, status, link) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET status = excluded.status, link = excluded.link`,
          c.link.id,
          c.link.fromKey,
          c.link.toKey,
          c.link.status,
          JSON.stringify(c.link),
        );
        return;
      case 'putTrace':
        this.run(
          `INSERT INTO event_traces (event_id, trace) VALUES (?, ?)
           ON CONFLICT (event_id) DO UPDATE SET trace = excluded.trace`,
          c.eventId,
          JSON.stringify(c.trace),
        );
        return;
      default: {
        const unreachable: never = c;
        return unreachable;
      }
    }
  }
  list(id: ListId) {
    const r = this.get('SELECT record FROM lists WHERE id = ?', id);
    return r ? json<ListRecord>(r['record']) : undefined;
  }
  listByCode(type: ListType, code: string) {
    const r = this.get('SELECT record FROM lists WHERE type = ? AND code = ?', type, code);
    return r ? json<ListRecord>(r['record']) : undefined;
  }
  line(listId: ListId, lineNo: number) {
    const r = this.get(
      'SELECT line FROM list_lines WHERE list_id = ? AND line_no = ?',
      listId,
      lineNo,
    );
    return r ? json<ListLine>(r['line']) : undefined;
  }
  lines(listId: ListId) {
    return this.all('SELECT line FROM list_lines WHERE list_id = ? ORDER BY line_no', listId).map(
      (r) => json<ListLine>(r['line']),
    );
  }
  lineOfMovement(eventId: EventId) {
    const r = this.get('SELECT list_id, line_no FROM list_movements WHERE event_id = ?', eventId);
    return r ? { listId: str(r['list_id']) as ListId, lineNo: num(r['line_no']) } : undefined;
  }
  lists(q: ListQuery) {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.status !== undefined) {
      where.push(`status IN (${q.status.map(() => '?').join(', ') || "''"})`);
      args.push(...q.status);
    }
    if (q.type !== undefined) {
      where.push('type = ?');
      args.push(q.type);
    }
    if (q.assignee !== undefined) {
      where.push('assignee = ?');
      args.push(q.assignee);
    }
    if (q.availableTo !== undefined) {
      where.push('(assignee = ? OR assignee IS NULL)');
      args.push(q.availableTo);
    }
    if (q.code !== undefined) {
      where.push('code = ?');
      args.push(q.code);
    }
    return this.all(
      `SELECT record FROM lists ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY due_on IS NULL, due_on, code LIMIT ?`,
      ...args,
      q.limit ?? 1000,
    ).map((r) => json<ListRecord>(r['record']));
  }
  applyListChange(c: ListChange, seq: number) {
    switch (c.op) {
      case 'putList': {
        const l = c.list;
        this.run(
          `INSERT INTO lists (id, skey, type, code, status, assignee, due_on, record, seq)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET status = excluded.status, assignee = excluded.assignee,
             due_on = excluded.due_on, record = excluded.record, seq = excluded.seq`,
          l.id,
          listKey(l.id),
          l.type,
          l.code,
          l.status,
          l.assignee,
          l.dueOn,
          JSON.stringify(l),
          seq,
        );
        return;
      }
      case 'putListLine':
        this.run(
          `INSERT INTO list_lines (list_id, line_no, line) VALUES (?, ?, ?)
           ON CONFLICT (list_id, line_no) DO UPDATE SET line = excluded.line`,
          c.listId,
          c.line.lineNo,
          JSON.stringify(c.line),
        );
        // The list's entry changed with its line: its seq tells snapshot paging so.
        this.run('UPDATE lists SET seq = ? WHERE id = ? AND seq < ?', seq, c.listId, seq);
        return;
      case 'putListMovement':
        this.run(
          'INSERT OR IGNORE INTO list_movements (event_id, list_id, line_no) VALUES (?, ?, ?)',
          c.eventId,
          c.ref.listId,
          c.ref.lineNo,
        );
        return;
      default: {
        const unreachable: never = c;
        return unreachable;
      }
    }
  }
  countSession(id: CountSessionId) {
    const r = this.get('SELECT session FROM count_sessions WHERE id = ?', id);
    return r ? json<CountSession>(r['session']) : undefined;
  }
  countSessionByCode(code: string) {
    const r = this.get('SELECT session FROM count_sessions WHERE code = ?', code);
    return r ? json<CountSession>(r['session']) : undefined;
  }
  inCountScope(sessionId: CountSessionId, id: string) {
    return (
      this.get(
        'SELECT 1 AS x FROM count_scope WHERE session_id = ? AND member_id = ?',
        sessionId,
        id,
      ) !== undefined
    );
  }
  countRecord(sessionId: CountSessionId, lineNo: number) {
    const r = this.get(
      'SELECT record FROM count_records WHERE session_id = ? AND line_no = ?',
      sessionId,
      lineNo,
    );
    return r ? json<CountRecord>(r['record']) : undefined;
  }
  countRecordOfPair(
    sessionId: CountSessionId,
    itemId: ItemId,
    positionId: PositionId,
    lot: Lot | null,
  ) {
    const r = this.get(
      'SELECT record FROM count_records WHERE session_id = ? AND item_id = ? AND position_id = ? AND lot = ?',
      sessionId,
      itemId,
      positionId,
      lot ?? '',
    );
    return r ? json<CountRecord>(r['record']) : undefined;
  }
  countPosition(sessionId: CountSessionId, positionId: PositionId) {
    const r = this.get(
      'SELECT position FROM count_positions WHERE session_id = ? AND position_id = ?',
      sessionId,
      positionId,
    );
    return r ? json<CountPosition>(r['position']) : undefined;
  }
  countSessions(q: CountSessionQuery) {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.status !== undefined) {
      where.push(`status IN (${q.status.map(() => '?').join(', ') || "''"})`);
      args.push(...q.status);
    }
    if (q.assignee !== undefined) {
      // Sessions are few (a stocktake's), their assignees a short array: no index of its own.
      where.push("EXISTS (SELECT 1 FROM json_each(session, '$.assignees') WHERE value = ?)");
      args.push(q.assignee);
    }
    return this.all(
      `SELECT session FROM count_sessions ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY code LIMIT ?`,
      ...args,
      q.limit ?? 1000,
    ).map((r) => json<CountSession>(r['session']));
  }
  countScope(sessionId: CountSessionId) {
    return this.all(
      'SELECT member_id FROM count_scope WHERE session_id = ? ORDER BY ord',
      sessionId,
    ).map((r) => str(r['member_id']));
  }
  countLines(sessionId: CountSessionId, from: number, limit: number) {
    return this.all(
      'SELECT record FROM count_records WHERE session_id = ? AND line_no >= ? AND line_no < ? ORDER BY line_no',
      sessionId,
      from,
      from + limit,
    ).map((r) => json<CountRecord>(r['record']));
  }
  countPositions(sessionId: CountSessionId) {
    return this.all(
      'SELECT position FROM count_positions WHERE session_id = ? ORDER BY position_id',
      sessionId,
    ).map((r) => json<CountPosition>(r['position']));
  }
  /** A live session as devices get it: the header and its scope's ids. */
  private countSessionEntry(session: CountSession): CountSessionEntry {
    return { ...session, scopeIds: this.countScope(session.id) };
  }
  /** Is the session live (`isLiveCountSession`)? An unknown one is not. */
  private countLive(sessionId: string): boolean {
    return this.get('SELECT live FROM count_sessions WHERE id = ?', sessionId)?.['live'] === 1;
  }
  applyCountChange(c: CountChange, seq: number) {
    // An entry's seq moves when devices would see it change: while its session is live, and
    // once more when the session becomes history (all its rows become tombstones at that
    // seq). A late change to a finished session's records keeps their seq (0 for a line first
    // written then: it never was an entry), so a reset is not told of it. MAX keeps the seq
    // such a write passes as 0.
    switch (c.op) {
      case 'putCountSession': {
        const s = c.session;
        const before = this.get('SELECT live FROM count_sessions WHERE id = ?', s.id);
        const wasLive = before?.['live'] === 1;
        const live = isLiveCountSession(s.status);
        this.run(
          `INSERT INTO count_sessions (id, skey, code, status, session, live, seq) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET code = excluded.code, status = excluded.status,
             session = excluded.session, live = excluded.live, seq = MAX(count_sessions.seq, excluded.seq)`,
          s.id,
          countSessionKey(s.id),
          s.code,
          s.status,
          JSON.stringify(s),
          live ? 1 : 0,
          wasLive || live ? seq : 0,
        );
        if (before !== undefined && wasLive !== live) {
          for (const table of ['count_records', 'count_positions'])
            this.run(
              `UPDATE ${table} SET live = ?, seq = ? WHERE session_id = ?`,
              live ? 1 : 0,
              seq,
              s.id,
            );
        }
        return;
      }
      case 'putCountScope':
        // A set's semantics (as the domain's fold): an id listed twice is one member, at its
        // first place.
        this.run('DELETE FROM count_scope WHERE session_id = ?', c.sessionId);
        for (const [ord, id] of c.ids.entries())
          this.run(
            'INSERT OR IGNORE INTO count_scope (session_id, member_id, ord) VALUES (?, ?, ?)',
            c.sessionId,
            id,
            ord,
          );
        // The session's entry carries its scope.
        this.run(
          'UPDATE count_sessions SET seq = MAX(seq, ?) WHERE id = ? AND live = 1',
          seq,
          c.sessionId,
        );
        return;
      case 'putCountRecord': {
        const r = c.record;
        const live = this.countLive(r.sessionId);
        this.run(
          `INSERT INTO count_records (session_id, line_no, skey, item_id, position_id, lot, record, live, seq)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (session_id, line_no) DO UPDATE SET record = excluded.record,
             live = excluded.live, seq = MAX(count_records.seq, excluded.seq)`,
          r.sessionId,
          r.lineNo,
          countLineKey(r.sessionId, r.lineNo),
          r.itemId,
          r.positionId,
          r.lot ?? '',
          JSON.stringify(r),
          live ? 1 : 0,
          live ? seq : 0,
        );
        return;
      }
      case 'putCountPosition': {
        const p = c.position;
        const live = this.countLive(p.sessionId);
        this.run(
          `INSERT INTO count_positions (session_id, position_id, skey, position, live, seq)
           VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (session_id, position_id) DO UPDATE SET position = excluded.position,
             live = excluded.live, seq = MAX(count_positions.seq, excluded.seq)`,
          p.sessionId,
          p.positionId,
          countPositionEntryKey(p.sessionId, p.positionId),
          JSON.stringify(p),
          live ? 1 : 0,
          live ? seq : 0,
        );
        return;
      }
      default: {
        const unreachable: never = c;
        return unreachable;
      }
    }
  }
  job(id: string) {
    const r = this.get('SELECT * FROM jobs WHERE id = ?', id);
    return r ? jobOf(r) : undefined;
  }
  jobs(limit: number, kind?: string) {
    return (
      kind === undefined
        ? this.all('SELECT * FROM jobs ORDER BY created_at DESC, id DESC LIMIT ?', limit)
        : this.all(
            'SELECT * FROM jobs WHERE kind = ? ORDER BY created_at DESC, id DESC LIMIT ?',
            kind,
            limit,
          )
    ).map(jobOf);
  }
  queuedJobs() {
    return this.all(QUEUED_JOBS_SQL).map(jobOf);
  }
  jobPlan(id: string, offset: number, limit: number) {
    return this.all(
      'SELECT data FROM job_rows WHERE job_id = ? AND row >= ? ORDER BY row LIMIT ?',
      id,
      offset,
      limit,
    ).map((r) => json<unknown>(r['data']));
  }
  createJob(job: JobRow, plan: readonly unknown[]) {
    for (const [i, row] of plan.entries())
      this.run(
        'INSERT INTO job_rows (job_id, row, data) VALUES (?, ?, ?)',
        job.id,
        i,
        JSON.stringify(row),
      );
    this.run(
      `INSERT INTO jobs (id, kind, status, created_by, created_at, file_name, rows, total, errors, started_at, error, problem)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      job.id,
      job.kind,
      job.status,
      job.createdBy,
      job.createdAt,
      job.fileName,
      job.rows,
      job.total,
      JSON.stringify(job.errors),
      job.startedAt,
      job.error,
      job.problem ? JSON.stringify(job.problem) : null,
    );
  }
  updateJob(
    id: string,
    patch: Partial<Pick<JobRow, 'status' | 'startedAt' | 'error' | 'problem'>>,
  ) {
    const j = this.job(id);
    if (!j) return;
    const next = { ...j, ...patch };
    // The problem goes with its error: a new error (or none) without one clears it.
    const problem = 'error' in patch && !('problem' in patch) ? undefined : next.problem;
    this.run(
      'UPDATE jobs SET status = ?, started_at = ?, error = ?, problem = ? WHERE id = ?',
      next.status,
      next.startedAt,
      next.error,
      problem ? JSON.stringify(problem) : null,
      id,
    );
  }
  acquireLease(name: string, holder: string, nowMs: number, ttlMs: number) {
    const key = `lease:${name}`;
    const v = this.get('SELECT value FROM meta WHERE key = ?', key)?.['value'];
    if (v !== undefined) {
      const l = json<{ holder: string; until: number }>(v);
      if (l.holder !== holder && l.until > nowMs) return false;
    }
    this.run(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      key,
      JSON.stringify({ holder, until: nowMs + ttlMs }),
    );
    return true;
  }
  purgeExpired(now: string) {
    this.run('DELETE FROM tickets WHERE expires_at < ?', now);
    this.run('DELETE FROM sessions WHERE expires_at < ?', now);
  }
  touchDevice(
    clientGroupID: string,
    userId: string,
    at: string,
    what: 'login' | 'push' | 'pull',
    info: { pending?: number; appVersion?: string; secretHash?: string } = {},
  ) {
    // One statement on the hot path (every push): insert on first sight, else update in place.
    this.run(
      `INSERT INTO devices (client_group_id, user_id, created_at, last_push_at, last_pull_at, pending, app_version, secret_hash)
       VALUES (@group, @user, @at, CASE WHEN @what = 'push' THEN @at END, CASE WHEN @what = 'pull' THEN @at END, @pending, @version, @secret)
       ON CONFLICT (client_group_id) DO UPDATE SET
         user_id = excluded.user_id,
         last_push_at = COALESCE(excluded.last_push_at, devices.last_push_at),
         last_pull_at = COALESCE(excluded.last_pull_at, devices.last_pull_at),
         pending = COALESCE(excluded.pending, devices.pending),
         app_version = COALESCE(excluded.app_version, devices.app_version)`,
      {
        group: clientGroupID,
        user: userId,
        at,
        what,
        pending: info.pending ?? null,
        version: info.appVersion ?? null,
        secret: info.secretHash ?? null,
      },
    );
    if (what === 'login' || !this.userOnDevice(clientGroupID, userId)) {
      this.run(
        'INSERT OR IGNORE INTO device_users (client_group_id, user_id) VALUES (?, ?)',
        clientGroupID,
        userId,
      );
    }
  }
  revokeDevice(clientGroupID: string, at: string) {
    this.run(
      `INSERT INTO devices (client_group_id, user_id, created_at, revoked_at) VALUES (?, NULL, ?, ?)
       ON CONFLICT (client_group_id) DO UPDATE SET revoked_at = COALESCE(devices.revoked_at, excluded.revoked_at)`,
      clientGroupID,
      at,
      at,
    );
  }
}

/** The WHERE clause (and its arguments) of a conflict filter. */
function conflictWhere(filter: ConflictFilter): [string, unknown[]] {
  const where: string[] = [];
  const args: unknown[] = [];
  if (filter.status) {
    where.push('status = ?');
    args.push(filter.status);
  }
  if (filter.userId) {
    where.push('user_id = ?');
    args.push(filter.userId);
  }
  return [where.length ? `WHERE ${where.join(' AND ')}` : '', args];
}
