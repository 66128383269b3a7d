import { describe, expect, it } from 'vitest';
import type { SimResult } from './sim.js';
import { reproduction, runSeed } from './sim.js';

/**
 * The CI budget: a fixed list of seeds (about 75 s on the 2-core machine, measured in
 * README.md), run as the soak runs them.
 */
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

export const CI_BUDGET: readonly { seed: number; devices: number; steps: number }[] = [
  ...range(1, 24).map((seed) => ({ seed, devices: 4, steps: 300 })),
  ...range(25, 30).map((seed) => ({ seed, devices: 2, steps: 300 })),
  ...range(31, 36).map((seed) => ({ seed, devices: 7, steps: 250 })),
];

const report = (r: SimResult) =>
  [
    `seed ${r.seed}: ${r.violations.length} violation(s)`,
    ...r.violations.map((v) => `  - ${v}`),
    '  the end of its trace:',
    ...r.traceTail.slice(-25).map((l) => `    ${l}`),
    `  reproduce: ${reproduction(r)}`,
  ].join('\n');

describe('the simulator (CI budget of seeds)', () => {
  for (const c of CI_BUDGET)
    it(`seed ${c.seed}: ${c.devices} devices, ${c.steps} steps, quiescence, invariants`, async () => {
      const r = await runSeed(c);
      expect(r.violations, report(r)).toEqual([]);
      expect(r.stats.mutations).toBeGreaterThan(0);
    });
});
