import { inflateRawSync } from 'node:zlib';
import ExcelJS from 'exceljs';
import { parseCsv } from '@floorsync/domain';
import { decodeText } from '@floorsync/workers';
import { HttpProblem, tooLarge } from '../http/problem.js';

/** Uploaded files at most this large (a 100,000-row CSV is about 4 MB). */
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

/**
 * Lines and columns of an uploaded table read at most: the files take 100,000 rows of a few
 * columns, and a small file must not become millions of rows or cells in memory (10 MB of line
 * breaks; one cell in column XFD per row of a workbook).
 */
export const MAX_TABLE_LINES = 200_000;
export const MAX_TABLE_COLUMNS = 256;

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
  const text = decodeText(bytes);
  if (text === null) throw unreadable('this is neither a CSV text file nor an XLSX workbook');
  try {
    return parseCsv(text, { maxRows: MAX_TABLE_LINES, maxColumns: MAX_TABLE_COLUMNS });
  } catch (error) {
    throw unreadable(
      `not a valid CSV file: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** What an XLSX may hold uncompressed: its sheets and shared strings for 100,000 rows. */
export const MAX_XLSX_UNCOMPRESSED = 100 * 1024 * 1024;

/**
 * Inflates every entry of a zip archive, at most `limit` bytes in all, before ExcelJS sees it:
 * a 10 MB "zip bomb" could otherwise inflate to gigabytes inside the server. The declared
 * sizes are not trusted: the bytes are really inflated, with Node's `maxOutputLength` as the
 * cap. The layout must be exact — the directory right before the end record, nothing in front
 * of the archive or after it, every declared entry walked, no ZIP64 — so that the zip reader
 * under ExcelJS (JSZip, which shifts offsets by prepended bytes and follows ZIP64 records)
 * cannot find an entry this walk did not inflate.
 */
export function checkZipInflation(b: Buffer, limit = MAX_XLSX_UNCOMPRESSED): void {
  const damaged = (what: string) => unreadable(`not a valid XLSX workbook: ${what}`);
  const tooBig = () =>
    tooLarge(
      `the workbook unpacks to more than ${limit / 1024 / 1024} MB; split it into several files`,
    );
  const EOCD = 0x06054b50;
  let end = -1;
  for (let i = b.length - 22; i >= Math.max(0, b.length - 22 - 65_535); i--)
    if (b.readUInt32LE(i) === EOCD) {
      end = i;
      break;
    }
  if (end < 0) throw damaged('its zip directory is missing');
  const declared = b.readUInt16LE(end + 10);
  const size = b.readUInt32LE(end + 12);
  const offset = b.readUInt32LE(end + 16);
  // ZIP64 (its markers, or the locator before the end record): no workbook of 100,000 rows
  // needs it, and its records would need trusting too.
  if (
    declared === 0xffff ||
    size === 0xffffffff ||
    offset === 0xffffffff ||
    (end >= 20 && b.readUInt32LE(end - 20) === 0x07064b50)
  )
    throw damaged('ZIP64 archives are not taken');
  // The directory must sit exactly before the end record and the archive start at byte 0: a
  // zip reader shifts every offset by bytes put in front (JSZip does), so a guard that did not
  // would walk nothing while the reader found a bomb.
  if (offset + size !== end || end + 22 + b.readUInt16LE(end + 20) !== b.length)
    throw damaged('its zip directory is not where its end record says');
  let total = 0;
  let walked = 0;
  let at = offset;
  for (; at + 46 <= end && b.readUInt32LE(at) === 0x02014b50; walked++) {
    const method = b.readUInt16LE(at + 10);
    const compressed = b.readUInt32LE(at + 20);
    const local = b.readUInt32LE(at + 42);
    at += 46 + b.readUInt16LE(at + 28) + b.readUInt16LE(at + 30) + b.readUInt16LE(at + 32);
    if (compressed === 0xffffffff) throw tooBig(); // ZIP64: beyond 4 GiB
    if (local + 30 > b.length || b.readUInt32LE(local) !== 0x04034b50)
      throw damaged('an entry points outside the file');
    const from = local + 30 + b.readUInt16LE(local + 26) + b.readUInt16LE(local + 28);
    if (from + compressed > b.length) throw damaged('an entry is cut short');
    if (method === 0) total += compressed;
    else if (method === 8) {
      try {
        total += inflateRawSync(b.subarray(from, from + compressed), {
          maxOutputLength: Math.max(1, limit - total + 1),
        }).length;
      } catch (error) {
        if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw tooBig();
        throw damaged('an entry does not inflate');
      }
    } else throw damaged(`an entry uses compression method ${method}`);
    if (total > limit) throw tooBig();
  }
  // Every byte of the directory walked, every declared entry seen: nothing a reader could
  // find that the walk did not inflate.
  if (at !== end || walked === 0 || walked !== declared)
    throw damaged('its zip directory does not add up');
}

async function xlsxTable(bytes: Buffer): Promise<string[][]> {
  checkZipInflation(bytes);
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
  // Its extent first: a few kB of cells far apart (one in column XFD of each row) would
  // otherwise become millions of empty cells here, and the server's memory with them.
  if (sheet.rowCount > MAX_TABLE_LINES)
    throw unreadable(
      `its first sheet reaches row ${sheet.rowCount}; at most ${MAX_TABLE_LINES} are read`,
    );
  if (sheet.columnCount > MAX_TABLE_COLUMNS)
    throw unreadable(
      `its first sheet reaches column ${sheet.columnCount}; at most ${MAX_TABLE_COLUMNS} are read`,
    );
  const rows: string[][] = [];
  // The cells there are (not every empty one before them); the gaps are filled in below.
  sheet.eachRow((row, number) => {
    const cells: string[] = [];
    row.eachCell((cell, col) => {
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
  // A number formatted as a date beyond what a Date holds (1e20) reads as an invalid Date:
  // kept as its text, for the row checks to report (toISOString would throw).
  if (v instanceof Date)
    return Number.isNaN(v.getTime()) ? String(v) : v.toISOString().slice(0, 10);
  if (typeof v === 'object') {
    if ('richText' in v) return v.richText.map((t) => t.text).join('');
    if ('result' in v) return cellText(v.result);
    if ('text' in v) return String(v.text);
    if ('error' in v) return String(v.error);
  }
  return '';
}
