import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { NewEvent, Storage } from '../src/storage/port.js';
import { StorageUnavailableError } from '../src/storage/port.js';
import { openSqliteStorage } from '../src/storage/sqlite/sqlite-storage.js';
import { ADMIN_PASSWORD, Device, quantityAt, warehouseWithOperators } from './harness.js';
import type { TestServer } from './harness.js';

let server: TestServer;
afterEach(async () => {
  await server.close();
});

async function setup() {
  const w = await warehouseWithOperators();
  server = w.server;
  return w;
}

const eventsSince = async (token: string, after = 0) => {
  const res = await server.request(`/api/events?after=${after}&limit=2000`, { token });
  return (await res.json()) as {
    seq: number;
    type: string;
    data: Record<string, unknown>;
    meta: Record<string, unknown>;
  }[];
};

describe('push: exactly once', () => {
  it('scenario 2: a lost acknowledgement — the re-sent batch adds no events and no quantity, and reports the outcome', async () => {
    const { op1, admin } = await setup();
    const batch = [
      op1.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 4 }),
      op1.mutation('moveStock', { itemId: 'A', from: 'P', to: 'Q', quantity: 1 }),
    ];
    const first = await op1.pushOk(batch);
    expect(first.results.map((r) => r.status)).toEqual(['applied', 'applied']);
    const head = first.head;
    // The response "never arrived": the device sends the very same batch again.
    const again = await op1.pushOk(batch);
    expect(again.results.map((r) => r.status)).toEqual(['duplicate', 'duplicate']);
    expect(again.results.map((r) => r.seqs)).toEqual(first.results.map((r) => r.seqs));
    expect(again.head).toBe(head);
    expect(await quantityAt(server, admin, 'A', 'P')).toBe(3);
    expect(await quantityAt(server, admin, 'A', 'Q')).toBe(1);
    expect(
      (await eventsSince(admin)).filter((e) => e.meta['clientID'] === op1.clientID),
    ).toHaveLength(2);
  });

  it('run twice: a rejected mutation re-sent is a duplicate that still reports its rejection', async () => {
    const { op1 } = await setup();
    const m = op1.mutation('moveStock', { itemId: 'A', from: 'P', to: 'P', quantity: 1 });
    const first = await op1.pushOk([m]);
    const second = await op1.pushOk([m]);
    expect(first.results[0]).toMatchObject({
      status: 'rejected',
      error: { code: 'SAME_POSITION' },
    });
    expect(second.results[0]).toMatchObject({
      status: 'duplicate',
      error: { code: 'SAME_POSITION' },
      seqs: first.results[0]?.seqs,
    });
  });

  it('scenario 3: a gap is answered with the expected id and nothing past it is applied', async () => {
    const { op1, admin } = await setup();
    await op1.pushOk([op1.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 1 })]);
    op1.next = 5; // ids 2–4 were never sent
    const res = await op1.pushOk([
      op1.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 10 }),
      op1.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 10 }),
    ]);
    expect(res.results).toEqual([
      { clientID: op1.clientID, id: 5, status: 'gap', expectedID: 2 },
      { clientID: op1.clientID, id: 6, status: 'gap', expectedID: 2 },
    ]);
    expect(await quantityAt(server, admin, 'A', 'P')).toBe(1);
  });

  it('scenario 3: a first mutation id that skips exactly one is a gap; with the missing one sent, all apply', async () => {
    const { op1, admin } = await setup();
    await op1.pushOk([op1.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 1 })]);
    const second = op1.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 2 });
    const third = op1.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 4 });
    const skipped = await op1.pushOk([third]);
    expect(skipped.results).toEqual([
      { clientID: op1.clientID, id: 3, status: 'gap', expectedID: 2 },
    ]);
    expect(await quantityAt(server, admin, 'A', 'P')).toBe(1);
    const whole = await op1.pushOk([second, third]);
    expect(whole.results.map((r) => [r.id, r.status])).toEqual([
      [2, 'applied'],
      [3, 'applied'],
    ]);
    expect(await quantityAt(server, admin, 'A', 'P')).toBe(7);
  });

  it('a gap for one client does not stop another client in the same request', async () => {
    const { op1, admin } = await setup();
    const other = new Device(server, op1.token, op1.clientGroupID); // second tab of the same device
    other.next = 3;
    const res = await op1.pushOk([
      other.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 9 }),
      op1.mutation('receiveStock', { itemId: 'A', positionId: 'Q', quantity: 2 }),
    ]);
    expect(res.results.map((r) => r.status)).toEqual(['gap', 'applied']);
    expect(await quantityAt(server, admin, 'A', 'Q')).toBe(2);
  });

  it('scenario 4: mutation 17 of 50 is rejected with a reason; 1–16 and 18–50 are processed; the queue is not blocked', async () => {
    const { op1, admin } = await setup();
    const batch = Array.from({ length: 50 }, (_, i) =>
      i === 16
        ? op1.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: -3 })
        : op1.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 1 }),
    );
    const res = await op1.pushOk(batch);
    expect(res.results).toHaveLength(50);
    const rejected = res.results.filter((r) => r.status === 'rejected');
    expect(rejected.map((r) => r.id)).toEqual([17]);
    expect(rejected[0]?.error?.code).toBe('VALIDATION_FAILED');
    expect(rejected[0]?.error?.message).toMatch(/quantity must be greater than 0/);
    expect(res.results.filter((r) => r.status === 'applied')).toHaveLength(49);
    expect(await quantityAt(server, admin, 'A', 'P')).toBe(49);
    // Recorded in the log with its full payload, and a conflict keeps it from being lost.
    const events = await eventsSince(admin);
    const recorded = events.find((e) => e.type === 'MutationRejected');
    expect(recorded?.data).toMatchObject({
      code: 'VALIDATION_FAILED',
      mutation: { id: 17, name: 'receiveStock', args: { quantity: -3 } },
    });
    const conflicts = (await (
      await server.request('/api/conflicts?status=open', { token: admin })
    ).json()) as { kind: string; mutation: { id: number } }[];
    expect(conflicts).toEqual([
      expect.objectContaining({
        kind: 'invalid-command',
        mutation: expect.objectContaining({ id: 17 }),
      }),
    ]);
    // The next push goes on from 51.
    const next = await op1.pushOk([
      op1.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 1 }),
    ]);
    expect(next.results[0]).toMatchObject({ id: 51, status: 'applied' });
  });

  it('an unknown command inside a valid batch is a recorded rejection, not a failed request', async () => {
    const { op1, admin } = await setup();
    const res = await op1.pushOk([
      op1.mutation('teleportStock', { itemId: 'A' }),
      op1.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 1 }),
      // However long the name: the name is validated per mutation (SYNC-PROTOCOL.md).
      op1.mutation('x'.repeat(5000), {}),
    ]);
    expect(res.results.map((r) => [r.status, r.error?.code])).toEqual([
      ['rejected', 'UNKNOWN_COMMAND'],
      ['applied', undefined],
      ['rejected', 'UNKNOWN_COMMAND'],
    ]);
    // Recorded: a MutationRejected event each, at the seq the answer names, with the code.
    const log = await eventsSince(admin);
    for (const r of [res.results[0], res.results[2]]) {
      const e = log.find((x) => x.seq === r?.seqs?.[0]);
      expect(e).toMatchObject({
        type: 'MutationRejected',
        meta: { clientID: op1.clientID, mutationID: r?.id },
      });
      expect(JSON.stringify(e?.data)).toContain('UNKNOWN_COMMAND');
    }
  });
});

describe('two offline devices pick the last units (scenario 5)', () => {
  it('records both movements, shows −4 flagged, opens one conflict listing both, and an admin resolves it', async () => {
    const { supervisor, op1, op2, admin } = await setup();
    await supervisor.pushOk([
      supervisor.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 10 }),
    ]);
    const m1 = op1.mutation('moveStock', { itemId: 'A', from: 'P', to: 'Q', quantity: 8 });
    const m2 = op2.mutation('moveStock', { itemId: 'A', from: 'P', to: 'R', quantity: 6 });
    const r1 = await op1.pushOk([m1]);
    const r2 = await op2.pushOk([m2]);
    expect(r1.results[0]?.status).toBe('applied');
    expect(r2.results[0]).toMatchObject({ status: 'applied', conflicts: [expect.any(String)] });

    const stock = (await (
      await server.request('/api/stock?itemId=A&positionId=P', { token: admin })
    ).json()) as { quantity: number; negative?: boolean }[];
    expect(stock).toEqual([expect.objectContaining({ quantity: -4, negative: true })]);
    expect(await quantityAt(server, admin, 'A', 'Q')).toBe(8);
    expect(await quantityAt(server, admin, 'A', 'R')).toBe(6);

    const open = (await (
      await server.request('/api/conflicts?status=open', { token: admin })
    ).json()) as {
      id: string;
      kind: string;
      mutations: { clientID: string; mutationID: number }[];
    }[];
    expect(open).toHaveLength(1);
    expect(open[0]?.kind).toBe('negative-stock');
    expect(open[0]?.mutations).toEqual(
      expect.arrayContaining([
        { clientID: op1.clientID, mutationID: m1.id },
        { clientID: op2.clientID, mutationID: m2.id },
      ]),
    );

    // A recount finds P empty: the admin compensates +4 and the flag clears.
    const adminDevice = new Device(server, admin);
    const resolved = await adminDevice.pushOk([
      adminDevice.mutation('resolveConflict', {
        conflictId: open[0]?.id,
        action: 'compensate',
        note: 'recounted: P is empty',
        args: {
          name: 'adjustStock',
          args: { itemId: 'A', positionId: 'P', delta: 4, reason: 'conflict-resolution' },
        },
      }),
    ]);
    expect(resolved.results[0]?.status).toBe('applied');
    expect(
      await (await server.request('/api/stock?itemId=A&positionId=P', { token: admin })).json(),
    ).toEqual([]);
    const after = (await (
      await server.request('/api/conflicts?status=resolved', { token: admin })
    ).json()) as { id: string; resolution: { action: string; note: string } }[];
    expect(after).toEqual([
      expect.objectContaining({
        id: open[0]?.id,
        resolution: expect.objectContaining({
          action: 'compensate',
          note: 'recounted: P is empty',
        }),
      }),
    ]);

    // Both devices converge to the server's view: pulling from their cookies yields the same stream.
    const p1 = await op1.pull(0);
    const p2 = await op2.pull(0);
    expect(p1.patch).toEqual(p2.patch);
    expect(p1.cookie).toBe(resolved.head);
    expect(p2.cookie).toBe(resolved.head);
  });
});

describe('a pallet moves with everything in it (scenario 15, over the protocol)', () => {
  it('moving pallet C from P to Q takes a box in it and the goods in both along; the goods keep their places', async () => {
    const { op1, supervisor, admin } = await setup();
    await supervisor.pushOk([
      supervisor.mutation('definePosition', {
        positionId: 'T',
        code: 'T',
        kind: 'container',
        parentId: 'C',
      }),
      supervisor.mutation('definePosition', {
        positionId: 'B',
        code: 'B',
        kind: 'container',
        parentId: 'T',
      }),
    ]);
    const received = await op1.pushOk([
      op1.mutation('receiveStock', { itemId: 'A', positionId: 'C', quantity: 4 }),
      op1.mutation('receiveStock', { itemId: 'A', positionId: 'B', quantity: 3 }),
      op1.mutation('moveContainer', { containerId: 'C', to: 'Q' }),
    ]);
    expect(received.results.map((r) => r.status)).toEqual(['applied', 'applied', 'applied']);
    const positions = (await (await server.request('/api/positions', { token: admin })).json()) as {
      id: string;
      parentId?: string | null;
    }[];
    const parent = (id: string) => positions.find((p) => p.id === id)?.parentId;
    expect([parent('C'), parent('T'), parent('B')]).toEqual(['Q', 'C', 'T']);
    expect(await quantityAt(server, admin, 'A', 'C')).toBe(4);
    expect(await quantityAt(server, admin, 'A', 'B')).toBe(3);
    const moved = (await eventsSince(admin)).filter((e) => e.type === 'ContainerMoved');
    expect(moved.map((e) => e.data)).toEqual([{ containerId: 'C', from: 'P', to: 'Q' }]);
  });
});

describe('device time (scenario 11)', () => {
  it('a device clock 3 hours fast: ordering follows seq, occurredAt is kept and flagged', async () => {
    const { op1, op2, admin } = await setup();
    const serverNow = server.clock.ms;
    const fast = new Date(serverNow + 3 * 3600_000).toISOString();
    await op1.pushOk([
      op1.mutation(
        'receiveStock',
        { itemId: 'A', positionId: 'P', quantity: 1 },
        { occurredAt: fast },
      ),
    ]);
    server.clock.advance(1000);
    await op2.pushOk([
      op2.mutation(
        'receiveStock',
        { itemId: 'A', positionId: 'Q', quantity: 1 },
        { timestamp: server.clock.ms - 60_000 },
      ),
    ]);
    const events = (await eventsSince(admin)).filter((e) => e.type === 'StockReceived');
    expect(events.map((e) => e.data['positionId'])).toEqual(['P', 'Q']); // seq order = arrival order
    expect(events[0]?.meta).toMatchObject({ occurredAt: fast, occurredAtImplausible: true });
    expect(events[1]?.meta['occurredAtImplausible']).toBeUndefined();
    expect(events[1]?.meta['occurredAt']).toBe(new Date(server.clock.ms - 60_000).toISOString());
  });
});

describe('a serial scanned into two places', () => {
  it('cannot be accepted or dismissed while it is still in both: the admin compensates, then the conflict is resolved', async () => {
    const { op1, op2, admin } = await setup();
    await op1.pushOk([
      op1.mutation('receiveStock', { itemId: 'S', positionId: 'P', quantity: 1, serial: 'SN-9' }),
    ]);
    // op2 was offline and scanned the same serial in at Q: recorded, with a conflict.
    const second = await op2.pushOk([
      op2.mutation('receiveStock', { itemId: 'S', positionId: 'Q', quantity: 1, serial: 'SN-9' }),
    ]);
    expect(second.results[0]).toMatchObject({ status: 'applied', conflicts: [expect.any(String)] });
    const conflictId = second.results[0]?.conflicts?.[0] as string;

    const adminDevice = new Device(server, admin);
    const refused = await adminDevice.pushOk([
      adminDevice.mutation('resolveConflict', { conflictId, action: 'accept', note: 'fine' }),
      adminDevice.mutation('resolveConflict', { conflictId, action: 'dismiss', note: 'fine' }),
    ]);
    expect(refused.results.map((r) => [r.status, r.error?.code])).toEqual([
      ['rejected', 'SERIAL_ELSEWHERE'],
      ['rejected', 'SERIAL_ELSEWHERE'],
    ]);
    expect(refused.results[0]?.error?.message).toMatch(/still in stock at P, Q/);
    const still = (await (
      await server.request(`/api/conflicts/${conflictId}`, { token: admin })
    ).json()) as { status: string };
    expect(still.status).toBe('open');

    // It is at Q: taken out at P, and the conflict is resolved.
    const done = await adminDevice.pushOk([
      adminDevice.mutation('resolveConflict', {
        conflictId,
        action: 'compensate',
        note: 'it is at Q',
        args: {
          name: 'adjustStock',
          args: {
            itemId: 'S',
            positionId: 'P',
            delta: -1,
            reason: 'conflict-resolution',
            serial: 'SN-9',
          },
        },
      }),
    ]);
    expect(done.results[0]?.status).toBe('applied');
    expect(await quantityAt(server, admin, 'S', 'P')).toBe(0);
    expect(await quantityAt(server, admin, 'S', 'Q')).toBe(1);
    const after = (await (
      await server.request(`/api/conflicts/${conflictId}`, { token: admin })
    ).json()) as { status: string; resolution: { action: string } };
    expect(after).toMatchObject({ status: 'resolved', resolution: { action: 'compensate' } });
  });
});

describe('a serial produced where it already is', () => {
  it('re-applying the production elsewhere is refused: it would put the serial in two places', async () => {
    const { op1, op2, supervisor: sup, admin } = await setup();
    const jobId = '0192f0c8-0000-7000-8000-00000000f001';
    await sup.pushOk([
      sup.mutation('createProductionJob', { jobId, code: 'J-1', itemId: 'S' }),
      sup.mutation('startProductionJob', { jobId }),
    ]);
    await op1.pushOk([
      op1.mutation('receiveStock', { itemId: 'S', positionId: 'P', quantity: 1, serial: 'SN-7' }),
    ]);
    const produced = await op2.pushOk([
      op2.mutation('produceForJob', {
        jobId,
        itemId: 'S',
        to: 'Q',
        quantity: 1,
        serial: 'SN-7',
      }),
    ]);
    expect(produced.results[0]).toMatchObject({
      status: 'applied',
      conflicts: [expect.any(String)],
    });
    const conflictId = produced.results[0]?.conflicts?.[0] as string;
    const adminDevice = new Device(server, admin);
    // Settled on the floor: it was never made at Q.
    await adminDevice.pushOk([
      adminDevice.mutation('adjustStock', {
        itemId: 'S',
        positionId: 'Q',
        delta: -1,
        reason: 'other',
        serial: 'SN-7',
      }),
    ]);
    const reapplied = await adminDevice.pushOk([
      adminDevice.mutation('resolveConflict', {
        conflictId,
        action: 'reapply',
        note: 'made at R',
        args: { jobId, itemId: 'S', to: 'R', quantity: 1, serial: 'SN-7' },
      }),
    ]);
    expect(reapplied.results[0]).toMatchObject({
      status: 'rejected',
      error: { code: 'SERIAL_ELSEWHERE' },
    });
    expect(reapplied.results[0]?.error?.message).toMatch(/would still be in stock at P, R/);
    expect(await quantityAt(server, admin, 'S', 'R')).toBe(0);
    const accepted = await adminDevice.pushOk([
      adminDevice.mutation('resolveConflict', { conflictId, action: 'accept', note: 'at P' }),
    ]);
    expect(accepted.results[0]?.status).toBe('applied');
  });
});

describe('roles and devices (scenario 25)', () => {
  it('an operator cannot define items, reverse movements or resolve conflicts: recorded as rejected, forbidden', async () => {
    const { op1, admin } = await setup();
    const res = await op1.pushOk([
      op1.mutation('defineItem', { itemId: 'X', sku: 'X', name: 'X', tracking: 'none' }),
      op1.mutation('reverseMovement', { eventId: 'whatever' }),
      op1.mutation('resolveConflict', { conflictId: 'cf', action: 'dismiss', note: 'n' }),
    ]);
    expect(res.results.map((r) => [r.status, r.error?.code])).toEqual([
      ['rejected', 'FORBIDDEN'],
      ['rejected', 'FORBIDDEN'],
      ['rejected', 'FORBIDDEN'],
    ]);
    const kinds = (
      (await (await server.request('/api/conflicts', { token: admin })).json()) as {
        kind: string;
      }[]
    ).map((c) => c.kind);
    expect(kinds).toEqual(['forbidden', 'forbidden', 'forbidden']);
  });

  it('a missing or forged token gets 401 problem+json', async () => {
    await setup();
    // A forged token as real ones look (256 random bits, base64url), and a plain string.
    const forged = randomBytes(32).toString('base64url');
    for (const token of [undefined, 'forged-token', forged]) {
      const res = await server.request('/sync/push', {
        method: 'POST',
        ...(token ? { token } : {}),
        json: { pushVersion: 1, clientGroupID: 'g', mutations: [] },
      });
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(await res.json()).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    }
  });

  it('a device cannot push for a client group bound to another device', async () => {
    const { op1, admin } = await setup();
    await op1.pushOk([op1.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 1 })]);
    const stolen = new Device(server, op1.token); // same token, another client group
    const res = await stolen.push([
      stolen.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 1 }),
    ]);
    expect(res.status).toBe(403);
    // A session of another device cannot push for op1's client either.
    const op2token = await server.login('op2', 'op2-password');
    const intruder = new Device(server, op2token, `g-other`, op1.clientID);
    intruder.next = 2;
    const res2 = await intruder.push([
      intruder.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 1 }),
    ]);
    expect(res2.status).toBe(403);
    expect(await res2.json()).toMatchObject({ code: 'FORBIDDEN' });
    // A device (op2's session, bound to its own handheld) pushing for op1's client group.
    const op2 = await server.login('op2', 'op2-password', 'g-op2-handheld');
    const intoOp1 = new Device(server, op2, op1.clientGroupID);
    const res3 = await intoOp1.push([
      intoOp1.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 1 }),
    ]);
    expect(res3.status).toBe(403);
    expect(await res3.json()).toMatchObject({ code: 'FORBIDDEN' });
    expect(await quantityAt(server, admin, 'A', 'P')).toBe(1);
  });

  it('a revoked device is refused, and its history stays', async () => {
    const { op1, admin } = await setup();
    await op1.pushOk([op1.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 2 })]);
    const revoke = await server.request(`/api/devices/${op1.clientGroupID}/revoke`, {
      method: 'POST',
      token: admin,
    });
    expect(revoke.status).toBe(200);
    expect(
      (
        await op1.push([
          op1.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 1 }),
        ])
      ).status,
    ).toBe(403);
    expect(await quantityAt(server, admin, 'A', 'P')).toBe(2);
  });
});

describe('shared handhelds and expired logins (scenario 6, server side)', () => {
  it('a queued scan is attributed to the operator who made it, even when pushed under the next shift’s login', async () => {
    const { op1, admin } = await setup();
    const users = (await (await server.request('/api/users', { token: admin })).json()) as {
      id: string;
      username: string;
    }[];
    const op1Id = users.find((u) => u.username === 'op1')?.id;
    const op2Id = users.find((u) => u.username === 'op2')?.id;
    // op1 scanned offline; their token expired during the shift.
    const queued = [
      op1.mutation(
        'receiveStock',
        { itemId: 'A', positionId: 'P', quantity: 3 },
        { userID: op1Id },
      ),
    ];
    await op1.pull(0); // op1 signed in on this device earlier (binds the group)
    server.clock.advance(13 * 3600_000);
    const expired = await op1.push(queued);
    expect(expired.status).toBe(401);
    const admin2 = await server.login('admin', ADMIN_PASSWORD); // the admin's token expired too
    expect(await quantityAt(server, admin2, 'A', 'P')).toBe(0); // a 401 changed nothing
    // op2 signs in on the same handheld; the same batch is re-sent.
    op1.token = await server.login('op2', 'op2-password', op1.clientGroupID);
    const res = await op1.pushOk(queued);
    expect(res.results[0]?.status).toBe('applied');
    const e = (await eventsSince(admin2)).find(
      (x) => x.type === 'StockReceived' && x.meta['clientID'] === op1.clientID,
    );
    expect(e?.meta['userId']).toBe(op1Id);
    expect(e?.meta['userId']).not.toBe(op2Id);
  });

  it('a userID that never signed in on this device is refused as forbidden', async () => {
    const { op1, admin } = await setup();
    const users = (await (await server.request('/api/users', { token: admin })).json()) as {
      id: string;
      username: string;
    }[];
    const supId = users.find((u) => u.username === 'sup')?.id;
    const op1Id = users.find((u) => u.username === 'op1')?.id;
    const res = await op1.pushOk([
      op1.mutation(
        'defineItem',
        { itemId: 'Z', sku: 'Z', name: 'Z', tracking: 'none' },
        { userID: supId },
      ),
    ]);
    expect(res.results[0]).toMatchObject({ status: 'rejected', error: { code: 'FORBIDDEN' } });
    // An attribution refused is no identity: the rejection is the pushing session's (the
    // claim stays in the recorded mutation), and so is its conflict, which op1 then sees.
    const rejected = (await eventsSince(admin)).find(
      (e) => e.type === 'MutationRejected' && e.meta['clientID'] === op1.clientID,
    );
    expect(rejected?.meta['userId']).toBe(op1Id);
    expect((rejected?.data['mutation'] as { userID?: string } | undefined)?.userID).toBe(supId);
    const mine = (await (await server.request('/api/conflicts', { token: op1.token })).json()) as {
      id: string;
      seqs: number[];
    }[];
    expect(mine.map((c) => c.seqs)).toContainEqual([rejected?.seq]);
  });
});

describe('bad input (scenario 26): a clear 4xx and nothing half-written', () => {
  const headOf = async () =>
    ((await (await server.request('/health')).json()) as { head: number }).head;

  it('malformed JSON, wrong envelope types, 10 MB bodies, 5,000-mutation batches', async () => {
    const { op1 } = await setup();
    const before = await headOf();
    const post = (body: string | undefined, headers: Record<string, string> = {}) =>
      server.request('/sync/push', {
        method: 'POST',
        token: op1.token,
        headers: { 'content-type': 'application/json', ...headers },
        ...(body !== undefined ? { body } : {}),
      });

    const malformed = await post('{"pushVersion": 1, "mutations": [');
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ code: 'MALFORMED_JSON', status: 400 });

    const wrongTypes = await post(
      JSON.stringify({
        pushVersion: 1,
        clientGroupID: op1.clientGroupID,
        mutations: [{ clientID: op1.clientID, id: 'one', name: 'receiveStock', args: {} }],
      }),
    );
    expect(wrongTypes.status).toBe(400);
    expect(((await wrongTypes.json()) as { detail: string }).detail).toMatch(/mutations\.0\.id/);

    const huge = await post(
      JSON.stringify({
        pushVersion: 1,
        clientGroupID: op1.clientGroupID,
        mutations: [],
        pad: 'x'.repeat(10 * 1024 * 1024),
      }),
    );
    expect(huge.status).toBe(413);
    expect(huge.headers.get('content-type')).toBe('application/problem+json');

    const many = Array.from({ length: 5000 }, (_, i) => ({
      clientID: op1.clientID,
      id: i + 1,
      name: 'receiveStock',
      args: { itemId: 'A', positionId: 'P', quantity: 1 },
    }));
    const tooMany = await post(
      JSON.stringify({ pushVersion: 1, clientGroupID: op1.clientGroupID, mutations: many }),
    );
    expect(tooMany.status).toBe(413);
    // One over the limit is 413 too, even with a malformed mutation among them: the count is
    // decided first ("answered 413 reliably").
    const oneOver = many.slice(0, 1001).map((m, i) => (i === 500 ? { ...m, id: 0 } : m));
    const oneOverAnswer = await post(
      JSON.stringify({ pushVersion: 1, clientGroupID: op1.clientGroupID, mutations: oneOver }),
    );
    expect(oneOverAnswer.status).toBe(413);
    expect(((await oneOverAnswer.json()) as { code: string }).code).toBe('PAYLOAD_TOO_LARGE');
    expect(await headOf()).toBe(before);
  });

  it('over a real socket: bodies read from the stream, limits with and without content-length', async () => {
    const { op1 } = await setup();
    const before = await headOf();
    const base = await server.listen();
    const send = (body: string, chunked: boolean) =>
      new Promise<{ status: number; type: string; text: string }>((resolve, reject) => {
        const url = new URL('/sync/push', base);
        const req = http.request(
          {
            host: url.hostname,
            port: url.port,
            path: url.pathname,
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              authorization: `Bearer ${op1.token}`,
              // Without content-length Node sends the body chunked: the limit must hold anyway.
              ...(chunked ? {} : { 'content-length': Buffer.byteLength(body) }),
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                type: String(res.headers['content-type']),
                text: Buffer.concat(chunks).toString(),
              }),
            );
          },
        );
        req.on('error', reject);
        if (chunked)
          for (let i = 0; i < body.length; i += 65536) req.write(body.slice(i, i + 65536));
        req.end(chunked ? undefined : body);
      });

    const good = JSON.stringify({
      pushVersion: 1,
      clientGroupID: op1.clientGroupID,
      mutations: [op1.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 2 })],
    });
    for (const chunked of [false, true]) {
      const ok = await send(good, chunked);
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.text)).toMatchObject({
        results: [{ status: chunked ? 'duplicate' : 'applied' }],
      });
    }
    const huge = JSON.stringify({
      pushVersion: 1,
      clientGroupID: op1.clientGroupID,
      mutations: [],
      pad: 'x'.repeat(10 * 1024 * 1024),
    });
    for (const chunked of [false, true]) {
      const res = await send(huge, chunked);
      expect(res.status).toBe(413);
      expect(res.type).toBe('application/problem+json');
      expect(JSON.parse(res.text)).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    }
    const broken = await send('{"pushVersion": 1, "mut', true);
    expect(broken.status).toBe(400);
    expect(await headOf()).toBe(before + 1);
  });

  it('NaN, negative and string quantities are per-mutation rejections with reasons', async () => {
    const { op1, admin } = await setup();
    // JSON has no NaN: a client that serialises NaN sends null.
    const res = await op1.pushOk([
      op1.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: null }),
      op1.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: -1 }),
      op1.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: '5' }),
    ]);
    expect(res.results.map((r) => r.error?.code)).toEqual([
      'VALIDATION_FAILED',
      'VALIDATION_FAILED',
      'VALIDATION_FAILED',
    ]);
    expect(await quantityAt(server, admin, 'A', 'P')).toBe(0);
  });

  it('answers version mismatches the way Replicache expects', async () => {
    const { op1 } = await setup();
    const push = await op1.push([], { pushVersion: 0 });
    expect(await push.json()).toEqual({ error: 'VersionNotSupported', versionType: 'push' });
    const schema = await op1.push([], { schemaVersion: '99' });
    expect(await schema.json()).toEqual({ error: 'VersionNotSupported', versionType: 'schema' });
    const pull = await server.request('/sync/pull', {
      method: 'POST',
      token: op1.token,
      json: { pullVersion: 0, clientGroupID: op1.clientGroupID, cookie: null },
    });
    expect(await pull.json()).toEqual({ error: 'VersionNotSupported', versionType: 'pull' });
    // Decided before the rest is validated: a client of another schema is told so, whatever
    // else its request holds (here a mutation without args, and no cookie).
    const mixed = await op1.push([{ clientID: 'c', id: 0, name: 'x' }], {
      schemaVersion: '2',
    });
    expect(await mixed.json()).toEqual({ error: 'VersionNotSupported', versionType: 'schema' });
    const mixedPull = await server.request('/sync/pull', {
      method: 'POST',
      token: op1.token,
      json: { pullVersion: 1, clientGroupID: op1.clientGroupID, schemaVersion: '2' },
    });
    expect(await mixedPull.json()).toEqual({ error: 'VersionNotSupported', versionType: 'schema' });
  });
});

describe('a failure mid-request (scenario 26: nothing half-written)', () => {
  it('a store failure while replaying mutation 3 of 5 rolls back the whole request (503); a concurrent device commits; the re-send applies all 5', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'floorsync-fail-'));
    const base = openSqliteStorage({ path: path.join(dir, 'floorsync.db') });
    let failGroup: string | null = null;
    // The real SQLite store, with appendEvent failing for one device's third mutation.
    const storage: Storage = {
      read: (fn) => base.read(fn),
      close: () => base.close(),
      durable: () => base.durable(),
      write: (fn) =>
        base.write((tx) =>
          fn(
            new Proxy(tx, {
              get(target, prop, receiver) {
                if (prop === 'appendEvent') {
                  return (e: NewEvent) => {
                    if (e.clientGroupID === failGroup && e.meta.mutationID === 3)
                      throw new StorageUnavailableError('disk full');
                    return target.appendEvent(e);
                  };
                }
                const value: unknown = Reflect.get(target, prop, receiver);
                return typeof value === 'function'
                  ? (value as (...a: unknown[]) => unknown).bind(target)
                  : value;
              },
            }),
          ),
        ),
    };
    const w = await warehouseWithOperators({ storage });
    server = w.server;
    const { op1, op2 } = w;
    failGroup = op1.clientGroupID;
    const batch = Array.from({ length: 5 }, () =>
      op1.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 1 }),
    );
    const [failed, other] = await Promise.all([
      op1.push(batch),
      op2.pushOk([op2.mutation('receiveStock', { itemId: 'A', positionId: 'Q', quantity: 7 })]),
    ]);
    expect(failed.status).toBe(503);
    expect(failed.headers.get('content-type')).toBe('application/problem+json');
    expect(other.results[0]?.status).toBe('applied');
    expect(await quantityAt(server, w.admin, 'A', 'P')).toBe(0);
    expect(await quantityAt(server, w.admin, 'A', 'Q')).toBe(7);
    expect((await eventsSince(w.admin)).filter((e) => e.meta['clientID'] === op1.clientID)).toEqual(
      [],
    );
    failGroup = null;
    const again = await op1.pushOk(batch);
    expect(again.results.map((r) => r.status)).toEqual([
      'applied',
      'applied',
      'applied',
      'applied',
      'applied',
    ]);
    expect(await quantityAt(server, w.admin, 'A', 'P')).toBe(5);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('attribution never escalates', () => {
  it('an operator session cannot borrow the role of an admin who once signed in on the same handheld', async () => {
    const { op1, admin } = await setup();
    const users = (await (await server.request('/api/users', { token: admin })).json()) as {
      id: string;
      username: string;
    }[];
    const adminId = users.find((u) => u.username === 'admin')?.id;
    await server.login('admin', ADMIN_PASSWORD, op1.clientGroupID); // the admin used this handheld once
    const res = await op1.pushOk([
      op1.mutation(
        'defineItem',
        { itemId: 'Z', sku: 'Z', name: 'Z', tracking: 'none' },
        { userID: adminId },
      ),
    ]);
    expect(res.results[0]).toMatchObject({ status: 'rejected', error: { code: 'FORBIDDEN' } });
  });
});

describe('GET /api/conflicts: more than one answer holds', () => {
  it('answers the newest 1,000 and says how many there are; /metrics counts them all', async () => {
    const { op1, op2, admin } = await setup();
    // 1,003 conflicts: each lot shipped from an empty position is its own negative line.
    const lots = Array.from({ length: 1003 }, (_, i) => `L-${String(i).padStart(4, '0')}`);
    for (let i = 0; i < lots.length; i += 600) {
      const res = await op1.pushOk(
        lots
          .slice(i, i + 600)
          .map((lot) => op1.mutation('shipStock', { itemId: 'L', from: 'P', quantity: 1, lot })),
      );
      expect(res.results.every((r) => r.status === 'applied' && r.conflicts?.length === 1)).toBe(
        true,
      );
    }
    const res = await server.request('/api/conflicts?status=open', { token: admin });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-truncated')).toBe('1000');
    expect(res.headers.get('x-total-count')).toBe('1003');
    const list = (await res.json()) as { detail: { lot: string } }[];
    expect(list).toHaveLength(1000);
    // Newest first: the last three lots shipped are the first three answered.
    expect(list.slice(0, 3).map((c) => c.detail.lot)).toEqual(['L-1002', 'L-1001', 'L-1000']);
    // The operator's own: the same cut; another's: none, and no truncation said.
    const own = await server.request('/api/conflicts?status=open', { token: op1.token });
    expect(own.headers.get('x-total-count')).toBe('1003');
    expect(((await own.json()) as unknown[]).length).toBe(1000);
    const theirs = await server.request('/api/conflicts?status=open', { token: op2.token });
    expect(theirs.headers.get('x-truncated')).toBeNull();
    expect(theirs.headers.get('x-total-count')).toBe('0');
    expect(await theirs.json()).toEqual([]);
    const resolved = await server.request('/api/conflicts?status=resolved', { token: admin });
    expect(resolved.headers.get('x-truncated')).toBeNull();
    expect(resolved.headers.get('x-total-count')).toBe('0');

    const metrics = await (await server.request('/metrics', { token: admin })).text();
    expect(metrics).toMatch(/^floorsync_conflicts_open 1003$/m);
  });
});
