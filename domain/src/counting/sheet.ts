import { normalizeBarcode } from '../codes/gtin.js';
import type { InventoryView, Item, Position } from '../inventory/state.js';
import type { RowError, RowProblem, RowProblemValues } from '../jobs/row-error.js';
import { issueRowError, pairValue, rowError } from '../jobs/row-error.js';
import { parseDelta } from '../jobs/bulk-adjust.js';
import { readTable } from '../jobs/table.js';
import type { ItemId, Lot, PositionId, Serial } from '../shared/ids.js';
import { QTY_EPSILON, qtyEquals, roundQty } from '../shared/quantity.js';
import type { CountingCommandArgs } from './commands.js';
import { confirmPositionEmptyArgs, recordCountArgs } from './commands.js';
import type { CountRecord, CountSession } from './state.js';
import { effectiveCount, pairStockOf } from './state.js';

/**
 * Counting on paper: a session's counting sheet to print (or open in a spreadsheet), and the
 * filled-in sheet read back as the counts an operator's handheld would have sent.
 *
 * The sheet has one row per pair to count, in position code, item SKU, lot order (a
 * serialized item's rows in serial order), with these columns (the import finds them by name: any order, case and spaces
 * ignored; `;` or `,` separated once the server or client turned the file into rows):
 * - `session`: the session's code (a row of another session is refused on import);
 * - `position`: the position's code; `item`: the item's SKU (a barcode is accepted on
 *   import); `description`: the item's name (ignored on import);
 * - `lot`: the pair's lot; for a serialized item the lot its serial carries, for information
 *   only (serialized items are counted per position and item, their lot travels with each
 *   serial, so the import ignores it);
 * - `serial`: serialized items get one row per serial expected there; a row is counted `1`
 *   (found) or `0` (not found); a serial found that is not on the sheet is a row added by hand;
 * - `expected`: the quantity held when the sheet was made (for a serial `1`, or `0` for one
 *   only counted before) — EMPTY in a blind session, where the counter must not see it;
 *   ignored on import (see below);
 * - `counted`: what was counted, `.` or `,` as decimal mark. Empty when exported, unless the
 *   pair was already counted: then the line's current effective count, so a sheet printed
 *   again shows what is known (a line waiting for a recount or with disagreeing counts has no
 *   effective count and stays empty, so a blind recount stays blind).
 *
 * Empty positions: in a positions scope every position with no row gets one row with an empty
 * item (`expected` `0` in an open session). Writing `counted` `0` on a row without an item
 * means "position confirmed empty" (`confirmPositionEmpty`); such a row may be added by hand
 * for any position, in either kind of scope. A position confirmed empty has no other row
 * counted on the same sheet. Whether a position was confirmed empty before is not on a
 * reprinted sheet (it is a position's state, not a line's): its row prints uncounted.
 */
export const COUNT_SHEET_COLUMNS = [
  'session',
  'position',
  'item',
  'description',
  'lot',
  'serial',
  'expected',
  'counted',
] as const;
/** Columns a sheet must have to be read back. */
export const COUNT_SHEET_REQUIRED = ['position', 'item', 'counted'] as const;
export const COUNT_SHEET_OPTIONAL = [
  'session',
  'description',
  'lot',
  'serial',
  'expected',
] as const;
/** Rows in one sheet at most (a larger file is refused whole). */
export const COUNT_SHEET_MAX_ROWS = 100_000;

/** What making a sheet reads: master data and stock. */
export type CountSheetView = Pick<
  InventoryView,
  'item' | 'position' | 'quantity' | 'linesAt' | 'linesOfItem'
>;

/** What reading a sheet back reads: codes to ids, and stock now. */
export type CountSheetImportView = Pick<
  InventoryView,
  'itemBySku' | 'itemByBarcode' | 'positionByCode' | 'quantity' | 'linesAt'
>;

export type CountSheetSession = Pick<CountSession, 'id' | 'code' | 'scope' | 'mode'>;

export interface CountSheet {
  /** `COUNT_SHEET_COLUMNS`. */
  readonly header: string[];
  readonly rows: string[][];
}

// ─── Export ─────────────────────────────────────────────────────────────────────────────────

interface SheetPair {
  readonly itemId: ItemId;
  readonly positionId: PositionId;
  readonly lot: Lot | null;
  readonly serialized: boolean;
}

const pairKey = (positionId: string, itemId: string, lot: string | null) =>
  `${positionId}\u0000${itemId}\u0000${lot ?? ''}`;

/** Plain code-point order: the same on every device (no locale). */
const compare = (a: readonly string[], b: readonly string[]): number => {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? '';
    const y = b[i] ?? '';
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
};

const fmt = (q: number): string => String(roundQty(q));

/**
 * The counting sheet of a session: one row per pair to count (see the module comment for the
 * columns). A positions scope lists every stock line at its positions, plus the pairs already
 * counted there that hold no stock now, plus one row with an empty item per position with no
 * other row. An items scope lists every stock line of its items wherever it is, plus the pairs
 * of those items already counted. `scopeIds` are the session's scope (position ids or item
 * ids, per `session.scope.kind`); `lines` its lines (other sessions' are ignored).
 */
export function countSheetOf(
  view: CountSheetView,
  session: CountSheetSession,
  scopeIds: readonly string[],
  lines: readonly CountRecord[],
): CountSheet {
  const scope = new Set(scopeIds);
  const byPositions = session.scope.kind === 'positions';
  const open = session.mode === 'open';

  const pairs = new Map<string, SheetPair>();
  const add = (p: SheetPair) => {
    const key = pairKey(p.positionId, p.itemId, p.lot);
    if (!pairs.has(key)) pairs.set(key, p);
  };
  for (const id of scope) {
    const stock = byPositions ? view.linesAt(id as PositionId) : view.linesOfItem(id as ItemId);
    for (const l of stock) {
      if (Math.abs(l.quantity) < QTY_EPSILON) continue;
      const tracking = view.item(l.itemId)?.tracking;
      const serialized = tracking !== undefined ? tracking === 'serial' : l.serial !== null;
      add({
        itemId: l.itemId,
        positionId: l.positionId,
        lot: serialized ? null : l.lot,
        serialized,
      });
    }
  }
  const records = new Map<string, CountRecord>();
  for (const r of lines) {
    if (r.sessionId !== session.id || !scope.has(byPositions ? r.positionId : r.itemId)) continue;
    records.set(pairKey(r.positionId, r.itemId, r.lot), r);
    add(r);
  }

  const rows: string[][] = [];
  const withRow = new Set<string>();
  const push = (positionId: PositionId, cells: string[]) => {
    withRow.add(positionId);
    rows.push([session.code, ...cells]);
  };
  for (const p of pairs.values()) {
    const code = view.position(p.positionId)?.code ?? p.positionId;
    const item = view.item(p.itemId);
    const sku = item?.sku ?? p.itemId;
    const name = item?.name ?? '';
    const record = records.get(pairKey(p.positionId, p.itemId, p.lot));
    const count = record ? effectiveCount(record) : null;
    if (p.serialized) {
      const held = new Map(
        (pairStockOf(view, p).serials ?? []).map((s) => [s.serial as string, s.lot] as const),
      );
      const found = new Set<string>(count?.serials ?? []);
      for (const serial of new Set([...held.keys(), ...found])) {
        push(p.positionId, [
          code,
          sku,
          name,
          held.get(serial) ?? '',
          serial,
          open ? (held.has(serial) ? '1' : '0') : '',
          count === null ? '' : found.has(serial) ? '1' : '0',
        ]);
      }
    } else {
      push(p.positionId, [
        code,
        sku,
        name,
        p.lot ?? '',
        '',
        open ? fmt(pairStockOf(view, p).quantity) : '',
        count === null ? '' : fmt(count.counted),
      ]);
    }
  }
  if (byPositions) {
    for (const id of scope) {
      const position = view.position(id as PositionId);
      if (withRow.has(id) || position === undefined || position.virtual) continue;
      push(position.id, [position.code, '', '', '', '', open ? '0' : '', '']);
    }
  }
  // Position, item, lot, serial; a serial's lot is informational, so its rows go by serial.
  const order = (r: readonly string[]) => [
    r[1] ?? '',
    r[2] ?? '',
    r[5] ? '' : (r[4] ?? ''),
    r[5] ?? '',
  ];
  rows.sort((a, b) => compare(order(a), order(b)));
  return { header: [...COUNT_SHEET_COLUMNS], rows };
}

// ─── Import ─────────────────────────────────────────────────────────────────────────────────

export type CountSheetCommand =
  | {
      /** The file line of the command's first row. */
      readonly line: number;
      readonly name: 'recordCount';
      readonly args: CountingCommandArgs<'recordCount'>;
    }
  | {
      readonly line: number;
      readonly name: 'confirmPositionEmpty';
      readonly args: CountingCommandArgs<'confirmPositionEmpty'>;
    };

export interface CountSheetImport {
  /** Data rows in the file (blank lines not counted). */
  readonly rows: number;
  /** In the order of their first row; empty when there is any error. */
  readonly commands: readonly CountSheetCommand[];
  /** Rows with an empty `counted`: not counted yet. */
  readonly uncounted: number;
  /** Counted rows that restate their line's current count (a reprinted sheet): nothing to send. */
  readonly unchanged: number;
  /** Problems, in file order; a file-level problem has line 1 and no column. */
  readonly errors: readonly RowError[];
}

interface QuantityDraft {
  readonly line: number;
  readonly position: Position;
  readonly item: Item;
  readonly lot: string;
  readonly counted: number;
}

interface SerialDraft {
  readonly line: number;
  readonly position: Position;
  readonly item: Item;
  /** Serials counted, with their row and whether found. */
  readonly counted: Map<string, { readonly line: number; readonly found: boolean }>;
  /** Rows of the pair left uncounted. */
  readonly blank: { readonly line: number; readonly serial: string }[];
  /** Every serial any row of the pair names (faulty rows included). */
  readonly named: Set<string>;
  /** A row of the pair is counted (a faulty one included). */
  filled: boolean;
}

interface EmptyDraft {
  readonly line: number;
  readonly position: Position;
}

const pairLabel = (item: Pick<Item, 'sku'>, position: Pick<Position, 'code'>, lot: string) =>
  pairValue(item.sku, position.code, lot);

/** Which sheet column an args field comes from. */
const columnOf = (field: PropertyKey | undefined): string | null => {
  switch (field) {
    case 'sessionId':
      return 'session';
    case 'positionId':
      return 'position';
    case 'itemId':
      return 'item';
    case 'lot':
      return 'lot';
    case 'counted':
      return 'counted';
    case 'serials':
      return 'serial';
    default:
      // expected, expectedSerials: stock now, not a cell of the sheet
      return null;
  }
};

/**
 * Reads a filled counting sheet (`table[0]` the header; the export's column names, any order)
 * back as the commands a handheld would have sent, checked by the commands' own schemas and
 * against the session's scope and the items' tracking. Pure: nothing is sent.
 *
 * - A row with an empty `counted` is not counted yet: skipped, not an error.
 * - A non-serialized pair becomes one `recordCount` with the row's `counted`. Its `expected`
 *   is the quantity the view holds for the pair NOW, at import: a paper sheet carries no
 *   device state (a blind sheet has no expected at all, and a printed one may be old). So a
 *   movement between printing (or counting) and the import is not seen as a race: the
 *   adjustment is `counted − stock at import`. Import a sheet soon after counting, and do not
 *   move stock in between. A pair on two counted rows is an error naming both lines.
 * - A serialized item's rows at a position become one `recordCount`: `serials` those counted
 *   `1`, `expectedSerials` the serials the view holds there now. Once one of its rows is
 *   counted, every row of the pair must be (`1` or `0`), and every serial held there now must
 *   have a row: a serial received since the sheet was printed would otherwise count as lost.
 * - A row without an item and counted `0` is a `confirmPositionEmpty`, expecting what the
 *   view holds there now (an items scope: of its items only).
 * - A row whose position (positions scope) or item (items scope) is outside the session's
 *   scope (`inScope`) is an error, as `COUNT_OUT_OF_SCOPE` would be.
 * - `lines`, the session's lines when given: a counted row that restates its line's effective
 *   count (a reprinted sheet shows it) sends nothing, so reading a sheet twice adds no count.
 *
 * A sheet with any error imports nothing; every error says which line and column, and why.
 */
export function readCountSheet(
  table: readonly (readonly string[])[],
  view: CountSheetImportView,
  session: Pick<CountSession, 'id' | 'code' | 'scope'>,
  inScope: (id: string) => boolean,
  lines: readonly CountRecord[] = [],
): CountSheetImport {
  const read = readTable(table, {
    required: COUNT_SHEET_REQUIRED,
    optional: COUNT_SHEET_OPTIONAL,
    maxRows: COUNT_SHEET_MAX_ROWS,
  });
  if (!read.ok)
    return { rows: read.rows, commands: [], uncounted: 0, unchanged: 0, errors: [read.error] };

  const byPositions = session.scope.kind === 'positions';
  const itemOf = (code: string): Item | undefined =>
    code ? (view.itemBySku(code) ?? view.itemByBarcode(normalizeBarcode(code))) : undefined;
  const errors: RowError[] = [];
  const quantities = new Map<string, QuantityDraft>();
  const serialPairs = new Map<string, SerialDraft>();
  const empties = new Map<PositionId, EmptyDraft>();
  /** Per position, the first counted row naming an item there. */
  const itemRows = new Map<PositionId, { readonly line: number; readonly sku: string }>();
  let uncounted = 0;
  let unchanged = 0;

  const serialDraft = (line: number, position: Position, item: Item): SerialDraft => {
    const key = pairKey(position.id, item.id, null);
    let d = serialPairs.get(key);
    if (!d) {
      d = { line, position, item, counted: new Map(), blank: [], named: new Set(), filled: false };
      serialPairs.set(key, d);
    }
    return d;
  };

  for (const { line, get } of read.rows) {
    const fail = <K extends RowProblem>(column: string, code: K, values: RowProblemValues<K>) =>
      errors.push(rowError(line, column, code, values));
    const errorsBefore = errors.length;
    const positionCode = get('position');
    const itemCode = get('item');
    const serial = get('serial');
    const position = positionCode ? view.positionByCode(positionCode) : undefined;
    const item = itemOf(itemCode);
    const countedRaw = get('counted');

    if (countedRaw === '') {
      uncounted++;
      if (position && item?.tracking === 'serial' && serial) {
        const d = serialDraft(line, position, item);
        d.blank.push({ line, serial });
        d.named.add(serial);
      }
      continue;
    }

    const sessionCode = get('session');
    if (sessionCode && sessionCode !== session.code)
      fail('session', 'OTHER_SESSION', { value: sessionCode, session: session.code });
    if (!positionCode) fail('position', 'NO_POSITION', {});
    else if (!position) fail('position', 'UNKNOWN_POSITION', { code: positionCode });
    else if (position.virtual) fail('position', 'VIRTUAL_POSITION', { position: position.code });
    else if (byPositions && !inScope(position.id))
      fail('position', 'POSITION_OUT_OF_SCOPE', { position: position.code, session: session.code });
    const counted = parseDelta(countedRaw);
    if (Number.isNaN(counted)) fail('counted', 'NOT_A_QUANTITY', { value: countedRaw });
    const usable = position !== undefined && !position.virtual;

    if (!itemCode) {
      // "Position confirmed empty".
      if (!Number.isNaN(counted) && Math.abs(counted) >= QTY_EPSILON)
        fail('counted', 'EMPTY_NOT_ZERO', {});
      if (usable) {
        const before = empties.get(position.id);
        if (before) fail('position', 'EMPTY_TWICE', { position: position.code, line: before.line });
        else empties.set(position.id, { line, position });
      }
      continue;
    }

    if (!item) {
      fail('item', 'UNKNOWN_ITEM', { code: itemCode });
      continue;
    }
    if (!byPositions && !inScope(item.id))
      fail('item', 'ITEM_OUT_OF_SCOPE', { sku: item.sku, session: session.code });
    if (usable && !itemRows.has(position.id)) itemRows.set(position.id, { line, sku: item.sku });
    /** The row names a pair of the session (its cells may still be wrong). */
    const located = usable && errors.length === errorsBefore;

    const lot = get('lot');
    if (item.tracking === 'serial') {
      if (!serial) fail('serial', 'SERIAL_ROWS', { sku: item.sku });
      else if (!Number.isNaN(counted) && counted !== 0 && counted !== 1)
        fail('counted', 'SERIAL_COUNT', {});
      if (!located) continue;
      const d = serialDraft(line, position, item);
      d.filled = true;
      if (!serial) continue;
      const before = d.counted.get(serial) ?? d.blank.find((b) => b.serial === serial);
      if (before)
        fail('serial', 'SERIAL_TWICE', {
          serial,
          pair: pairLabel(item, position, ''),
          line: before.line,
        });
      d.named.add(serial);
      if (!before && (counted === 0 || counted === 1))
        d.counted.set(serial, { line, found: counted === 1 });
      continue;
    }

    if (serial) fail('serial', 'NOT_SERIALIZED', { sku: item.sku });
    if (item.tracking === 'lot' && !lot) fail('lot', 'LOT_REQUIRED', { sku: item.sku });
    if (item.tracking === 'none' && lot) fail('lot', 'NOT_LOT_TRACKED', { sku: item.sku });
    // A faulty row counts nothing (and so cannot be the other half of a duplicate).
    if (!located || errors.length > errorsBefore) continue;
    const key = pairKey(position.id, item.id, lot);
    const before = quantities.get(key);
    if (before) {
      fail('item', 'COUNTED_TWICE', { pair: pairLabel(item, position, lot), line: before.line });
      continue;
    }
    quantities.set(key, { line, position, item, lot, counted });
  }

  // A position confirmed empty has no other count on the sheet.
  for (const e of empties.values()) {
    const other = itemRows.get(e.position.id);
    if (other)
      errors.push(
        rowError(e.line, 'item', 'EMPTY_BUT_COUNTED', {
          position: e.position.code,
          line: other.line,
          sku: other.sku,
        }),
      );
  }

  const known = new Map(
    lines
      .filter((r) => r.sessionId === session.id)
      .map((r) => [pairKey(r.positionId, r.itemId, r.lot), r] as const),
  );
  const drafts: CountSheetCommand[] = [];
  const record = (line: number, label: string, lineOf: (i: number) => number, args: unknown) => {
    const parsed = recordCountArgs.safeParse(args, { reportInput: true });
    if (parsed.success) {
      drafts.push({ line, name: 'recordCount', args: parsed.data });
      return;
    }
    for (const issue of parsed.error.issues) {
      const [field, index] = issue.path;
      const at = field === 'serials' && typeof index === 'number' ? lineOf(index) : line;
      errors.push(
        issueRowError(at, columnOf(field), issue) ??
          rowError(at, columnOf(field), 'PAIR_INVALID', { pair: label, detail: issue.message }),
      );
    }
  };

  for (const d of quantities.values()) {
    if (Number.isNaN(d.counted)) continue;
    const lot = d.lot ? (d.lot as Lot) : null;
    const existing = known.get(pairKey(d.position.id, d.item.id, lot));
    const current = existing ? effectiveCount(existing) : null;
    if (current !== null && qtyEquals(current.counted, d.counted)) {
      unchanged++;
      continue;
    }
    const stock = pairStockOf(view, {
      itemId: d.item.id,
      positionId: d.position.id,
      lot,
      serialized: false,
    });
    record(d.line, pairLabel(d.item, d.position, d.lot), () => d.line, {
      sessionId: session.id,
      positionId: d.position.id,
      itemId: d.item.id,
      ...(d.lot ? { lot: d.lot } : {}),
      counted: d.counted,
      expected: stock.quantity,
    });
  }

  for (const d of serialPairs.values()) {
    if (!d.filled) continue;
    const label = pairLabel(d.item, d.position, '');
    for (const b of d.blank)
      errors.push(
        rowError(b.line, 'counted', 'SERIAL_NOT_COUNTED', { serial: b.serial, pair: label }),
      );
    const held = (
      pairStockOf(view, {
        itemId: d.item.id,
        positionId: d.position.id,
        lot: null,
        serialized: true,
      }).serials ?? []
    ).map((s) => s.serial);
    for (const s of held)
      if (!d.named.has(s))
        errors.push(rowError(d.line, 'serial', 'SERIAL_NOT_ON_SHEET', { serial: s, pair: label }));
    const counted = [...d.counted.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const found = counted.filter(([, c]) => c.found);
    const serials = found.map(([s]) => s);
    const existing = known.get(pairKey(d.position.id, d.item.id, null));
    const before = existing ? effectiveCount(existing)?.serials : undefined;
    if (
      before !== undefined &&
      before !== null &&
      before.length === serials.length &&
      serials.every((s) => before.includes(s as Serial))
    ) {
      unchanged += d.counted.size;
      continue;
    }
    record(d.line, label, (i) => found[i]?.[1].line ?? d.line, {
      sessionId: session.id,
      positionId: d.position.id,
      itemId: d.item.id,
      serials,
      expectedSerials: held,
    });
  }

  for (const e of empties.values()) {
    const expected = new Map<
      string,
      { itemId: ItemId; lot?: Lot; quantity?: number; serials?: Serial[] }
    >();
    for (const l of view.linesAt(e.position.id)) {
      if (Math.abs(l.quantity) < QTY_EPSILON || (!byPositions && !inScope(l.itemId))) continue;
      if (l.serial !== null) {
        if (l.quantity < QTY_EPSILON) continue;
        const key = pairKey(e.position.id, l.itemId, null);
        const had = expected.get(key);
        if (had?.serials) had.serials.push(l.serial);
        else expected.set(key, { itemId: l.itemId, serials: [l.serial] });
      } else {
        const key = pairKey(e.position.id, l.itemId, l.lot);
        const had = expected.get(key);
        expected.set(key, {
          itemId: l.itemId,
          ...(l.lot !== null ? { lot: l.lot } : {}),
          quantity: roundQty((had?.quantity ?? 0) + l.quantity),
        });
      }
    }
    const parsed = confirmPositionEmptyArgs.safeParse({
      sessionId: session.id,
      positionId: e.position.id,
      expected: [...expected.values()].map((x) =>
        x.serials ? { ...x, serials: [...x.serials].sort() } : x,
      ),
    });
    if (parsed.success)
      drafts.push({ line: e.line, name: 'confirmPositionEmpty', args: parsed.data });
    else
      for (const issue of parsed.error.issues)
        errors.push(
          rowError(e.line, columnOf(issue.path[0]), 'EMPTY_INVALID', {
            position: e.position.code,
            detail: issue.message,
          }),
        );
  }

  errors.sort((a, b) => a.line - b.line);
  drafts.sort((a, b) => a.line - b.line);
  return {
    rows: read.rows.length,
    commands: errors.length === 0 ? drafts : [],
    uncounted,
    unchanged,
    errors,
  };
}
