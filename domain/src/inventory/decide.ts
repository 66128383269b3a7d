import { barcodeProblem, normalizeBarcode } from '../codes/gtin.js';
import type { ConflictDraft, Decision, FactMode, RejectionCode } from '../shared/decision.js';
import { conflictText } from '../shared/conflict-text.js';
import { accept, reject } from '../shared/decision.js';
import type { ItemId, Lot, PositionId, Serial } from '../shared/ids.js';
import { qtyEquals, qtyIsZero, qtyLess, roundQty } from '../shared/quantity.js';
import type { Actor, Role } from '../shared/roles.js';
import { roleAllows } from '../shared/roles.js';
import type { CommandArgs, InventoryCommand, InventoryCommandName } from './commands.js';
import type { InventoryEvent } from './events.js';
import type { InventoryView, Item, Position } from './state.js';
import { OUTSIDE, PRODUCTION, SITE } from './state.js';

export interface InventoryContext {
  readonly actor: Actor;
  /** How physical facts that contradict state are treated (see `FactMode`). */
  readonly mode: FactMode;
}

export type InventoryDecision = Decision<InventoryEvent>;

/** The least role that may run each command. Checked inside `decide`, so every path enforces it. */
export const INVENTORY_ROLES: Readonly<Record<InventoryCommandName, Role>> = {
  defineItem: 'supervisor',
  definePosition: 'supervisor',
  retirePosition: 'supervisor',
  reverseMovement: 'supervisor',
  receiveStock: 'operator',
  moveStock: 'operator',
  moveContainer: 'operator',
  shipStock: 'operator',
  adjustStock: 'operator',
};

/**
 * Thrown inside a decider to short-circuit with a rejection and always caught in `decide`:
 * callers only ever see rejections as values.
 */
class Rejection extends Error {
  constructor(
    readonly code: RejectionCode,
    message: string,
  ) {
    super(message);
  }
}
const refuse = (code: RejectionCode, message: string): never => {
  throw new Rejection(code, message);
};

/** Drops `undefined` members so events carry no `"lot": undefined` noise. */
const compact = <T extends object>(o: T): T => {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as T;
};

// ─── Shared checks ──────────────────────────────────────────────────────────────────────────

const describe = (p: Position) => p.code;

function needItem(view: InventoryView, id: ItemId): Item {
  return view.item(id) ?? refuse('UNKNOWN_ITEM', `unknown item ${id}`);
}

function needPosition(view: InventoryView, id: PositionId): Position {
  return view.position(id) ?? refuse('UNKNOWN_POSITION', `unknown position ${id}`);
}

/** A position that can hold stock: real (not an endpoint), and — when receiving — not retired. */
function stockPosition(view: InventoryView, id: PositionId, receiving: boolean): Position {
  const p = needPosition(view, id);
  if (p.virtual)
    refuse('VIRTUAL_POSITION', `${describe(p)} is a virtual endpoint and holds no stock`);
  if (receiving && p.retired)
    refuse('POSITION_RETIRED', `position ${describe(p)} is retired and receives nothing`);
  return p;
}

/** Lot/serial rules of the item's tracking. Returns the normalized lot and serial. */
function tracked(
  item: Item,
  lot: Lot | undefined,
  serial: Serial | undefined,
  quantity: number,
): { lot: Lot | null; serial: Serial | null } {
  switch (item.tracking) {
    case 'none':
      if (lot !== undefined)
        refuse('LOT_NOT_ALLOWED', `${item.sku} is not lot-tracked; do not give a lot`);
      if (serial !== undefined)
        refuse('SERIAL_NOT_ALLOWED', `${item.sku} is not serialized; do not give a serial`);
      return { lot: null, serial: null };
    case 'lot':
      if (lot === undefined)
        refuse('LOT_REQUIRED', `${item.sku} is lot-tracked: scan or enter the lot`);
      if (serial !== undefined)
        refuse('SERIAL_NOT_ALLOWED', `${item.sku} is not serialized; do not give a serial`);
      return { lot: lot ?? null, serial: null };
    case 'serial':
      if (serial === undefined)
        refuse('SERIAL_REQUIRED', `${item.sku} is serialized: scan the serial number`);
      if (!qtyEquals(Math.abs(quantity), 1)) {
        refuse(
          'SERIAL_QUANTITY',
          `${item.sku} is serialized: each serial is exactly 1, not ${quantity}`,
        );
      }
      return { lot: lot ?? null, serial: serial ?? null };
    default: {
      const unreachable: never = item.tracking;
      return unreachable;
    }
  }
}

/**
 * Stock leaving a line. When the line holds less than asked: refused in `strict` mode; in
 * `record` mode the movement happened on the floor, so it is kept and a conflict flags the
 * line that goes negative (or the serial that was not where the device thought).
 */
function outflow(
  view: InventoryView,
  ctx: InventoryContext,
  item: Item,
  position: Position,
  line: { lot: Lot | null; serial: Serial | null },
  quantity: number,
  conflicts: ConflictDraft[],
): void {
  const available = view.quantity(item.id, position.id, line.lot, line.serial);
  if (!qtyLess(available, quantity)) return;
  if (line.serial !== null) {
    const elsewhere = view
      .linesWithSerial(line.serial)
      .filter((l) => l.itemId === item.id && l.quantity > 0 && l.positionId !== position.id);
    const where = elsewhere.map((l) => view.position(l.positionId)?.code ?? l.positionId);
    const message = `serial ${line.serial} of ${item.sku} is not at ${describe(position)}${
      where.length > 0 ? ` (recorded at ${where.join(', ')})` : ' (not in stock)'
    }`;
    if (ctx.mode === 'strict') refuse('SERIAL_ELSEWHERE', message);
    const said = { serial: line.serial, sku: item.sku, position: describe(position) };
    conflicts.push({
      kind: 'serial-elsewhere',
      key: `serial-elsewhere/${item.id}/${line.serial}`,
      message,
      detail: {
        itemId: item.id,
        serial: line.serial,
        expectedAt: position.id,
        recordedAt: elsewhere.map((l) => l.positionId),
        text:
          where.length > 0
            ? conflictText('SERIAL_NOT_AT', { ...said, recordedAt: where.join(', ') })
            : conflictText('SERIAL_NOT_IN_STOCK', said),
      },
    });
    return;
  }
  const resulting = roundQty(available - quantity);
  const what = `${item.sku}${line.lot !== null ? ` lot ${line.lot}` : ''}`;
  const message = `${describe(position)} holds ${available} ${what}, ${quantity} taken: ${resulting}`;
  if (ctx.mode === 'strict') {
    refuse(
      'INSUFFICIENT_STOCK',
      `only ${available} ${what} at ${describe(position)}, cannot take ${quantity}`,
    );
  }
  const said = {
    position: describe(position),
    sku: item.sku,
    available,
    taken: quantity,
    resulting,
  };
  const text =
    line.lot !== null
      ? conflictText('LOT_BELOW_ZERO', { ...said, lot: line.lot })
      : conflictText('STOCK_BELOW_ZERO', said);
  conflicts.push({
    kind: 'negative-stock',
    key: `negative-stock/${item.id}/${position.id}/${line.lot ?? ''}`,
    message,
    detail: {
      itemId: item.id,
      positionId: position.id,
      lot: line.lot,
      available,
      requested: quantity,
      resulting,
      text,
    },
  });
}

/** A serial entering stock must not already be in stock anywhere (a serial is in one place). */
function serialInflow(
  view: InventoryView,
  ctx: InventoryContext,
  item: Item,
  serial: Serial | null,
  conflicts: ConflictDraft[],
): void {
  if (serial === null) return;
  const present = view
    .linesWithSerial(serial)
    .filter((l) => l.itemId === item.id && l.quantity > 0);
  if (present.length === 0) return;
  const where = present.map((l) => view.position(l.positionId)?.code ?? l.positionId).join(', ');
  const message = `serial ${serial} of ${item.sku} is already in stock at ${where}`;
  if (ctx.mode === 'strict') refuse('SERIAL_ELSEWHERE', message);
  conflicts.push({
    kind: 'serial-elsewhere',
    key: `serial-elsewhere/${item.id}/${serial}`,
    message,
    detail: {
      itemId: item.id,
      serial,
      recordedAt: present.map((l) => l.positionId),
      text: conflictText('SERIAL_IN_STOCK', { serial, sku: item.sku, where }),
    },
  });
}

/** Every position from `id` up to the root (id first). Guards against corrupt cycles. */
function ancestry(view: InventoryView, id: PositionId): PositionId[] {
  const out: PositionId[] = [];
  let current: PositionId | null = id;
  while (current !== null && out.length < 10_000) {
    out.push(current);
    current = view.position(current)?.parentId ?? null;
  }
  return out;
}

/**
 * Is the subtree at `root` empty once `taken` leaves it? Empty means no stock line with a
 * quantity and no active child position. `taken` is an outflow about to happen, or a child
 * container about to move out.
 */
function emptyAfter(
  view: InventoryView,
  root: PositionId,
  taken: { readonly key?: string; readonly quantity?: number; readonly childId?: PositionId },
): boolean {
  const stack: PositionId[] = [root];
  while (stack.length > 0) {
    const id = stack.pop() as PositionId;
    for (const l of view.linesAt(id)) {
      const key = `${l.itemId}/${l.positionId}/${l.lot ?? ''}/${l.serial ?? ''}`;
      const left = key === taken.key ? roundQty(l.quantity - (taken.quantity ?? 0)) : l.quantity;
      if (!qtyIsZero(left)) return false;
    }
    for (const child of view.children(id)) {
      if (child.retired || child.id === taken.childId) continue;
      if (id === root) return false; // an active child position (even an empty tote) keeps it in use
      stack.push(child.id);
    }
  }
  return true;
}

/** A disposable container that the movement empties is retired in the same decision. */
function retireIfEmptied(
  view: InventoryView,
  position: Position,
  taken: Parameters<typeof emptyAfter>[2],
): InventoryEvent[] {
  if (!position.disposable || position.retired || !emptyAfter(view, position.id, taken)) return [];
  return [
    { type: 'PositionRetired', data: { positionId: position.id, reason: 'disposable-empty' } },
  ];
}

const lineKey = (itemId: ItemId, positionId: PositionId, lot: Lot | null, serial: Serial | null) =>
  `${itemId}/${positionId}/${lot ?? ''}/${serial ?? ''}`;

// ─── The deciders ───────────────────────────────────────────────────────────────────────────

type Decider<N extends InventoryCommandName> = (
  view: InventoryView,
  args: CommandArgs<N>,
  ctx: InventoryContext,
) => InventoryDecision;

const defineItem: Decider<'defineItem'> = (view, a) => {
  const existing = view.item(a.itemId);
  const bySku = view.itemBySku(a.sku);
  if (bySku && bySku.id !== a.itemId)
    refuse('DUPLICATE_SKU', `SKU ${a.sku} already belongs to ${bySku.name}`);
  const barcodes: string[] = [];
  for (const raw of a.barcodes ?? []) {
    const problem = barcodeProblem(raw);
    if (problem) refuse('INVALID_BARCODE', problem);
    const code = normalizeBarcode(raw);
    const owner = view.itemByBarcode(code);
    if (owner && owner.id !== a.itemId)
      refuse('DUPLICATE_BARCODE', `barcode ${raw} already belongs to ${owner.sku}`);
    if (!barcodes.includes(code)) barcodes.push(code);
  }
  if (existing && existing.tracking !== a.tracking && view.linesOfItem(a.itemId).length > 0) {
    refuse(
      'TRACKING_LOCKED',
      `${existing.sku} has stock: its tracking cannot change from ${existing.tracking} to ${a.tracking}`,
    );
  }
  return accept([
    {
      type: 'ItemDefined',
      data: {
        itemId: a.itemId,
        sku: a.sku,
        name: a.name,
        tracking: a.tracking,
        barcodes,
        uom: a.uom ?? existing?.uom ?? 'pcs',
      },
    },
  ]);
};

const definePosition: Decider<'definePosition'> = (view, a) => {
  const existing = view.position(a.positionId);
  const byCode = view.positionByCode(a.code);
  if (byCode && byCode.id !== a.positionId)
    refuse('DUPLICATE_CODE', `position code ${a.code} is already used`);
  if (existing?.virtual) refuse('VIRTUAL_POSITION', `${existing.code} is a virtual endpoint`);
  if (existing?.retired) refuse('POSITION_RETIRED', `position ${existing.code} is retired`);
  if (existing && existing.kind !== a.kind) {
    refuse(
      'KIND_CHANGE',
      `position ${existing.code} is a ${existing.kind}; it cannot become a ${a.kind}`,
    );
  }
  if (existing && a.parentId !== undefined && a.parentId !== existing.parentId) {
    refuse(
      'PARENT_CHANGE',
      `position ${existing.code} already exists; move containers with moveContainer`,
    );
  }
  const parentId = a.parentId ?? existing?.parentId ?? SITE;
  const parent = needPosition(view, parentId);
  if (parent.id === OUTSIDE || parent.id === PRODUCTION) {
    refuse('VIRTUAL_POSITION', `${parent.code} is a virtual endpoint and contains no positions`);
  }
  if (parent.retired) refuse('POSITION_RETIRED', `parent ${parent.code} is retired`);
  const fixed = a.fixed ?? a.kind !== 'container';
  if (a.disposable && a.kind !== 'container') {
    refuse('VALIDATION_FAILED', 'only containers can be disposable');
  }
  return accept([
    {
      type: 'PositionDefined',
      data: compact({
        positionId: a.positionId,
        code: a.code,
        parentId,
        kind: a.kind,
        fixed,
        disposable: a.disposable ?? existing?.disposable ?? false,
        name: a.name ?? existing?.name,
      }),
    },
  ]);
};

const retirePosition: Decider<'retirePosition'> = (view, a) => {
  const p = needPosition(view, a.positionId);
  if (p.virtual) refuse('VIRTUAL_POSITION', `${p.code} is a virtual endpoint`);
  if (p.retired) refuse('STALE_INTENT', `position ${p.code} is already retired`);
  if (!emptyAfter(view, p.id, {})) {
    refuse('POSITION_NOT_EMPTY', `position ${p.code} still holds stock or active positions`);
  }
  return accept([{ type: 'PositionRetired', data: { positionId: p.id, reason: 'manual' } }]);
};

const receiveStock: Decider<'receiveStock'> = (view, a, ctx) => {
  const item = needItem(view, a.itemId);
  stockPosition(view, a.positionId, true);
  const line = tracked(item, a.lot, a.serial, a.quantity);
  if (a.expiresOn !== undefined && line.lot === null) {
    refuse('VALIDATION_FAILED', `an expiry date belongs to a lot; ${item.sku} is not lot-tracked`);
  }
  const conflicts: ConflictDraft[] = [];
  serialInflow(view, ctx, item, line.serial, conflicts);
  return accept(
    [{ type: 'StockReceived', data: compact({ ...a, quantity: roundQty(a.quantity) }) }],
    conflicts,
  );
};

const moveStock: Decider<'moveStock'> = (view, a, ctx) => {
  if (a.from === a.to) refuse('SAME_POSITION', 'source and destination are the same position');
  const item = needItem(view, a.itemId);
  const from = stockPosition(view, a.from, false);
  stockPosition(view, a.to, true);
  const line = tracked(item, a.lot, a.serial, a.quantity);
  const quantity = roundQty(a.quantity);
  const conflicts: ConflictDraft[] = [];
  outflow(view, ctx, item, from, line, quantity, conflicts);
  return accept(
    [
      { type: 'StockMoved', data: compact({ ...a, quantity }) },
      ...retireIfEmptied(view, from, {
        key: lineKey(item.id, from.id, line.lot, line.serial),
        quantity,
      }),
    ],
    conflicts,
  );
};

const moveContainer: Decider<'moveContainer'> = (view, a) => {
  const container = needPosition(view, a.containerId);
  if (container.virtual || container.fixed) {
    refuse('FIXED_POSITION', `${container.code} is a fixed position and cannot be moved`);
  }
  if (container.retired) refuse('POSITION_RETIRED', `container ${container.code} is retired`);
  const to = needPosition(view, a.to);
  if (to.id === OUTSIDE || to.id === PRODUCTION) {
    refuse('VIRTUAL_POSITION', `${to.code} is a virtual endpoint; ship the contents instead`);
  }
  if (to.retired) refuse('POSITION_RETIRED', `position ${to.code} is retired and receives nothing`);
  if (to.id === container.parentId)
    refuse('SAME_POSITION', `${container.code} is already at ${to.code}`);
  if (ancestry(view, to.id).includes(container.id)) {
    refuse(
      'CONTAINER_CYCLE',
      `${to.code} is inside ${container.code}; a container cannot go into itself`,
    );
  }
  const from = container.parentId ?? SITE;
  const oldParent = view.position(from);
  return accept([
    { type: 'ContainerMoved', data: { containerId: container.id, from, to: to.id } },
    ...(oldParent ? retireIfEmptied(view, oldParent, { childId: container.id }) : []),
  ]);
};

const shipStock: Decider<'shipStock'> = (view, a, ctx) => {
  const item = needItem(view, a.itemId);
  const from = stockPosition(view, a.from, false);
  const line = tracked(item, a.lot, a.serial, a.quantity);
  const quantity = roundQty(a.quantity);
  const conflicts: ConflictDraft[] = [];
  outflow(view, ctx, item, from, line, quantity, conflicts);
  return accept(
    [
      { type: 'StockShipped', data: compact({ ...a, quantity }) },
      ...retireIfEmptied(view, from, {
        key: lineKey(item.id, from.id, line.lot, line.serial),
        quantity,
      }),
    ],
    conflicts,
  );
};

const adjustStock: Decider<'adjustStock'> = (view, a, ctx) => {
  const item = needItem(view, a.itemId);
  const delta = roundQty(a.delta);
  const position = stockPosition(view, a.positionId, delta > 0);
  const line = tracked(item, a.lot, a.serial, delta);
  const conflicts: ConflictDraft[] = [];
  const retired: InventoryEvent[] = [];
  if (delta < 0) {
    outflow(view, ctx, item, position, line, -delta, conflicts);
    retired.push(
      ...retireIfEmptied(view, position, {
        key: lineKey(item.id, position.id, line.lot, line.serial),
        quantity: -delta,
      }),
    );
  } else {
    serialInflow(view, ctx, item, line.serial, conflicts);
  }
  return accept([{ type: 'StockAdjusted', data: compact({ ...a, delta }) }, ...retired], conflicts);
};

const reverseMovement: Decider<'reverseMovement'> = (view, a) => {
  const m =
    view.movement(a.eventId) ??
    refuse('UNKNOWN_MOVEMENT', `no movement with event id ${a.eventId}`);
  if (m.type === 'reversal' || m.type === 'container-move') {
    refuse(
      'NOT_REVERSIBLE',
      `a ${m.type} cannot be reversed${m.type === 'reversal' ? '; record a new movement instead' : ''}`,
    );
  }
  if (m.reversedBy !== null)
    refuse('ALREADY_REVERSED', `movement ${m.id} was already reversed by ${m.reversedBy}`);
  const quantity = roundQty(a.quantity ?? m.quantity);
  if (qtyLess(m.quantity, quantity)) {
    refuse('REVERSAL_EXCEEDS', `cannot reverse ${quantity}: the movement was ${m.quantity}`);
  }
  if (m.serial !== null && !qtyEquals(quantity, 1))
    refuse('SERIAL_QUANTITY', 'a serial movement reverses exactly 1');
  const item = needItem(view, m.itemId);
  // Stock goes back from where the movement put it to where it came from. A reversal is a
  // supervisor's decision, not a fact from the floor: contradictions refuse it.
  const takeFrom = view.position(m.to);
  if (takeFrom && !takeFrom.virtual) {
    const available = view.quantity(m.itemId, m.to, m.lot, m.serial);
    if (qtyLess(available, quantity)) {
      refuse(
        'INSUFFICIENT_STOCK',
        `only ${available} ${item.sku} left at ${takeFrom.code}; cannot reverse ${quantity}`,
      );
    }
  }
  const putBack = view.position(m.from);
  if (putBack && !putBack.virtual && putBack.retired) {
    refuse('POSITION_RETIRED', `position ${putBack.code} is retired and receives nothing`);
  }
  // A serial put back must not be in stock anywhere but where it is taken from: a reversed
  // shipment whose serial was found and recorded again meanwhile would be in two places.
  if (m.serial !== null) {
    const elsewhere = view
      .linesWithSerial(m.serial)
      .filter(
        (l) =>
          l.itemId === m.itemId &&
          l.quantity > 0 &&
          !(takeFrom && !takeFrom.virtual && l.positionId === m.to),
      );
    if (elsewhere.length > 0) {
      const where = elsewhere.map((l) => view.position(l.positionId)?.code ?? l.positionId);
      refuse(
        'SERIAL_ELSEWHERE',
        `serial ${m.serial} of ${item.sku} is already in stock at ${where.join(', ')}; cannot reverse`,
      );
    }
  }
  return accept([
    {
      type: 'MovementReversed',
      data: compact({
        movementId: m.id,
        itemId: m.itemId,
        from: m.to,
        to: m.from,
        quantity,
        lot: m.lot ?? undefined,
        serial: m.serial ?? undefined,
        note: a.note,
      }),
    },
  ]);
};

const deciders: { readonly [N in InventoryCommandName]: Decider<N> } = {
  defineItem,
  definePosition,
  retirePosition,
  receiveStock,
  moveStock,
  moveContainer,
  shipStock,
  adjustStock,
  reverseMovement,
};

/**
 * Decides an inventory command against current state. Pure: no clock, no ids — the log
 * gives events their ids and times. Never throws for a business reason; a thrown error is a
 * bug or an I/O failure of the view.
 */
export function decide(
  view: InventoryView,
  command: InventoryCommand,
  ctx: InventoryContext,
): InventoryDecision {
  const required = INVENTORY_ROLES[command.name];
  if (!roleAllows(ctx.actor.role, required)) {
    return reject(
      'FORBIDDEN',
      `${command.name} needs the ${required} role; you are ${ctx.actor.role}`,
    );
  }
  try {
    const decider: Decider<InventoryCommandName> = deciders[command.name];
    return decider(view, command.args, ctx);
  } catch (e) {
    if (e instanceof Rejection) return reject(e.code, e.message);
    throw e;
  }
}
