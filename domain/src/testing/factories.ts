import type { AdjustmentReason, PositionKind, Tracking } from '../inventory/commands.js';
import type { InventoryEvent } from '../inventory/events.js';
import { SITE } from '../inventory/state.js';
import type { EventId, ItemId, Lot, PositionId, Serial } from '../shared/ids.js';
import { asEventId, asItemId, asLot, asPositionId, asSerial } from '../shared/ids.js';
import type { Mutation } from './spec.js';
import { normalizeBarcode } from '../codes/gtin.js';

/**
 * The acceptance scenarios' warehouse: bins P, Q, R; mobile pallet C; items A (plain),
 * L (lot-tracked) and S (serialized). Ids are stable strings so specs read like the floor.
 */
export const P = asPositionId('pos-P');
export const Q = asPositionId('pos-Q');
export const R = asPositionId('pos-R');
export const C = asPositionId('pos-C');
export const ZONE = asPositionId('pos-Z');
export const A = asItemId('item-A');
export const L = asItemId('item-L');
export const S = asItemId('item-S');

export const lot = (s: string): Lot => asLot(s);
export const serial = (s: string): Serial => asSerial(s);
export const eventId = (s: string): EventId => asEventId(s);

export const itemDefined = (
  itemId: ItemId,
  sku: string,
  tracking: Tracking,
  barcodes: string[] = [],
): InventoryEvent => ({
  type: 'ItemDefined',
  data: {
    itemId,
    sku,
    name: `Item ${sku}`,
    tracking,
    barcodes: barcodes.map(normalizeBarcode),
    uom: 'pcs',
  },
});

export const positionDefined = (
  positionId: PositionId,
  code: string,
  kind: PositionKind,
  parentId: PositionId = SITE,
  extra: { fixed?: boolean; disposable?: boolean } = {},
): InventoryEvent => ({
  type: 'PositionDefined',
  data: {
    positionId,
    code,
    parentId,
    kind,
    fixed: extra.fixed ?? kind !== 'container',
    disposable: extra.disposable ?? false,
  },
});

export const received = (
  itemId: ItemId,
  positionId: PositionId,
  quantity: number,
  extra: { lot?: Lot; serial?: Serial; expiresOn?: string } = {},
): InventoryEvent => ({ type: 'StockReceived', data: { itemId, positionId, quantity, ...extra } });

/** Zone Z with bins P, Q, R; pallet C on P; items A, L, S. */
export function warehouse(): InventoryEvent[] {
  return [
    positionDefined(ZONE, 'Z', 'zone'),
    positionDefined(P, 'P', 'bin', ZONE),
    positionDefined(Q, 'Q', 'bin', ZONE),
    positionDefined(R, 'R', 'bin', ZONE),
    positionDefined(C, 'C', 'container', P),
    itemDefined(A, 'A', 'none', ['4006381333931']),
    itemDefined(L, 'L', 'lot', ['09506000134352']),
    itemDefined(S, 'S', 'serial'),
  ];
}

// Commands, as a device would push them.
type Opt = { lot?: string; serial?: string };
export const receiveStock = (
  itemId: string,
  positionId: string,
  quantity: number,
  extra: Opt & { expiresOn?: string } = {},
): Mutation => ({
  name: 'receiveStock',
  args: { itemId, positionId, quantity, ...extra },
});
export const moveStock = (
  itemId: string,
  from: string,
  to: string,
  quantity: number,
  extra: Opt = {},
): Mutation => ({
  name: 'moveStock',
  args: { itemId, from, to, quantity, ...extra },
});
export const shipStock = (
  itemId: string,
  from: string,
  quantity: number,
  extra: Opt = {},
): Mutation => ({
  name: 'shipStock',
  args: { itemId, from, quantity, ...extra },
});
export const adjustStock = (
  itemId: string,
  positionId: string,
  delta: number,
  reason: AdjustmentReason | undefined,
  extra: Opt = {},
): Mutation => ({
  name: 'adjustStock',
  args: { itemId, positionId, delta, ...(reason ? { reason } : {}), ...extra },
});
export const moveContainer = (containerId: string, to: string): Mutation => ({
  name: 'moveContainer',
  args: { containerId, to },
});
export const reverseMovement = (eventId: string, quantity?: number): Mutation => ({
  name: 'reverseMovement',
  args: { eventId, ...(quantity !== undefined ? { quantity } : {}) },
});
