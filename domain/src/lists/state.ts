import type { InventoryEvent } from '../inventory/events.js';
import { OUTSIDE } from '../inventory/state.js';
import type { EventId, ItemId, Lot, PositionId, Serial, UserId } from '../shared/ids.js';
import { asEventId } from '../shared/ids.js';
import { QTY_EPSILON, qtyLess, roundQty } from '../shared/quantity.js';
import type { ListId, ListType } from './commands.js';
import { asListId } from './commands.js';
import type { ListEvent } from './events.js';
import { isListEvent } from './events.js';

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

const isDone = (s: LineStatus) => (s === 'done' || s === 'over' ? 1 : 0);
const isStarted = (s: LineStatus) => (s === 'partial' || s === 'done' || s === 'over' ? 1 : 0);

/** The list status from its counters: O(1) per scan, however long the list. */
const statusOf = (lines: number, done: number, started: number, closed: boolean): ListStatus => {
  if (closed) return 'closed';
  if (done === lines) return 'completed';
  return started > 0 ? 'in-progress' : 'open';
};

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

/** Which line a movement confirmed: a `MovementReversed` names only the movement. */
export interface LineRef {
  readonly listId: ListId;
  readonly lineNo: number;
}

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

/** Any event of the log, as stored. Events that concern no list pass through unchanged. */
export interface LoggedListEvent {
  readonly id: string;
  readonly type: string;
  readonly data: unknown;
}

interface Writes {
  list(list: MovementList): void;
  /** Replaces line `index` of `list` (as read from the state) with `line`. */
  line(list: MovementList, index: number, line: ListLine): void;
  code(key: string, id: ListId): void;
  confirmation(eventId: EventId, ref: LineRef): void;
}

/** A list's fields that follow from replacing one line: counters and status. */
const afterLine = (list: MovementList, index: number, line: ListLine) => {
  const before = (list.lines[index] as ListLine).status;
  const linesDone = list.linesDone - isDone(before) + isDone(line.status);
  const linesStarted = list.linesStarted - isStarted(before) + isStarted(line.status);
  const closed = list.status === 'closed';
  return {
    linesDone,
    linesStarted,
    status: statusOf(list.lines.length, linesDone, linesStarted, closed),
  };
};

/**
 * The one definition of what an event does to lists. Reads `state`, writes through `put`:
 * `evolveLists` copies on write, `foldLists` writes into maps it owns. The log is trusted
 * (deciders are the gate): a duplicate creation, an unknown list or line, or an event folded
 * twice changes nothing, so a replay never throws.
 */
function applyListEvent(state: ListsState, event: LoggedListEvent, put: Writes): void {
  const id = asEventId(event.id);
  if (isListEvent(event)) {
    const e = event as ListEvent;
    switch (e.type) {
      case 'ListCreated': {
        const d = e.data;
        const key = listCodeKey(d.type, d.code);
        if (state.lists.has(d.listId) || state.codes.has(key)) return;
        const lines = d.lines
          .map((l): ListLine => ({
            lineNo: l.lineNo,
            itemId: l.itemId,
            planned: roundQty(l.quantity),
            lot: l.lot ?? null,
            serial: l.serial ?? null,
            suggestedPositionId: l.suggestedPositionId ?? null,
            suggestedFromId: l.suggestedFromId ?? null,
            confirmed: 0,
            confirmations: [],
            status: 'open',
          }))
          .sort((a, b) => a.lineNo - b.lineNo);
        put.list({
          id: d.listId,
          type: d.type,
          code: d.code,
          partner: d.partner ?? null,
          references: d.references,
          dueOn: d.dueOn ?? null,
          assignee: null,
          status: 'open',
          closeNote: null,
          lines,
          linesDone: 0,
          linesStarted: 0,
        });
        put.code(key, d.listId);
        return;
      }
      case 'ListAssigned': {
        const list = state.lists.get(e.data.listId);
        if (list) put.list({ ...list, assignee: e.data.userId });
        return;
      }
      case 'ListClosed': {
        const list = state.lists.get(e.data.listId);
        if (!list || list.status === 'closed') return;
        // Untouched lines become `cancelled`; partial ones stay partial (short-closed).
        const lines = list.lines.map((l) => {
          const status = lineStatus(l.planned, l.confirmed, true);
          return status === l.status ? l : { ...l, status };
        });
        put.list({ ...list, lines, status: 'closed', closeNote: e.data.note ?? null });
        return;
      }
      default: {
        const unreachable: never = e;
        return unreachable;
      }
    }
  }

  const inventory = event as InventoryEvent;
  if (inventory.type === 'MovementReversed') {
    const d = inventory.data;
    const ref = state.confirmations.get(d.movementId);
    const list = ref && state.lists.get(ref.listId);
    if (!ref || !list) return;
    const index = lineIndex(list.lines, ref.lineNo);
    const line = list.lines[index];
    if (!line) return;
    const at = line.confirmations.findIndex((c) => c.eventId === d.movementId);
    const confirmation = line.confirmations[at];
    if (!confirmation || confirmation.reversedBy === id) return;
    const confirmations = line.confirmations.slice();
    confirmations[at] = {
      ...confirmation,
      reversed: roundQty(confirmation.reversed + d.quantity),
      reversedBy: id,
    };
    // The reversed quantity re-opens on the line (DOMAIN.md): it counts as never confirmed.
    const confirmed = roundQty(line.confirmed - d.quantity);
    put.line(list, index, {
      ...line,
      confirmed,
      confirmations,
      status: lineStatus(line.planned, confirmed, list.status === 'closed'),
    });
    return;
  }

  const m = listedMovementOfEvent(inventory);
  if (!m || state.confirmations.has(id)) return;
  const listId = asListId(m.listId);
  const list = state.lists.get(listId);
  if (!list) return;
  const index = lineIndex(list.lines, m.lineNo);
  const line = list.lines[index];
  if (!line) return;
  const confirmed = roundQty(line.confirmed + m.quantity);
  put.line(list, index, {
    ...line,
    confirmed,
    confirmations: [
      ...line.confirmations,
      {
        eventId: id,
        quantity: m.quantity,
        reversed: 0,
        reversedBy: null,
        from: m.from,
        to: m.to,
        positionId: scannedPosition(m),
        lot: m.lot,
        serial: m.serial,
        suggestedPositionId: line.suggestedPositionId,
        suggestedFromId: line.suggestedFromId,
        deviation: deviates(line, m),
      },
    ],
    status: lineStatus(line.planned, confirmed, list.status === 'closed'),
  });
  put.confirmation(id, { listId, lineNo: m.lineNo });
}

/**
 * Folds one event, purely: `state` is left as it was. Copies the maps it writes (O(lists)),
 * so replaying a long log event by event is quadratic — replay with `foldLists` instead.
 */
export function evolveLists(state: ListsState, event: LoggedListEvent): ListsState {
  let lists: Map<ListId, MovementList> | undefined;
  let codes: Map<string, ListId> | undefined;
  let confirmations: Map<EventId, LineRef> | undefined;
  applyListEvent(state, event, {
    list: (l) => (lists ??= new Map(state.lists)).set(l.id, l),
    line: (list, index, line) => {
      const lines = list.lines.slice();
      lines[index] = line;
      (lists ??= new Map(state.lists)).set(list.id, {
        ...list,
        ...afterLine(list, index, line),
        lines,
      });
    },
    code: (k, v) => (codes ??= new Map(state.codes)).set(k, v),
    confirmation: (k, v) => (confirmations ??= new Map(state.confirmations)).set(k, v),
  });
  if (!lists && !codes && !confirmations) return state;
  return {
    lists: lists ?? state.lists,
    codes: codes ?? state.codes,
    confirmations: confirmations ?? state.confirmations,
  };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

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
  // Lists this fold copied, with their `lines` arrays: nobody else can hold them, so later
  // scans of the same list write in place instead of copying 10,000 lines each time.
  const owned = new Set<MovementList>();
  const put: Writes = {
    list: (l) => lists.set(l.id, l),
    line: (list, index, line) => {
      const fields = afterLine(list, index, line);
      let target = list as Mutable<MovementList>;
      if (!owned.has(list)) {
        target = { ...list, lines: list.lines.slice() };
        owned.add(target);
        lists.set(target.id, target);
      }
      (target.lines as ListLine[])[index] = line;
      Object.assign(target, fields);
    },
    code: (k, v) => codes.set(k, v),
    confirmation: (k, v) => confirmations.set(k, v),
  };
  for (const event of events) applyListEvent(state, event, put);
  return state;
}

/** The in-memory state as a `ListsView`: the reference every adapter is tested against. */
export function listsViewOf(state: ListsState): ListsView {
  return {
    list: (id) => state.lists.get(id),
    listByCode: (type, code) => {
      const id = state.codes.get(listCodeKey(type, code));
      return id === undefined ? undefined : state.lists.get(id);
    },
    line: (listId, lineNo) => {
      const list = state.lists.get(listId);
      return list && findLine(list, lineNo);
    },
  };
}
