import type { InventoryEvent } from './inventory/events.js';
import { inventoryEventData } from './inventory/events.js';
import type { InventoryState } from './inventory/state.js';
import { evolve } from './inventory/state.js';
import { asEventId } from './shared/ids.js';
import type { ConflictRecord, ReplayView } from './sync/decide.js';
import type { ConflictId } from './shared/ids.js';
import { viewOf } from './inventory/state.js';

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

/** An in-memory `ReplayView`: inventory state plus a conflicts map (device replica, tests). */
export function replayViewOf(
  state: InventoryState,
  conflicts: ReadonlyMap<ConflictId, ConflictRecord> = new Map(),
): ReplayView {
  return { ...viewOf(state), conflict: (id) => conflicts.get(id) };
}
