import type {
  AdjustmentReason,
  InventoryView,
  Item,
  Position,
  Resolution,
} from '@floorsync/domain';
import {
  ADJUSTMENT_REASONS,
  QTY_MAX,
  hasValidCheckDigit,
  looksLikeGtin,
  normalizeBarcode,
  resolveScan,
  splitSymbology,
} from '@floorsync/domain';

/**
 * The scanner's flows as a pure step machine: what to ask for next, what a scanned or typed
 * input means at this step, and — once everything is known — the command to queue. No I/O:
 * the screen feeds it inputs and queues the command it returns, and tests drive it directly.
 *
 * Messages are catalog keys with parameters (see `$lib/i18n`), never English text.
 */

export type FlowKind = 'receive' | 'move' | 'container' | 'ship' | 'adjust';
export const FLOW_KINDS: readonly FlowKind[] = ['receive', 'move', 'container', 'ship', 'adjust'];

export type Field =
  | 'position'
  | 'from'
  | 'to'
  | 'container'
  | 'item'
  | 'lot'
  | 'serial'
  | 'quantity'
  | 'delta'
  | 'reason';

export interface Values {
  readonly position?: Position;
  readonly from?: Position;
  readonly to?: Position;
  readonly container?: Position;
  readonly item?: Item;
  readonly lot?: string;
  readonly serial?: string;
  readonly expiresOn?: string;
  readonly quantity?: number;
  readonly delta?: number;
  readonly reason?: AdjustmentReason;
  /**
   * The item was scanned here (not given by a document, as a list line's is): that scan counted
   * one, and scanning it again at the quantity step counts on from there.
   */
  readonly itemScanned?: boolean;
}

export interface FlowState {
  readonly kind: FlowKind;
  readonly values: Values;
  /** The field asked for now; null once the command is complete. */
  readonly step: Field | null;
}

export interface Message {
  readonly key: string;
  readonly params?: Readonly<Record<string, string | number>>;
  /** The params that are calendar dates (`2027-06-30`), written as the user's language does. */
  readonly dates?: readonly string[];
}

export interface Command {
  readonly name: 'receiveStock' | 'moveStock' | 'moveContainer' | 'shipStock' | 'adjustStock';
  readonly args: Record<string, unknown>;
}

export type Advance =
  | {
      readonly ok: true;
      readonly state: FlowState;
      readonly command?: Command;
      /**
       * Nothing happened: an empty Enter where it answers nothing (a wedge that ends each code
       * with Enter twice, or CR and LF). The screen leaves everything as it is, without a sound.
       */
      readonly ignored?: true;
    }
  | { readonly ok: false; readonly state: FlowState; readonly error: Message };

const STEPS: Readonly<Record<FlowKind, readonly Field[]>> = {
  receive: ['position', 'item', 'lot', 'serial', 'quantity'],
  move: ['from', 'item', 'lot', 'serial', 'quantity', 'to'],
  container: ['container', 'to'],
  ship: ['from', 'item', 'lot', 'serial', 'quantity'],
  adjust: ['position', 'item', 'lot', 'serial', 'delta', 'reason'],
};

/** What stays after a command was queued, so the next scan continues where the operator is. */
const KEEP: Readonly<Record<FlowKind, readonly Field[]>> = {
  receive: ['position'],
  move: ['from'],
  container: [],
  ship: ['from'],
  adjust: ['position'],
};

export function start(kind: FlowKind, values: Values = {}): FlowState {
  return settle({ kind, values, step: null });
}

/** The same flow again, keeping the position the operator works at. */
export function next(state: FlowState): FlowState {
  const kept: Record<string, unknown> = {};
  for (const f of KEEP[state.kind]) kept[f] = state.values[f];
  return start(state.kind, kept);
}

/** Whether a field still has to be asked for, given what is known. */
function needed(kind: FlowKind, field: Field, v: Values): boolean {
  if (v[field as keyof Values] !== undefined) return false;
  if (field === 'lot') return v.item?.tracking === 'lot';
  if (field === 'serial') return v.item?.tracking === 'serial';
  if (field === 'quantity') return v.item?.tracking !== 'serial';
  return STEPS[kind].includes(field);
}

/** Moves to the first field still needed (null when complete). */
function settle(s: FlowState): FlowState {
  const step = STEPS[s.kind].find((f) => needed(s.kind, f, s.values)) ?? null;
  return { ...s, step };
}

const fail = (state: FlowState, key: string, params?: Message['params']): Advance => ({
  ok: false,
  state,
  error: params ? { key, params } : { key },
});

const isPositionField = (f: Field) =>
  f === 'position' || f === 'from' || f === 'to' || f === 'container';

/**
 * A number typed at a quantity prompt (this flow's, and counting's): a decimal point or comma,
 * at most 6 decimals; `null` when it is none. `'ambiguous'` for 1,000 or 2.500: a thousands
 * separator (English 1,000; German 1.000) or a decimal (German 1,000; English 1.000)? Taken
 * either way, one reading would book a thousand times too much or too little.
 */
export function parseQuantity(text: string, signed: boolean): number | null | 'ambiguous' {
  const t = text.trim();
  if (/^[+-]?[1-9]\d{0,2}[.,]\d{3}$/.test(t)) return 'ambiguous';
  const n = t.replace(',', '.');
  if (!(signed ? /^[+-]?\d+(\.\d{1,6})?$/ : /^\d+(\.\d{1,6})?$/).test(n)) return null;
  return Number(n);
}

/** A code's GS1 data (lot, best-before, count), for counting on; none for a plain barcode. */
function gs1Of(view: InventoryView, text: string): Parameters<typeof countAgain>[1] {
  const r = resolveScan(view, text);
  return r.kind === 'item' ? r : {};
}

/**
 * The quantity step answered with a number the screen has (Lists' "All n"), not typed: taken
 * as it is, never asked about as a typed 1,000 would be.
 */
export function withQuantity(state: FlowState, quantity: number): Advance {
  if (state.step !== 'quantity') return { ok: true, state, ignored: true };
  if (!(quantity > 0)) return fail(state, 'flow.error.quantityPositive');
  if (quantity > QTY_MAX) return fail(state, 'flow.error.quantityTooLarge', { max: QTY_MAX });
  return complete(state, { quantity });
}

/** What the screen asks for at this step (the quantity prompt says what Enter takes). */
export function promptOf(s: FlowState): Message {
  if (s.step === null) return { key: 'flow.ask.done' };
  if (s.step === 'quantity')
    return { key: 'flow.ask.quantity', params: { n: s.values.quantity ?? 1 } };
  return { key: `flow.ask.${s.step}` };
}

/**
 * The item scanned again at the quantity step counts on: one more, or the count its GS1 code
 * carries. One of another lot or best-before date is not more of the same, and is refused.
 */
function countAgain(
  state: FlowState,
  r: { readonly lot?: string; readonly expiresOn?: string; readonly quantity?: number },
): Advance {
  const v = state.values;
  if (r.lot !== undefined && v.lot !== undefined && r.lot !== v.lot)
    return fail(state, 'flow.error.otherLot', { lot: r.lot, expected: v.lot });
  if (r.expiresOn !== undefined && v.expiresOn !== undefined && r.expiresOn !== v.expiresOn)
    return {
      ok: false,
      state,
      error: {
        key: 'flow.error.otherExpiry',
        params: { date: r.expiresOn, expected: v.expiresOn },
        dates: ['date', 'expected'],
      },
    };
  const quantity = (v.quantity ?? (v.itemScanned ? 1 : 0)) + (r.quantity ?? 1);
  if (quantity > QTY_MAX) return fail(state, 'flow.error.quantityTooLarge', { max: QTY_MAX });
  return {
    ok: true,
    state: {
      ...state,
      values: {
        ...v,
        quantity,
        itemScanned: true,
        ...(v.expiresOn === undefined && r.expiresOn !== undefined
          ? { expiresOn: r.expiresOn }
          : {}),
      },
    },
  };
}

/**
 * Why a scanned code cannot be right, in the operator's words: nothing scanned, a wrong check
 * digit, or GS1 data that does not parse (its technical detail, for whoever sets the scanner up:
 * `flow.error.gs1.<CODE>`, in the user's language — the catalogs have every code, a test checks;
 * the parser's English only for a resolution that carries no problem).
 */
export function invalidScan(r: Extract<Resolution, { kind: 'invalid' }>): Message {
  switch (r.reason) {
    case 'empty':
      return { key: 'flow.error.empty' };
    case 'check-digit':
      return { key: 'flow.error.checkDigit', params: { code: r.code } };
    default:
      return r.problem
        ? { key: `flow.error.gs1.${r.problem.code}`, params: r.problem.values }
        : { key: 'flow.error.invalid', params: { message: r.message } };
  }
}

/**
 * A scan at a lot or serial step that cannot be a lot or serial: GS1 data (a malformed GS1
 * code, or one of an item not known here) — taken as typed, it would become the lot
 * "(01)…(10)…". Null for anything that may be a name. A digit string whose GTIN check digit
 * is wrong is not refused here: plenty of serial numbers are long digit strings.
 */
export function notALotOrSerial(r: Resolution): Message | null {
  if (r.kind === 'invalid' && r.reason === 'gs1') return invalidScan(r);
  if (r.kind === 'unknown' && r.gs1 !== undefined)
    return { key: 'flow.error.unknown', params: { code: r.code } };
  return null;
}

/**
 * The name a scan at a lot or serial step gives: a known lot's or serial's own, else what was
 * scanned or typed without a scanner's symbology prefix (`]C0` — not part of the data).
 */
export function scannedName(r: Resolution, input: string): string {
  if (r.kind === 'lot') return r.lot;
  if (r.kind === 'serial') return r.serial;
  return splitSymbology(input.trim()).rest;
}

/**
 * A number at a quantity prompt that is really a scanned barcode: an EAN-13 or EAN-8 is all
 * digits, so scanning the box again at "How many?" would otherwise save its barcode as the
 * quantity (a registered EAN-8 passes every limit). Returns the item whose barcode it is, `null`
 * for a code of no item here, `undefined` for a quantity:
 * - from 8 digits on, an item's registered barcode is that item's;
 * - 8–11 digits that are no registered barcode are a quantity: one typed number in ten has a
 *   valid GTIN-8 check digit, and 12,345,670 may be what was counted;
 * - 12–14 digits with a valid check digit (a GTIN: beyond any quantity) are a code;
 * - GS1 data sent without its AIM prefix (`01` + a GTIN-14 …) is the code it resolves to.
 * Shorter numbers are always quantities (a bin or SKU named "100" must not swallow a typed 100).
 */
export function barcodeAtQuantity(view: InventoryView, text: string): Item | null | undefined {
  const t = text.trim();
  if (t.length < 8 || !/^\d+$/.test(t)) return undefined;
  const item = view.itemByBarcode(normalizeBarcode(t));
  if (item) return item;
  if (t.length < 12) return undefined;
  if (looksLikeGtin(t) && hasValidCheckDigit(t)) return null;
  if (/^(00|01|02)\d{16}/.test(t)) {
    const r = resolveScan(view, t);
    return r.kind === 'item' ? r.item : null;
  }
  return undefined;
}

/**
 * Feeds one input — the text of a scan or of a typed entry — to the flow. An empty input at
 * a quantity step takes what was counted by scanning the item again, or 1 (scan, Enter,
 * next).
 */
export function advance(state: FlowState, input: string, view: InventoryView): Advance {
  const step = state.step;
  if (step === null) return { ok: true, state };
  const v = state.values;
  // An empty Enter answers only the quantity prompt.
  if (input.trim() === '' && step !== 'quantity') return { ok: true, state, ignored: true };

  if (step === 'quantity' || step === 'delta') {
    const text = input.trim();
    if (step === 'quantity' && text === '') return complete(state, { quantity: v.quantity ?? 1 });
    const scanned = barcodeAtQuantity(view, text);
    if (scanned !== undefined) {
      // The item's own barcode again counts on, as its SKU does; any other is refused.
      if (step === 'quantity' && scanned !== null && scanned.id === v.item?.id)
        // GS1 data sent as plain digits carries its lot, date and count too.
        return countAgain(state, gs1Of(view, text));
      return fail(state, 'flow.error.codeNotQuantity', { code: text });
    }
    const n = parseQuantity(text, true);
    if (n === 'ambiguous') return fail(state, 'flow.error.ambiguousNumber', { text });
    if (n === null) {
      // A scan of the same item again at the quantity step counts on.
      const r = resolveScan(view, input);
      if (step === 'quantity' && r.kind === 'item' && r.item.id === v.item?.id)
        return countAgain(state, r);
      return fail(state, 'flow.error.notANumber', { text });
    }
    if (step === 'quantity' && n <= 0) return fail(state, 'flow.error.quantityPositive');
    if (step === 'delta' && n === 0) return fail(state, 'flow.error.deltaZero');
    if (Math.abs(n) > QTY_MAX) return fail(state, 'flow.error.quantityTooLarge', { max: QTY_MAX });
    return complete(state, step === 'quantity' ? { quantity: n } : { delta: n });
  }

  if (step === 'reason') {
    const reason = ADJUSTMENT_REASONS.find((r) => r === input.trim());
    if (!reason) return fail(state, 'flow.error.reason');
    return complete(state, { reason });
  }

  if (step === 'lot' || step === 'serial') {
    const r = resolveScan(view, input);
    // A GS1 code of the same item may carry the lot or serial.
    if (r.kind === 'item' && r.item.id === v.item?.id) {
      const value = step === 'lot' ? r.lot : r.serial;
      if (value === undefined) return fail(state, `flow.error.no_${step}`);
      // The box itself was scanned: it counts, and its best-before and count are taken too.
      return complete(state, {
        [step]: value,
        itemScanned: true,
        ...(v.expiresOn === undefined && r.expiresOn !== undefined
          ? { expiresOn: r.expiresOn }
          : {}),
        ...(v.quantity === undefined && r.quantity !== undefined ? { quantity: r.quantity } : {}),
      });
    }
    // A bin label, or another item's barcode or SKU, is no lot or serial of this one (a wrong
    // label scanned would otherwise become the lot "A-01-02"). Another item's lot or serial is
    // a name this one may have too: taken as typed.
    if (r.kind === 'position')
      return fail(state, `flow.error.positionNot_${step}`, { code: r.position.code });
    if (r.kind === 'item')
      return fail(state, 'flow.error.otherItem', { code: input.trim(), sku: r.item.sku });
    const refused = notALotOrSerial(r);
    if (refused) return { ok: false, state, error: refused };
    const text = scannedName(r, input);
    if (text === '' || text.length > 64) return fail(state, `flow.error.no_${step}`);
    return complete(state, { [step]: text });
  }

  const r = resolveScan(view, input);
  if (r.kind === 'invalid') return { ok: false, state, error: invalidScan(r) };

  if (isPositionField(step)) {
    if (r.kind !== 'position') {
      return fail(state, 'flow.error.expectedPosition', { code: input.trim() });
    }
    const p = r.position;
    if (p.retired) return fail(state, 'flow.error.retired', { code: p.code });
    if (step === 'container' && p.fixed) return fail(state, 'flow.error.fixed', { code: p.code });
    if (step === 'to' && (v.from?.id === p.id || v.container?.id === p.id))
      return fail(state, 'flow.error.sameTarget', { code: p.code });
    return complete(state, { [step]: p });
  }

  // step === 'item'
  if (r.kind === 'item') {
    return complete(state, {
      item: r.item,
      itemScanned: true,
      ...(r.lot !== undefined ? { lot: r.lot } : {}),
      ...(r.serial !== undefined ? { serial: r.serial } : {}),
      ...(r.expiresOn !== undefined ? { expiresOn: r.expiresOn } : {}),
      ...(r.quantity !== undefined ? { quantity: r.quantity } : {}),
    });
  }
  if (r.kind === 'serial')
    return complete(state, { item: r.item, itemScanned: true, serial: r.serial });
  if (r.kind === 'lot') {
    return complete(state, {
      item: r.item,
      itemScanned: true,
      lot: r.lot,
      ...(r.expiresOn !== null ? { expiresOn: r.expiresOn } : {}),
    });
  }
  if (r.kind === 'position') {
    return fail(state, 'flow.error.expectedItem', { code: r.position.code });
  }
  return fail(state, 'flow.error.unknown', { code: input.trim() });
}

/** Sets values; when nothing more is needed, returns the command to queue. */
function complete(state: FlowState, set: Partial<Values>): Advance {
  const s = settle({ ...state, values: { ...state.values, ...set } });
  if (s.step !== null) return { ok: true, state: s };
  return { ok: true, state: s, command: commandOf(s) };
}

function stockRef(v: Values) {
  return {
    ...(v.lot !== undefined ? { lot: v.lot } : {}),
    ...(v.serial !== undefined ? { serial: v.serial } : {}),
  };
}

function commandOf(s: FlowState): Command {
  const v = s.values;
  const quantity = v.item?.tracking === 'serial' ? 1 : (v.quantity ?? 1);
  switch (s.kind) {
    case 'receive':
      return {
        name: 'receiveStock',
        args: {
          itemId: v.item?.id,
          positionId: v.position?.id,
          quantity,
          ...stockRef(v),
          ...(v.expiresOn !== undefined ? { expiresOn: v.expiresOn } : {}),
        },
      };
    case 'move':
      return {
        name: 'moveStock',
        args: { itemId: v.item?.id, from: v.from?.id, to: v.to?.id, quantity, ...stockRef(v) },
      };
    case 'container':
      return { name: 'moveContainer', args: { containerId: v.container?.id, to: v.to?.id } };
    case 'ship':
      return {
        name: 'shipStock',
        args: { itemId: v.item?.id, from: v.from?.id, quantity, ...stockRef(v) },
      };
    case 'adjust':
      return {
        name: 'adjustStock',
        args: {
          itemId: v.item?.id,
          positionId: v.position?.id,
          delta: v.delta,
          reason: v.reason,
          ...stockRef(v),
        },
      };
  }
}
