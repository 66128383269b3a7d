import type { InventoryEvent } from '../inventory/events.js';
import { OUTSIDE } from '../inventory/state.js';
import type { EventId, ItemId, Lot, PositionId, Serial, UserId } from '../shared/ids.js';
import { QTY_EPSILON, qtyLess, roundQty } from '../shared/quantity.js';
import type { ListId, ListType } from './commands.js';
import type { LineRef, ListRecord, ListsReadView, LoggedListEvent } from './changes.js';
import { listChangesOf } from './changes.js';

// ─── The model ──────────────────────────────────────────────────────────────────────────────

/**
 * - `open`: nothing confirmed (or every confirmation reversed);
 * - `partial`: some confirmed, less than planned;
 * - `done`: confirmed = planned (within the quantity tolerance);
 * - `over`: more confirmed than planned — an over-delivery, kept and flagged, never refused;
 * - `cancelled`: the list was closed with nothing (net) confirmed on the line.
 */
export const LINE_STATUSES = ['open', 'partial', 'done', 'over', 'cancelled'] as const;
export type LineStatus = (typeof LINE_STATUSES)[number];

/**
 * - `open`: nothing confirmed yet; `in-progress`: something confirmed;
 * - `completed`: every line done or over (a reversal can make it in-progress again);
 * - `closed`: a supervisor closed it; final.
 */
export const LIST_STATUSES = ['open', 'in-progress', 'completed', 'closed'] as const;
export type ListStatus = (typeof LIST_STATUSES)[number];

/** One movement that confirmed (part of) a line. */
export interface ListConfirmation {
  /** The movement event (`StockReceived` / `StockMoved` / `StockShipped`). */
  readonly eventId: EventId;
  readonly quantity: number;
  /** How much a later `MovementReversed` undid; the line counts `quantity − reversed`. */
  readonly reversed: number;
  readonly reversedBy: EventId | null;
  /** The movement's endpoints, OUTSIDE included (a receipt's source, a shipment's destination). */
  readonly from: PositionId;
  readonly to: PositionId;
  /** The position scanned for the line: where goods went (receipt, transfer) or were picked (shipment). */
  readonly positionId: PositionId;
  readonly lot: Lot | null;
  readonly serial: Serial | null;
  /** The line's suggestions, copied so a deviation reads on its own. */
  readonly suggestedPositionId: PositionId | null;
  readonly suggestedFromId: PositionId | null;
  /** The goods went to (or came from) another position than suggested; both are recorded. */
  readonly deviation: boolean;
}

export interface ListLine {
  readonly lineNo: number;
  readonly itemId: ItemId;
  readonly planned: number;
  /** Prescribed by the document, or `null`: any lot / serial of the item will do. */
  readonly lot: Lot | null;
  readonly serial: Serial | null;
  readonly suggestedPositionId: PositionId | null;
  readonly suggestedFromId: PositionId | null;
  /** Net of reversals; may exceed `planned` (status `over`). */
  readonly confirmed: number;
  /** In log order: a line may be split across positions, lots and serials, and over scans. */
  readonly confirmations: readonly ListConfirmation[];
  readonly status: LineStatus;
}

/** A list without its lines: what a check needs, cheap for a storage adapter to answer. */
export interface ListHeader {
  readonly id: ListId;
  readonly type: ListType;
  readonly code: string;
  readonly partner: string | null;
  readonly references: readonly string[];
  readonly dueOn: string | null;
  readonly assignee: UserId | null;
  readonly status: ListStatus;
  readonly closeNote: string | null;
}

export interface MovementList extends ListHeader {
  /** Sorted by `lineNo`. */
  readonly lines: readonly ListLine[];
  /** Lines done or over; the list is `completed` when this is every line. */
  readonly linesDone: number;
  /** Lines with something (net) confirmed: partial, done or over. */
  readonly linesStarted: number;
}

// ─── The read port ──────────────────────────────────────────────────────────────────────────

/**
 * What the list deciders and `checkListConfirmation` may ask. Synchronous, like
 * `InventoryView`: the server answers from inside its write transaction, the device from its
 * replica. Every adapter answers as if all events so far were folded with `evolveLists`
 * (`listsViewOf` is the reference). Lines are asked one at a time so a 10,000-line list is
 * not loaded for every scan.
 */
export interface ListsView {
  list(id: ListId): ListHeader | undefined;
  /** Codes are unique per type: `R-1001` may be both a receipt and a shipment. */
  listByCode(type: ListType, code: string): ListHeader | undefined;
  line(listId: ListId, lineNo: number): ListLine | undefined;
}

// ─── What a movement says about a list ──────────────────────────────────────────────────────

/**
 * A movement that names a list line, whether it comes from a command (checked before it is
 * recorded) or from an event (folded): which list type it can confirm, and its endpoints.
 */
export interface ListedMovement {
  readonly type: ListType;
  readonly listId: string;
  readonly lineNo: number;
  readonly itemId: ItemId;
  readonly quantity: number;
  readonly lot: Lot | null;
  readonly serial: Serial | null;
  readonly from: PositionId;
  readonly to: PositionId;
}

/** The position scanned for a line: a shipment's source, otherwise the destination. */
export const scannedPosition = (m: Pick<ListedMovement, 'type' | 'from' | 'to'>): PositionId =>
  m.type === 'shipment' ? m.from : m.to;

/** Went somewhere other than the line suggested (a missing suggestion is never a deviation). */
export const deviates = (
  line: Pick<ListLine, 'suggestedPositionId' | 'suggestedFromId'>,
  m: Pick<ListedMovement, 'from' | 'to'>,
): boolean =>
  (line.suggestedPositionId !== null && m.to !== line.suggestedPositionId) ||
  (line.suggestedFromId !== null && m.from !== line.suggestedFromId);

/** The list line a stock event confirms, or `null` when it names none (or only half a one). */
export function listedMovementOfEvent(event: InventoryEvent): ListedMovement | null {
  switch (event.type) {
    case 'StockReceived': {
      const d = event.data;
      if (d.listId === undefined || d.lineNo === undefined) return null;
      return listedMovement('receipt', d.listId, d.lineNo, d, OUTSIDE, d.positionId);
    }
    case 'StockMoved': {
      const d = event.data;
      if (d.listId === undefined || d.lineNo === undefined) return null;
      return listedMovement('transfer', d.listId, d.lineNo, d, d.from, d.to);
    }
    case 'StockShipped': {
      const d = event.data;
      if (d.listId === undefined || d.lineNo === undefined) return null;
      return listedMovement('shipment', d.listId, d.lineNo, d, d.from, OUTSIDE);
    }
    default:
      return null;
  }
}

/** Shared by the event and command readers: the fields are named alike in both. */
export function listedMovement(
  type: ListType,
  listId: string,
  lineNo: number,
  d: {
    readonly itemId: ItemId;
    readonly quantity: number;
    readonly lot?: Lot | undefined;
    readonly serial?: Serial | undefined;
  },
  from: PositionId,
  to: PositionId,
): ListedMovement {
  return {
    type,
    listId,
    lineNo,
    itemId: d.itemId,
    quantity: roundQty(d.quantity),
    lot: d.lot ?? null,
    serial: d.serial ?? null,
    from,
    to,
  };
}

// ─── Statuses ───────────────────────────────────────────────────────────────────────────────

export function lineStatus(planned: number, confirmed: number, closed: boolean): LineStatus {
  if (confirmed < QTY_EPSILON) return closed ? 'cancelled' : 'open';
  if (qtyLess(confirmed, planned)) return 'partial';
  if (qtyLess(planned, confirmed)) return 'over';
  return 'done';
}

/** The list status from its lines (the definition the counters must agree with). */
export function listStatus(lines: readonly ListLine[], closed: boolean): ListStatus {
  if (closed) return 'closed';
  let started = false;
  let finished = true;
  for (const l of lines) {
    if (l.status === 'done' || l.status === 'over') started = true;
    else {
      finished = false;
      if (l.status === 'partial') started = true;
    }
  }
  if (finished) return 'completed';
  return started ? 'in-progress' : 'open';
}

/** Binary search: lines are sorted by `lineNo`. Returns the index, or -1. */
function lineIndex(lines: readonly ListLine[], lineNo: number): number {
  let lo = 0;
  let hi = lines.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const n = (lines[mid] as ListLine).lineNo;
    if (n === lineNo) return mid;
    if (n < lineNo) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

export const findLine = (list: MovementList, lineNo: number): ListLine | undefined =>
  list.lines[lineIndex(list.lines, lineNo)];

// ─── The fold ───────────────────────────────────────────────────────────────────────────────

/**
 * All lists, folded from the log. Immutable: `evolveLists` never changes the state it is
 * given — it returns the same object when the event concerns no list, or a new one sharing
 * every list, line and confirmation it did not touch (so a UI can compare by reference).
 */
export interface ListsState {
  readonly lists: ReadonlyMap<ListId, MovementList>;
  /** `type` + NUL + `code` → list id. */
  readonly codes: ReadonlyMap<string, ListId>;
  /** Movement event id → the line it confirmed, so a reversal finds the line it re-opens. */
  readonly confirmations: ReadonlyMap<EventId, LineRef>;
}

export const listCodeKey = (type: ListType, code: string) => `${type}\u0000${code}`;

export function initialListsState(): ListsState {
  return { lists: new Map(), codes: new Map(), confirmations: new Map() };
}

const recordOf = (list: MovementList): ListRecord => {
  const { lines, ...rest } = list;
  return { ...rest, lineCount: lines.length };
};

/** The in-memory state as the read view `listChangesOf` needs. */
export function listsReadViewOf(state: ListsState): ListsReadView {
  const list = (id: ListId) => {
    const l = state.lists.get(id);
    return l && recordOf(l);
  };
  return {
    list,
    listByCode: (type, code) => {
      const id = state.codes.get(listCodeKey(type, code));
      return id === undefined ? undefined : list(id);
    },
    line: (listId, lineNo) => {
      const l = state.lists.get(listId);
      return l && findLine(l, lineNo);
    },
    lines: (listId) => state.lists.get(listId)?.lines ?? [],
    lineOfMovement: (eventId) => state.confirmations.get(eventId),
  };
}

/** The list as it is after `record` was put: the lines it had, the new header and counters. */
const withRecord = (lines: readonly ListLine[], record: ListRecord): MovementList => {
  const { lineCount: _lineCount, ...header } = record;
  return { ...header, lines };
};

/** `lines` with `line` put in its place by number (replaced, or inserted in order). */
const putLine = (lines: ListLine[], line: ListLine): void => {
  const at = lineIndex(lines, line.lineNo);
  if (at >= 0) {
    lines[at] = line;
    return;
  }
  const last = lines.at(-1);
  if (!last || last.lineNo < line.lineNo) lines.push(line);
  else {
    let i = lines.findIndex((l) => l.lineNo > line.lineNo);
    if (i < 0) i = lines.length;
    lines.splice(i, 0, line);
  }
};

/**
 * Folds one event, purely: `state` is left as it was. Copies the maps it writes (O(lists)),
 * so replaying a long log event by event is quadratic — replay with `foldLists` instead.
 */
export function evolveLists(state: ListsState, event: LoggedListEvent): ListsState {
  const changes = listChangesOf(listsReadViewOf(state), event);
  if (changes.length === 0) return state;
  let lists: Map<ListId, MovementList> | undefined;
  let codes: Map<string, ListId> | undefined;
  let confirmations: Map<EventId, LineRef> | undefined;
  // Lists copied for this event: their `lines` arrays are this event's own.
  const copied = new Set<ListId>();
  const own = (id: ListId): MovementList | undefined => {
    lists ??= new Map(state.lists);
    const l = lists.get(id);
    if (!l || copied.has(id)) return l;
    const copy = { ...l, lines: l.lines.slice() };
    lists.set(id, copy);
    copied.add(id);
    return copy;
  };
  for (const c of changes) {
    switch (c.op) {
      case 'putList': {
        const l = own(c.list.id);
        (lists as Map<ListId, MovementList>).set(c.list.id, withRecord(l?.lines ?? [], c.list));
        copied.add(c.list.id);
        const key = listCodeKey(c.list.type, c.list.code);
        if ((codes ?? state.codes).get(key) !== c.list.id)
          (codes ??= new Map(state.codes)).set(key, c.list.id);
        break;
      }
      case 'putListLine': {
        const l = own(c.listId);
        if (l) putLine(l.lines as ListLine[], c.line);
        break;
      }
      case 'putListMovement':
        (confirmations ??= new Map(state.confirmations)).set(c.eventId, c.ref);
        break;
      default: {
        const unreachable: never = c;
        return unreachable;
      }
    }
  }
  return {
    lists: lists ?? state.lists,
    codes: codes ?? state.codes,
    confirmations: confirmations ?? state.confirmations,
  };
}

/**
 * Folds many events (a replay, a pull page) in linear time: the maps are copied once, then
 * written in place — nobody else holds them yet. Same result as `evolveLists` one by one;
 * `from` is left as it was.
 */
export function foldLists(
  events: Iterable<LoggedListEvent>,
  from: ListsState = initialListsState(),
): ListsState {
  const lists = new Map(from.lists);
  const codes = new Map(from.codes);
  const confirmations = new Map(from.confirmations);
  const state: ListsState = { lists, codes, confirmations };
  const view = listsReadViewOf(state);
  // Lists this fold copied, with their `lines` arrays: nobody else can hold them, so later
  // scans of the same list write in place instead of copying 10,000 lines each time.
  const owned = new Set<ListId>();
  const own = (id: ListId): MovementList | undefined => {
    const l = lists.get(id);
    if (!l || owned.has(id)) return l;
    const copy = { ...l, lines: l.lines.slice() };
    lists.set(id, copy);
    owned.add(id);
    return copy;
  };
  for (const event of events) {
    for (const c of listChangesOf(view, event)) {
      switch (c.op) {
        case 'putList': {
          const l = own(c.list.id);
          const next = withRecord(l?.lines ?? [], c.list);
          lists.set(c.list.id, next);
          owned.add(c.list.id);
          codes.set(listCodeKey(c.list.type, c.list.code), c.list.id);
          break;
        }
        case 'putListLine': {
          const l = own(c.listId);
          if (l) putLine(l.lines as ListLine[], c.line);
          break;
        }
        case 'putListMovement':
          confirmations.set(c.eventId, c.ref);
          break;
        default: {
          const unreachable: never = c;
          return unreachable;
        }
      }
    }
  }
  return state;
}

/**
 * The state that holds exactly these lists (as a snapshot hands them to a device): codes and
 * the movement → line refs are read off the lists themselves.
 */
export function listsStateOf(lists: Iterable<MovementList>): ListsState {
  const state = {
    lists: new Map<ListId, MovementList>(),
    codes: new Map<string, ListId>(),
    confirmations: new Map<EventId, LineRef>(),
  };
  for (const l of lists) {
    state.lists.set(l.id, l);
    state.codes.set(listCodeKey(l.type, l.code), l.id);
    for (const line of l.lines)
      for (const c of line.confirmations)
        state.confirmations.set(c.eventId, { listId: l.id, lineNo: line.lineNo });
  }
  return state;
}

/** The in-memory state as a `ListsView`: the reference every adapter is tested against. */
export function listsViewOf(state: ListsState): ListsView {
  return listsReadViewOf(state);
}
