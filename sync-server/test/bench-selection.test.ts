import { describe, expect, it } from 'vitest';
import { benchSelection } from '../../scripts/bench-kit.js';

/**
 * `npm run bench -- <prefix>` (ARCHITECTURE.md): stdout has only results whose name starts with
 * the prefix, so that a script reading the first line for a named benchmark gets that one;
 * the benchmark that measures it runs even when its own name is another.
 */
const BENCHES = [
  { name: 'push.batch100_per_s', reports: ['sqlite.raw_insert_per_s'] },
  { name: 'push.floor100_p99_ms' },
  { name: 'pull.reset_1m_history_s' },
  { name: 'client.drain5000_s' },
  { name: 'client.scan_p95_ms' },
  { name: 'load.push_p99_ms' },
];
const running = (prefix: string) =>
  BENCHES.filter((b) => benchSelection(prefix).runs(b)).map((b) => b.name);

describe('npm run bench -- <prefix>', () => {
  it('prints only the results whose name starts with the prefix', () => {
    const s = benchSelection('push.batch100_per_s');
    expect(s.prints('push.batch100_per_s')).toBe(true);
    expect(s.prints('sqlite.raw_insert_per_s')).toBe(false);
    expect(s.prints('push.batch100_vs_raw_insert_ratio')).toBe(false);
    expect(benchSelection('client.scan_p95_ms').prints('client.bootstrap100k_s')).toBe(false);
    expect(benchSelection('load.push_p99_ms').prints('load.push_p50_ms')).toBe(false);
    expect(benchSelection('push').prints('push.single_p99_ms')).toBe(true);
    expect(benchSelection('').prints('sqlite.raw_insert_per_s')).toBe(true);
  });

  it('runs the benchmarks that may report such a result, whatever their own name', () => {
    expect(running('sqlite')).toEqual(['push.batch100_per_s']);
    expect(running('sqlite.raw_insert_per_s')).toEqual(['push.batch100_per_s']);
    expect(running('push')).toEqual(['push.batch100_per_s', 'push.floor100_p99_ms']);
    // A result of the area that no benchmark is named after (`push.single_p99_ms`).
    expect(running('push.single')).toEqual(['push.batch100_per_s', 'push.floor100_p99_ms']);
    expect(running('client.bootstrap100k_s')).toEqual(['client.drain5000_s', 'client.scan_p95_ms']);
    expect(running('pull.reset')).toEqual(['pull.reset_1m_history_s']);
    expect(running('nothing')).toEqual([]);
    expect(running('')).toHaveLength(BENCHES.length);
  });
});
