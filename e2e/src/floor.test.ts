import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { Server } from './harness.js';
import {
  chooseFlow,
  device,
  launch,
  pending,
  scan,
  screenshot,
  serverQuantity,
  startServer,
  synced,
} from './harness.js';

/**
 * Devices on the floor: each a browser context of Debian's Chromium with its own replica,
 * against one real server process with the demo warehouse.
 */
let server: Server;
let browser: Browser;
let supervisorToken: string;

beforeAll(async () => {
  server = await startServer();
  browser = await launch();
  supervisorToken = await server.token('supervisor');
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/** Receipts of one unit each at a position (by code) in the server's log (any other fails). */
async function receiptsAt(code: string): Promise<number> {
  const positions = await server.api<{ id: string; code: string }[]>(
    supervisorToken,
    '/api/positions',
  );
  const position = positions.find((p) => p.code === code)?.id;
  if (!position) throw new Error(`unknown position ${code}`);
  let receipts = 0;
  for (let after = 0; ;) {
    const page = await server.api<
      { seq: number; type: string; data: { positionId?: string; quantity?: number } }[]
    >(supervisorToken, `/api/events?after=${after}&limit=2000`);
    if (page.length === 0) return receipts;
    for (const e of page)
      if (e.type === 'StockReceived' && e.data.positionId === position) {
        expect(e.data.quantity).toBe(1);
        receipts++;
      }
    after = page.at(-1)!.seq;
  }
}

describe('on the floor', () => {
  it('the app runs only its own scripts: its pages carry a script policy, and an injected script does not run', async () => {
    const op = await device(browser, server.base, 'operator');
    await op.page.waitForURL('**/scan');
    await synced(op.page);
    // The sync server's header policy (no framing) and the app's own, by hash, in index.html.
    const res = await fetch(`${server.base}/scan`);
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const html = await res.text();
    expect(html).toMatch(
      /<meta http-equiv="content-security-policy" content="script-src 'self' 'sha256-[A-Za-z0-9+/=]+'">/,
    );
    // Signed in and synced, the app ran under it without a refusal (watched in `errors`).
    expect(op.errors).toEqual([]);
    // What an XSS would try: an inline script, and an inline event handler. Neither runs; the
    // browser reports both.
    const outcome = await op.page.evaluate(async () => {
      const w = window as unknown as { injected?: number };
      const refused: string[] = [];
      document.addEventListener('securitypolicyviolation', (e) =>
        refused.push(e.effectiveDirective),
      );
      const script = document.createElement('script');
      script.textContent = 'window.injected = 1';
      document.head.append(script);
      const img = document.createElement('img');
      img.setAttribute('onerror', 'window.injected = 2');
      img.src = 'data:,not-an-image';
      document.body.append(img);
      // Each refusal is reported as a task of its own (the handler's after the image failed):
      // waited for, up to 10 s.
      for (let waited = 0; waited < 10_000 && refused.length < 2; waited += 50)
        await new Promise((r) => setTimeout(r, 50));
      img.remove();
      script.remove();
      return { injected: w.injected ?? null, refused };
    });
    expect(outcome.injected).toBeNull();
    expect(outcome.refused).toEqual(expect.arrayContaining(['script-src-elem', 'script-src-attr']));
    await op.context.close();
  });

  it('scenario 10: a supervisor’s stock view updates within a second of another device’s sync, without a reload', async () => {
    const sup = await device(browser, server.base, 'supervisor');
    await sup.page.waitForURL('**/stock');
    await synced(sup.page);
    await sup.page.getByRole('searchbox').fill('A-01-04');
    const rows = sup.page.getByTestId('stock-row');
    expect(await rows.count()).toBe(0);
    // A mark in the page's memory: a reload (or a navigation away and back) would lose it.
    await sup.page.evaluate(() => ((window as unknown as { mark?: string }).mark = 'live'));

    const op = await device(browser, server.base, 'operator');
    await op.page.waitForURL('**/scan');
    await synced(op.page);
    await scan(op.page, 'A-01-04', '4006381333931', '7');
    await expect
      .poll(() => op.page.getByTestId('scan-result').textContent())
      .toContain('Saved: Receive 7 × BOLT-M8 at A-01-04');
    await synced(op.page);
    const acknowledged = Date.now();
    // The supervisor's page was not touched: the poke, the pull and the re-render did it. The
    // one-second target itself is measured by a benchmark (`client.propagation_p95_ms`,
    // BENCHMARKS.md), not here: on a shared CI machine a timed test would only be flaky. The
    // wait's bound (it throws after 15 s, half the periodic sync's 30 s) catches a live path
    // that is broken or falls back to polling.
    await rows.first().waitFor({ timeout: 15_000 });
    const seenAfterMs = Date.now() - acknowledged;
    expect(await rows.first().getByTestId('stock-qty').textContent()).toBe('7');
    expect(await sup.page.evaluate(() => (window as unknown as { mark?: string }).mark)).toBe(
      'live',
    );
    console.log(`e2e: stock view updated ${seenAfterMs} ms after the operator's sync`);
    await screenshot(sup.page, 'supervisor-stock');
    await screenshot(op.page, 'operator-scan');
    expect([...sup.errors, ...op.errors]).toEqual([]);
    await sup.context.close();
    await op.context.close();
  });

  it('scenario 1 and cold start: 2,000 offline scans survive an app restart mid-shift with no network, then go in batches with progress, exactly once', async () => {
    const op = await device(browser, server.base, 'operator');
    await op.page.waitForURL('**/scan');
    await synced(op.page);
    // The app shell is cached by the service worker once it is active.
    await op.page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
    const before = await serverQuantity(server, supervisorToken, 'NUT-M8', 'A-02-01');
    const receiptsBefore = await receiptsAt('A-02-01');
    const field = op.page.getByTestId('scan-input');
    // A shift's scans as a wedge scanner sends them into the focused field (code, Enter; Enter
    // takes quantity 1), without waiting for the screen between them; the queue is polled.
    const scanShift = async (n: number, queued: number): Promise<void> => {
      await scan(op.page, 'A-02-01');
      for (let i = 0; i < n; i++) {
        await op.page.keyboard.insertText('5901234123457');
        await op.page.keyboard.press('Enter');
        await op.page.keyboard.press('Enter');
      }
      await expect.poll(() => pending(op.page), { timeout: 60_000 }).toBe(queued);
    };
    const HALF = 1000;
    const SCANS = 2 * HALF; // ten push batches (200 each)

    await op.context.setOffline(true);
    await scanShift(HALF, HALF);
    await expect
      .poll(() => op.page.getByTestId('sync-badge').getAttribute('data-status'))
      .toBe('offline');
    await screenshot(op.page, 'operator-offline');

    // Mid-shift the app restarts, still offline: the shell comes from the service worker, the
    // queue and the last data from IndexedDB. Then the second half of the shift.
    await op.page.reload();
    await field.waitFor();
    expect(await pending(op.page)).toBe(HALF);
    await scanShift(HALF, SCANS);
    await op.page.goto(`${server.base}/lookup`);
    await scan(op.page, 'A-02-01');
    await expect
      .poll(() => op.page.getByTestId('lookup-result').textContent())
      .toMatch(new RegExp(`NUT-M8.*${before + SCANS}`, 's'));

    // Back online, on a slow link (each push answered after 600 ms): the badge shows how far
    // the queue has been sent, batch by batch.
    await op.page.route('**/sync/push', async (r) => {
      await new Promise((resolve) => setTimeout(resolve, 600));
      await r.continue();
    });
    await op.context.setOffline(false);
    await expect
      .poll(() => op.page.getByTestId('sync-badge').textContent())
      .toMatch(new RegExp(`sending 200 of ${SCANS}`));
    await screenshot(op.page, 'operator-sending');
    await synced(op.page, 120_000);
    await op.page.unroute('**/sync/push');
    // Every scan exactly one event: 2,000 receipts of one unit each, by this operator's device.
    expect(await serverQuantity(server, supervisorToken, 'NUT-M8', 'A-02-01')).toBe(before + SCANS);
    expect((await receiptsAt('A-02-01')) - receiptsBefore).toBe(SCANS);
    expect(op.errors).toEqual([]);
    await op.context.close();
  }, 600_000);

  it('a wedge scanner firing codes back to back while syncing: no scan dropped, none doubled', async () => {
    const op = await device(browser, server.base, 'operator');
    await op.page.waitForURL('**/scan');
    await synced(op.page);
    const before = await serverQuantity(server, supervisorToken, 'NUT-M8', 'B-01-01');
    const field = op.page.getByTestId('scan-input');
    // Keystrokes as a scanner sends them: code, Enter, at once, no waiting for the screen.
    await field.pressSequentially('B-01-01\n');
    const N = 40;
    for (let i = 0; i < N; i++) await field.pressSequentially('NUT-M8\n\n', { delay: 0 });
    await expect.poll(() => op.page.getByTestId('scan-result').textContent()).toContain('NUT-M8');
    // The page may still be working through keystrokes: the server is polled, not the badge.
    await expect
      .poll(() => serverQuantity(server, supervisorToken, 'NUT-M8', 'B-01-01'), { timeout: 30_000 })
      .toBe(before + N);
    await synced(op.page);
    expect(await serverQuantity(server, supervisorToken, 'NUT-M8', 'B-01-01')).toBe(before + N);
    expect(op.errors).toEqual([]);
    await op.context.close();
  });

  it('the keyboard: a held Enter answers one prompt, Tab and Shift+Tab move on, the reason step takes scans, a scan nothing asks for is said and presses nothing', async () => {
    const op = await device(browser, server.base, 'operator');
    await op.page.waitForURL('**/scan');
    await synced(op.page);
    const before = await serverQuantity(server, supervisorToken, 'NUT-M8', 'B-01-02');
    const field = op.page.getByTestId('scan-input');
    const result = op.page.getByTestId('scan-result');
    await chooseFlow(op.page, 'Receive');
    await scan(op.page, 'B-01-02', 'NUT-M8');
    // The field's name is the step's prompt, its visible label.
    expect(await op.page.getByRole('textbox', { name: 'Quantity? (Enter = 1)' }).count()).toBe(1);
    // Enter held down: the key's repeats would answer "Scan the item" with nothing.
    await op.page.keyboard.down('Enter');
    await op.page.keyboard.down('Enter'); // repeat: true
    await op.page.keyboard.down('Enter');
    await op.page.keyboard.up('Enter');
    await expect.poll(() => result.textContent()).toContain('NUT-M8');
    await synced(op.page);
    expect(await result.getAttribute('class')).toContain('ok');
    expect(await serverQuantity(server, supervisorToken, 'NUT-M8', 'B-01-02')).toBe(before + 1);
    // The same scan again: the same words, but a new message (announced again, and it flashes).
    const saved = await result.textContent();
    const first = await result.elementHandle();
    await scan(op.page, 'NUT-M8', '');
    await expect.poll(() => first?.evaluate((el) => el.isConnected)).toBe(false);
    expect(await result.textContent()).toBe(saved);
    await synced(op.page);
    expect(await serverQuantity(server, supervisorToken, 'NUT-M8', 'B-01-02')).toBe(before + 2);
    const focused = () =>
      op.page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? null);
    // A language chosen in the header hands the focus back to the field: a wedge's next code
    // does not go into the list's type-ahead (where a "D" or "E" would switch the language).
    const language = op.page.locator('header select');
    await language.focus();
    await language.selectOption('de');
    expect(await focused()).toBe('scan-input');
    await language.focus();
    await language.selectOption('en');
    expect(await focused()).toBe('scan-input');
    // Tab on an empty field, Shift+Tab on a typed one: the focus moves on, nothing is handed over.
    await field.focus();
    await op.page.keyboard.press('Tab');
    expect(await focused()).not.toBe('scan-input');
    // A wedge's scan while the focus is on a button beside the field goes into the field.
    await op.page.keyboard.type('NUT-M8');
    await op.page.keyboard.press('Enter');
    const prompt = op.page.locator('label[for="scan-input"]');
    await expect.poll(() => prompt.textContent()).toBe('Quantity? (Enter = 1)');
    expect(await op.page.getByTestId('stray-scan').count()).toBe(0);
    await field.focus();
    await op.page.keyboard.type('NUT');
    await op.page.keyboard.press('Shift+Tab');
    expect(await focused()).not.toBe('scan-input');
    expect(await result.count()).toBe(0); // nothing handed over: no "Nothing was scanned" either
    // The reason step has the field too: a scan there is answered, a reason's code taken.
    await chooseFlow(op.page, 'Adjust');
    await scan(op.page, 'B-01-02', 'NUT-M8', '+2');
    expect(await op.page.getByRole('textbox', { name: 'Why?' }).count()).toBe(1);
    await scan(op.page, 'B-01-02');
    await expect.poll(() => result.textContent()).toBe('Choose a reason.');
    await scan(op.page, 'found');
    await expect.poll(() => result.getAttribute('class')).toContain('ok');
    await synced(op.page);
    expect(await serverQuantity(server, supervisorToken, 'NUT-M8', 'B-01-02')).toBe(before + 4);
    // A screen with no scan step (the lists overview), focus on a link: the wedge's code is
    // said with the code, and its Enter follows no link.
    await op.page.getByRole('link', { name: 'Lists', exact: true }).click();
    await op.page.waitForURL('**/lists');
    expect(await field.count()).toBe(0);
    await op.page.getByRole('link', { name: 'Scan', exact: true }).focus();
    await op.page.keyboard.type('5901234123457');
    await op.page.keyboard.press('Enter');
    const stray = op.page.getByTestId('stray-scan');
    await expect.poll(() => stray.textContent()).toContain('Not taken: 5901234123457.');
    expect(op.page.url()).toMatch(/\/lists$/);
    expect(await stray.getAttribute('role')).toBe('alert');
    // A key pressed by hand is not a scan: Enter on the link still follows it.
    await stray.getByRole('button', { name: 'OK' }).click();
    await op.page.getByRole('link', { name: 'Scan', exact: true }).focus();
    await op.page.keyboard.press('Enter');
    await op.page.waitForURL('**/scan');
    expect(await stray.count()).toBe(0);
    await screenshot(op.page, 'operator-keyboard');
    expect(op.errors).toEqual([]);
    await op.context.close();
  });

  it('codes entered whole while a scan is still saving (the field replaced, not typed on): each handed over once', async () => {
    // Found in CI: under load a scan was still saving when the next code was set into the field
    // (Playwright's fill, as an operator selecting the text and retyping it); only what followed
    // the first code's length was handed over, so "NUT-M8" arrived as "" and a count went astray.
    const op = await device(browser, server.base, 'operator');
    await op.page.waitForURL('**/scan');
    await synced(op.page);
    const before = await serverQuantity(server, supervisorToken, 'NUT-M8', 'B-01-02');
    // Another connection holds the replica's stores for a while: the scan's write waits.
    await op.page.evaluate(
      () =>
        new Promise<void>((resolve, reject) => {
          const open = indexedDB.open('floorsync');
          open.onerror = () => reject(new Error(String(open.error)));
          open.onsuccess = () => {
            const db = open.result;
            const names = [...db.objectStoreNames];
            const tx = db.transaction(names, 'readwrite');
            const store = tx.objectStore(names[0]!);
            const until = Date.now() + 2_000;
            const spin = () => {
              if (Date.now() < until) store.count().onsuccess = spin;
            };
            spin();
            tx.oncomplete = () => db.close();
            resolve();
          };
        }),
    );
    await scan(op.page, 'B-01-02', 'NUT-M8', '5', 'NUT-M8', '3');
    await expect
      .poll(() => serverQuantity(server, supervisorToken, 'NUT-M8', 'B-01-02'), { timeout: 15_000 })
      .toBe(before + 8);
    await synced(op.page);
    expect(await serverQuantity(server, supervisorToken, 'NUT-M8', 'B-01-02')).toBe(before + 8);
    expect(op.errors).toEqual([]);
    await op.context.close();
  });

  it('scenario 5: two offline devices pick the last units; both recorded, one conflict, an admin compensates, all converge', async () => {
    // P = A-02-02 holds 10 A (here: bolts).
    const seed = await device(browser, server.base, 'operator');
    await seed.page.waitForURL('**/scan');
    await synced(seed.page); // the scan resolves codes against the replica: its first pull done
    await scan(seed.page, 'A-02-02', 'BOLT-M8', '10');
    // Typed is not yet queued: wait for the server to have the receipt before closing.
    await expect
      .poll(() => serverQuantity(server, supervisorToken, 'BOLT-M8', 'A-02-02'), {
        timeout: 15_000,
      })
      .toBe(10);
    await synced(seed.page);
    await seed.context.close();

    const d1 = await device(browser, server.base, 'operator');
    const d2 = await device(browser, server.base, 'operator2');
    for (const d of [d1, d2]) {
      await synced(d.page);
      await chooseFlow(d.page, 'Move');
      await d.context.setOffline(true);
    }
    await scan(d1.page, 'A-02-02', 'BOLT-M8', '8', 'A-02-03');
    await scan(d2.page, 'A-02-02', 'BOLT-M8', '6', 'A-02-04');
    await expect.poll(() => pending(d1.page), { timeout: 10_000 }).toBe(1);
    await expect.poll(() => pending(d2.page), { timeout: 10_000 }).toBe(1);
    for (const d of [d1, d2]) {
      await d.context.setOffline(false);
      await synced(d.page);
    }
    expect(await serverQuantity(server, supervisorToken, 'BOLT-M8', 'A-02-02')).toBe(-4);
    expect(await serverQuantity(server, supervisorToken, 'BOLT-M8', 'A-02-03')).toBe(8);
    expect(await serverQuantity(server, supervisorToken, 'BOLT-M8', 'A-02-04')).toBe(6);
    const open = await server.api<{ id: string; kind: string; mutations: unknown[] }[]>(
      supervisorToken,
      '/api/conflicts?status=open',
    );
    const negatives = open.filter((c) => c.kind === 'negative-stock');
    expect(negatives).toHaveLength(1);
    expect(negatives[0]?.mutations).toHaveLength(2);

    // The admin resolves it in the console: a compensating adjustment after a recount.
    const admin = await device(browser, server.base, 'admin');
    await admin.page.waitForURL('**/conflicts');
    // Flagged where a supervisor looks first: the stock view shows the line negative.
    await admin.page.goto(`${server.base}/stock`);
    await synced(admin.page);
    await admin.page.getByRole('searchbox').fill('A-02-02');
    const shown = admin.page
      .getByTestId('stock-row')
      .filter({ hasText: 'BOLT-M8' })
      .getByTestId('stock-qty');
    await expect.poll(() => shown.textContent()).toBe('-4');
    expect(await shown.getAttribute('class')).toMatch(/\bnegative\b/);
    await admin.page.goto(`${server.base}/conflicts`);
    await admin.page.getByTestId('conflict-list').getByRole('button').first().click();
    await admin.page.getByTestId('conflict-detail').waitFor();
    await screenshot(admin.page, 'admin-conflict');
    await admin.page.getByLabel('Compensate').check();
    const args = admin.page.getByLabel('Compensating command');
    // Suggested from the admin's device's stock: once it has pulled (it signed in just now).
    await expect
      .poll(async () => JSON.parse(await args.inputValue()) as unknown, { timeout: 15_000 })
      .toMatchObject({ name: 'adjustStock', args: { delta: 4, reason: 'conflict-resolution' } });
    expect(await admin.page.getByTestId('compensation-hint').textContent()).toContain('-4');
    // The suggestion is the stock as it is now: another device finds 1 there meanwhile; once
    // the admin's device has synced, the untouched suggestion follows (3, not the 4 of then).
    await server.api(supervisorToken, '/sync/push', {
      json: {
        pushVersion: 1,
        clientGroupID: 'e2e-found',
        profileID: 'p',
        schemaVersion: '1',
        mutations: [
          {
            clientID: 'e2e-found',
            id: 1,
            timestamp: Date.now(),
            name: 'adjustStock',
            args: {
              itemId: 'demo-bolt',
              positionId: 'demo-bin-A-02-02',
              delta: 1,
              reason: 'found',
            },
          },
        ],
      },
    });
    await admin.page.getByTestId('sync-badge').click();
    await expect
      .poll(
        async () => (JSON.parse(await args.inputValue()) as { args: { delta: number } }).args.delta,
        { timeout: 15_000 },
      )
      .toBe(3);
    expect(await admin.page.getByTestId('compensation-hint').textContent()).toContain('-3');
    await admin.page.getByRole('button', { name: 'Resolve conflict' }).click();
    // A note is mandatory: refused in plain words, nothing queued.
    await expect.poll(() => admin.page.getByRole('alert').textContent()).toContain('Write a note');
    expect(await pending(admin.page)).toBe(0);
    await admin.page.getByLabel('Note (required)').fill('Recounted: the bin is empty.');
    // A compensation the server refuses (an item it does not know): the console says so on the
    // conflict, which stays open, until the admin dismisses it and resolves it right.
    const good = await args.inputValue();
    const bad = JSON.parse(good) as { args: Record<string, unknown> };
    bad.args['itemId'] = 'NO-SUCH-ITEM';
    await args.fill(JSON.stringify(bad));
    await admin.page.getByRole('button', { name: 'Resolve conflict' }).click();
    await synced(admin.page);
    const refused = admin.page.getByTestId('resolution-refused');
    await expect.poll(() => refused.textContent(), { timeout: 15_000 }).toContain('NO-SUCH-ITEM');
    expect(await refused.textContent()).toContain('still open');
    // What the admin wrote is still there to correct (syncs re-read the conflict meanwhile).
    expect(await args.inputValue()).toContain('NO-SUCH-ITEM');
    expect(await admin.page.getByRole('status').count()).toBe(0); // no stale "saved" notice
    expect(await admin.page.getByTestId('conflict-list').innerText()).toContain(
      'resolution refused',
    );
    await screenshot(admin.page, 'admin-resolution-refused');
    await refused.getByRole('button', { name: 'Got it' }).click();
    await expect.poll(() => refused.count()).toBe(0);
    // Dismissed, the refused attempt's "saved" notice does not come back.
    expect(await admin.page.getByRole('status').count()).toBe(0);
    await args.fill(good);
    // Offline for a moment: while the resolution waits in the queue, the form takes no second
    // one (the server would refuse it as stale, and the refusal would be a conflict itself).
    await admin.context.setOffline(true);
    const resolveButton = admin.page.getByRole('button', { name: 'Resolve conflict' });
    await resolveButton.click();
    await admin.page.getByTestId('resolution-queued').waitFor({ timeout: 15_000 });
    expect(await resolveButton.isDisabled()).toBe(true);
    expect(await pending(admin.page)).toBe(1);
    await admin.context.setOffline(false);
    // The click queued the resolution: the badge can still read "synced" from before it, so
    // wait for the server to have it, not for the badge.
    await expect
      .poll(() => serverQuantity(server, supervisorToken, 'BOLT-M8', 'A-02-02'), {
        timeout: 15_000,
      })
      .toBe(0);
    await synced(admin.page);
    const still = await server.api<{ id: string }[]>(supervisorToken, '/api/conflicts?status=open');
    expect(still.map((c) => c.id)).not.toContain(negatives[0]?.id);

    // Both devices converge to the server's view.
    for (const d of [d1, d2]) {
      await d.page.getByTestId('sync-badge').click();
      await synced(d.page);
      await d.page.goto(`${server.base}/lookup`);
      await scan(d.page, 'A-02-02');
      await expect
        .poll(() => d.page.getByTestId('lookup-result').textContent(), { timeout: 15_000 })
        .toContain('Nothing in stock');
      expect(d.errors).toEqual([]);
      await d.context.close();
    }
    expect(admin.errors).toEqual([]);
    await admin.context.close();
  });

  it('a handheld is bound to its installation’s secret: its ID alone signs in nowhere, and the device list says which devices have no secret', async () => {
    const sup = await device(browser, server.base, 'supervisor');
    await sup.page.waitForURL('**/stock');
    await synced(sup.page);
    // A client that never sends a secret (a third-party one, or an app from before).
    const [username, password] = ['operator', 'operator-demo'];
    await server.api('', '/api/auth/login', {
      json: { username, password, clientGroupID: 'e2e-plain-device' },
    });
    await sup.page.goto(`${server.base}/devices`);
    const mine = sup.page.locator('tr', { hasText: '(this one)' });
    await mine.waitFor();
    expect(await mine.getByTestId('device-unsecured').count()).toBe(0);
    const plain = sup.page.locator('tr', { hasText: 'e2e-plain-devi' });
    await plain.waitFor();
    expect(await plain.getByTestId('device-unsecured').textContent()).toBe('no device secret');

    // The browser's group, as the server lists it: bound to a secret the page never showed.
    const shown = ((await mine.locator('td').first().textContent()) ?? '').trim().slice(0, 14);
    const listed = await server.api<{ clientGroupID: string; secured: boolean }[]>(
      supervisorToken,
      '/api/devices',
    );
    const group = listed.find((d) => d.clientGroupID.startsWith(shown));
    expect(group?.secured).toBe(true);
    expect(JSON.stringify(listed)).not.toMatch(/[0-9a-f]{64}/);
    // Knowing the ID is not enough to sign in as that device.
    for (const extra of [{}, { deviceSecret: 'guessed-secret-0123456789' }])
      await expect(
        server.api('', '/api/auth/login', {
          json: { username, password, clientGroupID: group?.clientGroupID, ...extra },
        }),
      ).rejects.toThrow(': 403');
    // The device itself signs in again (after a sign-out) with its secret.
    await sup.page.getByRole('button', { name: 'Sign out' }).click();
    await sup.page.waitForURL('**/login');
    await sup.page.getByLabel('Username').fill('supervisor');
    await sup.page.getByLabel('Password').fill('supervisor-demo');
    await sup.page.getByRole('button', { name: 'Sign in' }).click();
    await sup.page.waitForURL('**/stock');
    expect(sup.errors).toEqual([]);
    await sup.context.close();
  });

  it('the conflict console says when it cannot read the conflicts — never "nothing to untangle"', async () => {
    const admin = await device(browser, server.base, 'admin');
    await admin.page.waitForURL('**/conflicts');
    await synced(admin.page);
    // The server cannot be reached for the conflicts (the app itself comes from its cache).
    await admin.page.route('**/api/conflicts**', (r) => r.abort());
    await admin.page.reload();
    const alert = admin.page.getByTestId('conflicts-error');
    await expect
      .poll(() => alert.textContent(), { timeout: 15_000 })
      .toContain('cannot be reached');
    expect(await admin.page.getByText('Nothing to untangle').count()).toBe(0);
    // Back: the next sync reads them again, and the message goes.
    await admin.page.unroute('**/api/conflicts**');
    await admin.page.getByTestId('sync-badge').click();
    await expect.poll(() => alert.count(), { timeout: 15_000 }).toBe(0);
    expect(admin.errors.filter((e) => !e.includes('ERR_FAILED'))).toEqual([]);
    await admin.context.close();
  });

  it('scenario 4 on the handheld: a scan the server refuses is listed in plain words — which scan, why', async () => {
    // A session of its own: a session pushes for one device only (scenario 5 pushed with the
    // shared one).
    const token = await server.token('supervisor');
    let id = 0;
    const push = (name: string, args: Record<string, unknown>) =>
      server.api<{ results: { status: string }[] }>(token, '/sync/push', {
        json: {
          pushVersion: 1,
          clientGroupID: 'e2e-sup-4',
          profileID: 'p',
          schemaVersion: '1',
          mutations: [{ clientID: 'e2e-sup-4', id: ++id, timestamp: Date.now(), name, args }],
        },
      });
    await push('definePosition', { positionId: 'e2e-bin-x', code: 'X-09-09', kind: 'bin' });
    const op = await device(browser, server.base, 'operator');
    await op.page.waitForURL('**/scan');
    await synced(op.page);
    await op.context.setOffline(true);
    // Meanwhile the supervisor retires the (empty) bin the operator is about to scan into.
    await push('retirePosition', { positionId: 'e2e-bin-x' });
    await scan(op.page, 'X-09-09', 'NUT-M8', '3');
    await expect.poll(() => pending(op.page), { timeout: 10_000 }).toBe(1);
    await op.context.setOffline(false);
    await synced(op.page);
    const outcome = op.page.getByTestId('outcome');
    await expect.poll(() => outcome.count(), { timeout: 15_000 }).toBe(1);
    const text = await outcome.textContent();
    expect(text).toContain('Receive · 3 × NUT-M8 at X-09-09');
    expect(text).not.toContain('receiveStock');
    // Why, in plain words (not the error code).
    expect(text).toContain('refused by the server — That position is no longer in use');
    expect(text).toContain('position X-09-09 is retired and receives nothing');
    expect(text).not.toContain('POSITION_RETIRED');
    await screenshot(op.page, 'operator-refused-scan');
    // Working on another screen, the operator still hears of it: a link in the header.
    const attention = op.page.getByTestId('attention-link');
    expect(await attention.count()).toBe(0); // on Scan, the list itself is there
    await op.page.getByRole('link', { name: 'Lists', exact: true }).click();
    await op.page.waitForURL('**/lists');
    await expect.poll(() => attention.textContent()).toBe('⚠ 1 needs your attention');
    await attention.click();
    await op.page.waitForURL('**/scan#outcomes-title');
    expect(await outcome.count()).toBe(1);
    expect(op.errors).toEqual([]);
    await op.context.close();
  });
});
