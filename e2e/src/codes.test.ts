import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from './harness.js';
import { device, launch, screenshot, startServer, synced } from './harness.js';

/**
 * Scenario 24 in the app, with a keyboard-wedge scanner: a GS1-128 code whose lot is followed
 * by more data needs the group separator, which a wedge sends as Ctrl+] (no character in a
 * browser) or, set up so, as a substitute character. The demo's epoxy (GTIN 09506000134352,
 * lot L2611: 24 in B-01-01) is looked up with its lot and expiry.
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

const GTIN = '0109506000134352';
const LOT_THEN_EXPIRY = (gs: string) => `]C1${GTIN}10L2611${gs}17270630`;

describe('GS1-128 from a keyboard-wedge scanner (scenario 24)', () => {
  it('takes Ctrl+] as the group separator, and a configured substitute once it is set up on the device', async () => {
    const op = await device(browser, server.base, 'operator');
    const { page } = op;
    await page.goto(`${server.base}/lookup`);
    await synced(page); // the lookup reads the device's replica
    const field = page.getByTestId('scan-input');
    const result = () => page.getByTestId('lookup-result').innerText();

    // Ctrl+] with nothing typed yet (on a German layout the same key is Ctrl++, zoom) puts no
    // GS in front of the next code.
    await field.press('Control+BracketRight');
    await field.pressSequentially('B-01-01');
    await field.press('Enter');
    await expect.poll(result).toMatch(/Position B-01-01/);

    // The wedge types the code and sends GS as Ctrl+] between the lot and the expiry.
    await field.fill(`]C1${GTIN}10L2611`);
    await field.press('Control+BracketRight');
    await field.pressSequentially('17270630');
    await field.press('Enter');
    await expect.poll(result).toMatch(/GLUE-2K[\s\S]*Lot L2611[\s\S]*B-01-01\s+L2611\s+24/);
    await expect
      .poll(() => page.getByTestId('scanned-as').textContent())
      .toContain(`10L2611⟨GS⟩17270630`);

    // A scanner that types "~" for GS: not set up yet, the lot swallows the rest and is refused.
    await field.fill(LOT_THEN_EXPIRY('~'));
    await field.press('Enter');
    await expect
      .poll(result)
      .toMatch(/\(10\) BATCH\/LOT "L2611~17270630" contains characters a GS1 barcode cannot carry/);
    expect(await result()).not.toMatch(/B-01-01/);
    await expect.poll(() => page.getByTestId('scanned-as').textContent()).toContain('L2611~1727');

    // Set up on this device: a letter is refused in plain words, "~" is kept.
    await page.getByText('Scanner setup (this device)').click();
    const substitute = page.getByLabel('The scanner types the GS1 group separator as');
    await substitute.fill('A');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect
      .poll(() => page.getByTestId('scanner-setup').getByRole('alert').innerText())
      .toMatch(/^That occurs in codes\. Choose one of ~ \|/);
    await substitute.fill('~');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText('Saved on this device.').waitFor();
    await screenshot(page, 'scanner-setup');

    await field.fill(LOT_THEN_EXPIRY('~'));
    await field.press('Enter');
    await expect.poll(result).toMatch(/Lot L2611[\s\S]*B-01-01\s+L2611\s+24/);

    // Kept on the device across a reload.
    await page.reload();
    await synced(page);
    await field.fill(LOT_THEN_EXPIRY('~'));
    await field.press('Enter');
    await expect.poll(result).toMatch(/Lot L2611[\s\S]*B-01-01\s+L2611\s+24/);
    expect(op.errors).toEqual([]);
  });
});
