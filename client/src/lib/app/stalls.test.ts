import { describe, expect, it } from 'vitest';
import { StallWatch } from './stalls.js';

const job = (id: string, state: string, done: number) => ({ id, state, done });

describe('stalled jobs on the jobs screen', () => {
  it('a waiting or running job whose progress has not moved for the interval is stalled', () => {
    const w = new StallWatch(60_000);
    expect(w.observe([job('a', 'queued', 0), job('b', 'running', 10)], 0)).toEqual(new Set());
    expect(w.observe([job('a', 'queued', 0), job('b', 'running', 20)], 30_000)).toEqual(new Set());
    // a has waited 60 s, but b moved at 30 s: the queue is busy, a waits its turn.
    expect(w.observe([job('a', 'queued', 0), job('b', 'running', 20)], 60_000)).toEqual(new Set());
    // Nothing has moved for 60 s: both.
    expect(w.observe([job('a', 'queued', 0), job('b', 'running', 20)], 90_000)).toEqual(
      new Set(['a', 'b']),
    );
    // Progress (or a change of state) clears it.
    expect(w.observe([job('a', 'running', 0), job('b', 'running', 21)], 91_000)).toEqual(new Set());
  });

  it('finished, failed or checked jobs never stall; a job queued again waits afresh; gone jobs are forgotten', () => {
    const w = new StallWatch(1000);
    const idle = [job('c', 'completed', 5), job('f', 'failed', 2), job('v', 'validated', 0)];
    w.observe(idle, 0);
    expect(w.observe(idle, 10_000)).toEqual(new Set());
    w.observe([job('q', 'queued', 0)], 0);
    expect(w.observe([job('q', 'queued', 0)], 1000)).toEqual(new Set(['q']));
    w.restarted('q', 1000);
    expect(w.observe([job('q', 'queued', 0)], 1500)).toEqual(new Set());
    expect(w.observe([job('q', 'queued', 0)], 2000)).toEqual(new Set(['q']));
    // Dropped from the list (older than the list shows), then back: a new watch.
    w.observe([], 3000);
    expect(w.observe([job('q', 'queued', 0)], 3000)).toEqual(new Set());
  });
});
