import { deflateRawSync } from 'node:zlib';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { HttpProblem } from '../http/problem.js';
import { zipOf as handMadeZip } from '../../test/zip.js';
import { MAX_TABLE_COLUMNS, MAX_TABLE_LINES, checkZipInflation, tableOf } from './files.js';

/** A zip of these entries, deflated, their true sizes claimed. */
const zipOf = (
  entries: { name: string; data: Buffer }[],
  o: Parameters<typeof handMadeZip>[1] = {},
): Buffer =>
  handMadeZip(
    entries.map((e) => ({
      name: e.name,
      deflated: deflateRawSync(e.data),
      claimedSize: e.data.length,
    })),
    o,
  );

const refusal = (f: () => void): { status: number; detail: string } | null => {
  try {
    f();
    return null;
  } catch (e) {
    if (!(e instanceof HttpProblem)) throw e;
    return { status: e.status, detail: e.detail ?? '' };
  }
};

const MB = 1024 * 1024;
const bomb = { name: 'xl/worksheets/sheet1.xml', data: Buffer.alloc(2 * MB) };

describe('checkZipInflation (the XLSX zip-bomb guard)', () => {
  it('takes a real workbook', async () => {
    const wb = new ExcelJS.Workbook();
    wb.addWorksheet('adjustments').addRow(['item', 'position', 'delta', 'reason']);
    const bytes = Buffer.from(await wb.xlsx.writeBuffer());
    expect(refusal(() => checkZipInflation(bytes))).toBe(null);
  });

  it('refuses what inflates past the limit, whatever the directory claims', () => {
    expect(refusal(() => checkZipInflation(zipOf([bomb]), MB))?.status).toBe(413);
    expect(refusal(() => checkZipInflation(zipOf([bomb], { declared: 0 }), MB))?.status).toBe(413);
  });

  it('refuses bytes in front of the archive (a reader would shift its offsets and find the bomb)', () => {
    const prefixed = zipOf([bomb], {
      prefix: Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(64, 7)]),
    });
    expect(refusal(() => checkZipInflation(prefixed, MB))).toMatchObject({
      status: 422,
      detail: expect.stringMatching(/zip directory is not where its end record says/),
    });
    // Even a harmless one: the layout must be exact.
    const small = { name: 'a.xml', data: Buffer.from('<a/>') };
    expect(
      refusal(() => checkZipInflation(zipOf([small], { prefix: Buffer.alloc(10) })))?.status,
    ).toBe(422);
    expect(
      refusal(() => checkZipInflation(zipOf([small], { suffix: Buffer.alloc(10) })))?.status,
    ).toBe(422);
  });

  it('refuses a directory that does not add up, no entry at all, and ZIP64', () => {
    const small = { name: 'a.xml', data: Buffer.from('<a/>') };
    expect(refusal(() => checkZipInflation(zipOf([small, small], { declared: 3 })))).toMatchObject({
      status: 422,
      detail: expect.stringMatching(/does not add up/),
    });
    expect(refusal(() => checkZipInflation(zipOf([])))?.status).toBe(422);
    expect(refusal(() => checkZipInflation(zipOf([small], { declared: 0xffff })))).toMatchObject({
      status: 422,
      detail: expect.stringMatching(/ZIP64/),
    });
  });
});

describe('tableOf: a small upload cannot become millions of rows or cells', () => {
  const refused = async (bytes: Buffer) => {
    try {
      await tableOf(bytes);
      return null;
    } catch (e) {
      if (!(e instanceof HttpProblem)) throw e;
      return { status: e.status, code: e.code, detail: e.detail ?? '' };
    }
  };

  it('a workbook with a cell in column XFD of each row (18 kB) is refused, not read cell by empty cell', async () => {
    const wb = new ExcelJS.Workbook();
    const sheet = wb.addWorksheet('adjustments');
    sheet.addRow(['item', 'position', 'delta', 'reason']);
    for (let r = 2; r <= 2000; r++) sheet.getCell(r, 16_384).value = 'x';
    const bytes = Buffer.from(await wb.xlsx.writeBuffer());
    expect(bytes.length).toBeLessThan(100_000);
    const before = process.memoryUsage().heapUsed;
    expect(await refused(bytes)).toEqual({
      status: 422,
      code: 'UNREADABLE_FILE',
      detail: `its first sheet reaches column 16384; at most ${MAX_TABLE_COLUMNS} are read`,
    });
    // Not hundreds of MB on the way (the old reading made 32 million cells, and ran out).
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(200 * MB);
  });

  it('a workbook with cells far apart within bounds reads them, the gaps empty', async () => {
    const wb = new ExcelJS.Workbook();
    const sheet = wb.addWorksheet('adjustments');
    sheet.getCell(1, 1).value = 'item';
    sheet.getCell(1, 4).value = 'reason';
    sheet.getCell(3, 2).value = 5;
    expect(await tableOf(Buffer.from(await wb.xlsx.writeBuffer()))).toEqual([
      ['item', '', '', 'reason'],
      [],
      ['', '5'],
    ]);
  });

  it('a CSV of line breaks, or of separators, is refused past the limits', async () => {
    expect(await refused(Buffer.from('\n'.repeat(MAX_TABLE_LINES + 1)))).toEqual({
      status: 422,
      code: 'UNREADABLE_FILE',
      detail: `not a valid CSV file: it has more than ${MAX_TABLE_LINES} lines`,
    });
    expect(await refused(Buffer.from(`a${';'.repeat(MAX_TABLE_COLUMNS)}\n`))).toMatchObject({
      status: 422,
      detail: `not a valid CSV file: line 1 has more than ${MAX_TABLE_COLUMNS} fields`,
    });
    expect(await tableOf(Buffer.from('a;b\n1;2\n'))).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
  });
});
