import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { Server } from './harness.js';
import { device, launch, screenshot, serverQuantity, startServer } from './harness.js';

/**
 * A supervisor's bulk adjustment in the web app: upload a CSV with one bad row, read the
 * check report, choose to apply the valid rows, and watch the progress bar reach 100 % while
 * the embedded runner applies them through the replay.
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

describe('bulk adjustments in the web app', () => {
  it('upload, report, apply the valid rows, progress to 100 %', async () => {
    const token = await server.token('supervisor');
    const before = await serverQuantity(server, token, 'BOLT-M8', 'A-01-01');
    const sup = await device(browser, server.base, 'supervisor');
    await sup.page.goto(`${server.base}/jobs`);
    const rows = ['item;position;delta;reason'];
    for (let i = 0; i < 40; i++) rows.push('BOLT-M8;A-01-01;2;found');
    rows.push('NO-SUCH-ITEM;A-01-01;1;found');
    await sup.page.getByTestId('jobs-file').setInputFiles({
      name: 'recount.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(rows.join('\n')),
    });
    await sup.page.getByRole('button', { name: 'Check file' }).click();
    const report = sup.page.getByTestId('jobs-report');
    await report.getByText('recount.csv: 41 rows, 40 valid, 1 with problems').waitFor();
    await expect
      .poll(() => sup.page.getByTestId('jobs-errors').locator('tbody tr').allInnerTexts())
      .toEqual([expect.stringContaining('Unknown item "NO-SUCH-ITEM"')]);
    await screenshot(sup.page, 'jobs-report');

    await sup.page.getByRole('button', { name: 'Apply only the 40 valid rows' }).click();
    const done = sup.page.locator('[data-testid="jobs-table"] tr[data-state="completed"]');
    await done.waitFor({ timeout: 20_000 });
    expect(await done.locator('progress').evaluate((p) => (p as HTMLProgressElement).value)).toBe(
      40,
    );
    expect(await done.innerText()).toContain('100 %');
    await screenshot(sup.page, 'jobs-done');
    expect(await serverQuantity(server, token, 'BOLT-M8', 'A-01-01')).toBe(before + 80);
    expect(sup.errors).toEqual([]);
  });
});
