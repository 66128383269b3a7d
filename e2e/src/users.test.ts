import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from './harness.js';
import { device, launch, nextDialog, startServer } from './harness.js';

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

const login = (username: string, password: string) =>
  fetch(`${server.base}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  }).then((r) => r.status);

describe('the users screen (admin)', () => {
  it('sets a forgotten password; refuses to demote the last admin and shows the role there is; asks before deactivating', async () => {
    const admin = await device(browser, server.base, 'admin');
    await admin.page.goto(`${server.base}/users`);
    const row = admin.page.getByRole('row').filter({ hasText: 'operator2' });
    await row.waitFor();

    // An operator forgot their password: the admin sets a new one.
    await admin.page.getByRole('button', { name: 'Set a new password for operator2' }).click();
    await admin.page.getByLabel('New password for operator2').fill('omar-new-2026');
    await admin.page.getByRole('button', { name: 'Save password' }).click();
    await expect
      .poll(() => admin.page.getByTestId('users-notice').textContent())
      .toContain('Password set. Omar Operator is signed out everywhere');
    // The form went away: the focus is back on the button that opened it, not lost.
    const focused = () =>
      admin.page.evaluate(() => document.activeElement?.getAttribute('aria-label'));
    expect(await focused()).toBe('Set a new password for operator2');
    expect(await login('operator2', 'omar-new-2026')).toBe(200);
    expect(await login('operator2', 'operator2-demo')).toBe(401);

    // The only admin cannot be demoted: the server says why, the select shows the role there is.
    const role = admin.page.getByLabel('Role of admin', { exact: true });
    await role.selectOption('operator');
    // Chosen is not saved: arrowing through the list changes no role (WCAG 3.2.2).
    expect(await admin.page.getByRole('alert').count()).toBe(0);
    // Their own row: asked first (demoted, they would lose this screen at once).
    const own = nextDialog(admin.page);
    await admin.page.getByRole('button', { name: 'Save the role of admin' }).click();
    expect(await own).toContain('Make yourself Operator?');
    await expect.poll(() => admin.page.getByRole('alert').textContent()).toMatch(/admin/i);
    expect(await role.inputValue()).toBe('admin');
    // Save and Cancel went away: the focus is on the role's list again.
    expect(await focused()).toBe('Role of admin');

    // Omar signs in on a handheld with the new password.
    const handheldContext = await browser.newContext({ viewport: { width: 480, height: 900 } });
    const handheld = { context: handheldContext, page: await handheldContext.newPage() };
    await handheld.page.goto(`${server.base}/login`);
    await handheld.page.getByLabel('Username').fill('operator2');
    await handheld.page.getByLabel('Password').fill('omar-new-2026');
    await handheld.page.getByRole('button', { name: 'Sign in' }).click();
    await handheld.page.waitForURL((u) => u.pathname !== '/login');

    // Deactivating signs someone out everywhere: asked first; "no" changes nothing.
    const deactivate = row.getByRole('button', { name: 'Deactivate' });
    const asked: string[] = [];
    admin.page.once('dialog', (d) => {
      asked.push(d.message());
      void d.dismiss();
    });
    await deactivate.click();
    await expect.poll(() => asked.length).toBe(1);
    expect(asked[0]).toContain('Deactivate Omar Operator?');
    // Nothing was sent: the server still lets them in (a sign-in after the dialog closed).
    expect(await login('operator2', 'omar-new-2026')).toBe(200);
    expect(await deactivate.count()).toBe(1);
    admin.page.once('dialog', (d) => void d.accept());
    await deactivate.click();
    // Exact: "Deactivate" contains "activate", and a loose match found the old button at once,
    // so the sign-in below raced the deactivation (failed once in CI).
    await row.getByRole('button', { name: 'Activate operator2', exact: true }).waitFor();
    expect(await login('operator2', 'omar-new-2026')).toBe(401);
    // Omar's handheld, signed in before: its next sync is refused, and it says why — signing
    // in again cannot help — on its badge and on the sign-in screen, naming whose account.
    await handheld.page.reload();
    const badge = () => handheld.page.locator('.sync-message').textContent();
    await expect.poll(badge).toMatch(/^An admin has deactivated this account\./);
    await handheld.page.getByRole('link', { name: 'Sign in again' }).click();
    const banner = () => handheld.page.getByTestId('deactivated').textContent();
    await expect.poll(banner).toMatch(/^An admin has deactivated the account of Omar Operator\./);
    // Kept with the device's session: the app restarted (a handheld's screen off for the
    // night, the browser reloaded) still says so.
    await handheld.page.goto(`${server.base}/login`);
    await expect.poll(banner).toMatch(/^An admin has deactivated the account of Omar Operator\./);
    // The right password there says no more than a wrong one: a guess learns nothing.
    await handheld.page.getByLabel('Password').fill('omar-new-2026');
    await handheld.page.getByRole('button', { name: 'Sign in' }).click();
    await expect
      .poll(() => handheld.page.getByRole('alert').textContent())
      .toBe('Wrong username or password.');
    await handheld.context.close();
    expect(admin.errors).toEqual([]);
    await admin.context.close();
  });

  it('creates a user: a username the server would refuse is caught in the form; made, it says so beside the form', async () => {
    const admin = await device(browser, server.base, 'admin');
    await admin.page.goto(`${server.base}/users`);
    const form = admin.page.locator('form.card');
    const username = form.getByLabel('Username', { exact: true });
    await username.fill('jörg müller');
    await form.getByLabel('Name', { exact: true }).fill('Jörg Müller');
    await form.getByLabel('Password').fill('joerg-2026-floor');
    await form.getByRole('button', { name: 'Create user' }).click();
    // The browser holds it back (the pattern is the domain's own): nothing was sent.
    expect(await username.evaluate((el) => (el as HTMLInputElement).validity.patternMismatch)).toBe(
      true,
    );
    expect(await login('jörg müller', 'joerg-2026-floor')).toBe(401);
    await username.fill('joerg.mueller');
    await form.getByRole('button', { name: 'Create user' }).click();
    await expect
      .poll(() => admin.page.getByTestId('create-user-notice').textContent(), { timeout: 15_000 })
      .toBe('Jörg Müller can sign in now.');
    expect(await login('joerg.mueller', 'joerg-2026-floor')).toBe(200);
    await expect
      .poll(() => admin.page.getByRole('row').filter({ hasText: 'joerg.mueller' }).count())
      .toBe(1);
    expect(admin.errors).toEqual([]);
    await admin.context.close();
  });
});
