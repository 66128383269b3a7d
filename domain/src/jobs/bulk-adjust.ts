import { z } from 'zod';
import { adjustStockArgs } from '../inventory/commands.js';
import type { InventoryView } from '../inventory/state.js';
import { normalizeBarcode } from '../codes/gtin.js';
import type { RowError, RowProblem, RowProblemValues } from './row-error.js';
import { issueRowError, rowError } from './row-error.js';
import { readTable } from './table.js';

/**
 * Bulk stock adjustment from a file (CSV, or a spreadsheet turned into rows by the server):
 * one row per adjustment, checked here against the master data before anything is applied.
 * The valid rows become the job's plan; the job applies row k of the plan as mutation k of
 * its own client (`job-<id>`), so a crashed and redelivered job never applies a row twice.
 *
 * Columns (first row, any order, case and spaces ignored; `;` or `,` separated):
 * `item` (SKU or barcode), `position` (position code), `delta` (signed quantity, `.` or `,`
 * as decimal mark), `reason` (an adjustment reason code), and optional `lot`, `serial`, `note`.
 */
export const BULK_ADJUST_COLUMNS = ['item', 'position', 'delta', 'reason'] as const;
export const BULK_ADJUST_OPTIONAL = ['lot', 'serial', 'note'] as const;
/** Rows in one file at most (a larger file is refused whole). */
export const BULK_ADJUST_MAX_ROWS = 100_000;

/** One row of a plan: the `adjustStock` arguments it becomes, and where it came from. */
export const bulkAdjustRowSchema = z.object({
  line: z.number().int().positive(),
  args: adjustStockArgs,
});
export type BulkAdjustRow = z.infer<typeof bulkAdjustRowSchema>;

export interface BulkAdjustReport {
  /** Data rows in the file (blank lines not counted). */
  readonly rows: number;
  readonly valid: BulkAdjustRow[];
  /** Problems, in file order; a file-level problem has line 1 and no column. */
  readonly errors: RowError[];
}

/** The master data a file is checked against (the replay's view has it all). */
export type BulkAdjustView = Pick<InventoryView, 'itemBySku' | 'itemByBarcode' | 'positionByCode'>;

/**
 * RFC 4180 CSV: quoted fields may hold the separator, line breaks and doubled quotes; CRLF or
 * LF; a byte-order mark is dropped. The separator is `;` when the first line has more `;` than
 * `,` outside quotes (spreadsheets in German and other locales write `;`). More lines than
 * `limits.maxRows`, or more fields on a line than `limits.maxColumns`, is an error: an upload
 * of a few MB must not become millions of rows in memory.
 */
export function parseCsv(
  text: string,
  limits: { readonly maxRows?: number; readonly maxColumns?: number } = {},
): string[][] {
  const maxRows = limits.maxRows ?? Infinity;
  const maxColumns = limits.maxColumns ?? Infinity;
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const firstLine = src.slice(0, src.search(/\r?\n|$/));
  const count = (ch: string) => firstLine.replace(/"[^"]*"/g, '').split(ch).length - 1;
  const sep = count(';') > count(',') ? ';' : ',';
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (quoted) {
      if (c === '"') {
        if (src[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else field += c;
      i++;
      continue;
    }
    if (c === '"' && field === '') quoted = true;
    else if (c === sep) {
      row.push(field);
      field = '';
      if (row.length >= maxColumns)
        throw new Error(`line ${rows.length + 1} has more than ${maxColumns} fields`);
    } else if (c === '\n' || c === '\r') {
      row.push(field);
      rows.push(row);
      if (rows.length > maxRows) throw new Error(`it has more than ${maxRows} lines`);
      row = [];
      field = '';
      if (c === '\r' && src[i + 1] === '\n') i++;
    } else field += c;
    i++;
  }
  if (quoted) throw new Error('the file ends inside a quoted field');
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
    if (rows.length > maxRows) throw new Error(`it has more than ${maxRows} lines`);
  }
  return rows;
}

/** A quantity as people type it: `-3`, `2.5`, `2,5`, ` +1 `. Anything else is NaN. */
/** A quantity as a spreadsheet writes it: `.` or `,` as decimal mark, an optional sign. NaN if it is not one. */
export function parseDelta(raw: string): number {
  const s = raw.trim().replace(',', '.');
  return /^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(s) ? Number(s) : NaN;
}

/**
 * Checks a file's rows (`table[0]` the header) against the master data: every row either
 * becomes a valid `adjustStock` (validated by the command's own schema, the same rule a
 * scanner's adjustment meets) or gets an error saying which line and column and why. Stock
 * levels are not checked here: an adjustment below zero is a fact the replay records with a
 * conflict, as for a scan.
 */
export function validateBulkAdjust(
  table: readonly (readonly string[])[],
  view: BulkAdjustView,
): BulkAdjustReport {
  const read = readTable(table, {
    required: BULK_ADJUST_COLUMNS,
    optional: BULK_ADJUST_OPTIONAL,
    maxRows: BULK_ADJUST_MAX_ROWS,
  });
  if (!read.ok) return { rows: read.rows, valid: [], errors: [read.error] };

  const valid: BulkAdjustRow[] = [];
  const errors: RowError[] = [];
  for (const { line, get } of read.rows) {
    const rowErrors: RowError[] = [];
    const fail = <K extends RowProblem>(column: string, code: K, values: RowProblemValues<K>) =>
      rowErrors.push(rowError(line, column, code, values));

    const itemCode = get('item');
    const item = itemCode
      ? (view.itemBySku(itemCode) ?? view.itemByBarcode(normalizeBarcode(itemCode)))
      : undefined;
    if (!itemCode) fail('item', 'NO_ITEM', {});
    else if (!item) fail('item', 'UNKNOWN_ITEM', { code: itemCode });
    const positionCode = get('position');
    const position = positionCode ? view.positionByCode(positionCode) : undefined;
    if (!positionCode) fail('position', 'NO_POSITION', {});
    else if (!position) fail('position', 'UNKNOWN_POSITION', { code: positionCode });
    const deltaRaw = get('delta');
    const delta = parseDelta(deltaRaw);
    if (Number.isNaN(delta)) fail('delta', 'NOT_A_QUANTITY', { value: deltaRaw });

    if (rowErrors.length === 0 && item && position) {
      const lot = get('lot');
      const serial = get('serial');
      const note = get('note');
      const args = adjustStockArgs.safeParse({
        itemId: item.id,
        positionId: position.id,
        delta,
        reason: get('reason'),
        ...(lot ? { lot } : {}),
        ...(serial ? { serial } : {}),
        ...(note ? { note } : {}),
      });
      if (!args.success) {
        for (const issue of args.error.issues) {
          const field = String(issue.path[0] ?? '');
          const column = field === 'itemId' ? 'item' : field === 'positionId' ? 'position' : field;
          const known = issueRowError(line, column, issue, get(column));
          if (known) rowErrors.push(known);
          else fail(column, 'INVALID', { detail: issue.message });
        }
      } else if (item.tracking === 'lot' && !args.data.lot) {
        fail('lot', 'LOT_REQUIRED', { sku: item.sku });
      } else if (item.tracking === 'serial' && !args.data.serial) {
        fail('serial', 'SERIAL_REQUIRED', { sku: item.sku });
      } else if (item.tracking === 'serial' && Math.abs(args.data.delta) !== 1) {
        fail('delta', 'SERIAL_DELTA', {});
      } else if (item.tracking === 'none' && (args.data.lot || args.data.serial)) {
        fail(args.data.lot ? 'lot' : 'serial', 'NOT_TRACKED', { sku: item.sku });
      } else {
        valid.push({ line, args: args.data });
      }
    }
    errors.push(...rowErrors);
  }
  return { rows: read.rows.length, valid, errors };
}
