import { describe, expect, it } from 'vitest';
import { withoutEmpty } from './env.js';

describe('withoutEmpty', () => {
  it('drops empty and undefined variables, keeps the rest exactly (whitespace included)', () => {
    expect(withoutEmpty({ A: '', B: undefined, C: 'x', D: ' ', E: '0' })).toEqual({
      C: 'x',
      D: ' ',
      E: '0',
    });
  });
});
