import type { z } from 'zod';

/**
 * What can be wrong with a row of a file a person or an ERP made (bulk adjustments, movement
 * lists, counting sheets): a code, the values its text names, and the English text.
 *
 * The code and values let a screen say it in its own language (the client's catalogs have a
 * `rowError.<CODE>` text with exactly these `{value}` placeholders: a test checks); `message`
 * is the English text for reports, logs and the API. Values are codes, numbers and line
 * numbers as the file has them, never words of a language — except `detail`, a schema's own
 * (English) explanation, as a refusal's detail is.
 */
export const ROW_PROBLEMS = {
  MISSING_COLUMNS: {
    values: ['missing', 'required', 'optional'],
    text: 'missing columns: {missing} (the first row must name the columns {required}; optional: {optional})',
  },
  NO_ROWS: { values: [], text: 'the file has no rows below its header' },
  TOO_MANY_ROWS: {
    values: ['rows', 'max'],
    text: 'the file has {rows} rows; at most {max} per file',
  },
  NO_ITEM: { values: [], text: 'no item code' },
  UNKNOWN_ITEM: { values: ['code'], text: 'unknown item "{code}" (neither a SKU nor a barcode)' },
  NO_POSITION: { values: [], text: 'no position code' },
  UNKNOWN_POSITION: { values: ['code'], text: 'unknown position "{code}"' },
  NOT_A_QUANTITY: { values: ['value'], text: '"{value}" is not a quantity' },
  NOT_A_LINE_NUMBER: { values: ['value'], text: '"{value}" is not a line number' },
  NOT_A_LIST_TYPE: { values: ['value', 'types'], text: '"{value}" is not a list type ({types})' },
  NO_LIST: { values: [], text: 'no list (document) number' },
  LIST_HEADER_DIFFERS: {
    values: ['list', 'column', 'earlier', 'value'],
    text: 'list {list} has {column} "{earlier}" on an earlier row, "{value}" here',
  },
  LOT_REQUIRED: { values: ['sku'], text: 'item {sku} is tracked by lot: the row needs a lot' },
  SERIAL_REQUIRED: {
    values: ['sku'],
    text: 'item {sku} is tracked by serial: the row needs a serial',
  },
  SERIAL_DELTA: { values: [], text: 'a serial is adjusted by +1 or -1' },
  NOT_TRACKED: { values: ['sku'], text: 'item {sku} is not tracked by lot or serial' },
  OTHER_SESSION: {
    values: ['value', 'session'],
    text: 'the row is of counting session "{value}", not {session}',
  },
  VIRTUAL_POSITION: {
    values: ['position'],
    text: '{position} is a virtual endpoint and holds no stock',
  },
  POSITION_OUT_OF_SCOPE: {
    values: ['position', 'session'],
    text: '{position} is not in the scope of counting session {session}',
  },
  ITEM_OUT_OF_SCOPE: {
    values: ['sku', 'session'],
    text: '{sku} is not in the scope of counting session {session}',
  },
  EMPTY_NOT_ZERO: {
    values: [],
    text: 'a row without an item confirms its position empty: counted must be 0 (or name the item)',
  },
  EMPTY_TWICE: {
    values: ['position', 'line'],
    text: '{position} is confirmed empty on line {line} too',
  },
  EMPTY_BUT_COUNTED: {
    values: ['position', 'line', 'sku'],
    text: '{position} is confirmed empty here, yet {sku} is counted there on line {line}: keep one of them',
  },
  SERIAL_ROWS: {
    values: ['sku'],
    text: '{sku} is serialized: one row per serial, counted 1 or 0',
  },
  SERIAL_COUNT: { values: [], text: 'a serial is counted 1 (found) or 0 (not found)' },
  SERIAL_TWICE: {
    values: ['serial', 'pair', 'line'],
    text: 'serial {serial} of {pair} is on line {line} too',
  },
  NOT_SERIALIZED: { values: ['sku'], text: '{sku} is not serialized: leave serial empty' },
  NOT_LOT_TRACKED: { values: ['sku'], text: '{sku} is not lot-tracked: leave lot empty' },
  COUNTED_TWICE: { values: ['pair', 'line'], text: '{pair} is counted on line {line} too' },
  SERIAL_NOT_COUNTED: {
    values: ['serial', 'pair'],
    text: 'serial {serial} of {pair} is not counted while other serials of the pair are: write 1 (found) or 0 (not found)',
  },
  SERIAL_NOT_ON_SHEET: {
    values: ['serial', 'pair'],
    text: 'serial {serial} of {pair} is there now but not on the sheet (moved in since it was printed?): add a row for it, counted 1 if it is there, 0 if not',
  },
  /** A schema's refusals a screen can say in its language (`schemaProblem`). */
  NOT_ONE_OF: { values: ['value', 'allowed'], text: '"{value}" is not one of: {allowed}' },
  TOO_LONG: { values: ['max'], text: 'longer than {max} characters' },
  EMPTY_VALUE: { values: [], text: 'must not be empty' },
  TOO_LARGE: { values: ['max'], text: 'must be at most {max}' },
  TOO_SMALL: { values: ['min'], text: 'must be at least {min}' },
  NOT_POSITIVE: { values: [], text: 'must be greater than 0' },
  ZERO: { values: [], text: 'must not be 0' },
  NOT_A_DATE: { values: ['value'], text: '"{value}" is not a date (YYYY-MM-DD)' },
  /** A command's schema refused a value of the row (`detail`: the schema's words). */
  INVALID: { values: ['detail'], text: '{detail}' },
  /** … of a list made from several rows. */
  LIST_INVALID: { values: ['list', 'detail'], text: 'list {list}: {detail}' },
  /** … of a counted pair. */
  PAIR_INVALID: { values: ['pair', 'detail'], text: '{pair}: {detail}' },
  /** … of a position confirmed empty. */
  EMPTY_INVALID: { values: ['position', 'detail'], text: '{position} confirmed empty: {detail}' },
} as const satisfies Record<string, { readonly values: readonly string[]; readonly text: string }>;

export type RowProblem = keyof typeof ROW_PROBLEMS;
export const ROW_PROBLEM_CODES = Object.keys(ROW_PROBLEMS) as RowProblem[];

/** The values a problem's text names, by name. */
export type RowProblemValues<K extends RowProblem> = {
  readonly [V in (typeof ROW_PROBLEMS)[K]['values'][number]]: string | number;
};

export interface RowError {
  /** 1-based line of the file (the header is line 1). */
  readonly line: number;
  readonly column: string | null;
  readonly code: RowProblem;
  readonly values: Readonly<Record<string, string | number>>;
  /** In English. */
  readonly message: string;
}

/** A problem of a file's `line` (1 and column null: of the file as a whole). */
export function rowError<K extends RowProblem>(
  line: number,
  column: string | null,
  code: K,
  values: RowProblemValues<K>,
): RowError {
  const filled: Readonly<Record<string, string | number>> = values;
  return {
    line,
    column,
    code,
    values,
    message: ROW_PROBLEMS[code].text.replace(/\{(\w+)\}/g, (m, name: string) =>
      name in filled ? String(filled[name]) : m,
    ),
  };
}

/**
 * A counted pair as a row problem's value: codes only, so it reads the same in any language
 * (`SKU-1 / L7 @ A-01-02`).
 */
export const pairValue = (sku: string, position: string, lot: string | null | undefined) =>
  `${sku}${lot ? ` / ${lot}` : ''} @ ${position}`;

/**
 * A schema's refusal of a row's value as a problem a screen says in its language: a value not
 * among the allowed codes, text too long or empty, a number out of range or 0, not a date —
 * else null (the caller keeps the schema's own words, `INVALID`). `value` is the cell as the
 * file has it (default: the issue's input, parsed with `reportInput`). A refinement names its
 * problem in its `params` (`{ problem: 'ZERO' }`, with `max` where it has one).
 */
export function schemaProblem(
  issue: z.core.$ZodIssue,
  cell?: string,
): { code: RowProblem; values: Readonly<Record<string, string | number>> } | null {
  const input: unknown = issue.input;
  const value =
    cell ?? (typeof input === 'string' || typeof input === 'number' ? String(input) : '');
  switch (issue.code) {
    case 'invalid_value':
      return issue.values.length > 1
        ? { code: 'NOT_ONE_OF', values: { value, allowed: issue.values.map(String).join(', ') } }
        : null;
    case 'too_big':
      if (issue.origin === 'string' && issue.inclusive !== false)
        return { code: 'TOO_LONG', values: { max: Number(issue.maximum) } };
      if ((issue.origin === 'number' || issue.origin === 'int') && issue.inclusive !== false)
        return { code: 'TOO_LARGE', values: { max: Number(issue.maximum) } };
      return null;
    case 'too_small':
      if (issue.origin === 'string' && Number(issue.minimum) === 1)
        return { code: 'EMPTY_VALUE', values: {} };
      if ((issue.origin === 'number' || issue.origin === 'int') && issue.inclusive !== false)
        return { code: 'TOO_SMALL', values: { min: Number(issue.minimum) } };
      return null;
    case 'invalid_format':
      return issue.format === 'date' ? { code: 'NOT_A_DATE', values: { value } } : null;
    case 'custom': {
      const problem: unknown = issue.params?.['problem'];
      if (problem === 'ZERO' || problem === 'NOT_POSITIVE') return { code: problem, values: {} };
      const max: unknown = issue.params?.['max'];
      if (problem === 'TOO_LARGE' && typeof max === 'number')
        return { code: 'TOO_LARGE', values: { max } };
      return null;
    }
    default:
      return null;
  }
}

/** The row error of a schema's refusal when `schemaProblem` knows it; else null. */
export function issueRowError(
  line: number,
  column: string | null,
  issue: z.core.$ZodIssue,
  value?: string,
): RowError | null {
  const p = schemaProblem(issue, value);
  return p ? rowError(line, column, p.code, p.values as never) : null;
}
