import { afterEach, describe, expect, it, vi } from 'vitest';
import { listenForPokes, pokeNeedsSync } from './pokes.js';

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

describe('listenForPokes', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it.each([429, 503])(
    'waits out a stream refused %i with Retry-After (too many streams) instead of asking again every 2 s',
    async (status) => {
      vi.useFakeTimers();
      const asked: string[] = [];
      const fetcher = (input: RequestInfo | URL) => {
        const url =
          typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
        asked.push(url.includes('/api/auth/ticket') ? 'ticket' : 'stream');
        return Promise.resolve(
          url.includes('/api/auth/ticket')
            ? new Response(JSON.stringify({ ticket: 't' }), { status: 200 })
            : new Response('{}', { status, headers: { 'retry-after': '30' } }),
        );
      };
      const stop = new AbortController();
      const errors: unknown[] = [];
      const done = listenForPokes({
        baseUrl: '',
        fetch: fetcher,
        token: () => 'token',
        onPoke: () => undefined,
        onError: (e) => errors.push(e),
        signal: stop.signal,
      });
      await vi.advanceTimersByTimeAsync(0);
      expect(asked).toEqual(['ticket', 'stream']);
      expect(String(errors[0])).toContain(String(status));
      await vi.advanceTimersByTimeAsync(29_000); // the plain retry (2 s) would have asked 14 times
      expect(asked).toHaveLength(2);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(asked).toEqual(['ticket', 'stream', 'ticket', 'stream']);
      stop.abort();
      await done;
    },
  );
});
