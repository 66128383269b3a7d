import { deflateRawSync } from 'node:zlib';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { HttpProblem } from '../http/problem.js';
import { zipOf as handMadeZip } from '../../test/zip.js';
import { checkZipInflation } from './files.js';

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
