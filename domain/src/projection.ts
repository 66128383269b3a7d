import type { InventoryEvent } from './inventory/events.js';
import { inventoryEventData } from './inventory/events.js';
import type { InventoryState } from './inventory/state.js';
import { evolve } from './inventory/state.js';
import { asEventId } from './shared/ids.js';
import type { ConflictRecord, ReplayView } from './sync/decide.js';
import type { ConflictId } from './shared/ids.js';
import { viewOf } from './inventory/state.js';
import type { ListsView } from './lists/state.js';

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
  if (!isInventoryEvent(event)) return state;
  return evolve(state, { ...(event as InventoryEvent), id: asEventId(event.id) });
}

/** No lists: for views of inventory alone. */
const NO_LISTS: ListsView = {
  list: () => undefined,
  listByCode: () => undefined,
  line: () => undefined,
};

/**
 * An in-memory `ReplayView`: inventory state plus a conflicts map and lists (device replica,
 * tests).
 */
export function replayViewOf(
  state: InventoryState,
  conflicts: ReadonlyMap<ConflictId, ConflictRecord> = new Map(),
  lists: ListsView = NO_LISTS,
): ReplayView {
  return {
    ...viewOf(state),
    list: (id) => lists.list(id),
    listByCode: (type, code) => lists.listByCode(type, code),
    line: (listId, lineNo) => lists.line(listId, lineNo),
    conflict: (id) => conflicts.get(id),
  };
}
