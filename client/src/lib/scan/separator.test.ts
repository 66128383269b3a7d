import { describe, expect, it } from 'vitest';
import { MAX_SEPARATOR_LENGTH, SINGLE_SEPARATORS, separatorProblem } from './separator.js';

describe('separatorProblem (what a wedge scanner may type for GS)', () => {
  it('accepts none, a symbol, or a short tag', () => {
    for (const s of ['', '~', '|', '^]', '<GS>', '{GS}']) expect(separatorProblem(s)).toBeNull();
  });

  it('refuses what codes are made of: it would split real codes', () => {
    for (const s of ['A', '0', '-', '_', '.', ' ', 'GS', 'ab-1'])
      expect(separatorProblem(s)).toBe('inCodes');
  });

  it('one character only when GS1 data cannot carry it (and not "]", which starts "]C1")', () => {
    for (const s of [
      '/',
      '+',
      '(',
      ')',
      '%',
      '*',
      ',',
      ':',
      ';',
      '<',
      '=',
      '>',
      '?',
      '!',
      '"',
      "'",
      '&',
      ']',
    ])
      expect(separatorProblem(s), s).toBe('inCodes');
    for (const s of SINGLE_SEPARATORS) expect(separatorProblem(s), s).toBeNull();
  });

  it('refuses a substitute longer than a scanner sends', () => {
    expect(separatorProblem('<'.repeat(MAX_SEPARATOR_LENGTH))).toBeNull();
    expect(separatorProblem('<'.repeat(MAX_SEPARATOR_LENGTH + 1))).toBe('tooLong');
  });
});
