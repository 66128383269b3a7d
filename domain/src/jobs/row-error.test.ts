import { describe, expect, it } from 'vitest';
import { ROW_PROBLEMS, ROW_PROBLEM_CODES, pairValue, rowError } from './row-error.js';

describe('row errors', () => {
  it('fill the English text with the values they carry, and keep both', () => {
    expect(rowError(7, 'item', 'UNKNOWN_ITEM', { code: 'NOPE' })).toEqual({
      line: 7,
      column: 'item',
      code: 'UNKNOWN_ITEM',
      values: { code: 'NOPE' },
      message: 'unknown item "NOPE" (neither a SKU nor a barcode)',
    });
    expect(rowError(1, null, 'TOO_MANY_ROWS', { rows: 12, max: 10 }).message).toBe(
      'the file has 12 rows; at most 10 per file',
    );
    // A value that looks like a placeholder is not filled again.
    expect(rowError(2, 'item', 'UNKNOWN_ITEM', { code: '{code}' }).message).toBe(
      'unknown item "{code}" (neither a SKU nor a barcode)',
    );
  });

  it('every text names exactly the values of its code', () => {
    for (const code of ROW_PROBLEM_CODES) {
      const named = [...ROW_PROBLEMS[code].text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      expect(named, code).toEqual([...ROW_PROBLEMS[code].values].sort());
    }
  });

  it('name a pair by its codes alone, the same in any language', () => {
    expect(pairValue('SKU-1', 'A-01', null)).toBe('SKU-1 @ A-01');
    expect(pairValue('SKU-1', 'A-01', 'L7')).toBe('SKU-1 / L7 @ A-01');
  });
});
