import { snapshotKey } from './protocol.js';

/**
 * Snapshot keys (`s/<kind>/<id>`), shared by the server's adapters and the device's replica so
 * both name state alike. Parts are URI-encoded: ids are opaque and may contain `/`. Kinds sort
 * alphabetically (conflict < count-line < count-position < count-session < item < job < list <
 * lot < position < stock), which lets a store page table by table and still return one
 * key-ordered stream.
 */
export const SNAPSHOT_KINDS = [
  'conflict',
  'count-line',
  'count-position',
  'count-session',
  'item',
  'job',
  'list',
  'lot',
  'position',
  'stock',
] as const;
export type SnapshotKind = (typeof SNAPSHOT_KINDS)[number];

const enc = encodeURIComponent;
export const itemKey = (id: string) => snapshotKey('item', enc(id));
export const positionKey = (id: string) => snapshotKey('position', enc(id));
export const conflictKey = (id: string) => snapshotKey('conflict', enc(id));
/**
 * A production job that is created or running: the `ProductionJob` record (devices decide
 * `consumeForJob`/`produceForJob` with it). A completed one is a tombstone.
 */
export const jobKey = (id: string) => snapshotKey('job', enc(id));
/** An open movement list (its header, counters and lines); a closed one is a tombstone. */
export const listKey = (id: string) => snapshotKey('list', enc(id));
export const lotKey = (itemId: string, lot: string) =>
  snapshotKey('lot', `${enc(itemId)}/${enc(lot)}`);
export const stockKey = (
  itemId: string,
  positionId: string,
  lot: string | null,
  serial: string | null,
) =>
  snapshotKey('stock', `${enc(itemId)}/${enc(positionId)}/${enc(lot ?? '')}/${enc(serial ?? '')}`);

/**
 * A live counting session (planned, counting, review, applying): its header with counters and
 * its scope's ids (`CountSessionEntry`). Applied or cancelled: a tombstone, and so are its
 * lines and positions.
 */
export const countSessionKey = (id: string) => snapshotKey('count-session', enc(id));
/** One line (a counted pair) of a live session: a `CountRecord`. */
export const countLineKey = (sessionId: string, lineNo: number) =>
  snapshotKey('count-line', `${enc(sessionId)}/${lineNo}`);
/** One position of a live session (who is counting it, counted, empty): a `CountPosition`. */
export const countPositionEntryKey = (sessionId: string, positionId: string) =>
  snapshotKey('count-position', `${enc(sessionId)}/${enc(positionId)}`);
