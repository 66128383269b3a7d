import type {
  InventoryState,
  Item,
  LotInfo,
  Position,
  StateChange,
  StockLine,
} from '@floorsync/domain';
import {
  applyChange,
  initialState,
  itemKey,
  lotKey,
  positionKey,
  snapshotStockKey,
  stockKey,
} from '@floorsync/domain';

/**
 * Confirmed state in memory (the domain's `InventoryState`, so the device decides with the
 * very rules the server uses) and its persisted form (snapshot entries). Movements are not
 * in snapshots: reversals are decided by the server.
 */

export function stateFromEntries(
  entries: Iterable<{ key: string; value: unknown }>,
): InventoryState {
  const state = initialState();
  for (const { key, value } of entries) {
    if (key.startsWith('s/item/')) applyChange(state, { op: 'putItem', item: value as Item });
    else if (key.startsWith('s/position/'))
      applyChange(state, { op: 'putPosition', position: value as Position });
  }
  for (const { key, value } of entries) {
    if (key.startsWith('s/stock/')) {
      const l = value as StockLine;
      applyChange(state, {
        op: 'addStock',
        itemId: l.itemId,
        positionId: l.positionId,
        lot: l.lot,
        serial: l.serial,
        delta: l.quantity,
      });
    } else if (key.startsWith('s/lot/')) {
      applyChange(state, { op: 'putLot', lot: value as LotInfo });
    }
  }
  return state;
}

/** The snapshot entries a change touches, with their values in `state` (null: gone). */
export function entriesTouched(
  state: InventoryState,
  change: StateChange,
): { key: string; value: unknown }[] {
  switch (change.op) {
    case 'putItem':
      return [{ key: itemKey(change.item.id), value: state.items.get(change.item.id) ?? null }];
    case 'putPosition':
      return [
        {
          key: positionKey(change.position.id),
          value: state.positions.get(change.position.id) ?? null,
        },
      ];
    case 'setParent':
    case 'retire':
      return [
        {
          key: positionKey(change.positionId),
          value: state.positions.get(change.positionId) ?? null,
        },
      ];
    case 'addStock':
      return [
        {
          key: snapshotStockKey(change.itemId, change.positionId, change.lot, change.serial),
          value:
            state.stock.get(
              stockKey(change.itemId, change.positionId, change.lot, change.serial),
            ) ?? null,
        },
      ];
    case 'putLot':
      return [
        {
          key: lotKey(change.lot.itemId, change.lot.lot),
          value: state.lots.get(`${change.lot.itemId}\u0000${change.lot.lot}`) ?? null,
        },
      ];
    case 'putMovement':
    case 'markReversed':
      return [];
    default: {
      const unreachable: never = change;
      return unreachable;
    }
  }
}
