import { describe, expect, it } from 'vitest';
import { STRAY_GAP_MS, StrayKeys } from './stray.js';

const k = (key: string, ctrlKey = false, repeat = false) => ({
  key,
  ctrlKey,
  altKey: false,
  metaKey: false,
  repeat,
});
/** Types `text` then `end`, `gap` ms between keys; what the last key returned. */
function type(keys: StrayKeys, text: string, gap: number, start = 0, end = 'Enter'): string | null {
  let t = start;
  for (const c of text) {
    expect(keys.key(k(c), t)).toBeNull();
    t += gap;
  }
  return keys.key(k(end), t);
}

describe('scans that no scan field takes', () => {
  it('a wedge: characters milliseconds apart, then Enter or Tab, is a scan', () => {
    const keys = new StrayKeys();
    expect(type(keys, '4006381333931', 8)).toBe('4006381333931');
    expect(type(keys, 'A-01-01', 8, 1000, 'Tab')).toBe('A-01-01');
  });

  it('someone pressing a key or two, or Enter alone, is not', () => {
    const keys = new StrayKeys();
    expect(keys.key(k('Enter'), 0)).toBeNull();
    expect(type(keys, 'ok', 10, 100)).toBeNull();
    // Slow typing: each pause starts over, so only the last characters count.
    expect(type(keys, 'abcdef', STRAY_GAP_MS + 1, 1000)).toBeNull();
  });

  it('a shortcut breaks a code off; the Enter that ends a scan starts the next one afresh', () => {
    const keys = new StrayKeys();
    keys.key(k('1'), 0);
    keys.key(k('2'), 5);
    keys.key(k('c', true), 10); // Ctrl+C
    expect(keys.key(k('Enter'), 15)).toBeNull();
    expect(type(keys, '123', 5, 20)).toBe('123');
    expect(keys.key(k('Enter'), 40)).toBeNull();
  });

  it('a key held down is a person: its repeats break the code off', () => {
    const keys = new StrayKeys();
    keys.key(k('x'), 0);
    keys.key(k('x', false, true), 5);
    keys.key(k('x', false, true), 10);
    expect(keys.key(k('Enter'), 15)).toBeNull();
  });
});
