import type { InventoryCommand } from '../inventory/commands.js';
import type { InventoryView } from '../inventory/state.js';
import { OUTSIDE } from '../inventory/state.js';
import type { Decision, RejectionCode } from '../shared/decision.js';
import type { PositionId } from '../shared/ids.js';
import { qtyEquals, qtyLess, roundQty } from '../shared/quantity.js';
import type { Actor, Role } from '../shared/roles.js';
import { roleAllows } from '../shared/roles.js';
import type { ListCommand, ListCommandArgs, ListCommandName, ListId } from './commands.js';
import { CONFIRMING_COMMAND, asListId } from './commands.js';
import type { ListEvent } from './events.js';
import type { ListHeader, ListedMovement, ListsView } from './state.js';
import { deviates, listedMovement, scannedPosition } from './state.js';

// ─── Rejections ─────────────────────────────────────────────────────────────────────────────

export interface ListRejection {
  readonly kind: 'rejected';
  readonly code: RejectionCode;
  readonly message: string;
}

export type ListDecision = Decision<ListEvent>;

const rejected = (code: RejectionCode, message: string): ListRejection => ({
  kind: 'rejected',
  code,
  message,
});

/** Short-circuits a decider; always caught in `decideListCommand`, so callers see values. */
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

/** Drops `undefined` members so events carry no `"partner": undefined` noise. */
const compact = <T extends object>(o: T): T => {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as T;
};

// ─── The list commands ──────────────────────────────────────────────────────────────────────

/** What the list deciders read: lists, and the items and positions lines refer to. */
export type ListDecideView = ListsView & Pick<InventoryView, 'item' | 'position'>;

export interface ListContext {
  readonly actor: Actor;
}

/** The least role per command. All three are a supervisor's intents: always decided strictly. */
export const LIST_ROLES: Readonly<Record<ListCommandName, Role>> = {
  createList: 'supervisor',
  assignList: 'supervisor',
  closeList: 'supervisor',
};

type Decider<N extends ListCommandName> = (
  view: ListDecideView,
  args: ListCommandArgs<N>,
) => ListEvent[];

function needList(view: ListsView, id: ListId): ListHeader {
  return view.list(id) ?? refuse('UNKNOWN_LIST', `unknown list ${id}`);
}

/** A suggested position must exist and be able to hold stock. */
function suggested(view: ListDecideView, lineNo: number, id: PositionId, receiving: boolean) {
  const p =
    view.position(id) ?? refuse('UNKNOWN_POSITION', `line ${lineNo}: unknown position ${id}`);
  if (p.virtual)
    refuse(
      'VIRTUAL_POSITION',
      `line ${lineNo}: ${p.code} is a virtual endpoint and holds no stock`,
    );
  if (receiving && p.retired)
    refuse(
      'POSITION_RETIRED',
      `line ${lineNo}: position ${p.code} is retired and receives nothing`,
    );
}

const createList: Decider<'createList'> = (view, a) => {
  if (view.list(a.listId)) refuse('STALE_INTENT', `list ${a.listId} already exists`);
  const same = view.listByCode(a.type, a.code);
  if (same) refuse('DUPLICATE_CODE', `a ${a.type} list with code ${a.code} already exists`);
  for (const line of a.lines) {
    const n = line.lineNo;
    const item =
      view.item(line.itemId) ?? refuse('UNKNOWN_ITEM', `line ${n}: unknown item ${line.itemId}`);
    if (line.lot !== undefined && item.tracking === 'none')
      refuse('LOT_NOT_ALLOWED', `line ${n}: ${item.sku} is not lot-tracked; do not give a lot`);
    if (line.serial !== undefined && item.tracking !== 'serial')
      refuse(
        'SERIAL_NOT_ALLOWED',
        `line ${n}: ${item.sku} is not serialized; do not give a serial`,
      );
    if (item.tracking === 'serial' && !qtyEquals(line.quantity, Math.round(line.quantity))) {
      refuse(
        'SERIAL_QUANTITY',
        `line ${n}: ${item.sku} is serialized: plan whole units, not ${line.quantity}`,
      );
    }
    if (line.suggestedPositionId !== undefined) suggested(view, n, line.suggestedPositionId, true);
    if (line.suggestedFromId !== undefined) suggested(view, n, line.suggestedFromId, false);
  }
  return [
    {
      type: 'ListCreated',
      data: compact({
        listId: a.listId,
        type: a.type,
        code: a.code,
        partner: a.partner,
        references: a.references ?? [],
        dueOn: a.dueOn,
        lines: a.lines.map((l) => compact({ ...l, quantity: roundQty(l.quantity) })),
      }),
    },
  ];
};

const assignList: Decider<'assignList'> = (view, a) => {
  const list = needList(view, a.listId);
  if (list.status === 'closed') refuse('STALE_INTENT', `list ${list.code} is closed`);
  return [{ type: 'ListAssigned', data: { listId: list.id, userId: a.userId } }];
};

const closeList: Decider<'closeList'> = (view, a) => {
  const list = needList(view, a.listId);
  if (list.status === 'closed') refuse('STALE_INTENT', `list ${list.code} is already closed`);
  // Only the event: untouched lines are cancelled by the fold, and no stock moves.
  return [{ type: 'ListClosed', data: compact({ listId: list.id, note: a.note || undefined }) }];
};

const deciders: { readonly [N in ListCommandName]: Decider<N> } = {
  createList,
  assignList,
  closeList,
};

/**
 * Decides a list command (args already parsed) against current state: role, then the
 * command's rules. Pure; never throws for a business reason. Argument order follows the
 * other deciders (`decide`, `decideMutation`): view first.
 */
export function decideListCommand(
  view: ListDecideView,
  command: ListCommand,
  ctx: ListContext,
): ListDecision {
  const required = LIST_ROLES[command.name];
  if (!roleAllows(ctx.actor.role, required)) {
    return rejected(
      'FORBIDDEN',
      `${command.name} needs the ${required} role; you are ${ctx.actor.role}`,
    );
  }
  try {
    const decider: Decider<ListCommandName> = deciders[command.name];
    return { kind: 'accepted', events: decider(view, command.args), conflicts: [] };
  } catch (e) {
    if (e instanceof Rejection) return rejected(e.code, e.message);
    throw e;
  }
}

// ─── Confirming a line: a check the inventory replay runs ───────────────────────────────────

/**
 * Not refusals: the movement happened on the floor and is recorded; these tell the device
 * (and the supervisor) what differs from the plan. The fold keeps the same facts on the line.
 */
export const LIST_WARNING_CODES = [
  'OVER_DELIVERY',
  'POSITION_DEVIATION',
  'LOT_MISMATCH',
  'SERIAL_MISMATCH',
] as const;
export type ListWarningCode = (typeof LIST_WARNING_CODES)[number];

export interface ListWarning {
  readonly code: ListWarningCode;
  readonly message: string;
  readonly detail: Readonly<Record<string, unknown>>;
}

export type ListConfirmationCheck =
  { readonly kind: 'accepted'; readonly warnings: readonly ListWarning[] } | ListRejection;

/**
 * Checks a movement that names a list line, before it is recorded. Wrong references are
 * rejected (unknown list or line, an item or movement type the line is not for); a closed list
 * is a stale intent. Differences from the plan — more than planned, another position, lot or
 * serial — are facts: accepted, with warnings. Run in both fact modes: what it rejects is the
 * reference, not the movement (an admin can re-apply the movement without it).
 */
export function checkListConfirmation(view: ListsView, m: ListedMovement): ListConfirmationCheck {
  const list = view.list(asListId(m.listId));
  if (!list) return rejected('UNKNOWN_LIST', `unknown list ${m.listId}`);
  if (list.type !== m.type) {
    return rejected(
      'LIST_MISMATCH',
      `${list.code} is a ${list.type} list: confirm its lines with ${CONFIRMING_COMMAND[list.type]}, not ${CONFIRMING_COMMAND[m.type]}`,
    );
  }
  const line = view.line(list.id, m.lineNo);
  if (!line) return rejected('UNKNOWN_LIST_LINE', `list ${list.code} has no line ${m.lineNo}`);
  if (line.itemId !== m.itemId) {
    return rejected(
      'LIST_MISMATCH',
      `line ${line.lineNo} of ${list.code} is for item ${line.itemId}, not ${m.itemId}`,
    );
  }
  if (list.status === 'closed') return rejected('STALE_INTENT', `list ${list.code} is closed`);

  const where = `line ${line.lineNo} of ${list.code}`;
  const warnings: ListWarning[] = [];
  const after = roundQty(line.confirmed + m.quantity);
  if (qtyLess(line.planned, after)) {
    warnings.push({
      code: 'OVER_DELIVERY',
      message: `${where}: ${line.planned} planned, ${after} confirmed with this one (${roundQty(after - line.planned)} over)`,
      detail: { listId: list.id, lineNo: line.lineNo, planned: line.planned, confirmed: after },
    });
  }
  if (deviates(line, m)) {
    warnings.push({
      code: 'POSITION_DEVIATION',
      message: `${where}: suggested ${line.suggestedPositionId ?? line.suggestedFromId}, scanned ${scannedPosition(m)}`,
      detail: {
        listId: list.id,
        lineNo: line.lineNo,
        suggestedPositionId: line.suggestedPositionId,
        suggestedFromId: line.suggestedFromId,
        from: m.from,
        to: m.to,
      },
    });
  }
  if (line.lot !== null && m.lot !== line.lot) {
    warnings.push({
      code: 'LOT_MISMATCH',
      message: `${where} prescribes lot ${line.lot}, got ${m.lot ?? 'none'}`,
      detail: { listId: list.id, lineNo: line.lineNo, prescribed: line.lot, actual: m.lot },
    });
  }
  if (line.serial !== null && m.serial !== line.serial) {
    warnings.push({
      code: 'SERIAL_MISMATCH',
      message: `${where} prescribes serial ${line.serial}, got ${m.serial ?? 'none'}`,
      detail: { listId: list.id, lineNo: line.lineNo, prescribed: line.serial, actual: m.serial },
    });
  }
  return { kind: 'accepted', warnings };
}

type ListRef = { readonly listId?: string | undefined; readonly lineNo?: number | undefined };

const withRef = (
  name: string,
  ref: ListRef,
  make: (listId: string, lineNo: number) => ListedMovement,
): ListedMovement | ListRejection | null => {
  if (ref.listId === undefined && ref.lineNo === undefined) return null;
  if (ref.listId === undefined || ref.lineNo === undefined) {
    return rejected('VALIDATION_FAILED', `${name}: a list line needs both listId and lineNo`);
  }
  return make(ref.listId, ref.lineNo);
};

/**
 * The list line an inventory command confirms: `null` when it names none, a rejection when it
 * names half of one (`listId` without `lineNo` or the reverse).
 */
export function listedMovementOfCommand(
  command: InventoryCommand | ListCommand,
): ListedMovement | ListRejection | null {
  switch (command.name) {
    case 'receiveStock': {
      const a = command.args;
      return withRef(command.name, a, (listId, lineNo) =>
        listedMovement('receipt', listId, lineNo, a, OUTSIDE, a.positionId),
      );
    }
    case 'moveStock': {
      const a = command.args;
      return withRef(command.name, a, (listId, lineNo) =>
        listedMovement('transfer', listId, lineNo, a, a.from, a.to),
      );
    }
    case 'shipStock': {
      const a = command.args;
      return withRef(command.name, a, (listId, lineNo) =>
        listedMovement('shipment', listId, lineNo, a, a.from, OUTSIDE),
      );
    }
    default:
      return null;
  }
}

/**
 * The integration point for the replay: `null` when the command confirms no list line,
 * otherwise the outcome of `checkListConfirmation`. Run before the inventory decider: a
 * rejection refuses a checked intent, and turns a recorded fact into a movement without the list
 * reference plus a conflict (see `decideCommand` in sync/decide.ts). The warnings are for a
 * screen to show before a scan; the fold records the same differences on the line.
 */
export function checkListedCommand(
  view: ListsView,
  command: InventoryCommand | ListCommand,
): ListConfirmationCheck | null {
  const m = listedMovementOfCommand(command);
  if (m === null || 'kind' in m) return m;
  return checkListConfirmation(view, m);
}
