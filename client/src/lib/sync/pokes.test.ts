import { describe, expect, it } from 'vitest';
import { pokeNeedsSync } from './pokes.js';

describe('pokeNeedsSync', () => {
  it('syncs for a head beyond what the device pulled', () => {
    expect(pokeNeedsSync(11, 10, 0)).toBe(true);
  });
  it('does not for the head the device already has, with nothing to push', () => {
    expect(pokeNeedsSync(10, 10, 0)).toBe(false);
  });
  it('does for a head below the cookie: another log (a restored server), the pull resets', () => {
    expect(pokeNeedsSync(7, 10, 0)).toBe(true);
  });
  it('does while scans wait to be pushed, whatever the head', () => {
    expect(pokeNeedsSync(10, 10, 1)).toBe(true);
  });
  it('does while the device has no numeric cookie (new, or in the middle of a reset)', () => {
    expect(pokeNeedsSync(7, null, 0)).toBe(true);
    expect(pokeNeedsSync(7, { order: 7, after: 's/item/A' }, 0)).toBe(true);
  });
});
