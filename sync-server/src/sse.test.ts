import type { SSEStreamingApi } from 'hono/streaming';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SseHub } from './sse.js';

/** A stream that records the heads it was poked with. */
const recorder = () => {
  const heads: number[] = [];
  const stream = {
    writeSSE: (m: { data: string }) => {
      heads.push((JSON.parse(m.data) as { head: number }).head);
      return Promise.resolve();
    },
    write: () => Promise.resolve(),
    close: () => Promise.resolve(),
  } as unknown as SSEStreamingApi;
  return { stream, heads };
};

afterEach(() => {
  vi.useRealTimers();
});

describe('SseHub', () => {
  it('pokes at once after a quiet interval, then one round per interval with the newest head', () => {
    vi.useFakeTimers();
    const hub = new SseHub(100);
    const streams = Array.from({ length: 20 }, recorder);
    for (const s of streams) hub.add(s.stream, 5);
    hub.poke(6);
    expect(streams.map((s) => s.heads)).toEqual(streams.map(() => [6]));
    vi.advanceTimersByTime(10);
    hub.poke(7);
    hub.poke(8);
    expect(streams.map((s) => s.heads)).toEqual(streams.map(() => [6])); // held back
    vi.advanceTimersByTime(90); // the interval ends: the first slice goes
    const first = streams.filter((s) => s.heads.length === 2).length;
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThan(streams.length); // spread, not all at once
    vi.advanceTimersByTime(100);
    expect(streams.map((s) => s.heads)).toEqual(streams.map(() => [6, 8]));
  });

  it('a floor of more than 50 streams is poked in slices even after a quiet interval, the first at once', () => {
    vi.useFakeTimers();
    const hub = new SseHub(100);
    const streams = Array.from({ length: 520 }, recorder);
    for (const s of streams) hub.add(s.stream, 5);
    hub.poke(6);
    const first = streams.filter((s) => s.heads.length === 1);
    expect(first.length).toBeGreaterThan(0);
    expect(first.length).toBeLessThanOrEqual(10); // one of 52 slices of 10
    // 520 streams: rounds 520 ms apart (1 ms a stream), not the configured 100 ms.
    vi.advanceTimersByTime(100);
    expect(streams.filter((s) => s.heads.length === 1).length).toBeLessThan(520);
    vi.advanceTimersByTime(410); // t = 510: every slice sent (the last at 510 ms)
    expect(streams.map((s) => s.heads)).toEqual(streams.map(() => [6]));
    hub.poke(7); // within the 520 ms after the first round: held back
    expect(streams.filter((s) => s.heads.length === 2)).toEqual([]);
    vi.advanceTimersByTime(1100);
    expect(streams.map((s) => s.heads)).toEqual(streams.map(() => [6, 7]));
    // After a quiet interval, the next round starts with another slice: nobody is always last.
    hub.poke(8);
    const third = streams.filter((s) => s.heads.length === 3);
    expect(third.length).toBeGreaterThan(0);
    expect(third.length).toBeLessThanOrEqual(10);
    expect(third.filter((s) => first.includes(s))).toEqual([]);
    vi.advanceTimersByTime(520);
    expect(streams.map((s) => s.heads)).toEqual(streams.map(() => [6, 7, 8]));
  });

  it('never sends a stream a head it has, or an older one', () => {
    vi.useFakeTimers();
    const hub = new SseHub(100);
    const late = recorder();
    hub.poke(3);
    vi.advanceTimersByTime(10);
    hub.poke(4); // held back until t=100
    hub.add(late.stream, 9); // opened meanwhile, sent 9 at connect (read from the store)
    vi.advanceTimersByTime(300);
    expect(late.heads).toEqual([]);
    hub.poke(10);
    vi.advanceTimersByTime(300);
    expect(late.heads).toEqual([10]);
  });

  it('after close, a late poke starts no timer and writes nothing', () => {
    vi.useFakeTimers();
    const hub = new SseHub(100);
    const s = recorder();
    hub.add(s.stream, 0);
    hub.poke(1);
    hub.close();
    hub.poke(2);
    expect(vi.getTimerCount()).toBe(0);
    expect(s.heads).toEqual([1]);
  });
});
