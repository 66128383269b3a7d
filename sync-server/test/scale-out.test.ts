import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { STREAMS } from '@floorsync/domain';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeanPokeStream } from '../../scripts/lean-http.js';
import type { ServerProcess } from '../../scripts/server-process.js';
import { spawnServer } from '../../scripts/server-process.js';
import { natsBus } from '../src/bus/nats.js';
import type { BusEvent } from '../src/bus/port.js';
import { silentLogger } from '../src/log.js';
import type { NatsServer } from '../../scripts/nats-server.js';
import { startNatsServer } from '../../scripts/nats-server.js';

/**
 * Scale-out on one host: two sync server processes (the built `dist/main.js`) sharing one
 * SQLite file (WAL; writes serialise on its lock) and one real nats-server. A push through
 * instance A must reach a device connected to instance B (a poke, then a pull with the
 * event), and the outbox relay must bring every committed event to a durable consumer exactly
 * once, across a NATS restart in the middle of a burst.
 */
const PASSWORD = 'scale-out-admin-password';
let nats: NatsServer;
let a: ServerProcess;
let b: ServerProcess;
const dataDir = mkdtempSync(path.join(tmpdir(), 'floorsync-scale-out-'));

beforeAll(async () => {
  nats = await startNatsServer();
  const env = { DATA_DIR: dataDir, NATS_URL: nats.url, ADMIN_PASSWORD: PASSWORD, DEMO: '' };
  a = await spawnServer({ env }); // first: it creates the schema and the admin
  b = await spawnServer({ env });
  const supervisor = await new Remote(a.base, 'scale-sup').login();
  await supervisor.push([
    { name: 'defineItem', args: { itemId: 'A', sku: 'A', name: 'A', tracking: 'none' } },
    ...Array.from({ length: 10 }, (_, i) => ({
      name: 'definePosition',
      args: { positionId: `B${i}`, code: `B${i}`, kind: 'bin' },
    })),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await nats?.dispose();
  rmSync(dataDir, { recursive: true, force: true });
});

/** A device talking to one instance over HTTP. */
class Remote {
  next = 1;
  token = '';
  constructor(
    readonly base: string,
    readonly group: string,
  ) {}
  async call<T>(p: string, body: unknown): Promise<T> {
    const res = await fetch(this.base + p, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
      },
      body: JSON.stringify(body),
    });
    if (res.status !== 200) throw new Error(`${p}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }
  async login() {
    this.token = (
      await this.call<{ token: string }>('/api/auth/login', {
        username: 'admin',
        password: PASSWORD,
        clientGroupID: this.group,
      })
    ).token;
    return this;
  }
  push(mutations: { name: string; args: unknown }[]) {
    return this.call<{ results: { status: string }[]; head: number }>('/sync/push', {
      pushVersion: 1,
      clientGroupID: this.group,
      profileID: 'p',
      schemaVersion: '1',
      mutations: mutations.map((m) => ({
        clientID: `${this.group}-c`,
        id: this.next++,
        ...m,
        timestamp: Date.now(),
      })),
    });
  }
  pull(cookie: number | null) {
    return this.call<{ cookie: number; patch: { op: string; value?: { type?: string } }[] }>(
      '/sync/pull',
      { pullVersion: 1, clientGroupID: this.group, cookie, profileID: 'p', schemaVersion: '1' },
    );
  }
  async ticket() {
    return (await this.call<{ ticket: string }>('/api/auth/ticket', {})).ticket;
  }
}

async function until(check: () => boolean, what: string, ms: number) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const receipt = (i: number) => ({
  name: 'receiveStock',
  args: { itemId: 'A', positionId: `B${i % 10}`, quantity: 1 },
});

describe('two sync servers, one SQLite file, one NATS', () => {
  // How fast (issue 5: under 1 s) is measured by `npm run bench -- scaleout`, not here: this
  // machine is shared, and a timed test would fail on its noise rather than on the code.
  it('a push through A pokes a device on B, whose pull from B has the event', async () => {
    const onB = await new Remote(b.base, 'scale-watch').login();
    let cookie = (await onB.pull(null)).cookie; // caught up (a reset page + snapshot)
    const pokes: number[] = [];
    const stream = new LeanPokeStream(b.base, await onB.ticket(), (head) => pokes.push(head));
    try {
      await until(() => pokes.length > 0, 'the poke at connect', 5000);
      const onA = await new Remote(a.base, 'scale-scan').login();
      for (let round = 0; round < 3; round++) {
        const { head, results } = await onA.push([receipt(round)]);
        expect(results[0]?.status).toBe('applied');
        await until(() => (pokes.at(-1) ?? 0) >= head, `B's poke for head ${head}`, 10_000);
        const page = await onB.pull(cookie);
        expect(page.cookie).toBeGreaterThanOrEqual(head);
        expect(page.patch.map((op) => op.value?.type)).toContain('StockReceived');
        cookie = page.cookie;
        await new Promise((r) => setTimeout(r, 300)); // a quiet interval: the next poke goes at once
      }
      // B's read API sees A's writes too (its caches noticed the other process).
      const stock = await fetch(`${b.base}/api/stock?itemId=A`, {
        headers: { authorization: `Bearer ${onB.token}` },
      });
      expect(stock.status).toBe(200);
      expect(JSON.stringify(await stock.json())).toContain('B1');
    } finally {
      stream.close();
    }
  });

  it('NATS restarts in the middle of a burst of 10,000 events: each reaches a durable consumer exactly once', async () => {
    const counts = new Map<number, number>();
    const order: number[] = [];
    const consumerBus = await natsBus({ url: nats.url, name: 'test-consumer', log: silentLogger });
    const consumer = await consumerBus.consumeEvents(
      'scale-out-test',
      (e: BusEvent) => {
        counts.set(e.seq, (counts.get(e.seq) ?? 0) + 1);
        order.push(e.seq);
        return Promise.resolve();
      },
      { retryMs: 100 },
    );
    try {
      const writers = await Promise.all(
        [a, b, a, b].map((s, i) => new Remote(s.base, `burst-${i}`).login()),
      );
      // 100 pushes of 100 receipts, spread over both instances; NATS restarts after a third.
      let pushed = 0;
      const restarts: Promise<void>[] = [];
      await Promise.all(
        writers.map(async (w) => {
          for (let k = 0; k < 25; k++) {
            const res = await w.push(Array.from({ length: 100 }, (_, i) => receipt(i)));
            expect(res.results.every((r) => r.status === 'applied')).toBe(true);
            pushed++;
            if (pushed === 33) restarts.push(nats.restart());
          }
        }),
      );
      await Promise.all(restarts);
      expect(restarts).toHaveLength(1);
      const head = ((await (await fetch(`${a.base}/health`)).json()) as { head: number }).head;
      const health = async () =>
        JSON.stringify(
          await Promise.all([a, b].map(async (s) => (await fetch(`${s.base}/health`)).text())),
        );
      await until(() => counts.size >= head, `all ${head} events at the consumer`, 60_000).catch(
        async (e: unknown) => {
          const nc = await connect({ servers: nats.url });
          const ci = await (
            await jetstreamManager(nc)
          ).consumers.info(STREAMS.events, 'scale-out-test');
          await nc.close();
          throw new Error(
            `${String(e)}; the consumer has ${counts.size}; ${await health()}; ${JSON.stringify({ delivered: ci.delivered, ack_floor: ci.ack_floor, num_ack_pending: ci.num_ack_pending, num_redelivered: ci.num_redelivered, num_waiting: ci.num_waiting, num_pending: ci.num_pending })}`,
          );
        },
      );
      await new Promise((r) => setTimeout(r, 300)); // anything late and doubled would show now
      expect(pushed).toBe(100);
      expect(counts.size).toBe(head);
      expect([...counts.values()].every((n) => n === 1)).toBe(true);
      expect(order).toEqual(Array.from({ length: head }, (_, i) => i + 1));
      // The stream itself holds each event once.
      const nc = await connect({ servers: nats.url });
      const info = await (await jetstreamManager(nc)).streams.info(STREAMS.events);
      await nc.close();
      expect(info.state.messages).toBe(head);
    } finally {
      await consumer.stop();
      await consumerBus.close();
    }
  }, 120_000);
});
