import { Dexie } from 'dexie';
import type { EntityTable } from 'dexie';
import type { Role } from '@floorsync/domain';

/**
 * The device's system of record (ARCHITECTURE.md: Dexie is the only client store).
 * - `outbox`: mutations not yet confirmed by a pull, numbered per client 1, 2, 3, … with no
 *   gaps. A row carries the device's own decision at scan time (`local`), so the overlay is
 *   written in the same transaction as the queue.
 * - `entries`: confirmed state as the server names it (`s/<kind>/<id>` → value).
 * - `events`: confirmed events (for activity views).
 * - `outcomes`: what the server said about this device's mutations when it refused them or
 *   recorded a conflict — shown to the operator in plain words.
 * - `meta`: identities, the next mutation id, the pull cookie.
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
};

export function openReplica(name = 'floorsync'): ReplicaDB {
  const db = new Dexie(name) as ReplicaDB;
  db.version(1).stores({
    outbox: 'id',
    entries: 'key',
    events: 'seq',
    outcomes: 'key, mutationID',
    meta: 'key',
  });
  return db;
}
