import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakePrinter } from '../../workers/test/fake-printer.js';
import { startFakePrinter } from '../../workers/test/fake-printer.js';
import type { Server } from './harness.js';
import { device, launch, scan, screenshot, startServer, synced } from './harness.js';

/**
 * A label printed from the scanner app: the operator looks an item up and prints its label on
 * the dock printer; the server's embedded runner sends the ZPL over TCP 9100 to a fake Zebra
 * printer that records it, and the printer's answer comes back to the screen.
 */
let server: Server;
let browser: Browser;
let printer: FakePrinter;

beforeAll(async () => {
  printer = await startFakePrinter('ready');
  server = await startServer({ LABEL_PRINTERS: `dock=127.0.0.1:${printer.port}/4x6` });
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await printer?.close();
});

describe('labels from the scanner app', () => {
  it('looks up an item, prints its label on the dock printer, and reads the printer’s answer', async () => {
    const op = await device(browser, server.base, 'operator');
    await op.page.goto(`${server.base}/lookup`);
    await synced(op.page); // the lookup reads the device's replica
    await scan(op.page, 'BOLT-M8');
    await op.page.getByRole('button', { name: 'Print label on dock' }).click();
    await op.page
      .getByTestId('label-result')
      .getByText('Printed on dock')
      .waitFor({ timeout: 20_000 });
    const zpl = printer.received().toString('latin1');
    expect(zpl).toContain('^XA');
    expect(zpl).toContain('BOLT-M8');
    expect(zpl).toMatch(/~HS/);
    await screenshot(op.page, 'label-printed');

    // The printer runs out of paper: the operator is told so, in the app's words (from the
    // problem's code: the server's English says "1 label(s)"), and not to print again.
    printer.mode = 'paper-out';
    await op.page.getByRole('button', { name: 'Print label on dock' }).click();
    await expect
      .poll(() => op.page.getByTestId('label-result').innerText(), { timeout: 20_000 })
      .toBe(
        'Not printed: printer dock took 1 label but reports paper out. They print once that is fixed: do not print them again.',
      );
    expect(op.errors).toEqual([]);
  });
});
