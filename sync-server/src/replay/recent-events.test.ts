import { describe, expect, it } from 'vitest';
import type { SerializedEvent } from './recent-events.js';
import { RecentEvents } from './recent-events.js';

const ev = (seq: number): SerializedEvent => ({
  seq,
  op: `{"seq":${seq}}`,
  clientID: 'c',
  mutationID: seq,
});
const range = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => ev(from + i + 1));
const seqs = (xs: SerializedEvent[] | null) => xs?.map((e) => e.seq) ?? null;

describe('RecentEvents', () => {
  it('answers only for ranges it knows completely', () => {
    const r = new RecentEvents();
    expect(r.slice(0, 5)).toBeNull();
    r.add(10, 20, range(10, 20));
    expect(seqs(r.slice(10, 20))).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    expect(seqs(r.slice(14, 16))).toEqual([15, 16]);
    expect(r.slice(9, 20)).toBeNull(); // seq 10 is not known
    expect(r.slice(10, 21)).toBeNull(); // nor 21
    expect(r.slice(15, 15)).toEqual([]);
    expect(seqs(r.slice(10, 20, 3))).toEqual([11, 12, 13]); // at most `max`
  });

  it('knows gaps in the seqs as gaps: a range is complete, not dense', () => {
    const r = new RecentEvents();
    r.add(0, 10, [ev(2), ev(5), ev(9)]);
    expect(seqs(r.slice(0, 10))).toEqual([2, 5, 9]);
    expect(seqs(r.slice(2, 8))).toEqual([5]);
  });

  it('grows by adjacent or overlapping ranges, on either side, keeping each event once', () => {
    const r = new RecentEvents();
    r.add(4, 6, range(4, 6));
    r.add(6, 8, range(6, 8));
    r.add(3, 10, range(3, 10));
    r.add(5, 7, range(5, 7)); // already known
    r.add(0, 4, range(0, 4)); // touching, older
    expect(seqs(r.slice(0, 10))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('starts over from a newer range that does not touch what it knows, and ignores older ones', () => {
    const r = new RecentEvents();
    r.add(10, 20, range(10, 20));
    r.add(0, 5, range(0, 5));
    expect(r.slice(0, 5)).toBeNull();
    expect(seqs(r.slice(10, 20))).toHaveLength(10);
    expect(seqs(r.slice(18, 20))).toEqual([19, 20]);
    r.add(30, 35, range(30, 35));
    expect(r.slice(10, 20)).toBeNull();
    expect(seqs(r.slice(30, 35))).toEqual([31, 32, 33, 34, 35]);
  });

  it('trims in steps of a tenth of its capacity', () => {
    const r = new RecentEvents(100);
    r.add(0, 101, range(0, 101));
    expect(r.slice(9, 101)).toBeNull(); // seqs 1–10 dropped at once
    expect(seqs(r.slice(10, 101))).toHaveLength(91);
  });

  it('keeps at most its capacity, dropping the oldest, and then no longer claims them', () => {
    const r = new RecentEvents(4);
    r.add(0, 6, range(0, 6));
    expect(r.slice(0, 6)).toBeNull();
    expect(r.slice(1, 6)).toBeNull();
    expect(seqs(r.slice(2, 6))).toEqual([3, 4, 5, 6]);
    r.add(6, 7, range(6, 7));
    expect(seqs(r.slice(3, 7))).toEqual([4, 5, 6, 7]);
    expect(r.slice(2, 7)).toBeNull();
  });
});
