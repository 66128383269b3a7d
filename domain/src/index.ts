/**
 * @floorsync/domain — the warehouse rules, once, for the server, the device and the workers.
 * Pure: zod only; no clock, no randomness, no I/O. Time and ids come in as arguments.
 */
export * from './shared/ids.js';
export * from './shared/quantity.js';
export * from './shared/roles.js';
export * from './shared/decision.js';
export * from './shared/conflict-text.js';
export * from './inventory/commands.js';
export * from './inventory/events.js';
export * from './inventory/state.js';
export * from './inventory/decide.js';
export * from './inventory/queries.js';
export * from './lists/index.js';
export * from './production/index.js';
export * from './counting/index.js';
export * from './sync/commands.js';
export * from './sync/events.js';
export * from './sync/protocol.js';
export * from './sync/decide.js';
export * from './sync/time.js';
export * from './sync/compensation.js';
export * from './sync/bus.js';
export {
  SNAPSHOT_KINDS,
  conflictKey,
  countLineKey,
  countPositionEntryKey,
  countSessionKey,
  itemKey,
  jobKey,
  listKey,
  lotKey,
  positionKey,
  stockKey as snapshotStockKey,
} from './sync/keys.js';
export type { SnapshotKind } from './sync/keys.js';
export * from './codes/gtin.js';
export * from './codes/gs1.js';
export * from './codes/gs1-problem.js';
export * from './codes/sscc.js';
export * from './codes/resolve.js';
export * from './projection.js';
export * from './jobs/bulk-adjust.js';
export * from './jobs/row-error.js';
export * from './jobs/job-problem.js';
