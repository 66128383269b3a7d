import { afterEach, describe, expect, it } from 'vitest';
import { Device, warehouseServer } from './harness.js';
import type { TestServer } from './harness.js';

let server: TestServer;
afterEach(async () => {
  await server.close();
});

/** Reads SSE frames from a real HTTP response until `until` says stop or the time is up. */
async function readFrames(
  res: Response,
  until: (frames: string[]) => boolean,
  ms = 5000,
): Promise<string[]> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const frames: string[] = [];
  let buffer = '';
  const deadline = Date.now() + ms;
  try {
    while (Date.now() < deadline && !until(frames)) {
      const chunk = await Promise.race([
        reader.read(),
        new Promise<null>((r) => setTimeout(() => r(null), deadline - Date.now())),
      ]);
      if (chunk === null || chunk.done) break;
      buffer += decoder.decode(chunk.value, { stream: true });
      let at: number;
      while ((at = buffer.indexOf('\n\n')) >= 0) {
        frames.push(buffer.slice(0, at));
        buffer = buffer.slice(at + 2);
      }
    }
  } finally {
    await reader.cancel();
  }
  return frames;
}

describe('GET /sync/stream (SSE pokes)', () => {
  it('pokes every connected client after a commit, with the head as data and id; heartbeats keep it open', async () => {
    const w = await warehouseServer();
    server = w.server;
    const base = await server.listen();
    const op1 = new Device(server, await server.login('op1', 'op1-password'));
    const ticketRes = await fetch(`${base}/api/auth/ticket`, {
      method: 'POST',
      headers: { authorization: `Bearer ${op1.token}` },
    });
    const { ticket } = (await ticketRes.json()) as { ticket: string };
    const stream = await fetch(`${base}/sync/stream?ticket=${encodeURIComponent(ticket)}`, {
      headers: { 'last-event-id': '3' },
    });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/);
    // Behind nginx, the pokes are not held in its buffer.
    expect(stream.headers.get('x-accel-buffering')).toBe('no');

    const pushed = (async () => {
      await new Promise((r) => setTimeout(r, 100));
      const other = new Device(server, await server.login('op2', 'op2-password'));
      return other.pushOk([
        other.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 1 }),
      ]);
    })();
    const frames = await readFrames(
      stream,
      (f) =>
        f.filter((x) => x.includes('event: poke')).length >= 2 &&
        f.some((x) => x.startsWith(': heartbeat')),
    );
    const { head } = await pushed;
    const pokes = frames.filter((f) => f.includes('event: poke'));
    // One poke at once on (re)connect with the current head, then one after the commit.
    expect(pokes[0]).toContain(`data: {"head":${head - 1}}`);
    expect(pokes[1]).toContain(`data: {"head":${head}}`);
    expect(pokes[1]).toContain(`id: ${head}`);
    expect(frames.some((f) => f.startsWith(': heartbeat'))).toBe(true);
  });

  it('an EventSource reconnect (same URL, Last-Event-ID) within the ticket life gets the current head at once', async () => {
    const w = await warehouseServer();
    server = w.server;
    const base = await server.listen();
    const res = await fetch(`${base}/api/auth/ticket`, {
      method: 'POST',
      headers: { authorization: `Bearer ${w.admin}` },
    });
    const url = `${base}/sync/stream?ticket=${encodeURIComponent(((await res.json()) as { ticket: string }).ticket)}`;
    const firstPoke = async (r: Response) =>
      (await readFrames(r, (f) => f.some((x) => x.includes('event: poke'))))[0];
    const first = await fetch(url);
    expect(first.status).toBe(200);
    const before = await firstPoke(first); // and the connection drops (read, then cancelled)
    const { head } = await w.supervisor.pushOk([
      w.supervisor.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 1 }),
    ]);
    expect(before).not.toContain(`"head":${head}}`);
    server.clock.advance(59_000);
    const again = await fetch(url, { headers: { 'last-event-id': String(head - 1) } });
    expect(again.status).toBe(200);
    const poke = await firstPoke(again);
    expect(poke).toContain(`data: {"head":${head}}`);
    expect(poke).toContain(`id: ${head}`);
    server.clock.advance(2_000); // 61 s: the ticket has expired
    expect((await fetch(url)).status).toBe(401);
    // The streams that ended are let go of: none is left waiting for the hub to close.
    await expect.poll(() => server.handle.hub.waiting).toBe(0);
    expect(server.handle.hub.size).toBe(0);
  });

  it('an instance holds a bounded number of streams in all: beyond, 503 with Retry-After; a place freed is taken again', async () => {
    const w = await warehouseServer({ maxStreams: 2 });
    server = w.server;
    const base = await server.listen();
    const open = async () => {
      const res = await fetch(`${base}/api/auth/ticket`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await server.login('op1', 'op1-password')}` },
      });
      const { ticket } = (await res.json()) as { ticket: string };
      return fetch(`${base}/sync/stream?ticket=${encodeURIComponent(ticket)}`);
    };
    const first = await open();
    const second = await open();
    expect([first.status, second.status]).toEqual([200, 200]);
    await expect.poll(() => server.handle.hub.size).toBe(2);
    const third = await open();
    expect(third.status).toBe(503);
    expect(third.headers.get('retry-after')).toBe('30');
    expect(await third.json()).toMatchObject({ code: 'TOO_MANY_STREAMS' });
    await first.body?.cancel();
    await expect.poll(() => server.handle.hub.size).toBe(1);
    const again = await open();
    expect(again.status).toBe(200);
    await again.body?.cancel();
    await second.body?.cancel();
  });

  it('refuses a missing, unknown or expired ticket; a long-lived token is never accepted in the URL', async () => {
    const w = await warehouseServer();
    server = w.server;
    expect((await server.request('/sync/stream')).status).toBe(401);
    expect((await server.request(`/sync/stream?ticket=${w.admin}`)).status).toBe(401);
    const res = await server.request('/api/auth/ticket', { method: 'POST', token: w.admin });
    const { ticket } = (await res.json()) as { ticket: string };
    server.clock.advance(61_000);
    const expired = await server.request(`/sync/stream?ticket=${ticket}`);
    expect(expired.status).toBe(401);
    expect(expired.headers.get('content-type')).toBe('application/problem+json');
  });
});

describe('streams per session', () => {
  it('a session holds at most 16 streams: a newer one gets in and closes its oldest; other sessions are not counted', async () => {
    const w = await warehouseServer();
    server = w.server;
    const base = await server.listen();
    const ticketOf = async (token: string) => {
      const res = await fetch(`${base}/api/auth/ticket`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      });
      return ((await res.json()) as { ticket: string }).ticket;
    };
    const url = `${base}/sync/stream?ticket=${encodeURIComponent(await ticketOf(w.admin))}`;
    const open: ReadableStreamDefaultReader<Uint8Array>[] = [];
    const connect = async (at: string) => {
      const res = await fetch(at);
      expect(res.status).toBe(200);
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      expect((await reader.read()).done).toBe(false); // the poke at connect
      return reader;
    };
    try {
      for (let i = 0; i < 16; i++) open.push(await connect(url));
      // Another session's streams are its own.
      const other = await connect(
        `${base}/sync/stream?ticket=${encodeURIComponent(await ticketOf(w.supervisor.token))}`,
      );
      open.push(other);
      // The 17th of the session (a handheld back on the Wi-Fi whose old connections linger):
      // in, and the oldest is closed by the server.
      open.push(await connect(url));
      // Reads on (the rest of a frame, a heartbeat) until the stream ends or `ms` pass.
      const within = async (r: ReadableStreamDefaultReader<Uint8Array>, ms: number) => {
        const until = Date.now() + ms;
        for (;;) {
          const next = await Promise.race([
            r.read().then((x) => (x.done ? 'closed' : 'data')),
            new Promise<'open'>((res) => setTimeout(() => res('open'), until - Date.now())),
          ]);
          if (next !== 'data') return next;
        }
      };
      expect(await within(open[0] as ReadableStreamDefaultReader<Uint8Array>, 10_000)).toBe(
        'closed',
      );
      // The second oldest and the other session's stream are still open.
      expect(await within(open[1] as ReadableStreamDefaultReader<Uint8Array>, 300)).toBe('open');
      expect(await within(other, 300)).toBe('open');
    } finally {
      for (const r of open) await r.cancel().catch(() => undefined);
    }
  });
});

describe('poke coalescing', () => {
  it('a burst of pushes gives a few pokes, the last with the final head; a quiet push is poked at once', async () => {
    // An interval long enough that "at once" and "coalesced" cannot be confused.
    const w = await warehouseServer({ pokeIntervalMs: 1500 });
    server = w.server;
    const base = await server.listen();
    const op1 = new Device(server, await server.login('op1', 'op1-password'));
    const open = async () => {
      const { ticket } = (await (
        await fetch(`${base}/api/auth/ticket`, {
          method: 'POST',
          headers: { authorization: `Bearer ${op1.token}` },
        })
      ).json()) as { ticket: string };
      return fetch(`${base}/sync/stream?ticket=${encodeURIComponent(ticket)}`);
    };
    const heads = (frames: string[]) =>
      frames
        .filter((f) => f.includes('event: poke'))
        .map((f) => Number(/data: \{"head":(\d+)\}/.exec(f)?.[1]));

    // A quiet push: its poke follows its commit without waiting out an interval.
    const quiet = await open();
    await new Promise((r) => setTimeout(r, 1600)); // a quiet interval
    const started = performance.now();
    const pushedQuiet = w.supervisor.pushOk([
      w.supervisor.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 1 }),
    ]);
    const quietFrames = await readFrames(quiet, (f) => heads(f).length >= 2);
    const { head: quietHead } = await pushedQuiet;
    expect(heads(quietFrames).at(-1)).toBe(quietHead);
    expect(performance.now() - started).toBeLessThan(1000); // not held for the interval

    // A burst of 40 single-scan pushes from 4 devices: far fewer pokes than commits, and the
    // newest head always arrives.
    const stream = await open();
    const devices = [
      w.supervisor,
      ...(await Promise.all(
        ['op2', 'op2', 'op1'].map(
          async (u) => new Device(server, await server.login(u, `${u}-password`)),
        ),
      )),
    ];
    const burstStarted = performance.now();
    const burst = Promise.all(
      devices.map(async (d) => {
        let last = 0;
        for (let i = 0; i < 10; i++) {
          last = (
            await d.pushOk([
              d.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 1 }),
            ])
          ).head;
        }
        return last;
      }),
    );
    const finalHead = Math.max(...(await burst));
    const frames = await readFrames(stream, (f) => heads(f).at(-1) === finalHead);
    const seen = heads(frames);
    expect(seen.at(-1)).toBe(finalHead);
    // The connect poke, the first of the burst at once, then one per 1.5 s at most.
    expect(seen.length).toBeLessThanOrEqual(
      3 + Math.ceil((performance.now() - burstStarted) / 1500),
    );
    expect(seen).toEqual([...seen].sort((a, b) => a - b)); // never backwards
  });
});

describe('SSE tickets', () => {
  it('open streams until they expire (a reconnect reuses the URL), and are refused once the device is revoked', async () => {
    const w = await warehouseServer();
    server = w.server;
    const base = await server.listen();
    const op1 = new Device(server, await server.login('op1', 'op1-password'));
    await op1.pull(0); // binds the session to its device
    const ticketOf = async () =>
      (
        (await (
          await server.request('/api/auth/ticket', { method: 'POST', token: op1.token })
        ).json()) as { ticket: string }
      ).ticket;
    const ticket = await ticketOf();
    const first = await fetch(`${base}/sync/stream?ticket=${encodeURIComponent(ticket)}`);
    expect(first.status).toBe(200);
    await first.body?.cancel();
    const reconnect = await fetch(`${base}/sync/stream?ticket=${encodeURIComponent(ticket)}`);
    expect(reconnect.status).toBe(200);
    await reconnect.body?.cancel();
    await server.request(`/api/devices/${op1.clientGroupID}/revoke`, {
      method: 'POST',
      token: w.admin,
    });
    // The same, still fresh ticket: the device's revocation is checked at every use.
    const revoked = await server.request(`/sync/stream?ticket=${encodeURIComponent(ticket)}`);
    expect(revoked.status).toBe(401);
    expect(((await revoked.json()) as { detail: string }).detail).toMatch(/revoked/);
  });
});

describe('SSE tickets and sign-out', () => {
  it('a ticket opens streams only while the session that took it lives: logout, a new password, deactivation', async () => {
    const w = await warehouseServer();
    server = w.server;
    await server.listen();
    const users = (await (await server.request('/api/users', { token: w.admin })).json()) as {
      id: string;
      username: string;
    }[];
    const idOf = (name: string) => users.find((u) => u.username === name)?.id ?? '';
    const ticketOf = async (token: string) =>
      (
        (await (await server.request('/api/auth/ticket', { method: 'POST', token })).json()) as {
          ticket: string;
        }
      ).ticket;
    const opens = async (ticket: string) => {
      const res = await server.request(`/sync/stream?ticket=${encodeURIComponent(ticket)}`);
      const status = res.status;
      if (status !== 200) {
        expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
        expect(((await res.json()) as { detail: string }).detail).toMatch(
          /session|revoked|deactivated/,
        );
      } else await res.body?.cancel();
      return status;
    };
    // op1 on two devices (one session bound to its device by a pull, one never bound: an API
    // client that signed in without a device), op2 on one.
    const a = new Device(server, await server.login('op1', 'op1-password'));
    const b = new Device(server, await server.login('op1', 'op1-password'));
    const unbound = await server.login('op1', 'op1-password');
    const other = new Device(server, await server.login('op2', 'op2-password'));
    for (const d of [a, b, other]) await d.pull(0);
    const [ta, tb, tUnbound, tOther] = [
      await ticketOf(a.token),
      await ticketOf(b.token),
      await ticketOf(unbound),
      await ticketOf(other.token),
    ];
    expect(await Promise.all([ta, tb, tUnbound, tOther].map(opens))).toEqual([200, 200, 200, 200]);

    const logout = (token: string) => server.request('/api/auth/logout', { method: 'POST', token });
    expect((await logout(a.token)).status).toBe(204);
    expect((await logout(unbound)).status).toBe(204);
    expect(await Promise.all([ta, tb, tUnbound, tOther].map(opens))).toEqual([401, 200, 401, 200]);
    // A signed-out session takes no new ticket.
    expect(
      (await server.request('/api/auth/ticket', { method: 'POST', token: a.token })).status,
    ).toBe(401);

    const patch = (id: string, json: Record<string, unknown>) =>
      server.request(`/api/users/${id}`, { method: 'PATCH', token: w.admin, json });
    expect((await patch(idOf('op1'), { password: 'a-brand-new-password' })).status).toBe(200);
    expect(await Promise.all([tb, tOther].map(opens))).toEqual([401, 200]);
    expect((await patch(idOf('op2'), { active: false })).status).toBe(200);
    expect(await opens(tOther)).toBe(401);
  });
});
