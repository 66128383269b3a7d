import { MAX_MUTATIONS_PER_PUSH, MAX_PUSH_BYTES } from '@floorsync/domain';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, startServer } from './harness.js';
import type { TestServer } from './harness.js';

/**
 * A listening server answers `POST /sync/push` and `POST /sync/pull` on the lean Node path
 * (`serveNode` → `handle.lean`); `app.request()` goes through the Hono routes. Both must answer
 * alike: status, the headers a client reads, the body, and what `/metrics` counts.
 */
let server: TestServer;
afterEach(async () => {
  await server.close();
});

interface Answer {
  status: number;
  contentType: string | null;
  wwwAuthenticate: string | null;
  body: unknown;
}
const answer = async (res: Response): Promise<Answer> => ({
  status: res.status,
  contentType: res.headers.get('content-type'),
  wwwAuthenticate: res.headers.get('www-authenticate'),
  body: JSON.parse(await res.text()) as unknown,
});

/** POSTs `body` over a real socket (the lean path) or through `app.request()` (Hono). */
const post = (base: string, path: string, viaSocket: boolean, body: string, token?: string) => {
  const init = {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
  };
  return viaSocket
    ? fetch(`${base}${path}`, init)
    : Promise.resolve(server.handle.app.request(path, init));
};

const mutation = (clientID: string, id: number, quantity: unknown = 1) => ({
  clientID,
  id,
  name: 'receiveStock',
  args: { itemId: 'A', positionId: 'P', quantity },
  timestamp: Date.parse('2026-11-25T21:00:00.000Z'),
});

describe('the lean paths answer as the Hono routes do', () => {
  it('for every kind of refusal, byte for byte in the body', async () => {
    server = await startServer();
    const base = await server.listen();
    const admin = await server.login('admin', ADMIN_PASSWORD);
    const push = (viaSocket: boolean, body: string, token?: string) =>
      post(base, '/sync/push', viaSocket, body, token);
    const valid = (group: string, mutations: unknown[]) =>
      JSON.stringify({ pushVersion: 1, clientGroupID: group, profileID: 'p', mutations });
    const cases: [string, string, string | undefined][] = [
      ['no token', valid('g1', [mutation('c1', 1)]), undefined],
      ['a forged token', valid('g1', [mutation('c1', 1)]), 'forged-token-forged-token-forged'],
      ['malformed JSON', '{"pushVersion": 1,', admin],
      ['wrong types', JSON.stringify({ pushVersion: 1, clientGroupID: 7, mutations: {} }), admin],
      [
        'too many mutations',
        valid(
          'g1',
          Array.from({ length: MAX_MUTATIONS_PER_PUSH + 1 }, (_, i) => mutation('c1', i + 1)),
        ),
        admin,
      ],
      ['too many bytes', 'x'.repeat(MAX_PUSH_BYTES + 1), admin],
      ['an unknown push version', JSON.stringify({ pushVersion: 9 }), admin],
    ];
    const head = async () =>
      ((await (await server.request('/health')).json()) as { head: number }).head;
    const headBefore = await head();
    for (const [what, body, token] of cases) {
      const lean = await answer(await push(true, body, token));
      const hono = await answer(await push(false, body, token));
      expect(lean, what).toEqual(hono);
      expect(lean.status, what).not.toBe(500);
    }
    // Nothing of it was written: no event, no stock, no device bound.
    expect(await head()).toBe(headBefore);
    expect(await (await server.request('/api/stock', { token: admin })).json()).toEqual([]);
    const devices = (await (await server.request('/api/devices', { token: admin })).json()) as {
      clientGroupID: string;
    }[];
    expect(devices.map((d) => d.clientGroupID)).not.toContain('g1');
  });

  it('for an accepted push: the same results, the same counters', async () => {
    server = await startServer();
    const base = await server.listen();
    const tokenA = await server.login('admin', ADMIN_PASSWORD, 'group-a');
    const tokenB = await server.login('admin', ADMIN_PASSWORD, 'group-b');
    const setup = await server.request('/sync/push', {
      method: 'POST',
      token: tokenA,
      json: {
        pushVersion: 1,
        clientGroupID: 'group-a',
        profileID: 'p',
        mutations: [
          {
            ...mutation('a', 1),
            name: 'defineItem',
            args: { itemId: 'A', sku: 'A', name: 'A', tracking: 'none' },
          },
          {
            ...mutation('a', 2),
            name: 'definePosition',
            args: { positionId: 'P', code: 'P', kind: 'bin' },
          },
        ],
      },
    });
    expect(setup.status).toBe(200);
    const metric = async (series: string) => {
      const text = await (await server.request('/metrics', { token: tokenA })).text();
      return Number(
        text
          .split('\n')
          .find((l) => l.startsWith(`${series} `))
          ?.split(' ')[1] ?? 0,
      );
    };
    const ok = 'floorsync_http_requests_total{method="POST",status="200"}';
    const applied = 'floorsync_mutations_total{status="applied"}';
    const before = [await metric(ok), await metric(applied)];

    const body = (group: string, client: string) =>
      JSON.stringify({
        pushVersion: 1,
        clientGroupID: group,
        profileID: 'p',
        mutations: [mutation(client, 1), mutation(client, 2, 2)],
      });
    const lean = await answer(await post(base, '/sync/push', true, body('group-b', 'b'), tokenB));
    const hono = await answer(await post(base, '/sync/push', false, body('group-a', 'a2'), tokenA));
    type Results = { results: { clientID: string; status: string }[]; head: number };
    const strip = (a: Answer) => ({
      ...a,
      body: (a.body as Results).results.map((r) => r.status),
    });
    expect(strip(lean)).toEqual(strip(hono));
    expect(strip(lean).body).toEqual(['applied', 'applied']);
    expect((hono.body as Results).head).toBeGreaterThan((lean.body as Results).head);
    // Both counted once each: the request and its mutations.
    expect([await metric(ok), await metric(applied)]).toEqual([before[0]! + 2, before[1]! + 4]);
    // And the lean push's device activity is visible to supervisors at once.
    const devices = (await (await server.request('/api/devices', { token: tokenA })).json()) as {
      clientGroupID: string;
      lastPushAt: string | null;
    }[];
    expect(devices.find((d) => d.clientGroupID === 'group-b')?.lastPushAt).not.toBeNull();
  });

  it('for pulls: refusals, ClientStateNotFound, a reset page and a page of events', async () => {
    server = await startServer();
    const base = await server.listen();
    const token = await server.login('admin', ADMIN_PASSWORD, 'puller');
    const setup = await server.request('/sync/push', {
      method: 'POST',
      token,
      json: {
        pushVersion: 1,
        clientGroupID: 'puller',
        profileID: 'p',
        mutations: [
          {
            ...mutation('p', 1),
            name: 'defineItem',
            args: { itemId: 'A', sku: 'A', name: 'A', tracking: 'none' },
          },
          {
            ...mutation('p', 2),
            name: 'definePosition',
            args: { positionId: 'P', code: 'P', kind: 'bin' },
          },
          mutation('p', 3),
        ],
      },
    });
    expect(setup.status).toBe(200);
    const pull = (viaSocket: boolean, body: string, auth?: string) =>
      post(base, '/sync/pull', viaSocket, body, auth);
    const request = (cookie: unknown) =>
      JSON.stringify({ pullVersion: 1, clientGroupID: 'puller', cookie, profileID: 'p' });
    const cases: [string, string, string | undefined][] = [
      ['no token', request(0), undefined],
      ['malformed JSON', '{"pullVersion":', token],
      ['wrong types', JSON.stringify({ pullVersion: 1, clientGroupID: [], cookie: 'x' }), token],
      ['an unknown pull version', JSON.stringify({ pullVersion: 7 }), token],
      ['too many bytes', 'x'.repeat(64 * 1024 + 1), token],
      ['a cookie beyond the head', request(1_000_000), token],
      ['a reset', request(null), token],
      ['a page of events', request(1), token],
      ['the same page again', request(1), token],
    ];
    for (const [what, body, auth] of cases) {
      const lean = await answer(await pull(true, body, auth));
      const hono = await answer(await pull(false, body, auth));
      expect(lean, what).toEqual(hono);
      expect(lean.status, what).not.toBe(500);
    }
    const page = await answer(await pull(true, request(1), token));
    expect(page.body).toMatchObject({ cookie: 3, hasMore: false, lastMutationIDChanges: { p: 3 } });
  });
});

describe('connections and latency metrics', () => {
  it('keeps a device’s connection alive between syncs (95 s) and times pulls and pushes in /metrics', async () => {
    server = await startServer();
    const base = await server.listen();
    const token = await server.login('admin', ADMIN_PASSWORD, 'kept');
    const res = await post(
      base,
      '/sync/pull',
      true,
      JSON.stringify({ pullVersion: 1, clientGroupID: 'kept', cookie: null, profileID: 'p' }),
      token,
    );
    expect(res.status).toBe(200);
    await res.text();
    // Node's default (5 s) closed a handheld's connection between two scans.
    expect(res.headers.get('keep-alive')).toBe('timeout=95');
    const text = await (await server.request('/metrics', { token })).text();
    expect(text).toMatch(/^floorsync_pull_duration_seconds_count 1$/m);
  });
});
