import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { spawnServer } from '../../scripts/server-process.js';

/**
 * The real thing: the built sync server (`sync-server/dist/main.js`) as a child process on a
 * temp SQLite file, serving the built client (`client/build`), with demo data; and Debian's
 * Chromium driven by playwright-core. Several browser contexts are several devices.
 */
export const root = path.resolve(import.meta.dirname, '../..');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
export const ARTIFACTS = path.join(root, 'e2e/artifacts');

/** Demo mode publishes no admin password (a random one is printed): the tests set theirs. */
export const ADMIN_PASSWORD = 'admin-e2e-password';

export const DEMO = {
  operator: ['operator', 'operator-demo'],
  operator2: ['operator2', 'operator2-demo'],
  supervisor: ['supervisor', 'supervisor-demo'],
  admin: ['admin', ADMIN_PASSWORD],
} as const;

export interface Server {
  readonly base: string;
  readonly dir: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
  /** A bearer token for API checks (the server's own view of things). */
  token(who: keyof typeof DEMO): Promise<string>;
  api<T>(token: string, path: string, init?: { method?: string; json?: unknown }): Promise<T>;
}

/** `command` wraps the server's node invocation (the benchmarks pin it with `taskset`). */
export async function startServer(
  env: Record<string, string> = {},
  o: { command?: readonly string[] } = {},
): Promise<Server> {
  const client = path.join(root, 'client/build');
  if (!existsSync(path.join(client, 'index.html')))
    throw new Error('build first: the e2e tests run the built server and client (npm test does)');
  const { base, dir, child, stop } = await spawnServer({
    env: { DEMO: '1', ADMIN_PASSWORD, CLIENT_DIR: client, ...env },
    ...(o.command ? { command: o.command } : {}),
  });
  const api = async <T>(
    token: string,
    p: string,
    init: { method?: string; json?: unknown } = {},
  ): Promise<T> => {
    const res = await fetch(base + p, {
      method: init.method ?? (init.json === undefined ? 'GET' : 'POST'),
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}),
    });
    if (!res.ok) throw new Error(`${p}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  return {
    base,
    dir,
    child,
    api,
    async token(who) {
      const [username, password] = DEMO[who];
      return (await api<{ token: string }>('', '/api/auth/login', { json: { username, password } }))
        .token;
    },
    stop,
  };
}

/** Debian's Chromium with the harness's flags, plus `extra` (e.g. a fake camera's). */
export function launch(extra: readonly string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`,
    );
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...extra] });
}

/**
 * Errors in the page fail the test that caused them, with their message — and so does anything
 * the page's Content-Security-Policy refused (a script of the app's own that the policy does not
 * let run would be a broken screen), as `reportPolicyRefusals` has the page say it.
 */
export function watch(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) =>
    errors.push(
      `${e.name}: ${e.message}${e.stack ? `\n${e.stack.split('\n').slice(0, 4).join('\n')}` : ''}`,
    ),
  );
  page.on('console', (m) => {
    if (m.type() === 'error' && m.text().startsWith(POLICY_REFUSED)) errors.push(m.text());
  });
  return errors;
}

const POLICY_REFUSED = 'Content-Security-Policy refused';
/**
 * Has every page of `context` say on its console what its Content-Security-Policy refused (an
 * `eval` the browser refuses inside a caught `try` prints nothing by itself), for `watch`.
 * Before the context's first page opens.
 */
export async function reportPolicyRefusals(context: BrowserContext): Promise<void> {
  await context.addInitScript(
    ([prefix]) =>
      document.addEventListener('securitypolicyviolation', (e) =>
        console.error(
          `${prefix}: ${e.effectiveDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`,
        ),
      ),
    [POLICY_REFUSED] as const,
  );
}

export async function signIn(page: Page, base: string, who: keyof typeof DEMO): Promise<void> {
  const [username, password] = DEMO[who];
  await page.goto(`${base}/login`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => u.pathname !== '/login');
}

/** A device: its own browser context (own IndexedDB, own client group), signed in. */
export async function device(
  browser: Browser,
  base: string,
  who: keyof typeof DEMO,
): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 480, height: 900 } });
  await reportPolicyRefusals(context);
  const page = await context.newPage();
  const errors = watch(page);
  await signIn(page, base, who);
  return { context, page, errors };
}

/** Types a scan into the scan field and presses Enter, as a keyboard-wedge scanner does. */
export async function scan(page: Page, ...codes: string[]): Promise<void> {
  const field = page.getByTestId('scan-input');
  for (const code of codes) {
    await field.fill(code);
    await field.press('Enter');
  }
}

export async function chooseFlow(page: Page, name: string): Promise<void> {
  await page.getByRole('button', { name, exact: true }).click();
}

/** Waits until the device has sent everything and is online. */
export async function synced(page: Page, timeout = 30_000): Promise<void> {
  const badge = page.getByTestId('sync-badge');
  await page.waitForFunction(
    () => {
      const b = document.querySelector('[data-testid="sync-badge"]');
      return b?.getAttribute('data-pending') === '0' && b.getAttribute('data-status') === 'idle';
    },
    undefined,
    { timeout },
  );
  await badge.waitFor();
}

/**
 * Answers the next dialog the page opens (a confirm or a prompt: accepted, or dismissed with
 * `accept: false`), resolving with what it asked. Call it before the click that opens it.
 */
export function nextDialog(page: Page, accept = true): Promise<string> {
  return new Promise((resolve) =>
    page.once('dialog', (d) => {
      resolve(d.message());
      void (accept ? d.accept() : d.dismiss());
    }),
  );
}

export async function pending(page: Page): Promise<number> {
  return Number(await page.getByTestId('sync-badge').getAttribute('data-pending'));
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Stock of an item (by SKU) at a position (by code), from the server. */
export async function serverQuantity(
  server: Server,
  token: string,
  sku: string,
  code: string,
): Promise<number> {
  const items = await server.api<{ id: string; sku: string }[]>(token, '/api/items');
  const positions = await server.api<{ id: string; code: string }[]>(token, '/api/positions');
  const item = items.find((i) => i.sku === sku);
  const pos = positions.find((p) => p.code === code);
  if (!item || !pos) throw new Error(`unknown ${sku} or ${code}`);
  const lines = await server.api<{ quantity: number }[]>(
    token,
    `/api/stock?itemId=${encodeURIComponent(item.id)}&positionId=${encodeURIComponent(pos.id)}`,
  );
  return lines.reduce((s, l) => s + l.quantity, 0);
}
