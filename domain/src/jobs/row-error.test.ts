import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { adjustmentReasonSchema } from '../inventory/commands.js';
import { isoDateSchema, lotSchema } from '../shared/ids.js';
import { deltaSchema, quantitySchema } from '../shared/quantity.js';
import {
  ROW_PROBLEMS,
  ROW_PROBLEM_CODES,
  issueRowError,
  pairValue,
  rowError,
  schemaProblem,
} from './row-error.js';

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

  it('say a schema’s refusal as a code and values where one fits, else leave it to the caller', () => {
    const problem = (schema: z.ZodType, input: unknown, cell?: string) => {
      const r = schema.safeParse(input, { reportInput: true });
      if (r.success) throw new Error('accepted');
      return schemaProblem(r.error.issues[0]!, cell);
    };
    expect(problem(adjustmentReasonSchema, 'beschädigt')).toEqual({
      code: 'NOT_ONE_OF',
      values: { value: 'beschädigt', allowed: expect.stringContaining('damaged, ') },
    });
    // The cell as the file has it, when the caller knows it.
    expect(problem(adjustmentReasonSchema, 'x', ' x ')?.values).toMatchObject({ value: ' x ' });
    expect(problem(lotSchema, 'L'.repeat(65))).toEqual({ code: 'TOO_LONG', values: { max: 64 } });
    expect(problem(lotSchema, '  ')).toEqual({ code: 'EMPTY_VALUE', values: {} });
    expect(problem(deltaSchema, 0)).toEqual({ code: 'ZERO', values: {} });
    expect(problem(deltaSchema, 2e9)).toEqual({ code: 'TOO_LARGE', values: { max: 1e9 } });
    expect(problem(quantitySchema, -1)).toEqual({ code: 'NOT_POSITIVE', values: {} });
    expect(problem(z.number().min(0), -2)).toEqual({ code: 'TOO_SMALL', values: { min: 0 } });
    expect(problem(z.int().max(10), 11)).toEqual({ code: 'TOO_LARGE', values: { max: 10 } });
    expect(problem(isoDateSchema, '31.12.2026')).toEqual({
      code: 'NOT_A_DATE',
      values: { value: '31.12.2026' },
    });
    // None fits: a type, an exclusive bound, a list's own rule, a one-value literal.
    expect(problem(z.string(), 5)).toBeNull();
    expect(problem(z.number().lt(5), 7)).toBeNull();
    expect(problem(z.string().min(3), 'ab')).toBeNull();
    expect(problem(z.literal('a'), 'b')).toBeNull();
    expect(
      problem(
        z.array(z.int()).refine((a) => new Set(a).size === a.length, 'unique'),
        [1, 1],
      ),
    ).toBeNull();
    // As a row error: its English text, or null.
    const r = deltaSchema.safeParse(0);
    if (r.success) throw new Error('accepted');
    expect(issueRowError(4, 'delta', r.error.issues[0]!)).toEqual({
      line: 4,
      column: 'delta',
      code: 'ZERO',
      values: {},
      message: 'must not be 0',
    });
  });
});
