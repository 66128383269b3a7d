import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { hashToken } from '../src/auth/tokens.js';
import { ADMIN_PASSWORD, Device, startServer } from './harness.js';
import type { TestServer } from './harness.js';

let server: TestServer;
afterEach(async () => {
  await server.close();
});

const login = (username: string, password: string, extra: Record<string, unknown> = {}) =>
  server.request('/api/auth/login', { method: 'POST', json: { username, password, ...extra } });

describe('login', () => {
  it('returns a token and the user; the token works, and no token is ever in a URL', async () => {
    server = await startServer();
    const res = await login('admin', ADMIN_PASSWORD);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { token: string; user: Record<string, unknown> };
    expect(body.user).toEqual({
      id: expect.any(String),
      username: 'admin',
      name: 'Administrator',
      role: 'admin',
    });
    expect(body.token.length).toBeGreaterThanOrEqual(40);
    const me = await server.request('/api/auth/me', { token: body.token });
    expect(((await me.json()) as { user: { username: string } }).user.username).toBe('admin');
  });

  it('401 without saying which part was wrong', async () => {
    server = await startServer();
    const wrongPassword = await login('admin', 'not-the-password');
    const unknownUser = await login('nobody', 'not-the-password');
    expect([wrongPassword.status, unknownUser.status]).toEqual([401, 401]);
    const a = (await wrongPassword.json()) as { detail: string };
    const b = (await unknownUser.json()) as { detail: string };
    expect(a.detail).toBe(b.detail);
  });

  it('throttles repeated failures (and only failures), with Retry-After', async () => {
    server = await startServer();
    for (let i = 0; i < 5; i++) expect((await login('admin', 'wrong-password')).status).toBe(401);
    // Five free failures; from then on every attempt waits, even with the right password.
    const throttled = await login('admin', ADMIN_PASSWORD);
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
    server.clock.advance(5_000);
    expect((await login('admin', ADMIN_PASSWORD)).status).toBe(200);
    // Successful sign-ins are never throttled.
    for (let i = 0; i < 10; i++) expect((await login('admin', ADMIN_PASSWORD)).status).toBe(200);
  });

  it('a burst of guesses sent at once gets no more tries than a sequence; honest sign-ins at once all pass', async () => {
    server = await startServer();
    const burst = await Promise.all(
      Array.from({ length: 30 }, () => login('admin', 'wrong-password')),
    );
    const statuses = burst.map((r) => r.status);
    // 5 free failures, plus the one already being checked beside the fifth (2 turns at once).
    expect(statuses.filter((x) => x === 401).length).toBeLessThanOrEqual(6);
    expect(statuses.filter((x) => x === 401).length).toBeGreaterThanOrEqual(5);
    expect(statuses.filter((x) => x === 429).length).toBeGreaterThanOrEqual(24);
    expect(statuses.every((x) => x === 401 || x === 429)).toBe(true);

    server.clock.advance(60 * 60_000); // the failures leak away
    const together = await Promise.all(
      Array.from({ length: 10 }, () => login('admin', ADMIN_PASSWORD)),
    );
    expect(together.map((r) => r.status)).toEqual(Array(10).fill(200));
  });

  it("one user's mistyped passwords do not lock others out of the same address", async () => {
    // In-process (and on a floor behind one NAT) every sign-in shares one address.
    server = await startServer({ demo: true });
    for (let i = 0; i < 6; i++) await login('operator', 'wrong-password');
    expect((await login('operator', 'operator-demo')).status).toBe(429);
    expect((await login('supervisor', 'supervisor-demo')).status).toBe(200);
    expect((await login('admin', ADMIN_PASSWORD)).status).toBe(200);
  });

  it('an address spraying guesses over many usernames is throttled after 50 failures', async () => {
    server = await startServer({ demo: true });
    for (let i = 0; i < 50; i++) expect((await login(`user${i}`, 'guess-guess')).status).toBe(401);
    const throttled = await login('supervisor', 'supervisor-demo');
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('over a socket, the address is the peer’s: another machine is not throttled for this one’s spray', async () => {
    server = await startServer({ demo: true });
    const base = new URL(await server.listen());
    // Loopback answers on all of 127/8: each address below is another client machine.
    const from = (localAddress: string, username: string, password: string) =>
      new Promise<number>((resolve, reject) => {
        const body = JSON.stringify({ username, password });
        const req = http.request(
          {
            host: base.hostname,
            port: base.port,
            path: '/api/auth/login',
            method: 'POST',
            localAddress,
            agent: false,
            // Ignored without TRUST_PROXY: a client cannot pick the address it is counted as.
            headers: {
              'content-type': 'application/json',
              'x-forwarded-for': `10.1.${username.length}.1`,
            },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    for (let i = 0; i < 50; i++)
      expect(await from('127.0.0.2', `user${i}`, 'guess-guess')).toBe(401);
    expect(await from('127.0.0.2', 'supervisor', 'supervisor-demo')).toBe(429);
    expect(await from('127.0.0.3', 'supervisor', 'supervisor-demo')).toBe(200);
  });

  it('X-Forwarded-For names the address only behind a trusted proxy (TRUST_PROXY)', async () => {
    const spray = async (trustProxy: boolean) => {
      server = await startServer({ demo: true, trustProxy });
      const from = (address: string, username: string, password: string) =>
        server.request('/api/auth/login', {
          method: 'POST',
          // What the client sent first, then the address the proxy saw (the one that counts).
          headers: { 'x-forwarded-for': `10.9.9.9, ${address}` },
          json: { username, password },
        });
      // A sprayer that invents a new address for every guess.
      for (let i = 0; i < 50; i++) await from(`10.0.0.${i}`, `user${i}`, 'guess-guess');
      const other = (await from('10.0.1.1', 'supervisor', 'supervisor-demo')).status;
      for (let i = 0; i < 50; i++) await from('10.0.2.2', `user${i}`, 'guess-guess');
      const same = (await from('10.0.2.2', 'supervisor', 'supervisor-demo')).status;
      await server.close();
      return { other, same };
    };
    // Untrusted: the header is ignored, so invented addresses do not escape the budget.
    expect(await spray(false)).toEqual({ other: 429, same: 429 });
    // Trusted: each forwarded address has its own budget.
    expect(await spray(true)).toEqual({ other: 200, same: 429 });
    server = await startServer();
  });

  it('bad bodies are 400 problems; empty credentials are 401, other fields ignored', async () => {
    server = await startServer();
    const res = await server.request('/api/auth/login', { method: 'POST', body: 'username=admin' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'MALFORMED_JSON' });
    const post = (json: unknown) => server.request('/api/auth/login', { method: 'POST', json });
    expect((await post({ username: 'admin' })).status).toBe(400);
    expect((await post({ username: 'admin', password: 12 })).status).toBe(400);
    // Empty credentials are wrong credentials, not a bad body (no hint which part).
    const empty = await login('admin', '');
    expect(empty.status).toBe(401);
    expect((await login('', ADMIN_PASSWORD)).status).toBe(401);
    // The contract names three fields: others are ignored, and a null device is none.
    const extra = await post({ username: 'admin', password: ADMIN_PASSWORD, remember: true });
    expect(extra.status).toBe(200);
    const noDevice = await post({
      username: 'admin',
      password: ADMIN_PASSWORD,
      clientGroupID: null,
    });
    expect(noDevice.status).toBe(200);
  });

  it('tokens expire, can be revoked by logout, and die with a deactivated user', async () => {
    server = await startServer();
    const admin = await server.login('admin', ADMIN_PASSWORD);
    await server.createUser(admin, 'op', 'operator');
    const op = await server.login('op', 'op-password');
    expect((await server.request('/api/auth/me', { token: op })).status).toBe(200);
    expect((await server.request('/api/auth/logout', { method: 'POST', token: op })).status).toBe(
      204,
    );
    expect((await server.request('/api/auth/me', { token: op })).status).toBe(401);

    const op2 = await server.login('op', 'op-password');
    server.clock.advance(12 * 3600_000 + 1);
    const expired = await server.request('/api/auth/me', { token: op2 });
    expect(expired.status).toBe(401);
    expect(((await expired.json()) as { detail: string }).detail).toMatch(/expired/);

    const admin2 = await server.login('admin', ADMIN_PASSWORD);
    const op3 = await server.login('op', 'op-password');
    const users = (await (await server.request('/api/users', { token: admin2 })).json()) as {
      id: string;
      username: string;
    }[];
    const id = users.find((u) => u.username === 'op')?.id ?? '';
    const patch = await server.request(`/api/users/${id}`, {
      method: 'PATCH',
      token: admin2,
      json: { active: false },
    });
    expect(patch.status).toBe(200);
    // The session ended, and the device is told why: signing in again cannot help.
    const me = await server.request('/api/auth/me', { token: op3 });
    expect(me.status).toBe(401);
    expect(await me.json()).toMatchObject({ code: 'USER_DEACTIVATED' });
    expect(await (await server.request('/api/auth/me', { token: op3 })).json()).toMatchObject({
      detail: 'this user is deactivated; an admin can activate it again',
    });
    // A sign-in says no more than for any wrong password, the right one included: a guess
    // learns nothing (the device was told why by its session above).
    for (const password of ['op-password', 'not-the-password']) {
      const refused = await login('op', password);
      expect(refused.status).toBe(401);
      expect(await refused.json()).toMatchObject({ code: 'BAD_CREDENTIALS' });
    }
    // A session that had run out before says so, not why the user went.
    const old = await server.request('/api/auth/me', { token: op2 });
    expect(await old.json()).toMatchObject({ code: 'UNAUTHORIZED', detail: /expired/ });
    // Activated again: the same password signs in.
    const again = await server.request(`/api/users/${id}`, {
      method: 'PATCH',
      token: admin2,
      json: { active: true },
    });
    expect(again.status).toBe(200);
    expect((await login('op', 'op-password')).status).toBe(200);
  });

  it('device sessions are cached briefly, but logout, deactivation, role changes and revocation take effect at once', async () => {
    server = await startServer();
    const admin = await server.login('admin', ADMIN_PASSWORD);
    const { id } = await server.createUser(admin, 'op', 'operator');
    const me = async (token: string) => server.request('/api/auth/me', { token });
    const bound = async (group: string) => {
      const token = await server.login('op', 'op-password', group);
      expect((await me(token)).status).toBe(200); // now cached
      return token;
    };

    const t1 = await bound('g-1');
    await server.request('/api/auth/logout', { method: 'POST', token: t1 });
    expect((await me(t1)).status).toBe(401);

    const t2 = await bound('g-2');
    const patch = (json: Record<string, unknown>) =>
      server.request(`/api/users/${id}`, { method: 'PATCH', token: admin, json });
    expect((await patch({ role: 'supervisor' })).status).toBe(200);
    expect(((await (await me(t2)).json()) as { user: { role: string } }).user.role).toBe(
      'supervisor',
    );
    expect((await patch({ active: false })).status).toBe(200);
    expect((await me(t2)).status).toBe(401);
    expect((await patch({ active: true })).status).toBe(200);

    const t3 = await bound('g-3');
    const revoke = await server.request('/api/devices/g-3/revoke', {
      method: 'POST',
      token: admin,
    });
    expect(revoke.status).toBe(200);
    expect((await new Device(server, t3, 'g-3').push([])).status).toBe(403);

    // A change this process did not make (another server on the same store): seen once the
    // cache entry ages out (5 s), not before.
    const t4 = await bound('g-4');
    await server.storage.write((tx) => tx.revokeSession(hashToken(t4)));
    expect((await me(t4)).status).toBe(200);
    server.clock.advance(5001);
    expect((await me(t4)).status).toBe(401);
  });

  it('a revoked device’s session ends on every route, not only at push and pull; it can still sign out', async () => {
    server = await startServer();
    const admin = await server.login('admin', ADMIN_PASSWORD);
    await server.createUser(admin, 'sup', 'supervisor');
    const lost = await server.login('sup', 'sup-password', 'g-lost');
    const other = await server.login('sup', 'sup-password', 'g-other');
    const desk = await server.login('sup', 'sup-password'); // a session of no device
    const routes: [string, { method?: string; body?: string; json?: unknown }][] = [
      ['/api/auth/me', {}],
      ['/api/items', {}],
      ['/api/conflicts', {}],
      ['/api/auth/ticket', { method: 'POST' }],
      ['/api/jobs/bulk-adjust?fileName=a.csv', { method: 'POST', body: 'item;position;delta\n' }],
    ];
    const statuses = async (token: string) =>
      Promise.all(
        routes.map(async ([path, o]) => (await server.request(path, { ...o, token })).status),
      );
    expect(await statuses(lost)).toEqual([200, 200, 200, 200, 201]); // a job with no rows
    const revoke = await server.request('/api/devices/g-lost/revoke', {
      method: 'POST',
      token: admin,
    });
    expect(revoke.status).toBe(200);
    // A device never seen: nothing revoked, and the admin is told.
    const typo = await server.request('/api/devices/g-lsot/revoke', {
      method: 'POST',
      token: admin,
    });
    expect(typo.status).toBe(404);
    expect(await server.storage.read((tx) => tx.device('g-lsot'))).toBeUndefined();
    // The server's own clients (jobs, ERP, labels) are not the admin's to revoke: nothing
    // could bring them back. A worker is locked out by its password.
    await server.storage.write((tx) =>
      tx.touchDevice('erp-export', tx.users()[0]?.id ?? '', '2026-11-28T00:00:00.000Z', 'push'),
    );
    const own = await server.request('/api/devices/erp-export/revoke', {
      method: 'POST',
      token: admin,
    });
    expect(own.status).toBe(409);
    expect(await own.json()).toMatchObject({ code: 'SERVICE_CLIENT' });
    expect((await server.storage.read((tx) => tx.device('erp-export')))?.revokedAt).toBeNull();
    const jobs = await server.storage.read((tx) => tx.jobs(100).length);
    const refused = await server.request('/api/auth/me', { token: lost });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    // The detail in English for people; the reason for a client to say in its user's language.
    expect(await refused.json()).toMatchObject({
      code: 'FORBIDDEN',
      reason: 'DEVICE_REVOKED',
      detail: 'this device has been revoked; ask an admin',
    });
    expect(await statuses(lost)).toEqual([403, 403, 403, 403, 403]);
    expect(await server.storage.read((tx) => tx.jobs(100).length)).toBe(jobs);
    // The same user's other device and desk go on.
    expect((await statuses(other)).slice(0, 4)).toEqual([200, 200, 200, 200]);
    expect((await statuses(desk)).slice(0, 4)).toEqual([200, 200, 200, 200]);
    // Signing out still works (and ends the token).
    expect((await server.request('/api/auth/logout', { method: 'POST', token: lost })).status).toBe(
      204,
    );
    expect((await server.request('/api/auth/me', { token: lost })).status).toBe(401);
  });

  it('a session token binds to one client group: the one given at login', async () => {
    server = await startServer();
    const token = await server.login('admin', ADMIN_PASSWORD, 'g-handheld-1');
    const d = new Device(server, token, 'g-handheld-2');
    const elsewhere = await d.push([]);
    expect(elsewhere.status).toBe(403);
    expect(await elsewhere.json()).toMatchObject({ code: 'FORBIDDEN', reason: 'OTHER_DEVICE' });
    const ok = new Device(server, token, 'g-handheld-1');
    expect((await ok.push([])).status).toBe(200);
  });

  describe('a device with a secret', () => {
    const SECRET = 'device-secret-0123456789abcdef';
    const tokenOf = async (res: Response) => ((await res.json()) as { token: string }).token;

    it('is signed in to only with its secret once bound; nothing is written by a refused sign-in', async () => {
      server = await startServer();
      const first = await login('admin', ADMIN_PASSWORD, {
        clientGroupID: 'g-scanner-7',
        deviceSecret: SECRET,
      });
      expect(first.status).toBe(200);
      const handheld = new Device(server, await tokenOf(first), 'g-scanner-7');
      await handheld.pushOk([
        handheld.mutation('definePosition', { positionId: 'P', code: 'P', kind: 'bin' }),
      ]);
      const sup = await server.createUser(handheld.token, 'sup', 'supervisor');
      const before = await server.request('/api/devices', { token: handheld.token });
      // Another user who knows the device's ID signs in naming it: without the secret, or another.
      for (const extra of [
        {},
        { deviceSecret: 'another-secret-0123456789' },
        { deviceSecret: null },
      ]) {
        const res = await login('sup', 'sup-password', { clientGroupID: 'g-scanner-7', ...extra });
        expect(res.status).toBe(403);
        expect(((await res.json()) as { detail: string }).detail).toMatch(/secret/);
      }
      // The refused sign-ins changed nothing about the device (its last user is still admin,
      // the supervisor is not among its users) and are counted.
      expect(await (await server.request('/api/devices', { token: handheld.token })).text()).toBe(
        await before.text(),
      );
      expect(await server.storage.read((tx) => tx.userOnDevice('g-scanner-7', sup.id))).toBe(false);
      const metrics = await (await server.request('/metrics', { token: handheld.token })).text();
      expect(metrics).toContain('floorsync_logins_total{outcome="forbidden"} 3');
      const again = await login('admin', ADMIN_PASSWORD, {
        clientGroupID: 'g-scanner-7',
        deviceSecret: SECRET,
      });
      expect(again.status).toBe(200);
      const next = new Device(server, await tokenOf(again), 'g-scanner-7', handheld.clientID);
      next.next = 2;
      expect(
        (
          await next.push([
            next.mutation('definePosition', { positionId: 'Q', code: 'Q', kind: 'bin' }),
          ])
        ).status,
      ).toBe(200);
    });

    it('a session signed in without naming a device cannot take one with a secret by pushing or pulling', async () => {
      server = await startServer();
      await login('admin', ADMIN_PASSWORD, { clientGroupID: 'g-scanner-8', deviceSecret: SECRET });
      const loose = await server.login('admin', ADMIN_PASSWORD);
      const intruder = new Device(server, loose, 'g-scanner-8');
      const push = await intruder.push([
        intruder.mutation('definePosition', { positionId: 'P', code: 'P', kind: 'bin' }),
      ]);
      expect(push.status).toBe(403);
      const pull = await server.request('/sync/pull', {
        method: 'POST',
        token: loose,
        json: {
          pullVersion: 1,
          clientGroupID: 'g-scanner-8',
          cookie: null,
          profileID: 'p',
          schemaVersion: '1',
        },
      });
      expect(pull.status).toBe(403);
      // Nothing was recorded: the session is still unbound, the log empty of it.
      const me = (await (await server.request('/api/auth/me', { token: loose })).json()) as {
        clientGroupID: string | null;
      };
      expect(me.clientGroupID).toBeNull();
      const devices = (await (await server.request('/api/devices', { token: loose })).json()) as {
        clientGroupID: string;
        clients: Record<string, number>;
      }[];
      expect(devices.find((d) => d.clientGroupID === 'g-scanner-8')?.clients).toEqual({});
    });

    it('only a group’s first sign-in binds a secret: one seen before without stays without (whoever sent the first secret would own it); two first secrets at once: one wins', async () => {
      server = await startServer();
      expect((await login('admin', ADMIN_PASSWORD, { clientGroupID: 'g-old' })).status).toBe(200);
      const late = await login('admin', ADMIN_PASSWORD, {
        clientGroupID: 'g-old',
        deviceSecret: SECRET,
      });
      expect(late.status).toBe(200);
      // Not bound: the device (which never sent a secret) still signs in; so would anyone.
      expect((await login('admin', ADMIN_PASSWORD, { clientGroupID: 'g-old' })).status).toBe(200);
      const other = { deviceSecret: 'another-secret-0123456789' };
      expect(
        (await login('admin', ADMIN_PASSWORD, { clientGroupID: 'g-old', ...other })).status,
      ).toBe(200);
      const devices = (await (
        await server.request('/api/devices', { token: await tokenOf(late) })
      ).json()) as {
        clientGroupID: string;
        secured: boolean;
      }[];
      expect(devices.find((d) => d.clientGroupID === 'g-old')?.secured).toBe(false);
      const race = await Promise.all(
        ['first-secret-0123456789', 'second-secret-0123456789'].map((deviceSecret) =>
          login('admin', ADMIN_PASSWORD, { clientGroupID: 'g-new', deviceSecret }),
        ),
      );
      expect(race.map((r) => r.status).sort()).toEqual([200, 403]);
    });

    it('service groups (jobs, ERP, labels) never get a secret: the workers sign in without one', async () => {
      server = await startServer();
      const admin = await server.login('admin', ADMIN_PASSWORD);
      await server.createUser(admin, 'worker2', 'supervisor', 'worker2-password');
      for (const group of ['job-7', 'erp-export', 'labels']) {
        // A supervisor names the group first, with a secret of their own …
        const res = await login('admin', ADMIN_PASSWORD, {
          clientGroupID: group,
          deviceSecret: SECRET,
        });
        expect(res.status).toBe(200);
        // … and the worker, which sends none, still signs in as it.
        expect((await login('worker2', 'worker2-password', { clientGroupID: group })).status).toBe(
          200,
        );
      }
      const devices = (await (await server.request('/api/devices', { token: admin })).json()) as {
        clientGroupID: string;
        secured: boolean;
      }[];
      expect(devices.filter((d) => d.secured)).toEqual([]);
      expect(
        devices
          .filter((d) => (d as { service?: boolean }).service)
          .map((d) => d.clientGroupID)
          .sort(),
      ).toEqual(['erp-export', 'job-7', 'labels']);
    });

    it('the device list says which devices have a secret and never shows it or its hash', async () => {
      server = await startServer();
      const res = await login('admin', ADMIN_PASSWORD, {
        clientGroupID: 'g-s',
        deviceSecret: SECRET,
      });
      const token = await tokenOf(res);
      await login('admin', ADMIN_PASSWORD, { clientGroupID: 'g-plain' });
      const text = await (await server.request('/api/devices', { token })).text();
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(hashToken(SECRET));
      expect(text).not.toContain('secretHash');
      const secured = Object.fromEntries(
        (JSON.parse(text) as { clientGroupID: string; secured: boolean }[]).map((d) => [
          d.clientGroupID,
          d.secured,
        ]),
      );
      expect(secured).toEqual({ 'g-s': true, 'g-plain': false });
      const revoked = await server.request('/api/devices/g-s/revoke', { method: 'POST', token });
      const body = await revoked.text();
      expect(body).not.toContain(hashToken(SECRET));
      expect(JSON.parse(body)).toMatchObject({ clientGroupID: 'g-s', secured: true });
    });

    it('a secret shorter than 16 or longer than 256 characters is a 400', async () => {
      server = await startServer();
      for (const deviceSecret of ['short', 'x'.repeat(257), 42]) {
        const res = await login('admin', ADMIN_PASSWORD, { clientGroupID: 'g-x', deviceSecret });
        expect(res.status).toBe(400);
      }
    });
  });
});

describe('admin API', () => {
  it('creates users (201), refuses duplicates (409), short passwords (400) and non-admins (403)', async () => {
    server = await startServer();
    const admin = await server.login('admin', ADMIN_PASSWORD);
    const created = await server.request('/api/users', {
      method: 'POST',
      token: admin,
      json: { username: 'sup', password: 'long-enough-pw', name: 'Sue', role: 'supervisor' },
    });
    expect(created.status).toBe(201);
    expect(await created.json()).toEqual({
      id: expect.any(String),
      username: 'sup',
      name: 'Sue',
      role: 'supervisor',
    });
    const dup = await server.request('/api/users', {
      method: 'POST',
      token: admin,
      json: { username: 'SUP', password: 'long-enough-pw', name: 'Sue', role: 'operator' },
    });
    expect(dup.status).toBe(409);
    const short = await server.request('/api/users', {
      method: 'POST',
      token: admin,
      json: { username: 'x', password: 'short', name: 'X', role: 'operator' },
    });
    expect(short.status).toBe(400);
    expect(((await short.json()) as { detail: string }).detail).toMatch(/at least 10/);
    const sup = await server.login('sup', 'long-enough-pw');
    const forbidden = await server.request('/api/users', {
      method: 'POST',
      token: sup,
      json: { username: 'y', password: 'long-enough-pw', name: 'Y', role: 'admin' },
    });
    expect(forbidden.status).toBe(403);
    expect((await server.request('/api/users', { token: sup })).status).toBe(403);
  });

  it('changes roles, and refuses to demote the last admin', async () => {
    server = await startServer();
    const admin = await server.login('admin', ADMIN_PASSWORD);
    const users = (await (await server.request('/api/users', { token: admin })).json()) as {
      id: string;
    }[];
    const adminId = users[0]?.id ?? '';
    const demote = await server.request(`/api/users/${adminId}`, {
      method: 'PATCH',
      token: admin,
      json: { role: 'operator' },
    });
    expect(demote.status).toBe(409);
    const op = await server.createUser(admin, 'op', 'operator');
    const promote = await server.request(`/api/users/${op.id}`, {
      method: 'PATCH',
      token: admin,
      json: { role: 'supervisor' },
    });
    expect(((await promote.json()) as { role: string }).role).toBe('supervisor');
    expect(
      (
        await server.request('/api/users/nope', {
          method: 'PATCH',
          token: admin,
          json: { role: 'operator' },
        })
      ).status,
    ).toBe(404);
  });

  it('lists devices with their user, last push and last pull', async () => {
    server = await startServer();
    const admin = await server.login('admin', ADMIN_PASSWORD);
    const d = new Device(server, admin);
    await d.pushOk([d.mutation('definePosition', { positionId: 'P', code: 'P', kind: 'bin' })]);
    await d.pull(0);
    await server.handle.close(); // flushes coalesced pull times
    const devices = (await (await server.request('/api/devices', { token: admin })).json()) as {
      clientGroupID: string;
      username: string;
      lastPushAt: string;
      lastPullAt: string;
      clients: Record<string, number>;
    }[];
    expect(devices).toEqual([
      expect.objectContaining({
        clientGroupID: d.clientGroupID,
        username: 'admin',
        lastPushAt: expect.any(String),
        lastPullAt: expect.any(String),
        clients: { [d.clientID]: 1 },
      }),
    ]);
  });
  it('shows a push at once in the device list, and writes it with the next activity flush', async () => {
    server = await startServer();
    const admin = await server.login('admin', ADMIN_PASSWORD);
    const d = new Device(server, admin);
    const res = await d.push(
      [d.mutation('definePosition', { positionId: 'P', code: 'P', kind: 'bin' })],
      { pending: 7, appVersion: 'scanner-1.2.3' },
    );
    expect(res.status).toBe(200);
    const stored = () => server.storage.read((tx) => tx.device(d.clientGroupID));
    // Not written yet (a push costs no write of its own for it)…
    expect((await stored())?.lastPushAt).toBeNull();
    // …but supervisors see it at once.
    const listed = (await (await server.request('/api/devices', { token: admin })).json()) as {
      clientGroupID: string;
      lastPushAt: string | null;
      pending: number | null;
      appVersion: string | null;
    }[];
    expect(listed.find((x) => x.clientGroupID === d.clientGroupID)).toEqual(
      expect.objectContaining({
        lastPushAt: expect.any(String),
        pending: 7,
        appVersion: 'scanner-1.2.3',
      }),
    );
    await server.handle.close(); // flushes the coalesced activity
    expect(await stored()).toEqual(
      expect.objectContaining({
        lastPushAt: expect.any(String),
        pending: 7,
        appVersion: 'scanner-1.2.3',
      }),
    );
  });
});

describe('health and metrics', () => {
  it('/health needs no token and reports the head; /metrics is Prometheus text behind a token', async () => {
    const scrape = 'prometheus-scrape-token-0123';
    server = await startServer({ demo: true, metricsToken: scrape });
    const health = await server.request('/health');
    expect(await health.json()).toEqual({ status: 'ok', head: expect.any(Number) });
    // Every endpoint but /health needs a bearer token: the scraper's, or a supervisor's session.
    expect((await server.request('/metrics')).status).toBe(401);
    expect((await server.request('/metrics', { token: 'not-the-scrape-token' })).status).toBe(401);
    const operator = await server.login('operator', 'operator-demo');
    expect((await server.request('/metrics', { token: operator })).status).toBe(403);
    const supervisor = await server.login('supervisor', 'supervisor-demo');
    expect((await server.request('/metrics', { token: supervisor })).status).toBe(200);
    const metrics = await server.request('/metrics', { token: scrape });
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(text).toMatch(/^floorsync_log_head \d+$/m);
    expect(text).toMatch(/^floorsync_conflicts_open 0$/m);

    // Mutations are counted by outcome.
    const admin = await server.login('admin', ADMIN_PASSWORD);
    const d = new Device(server, admin);
    await d.pushOk([
      d.mutation('definePosition', { positionId: 'M1', code: 'M1', kind: 'bin' }),
      d.mutation('definePosition', { positionId: 'M2', code: 'M2', kind: 'bin' }),
      d.mutation('noSuchCommand', {}),
    ]);
    const after = await (await server.request('/metrics', { token: scrape })).text();
    expect(after).toMatch(/^floorsync_mutations_total\{status="applied"\} 2$/m);
    expect(after).toMatch(/^floorsync_mutations_total\{status="rejected"\} 1$/m);
  });
});
