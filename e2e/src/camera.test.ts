import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { FakeCamera } from './camera.js';
import type { Server } from './harness.js';
import {
  chooseFlow,
  device,
  launch,
  scan,
  screenshot,
  serverQuantity,
  startServer,
  signIn,
  synced,
  reportPolicyRefusals,
  watch,
} from './harness.js';

/**
 * The camera button: `@capacitor/barcode-scanner`'s web implementation (html5-qrcode on
 * getUserMedia) in Debian's Chromium, whose camera is a Y4M clip of a QR code made here
 * (`--use-file-for-fake-video-capture`). What the camera decodes must land in the flow exactly
 * as a wedge scanner's typed code does.
 */
let server: Server;
let supervisorToken: string;

beforeAll(async () => {
  server = await startServer();
  supervisorToken = await server.token('supervisor');
});
afterAll(async () => {
  await server?.stop();
});

/** Shows and hides of the scanner dialog, as each page of a camera device reports them. */
const dialogEvents = new WeakMap<Page, ('open' | 'closed')[]>();

/**
 * An operator's device whose pages report every show and hide of the scanner dialog: a
 * decode can open and close it within a few frames, too fast to be seen by polling.
 */
async function cameraDevice(browser: Browser) {
  const context = await browser.newContext({ viewport: { width: 480, height: 900 } });
  await context.exposeBinding('__floorsyncScanner', ({ page }, state: 'open' | 'closed') => {
    dialogEvents.get(page)?.push(state);
  });
  await context.addInitScript(() => {
    const report = (window as unknown as { __floorsyncScanner: (s: string) => void })
      .__floorsyncScanner;
    new MutationObserver((records) => {
      for (const r of records) {
        const el = r.target as HTMLElement;
        if (el.id !== 'cap-os-barcode-scanner-container-dialog') continue;
        const was = r.oldValue?.includes('block') ?? false;
        const is = el.style.display === 'block';
        if (was !== is) void report(is ? 'open' : 'closed');
      }
    }).observe(document, {
      subtree: true,
      attributes: true,
      attributeFilter: ['style'],
      attributeOldValue: true,
    });
  });
  await reportPolicyRefusals(context);
  const page = await context.newPage();
  dialogEvents.set(page, []);
  const errors = watch(page);
  await signIn(page, server.base, 'operator');
  await page.waitForURL('**/scan');
  await synced(page); // scans resolve against the replica: its first pull done
  return { context, page, errors };
}

/**
 * Points the camera at `code`, presses the camera button and waits until the scanner was
 * shown and closed again: the plugin closes it after a decode, once the capture has stopped,
 * so the next `show` is what the next capture sees. Returns the milliseconds from press to
 * closed.
 */
async function cameraScan(
  page: Page,
  camera: FakeCamera,
  code: string,
  symbology: 'qr' | 'ean13' = 'qr',
): Promise<number> {
  const events = dialogEvents.get(page)!;
  const button = page.getByRole('button', { name: 'Scan with the camera' });
  await button.waitFor(); // the scan field is on the page
  camera.show(code, symbology);
  events.length = 0;
  const t0 = Date.now();
  await button.click();
  await expect.poll(() => events.join(' '), { timeout: 20_000 }).toBe('open closed');
  return Date.now() - t0;
}

describe('camera scan through a fake video device', () => {
  let camera: FakeCamera;
  let browser: Browser;
  beforeAll(async () => {
    camera = new FakeCamera();
    browser = await launch(camera.args);
  });
  afterAll(async () => {
    await browser?.close();
    camera?.remove();
  });

  it('lookup: a QR code of a bin seen by the camera shows what is in that bin', async () => {
    const op = await cameraDevice(browser);
    await synced(op.page);
    await op.page.goto(`${server.base}/lookup`);
    const ms = await cameraScan(op.page, camera, 'A-01-01');
    console.log(`e2e: camera scan (press to scanner closed) ${ms} ms`);
    await expect
      .poll(() => op.page.getByTestId('lookup-result').textContent())
      .toMatch(/A-01-01.*BOLT-M8.*500/s);
    expect(op.errors).toEqual([]);
    await op.context.close();
  });

  it('receive: the bin’s QR code and the box’s EAN-13 from the camera, quantity typed; the flow advances as with typed scans and the server gets it', async () => {
    const op = await cameraDevice(browser);
    await synced(op.page);
    const bolts = await serverQuantity(server, supervisorToken, 'BOLT-M8', 'A-01-04');
    await chooseFlow(op.page, 'Receive');
    const prompt = op.page.locator('label[for="scan-input"]');
    const result = op.page.getByTestId('scan-result');

    await cameraScan(op.page, camera, 'A-01-04');
    await expect.poll(() => prompt.textContent()).toBe('Scan the item');
    await cameraScan(op.page, camera, '4006381333931', 'ean13');
    await expect.poll(() => prompt.textContent()).toBe('Quantity? (Enter = 1)');
    await scan(op.page, '7');
    await expect
      .poll(() => result.textContent())
      .toContain('Saved: Receive 7 × BOLT-M8 at A-01-04');
    await screenshot(op.page, 'operator-camera-scan');

    // The flow stays at the bin: the next box from the camera, Enter for one.
    await expect.poll(() => prompt.textContent()).toBe('Scan the item');
    await cameraScan(op.page, camera, '5901234123457', 'ean13');
    await scan(op.page, '');
    await expect.poll(() => result.textContent()).toContain('Saved: Receive 1 × NUT-M8 at A-01-04');

    await synced(op.page);
    expect(await serverQuantity(server, supervisorToken, 'BOLT-M8', 'A-01-04')).toBe(bolts + 7);
    expect(await serverQuantity(server, supervisorToken, 'NUT-M8', 'A-01-04')).toBe(1);
    expect(op.errors).toEqual([]);
    await op.context.close();
  });

  it('cancel: the scanner closes, no message, the scan field has the focus again', async () => {
    const op = await cameraDevice(browser);
    camera.show(''); // a blank picture: nothing to decode
    await op.page.getByRole('button', { name: 'Scan with the camera' }).click();
    const dialog = op.page.getByRole('dialog', { name: 'Scan with the camera' });
    // The picture is running (html5-qrcode draws the scan region once the video plays).
    await dialog.locator('video').waitFor();
    await dialog.locator('canvas').waitFor({ state: 'attached' });
    await expect.poll(() => dialog.textContent()).toContain('Point the camera at the barcode');
    await screenshot(op.page, 'operator-camera-open');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect(await op.page.getByRole('alert').count()).toBe(0);
    expect(await op.page.evaluate(() => document.activeElement?.id)).toBe('scan-input');
    // By keyboard: the open dialog has the focus (its Cancel button), and Escape closes it.
    await op.page.getByRole('button', { name: 'Scan with the camera' }).click();
    await dialog.locator('video').waitFor();
    await dialog.locator('canvas').waitFor({ state: 'attached' });
    await expect
      .poll(() => op.page.evaluate(() => document.activeElement?.id))
      .toBe('cap-os-barcode-scanner-close-button');
    await op.page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    await expect.poll(() => op.page.evaluate(() => document.activeElement?.id)).toBe('scan-input');
    // The camera works again after a cancel.
    await cameraScan(op.page, camera, 'A-01-01');
    await expect
      .poll(() => op.page.locator('label[for="scan-input"]').textContent())
      .toBe('Scan the item');
    expect(op.errors).toEqual([]);
    await op.context.close();
  });
});

/** Presses the camera button on a signed-in operator's device and returns the alert shown. */
async function cameraProblem(browser: Browser, shot?: string): Promise<string> {
  const op = await device(browser, server.base, 'operator');
  await op.page.waitForURL('**/scan');
  await synced(op.page); // the wedge scan below resolves against the replica
  await op.page.getByRole('button', { name: 'Scan with the camera' }).click();
  const alert = op.page.getByRole('alert');
  await alert.waitFor({ timeout: 15_000 });
  const text = (await alert.textContent()) ?? '';
  if (shot) await screenshot(op.page, shot);
  // The dialog is gone and wedge scans go on as before.
  expect(await op.page.locator('#cap-os-barcode-scanner-container-dialog').isVisible()).toBe(false);
  await scan(op.page, 'A-01-01');
  await expect
    .poll(() => op.page.locator('label[for="scan-input"]').textContent())
    .toBe('Scan the item');
  expect(op.errors).toEqual([]);
  await op.context.close();
  return text;
}

describe('camera problems are told in plain words', () => {
  it('no camera (headless Chromium without fake devices has none)', async () => {
    const browser = await launch();
    try {
      expect(await cameraProblem(browser, 'operator-no-camera')).toBe(
        'No camera found on this device. Use the scanner or type the code.',
      );
    } finally {
      await browser.close();
    }
  });

  it('camera permission denied (fake devices, no permission given)', async () => {
    const browser = await launch(['--use-fake-device-for-media-stream']);
    try {
      expect(await cameraProblem(browser)).toBe(
        'The camera is blocked for this app. Allow it in the browser or device settings.',
      );
    } finally {
      await browser.close();
    }
  });
});
