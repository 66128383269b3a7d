import { afterEach, describe, expect, it } from 'vitest';
import { warehouseServer } from './harness.js';
import type { TestServer } from './harness.js';

/**
 * Every answer says it is not to be framed, sniffed or named as a referrer; the API's answers
 * (tokens, people's names) are not to be stored by a cache — on the Hono routes and on the lean
 * Node path of push and pull alike.
 */
let server: TestServer;
afterEach(async () => {
  await server.close();
});

const expectHardened = (res: Response, api: boolean, where: string) => {
  expect(res.headers.get('content-security-policy'), where).toContain("frame-ancestors 'none'");
  expect(res.headers.get('x-frame-options'), where).toBe('DENY');
  expect(res.headers.get('x-content-type-options'), where).toBe('nosniff');
  expect(res.headers.get('referrer-policy'), where).toBe('no-referrer');
  expect(res.headers.get('cache-control'), where).toBe(api ? 'no-store' : null);
};

describe('security headers', () => {
  it('on API answers, problems, the lean push and pull, and the app page', async () => {
    const w = await warehouseServer();
    server = w.server;
    const base = await server.listen();
    const auth = { authorization: `Bearer ${w.admin}`, 'content-type': 'application/json' };
    expectHardened(await fetch(`${base}/api/users`, { headers: auth }), true, 'users');
    expectHardened(await fetch(`${base}/api/auth/me`), true, 'a 401 problem');
    expectHardened(await fetch(`${base}/health`), true, 'health');
    const pull = await fetch(`${base}/sync/pull`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({
        pullVersion: 1,
        clientGroupID: 'g-headers',
        cookie: null,
        schemaVersion: '1',
      }),
    });
    expectHardened(pull, true, 'the lean pull');
    const refused = await fetch(`${base}/sync/push`, { method: 'POST', headers: auth, body: '{' });
    expect(refused.status).toBe(400);
    expectHardened(refused, true, 'a refused lean push');
    expectHardened(await fetch(`${base}/`), false, 'the app');
  });
});
