import { csvCell } from '@floorsync/domain';
import { numberText } from '../i18n/format.js';

/**
 * CSV (RFC 4180) of any table a screen shows, and a download of it. Each cell as the server's
 * CSV exports write it (`csvCell`): quoted when it holds a quote, `,` or `;` or a line break;
 * text starting with `=`, `+`, `-`, `@`, a tab or a CR is prefixed with `'`, so a spreadsheet
 * never runs it as a formula.
 *
 * For a German user (`locale` `de`) the file is as German Excel reads it: fields split at `;`
 * and numbers with a decimal comma (`2,5`; `2.5` would become the 2nd of May). The columns keep
 * their names, a file format's; the app's own imports read either form.
 */
export function toCsv(
  header: readonly string[],
  rows: readonly (readonly (string | number | null | undefined)[])[],
  locale = 'en',
): string {
  const german = locale === 'de';
  const cell = (v: string | number | null | undefined) =>
    csvCell(v === undefined ? null : german && typeof v === 'number' ? numberText(v, 'de') : v);
  const sep = german ? ';' : ',';
  return [header, ...rows].map((r) => r.map(cell).join(sep)).join('\r\n') + '\r\n';
}

/**
 * Saves `csv` as `filename`, UTF-8 with a byte-order mark: without it Excel reads the file in
 * the machine's old code page ("MÃ¼ller").
 */
export function download(filename: string, csv: string): void {
  const url = URL.createObjectURL(new Blob(['\uFEFF', csv], { type: 'text/csv;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
