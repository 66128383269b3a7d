import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from './harness.js';
import { device, launch, scan, screenshot, startServer, synced } from './harness.js';

/**
 * Genealogy in the web app: a production job consumes a lot of glue and produces a drill;
 * the supervisor traces the lot forward and the drill back, with the picture, and takes the
 * recall report.
 */
let server: Server;
let browser: Browser;

beforeAll(async () => {
  server = await startServer();
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('genealogy in the web app', () => {
  it('traces a lot to the product made from it, and the product back to the lot', async () => {
    const token = await server.token('supervisor');
    const JOB = '0192f0c8-0000-7000-8000-0000000000e2';
    const push = (mutations: { name: string; args: Record<string, unknown> }[]) =>
      server.api<{ results: { status: string }[] }>(token, '/sync/push', {
        json: {
          pushVersion: 1,
          clientGroupID: 'e2e-genealogy',
          profileID: 'p',
          schemaVersion: '1',
          mutations: mutations.map((m, i) => ({
            clientID: 'e2e-genealogy',
            id: i + 1,
            timestamp: Date.now(),
            ...m,
          })),
        },
      });
    const res = await push([
      { name: 'createProductionJob', args: { jobId: JOB, code: 'J-E2E', itemId: 'demo-drill' } },
      { name: 'startProductionJob', args: { jobId: JOB } },
      {
        name: 'consumeForJob',
        args: {
          jobId: JOB,
          itemId: 'demo-glue',
          from: 'demo-bin-B-01-01',
          quantity: 2,
          lot: 'L2611',
        },
      },
      {
        name: 'produceForJob',
        args: {
          jobId: JOB,
          itemId: 'demo-drill',
          to: 'demo-bin-B-02-02',
          quantity: 1,
          serial: 'DR-9001',
        },
      },
    ]);
    expect(res.results.map((r) => r.status)).toEqual(['applied', 'applied', 'applied', 'applied']);

    const sup = await device(browser, server.base, 'supervisor');
    await sup.page.goto(`${server.base}/genealogy`);
    // The scan is read against the device's replica: let the first sync finish.
    await synced(sup.page);
    await scan(sup.page, 'GLUE-2K L2611');
    const went = sup.page.getByTestId('genealogy-descendants');
    await went.getByText('DRILL-18V · Serial DR-9001').waitFor();
    expect(await went.innerText()).toContain('Job');
    expect(
      await sup.page.locator('[data-testid="genealogy-result"] svg rect').count(),
    ).toBeGreaterThan(2);
    await screenshot(sup.page, 'genealogy');

    await scan(sup.page, 'DRILL-18V DR-9001');
    await sup.page.getByTestId('genealogy-ancestors').getByText('GLUE-2K · Lot L2611').waitFor();
    expect(sup.errors).toEqual([]);
  });
});
