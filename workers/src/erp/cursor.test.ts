import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readCursor } from './exporter.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const dir = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'floorsync-cursor-'));
  dirs.push(d);
  return d;
};

describe('the ERP export cursor file', () => {
  it('none yet is 0; a seq is read as written (a last newline ignored)', async () => {
    const d = dir();
    expect(await readCursor(path.join(d, 'missing.cursor'))).toBe(0);
    writeFileSync(path.join(d, 'c'), '1234\n');
    expect(await readCursor(path.join(d, 'c'))).toBe(1234);
  });

  it('a file without a seq, or one that cannot be read, stops the start naming it', async () => {
    const d = dir();
    for (const text of ['seq=1234', '', '-3', '12.5']) {
      writeFileSync(path.join(d, 'c'), text);
      await expect(readCursor(path.join(d, 'c')), JSON.stringify(text)).rejects.toThrow(
        `the ERP export cursor ${path.join(d, 'c')} holds no seq`,
      );
    }
    mkdirSync(path.join(d, 'a-folder'));
    await expect(readCursor(path.join(d, 'a-folder'))).rejects.toThrow(
      /^cannot read the ERP export cursor .*a-folder/,
    );
  });
});
