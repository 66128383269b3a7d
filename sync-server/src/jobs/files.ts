import ExcelJS from 'exceljs';
import { parseCsv } from '@floorsync/domain';
import { HttpProblem, tooLarge } from '../http/problem.js';

/** Uploaded files at most this large (a 100,000-row CSV is about 4 MB). */
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

const unreadable = (detail: string) =>
  new HttpProblem(422, 'UNREADABLE_FILE', 'The file cannot be read', detail);

/** An XLSX file is a zip archive: it starts with `PK\x03\x04`. */
const isZip = (b: Buffer) => b.length >= 4 && b.readUInt32BE(0) === 0x504b0304;

/**
 * The rows of an uploaded file as text cells: a CSV (UTF-8, or Windows-1252 as older
 * spreadsheet programs write it) or an XLSX workbook's first sheet. Numbers are written as
 * their decimal text, dates as ISO dates, formulas as their last computed result.
 */
export async function tableOf(bytes: Buffer): Promise<string[][]> {
  if (isZip(bytes)) return xlsxTable(bytes);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    text = new TextDecoder('windows-1252').decode(bytes);
  }
  if (text.includes('\u0000'))
    throw unreadable('this is neither a CSV text file nor an XLSX workbook');
  try {
    return parseCsv(text);
  } catch (error) {
    throw unreadable(
      `not a valid CSV file: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** What an XLSX may hold uncompressed: its sheets and shared strings for 100,000 rows. */
export const MAX_XLSX_UNCOMPRESSED = 200 * 1024 * 1024;

/**
 * The uncompressed size a zip archive declares, from its central directory (a few bytes at
 * its end), before anything is inflated: a 10 MB "zip bomb" could otherwise inflate to many
 * gigabytes inside the server. ZIP64 archives (sizes beyond 4 GiB) count as too large.
 */
export function zipUncompressedSize(b: Buffer): number {
  const EOCD = 0x06054b50;
  let end = -1;
  for (let i = b.length - 22; i >= Math.max(0, b.length - 22 - 65_535); i--)
    if (b.readUInt32LE(i) === EOCD) {
      end = i;
      break;
    }
  if (end < 0) throw unreadable('not a valid XLSX workbook: its zip directory is missing');
  const entries = b.readUInt16LE(end + 10);
  let at = b.readUInt32LE(end + 16);
  let total = 0;
  for (let n = 0; n < entries; n++) {
    if (at + 46 > b.length || b.readUInt32LE(at) !== 0x02014b50)
      throw unreadable('not a valid XLSX workbook: its zip directory is damaged');
    const size = b.readUInt32LE(at + 24);
    if (size === 0xffffffff) return Infinity;
    total += size;
    at += 46 + b.readUInt16LE(at + 28) + b.readUInt16LE(at + 30) + b.readUInt16LE(at + 32);
  }
  return total;
}

async function xlsxTable(bytes: Buffer): Promise<string[][]> {
  if (zipUncompressedSize(bytes) > MAX_XLSX_UNCOMPRESSED)
    throw tooLarge(
      `the workbook unpacks to more than ${MAX_XLSX_UNCOMPRESSED / 1024 / 1024} MB; split it into several files`,
    );
  const workbook = new ExcelJS.Workbook();
  try {
    await workbook.xlsx.load(bytes as unknown as ArrayBuffer);
  } catch (error) {
    throw unreadable(
      `not a valid XLSX workbook: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const sheet = workbook.worksheets[0];
  if (!sheet) throw unreadable('the workbook has no sheet');
  const rows: string[][] = [];
  sheet.eachRow({ includeEmpty: true }, (row, number) => {
    const cells: string[] = [];
    row.eachCell({ includeEmpty: true }, (cell, col) => {
      cells[col - 1] = cellText(cell.value);
    });
    rows[number - 1] = Array.from(cells, (c) => c ?? '');
  });
  return Array.from(rows, (r) => r ?? []);
}

function cellText(v: ExcelJS.CellValue): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return v;
  if (v instanceof Date) return v.toISOString().slice(0, 10);
  if (typeof v === 'object') {
    if ('richText' in v) return v.richText.map((t) => t.text).join('');
    if ('result' in v) return cellText(v.result);
    if ('text' in v) return String(v.text);
    if ('error' in v) return String(v.error);
  }
  return '';
}
