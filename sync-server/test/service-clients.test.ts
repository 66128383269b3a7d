import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, Device, warehouseServer } from './harness.js';
import type { TestServer } from './harness.js';

let server: TestServer;
afterEach(async () => {
  await server.close();
});

const head = async () =>
  ((await (await server.request('/health')).json()) as { head: number }).head;
const detail = async (res: Response) => ((await res.json()) as { detail: string }).detail;

// A job's client (`job-<id>`) counts how far the job got by its lastMutationID; a count
// session's id reaches every operator's device. Before, an operator could push junk as
// `job-<session>` until the apply job thought its work done, or claim the client ID for their own
// device so the job's pushes were refused: the count corrections were never booked.
describe('the server’s own clients (job-…, erp-…, labels, server) are not an operator’s', () => {
  it('an operator cannot sign in, push or pull as one, nor push with one as client ID; nothing is written', async () => {
    const w = await warehouseServer();
    server = w.server;
    const before = await head();

    for (const group of ['job-0190f0a0-session', 'erp-folder', 'labels', 'server']) {
      const login = await server.request('/api/auth/login', {
        method: 'POST',
        json: { username: 'op1', password: 'op1-password', clientGroupID: group },
      });
      expect(login.status).toBe(403);
      expect(await detail(login)).toMatch(/the server's own client/);

      const op = new Device(server, await server.login('op1', 'op1-password'), group, group);
      const push = await op.push([
        op.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 1 }),
      ]);
      expect(push.status).toBe(403);
      await expect(op.pull(0)).rejects.toThrow(/pull: 403/);
    }

    // Bound to a device of its own, with a job's client ID in the batch.
    const own = new Device(server, await server.login('op1', 'op1-password'));
    await own.pull(0);
    const res = await own.push([
      own.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 1 }),
      own.mutation(
        'receiveStock',
        { itemId: 'A', positionId: 'P', quantity: 1 },
        { clientID: 'job-0190f0a0-session' },
      ),
    ]);
    expect(res.status).toBe(403);
    expect(await head()).toBe(before);
    // Its own clients still push (the refused batch took no mutation ids).
    own.next = 1;
    await own.pushOk([own.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 1 })]);
    expect(await head()).toBe(before + 1);
  });

  it('the worker account is a supervisor: a supervisor (or an admin) may sync as one', async () => {
    const w = await warehouseServer();
    server = w.server;
    for (const [username, password, group] of [
      ['sup', 'sup-password', 'job-a'],
      ['admin', ADMIN_PASSWORD, 'job-b'],
    ] as const) {
      const d = new Device(server, await server.login(username, password, group), group, group);
      const r = await d.pushOk([
        d.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 1 }),
      ]);
      expect(r.results.map((x) => x.status)).toEqual(['applied']);
    }
  });
});
