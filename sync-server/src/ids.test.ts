import { describe, expect, it } from 'vitest';
import { uuidv7 } from './ids.js';

const FORMAT = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuidv7', () => {
  it('is an RFC 9562 version 7 UUID whose first 48 bits are the millisecond time', () => {
    const ms = Date.UTC(2026, 10, 26, 3, 30, 0, 123) + 10_000_000; // later than any id minted so far
    const id = uuidv7(ms);
    expect(id).toMatch(FORMAT);
    expect(parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(ms);
  });

  it('sorts in the order minted, also within one millisecond and across the counter overflow', () => {
    const ms = Date.UTC(2026, 10, 26, 4) + 20_000_000;
    const ids = Array.from({ length: 10_000 }, () => uuidv7(ms)); // > 4,096 per ms: spills over
    for (const id of ids) expect(id).toMatch(FORMAT);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    // The time never goes backwards, even when the clock does.
    const later = uuidv7(ms - 60_000);
    expect(later > (ids.at(-1) as string)).toBe(true);
  });

  it('fills the random part from fresh randomness', () => {
    const tails = new Set(Array.from({ length: 1000 }, () => uuidv7().slice(19)));
    expect(tails.size).toBe(1000);
  });
});
