import type { EventId, ItemId, Lot, PositionId, Serial } from '../shared/ids.js';
import { asPositionId } from '../shared/ids.js';
import { qtyIsZero, roundQty } from '../shared/quantity.js';
import type { AdjustmentReason, PositionKind, Tracking } from './commands.js';
import type { InventoryEvent } from './events.js';

// ─── The model ──────────────────────────────────────────────────────────────────────────────

export interface Item {
  readonly id: ItemId;
  readonly sku: string;
  readonly name: string;
  readonly tracking: Tracking;
  /** Normalized (see `normalizeBarcode`): GTIN-8/12/13 are stored as GTIN-14. */
  readonly barcodes: readonly string[];
  readonly uom: string;
}

export interface Position {
  readonly id: PositionId;
  readonly code: string;
  /** `null` only for the site root and the virtual endpoints. */
  readonly parentId: PositionId | null;
  readonly kind: PositionKind;
  /** Fixed positions (bins, zones) never move; containers are mobile. */
  readonly fixed: boolean;
  /** A disposable container is retired automatically once empty. */
  readonly disposable: boolean;
  readonly retired: boolean;
  /** The site root, OUTSIDE and PRODUCTION: endpoints of movements, never hold stock. */
  readonly virtual: boolean;
  readonly name?: string;
}

/** Stock of one item at one position, for one lot and/or serial. A serial line holds exactly 1. */
export interface StockLine {
  readonly itemId: ItemId;
  readonly positionId: PositionId;
  readonly lot: Lot | null;
  readonly serial: Serial | null;
  readonly quantity: number;
}

export interface LotInfo {
  readonly itemId: ItemId;
  readonly lot: Lot;
  readonly expiresOn: string | null;
}

export const MOVEMENT_TYPES = [
  'receipt',
  'transfer',
  'shipment',
  'adjustment',
  'reversal',
  'container-move',
  'production',
  'consumption',
] as const;
export type MovementType = (typeof MOVEMENT_TYPES)[number];

/** A stock movement as a from → to pair (virtual endpoints included), kept for reversals. */
export interface Movement {
  readonly id: EventId;
  readonly type: MovementType;
  readonly itemId: ItemId;
  readonly from: PositionId;
  readonly to: PositionId;
  readonly quantity: number;
  readonly lot: Lot | null;
  readonly serial: Serial | null;
  readonly reason?: AdjustmentReason;
  /** How much of it later reversals undid. A movement can be reversed once. */
  readonly reversedQuantity: number;
  readonly reversedBy: EventId | null;
}

// ─── Virtual endpoints ──────────────────────────────────────────────────────────────────────

/** The root of the positions tree: top-level positions hang here; adjustments balance against it. */
export const SITE = asPositionId('@site');
/** Suppliers and customers: receipts come from it, shipments go to it. */
export const OUTSIDE = asPositionId('@outside');
/** Source of produced goods, sink of consumed goods. */
export const PRODUCTION = asPositionId('@production');

const virtualPosition = (id: PositionId, code: string): Position => ({
  id,
  code,
  parentId: null,
  kind: 'site',
  fixed: true,
  disposable: false,
  retired: false,
  virtual: true,
});

export const VIRTUAL_POSITIONS: readonly Position[] = [
  virtualPosition(SITE, '@SITE'),
  virtualPosition(OUTSIDE, '@OUTSIDE'),
  virtualPosition(PRODUCTION, '@PRODUCTION'),
];

// ─── The read port ──────────────────────────────────────────────────────────────────────────

/**
 * What `decide` and the read helpers may ask of inventory state. Synchronous on purpose: the
 * SQLite adapter answers from inside its write transaction (better-sqlite3 is synchronous),
 * the device from its in-memory replica. Every adapter must answer as if all events up to
 * now were folded with `evolve` — the in-memory twin below is the reference.
 *
 * Stock answers never include lines whose quantity is 0.
 */
export interface InventoryView {
  item(id: ItemId): Item | undefined;
  itemBySku(sku: string): Item | undefined;
  /** Looks up a normalized barcode (see `normalizeBarcode`). */
  itemByBarcode(barcode: string): Item | undefined;
  position(id: PositionId): Position | undefined;
  positionByCode(code: string): Position | undefined;
  /** Direct children, retired ones included. */
  children(id: PositionId): readonly Position[];
  /** Quantity of one stock line; 0 when there is none. */
  quantity(itemId: ItemId, positionId: PositionId, lot: Lot | null, serial: Serial | null): number;
  /** Lines at exactly this position (not below it). */
  linesAt(positionId: PositionId): readonly StockLine[];
  /** Lines of one item anywhere. */
  linesOfItem(itemId: ItemId): readonly StockLine[];
  /** Lines carrying this serial, for any item. More than one positive line is a conflict. */
  linesWithSerial(serial: Serial): readonly StockLine[];
  /** Lots with this code, for any item. */
  lotsWithCode(lot: Lot): readonly LotInfo[];
  movement(id: EventId): Movement | undefined;
}

// ─── State changes: the one place an event's effect is spelled out ─────────────────────────

/**
 * The primitive effects of events. `changesOf(event)` is the single definition of what an
 * event does to state; the in-memory state applies these to Maps and the SQLite adapter to
 * tables, so the rule is never written twice.
 */
export type StateChange =
  | { readonly op: 'putItem'; readonly item: Item }
  | { readonly op: 'putPosition'; readonly position: Position }
  | { readonly op: 'setParent'; readonly positionId: PositionId; readonly parentId: PositionId }
  | { readonly op: 'retire'; readonly positionId: PositionId }
  | {
      readonly op: 'addStock';
      readonly itemId: ItemId;
      readonly positionId: PositionId;
      readonly lot: Lot | null;
      readonly serial: Serial | null;
      readonly delta: number;
    }
  | { readonly op: 'putLot'; readonly lot: LotInfo }
  | { readonly op: 'putMovement'; readonly movement: Movement }
  | {
      readonly op: 'markReversed';
      readonly movementId: EventId;
      readonly quantity: number;
      readonly reversalId: EventId;
    };

/** An event as stored: the log gives it its id. */
export type IdentifiedEvent = InventoryEvent & { readonly id: EventId };

const addStock = (
  itemId: ItemId,
  positionId: PositionId,
  lot: Lot | undefined | null,
  serial: Serial | undefined | null,
  delta: number,
): StateChange => ({
  op: 'addStock',
  itemId,
  positionId,
  lot: lot ?? null,
  serial: serial ?? null,
  delta,
});

const movement = (
  id: EventId,
  type: MovementType,
  d: { itemId: ItemId; lot?: Lot | undefined; serial?: Serial | undefined },
  from: PositionId,
  to: PositionId,
  quantity: number,
  reason?: AdjustmentReason,
): StateChange => ({
  op: 'putMovement',
  movement: {
    id,
    type,
    itemId: d.itemId,
    from,
    to,
    quantity,
    lot: d.lot ?? null,
    serial: d.serial ?? null,
    ...(reason ? { reason } : {}),
    reversedQuantity: 0,
    reversedBy: null,
  },
});

export function changesOf(event: IdentifiedEvent): StateChange[] {
  switch (event.type) {
    case 'ItemDefined': {
      const d = event.data;
      return [
        {
          op: 'putItem',
          item: {
            id: d.itemId,
            sku: d.sku,
            name: d.name,
            tracking: d.tracking,
            barcodes: d.barcodes,
            uom: d.uom,
          },
        },
      ];
    }
    case 'PositionDefined': {
      const d = event.data;
      return [
        {
          op: 'putPosition',
          position: {
            id: d.positionId,
            code: d.code,
            parentId: d.parentId,
            kind: d.kind,
            fixed: d.fixed,
            disposable: d.disposable,
            retired: false,
            virtual: false,
            ...(d.name !== undefined ? { name: d.name } : {}),
          },
        },
      ];
    }
    case 'PositionRetired':
      return [{ op: 'retire', positionId: event.data.positionId }];
    case 'StockReceived': {
      const d = event.data;
      const changes: StateChange[] = [
        addStock(d.itemId, d.positionId, d.lot, d.serial, d.quantity),
        movement(event.id, 'receipt', d, OUTSIDE, d.positionId, d.quantity),
      ];
      if (d.lot !== undefined) {
        changes.push({
          op: 'putLot',
          lot: { itemId: d.itemId, lot: d.lot, expiresOn: d.expiresOn ?? null },
        });
      }
      return changes;
    }
    case 'StockMoved': {
      const d = event.data;
      return [
        addStock(d.itemId, d.from, d.lot, d.serial, -d.quantity),
        addStock(d.itemId, d.to, d.lot, d.serial, d.quantity),
        movement(event.id, 'transfer', d, d.from, d.to, d.quantity),
      ];
    }
    case 'ContainerMoved':
      // Re-parenting is the whole effect: stock stays on the container and everything nested
      // in it, so it moves along at any depth without touching a single stock line.
      return [{ op: 'setParent', positionId: event.data.containerId, parentId: event.data.to }];
    case 'StockShipped': {
      const d = event.data;
      return [
        addStock(d.itemId, d.from, d.lot, d.serial, -d.quantity),
        movement(event.id, 'shipment', d, d.from, OUTSIDE, d.quantity),
      ];
    }
    case 'StockAdjusted': {
      const d = event.data;
      const up = d.delta > 0;
      return [
        addStock(d.itemId, d.positionId, d.lot, d.serial, d.delta),
        movement(
          event.id,
          'adjustment',
          d,
          up ? SITE : d.positionId,
          up ? d.positionId : SITE,
          Math.abs(d.delta),
          d.reason,
        ),
      ];
    }
    case 'MovementReversed': {
      const d = event.data;
      const changes: StateChange[] = [];
      // Virtual endpoints hold no stock: a reversed receipt only leaves the position.
      if (d.from !== OUTSIDE && d.from !== SITE && d.from !== PRODUCTION) {
        changes.push(addStock(d.itemId, d.from, d.lot, d.serial, -d.quantity));
      }
      if (d.to !== OUTSIDE && d.to !== SITE && d.to !== PRODUCTION) {
        changes.push(addStock(d.itemId, d.to, d.lot, d.serial, d.quantity));
      }
      changes.push(movement(event.id, 'reversal', d, d.from, d.to, d.quantity));
      changes.push({
        op: 'markReversed',
        movementId: d.movementId,
        quantity: d.quantity,
        reversalId: event.id,
      });
      return changes;
    }
    default: {
      const unreachable: never = event;
      return unreachable;
    }
  }
}

// ─── The in-memory twin ─────────────────────────────────────────────────────────────────────

/**
 * Inventory state folded from events, with the indexes the view needs. The fold owns it:
 * `evolve` updates it in place and returns it (copying Maps per event would make replaying
 * a shift quadratic); use `cloneState` where an independent copy is needed (device rebase).
 */
export interface InventoryState {
  readonly items: Map<ItemId, Item>;
  readonly skus: Map<string, ItemId>;
  readonly barcodes: Map<string, ItemId>;
  readonly positions: Map<PositionId, Position>;
  readonly codes: Map<string, PositionId>;
  readonly children: Map<PositionId, Set<PositionId>>;
  readonly stock: Map<string, StockLine>;
  readonly byPosition: Map<PositionId, Set<string>>;
  readonly byItem: Map<ItemId, Set<string>>;
  readonly bySerial: Map<Serial, Set<string>>;
  readonly lots: Map<string, LotInfo>;
  readonly lotsByCode: Map<Lot, Set<string>>;
  readonly movements: Map<EventId, Movement>;
}

export const stockKey = (
  itemId: ItemId,
  positionId: PositionId,
  lot: Lot | null,
  serial: Serial | null,
) => `${itemId}\u0000${positionId}\u0000${lot ?? ''}\u0000${serial ?? ''}`;

const lotKey = (itemId: ItemId, lot: Lot) => `${itemId}\u0000${lot}`;

export function initialState(): InventoryState {
  const state: InventoryState = {
    items: new Map(),
    skus: new Map(),
    barcodes: new Map(),
    positions: new Map(),
    codes: new Map(),
    children: new Map(),
    stock: new Map(),
    byPosition: new Map(),
    byItem: new Map(),
    bySerial: new Map(),
    lots: new Map(),
    lotsByCode: new Map(),
    movements: new Map(),
  };
  for (const p of VIRTUAL_POSITIONS) applyChange(state, { op: 'putPosition', position: p });
  return state;
}

const addToIndex = <K, V>(index: Map<K, Set<V>>, key: K, value: V) => {
  const set = index.get(key);
  if (set) set.add(value);
  else index.set(key, new Set([value]));
};

const removeFromIndex = <K, V>(index: Map<K, Set<V>>, key: K, value: V) => {
  const set = index.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) index.delete(key);
};

/** Applies one primitive change to the in-memory state. */
export function applyChange(state: InventoryState, change: StateChange): InventoryState {
  switch (change.op) {
    case 'putItem': {
      const previous = state.items.get(change.item.id);
      if (previous) {
        state.skus.delete(previous.sku);
        for (const b of previous.barcodes) state.barcodes.delete(b);
      }
      state.items.set(change.item.id, change.item);
      state.skus.set(change.item.sku, change.item.id);
      for (const b of change.item.barcodes) state.barcodes.set(b, change.item.id);
      return state;
    }
    case 'putPosition': {
      const p = change.position;
      const previous = state.positions.get(p.id);
      if (previous) {
        state.codes.delete(previous.code);
        if (previous.parentId) removeFromIndex(state.children, previous.parentId, p.id);
      }
      state.positions.set(p.id, p);
      state.codes.set(p.code, p.id);
      if (p.parentId) addToIndex(state.children, p.parentId, p.id);
      return state;
    }
    case 'setParent': {
      const p = state.positions.get(change.positionId);
      if (!p) return state;
      if (p.parentId) removeFromIndex(state.children, p.parentId, p.id);
      state.positions.set(p.id, { ...p, parentId: change.parentId });
      addToIndex(state.children, change.parentId, p.id);
      return state;
    }
    case 'retire': {
      const p = state.positions.get(change.positionId);
      if (p) state.positions.set(p.id, { ...p, retired: true });
      return state;
    }
    case 'addStock': {
      const key = stockKey(change.itemId, change.positionId, change.lot, change.serial);
      const previous = state.stock.get(key);
      const quantity = roundQty((previous?.quantity ?? 0) + change.delta);
      if (qtyIsZero(quantity)) {
        if (previous) {
          state.stock.delete(key);
          removeFromIndex(state.byPosition, change.positionId, key);
          removeFromIndex(state.byItem, change.itemId, key);
          if (change.serial) removeFromIndex(state.bySerial, change.serial, key);
        }
        return state;
      }
      state.stock.set(key, {
        itemId: change.itemId,
        positionId: change.positionId,
        lot: change.lot,
        serial: change.serial,
        quantity,
      });
      if (!previous) {
        addToIndex(state.byPosition, change.positionId, key);
        addToIndex(state.byItem, change.itemId, key);
        if (change.serial) addToIndex(state.bySerial, change.serial, key);
      }
      return state;
    }
    case 'putLot': {
      const key = lotKey(change.lot.itemId, change.lot.lot);
      const previous = state.lots.get(key);
      // An expiry once known is kept: a later receipt without one does not erase it.
      const expiresOn = change.lot.expiresOn ?? previous?.expiresOn ?? null;
      state.lots.set(key, { ...change.lot, expiresOn });
      addToIndex(state.lotsByCode, change.lot.lot, key);
      return state;
    }
    case 'putMovement':
      state.movements.set(change.movement.id, change.movement);
      return state;
    case 'markReversed': {
      const m = state.movements.get(change.movementId);
      if (m) {
        state.movements.set(m.id, {
          ...m,
          reversedQuantity: roundQty(m.reversedQuantity + change.quantity),
          reversedBy: change.reversalId,
        });
      }
      return state;
    }
    default: {
      const unreachable: never = change;
      return unreachable;
    }
  }
}

// ─── Entries: one record of the state, by kind and key ────────────────────────────────────

/**
 * The records `InventoryState` is made of, by kind. Everything else in it (`skus`, `codes`,
 * `children`, `byPosition`, …) is an index derived from these. An entry is what a savepoint
 * remembers and what a replica ships: putting every changed entry back restores the state
 * exactly, indexes included.
 */
export interface EntryValues {
  readonly item: Item;
  readonly position: Position;
  readonly stock: StockLine;
  readonly lot: LotInfo;
  readonly movement: Movement;
}
export type EntryKind = keyof EntryValues;
export const ENTRY_KINDS: readonly EntryKind[] = ['item', 'position', 'stock', 'lot', 'movement'];

/** The entries one change writes: their values before it are all an undo needs. */
export function entriesOf(change: StateChange): readonly (readonly [EntryKind, string])[] {
  switch (change.op) {
    case 'putItem':
      return [['item', change.item.id]];
    case 'putPosition':
      return [['position', change.position.id]];
    case 'setParent':
    case 'retire':
      return [['position', change.positionId]];
    case 'addStock':
      return [['stock', stockKey(change.itemId, change.positionId, change.lot, change.serial)]];
    case 'putLot':
      return [['lot', lotKey(change.lot.itemId, change.lot.lot)]];
    case 'putMovement':
      return [['movement', change.movement.id]];
    case 'markReversed':
      return [['movement', change.movementId]];
    default: {
      const unreachable: never = change;
      return unreachable;
    }
  }
}

const entryMaps = (state: InventoryState) =>
  ({
    item: state.items,
    position: state.positions,
    stock: state.stock,
    lot: state.lots,
    movement: state.movements,
  }) as { readonly [K in EntryKind]: Map<string, EntryValues[K]> };

export function entryOf<K extends EntryKind>(
  state: InventoryState,
  kind: K,
  key: string,
): EntryValues[K] | undefined {
  return entryMaps(state)[kind].get(key);
}

/**
 * Sets one entry to `value` (`undefined`: removes it), keeping every index right. Used to roll
 * a savepoint back and to apply what another process committed.
 */
export function putEntry<K extends EntryKind>(
  state: InventoryState,
  kind: K,
  key: string,
  value: EntryValues[K] | undefined,
): void {
  const s = state as unknown as {
    items: Map<string, Item>;
    skus: Map<string, string>;
    barcodes: Map<string, string>;
    positions: Map<string, Position>;
    codes: Map<string, string>;
    children: Map<string, Set<string>>;
    stock: Map<string, StockLine>;
    byPosition: Map<string, Set<string>>;
    byItem: Map<string, Set<string>>;
    bySerial: Map<string, Set<string>>;
    lots: Map<string, LotInfo>;
    lotsByCode: Map<string, Set<string>>;
    movements: Map<string, Movement>;
  };
  switch (kind) {
    case 'item': {
      const cur = s.items.get(key);
      if (cur) {
        if (s.skus.get(cur.sku) === key) s.skus.delete(cur.sku);
        for (const b of cur.barcodes) if (s.barcodes.get(b) === key) s.barcodes.delete(b);
        s.items.delete(key);
      }
      const v = value as Item | undefined;
      if (v) {
        s.items.set(key, v);
        s.skus.set(v.sku, key);
        for (const b of v.barcodes) s.barcodes.set(b, key);
      }
      return;
    }
    case 'position': {
      const cur = s.positions.get(key);
      if (cur) {
        if (s.codes.get(cur.code) === key) s.codes.delete(cur.code);
        if (cur.parentId) removeFromIndex(s.children, cur.parentId, key);
        s.positions.delete(key);
      }
      const v = value as Position | undefined;
      if (v) {
        s.positions.set(key, v);
        s.codes.set(v.code, key);
        if (v.parentId) addToIndex(s.children, v.parentId, key);
      }
      return;
    }
    case 'stock': {
      const cur = s.stock.get(key);
      if (cur) {
        s.stock.delete(key);
        removeFromIndex(s.byPosition, cur.positionId, key);
        removeFromIndex(s.byItem, cur.itemId, key);
        if (cur.serial) removeFromIndex(s.bySerial, cur.serial, key);
      }
      const v = value as StockLine | undefined;
      if (v) {
        s.stock.set(key, v);
        addToIndex(s.byPosition, v.positionId, key);
        addToIndex(s.byItem, v.itemId, key);
        if (v.serial) addToIndex(s.bySerial, v.serial, key);
      }
      return;
    }
    case 'lot': {
      const cur = s.lots.get(key);
      if (cur) {
        s.lots.delete(key);
        removeFromIndex(s.lotsByCode, cur.lot, key);
      }
      const v = value as LotInfo | undefined;
      if (v) {
        s.lots.set(key, v);
        addToIndex(s.lotsByCode, v.lot, key);
      }
      return;
    }
    case 'movement': {
      const v = value as Movement | undefined;
      if (v) s.movements.set(key, v);
      else s.movements.delete(key);
      return;
    }
    default: {
      const unreachable: never = kind;
      return unreachable;
    }
  }
}

/** Folds one event into the state (in place; see `InventoryState`). */
export function evolve(state: InventoryState, event: IdentifiedEvent): InventoryState {
  for (const change of changesOf(event)) applyChange(state, change);
  return state;
}

/** An independent copy (Maps and index Sets copied; records are immutable and shared). */
export function cloneState(state: InventoryState): InventoryState {
  const copyIndex = <K, V>(m: Map<K, Set<V>>) =>
    new Map([...m].map(([k, v]) => [k, new Set(v)] as const));
  return {
    items: new Map(state.items),
    skus: new Map(state.skus),
    barcodes: new Map(state.barcodes),
    positions: new Map(state.positions),
    codes: new Map(state.codes),
    children: copyIndex(state.children),
    stock: new Map(state.stock),
    byPosition: copyIndex(state.byPosition),
    byItem: copyIndex(state.byItem),
    bySerial: copyIndex(state.bySerial),
    lots: new Map(state.lots),
    lotsByCode: copyIndex(state.lotsByCode),
    movements: new Map(state.movements),
  };
}

const linesOf = (state: InventoryState, keys: Set<string> | undefined): StockLine[] => {
  if (!keys) return [];
  const out: StockLine[] = [];
  for (const k of keys) {
    const line = state.stock.get(k);
    if (line) out.push(line);
  }
  return out;
};

/** The in-memory state as an `InventoryView`: the reference every adapter is tested against. */
export function viewOf(state: InventoryState): InventoryView {
  return {
    item: (id) => state.items.get(id),
    itemBySku: (sku) => {
      const id = state.skus.get(sku);
      return id === undefined ? undefined : state.items.get(id);
    },
    itemByBarcode: (barcode) => {
      const id = state.barcodes.get(barcode);
      return id === undefined ? undefined : state.items.get(id);
    },
    position: (id) => state.positions.get(id),
    positionByCode: (code) => {
      const id = state.codes.get(code);
      return id === undefined ? undefined : state.positions.get(id);
    },
    children: (id) => {
      const ids = state.children.get(id);
      if (!ids) return [];
      const out: Position[] = [];
      for (const c of ids) {
        const p = state.positions.get(c);
        if (p) out.push(p);
      }
      return out;
    },
    quantity: (itemId, positionId, lot, serial) =>
      state.stock.get(stockKey(itemId, positionId, lot, serial))?.quantity ?? 0,
    linesAt: (positionId) => linesOf(state, state.byPosition.get(positionId)),
    linesOfItem: (itemId) => linesOf(state, state.byItem.get(itemId)),
    linesWithSerial: (serial) => linesOf(state, state.bySerial.get(serial)),
    lotsWithCode: (lot) => {
      const keys = state.lotsByCode.get(lot);
      if (!keys) return [];
      const out: LotInfo[] = [];
      for (const k of keys) {
        const info = state.lots.get(k);
        if (info) out.push(info);
      }
      return out;
    },
    movement: (id) => state.movements.get(id),
  };
}
