import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SimResult } from './sim.js';
import { reproduction, runSeed } from './sim.js';

/**
 * The restore mode (README.md): besides everything else, the server's database is backed up
 * (`backupDatabase`, online) and restored from its latest backup (`restoreDatabase`, with the
 * seq hole) at random steps — the server loses everything committed after the backup. The
 * devices must put back, from their journals, every scan the restore took, once each; the same
 * invariants hold at quiescence. Deterministic, like the in-process mode.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'floorsync-sim-restore-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const report = (r: SimResult) =>
  [
    `seed ${r.seed} (restore mode): ${r.violations.length} violation(s)`,
    ...r.violations.map((v) => `  - ${v}`),
    '  the end of its trace:',
    ...r.traceTail.slice(-25).map((l) => `    ${l}`),
    `  reproduce: ${reproduction(r)} --restore-weight 1`,
  ].join('\n');

describe('the simulator in restore mode (backups, and restores that lose history)', () => {
  for (const seed of [3, 8])
    it(`seed ${seed}: 4 devices, 300 steps, restores from backups among the faults`, async () => {
      const r = await runSeed({ seed, devices: 4, steps: 300, restoreWeight: 1, tmpDir: dir });
      if (r.violations.length > 0) console.error(report(r));
      expect(r.violations).toEqual([]);
      // The run did what it is for: restores happened, and they took confirmed scans away.
      expect(r.stats.restores ?? 0).toBeGreaterThan(0);
      expect(r.stats.lostByRestores ?? 0).toBeGreaterThan(0);
      // Deterministic: the same seed, the same trace.
      const again = await runSeed({ seed, devices: 4, steps: 300, restoreWeight: 1, tmpDir: dir });
      expect(again.traceHash).toBe(r.traceHash);
    });

  it('seed 500544: a reset snapshot paged across a restore starts over', async () => {
    // Found by the restore-mode soak in seed 500286: a tab's paged reset began before a restore
    // to a backup at the snapshot's H0 and went on after it; its earlier pages held the lost
    // history, which nothing undid. Fixed in the server: paging cookies of a restored log name
    // the restore, and such a page is answered ClientStateNotFound. Seed 500286 stopped getting
    // there when the scan began refusing serials in stock (scenario 13); 500544 (of 500542–
    // 500546, searched with the soak's situation report) gets there on today's code.
    const r = await runSeed({
      seed: 500544,
      devices: 4,
      steps: 300,
      restoreWeight: 1,
      tmpDir: dir,
    });
    if (r.violations.length > 0) console.error(report(r));
    expect(r.violations).toEqual([]);
    expect(r.stats.situations.pagedResetRestarted ?? 0).toBeGreaterThan(0);
  });

  it('seed 500019, 164 steps: a list line is worked while a paged reset has brought the lists but no positions yet', async () => {
    // Found by the first restore-mode soak: the workload picked a position from an empty list
    // and the run crashed (a harness fault, fixed in `confirmLine`).
    const r = await runSeed({
      seed: 500019,
      devices: 4,
      steps: 164,
      restoreWeight: 1,
      tmpDir: dir,
    });
    if (r.violations.length > 0) console.error(report(r));
    expect(r.violations).toEqual([]);
    expect(r.stats.restores ?? 0).toBeGreaterThan(0);
  });
});
