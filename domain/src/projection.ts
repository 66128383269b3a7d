import type { InventoryEvent } from './inventory/events.js';
import { inventoryEventData } from './inventory/events.js';
import type { InventoryState, StateChange } from './inventory/state.js';
import { applyChange, changesOf } from './inventory/state.js';
import { asEventId } from './shared/ids.js';
import type { ConflictRecord, ReplayView } from './sync/decide.js';
import type { ConflictId } from './shared/ids.js';
import { viewOf } from './inventory/state.js';
import type { ListsView } from './lists/state.js';
import { productionStockChangesOf } from './production/changes.js';
import type { GenealogyLinks, ProductionReadView, ProductionView } from './production/state.js';
import type { CountingReadView } from './counting/changes.js';

/** Any event of the log, as stored: id, type, data. */
export interface LoggedEvent {
  readonly id: string;
  readonly type: string;
  readonly data: unknown;
}

export const isInventoryEvent = (e: { readonly type: string }): e is InventoryEvent =>
  Object.hasOwn(inventoryEventData, e.type);

/**
 * Folds any logged event into inventory state: inventory events change it, the others
 * (rejections, resolutions — their inventory effects are separate events) leave it as is.
 */
export function foldEvent(state: InventoryState, event: LoggedEvent): InventoryState {
  for (const change of stockChangesOf(event)) applyChange(state, change);
  return state;
}

/**
 * What any logged event does to inventory state: an inventory event's changes, and the stock
 * a production event consumes or produces. The one list the server, the device and the tests
 * apply.
 */
export function stockChangesOf(event: LoggedEvent): StateChange[] {
  if (isInventoryEvent(event))
    return changesOf({ ...(event as InventoryEvent), id: asEventId(event.id) });
  return productionStockChangesOf(event);
}

/** No production jobs or genealogy links: for views without them. */
/** What the replay reads of production: jobs, links, and traces (which job a movement was for). */
export type ReplayProductionView = ProductionView &
  GenealogyLinks &
  Pick<ProductionReadView, 'trace'>;

const NO_PRODUCTION: ReplayProductionView = {
  productionJob: () => undefined,
  productionJobByCode: () => undefined,
  linksFrom: () => [],
  linksTo: () => [],
  trace: () => undefined,
};

/** No counting sessions: for views without them. */
const NO_COUNTING: CountingReadView = {
  countSession: () => undefined,
  countSessionByCode: () => undefined,
  inCountScope: () => false,
  countRecord: () => undefined,
  countRecordOfPair: () => undefined,
  countPosition: () => undefined,
};

/** No lists: for views of inventory alone. */
const NO_LISTS: ListsView = {
  list: () => undefined,
  listByCode: () => undefined,
  line: () => undefined,
};

/**
 * An in-memory `ReplayView`: inventory state plus a conflicts map, lists, production and
 * counting sessions (device replica, tests).
 */
export function replayViewOf(
  state: InventoryState,
  conflicts: ReadonlyMap<ConflictId, ConflictRecord> = new Map(),
  lists: ListsView = NO_LISTS,
  production: ReplayProductionView = NO_PRODUCTION,
  counting: CountingReadView = NO_COUNTING,
): ReplayView {
  return {
    countSession: (id) => counting.countSession(id),
    countSessionByCode: (code) => counting.countSessionByCode(code),
    inCountScope: (sessionId, id) => counting.inCountScope(sessionId, id),
    countRecord: (sessionId, lineNo) => counting.countRecord(sessionId, lineNo),
    countRecordOfPair: (sessionId, itemId, positionId, lot) =>
      counting.countRecordOfPair(sessionId, itemId, positionId, lot),
    countPosition: (sessionId, positionId) => counting.countPosition(sessionId, positionId),
    ...viewOf(state),
    productionJob: (id) => production.productionJob(id),
    productionJobByCode: (code) => production.productionJobByCode(code),
    linksFrom: (key) => production.linksFrom(key),
    linksTo: (key) => production.linksTo(key),
    trace: (id) => production.trace(id),
    list: (id) => lists.list(id),
    listByCode: (type, code) => lists.listByCode(type, code),
    line: (listId, lineNo) => lists.line(listId, lineNo),
    conflict: (id) => conflicts.get(id),
  };
}
