import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * `npm run demo` opens the app in a browser once the server answers (BRIEF.md: "starts the
 * whole system … and opens it in a browser"): `scripts/open-browser.sh`, with a recording
 * command as the browser and a real HTTP server that is not ready at first.
 */
const script = path.resolve(import.meta.dirname, '../../scripts/open-browser.sh');
let dir = '';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function recorder(): { command: string; opened: () => string | null } {
  dir = mkdtempSync(path.join(os.tmpdir(), 'open-browser-'));
  const out = path.join(dir, 'opened');
  const command = path.join(dir, 'browser');
  writeFileSync(command, `#!/bin/sh\nprintf '%s' "$1" > '${out}'\n`);
  chmodSync(command, 0o755);
  const d = dir;
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return { command, opened: () => (existsSync(out) ? readFileSync(out, 'utf8') : null) };
}

/** A server whose /health answers 503 `notReadyFor` times, then 200. */
async function server(notReadyFor: number): Promise<{ url: string; asked: () => number }> {
  let asked = 0;
  const s = createServer((req, res) => {
    if (req.url !== '/health') return void res.writeHead(404).end();
    asked++;
    res.writeHead(asked > notReadyFor ? 200 : 503).end('{}');
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => s.close(() => r())));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, asked: () => asked };
}

const run = (url: string, env: Record<string, string>, wait = '20') =>
  new Promise<{ code: number; stderr: string }>((resolve) => {
    const { BROWSER: _b, CI: _c, DISPLAY: _d, WAYLAND_DISPLAY: _w, ...rest } = process.env;
    execFile('bash', [script, url, wait], { env: { ...rest, ...env } }, (error, _out, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stderr }),
    );
  });

describe('npm run demo opens the app in a browser', () => {
  it('once /health answers, with the URL, in the BROWSER command', async () => {
    const b = recorder();
    const s = await server(2);
    expect(await run(s.url, { BROWSER: b.command })).toEqual({ code: 0, stderr: '' });
    expect(b.opened()).toBe(s.url);
    expect(s.asked()).toBe(3); // twice not ready, then opened once
  }, 30_000);

  it('BROWSER=none, or CI without a BROWSER: never, and asks the server nothing', async () => {
    const s = await server(0);
    expect((await run(s.url, { BROWSER: 'none' })).code).toBe(0);
    expect((await run(s.url, { CI: '1' })).code).toBe(0);
    expect(s.asked()).toBe(0);
  });

  it('a server that never answers: gives up after its time, opens nothing', async () => {
    const b = recorder();
    const s = await server(1000);
    expect((await run(s.url, { BROWSER: b.command }, '2')).code).toBe(0);
    expect(b.opened()).toBeNull();
    expect(s.asked()).toBeGreaterThan(0);
  }, 30_000);
});
