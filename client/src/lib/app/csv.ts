import { csvCell } from '@floorsync/domain';

/**
 * CSV (RFC 4180) of any table a screen shows, and a download of it. Each cell as the server's
 * CSV exports write it (`csvCell`): quoted when it holds a quote, `,` or `;` (German Excel
 * splits at `;`) or a line break; text starting with `=`, `+`, `-`, `@`, a tab or a CR is
 * prefixed with `'`, so a spreadsheet never runs it as a formula.
 */
export function toCsv(
  header: readonly string[],
  rows: readonly (readonly (string | number | null | undefined)[])[],
): string {
  const cell = (v: string | number | null | undefined) => csvCell(v === undefined ? null : v);
  return [header, ...rows].map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}

export function download(filename: string, csv: string): void {
  const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
