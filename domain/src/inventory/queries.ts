import type { ItemId, Lot, PositionId, Serial } from '../shared/ids.js';
import { roundQty } from '../shared/quantity.js';
import type { InventoryView, Position, StockLine } from './state.js';

/**
 * Read-side helpers the server, the device and the workers share. They work on any
 * `InventoryView`, so the same answer comes from SQLite and from the device's replica.
 */

export interface StockFilter {
  readonly itemId?: ItemId;
  readonly positionId?: PositionId;
  readonly lot?: Lot;
  readonly serial?: Serial;
  /** With `positionId`: include everything inside it, at any depth. */
  readonly nested?: boolean;
}

/** Stock lines matching the filter (at least one of item, position or serial). */
export function stockLines(view: InventoryView, f: StockFilter): StockLine[] {
  let lines: readonly StockLine[];
  if (f.positionId !== undefined) {
    lines = f.nested ? contentsOf(view, f.positionId).lines : view.linesAt(f.positionId);
  } else if (f.serial !== undefined) {
    lines = view.linesWithSerial(f.serial);
  } else if (f.itemId !== undefined) {
    lines = view.linesOfItem(f.itemId);
  } else {
    throw new Error('stockLines needs an item, a position or a serial');
  }
  return lines.filter(
    (l) =>
      (f.itemId === undefined || l.itemId === f.itemId) &&
      (f.lot === undefined || l.lot === f.lot) &&
      (f.serial === undefined || l.serial === f.serial),
  );
}

export const totalQuantity = (lines: readonly StockLine[]): number =>
  roundQty(lines.reduce((sum, l) => sum + l.quantity, 0));

export interface Contents {
  /** Every position inside, at any depth, parents before children, with their depth (1 = direct child). */
  readonly positions: readonly { readonly position: Position; readonly depth: number }[];
  /** Stock at the position itself and everywhere inside it. */
  readonly lines: readonly StockLine[];
}

/** "Everything inside pallet P": nested positions and all the stock they hold. */
export function contentsOf(view: InventoryView, positionId: PositionId): Contents {
  const positions: { position: Position; depth: number }[] = [];
  const lines: StockLine[] = [...view.linesAt(positionId)];
  const queue: { id: PositionId; depth: number }[] = [{ id: positionId, depth: 0 }];
  const seen = new Set<PositionId>([positionId]);
  for (let i = 0; i < queue.length; i++) {
    const { id, depth } = queue[i] as { id: PositionId; depth: number };
    for (const child of view.children(id)) {
      if (seen.has(child.id)) continue; // a corrupt cycle must not hang a read
      seen.add(child.id);
      positions.push({ position: child, depth: depth + 1 });
      lines.push(...view.linesAt(child.id));
      queue.push({ id: child.id, depth: depth + 1 });
    }
  }
  return { positions, lines };
}

/** "Path of bin B": from the top-level position down to B (the site root left out). */
export function pathOf(view: InventoryView, positionId: PositionId): Position[] {
  const path: Position[] = [];
  const seen = new Set<PositionId>();
  let current = view.position(positionId);
  while (current && !current.virtual && !seen.has(current.id)) {
    seen.add(current.id);
    path.unshift(current);
    current = current.parentId === null ? undefined : view.position(current.parentId);
  }
  return path;
}

/** `WH1 / A / A-01-03`, the way people read a location. */
export const pathLabel = (view: InventoryView, positionId: PositionId): string =>
  pathOf(view, positionId)
    .map((p) => p.code)
    .join(' / ');
