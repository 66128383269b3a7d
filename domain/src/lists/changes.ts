import type { InventoryEvent } from '../inventory/events.js';
import type { EventId } from '../shared/ids.js';
import { asEventId } from '../shared/ids.js';
import { roundQty } from '../shared/quantity.js';
import type { ListId } from './commands.js';
import { asListId } from './commands.js';
import type { ListEvent } from './events.js';
import { isListEvent } from './events.js';
import type { LineStatus, ListHeader, ListLine, ListStatus, ListsView } from './state.js';
import { deviates, lineStatus, listedMovementOfEvent, scannedPosition } from './state.js';

/**
 * What an event does to lists, as primitive changes — the lists' counterpart of the
 * inventory's `changesOf`. The in-memory fold (`evolveLists`, `foldLists`) and every storage
 * adapter apply exactly these, so the rule is written once. Unlike stock deltas, list changes
 * are whole records computed from the current state, hence the view.
 */

/** A list as stored: its header and counters, without its lines (a list can have 10,000). */
export interface ListRecord extends ListHeader {
  readonly lineCount: number;
  /** Lines done or over; the list is `completed` when this is every line. */
  readonly linesDone: number;
  /** Lines with something (net) confirmed: partial, done or over. */
  readonly linesStarted: number;
}

/** Which line a movement confirmed: a `MovementReversed` names only the movement. */
export interface LineRef {
  readonly listId: ListId;
  readonly lineNo: number;
}

/** What computing the changes reads: lists, one line at a time, and movements' lines. */
export interface ListsReadView extends ListsView {
  list(id: ListId): ListRecord | undefined;
  listByCode(type: ListRecord['type'], code: string): ListRecord | undefined;
  /** Every line of a list, by `lineNo` (only closing a list reads them all). */
  lines(listId: ListId): readonly ListLine[];
  /** The line a movement event confirmed. */
  lineOfMovement(eventId: EventId): LineRef | undefined;
}

export type ListChange =
  | { readonly op: 'putList'; readonly list: ListRecord }
  | { readonly op: 'putListLine'; readonly listId: ListId; readonly line: ListLine }
  | { readonly op: 'putListMovement'; readonly eventId: EventId; readonly ref: LineRef };

/** Any event of the log, as stored. Events that concern no list change nothing. */
export interface LoggedListEvent {
  readonly id: string;
  readonly type: string;
  readonly data: unknown;
}

const isDone = (s: LineStatus) => (s === 'done' || s === 'over' ? 1 : 0);
const isStarted = (s: LineStatus) => (s === 'partial' || s === 'done' || s === 'over' ? 1 : 0);

/** The list status from its counters: O(1) per scan, however long the list. */
export const statusOfCounts = (
  lines: number,
  done: number,
  started: number,
  closed: boolean,
): ListStatus => {
  if (closed) return 'closed';
  if (done === lines) return 'completed';
  return started > 0 ? 'in-progress' : 'open';
};

/** The list after one of its lines went from `before` to `after`: counters and status. */
const withLine = (list: ListRecord, before: LineStatus, after: LineStatus): ListRecord => {
  const linesDone = list.linesDone - isDone(before) + isDone(after);
  const linesStarted = list.linesStarted - isStarted(before) + isStarted(after);
  return {
    ...list,
    linesDone,
    linesStarted,
    status: statusOfCounts(list.lineCount, linesDone, linesStarted, list.status === 'closed'),
  };
};

/**
 * The changes `event` makes to lists, given the state before it. The log is trusted (deciders
 * are the gate): a duplicate creation, an unknown list or line, or an event folded twice
 * changes nothing, so a replay never throws.
 */
export function listChangesOf(view: ListsReadView, event: LoggedListEvent): ListChange[] {
  const id = asEventId(event.id);
  if (isListEvent(event)) {
    const e = event as ListEvent;
    switch (e.type) {
      case 'ListCreated': {
        const d = e.data;
        if (view.list(d.listId) || view.listByCode(d.type, d.code)) return [];
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
        return [
          {
            op: 'putList',
            list: {
              id: d.listId,
              type: d.type,
              code: d.code,
              partner: d.partner ?? null,
              references: d.references,
              dueOn: d.dueOn ?? null,
              assignee: null,
              status: 'open',
              closeNote: null,
              lineCount: lines.length,
              linesDone: 0,
              linesStarted: 0,
            },
          },
          ...lines.map((line): ListChange => ({ op: 'putListLine', listId: d.listId, line })),
        ];
      }
      case 'ListAssigned': {
        const list = view.list(e.data.listId);
        return list ? [{ op: 'putList', list: { ...list, assignee: e.data.userId } }] : [];
      }
      case 'ListClosed': {
        const list = view.list(e.data.listId);
        if (!list || list.status === 'closed') return [];
        // Untouched lines become `cancelled`; partial ones stay partial (short-closed).
        const out: ListChange[] = [
          { op: 'putList', list: { ...list, status: 'closed', closeNote: e.data.note ?? null } },
        ];
        for (const l of view.lines(list.id)) {
          const status = lineStatus(l.planned, l.confirmed, true);
          if (status !== l.status)
            out.push({ op: 'putListLine', listId: list.id, line: { ...l, status } });
        }
        return out;
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
    const ref = view.lineOfMovement(d.movementId);
    const list = ref && view.list(ref.listId);
    const line = ref && list && view.line(list.id, ref.lineNo);
    if (!list || !line) return [];
    const at = line.confirmations.findIndex((c) => c.eventId === d.movementId);
    const confirmation = line.confirmations[at];
    if (!confirmation || confirmation.reversedBy === id) return [];
    const confirmations = line.confirmations.slice();
    confirmations[at] = {
      ...confirmation,
      reversed: roundQty(confirmation.reversed + d.quantity),
      reversedBy: id,
    };
    // The reversed quantity re-opens on the line (DOMAIN.md): it counts as never confirmed.
    const confirmed = roundQty(line.confirmed - d.quantity);
    const status = lineStatus(line.planned, confirmed, list.status === 'closed');
    return [
      { op: 'putList', list: withLine(list, line.status, status) },
      { op: 'putListLine', listId: list.id, line: { ...line, confirmed, confirmations, status } },
    ];
  }

  const m = listedMovementOfEvent(inventory);
  if (!m || view.lineOfMovement(id)) return [];
  const listId = asListId(m.listId);
  const list = view.list(listId);
  const line = list && view.line(listId, m.lineNo);
  if (!list || !line) return [];
  const confirmed = roundQty(line.confirmed + m.quantity);
  const status = lineStatus(line.planned, confirmed, list.status === 'closed');
  return [
    { op: 'putList', list: withLine(list, line.status, status) },
    {
      op: 'putListLine',
      listId,
      line: {
        ...line,
        confirmed,
        status,
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
      },
    },
    { op: 'putListMovement', eventId: id, ref: { listId, lineNo: m.lineNo } },
  ];
}

/** A snapshot key of a list (the protocol's `s/<kind>/<id>` for open lists). */
export const listIdOfChange = (c: ListChange): ListId =>
  c.op === 'putListMovement' ? c.ref.listId : c.op === 'putList' ? c.list.id : c.listId;
