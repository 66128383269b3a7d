import type { ChildProcess } from 'node:child_process';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsServer } from '../../scripts/nats-server.js';
import { startNatsServer } from '../../scripts/nats-server.js';
import { spawnWorker } from '../../scripts/worker-process.js';
import type { Server } from './harness.js';
import { device, launch, screenshot, serverQuantity, startServer } from './harness.js';

/**
 * A job nobody runs (scaled out: NATS, and no worker process yet). After two minutes without
 * progress the jobs screen offers to queue it again; queued twice, a worker that comes later
 * applies every row once. Chromium's clock is Playwright's, fast-forwarded; the server, NATS
 * and the worker are real.
 */
const WORKER_PASSWORD = 'e2e-worker-password-0123456789';
let nats: NatsServer;
let server: Server;
let browser: Browser;
let worker: ChildProcess | undefined;

beforeAll(async () => {
  nats = await startNatsServer();
  server = await startServer({ NATS_URL: nats.url, WORKER_PASSWORD });
  browser = await launch();
}, 60_000);
afterAll(async () => {
  worker?.kill('SIGKILL');
  await browser?.close();
  await server?.stop();
  await nats?.dispose();
});

describe('a stalled job in the web app', () => {
  it('no progress for two minutes: "Queue again"; the job queued twice applies its rows once', async () => {
    const token = await server.token('supervisor');
    const before = await serverQuantity(server, token, 'BOLT-M8', 'A-01-01');
    const sup = await device(browser, server.base, 'supervisor');
    await sup.page.clock.install();
    await sup.page.goto(`${server.base}/jobs`);
    const rows = ['item;position;delta;reason'];
    for (let i = 0; i < 25; i++) rows.push('BOLT-M8;A-01-01;2;found');
    await sup.page.getByTestId('jobs-file').setInputFiles({
      name: 'stalled.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(rows.join('\n')),
    });
    await sup.page.getByRole('button', { name: 'Check file' }).click();
    await sup.page.getByTestId('jobs-report').getByText('stalled.csv: 25 rows, 25 valid').waitFor();
    await sup.page.getByRole('button', { name: 'Apply 25 rows' }).click();
    const row = sup.page.locator('[data-testid="jobs-table"] tr', { hasText: 'stalled.csv' });
    await expect.poll(() => row.getAttribute('data-state'), { timeout: 15_000 }).toBe('queued');

    // A minute without progress: nothing offered yet.
    await sup.page.clock.fastForward(60_000);
    await sup.page.clock.fastForward(5_000); // a poll after it
    await expect.poll(() => row.innerText()).toContain('0 %');
    expect(await row.getByTestId('job-stalled').count()).toBe(0);

    // Past two minutes: offered.
    await sup.page.clock.fastForward(60_000);
    await sup.page.clock.fastForward(5_000);
    const stalled = row.getByTestId('job-stalled');
    await stalled.waitFor({ timeout: 15_000 });
    expect(await stalled.innerText()).toBe(
      'No progress for 2 minutes: its worker may have stopped, or the queue lost it.',
    );
    await screenshot(sup.page, 'jobs-stalled');
    await row.getByRole('button', { name: /^Queue .+ again$/ }).click();
    // Queued again: its wait starts afresh.
    await stalled.waitFor({ state: 'detached', timeout: 15_000 });
    await sup.page.clock.fastForward(5_000);
    expect(await row.getAttribute('data-state')).toBe('queued');
    expect(await row.getByTestId('job-stalled').count()).toBe(0);

    // A worker comes: two queue messages for one job, every row applied once.
    worker = spawnWorker({
      natsUrl: nats.url,
      serverUrl: server.base,
      password: WORKER_PASSWORD,
      env: { WORKER_CONCURRENCY: '1' },
    });
    const job = async () =>
      (
        await server.api<{ id: string; fileName: string | null; state: string; done: number }[]>(
          token,
          '/api/jobs',
        )
      ).find((j) => j.fileName === 'stalled.csv');
    await expect.poll(async () => (await job())?.state, { timeout: 60_000 }).toBe('completed');
    expect((await job())?.done).toBe(25);
    expect(await serverQuantity(server, token, 'BOLT-M8', 'A-01-01')).toBe(before + 50);
    // The second message finds the job done: nothing applied twice, however long it waits.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await serverQuantity(server, token, 'BOLT-M8', 'A-01-01')).toBe(before + 50);
    await sup.page.clock.fastForward(5_000);
    await expect.poll(() => row.getAttribute('data-state'), { timeout: 15_000 }).toBe('completed');
    expect(await row.getByTestId('job-stalled').count()).toBe(0);
    expect(sup.errors).toEqual([]);
  }, 180_000);
});
