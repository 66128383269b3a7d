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

describe('SSE tickets', () => {
  it('are single-use, and refused for a revoked device', async () => {
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
    const replay = await server.request(`/sync/stream?ticket=${encodeURIComponent(ticket)}`);
    expect(replay.status).toBe(401);
    const next = await ticketOf();
    await server.request(`/api/devices/${op1.clientGroupID}/revoke`, {
      method: 'POST',
      token: w.admin,
    });
    const revoked = await server.request(`/sync/stream?ticket=${encodeURIComponent(next)}`);
    expect(revoked.status).toBe(401);
    expect(((await revoked.json()) as { detail: string }).detail).toMatch(/revoked/);
  });
});
