import { deflateRawSync } from 'node:zlib';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { HttpProblem } from '../http/problem.js';
import { checkZipInflation } from './files.js';

/** A stored zip of deflated entries; `declared` overrides the end record's entry count. */
function zipOf(
  entries: { name: string; data: Buffer }[],
  o: { declared?: number; prefix?: Buffer; suffix?: Buffer } = {},
): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const data = deflateRawSync(e.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(e.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, data);
    centrals.push(central, name);
    offset += local.length + name.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(o.declared ?? entries.length, 8);
  eocd.writeUInt16LE(o.declared ?? entries.length, 10);
  eocd.writeUInt32LE(directory.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([
    o.prefix ?? Buffer.alloc(0),
    ...locals,
    directory,
    eocd,
    o.suffix ?? Buffer.alloc(0),
  ]);
}

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
