import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { liveServerProcesses } from './process-server.js';
import type { SimResult } from './sim.js';
import { reproduction, runSeed } from './sim.js';

/**
 * The process mode (README.md): the built sync server as a real child process, reached over
 * HTTP, SIGKILLed and SIGTERMed and spawned again on the same data directory. Restarts are
 * made frequent (weight 8 instead of 0.8) so that a short run has several. Not deterministic:
 * these assert the invariants and that real processes were killed, not a trace.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'floorsync-sim-process-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const report = (r: SimResult) =>
  [
    `seed ${r.seed} (process mode): ${r.violations.length} violation(s)`,
    ...r.violations.map((v) => `  - ${v}`),
    '  the end of its trace:',
    ...r.traceTail.slice(-25).map((l) => `    ${l}`),
    `  reproduce (not deterministic): ${reproduction(r)} --restart-weight 8`,
  ].join('\n');

describe('the simulator in process mode (a real server process, killed and restarted)', () => {
  const results: SimResult[] = [];

  for (const seed of [101, 102])
    it(`seed ${seed}: 3 devices, 80 steps against node sync-server/dist/main.js`, async () => {
      const r = await runSeed({
        seed,
        devices: 3,
        steps: 80,
        process: true,
        restartWeight: 8,
        tmpDir: dir,
      });
      results.push(r);
      expect(r.violations, report(r)).toEqual([]);
      expect(r.process).toBe(true);
      expect(r.stats.mutations).toBeGreaterThan(0);
      expect(r.stats.serverRestarts).toBeGreaterThan(0);
      // Torn down: no server process left, its data directory removed.
      expect(liveServerProcesses()).toBe(0);
      expect(readdirSync(dir)).toEqual([]);
    });

  it('killed the server process (SIGKILL) at least once', () => {
    expect(results).toHaveLength(2);
    const kills = results.reduce((n, r) => n + r.stats.processKills, 0);
    expect(kills).toBeGreaterThan(0);
  });
});
