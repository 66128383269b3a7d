import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from './harness.js';
import {
  device,
  launch,
  nextDialog,
  pending,
  scan,
  screenshot,
  startServer,
  synced,
} from './harness.js';

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

  it('the Production screen: a supervisor starts a job; an operator offline consumes a lot and produces a serial; the genealogy links them', async () => {
    const sup = await device(browser, server.base, 'supervisor');
    await sup.page.goto(`${server.base}/production`);
    await synced(sup.page);
    await sup.page.getByLabel('Code').fill('J-SCREEN');
    await sup.page.getByLabel('Product (SKU)').fill('DRILL-18V');
    await sup.page.getByLabel('Planned quantity (optional)').fill('5');
    await sup.page.getByRole('button', { name: 'Create', exact: true }).click();
    await sup.page.getByTestId('job-status').getByText('created').waitFor();
    await sup.page.getByRole('button', { name: 'Start job' }).click();
    await sup.page.getByTestId('job-status').getByText('running').waitFor();
    await expect
      .poll(() => sup.page.getByTestId('scan-result').innerText())
      .toMatch(/^Job \S+ is running: scan what it consumes and produces\.$/);
    await synced(sup.page);

    const op = await device(browser, server.base, 'operator');
    await op.page.goto(`${server.base}/production`);
    await synced(op.page);
    await op.page.getByTestId('job-row').filter({ hasText: 'J-SCREEN' }).getByRole('link').click();
    await op.context.setOffline(true);
    // What goes in: position, item, lot, quantity (the scanner's ship flow).
    await scan(op.page, 'B-01-02', 'GLUE-2K', 'L2612', '1');
    await op.page.getByTestId('scan-result').getByText('Consumption saved').waitFor();
    // What comes out: the job's product is known; position, serial.
    await op.page.getByRole('tab', { name: 'Produce' }).click();
    // What the flow has taken shows above the field; "Start over" drops it.
    await scan(op.page, 'B-01-01');
    await expect.poll(() => op.page.getByTestId('flow-known').innerText()).toContain('B-01-01');
    await op.page.getByRole('button', { name: 'Start over' }).click();
    await expect.poll(() => op.page.getByTestId('flow-known').innerText()).not.toContain('B-01-01');
    await scan(op.page, 'B-02-02', 'DR-9100');
    await op.page.getByTestId('scan-result').getByText('Production saved').waitFor();
    expect(await op.page.getByText('1 made of 5').count()).toBeGreaterThan(0);
    expect(await pending(op.page)).toBeGreaterThan(0);
    // Each booking stays listed, newest first, waiting to sync while offline.
    const booked = op.page.getByTestId('job-booked');
    await expect
      .poll(() => booked.allInnerTexts())
      .toEqual([
        expect.stringMatching(/DRILL-18V \(Serial DR-9100\).*B-02-02.* · waiting to sync$/),
        expect.stringMatching(/GLUE-2K \(Lot L2612\).*B-01-02.* · waiting to sync$/),
      ]);
    await op.context.setOffline(false);
    await synced(op.page);
    await expect
      .poll(() => booked.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-state'))))
      .toEqual(['synced', 'synced']);

    await sup.page.goto(`${server.base}/genealogy`);
    await synced(sup.page);
    await scan(sup.page, 'DRILL-18V DR-9100');
    await sup.page.getByTestId('genealogy-ancestors').getByText('GLUE-2K · Lot L2612').waitFor();
    // The activity feed names the production events and who scanned them.
    await sup.page.goto(`${server.base}/activity`);
    const consumed = sup.page.getByTestId('activity-row').filter({ hasText: 'Consumed' });
    await expect
      .poll(() => consumed.first().textContent(), { timeout: 15_000 })
      .toContain('Olga Operator');
    expect(await consumed.first().textContent()).toContain('GLUE-2K');
    const produced = sup.page.getByTestId('activity-row').filter({ hasText: 'Produced' });
    expect(await produced.first().textContent()).toContain('Olga Operator');
    expect(await sup.page.getByTestId('activity-table').innerText()).not.toContain('event.');
    // Completing the job takes it off the devices.
    await sup.page.goto(`${server.base}/production`);
    await sup.page.getByTestId('job-row').filter({ hasText: 'J-SCREEN' }).getByRole('link').click();
    // Asked first (it cannot be undone), then said, back on the list.
    const asked = nextDialog(sup.page);
    await sup.page.getByRole('button', { name: 'Complete job' }).click();
    expect(await asked).toContain('Complete job J-SCREEN?');
    await sup.page.getByText('Job J-SCREEN is completed.').waitFor();
    expect(await sup.page.getByTestId('job-row').filter({ hasText: 'J-SCREEN' }).count()).toBe(0);
    expect(sup.errors).toEqual([]);
    expect(op.errors).toEqual([]);
  });
});
