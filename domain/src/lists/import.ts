import { normalizeBarcode } from '../codes/gtin.js';
import type { InventoryView } from '../inventory/state.js';
import type { RowError, RowProblem, RowProblemValues } from '../jobs/row-error.js';
import { issueRowError, rowError } from '../jobs/row-error.js';
import { parseDelta } from '../jobs/bulk-adjust.js';
import { readTable } from '../jobs/table.js';
import type { ListType } from './commands.js';
import { LIST_TYPES, createListArgs } from './commands.js';
import type { ListCommandArgs } from './commands.js';

/**
 * Movement lists from a file the ERP drops (CSV, one row per line of a list): the rows of
 * each list become one `createList`, checked by the command's own schema against the master
 * data before anything is sent. A file with any error imports nothing; the report says which
 * line and column and why.
 *
 * Columns (first row, any order, case and spaces ignored; `;` or `,` separated):
 * `list` (the document number), `line` (line number), `item` (SKU or barcode), `quantity`;
 * optional `type` (receipt, shipment, transfer: default from the drop's setting), `partner`,
 * `due` (YYYY-MM-DD or DD.MM.YYYY), `reference`, `lot`, `serial`, `position` (suggested
 * destination code: receipts and transfers), `from` (suggested source code: shipments and
 * transfers). A list's `partner`, `due` and `reference` may stand on any of its rows, and must
 * not differ between rows.
 */
export const LIST_IMPORT_COLUMNS = ['list', 'line', 'item', 'quantity'] as const;
export const LIST_IMPORT_OPTIONAL = [
  'type',
  'partner',
  'due',
  'reference',
  'lot',
  'serial',
  'position',
  'from',
] as const;

export type ListImportView = Pick<InventoryView, 'itemBySku' | 'itemByBarcode' | 'positionByCode'>;

export interface ImportedList {
  /** The file line of the list's first row. */
  readonly line: number;
  readonly args: ListCommandArgs<'createList'>;
}

export interface ListImportReport {
  /** Data rows in the file (blank lines not counted). */
  readonly rows: number;
  /** In the order of their first row; empty when there is any error. */
  readonly lists: readonly ImportedList[];
  readonly errors: readonly RowError[];
}

export interface ListImportOptions {
  /** The type of rows without a `type` column or cell. */
  readonly defaultType: ListType;
  /**
   * The id of the list of this type and code: the same for the same document every time, so a
   * file dropped twice (or re-sent by the ERP) names the list it already created.
   */
  readonly listIdOf: (type: ListType, code: string) => string;
}

/** `YYYY-MM-DD`, or `DD.MM.YYYY` as German spreadsheets write it, as an ISO date. */
const isoDate = (raw: string): string => {
  const de = /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/.exec(raw);
  return de ? `${de[3]}-${de[2]?.padStart(2, '0')}-${de[1]?.padStart(2, '0')}` : raw;
};

interface Draft {
  readonly type: ListType;
  readonly code: string;
  readonly line: number;
  header: { partner?: string; due?: string; reference?: string };
  readonly lines: { line: number; value: Record<string, unknown> }[];
}

/** Reads the lists in a file's rows (`table[0]` the header). Pure: no ids minted, no I/O. */
export function readListsCsv(
  table: readonly (readonly string[])[],
  view: ListImportView,
  o: ListImportOptions,
): ListImportReport {
  const read = readTable(table, { required: LIST_IMPORT_COLUMNS, optional: LIST_IMPORT_OPTIONAL });
  if (!read.ok) return { rows: read.rows, lists: [], errors: [read.error] };

  const errors: RowError[] = [];
  const drafts = new Map<string, Draft>();
  for (const { line, get } of read.rows) {
    const fail = <K extends RowProblem>(column: string, code: K, values: RowProblemValues<K>) =>
      errors.push(rowError(line, column, code, values));

    const typeRaw = get('type').toLowerCase();
    const type = (typeRaw || o.defaultType) as ListType;
    if (!(LIST_TYPES as readonly string[]).includes(type)) {
      fail('type', 'NOT_A_LIST_TYPE', { value: typeRaw, types: LIST_TYPES.join(', ') });
      continue;
    }
    const code = get('list');
    if (!code) {
      fail('list', 'NO_LIST', {});
      continue;
    }
    const key = `${type}\u0000${code}`;
    let draft = drafts.get(key);
    if (!draft) drafts.set(key, (draft = { type, code, line, header: {}, lines: [] }));
    for (const [column, field] of [
      ['partner', 'partner'],
      ['due', 'due'],
      ['reference', 'reference'],
    ] as const) {
      const v = column === 'due' ? isoDate(get(column)) : get(column);
      if (!v) continue;
      const had = draft.header[field];
      if (had !== undefined && had !== v)
        fail(column, 'LIST_HEADER_DIFFERS', { list: code, column, earlier: had, value: v });
      else draft.header[field] = v;
    }

    const lineRaw = get('line');
    const lineNo = /^\d+$/.test(lineRaw) ? Number(lineRaw) : NaN;
    if (!Number.isSafeInteger(lineNo)) fail('line', 'NOT_A_LINE_NUMBER', { value: lineRaw });
    const itemCode = get('item');
    const item = itemCode
      ? (view.itemBySku(itemCode) ?? view.itemByBarcode(normalizeBarcode(itemCode)))
      : undefined;
    if (!itemCode) fail('item', 'NO_ITEM', {});
    else if (!item) fail('item', 'UNKNOWN_ITEM', { code: itemCode });
    const quantityRaw = get('quantity');
    const quantity = parseDelta(quantityRaw);
    if (Number.isNaN(quantity)) fail('quantity', 'NOT_A_QUANTITY', { value: quantityRaw });
    const position = (column: 'position' | 'from') => {
      const c = get(column);
      if (!c) return undefined;
      const p = view.positionByCode(c);
      if (!p) fail(column, 'UNKNOWN_POSITION', { code: c });
      return p?.id;
    };
    const to = position('position');
    const from = position('from');
    const lot = get('lot');
    const serial = get('serial');
    draft.lines.push({
      line,
      value: {
        lineNo,
        itemId: item?.id ?? '',
        quantity,
        ...(lot ? { lot } : {}),
        ...(serial ? { serial } : {}),
        ...(to !== undefined ? { suggestedPositionId: to } : {}),
        ...(from !== undefined ? { suggestedFromId: from } : {}),
      },
    });
  }

  const lists: ImportedList[] = [];
  if (errors.length === 0) {
    for (const d of drafts.values()) {
      const parsed = createListArgs.safeParse(
        {
          listId: o.listIdOf(d.type, d.code),
          type: d.type,
          code: d.code,
          ...(d.header.partner ? { partner: d.header.partner } : {}),
          ...(d.header.due ? { dueOn: d.header.due } : {}),
          ...(d.header.reference ? { references: [d.header.reference] } : {}),
          lines: d.lines.map((l) => l.value),
        },
        { reportInput: true },
      );
      if (parsed.success) {
        lists.push({ line: d.line, args: parsed.data });
        continue;
      }
      // Issues by path: `lines.<i>.<field>` belongs to that row; the rest to the list's first.
      for (const issue of parsed.error.issues) {
        const [first, index, field] = issue.path;
        const row = first === 'lines' && typeof index === 'number' ? d.lines[index] : undefined;
        const column =
          first === 'lines'
            ? field === 'lineNo'
              ? 'line'
              : field === 'itemId'
                ? 'item'
                : field === 'suggestedPositionId'
                  ? 'position'
                  : field === 'suggestedFromId'
                    ? 'from'
                    : typeof field === 'string'
                      ? field
                      : null
            : first === 'dueOn'
              ? 'due'
              : first === 'code'
                ? 'list'
                : typeof first === 'string'
                  ? first
                  : null;
        errors.push(
          issueRowError(row?.line ?? d.line, column, issue) ??
            rowError(row?.line ?? d.line, column, 'LIST_INVALID', {
              list: d.code,
              detail: issue.message,
            }),
        );
      }
    }
  }
  errors.sort((a, b) => a.line - b.line);
  return { rows: read.rows.length, lists: errors.length === 0 ? lists : [], errors };
}
