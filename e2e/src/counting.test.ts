import { readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from './harness.js';
import {
  chooseFlow,
  device,
  launch,
  nextDialog,
  pending,
  scan,
  screenshot,
  serverQuantity,
  startServer,
  synced,
} from './harness.js';

/**
 * Counting sessions (stocktakes) on the Counting screen: a supervisor plans a session from the
 * New-session form and assigns it; operators count on their handhelds — offline too — while
 * other devices keep moving stock; the supervisor reviews (races, disagreements, reasons),
 * approves, and the embedded runner applies the session as a job. Scenarios 19 and 20, and
 * counting on paper through the counting sheet.
 */
let server: Server;
let browser: Browser;
let token: string;

beforeAll(async () => {
  server = await startServer();
  browser = await launch();
  token = await server.token('supervisor');
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

interface SessionRow {
  id: string;
  code: string;
  status: string;
  progress: { percent: number };
}

/**
 * From the supervisor's board: a new blind session over `positions`, started at once; the
 * screen moves to the session. Returns its id (from the URL). Unless `offline` (the device loses
 * the network just before Create), waits until the server has the session, counting.
 */
async function newSession(
  page: Page,
  o: { code: string; positions: string; offline?: boolean },
): Promise<string> {
  await page.goto(`${server.base}/counting`);
  // The form resolves codes against the device's replica.
  await synced(page);
  await page.getByRole('button', { name: 'New counting session' }).click();
  // The form's first field has the focus; Cancel hands it back to the button that opened it.
  const code = page.getByLabel('Code', { exact: true });
  expect(await code.evaluate((el) => el === document.activeElement)).toBe(true);
  await page.getByRole('button', { name: 'Cancel', exact: true }).click();
  const open = page.getByRole('button', { name: 'New counting session' });
  expect(await open.evaluate((el) => el === document.activeElement)).toBe(true);
  await open.click();
  await code.fill(o.code);
  expect(await page.getByLabel('Mode').inputValue()).toBe('blind');
  await page.getByLabel('Position codes').fill(o.positions);
  expect(await page.getByLabel('Start counting right away').isChecked()).toBe(true);
  if (o.offline) await page.context().setOffline(true);
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await page.getByRole('heading', { name: `Count ${o.code}` }).waitFor();
  await page.waitForURL((u) => u.searchParams.has('id'));
  const id = new URL(page.url()).searchParams.get('id') ?? '';
  if (!o.offline)
    await expect
      .poll(
        async () =>
          (await server.api<SessionRow[]>(token, '/api/count-sessions?status=counting')).find(
            (r) => r.id === id,
          )?.code,
        { timeout: 15_000 },
      )
      .toBe(o.code);
  return id;
}

/** The supervisor assigns the session to these people (by name) and saves; it reaches the server. */
async function assign(page: Page, sessionId: string, names: readonly string[]): Promise<void> {
  for (const name of names) await page.getByLabel(name).check();
  await page.getByRole('button', { name: 'Save assignment' }).click();
  await expect
    .poll(
      async () =>
        (
          await server.api<{ session: { assignees: string[] } }>(
            token,
            `/api/count-sessions/${sessionId}`,
          )
        ).session.assignees.length,
      { timeout: 15_000 },
    )
    .toBe(names.length);
  expect(await page.getByTestId('count-message').count()).toBe(0);
  await synced(page);
}

/** An operator opens the session from their board once their replica has it. */
async function openOnHandheld(page: Page, code: string): Promise<void> {
  await page.goto(`${server.base}/counting`);
  await page
    .getByTestId('count-session-row')
    .filter({ hasText: code })
    .getByRole('button')
    .click({ timeout: 20_000 });
  await page.getByRole('heading', { name: `Count ${code}` }).waitFor();
  await synced(page); // counting reads the replica: what the device holds there
}

const reviewLine = (page: Page, position: string) =>
  page.getByTestId('review-line').filter({ hasText: position });

describe('counting sessions in the web app', () => {
  it('scenario 19: a blind count made offline, raced by a shipment on another device, applied as a delta; the race is shown to the supervisor', async () => {
    const P = 'A-01-02';
    const before = await serverQuantity(server, token, 'BOLT-M8', P);
    expect(before).toBe(120);
    const COUNTED = 115;
    const SHIPPED = 10;

    const sup = await device(browser, server.base, 'supervisor');
    const sessionId = await newSession(sup.page, { code: 'CNT-19', positions: P });
    await assign(sup.page, sessionId, ['Olga Operator']);
    expect(await sup.page.getByTestId('count-status').innerText()).toBe('counting');
    const planned = await server.api<{ session: { status: string; mode: string } }>(
      token,
      `/api/count-sessions/${sessionId}`,
    );
    expect(planned.session).toMatchObject({ status: 'counting', mode: 'blind' });

    const op1 = await device(browser, server.base, 'operator');
    await openOnHandheld(op1.page, 'CNT-19');
    const op2 = await device(browser, server.base, 'operator2');
    await op2.page.waitForURL('**/scan');
    await synced(op2.page);
    await chooseFlow(op2.page, 'Ship');

    // Operator 1 goes offline and counts 115 where the books say 120: nothing shows the 120.
    await op1.context.setOffline(true);
    // A position outside the session: refused, and the screen does not claim to count it.
    await scan(op1.page, 'B-01-02');
    await expect
      .poll(() => op1.page.getByTestId('scan-result').textContent())
      .toContain('Not part of this counting session');
    expect(await op1.page.locator('#counting-title').textContent()).not.toContain('B-01-02');
    await scan(op1.page, P);
    await op1.page.getByText(`Scan an item at ${P}`).waitFor();
    await scan(op1.page, 'BOLT-M8');
    await op1.page.getByText('How many BOLT-M8? (0 if none)').waitFor();
    expect(await op1.page.getByTestId('count-expected').count()).toBe(0);
    // The count of BOLT-M8 is half done: another position, or "Finish position", would drop it
    // without a word. Both are refused, naming the way on; "Cancel item" drops it, asked for.
    await scan(op1.page, 'B-01-02');
    await expect
      .poll(() => op1.page.getByTestId('scan-result').textContent())
      .toBe(
        'B-01-02 is a position, but the count of BOLT-M8 is not finished: enter it first, or tap "Cancel item".',
      );
    // The scan handed over and the field cleared before the tap. (A CI run once lost this tap:
    // offline, each retry took the badge's "No connection" line away and back, moving the
    // page under the click. The line now stays through a retry: `scheduler.test.ts`.)
    await expect.poll(() => op1.page.getByTestId('scan-input').inputValue()).toBe('');
    await op1.page.getByRole('button', { name: 'Finish position' }).click();
    await expect
      .poll(() => op1.page.getByTestId('scan-result').textContent())
      .toBe('The count of BOLT-M8 is not finished: enter it first, or tap "Cancel item".');
    expect(await pending(op1.page)).toBe(1); // the start only
    await op1.page.getByRole('button', { name: 'Cancel item' }).click();
    await expect
      .poll(() => op1.page.getByTestId('scan-result').textContent())
      .toBe('Count of BOLT-M8 cancelled');
    await op1.page.getByText(`Scan an item at ${P}`).waitFor();
    expect(await op1.page.getByRole('button', { name: 'Cancel item' }).count()).toBe(0);
    await scan(op1.page, 'BOLT-M8');
    await op1.page.getByText('How many BOLT-M8? (0 if none)').waitFor();
    await scan(op1.page, String(COUNTED));
    await expect.poll(() => op1.page.getByTestId('scan-result').textContent()).toBe('Count saved');
    // Scanned again, the item asks the whole count, saying what this operator counted before
    // (their own number; a count replaces their earlier one). Cancelled, nothing is queued.
    await scan(op1.page, 'BOLT-M8');
    await expect
      .poll(() => op1.page.getByTestId('count-before').textContent())
      .toBe(`You counted ${COUNTED} here before: enter the whole count, not what is added.`);
    await op1.page.getByRole('button', { name: 'Cancel item' }).click();
    await op1.page.getByText(`Scan an item at ${P}`).waitFor();
    expect(await op1.page.getByTestId('count-before').count()).toBe(0);
    // "Position is empty" would record 0 over the count: one tap only asks.
    const emptyButton = op1.page.getByTestId('count-empty');
    await emptyButton.click();
    expect(await emptyButton.textContent()).toBe('Nothing here? Tap again');
    expect(await pending(op1.page)).toBe(2); // start, count
    await op1.page.getByRole('button', { name: 'Finish position' }).click();
    await expect
      .poll(() => op1.page.getByTestId('scan-result').textContent())
      .toBe('Position finished');
    const mine = op1.page.getByTestId('my-count');
    await expect.poll(() => mine.allInnerTexts()).toEqual([expect.stringContaining('BOLT-M8')]);
    expect(await mine.innerText()).toContain(String(COUNTED));
    // Blind: no expected column, no 120 anywhere on the operator's screen.
    expect(await op1.page.getByRole('columnheader', { name: 'Expected' }).count()).toBe(0);
    expect(await op1.page.locator('main').innerText()).not.toContain(String(before));
    expect(await pending(op1.page)).toBe(3); // start, count, finish
    await screenshot(op1.page, 'count-operator-offline');

    // Meanwhile operator 2 ships 10 from the same bin, online.
    await scan(op2.page, P, 'BOLT-M8', String(SHIPPED));
    await expect.poll(() => op2.page.getByTestId('scan-result').textContent()).toContain('BOLT-M8');
    await synced(op2.page);
    expect(await serverQuantity(server, token, 'BOLT-M8', P)).toBe(before - SHIPPED);

    // Operator 1 comes back and syncs the count.
    await op1.context.setOffline(false);
    await synced(op1.page);

    // The supervisor closes the session; the review shows the line raced.
    await expect
      .poll(() => sup.page.getByTestId('review-line').count(), { timeout: 15_000 })
      .toBe(1);
    await pulled(sup.page);
    await closeForReview(sup.page);
    await expect
      .poll(() => sup.page.getByTestId('count-status').innerText(), { timeout: 15_000 })
      .toBe('in review');
    await synced(sup.page);
    const line = reviewLine(sup.page, P);
    await line.getByTestId('raced').waitFor({ timeout: 15_000 });
    const text = await line.innerText();
    expect(text).toContain('stock moved since the count');
    expect(text).toContain(`${COUNTED} · Olga Operator`);
    // Expected (what the device held), stock now, and applying each way.
    const cells = await line.locator('td').allInnerTexts();
    expect(cells.slice(4, 7)).toEqual([
      String(before),
      String(before - SHIPPED),
      `keep difference → ${before - SHIPPED - (before - COUNTED)}, keep count → ${COUNTED}`,
    ]);
    await screenshot(sup.page, 'count-review-raced');

    // Approve with a reason for the variance — from a device that lost the network: the
    // approval waits in its queue, and applying (a server job) cannot start before it is sent.
    await line.getByLabel('Reason').selectOption('lost');
    await sup.context.setOffline(true);
    await sup.page.getByTestId('approve').click();
    await expect
      .poll(() => sup.page.getByTestId('count-status').innerText(), { timeout: 15_000 })
      .toBe('applying');
    const applyNow = sup.page.getByRole('button', { name: 'Apply now' });
    expect(await applyNow.isDisabled()).toBe(true);
    await sup.page.getByTestId('apply-waiting').waitFor();
    const waiting = await server.api<{ session: { status: string } }>(
      token,
      `/api/count-sessions/${sessionId}`,
    );
    expect(waiting.session.status).toBe('review');
    await sup.context.setOffline(false);
    await synced(sup.page);
    await applyNow.click({ timeout: 15_000 }); // enabled once the server has the approval
    await expect
      .poll(() => sup.page.getByTestId('count-status').innerText(), { timeout: 30_000 })
      .toBe('applied');
    await expect
      .poll(() => sup.page.getByTestId('apply-progress').innerText(), { timeout: 15_000 })
      .toMatch(/^100 % · 1 applied, 0 failed, 0 skipped, 0 left of 1/);
    await screenshot(sup.page, 'count-applied');

    // Applied as a delta to stock as it was then: 120 − 10 − (120 − 115) = 105.
    expect(await serverQuantity(server, token, 'BOLT-M8', P)).toBe(
      before - SHIPPED - (before - COUNTED),
    );
    const rows = await server.api<SessionRow[]>(token, '/api/count-sessions?status=applied');
    expect(rows.find((r) => r.id === sessionId)).toMatchObject({
      status: 'applied',
      progress: { percent: 100 },
    });
    // The race stays visible to the supervisor: the line on the screen, a conflict to decide.
    await line.getByTestId('raced').waitFor();
    await expect
      .poll(() => line.innerText(), { timeout: 15_000 })
      .toContain(`applied ${COUNTED - before}`);
    expect(await line.getByRole('button', { name: 'Keep the count' }).count()).toBe(1);
    const conflicts = await server.api<
      { key: string; kind: string; detail: Record<string, unknown> }[]
    >(token, '/api/conflicts?status=open');
    expect(conflicts.find((c) => c.key === `count-raced-movement/${sessionId}/1`)).toMatchObject({
      kind: 'count-raced-movement',
      detail: {
        expected: before,
        counted: COUNTED,
        stockBefore: before - SHIPPED,
        applied: 'keep-delta',
        keepDelta: before - SHIPPED - (before - COUNTED),
        keepCounted: COUNTED,
      },
    });
    for (const d of [sup, op1, op2]) expect(d.errors).toEqual([]);
    for (const d of [sup, op1, op2]) await d.context.close();
  });

  it('scenario 20: two operators count the same pair differently; approval is refused until the supervisor takes one count', async () => {
    const P = 'A-01-03';
    const before = await serverQuantity(server, token, 'NUT-M8', P);
    const sup = await device(browser, server.base, 'supervisor');
    const sessionId = await newSession(sup.page, { code: 'CNT-20', positions: P });
    await assign(sup.page, sessionId, ['Olga Operator', 'Omar Operator']);

    const op1 = await device(browser, server.base, 'operator');
    const op2 = await device(browser, server.base, 'operator2');
    const count = async (op: typeof op1, counted: number, answer: string) => {
      await scan(op.page, P, 'NUT-M8', String(counted));
      await expect.poll(() => op.page.getByTestId('scan-result').textContent()).toBe(answer);
      await op.page.getByRole('button', { name: 'Finish position' }).click();
      await expect
        .poll(() => op.page.getByTestId('scan-result').textContent())
        .toBe('Position finished');
      await synced(op.page);
    };
    await openOnHandheld(op1.page, 'CNT-20');
    await count(op1, before - 2, 'Count saved');
    // Operator 2's device has operator 1's count (the position shows counted): it says the
    // counts differ — never what the other count was, nor whose it was.
    await openOnHandheld(op2.page, 'CNT-20');
    await expect
      .poll(() => op2.page.getByTestId('count-position').innerText(), { timeout: 15_000 })
      .toBe(`${P} ✓`);
    await count(
      op2,
      before - 1,
      'Count saved. It differs from another count of the same goods: a supervisor will decide.',
    );
    expect(await op2.page.getByTestId('my-count').allInnerTexts()).toEqual([
      expect.stringContaining(String(before - 1)),
    ]);
    expect(await op2.page.locator('main').innerText()).not.toContain(String(before - 2));

    // The supervisor's device learns of the disagreement live, and closes the session.
    await expect
      .poll(() => sup.page.locator('main').innerText(), { timeout: 15_000 })
      .toMatch(/\b1 disagreement\b/);
    // The disagreement is the server's word; the close is decided on the device's replica,
    // which may have pulled operator 2's count before their finish (two pushes): a sync first,
    // or the device would rightly say a count is still open.
    await pulled(sup.page);
    await closeForReview(sup.page);
    await expect
      .poll(() => sup.page.getByTestId('count-status').innerText(), { timeout: 15_000 })
      .toBe('in review');
    await synced(sup.page);
    const line = reviewLine(sup.page, P);
    await expect.poll(() => line.innerText(), { timeout: 15_000 }).toContain('counts disagree');
    const counts = line.locator('td').nth(3).locator('div');
    expect(await counts.allInnerTexts()).toEqual([
      expect.stringContaining(`${before - 2} · Olga Operator`),
      expect.stringContaining(`${before - 1} · Omar Operator`),
    ]);
    await sup.page.getByTestId('unresolved').waitFor();

    // Approving now is refused, in plain words; nothing is queued, the session stays in review.
    await sup.page.getByTestId('approve').click();
    await expect
      .poll(() => sup.page.getByTestId('count-message').innerText())
      .toContain('Counts still disagree or wait for a recount');
    expect(await pending(sup.page)).toBe(0);
    expect(await sup.page.getByTestId('count-status').innerText()).toBe('in review');
    await screenshot(sup.page, 'count-review-disagreement');

    // The supervisor takes Olga's count; the line is settled and approval goes through.
    await counts
      .filter({ hasText: 'Olga Operator' })
      .getByRole('button', { name: 'Take this count' })
      .click();
    await expect
      .poll(() => line.locator('td').nth(7).innerText(), { timeout: 15_000 })
      .toBe('counted');
    expect(await line.getByRole('button', { name: 'Take this count' }).count()).toBe(0);
    await expect.poll(() => sup.page.getByTestId('unresolved').count()).toBe(0);
    await sup.page.getByLabel('Reason for every other variance').selectOption('unexplained');
    await sup.page.getByTestId('approve').click();
    await expect
      .poll(() => sup.page.getByTestId('count-status').innerText(), { timeout: 15_000 })
      .toBe('applying');
    expect(await sup.page.getByTestId('count-message').count()).toBe(0);
    await synced(sup.page);
    const approved = await server.api<{ session: { status: string; reason: string } }>(
      token,
      `/api/count-sessions/${sessionId}`,
    );
    expect(approved.session).toMatchObject({ status: 'applying', reason: 'unexplained' });
    // The disagreement's conflict was settled by the accepted count.
    type ConflictRow = { kind: string; key: string; resolution: { action: string } | null };
    const ofSession = async (status: string) =>
      (await server.api<ConflictRow[]>(token, `/api/conflicts?status=${status}`)).filter((c) =>
        c.key.includes(sessionId),
      );
    expect(await ofSession('open')).toEqual([]);
    expect(await ofSession('resolved')).toEqual([
      expect.objectContaining({
        kind: 'count-disagreement',
        resolution: expect.objectContaining({ action: 'settled' }),
      }),
    ]);
    // The admin's console names the two operators, not their user ids.
    const admin = await device(browser, server.base, 'admin');
    await admin.page.waitForURL('**/conflicts');
    await admin.page.getByRole('button', { name: 'Resolved', exact: true }).click();
    const listed = admin.page.getByTestId('conflict-list');
    await expect.poll(() => listed.innerText(), { timeout: 15_000 }).toContain('Olga Operator');
    expect(await listed.innerText()).toContain('Omar Operator');
    expect(await listed.innerText()).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-/);
    for (const d of [sup, op1, op2, admin]) expect(d.errors).toEqual([]);
    for (const d of [sup, op1, op2, admin]) await d.context.close();
  });

  it('a serial scanned by mistake is taken out of the set before it is recorded, and out of a continued set', async () => {
    const P = 'B-02-02'; // the demo's drills DR-1001…DR-1003
    const sup = await device(browser, server.base, 'supervisor');
    const sessionId = await newSession(sup.page, { code: 'CNT-SN', positions: P });
    await assign(sup.page, sessionId, ['Olga Operator']);
    const op = await device(browser, server.base, 'operator');
    await openOnHandheld(op.page, 'CNT-SN');
    const chips = op.page.getByTestId('count-serials').locator('li span');
    // The label of the drill on the next shelf is scanned among the three here.
    await scan(op.page, P, 'DRILL-18V', 'DR-1001', 'DR-2001', 'DR-1002', 'DR-1003');
    await expect
      .poll(() => chips.allInnerTexts())
      .toEqual(['DR-1001', 'DR-2001', 'DR-1002', 'DR-1003']);
    await op.page.getByRole('button', { name: 'Take DR-2001 out of the set' }).click();
    await expect.poll(() => chips.allInnerTexts()).toEqual(['DR-1001', 'DR-1002', 'DR-1003']);
    expect(await op.page.getByTestId('scan-result').innerText()).toBe(
      'DR-2001 taken out of the set',
    );
    // The scan field has the focus back: the next scan goes on at once.
    await expect
      .poll(() => op.page.getByTestId('scan-input').evaluate((el) => el === document.activeElement))
      .toBe(true);
    await scan(op.page, '');
    await expect.poll(() => op.page.getByTestId('scan-result').textContent()).toBe('Count saved');
    await expect
      .poll(() => op.page.getByTestId('my-count').allInnerTexts())
      .toEqual([expect.stringContaining('DR-1001, DR-1002, DR-1003')]);

    // The item again on this visit: the set goes on from the three. One of those is taken out
    // (it left with a fitter a moment ago): two are continued, and the set recorded is two.
    await scan(op.page, 'DRILL-18V');
    await expect
      .poll(() => op.page.getByTestId('count-continuing').innerText())
      .toContain('starts with 3 serials of it');
    await op.page.getByRole('button', { name: 'Take DR-1003 out of the set' }).click();
    await expect
      .poll(() => op.page.getByTestId('count-continuing').innerText())
      .toContain('starts with 2 serials of it');
    await scan(op.page, '');
    await expect.poll(() => op.page.getByTestId('scan-result').textContent()).toBe('Count saved');
    await op.page.getByRole('button', { name: 'Finish position' }).click();
    await expect
      .poll(() => op.page.getByTestId('scan-result').textContent())
      .toBe('Position finished');
    await synced(op.page);
    const opToken = await server.token('operator');
    const mine = await server.api<{ lines: { mine: { serials?: string[] } | null }[] }>(
      opToken,
      `/api/count-sessions/${sessionId}`,
    );
    expect(mine.lines.map((l) => l.mine?.serials)).toEqual([['DR-1001', 'DR-1002']]);
    for (const d of [sup, op]) expect(d.errors).toEqual([]);
    for (const d of [sup, op]) await d.context.close();
  });

  it('finished sessions that cannot be read are said on the screen, not shown as none', async () => {
    const sup = await device(browser, server.base, 'supervisor');
    await sup.page.waitForURL('**/stock');
    await synced(sup.page);
    await sup.page.route('**/api/count-sessions?status=applied,cancelled', (r) =>
      r.fulfill({
        status: 500,
        contentType: 'application/problem+json',
        body: JSON.stringify({
          type: 'about:blank',
          title: 'Internal Server Error',
          status: 500,
          detail: 'an unexpected error occurred',
          code: 'INTERNAL',
        }),
      }),
    );
    await sup.page.goto(`${server.base}/counting`);
    await expect
      .poll(() => sup.page.getByTestId('count-history-error').textContent())
      .toContain('Finished sessions could not be read: The server failed on this');
    expect(sup.errors).toEqual([]);
    await sup.context.close();
  });

  it('the counting sheet: exported as CSV (blind: no expected), filled in on paper, imported into the review', async () => {
    const P = 'A-01-01';
    const before = await serverQuantity(server, token, 'BOLT-M8', P);
    const sup = await device(browser, server.base, 'supervisor');
    // Planned on a device that just lost the network: the sheet is the server's, so it cannot
    // be had (nor imported) until the session reaches the server.
    const sessionId = await newSession(sup.page, {
      code: 'CNT-SHEET',
      positions: P,
      offline: true,
    });
    const csvButton = sup.page.getByRole('button', { name: 'Count sheet (CSV)' });
    expect(await csvButton.isDisabled()).toBe(true);
    expect(await sup.page.getByLabel('Import a filled count sheet').isDisabled()).toBe(true);
    await sup.context.setOffline(false);
    await synced(sup.page);

    const [download] = await Promise.all([
      sup.page.waitForEvent('download'),
      csvButton.click({ timeout: 15_000 }), // enabled once the server has the session
    ]);
    expect(download.suggestedFilename()).toBe('count-CNT-SHEET.csv');
    const csv = await readFile(await download.path(), 'utf8');
    const rows = csv
      .split(/\r?\n/)
      .filter((r) => r !== '')
      .map((r) => r.split(','));
    expect(rows[0]).toEqual([
      'session',
      'position',
      'item',
      'description',
      'lot',
      'serial',
      'expected',
      'counted',
    ]);
    expect(rows.slice(1)).toEqual([['CNT-SHEET', P, 'BOLT-M8', 'Hex bolt M8×40', '', '', '', '']]);
    expect(csv).not.toContain(String(before)); // blind: the sheet does not give the books away

    const [xlsx] = await Promise.all([
      sup.page.waitForEvent('download'),
      sup.page.getByRole('button', { name: 'Count sheet (XLSX)' }).click(),
    ]);
    expect(xlsx.suggestedFilename()).toBe('count-CNT-SHEET.xlsx');
    expect((await readFile(await xlsx.path())).subarray(0, 2).toString('latin1')).toBe('PK');

    // Counted on paper: 3 fewer than the books.
    const counted = before - 3;
    const filled = [rows[0], [...rows[1]!.slice(0, 7), String(counted)]]
      .map((r) => r!.join(','))
      .join('\r\n');
    await sup.page.getByLabel('Import a filled count sheet').setInputFiles({
      name: 'count-CNT-SHEET.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(filled),
    });
    await expect
      .poll(() => sup.page.getByTestId('count-message').innerText(), { timeout: 15_000 })
      .toBe('1 count imported');
    expect(await sup.page.getByTestId('import-errors').count()).toBe(0);
    await synced(sup.page);
    const line = reviewLine(sup.page, P);
    await expect
      .poll(() => line.innerText(), { timeout: 15_000 })
      .toContain(`${counted} · Sam Supervisor`);
    const cells = await line.locator('td').allInnerTexts();
    // The paper count's expected is the stock at import; nothing moved since.
    expect(cells.slice(4, 7)).toEqual([String(before), String(before), String(counted)]);
    await screenshot(sup.page, 'count-sheet-imported');
    const session = await server.api<{ session: { lines: number; variances: number } }>(
      token,
      `/api/count-sessions/${sessionId}`,
    );
    expect(session.session).toMatchObject({ lines: 1, variances: 1 });
    expect(sup.errors).toEqual([]);
    await sup.context.close();
  });
});

/** A sync asked for and done: the device's replica has what the server had when it was asked. */
async function pulled(page: Page): Promise<void> {
  await page.getByTestId('sync-badge').click();
  await synced(page);
}

/** Close for review: asked first (it cannot be undone), then accepted. */
async function closeForReview(page: Page): Promise<void> {
  const asked = nextDialog(page);
  await page.getByRole('button', { name: 'Close for review' }).click();
  expect(await asked).toMatch(/^Close CNT-\d+ for review\? .*cannot be reopened\.$/);
  // The button went with the state it was for: the focus is on the session's title, not lost
  // to the top of the page (a refusal, said in the message, would fail here by its words).
  await expect
    .poll(async () => [
      await page.evaluate(() => document.activeElement?.id),
      await page.getByTestId('count-message').allInnerTexts(),
    ])
    .toEqual(['sup-title', []]);
}
