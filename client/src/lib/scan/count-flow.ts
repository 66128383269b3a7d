import type {
  CountSession,
  InventoryView,
  Item,
  ItemId,
  Position,
  PositionId,
} from '@floorsync/domain';
import { QTY_MAX, resolveScan, sortSerials } from '@floorsync/domain';
import type { Message } from './flows.js';
import {
  barcodeAtQuantity,
  invalidScan,
  notALotOrSerial,
  parseQuantity,
  scannedName,
} from './flows.js';

/**
 * Counting a position on the scanner, as a pure step machine (like `flows.ts`): scan the
 * position, then each item found there — its lot when lot-tracked, then how many were counted
 * (0 allowed: "none of these here"), or its serials one by one for a serialized item (Enter
 * ends the set). Each complete count becomes a `recordCount` carrying what this device held
 * for the pair at that moment (`expected`), which the server turns into a delta against stock
 * as it is when the session is applied.
 *
 * The position stays chosen between counts. Scanning another position moves there — but not
 * while an item's count is half done (its lot, quantity or serials still to come): a count the
 * operator believes made is never dropped without a word. They enter it (0 = none here) or
 * cancel the item (`cancelItem`) first; "Position is empty" and "Finish position" wait the same
 * way (`pendingItem`).
 */

export type CountStep = 'position' | 'item' | 'lot' | 'quantity' | 'serials';

export interface CountFlow {
  readonly sessionId: string;
  readonly position: Position | null;
  readonly item: Item | null;
  readonly lot: string | null;
  /** Serials scanned so far (serialized items). */
  readonly serials: readonly string[];
  /**
   * The count a GS1 code carried (AI 30): for a lot-tracked item whose lot it did not name,
   * the count is complete once the lot is; for a pair this operator counted before, it is
   * offered at "How many?" (Enter takes it) instead of replacing their count unasked.
   */
  readonly quantity?: number;
  /**
   * Serials the set started with: the set of this item the operator recorded moments ago, on
   * this visit of the position, which the new set would otherwise replace (a set ended by an
   * Enter too many, then a serial more).
   */
  readonly continued?: number;
  readonly step: CountStep;
}

/** What the operator counted before, which a new count of the same pair would replace. */
export interface Earlier {
  /**
   * The serial set of the item they recorded on this visit of the position (since they scanned
   * it), or null: a new set of the pair continues it. An older set is not continued — the
   * serials may have moved since — a new one replaces it, as a quantity does.
   */
  serials(positionId: PositionId, itemId: ItemId): readonly string[] | null;
  /** Their count of the pair in this session, or null. */
  counted(positionId: PositionId, itemId: ItemId, lot: string | null): number | null;
}

/** Nothing counted before (a first count; the tests' default). */
export const NOTHING_EARLIER: Earlier = { serials: () => null, counted: () => null };

export interface CountCommand {
  readonly name:
    'startPositionCount' | 'recordCount' | 'confirmPositionEmpty' | 'finishPositionCount';
  readonly args: Record<string, unknown>;
}

export type CountAdvance =
  | { readonly ok: true; readonly state: CountFlow; readonly commands: readonly CountCommand[] }
  | { readonly ok: false; readonly state: CountFlow; readonly error: Message };

export function startCount(sessionId: string, position: Position | null = null): CountFlow {
  return {
    sessionId,
    position,
    item: null,
    lot: null,
    serials: [],
    step: position ? 'item' : 'position',
  };
}

const fail = (state: CountFlow, key: string, params?: Message['params']): CountAdvance => ({
  ok: false,
  state,
  error: params ? { key, params } : { key },
});

/** What the device holds at a position for one item: per lot, or the serials. */
export function heldAt(view: InventoryView, positionId: PositionId, item: Item) {
  const lines = view.linesAt(positionId).filter((l) => l.itemId === item.id && l.quantity > 0);
  return {
    serials: sortSerials(lines.flatMap((l) => (l.serial !== null ? [l.serial] : []))),
    quantity: (lot: string | null) =>
      lines.filter((l) => l.serial === null && l.lot === lot).reduce((s, l) => s + l.quantity, 0),
  };
}

/** A position chosen: the count of it starts (shown to the supervisor as in progress). */
function atPosition(state: CountFlow, position: Position): CountAdvance {
  return {
    ok: true,
    state: { ...startCount(state.sessionId, position) },
    commands: [
      { name: 'startPositionCount', args: { sessionId: state.sessionId, positionId: position.id } },
    ],
  };
}

function recorded(state: CountFlow, view: InventoryView, counted: number | null): CountAdvance {
  const { position, item } = state;
  if (!position || !item) return fail(state, 'count.error.noItem');
  const held = heldAt(view, position.id, item);
  const args: Record<string, unknown> =
    item.tracking === 'serial'
      ? {
          sessionId: state.sessionId,
          positionId: position.id,
          itemId: item.id,
          serials: sortSerials(state.serials as never),
          expectedSerials: held.serials,
        }
      : {
          sessionId: state.sessionId,
          positionId: position.id,
          itemId: item.id,
          ...(state.lot !== null ? { lot: state.lot } : {}),
          counted,
          expected: held.quantity(state.lot),
        };
  return {
    ok: true,
    state: startCount(state.sessionId, position),
    commands: [{ name: 'recordCount', args }],
  };
}

/**
 * The item whose count is half done (scanned, its lot, quantity or serials still to come), or
 * null: while there is one, counting does not move on to another position, nor is the
 * position finished or declared empty.
 */
export function pendingItem(state: CountFlow): Item | null {
  return state.step === 'lot' || state.step === 'quantity' || state.step === 'serials'
    ? state.item
    : null;
}

/** A position-level step asked for while an item's count is half done: refused, saying how on. */
function pending(state: CountFlow, code?: string): CountAdvance {
  const sku = state.item?.sku ?? '';
  return code !== undefined
    ? fail(state, 'count.error.itemPendingPosition', { sku, code })
    : fail(state, 'count.error.itemPending', { sku });
}

/** What refuses a position-level command now (empty, finish), or null when it may go. */
export function pendingRefusal(state: CountFlow): Message | null {
  const r = pendingItem(state) ? pending(state) : null;
  return r && !r.ok ? r.error : null;
}

/** "Cancel item": the half-done count of the item is dropped, asked for; the position stays. */
export function cancelItem(state: CountFlow): CountFlow {
  return startCount(state.sessionId, state.position);
}

/** The lot is known: the count is complete when a GS1 code carried it, else "How many?". */
function withLot(
  state: CountFlow,
  view: InventoryView,
  earlier: Earlier,
  lot: string,
  quantity: number | undefined,
): CountAdvance {
  const counted = quantity ?? state.quantity;
  const next: CountFlow = {
    ...state,
    lot,
    step: 'quantity',
    ...(counted !== undefined ? { quantity: counted } : {}),
  };
  return labelCount(next, view, earlier);
}

/**
 * At "How many?" with the count a GS1 code carried: recorded at once — unless this operator
 * counted the pair before, whose count it would replace (two cartons of a lot in one bin are
 * not one carton's count): then asked, the label's count offered (Enter takes it).
 */
function labelCount(state: CountFlow, view: InventoryView, earlier: Earlier): CountAdvance {
  const { position, item, quantity } = state;
  if (quantity === undefined || !position || !item) return { ok: true, state, commands: [] };
  if (earlier.counted(position.id, item.id, state.lot) !== null)
    return { ok: true, state, commands: [] };
  return recorded(state, view, quantity);
}

/** "Count afresh": a continued serial set starts from nothing (it replaces the earlier one). */
export function countAfresh(state: CountFlow): CountFlow {
  if (state.step !== 'serials' || !state.continued) return state;
  const { continued: _continued, ...rest } = state;
  return { ...rest, serials: [] };
}

/**
 * A serial taken out of the set being counted (scanned by mistake: the label of the unit on
 * the next shelf). One of a continued set's serials goes too — that set is replaced as a whole.
 */
export function removeSerial(state: CountFlow, serial: string): CountFlow {
  const at = state.serials.indexOf(serial);
  if (state.step !== 'serials' || at < 0) return state;
  const serials = state.serials.filter((s) => s !== serial);
  const { continued, ...rest } = state;
  const left = continued !== undefined && at < continued ? continued - 1 : continued;
  return { ...rest, serials, ...(left ? { continued: left } : {}) };
}

/** Feeds one scanned or typed input to the count. */
export function advanceCount(
  state: CountFlow,
  input: string,
  view: InventoryView,
  earlier: Earlier = NOTHING_EARLIER,
): CountAdvance {
  const text = input.trim();
  if (state.step === 'quantity') {
    // A barcode scanned at "How many?" is not a count of 4,006,381,333,931.
    if (barcodeAtQuantity(view, text) !== undefined)
      return fail(state, 'flow.error.codeNotQuantity', { code: text });
    // Enter takes the count the scanned label carried, when one was offered.
    if (text === '' && state.quantity !== undefined) return recorded(state, view, state.quantity);
    // Counted quantities: 0 or more, at most 6 decimals (read as the scan flows read them).
    const n = parseQuantity(text, false);
    if (n === 'ambiguous') return fail(state, 'flow.error.ambiguousNumber', { text });
    if (n !== null && n > QTY_MAX)
      return fail(state, 'flow.error.quantityTooLarge', { max: QTY_MAX });
    if (n !== null) return recorded(state, view, n);
    // Another position scanned instead: the count of this item is not dropped unasked.
    const r = resolveScan(view, input);
    if (r.kind === 'position') return pending(state, r.position.code);
    return fail(state, 'count.error.notACount', { text });
  }
  if (state.step === 'lot') {
    const r = resolveScan(view, input);
    if (r.kind === 'item' && r.item.id === state.item?.id) {
      if (r.lot === undefined) return fail(state, 'flow.error.no_lot');
      return withLot(state, view, earlier, r.lot, r.quantity);
    }
    // A bin label or another item's code is no lot of this one (it would become the lot
    // "A-01-02"); another item's lot is a name this one may have too: taken as typed.
    if (r.kind === 'position') return pending(state, r.position.code);
    if (r.kind === 'item')
      return fail(state, 'flow.error.otherItem', { code: text, sku: r.item.sku });
    const refused = notALotOrSerial(r);
    if (refused) return { ok: false, state, error: refused };
    const lot = scannedName(r, input);
    if (lot === '' || lot.length > 64) return fail(state, 'flow.error.no_lot');
    return withLot(state, view, earlier, lot, undefined);
  }
  if (state.step === 'serials') {
    // Enter ends the set (an empty set: none of this item is here).
    if (text === '') return recorded(state, view, null);
    const r = resolveScan(view, input);
    const refused = notALotOrSerial(r);
    if (refused) return { ok: false, state, error: refused };
    let serial: string | undefined;
    if (r.kind === 'serial' && r.item.id === state.item?.id) serial = r.serial;
    else if (r.kind === 'item' && r.item.id === state.item?.id) serial = r.serial;
    else if (r.kind === 'position') return pending(state, r.position.code);
    else if (r.kind === 'item' || r.kind === 'lot')
      return fail(state, 'count.error.expectedSerial', { code: text });
    else {
      const name = scannedName(r, input);
      serial = name !== '' && name.length <= 64 ? name : undefined;
    }
    if (serial === undefined) return fail(state, 'flow.error.no_serial');
    if (state.serials.includes(serial)) return fail(state, 'count.error.serialTwice', { serial });
    return { ok: true, state: { ...state, serials: [...state.serials, serial] }, commands: [] };
  }

  const r = resolveScan(view, input);
  if (r.kind === 'invalid') return { ok: false, state, error: invalidScan(r) };
  if (r.kind === 'position') {
    if (r.position.retired) return fail(state, 'flow.error.retired', { code: r.position.code });
    return atPosition(state, r.position);
  }
  if (state.step === 'position') return fail(state, 'flow.error.expectedPosition', { code: text });
  const found =
    r.kind === 'item'
      ? { item: r.item, lot: r.lot, serial: r.serial, quantity: r.quantity }
      : r.kind === 'serial'
        ? { item: r.item, lot: undefined, serial: r.serial, quantity: undefined }
        : r.kind === 'lot'
          ? { item: r.item, lot: r.lot, serial: undefined, quantity: undefined }
          : null;
  if (!found) return fail(state, 'flow.error.unknown', { code: text });
  const item = found.item;
  if (item.tracking === 'serial') {
    const before = state.position ? (earlier.serials(state.position.id, item.id) ?? []) : [];
    const serials =
      found.serial !== undefined && !before.includes(found.serial)
        ? [...before, found.serial]
        : [...before];
    return {
      ok: true,
      state: {
        ...startCount(state.sessionId, state.position),
        item,
        serials,
        step: 'serials',
        ...(before.length > 0 ? { continued: before.length } : {}),
      },
      commands: [],
    };
  }
  const lot = item.tracking === 'lot' ? (found.lot ?? null) : null;
  const next: CountFlow = {
    ...startCount(state.sessionId, state.position),
    item,
    lot,
    step: item.tracking === 'lot' && lot === null ? 'lot' : 'quantity',
    // Its count waits for the lot.
    ...(found.quantity !== undefined ? { quantity: found.quantity } : {}),
  };
  // A GS1 code with a count (AI 30) is a complete count (asked, when it would replace one).
  if (next.step === 'quantity') return labelCount(next, view, earlier);
  return { ok: true, state: next, commands: [] };
}

/**
 * "Position confirmed empty": a count of zero for everything this device holds there (an
 * empty list when it holds nothing).
 */
export function emptyPosition(state: CountFlow, view: InventoryView): CountCommand | null {
  if (!state.position) return null;
  const byPair = new Map<
    string,
    { itemId: string; lot?: string; quantity?: number; serials?: string[] }
  >();
  for (const l of view.linesAt(state.position.id)) {
    if (l.quantity <= 0) continue;
    const key = `${l.itemId}\u0000${l.serial !== null ? '' : (l.lot ?? '')}`;
    const entry = byPair.get(key) ?? {
      itemId: l.itemId,
      ...(l.serial === null && l.lot !== null ? { lot: l.lot } : {}),
    };
    if (l.serial !== null)
      entry.serials = sortSerials([...(entry.serials ?? []), l.serial] as never);
    else entry.quantity = (entry.quantity ?? 0) + l.quantity;
    byPair.set(key, entry);
  }
  return {
    name: 'confirmPositionEmpty',
    args: {
      sessionId: state.sessionId,
      positionId: state.position.id,
      expected: [...byPair.values()],
    },
  };
}

export function finishPosition(state: CountFlow): CountCommand | null {
  if (!state.position) return null;
  return {
    name: 'finishPositionCount',
    args: { sessionId: state.sessionId, positionId: state.position.id },
  };
}

/** Whether an operator may count in this session now (late counts of review still count). */
export const countable = (s: Pick<CountSession, 'status'>): boolean =>
  s.status === 'counting' || s.status === 'review';
