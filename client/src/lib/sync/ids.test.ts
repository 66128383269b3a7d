import { afterEach, describe, expect, it, vi } from 'vitest';
import { newSecret, newUuid } from './ids.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('ids made on the device', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('UUIDs are version 4, also where randomUUID is missing (plain HTTP)', () => {
    expect(newUuid()).toMatch(UUID_V4);
    const real = crypto;
    vi.stubGlobal('crypto', {
      getRandomValues: <T extends ArrayBufferView>(a: T): T => real.getRandomValues(a as never),
    });
    expect(typeof (crypto as Partial<Crypto>).randomUUID).toBe('undefined');
    const made = Array.from({ length: 1000 }, () => newUuid());
    for (const id of made) expect(id).toMatch(UUID_V4);
    expect(new Set(made).size).toBe(1000);
  });

  it('secrets are 256 random bits in hex, never the same twice', () => {
    const a = newSecret();
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(newSecret()).not.toBe(a);
  });
});
