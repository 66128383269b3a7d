import type {
  InventoryState,
  InventoryView,
  Item,
  ItemId,
  Position,
  PositionId,
  StockLine,
} from '@floorsync/domain';
import { foldEvent, initialState } from '@floorsync/domain';

/**
 * Comparisons the checks share: inventory as the server's read models have it, as a device's
 * engine holds it, and as the fold of the log gives it — each brought to one canonical form
 * (stock lines with a quantity, items, non-virtual positions), then diffed.
 */
export interface Inventory {
  readonly stock: readonly StockLine[];
  readonly items: readonly Item[];
  readonly positions: readonly Position[];
}

/** JSON with sorted keys and without `undefined` (or `null` names): one spelling per value. */
export function canon(v: unknown): string {
  return JSON.stringify(sortKeys(v));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  }
  return v;
}

const stockLine = (l: StockLine) =>
  `${l.itemId}@${l.positionId}/${l.lot ?? ''}/${l.serial ?? ''}=${l.quantity}`;

const itemLine = (i: Item) =>
  canon({
    id: i.id,
    sku: i.sku,
    name: i.name,
    tracking: i.tracking,
    barcodes: i.barcodes,
    uom: i.uom,
  });

const positionLine = (p: Position) =>
  canon({
    id: p.id,
    code: p.code,
    parentId: p.parentId,
    kind: p.kind,
    fixed: p.fixed,
    disposable: p.disposable,
    retired: p.retired,
    name: p.name ?? undefined,
  });

/** The canonical lines of an inventory, by part. */
export function canonical(inv: Inventory): {
  stock: string[];
  items: string[];
  positions: string[];
} {
  return {
    stock: inv.stock
      .filter((l) => l.quantity !== 0)
      .map(stockLine)
      .sort(),
    items: inv.items.map(itemLine).sort(),
    positions: inv.positions
      .filter((p) => !p.virtual)
      .map(positionLine)
      .sort(),
  };
}

/** The inventory an engine's view holds, for the ids this simulation ever used. */
export function inventoryOfView(
  view: InventoryView,
  universe: { items: Iterable<string>; positions: Iterable<string> },
): Inventory {
  const items: Item[] = [];
  const stock: StockLine[] = [];
  for (const id of universe.items) {
    const item = view.item(id as ItemId);
    if (item) items.push(item);
    stock.push(...view.linesOfItem(id as ItemId));
  }
  const positions: Position[] = [];
  for (const id of universe.positions) {
    const p = view.position(id as PositionId);
    if (p) positions.push(p);
  }
  return { stock, items, positions };
}

export function inventoryOfState(state: InventoryState): Inventory {
  return {
    stock: [...state.stock.values()],
    items: [...state.items.values()],
    positions: [...state.positions.values()],
  };
}

/** Inventory state folded from a log (any event type; non-inventory ones change nothing). */
export function foldLog(
  events: Iterable<{ readonly id: string; readonly type: string; readonly data: unknown }>,
): InventoryState {
  let state = initialState();
  for (const e of events) state = foldEvent(state, e);
  return state;
}

/** Differences between two inventories, in words (empty when equal). */
export function diffInventories(
  a: Inventory,
  b: Inventory,
  aName: string,
  bName: string,
): string[] {
  const ca = canonical(a);
  const cb = canonical(b);
  const out: string[] = [];
  for (const part of ['stock', 'items', 'positions'] as const) {
    out.push(...diffLines(ca[part], cb[part], `${part}`, aName, bName));
  }
  return out;
}

/** Lines in one list and not the other (at most a few of each, and how many in all). */
export function diffLines(
  a: readonly string[],
  b: readonly string[],
  what: string,
  aName: string,
  bName: string,
): string[] {
  const sa = new Set(a);
  const sb = new Set(b);
  const onlyA = a.filter((x) => !sb.has(x));
  const onlyB = b.filter((x) => !sa.has(x));
  if (onlyA.length === 0 && onlyB.length === 0) return [];
  const show = (xs: string[]) =>
    xs.slice(0, 4).join('; ') + (xs.length > 4 ? `; … (${xs.length} in all)` : '');
  return [
    `${what}: ${aName} ≠ ${bName}` +
      (onlyA.length > 0 ? ` | only ${aName}: ${show(onlyA)}` : '') +
      (onlyB.length > 0 ? ` | only ${bName}: ${show(onlyB)}` : ''),
  ];
}

/**
 * Snapshot entries (`s/<kind>/…` → value) in canonical form, for comparing a device's
 * persisted replica with the snapshot the server would send a new device. Conflicts are left
 * out (a device is sent them in its snapshot and never updates them from events), and stock
 * entries without a quantity (a line that went to 0) are no line.
 */
export function canonicalEntries(entries: Iterable<readonly [string, unknown]>): string[] {
  const out: string[] = [];
  for (const [key, value] of entries) {
    if (value === null || value === undefined || key.startsWith('s/conflict/')) continue;
    if (key.startsWith('s/stock/') && (value as { quantity?: number }).quantity === 0) continue;
    out.push(`${key} ${canon(value)}`);
  }
  return out.sort();
}
