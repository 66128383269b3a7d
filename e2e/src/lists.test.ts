import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from './harness.js';
import {
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
 * Scenario 18 end to end: the ERP drops a receipt list in the import folder; two operators
 * confirm its lines offline on their own handhelds — one line split across two positions (one
 * of them not the suggested one) — and come back online; the supervisor's board shows the
 * list completed, live.
 */
let server: Server;
let browser: Browser;
let drop: string;

beforeAll(async () => {
  const dir = path.join(process.env['TMPDIR'] ?? '/tmp', `floorsync-e2e-drop-${process.pid}`);
  drop = path.join(dir, 'drop');
  mkdirSync(drop, { recursive: true });
  server = await startServer({ ERP_IMPORT_DIR: drop });
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

interface ListView {
  id: string;
  code: string;
  status: string;
  lines: {
    lineNo: number;
    confirmed: number;
    status: string;
    confirmations: { positionId: string; deviation: boolean }[];
  }[];
}

describe('movement lists in the web app', () => {
  it('scenario 18: an ERP receipt list confirmed offline line by line by two operators; the supervisor sees it completed', async () => {
    const token = await server.token('supervisor');
    const boltBefore = await serverQuantity(server, token, 'BOLT-M8', 'A-01-03');
    // The ERP writes under another name and renames: the drop never reads half a file.
    const csv = [
      'list;line;item;quantity;partner;position',
      'PO-9001;1;BOLT-M8;10;ACME Fasteners;A-01-02',
      'PO-9001;2;NUT-M8;4;;A-01-04',
    ].join('\n');
    writeFileSync(path.join(drop, 'po-9001.tmp'), csv);
    renameSync(path.join(drop, 'po-9001.tmp'), path.join(drop, 'po-9001.csv'));
    let listId = '';
    await expect
      .poll(
        async () => {
          const found = await server.api<{ id: string }[]>(token, '/api/lists?code=PO-9001');
          listId = found[0]?.id ?? '';
          return found.length;
        },
        { timeout: 20_000, interval: 250 },
      )
      .toBe(1);

    const sup = await device(browser, server.base, 'supervisor');
    await sup.page.goto(`${server.base}/lists`);
    const row = sup.page.getByTestId('list-row').filter({ hasText: 'PO-9001' });
    await row.waitFor();
    expect(await row.innerText()).toContain('Open');

    const op1 = await device(browser, server.base, 'operator');
    const op2 = await device(browser, server.base, 'operator2');
    for (const op of [op1, op2]) {
      await op.page.goto(`${server.base}/lists`);
      await op.page
        .getByTestId('list-row')
        .filter({ hasText: 'PO-9001' })
        .getByRole('button')
        .click();
      await op.page.getByTestId('list-line').first().waitFor();
      await op.context.setOffline(true);
    }

    // Operator 1, offline: line 1 (10 bolts, suggested A-01-02): 6 there, the rest to A-01-03.
    await op1.page.getByText('Line 1: BOLT-M8').waitFor();
    // The line's item is scanned before the quantity (the right one taken): a quantity or an
    // Enter before it is not taken.
    await scan(op1.page, 'A-01-02', '6');
    await expect
      .poll(() => op1.page.getByTestId('scan-result').textContent())
      .toContain('Scan the item first (BOLT-M8)');
    await scan(op1.page, '', 'BOLT-M8', '6');
    await op1.page.getByTestId('line-remaining').getByText('4 of 10').waitFor();
    // The rest: the item scanned (it counts 1), then "All 4".
    await scan(op1.page, 'A-01-03', 'BOLT-M8');
    expect(await op1.page.locator('label[for="scan-input"]').textContent()).toBe(
      'Quantity? (Enter = 1)',
    );
    await op1.page.getByRole('button', { name: 'All 4', exact: true }).click();
    // Operator 2, offline at the same time: line 2 (4 nuts).
    await op2.page.getByRole('button', { name: '2', exact: true }).click();
    await op2.page.getByText('Line 2: NUT-M8').waitFor();
    await scan(op2.page, 'A-01-04', 'NUT-M8', '4');
    await expect.poll(() => pending(op1.page)).toBe(2);
    await expect.poll(() => pending(op2.page)).toBe(1);
    // On each handheld the list shows its own scans at once, offline.
    await expect
      .poll(() => op1.page.getByTestId('list-line').first().innerText())
      .toContain('Done');
    await screenshot(op1.page, 'list-offline');
    // Nothing reached the server yet.
    expect((await server.api<ListView>(token, `/api/lists/${listId}`)).status).toBe('open');

    for (const op of [op1, op2]) {
      await op.context.setOffline(false);
      await synced(op.page);
    }
    const list = await server.api<ListView>(token, `/api/lists/${listId}`);
    expect(list.status).toBe('completed');
    expect(list.lines.map((l) => [l.lineNo, l.confirmed, l.status])).toEqual([
      [1, 10, 'done'],
      [2, 4, 'done'],
    ]);
    expect(list.lines[0]?.confirmations.map((c) => c.deviation)).toEqual([false, true]);
    expect(await serverQuantity(server, token, 'BOLT-M8', 'A-01-03')).toBe(boltBefore + 4);

    // The supervisor's board followed live (pokes → pulls), without a reload.
    await expect.poll(() => row.innerText(), { timeout: 15_000 }).toContain('Completed');
    expect(await row.innerText()).toContain('100 %');
    await screenshot(sup.page, 'lists-board');
    for (const d of [sup, op1, op2]) expect(d.errors).toEqual([]);
  });

  it('a supervisor types in a new list: a bad row is named, the fixed list is created and shown', async () => {
    const sup = await device(browser, server.base, 'supervisor');
    await sup.page.goto(`${server.base}/lists`);
    await synced(sup.page); // a new list is checked against the replica: its first pull done
    await sup.page.getByRole('button', { name: 'New list' }).click();
    await sup.page.getByLabel('Document number').fill('T-77');
    await sup.page.getByLabel('Lines').fill('BOLT-M8; 5; A-01-01\nNO-SUCH; 2; A-01-02');
    await sup.page.getByRole('button', { name: 'Create list' }).click();
    await expect
      .poll(() => sup.page.getByTestId('new-list-errors').innerText())
      .toContain('Row 2: Unknown item "NO-SUCH" (neither a SKU nor a barcode)');
    // The same problem in the supervisor's language: the domain gives a code and its values.
    await sup.page.getByLabel('Language').selectOption('de');
    await sup.page.getByRole('button', { name: 'Liste anlegen' }).click();
    await expect
      .poll(() => sup.page.getByTestId('new-list-errors').innerText())
      .toContain('Zeile 2: Unbekannter Artikel „NO-SUCH“ (weder Artikelnummer noch Barcode)');
    await sup.page.getByLabel('Sprache').selectOption('en');
    await sup.page.getByLabel('Lines').fill('BOLT-M8; 5; A-01-01\nNUT-M8; 2; A-01-02');
    await sup.page.getByRole('button', { name: 'Create list' }).click();
    await sup.page.getByRole('heading', { name: 'Receipt T-77' }).waitFor();
    expect(await sup.page.getByTestId('list-line').count()).toBe(2);
    await synced(sup.page);
    const token = await server.token('supervisor');
    const lists = await server.api<{ code: string; lineCount: number }[]>(
      token,
      '/api/lists?code=T-77',
    );
    expect(lists.map((l) => [l.code, l.lineCount])).toEqual([['T-77', 2]]);

    // Given to an operator by name; the board says to whom.
    const omar = (await server.api<{ id: string; name: string }[]>(token, '/api/people')).find(
      (p) => p.name === 'Omar Operator',
    );
    await sup.page.getByLabel('Assigned to').selectOption({ label: 'Omar Operator' });
    await sup.page.getByRole('button', { name: 'Assign', exact: true }).click();
    // Queued a moment after the change: the server is polled, not the badge.
    const listId = (await server.api<{ id: string }[]>(token, '/api/lists?code=T-77'))[0]?.id ?? '';
    await expect
      .poll(
        async () =>
          (await server.api<{ assignee: string | null }>(token, `/api/lists/${listId}`)).assignee,
        { timeout: 15_000 },
      )
      .toBe(omar?.id);
    await sup.page.getByRole('link', { name: /All lists/ }).click();
    await expect
      .poll(() => sup.page.getByTestId('list-row').filter({ hasText: 'T-77' }).innerText())
      .toContain('→ Omar Operator');

    // Closing cancels the open lines: asked first, with how many; "no" changes nothing.
    await sup.page.getByTestId('list-row').filter({ hasText: 'T-77' }).getByRole('button').click();
    const asked: string[] = [];
    sup.page.once('dialog', (d) => {
      asked.push(d.message());
      void d.dismiss();
    });
    await sup.page.getByRole('button', { name: 'Close list' }).click();
    await expect
      .poll(() => asked)
      .toEqual(['Close T-77? 2 lines not done are cancelled; this cannot be undone.']);
    // Nothing was queued: the device has nothing to send, and the server's list is open.
    await expect.poll(() => pending(sup.page)).toBe(0);
    await synced(sup.page);
    expect((await server.api<{ status: string }>(token, `/api/lists/${listId}`)).status).toBe(
      'open',
    );
    expect(await sup.page.getByTestId('list-status').innerText()).toBe('Open');
    sup.page.once('dialog', (d) => void d.accept());
    await sup.page.getByRole('button', { name: 'Close list' }).click();
    await expect.poll(() => sup.page.getByTestId('list-status').innerText()).toBe('Closed');
    expect(await sup.page.getByTestId('scan-result').innerText()).toBe('List T-77 is closed.');
    expect(sup.errors).toEqual([]);
  });
});
