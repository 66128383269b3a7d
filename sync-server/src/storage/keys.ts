/** Snapshot keys live in the domain: the device's replica names state the same way. */
export {
  SNAPSHOT_KINDS,
  conflictKey,
  itemKey,
  jobKey,
  listKey,
  lotKey,
  positionKey,
  snapshotStockKey as stockKey,
} from '@floorsync/domain';
export type { SnapshotKind } from '@floorsync/domain';
