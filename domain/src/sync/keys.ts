import { snapshotKey } from './protocol.js';

/**
 * Snapshot keys (`s/<kind>/<id>`), shared by the server's adapters and the device's replica so
 * both name state alike. Parts are URI-encoded: ids are opaque and may contain `/`. Kinds sort
 * alphabetically (conflict < item < list < lot < position < stock), which lets a store page table by
 * table and still return one key-ordered stream.
 */
export const SNAPSHOT_KINDS = ['conflict', 'item', 'list', 'lot', 'position', 'stock'] as const;
export type SnapshotKind = (typeof SNAPSHOT_KINDS)[number];

const enc = encodeURIComponent;
export const itemKey = (id: string) => snapshotKey('item', enc(id));
export const positionKey = (id: string) => snapshotKey('position', enc(id));
export const conflictKey = (id: string) => snapshotKey('conflict', enc(id));
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
