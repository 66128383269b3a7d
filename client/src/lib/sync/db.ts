import { Dexie } from 'dexie';
import type { EntityTable } from 'dexie';
import type { Role } from '@floorsync/domain';

/**
 * The device's system of record (ARCHITECTURE.md: Dexie is the only client store).
 * - `outbox`: the queue — mutations not yet confirmed by a pull — and, below it, the journal of
 *   the newest confirmed ones; numbered per client 1, 2, 3, … with no gaps. A row carries the device's own decision at scan time (`local`), so the overlay is
 *   written in the same transaction as the queue.
 * - `snapshot`: the confirmed state a reset snapshot brought, one row per pull page (the
 *   page's entries in order, `null` for a removed one). A browser writes one IndexedDB
 *   record at a fraction of the cost of thousands: a 100,000-line snapshot is about 20 rows.
 * - `entries`: confirmed state changed since the snapshot, as the server names it
 *   (`s/<kind>/<id>` → value, `null` when it went away). Read over the snapshot rows: see
 *   `readConfirmed`.
 * - `events`: confirmed events (for activity views).
 * - `outcomes`: what the server said about this device's mutations when it refused them or
 *   recorded a conflict — shown to the operator in plain words.
 * - `meta`: identities, the next mutation id, the session. A scan's transaction writes
 *   `outbox` and `meta` only.
 * - `cursor`: where the pull is (`cookie`) and the last of this client's mutations the server
 *   confirmed (`acked`), written with each pull page. Its scope never overlaps a scan's, so a
 *   scan never waits behind a page being written. Outbox rows at or below `acked` are
 *   confirmed: they no longer count as pending; beyond the journal's length they are deleted
 *   after the pull. The journal is sent again to a server restored from a backup that lost them.
 */
export interface OutboxRow {
  readonly id: number;
  readonly clientID: string;
  readonly name: string;
  readonly args: Record<string, unknown>;
  readonly userID: string | null;
  /** The author's role when they scanned: pending rows are re-decided with it (rebase). */
  readonly role?: Role;
  readonly occurredAt: string;
  readonly timestamp: number;
}

export interface EntryRow {
  readonly key: string;
  readonly value: unknown;
}

export interface EventRow {
  readonly seq: number;
  readonly id: string;
  readonly type: string;
  readonly data: unknown;
  readonly meta: Record<string, unknown>;
}

export interface OutcomeRow {
  /** `<clientID>/<mutation id>` */
  readonly key: string;
  readonly mutationID: number;
  readonly name: string;
  readonly status: 'rejected' | 'conflict';
  readonly code: string | null;
  readonly message: string;
  readonly conflicts: readonly string[];
  readonly at: string;
  /** What the mutation was about, where a screen looks for it: a resolution's conflict id. */
  readonly subject?: string;
  /** The command's args, so that a screen can say which scan it was (rows before: none). */
  readonly args?: unknown;
}

/** One reset page's entries, in the order the server sent them (`null`: removed). */
export interface SnapshotRow {
  readonly id?: number;
  readonly entries: readonly (readonly [string, unknown])[];
}

/** The one row of `cursor`. */
export const PULL_CURSOR = 'pull';

export interface CursorRow {
  readonly key: typeof PULL_CURSOR;
  readonly cookie: unknown;
  /** This client's last mutation id the server has (`lastMutationIDChanges`). */
  readonly acked: number;
}

export interface MetaRow {
  readonly key: string;
  readonly value: unknown;
}

export type ReplicaDB = Dexie & {
  outbox: EntityTable<OutboxRow, 'id'>;
  entries: EntityTable<EntryRow, 'key'>;
  events: EntityTable<EventRow, 'seq'>;
  outcomes: EntityTable<OutcomeRow, 'key'>;
  meta: EntityTable<MetaRow, 'key'>;
  snapshot: EntityTable<SnapshotRow, 'id'>;
  cursor: EntityTable<CursorRow, 'key'>;
};

export interface ReplicaOptions {
  /**
   * Another tab opened the database at a newer version (the app was updated there) or deletes
   * it. This connection is closed first, so that the other proceeds; this tab then runs code
   * for a schema that is gone and should reload (the runtime does). Without it, Dexie's
   * default: close and log.
   */
  readonly onVersionChange?: () => void;
}

export function openReplica(name = 'floorsync', o: ReplicaOptions = {}): ReplicaDB {
  const db = new Dexie(name) as ReplicaDB;
  const onVersionChange = o.onVersionChange;
  if (onVersionChange)
    db.on('versionchange', () => {
      db.close();
      onVersionChange();
      return false; // closed here: Dexie's default (close and log) is not needed
    });
  db.version(1).stores({
    outbox: 'id',
    entries: 'key',
    events: 'seq',
    outcomes: 'key, mutationID',
    meta: 'key',
  });
  // Version 2: snapshot pages as rows, and the pull's cursor out of `meta` (see above).
  db.version(2)
    .stores({ snapshot: '++id', cursor: 'key' })
    .upgrade(async (tx) => {
      const meta = tx.table<MetaRow, string>('meta');
      const cookie: unknown = (await meta.get('cookie'))?.value ?? null;
      // Version 1 deleted confirmed rows in the page's transaction: none are left behind.
      const row: CursorRow = { key: PULL_CURSOR, cookie, acked: 0 };
      await tx.table<CursorRow, string>('cursor').put(row);
      await meta.delete('cookie');
    });
  return db;
}

/**
 * The confirmed state as persisted: the snapshot rows in order, then the entries changed since
 * (a `null` value removes). Keys as the server names them (`s/<kind>/<id>`).
 */
export async function readConfirmed(db: ReplicaDB): Promise<Map<string, unknown>> {
  return db.transaction('r', [db.snapshot, db.entries], async () => {
    const merged = new Map<string, unknown>();
    const apply = (key: string, value: unknown) => {
      if (value === null || value === undefined) merged.delete(key);
      else merged.set(key, value);
    };
    // getAll, not a cursor: a cursor costs a round trip to the browser's storage per row.
    for (const row of await db.snapshot.orderBy('id').toArray())
      for (const [key, value] of row.entries) apply(key, value);
    for (const row of await db.entries.toArray()) apply(row.key, row.value);
    return merged;
  });
}

/**
 * The outbox rows the server has not confirmed (above `cursor.acked`): the queue. Rows at or
 * below it are the engine's journal (kept to send again to a server restored from a backup).
 */
export async function unconfirmedRows(db: ReplicaDB): Promise<OutboxRow[]> {
  return db.transaction('r', [db.outbox, db.cursor], async () => {
    const acked = (await db.cursor.get(PULL_CURSOR))?.acked ?? 0;
    return db.outbox.where('id').above(acked).toArray();
  });
}
