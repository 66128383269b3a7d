import type { RowError, RowProblem, RowProblemValues } from './row-error.js';
import { rowError } from './row-error.js';

/**
 * The rows of a file a person or an ERP made (`table[0]` the header: column names in any
 * order, case and spaces ignored), shared by every file a job or an import reads. Blank lines
 * are skipped; each row keeps its file line (the header is line 1) for the report.
 */
export interface TableRow {
  readonly line: number;
  /** The trimmed cell of a column; '' when the column or the cell is missing. */
  readonly get: (column: string) => string;
}

export type TableRead =
  | { readonly ok: true; readonly rows: readonly TableRow[] }
  | { readonly ok: false; readonly rows: number; readonly error: RowError };

const headerKey = (h: string) => h.trim().toLowerCase().replace(/\s+/g, '');

export function readTable(
  table: readonly (readonly string[])[],
  columns: {
    readonly required: readonly string[];
    readonly optional: readonly string[];
    readonly maxRows?: number;
  },
): TableRead {
  const header = (table[0] ?? []).map(headerKey);
  const data = table
    .slice(1)
    .map((cells, i) => ({ cells, line: i + 2 }))
    .filter(({ cells }) => cells.some((c) => c.trim() !== ''));
  const fileError = <K extends RowProblem>(code: K, values: RowProblemValues<K>): TableRead => ({
    ok: false,
    rows: data.length,
    error: rowError(1, null, code, values),
  });
  const missing = columns.required.filter((c) => !header.includes(c));
  if (missing.length > 0)
    return fileError('MISSING_COLUMNS', {
      missing: missing.join(', '),
      required: columns.required.join(', '),
      optional: columns.optional.join(', '),
    });
  if (data.length === 0) return fileError('NO_ROWS', {});
  if (columns.maxRows !== undefined && data.length > columns.maxRows)
    return fileError('TOO_MANY_ROWS', { rows: data.length, max: columns.maxRows });
  return {
    ok: true,
    rows: data.map(({ cells, line }) => ({
      line,
      get: (column) => {
        const i = header.indexOf(column);
        return i < 0 ? '' : (cells[i] ?? '').trim();
      },
    })),
  };
}
