import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect, createInbox, headers } from '@nats-io/transport-node';
import type { Bench, BenchResult } from '../../scripts/bench-kit.js';
import { startNatsServer } from '../../scripts/nats-server.js';
import { natsBus } from '../src/bus/nats.js';
import { silentLogger } from '../src/log.js';
import { OutboxRelay } from '../src/relay.js';
import type { NewEvent } from '../src/storage/port.js';
import { openSqliteStorage } from '../src/storage/sqlite/sqlite-storage.js';

/**
 * The outbox relay's throughput to JetStream: a SQLite file holding 50,000 committed receipt
 * events (as the replay writes them), a real nats-server with file storage, and the relay
 * copying the whole log from seq 0 until the stream has it all (`relay.events_per_s`, target
 * ≥ 20,000). Printed beside it: the ceiling of JetStream on this machine in the same run
 * (pipelined publishes of the same bodies with message ids, no database), and the ratio.
 */
const EVENTS = 50_000;

const receipt = (n: number): NewEvent => ({
  id: `0190${n.toString(16).padStart(4, '0')}-aaaa-7000-8000-${String(n).padStart(12, '0')}`,
  type: 'StockReceived',
  data: {
    itemId: 'item-A',
    positionId: `bin-${n % 50}`,
    quantity: 1,
    lot: null,
    serial: null,
    movementId: `0190${n.toString(16).padStart(4, '0')}-bbbb-7000-8000-${String(n).padStart(12, '0')}`,
  },
  meta: {
    clientID: 'c-bench',
    mutationID: n,
    userId: 'u-bench',
    occurredAt: '2026-03-02T08:00:00.000Z',
    recordedAt: '2026-03-02T08:00:00.000Z',
    conflicts: [],
  },
  clientGroupID: 'g-bench',
});

export const benches: Bench[] = [
  {
    name: 'relay.events_per_s',
    async run() {
      let nats;
      try {
        nats = await startNatsServer();
      } catch (error) {
        process.stderr.write(`relay.events_per_s skipped: ${String(error)}\n`);
        return {};
      }
      const dir = mkdtempSync(path.join(tmpdir(), 'floorsync-relay-bench-'));
      const out: Record<string, BenchResult> = {};
      try {
        const storage = openSqliteStorage({ path: path.join(dir, 'floorsync.db') });
        for (let n = 1; n <= EVENTS; n += 1000)
          await storage.write((tx) => {
            for (let i = n; i < n + 1000; i++) tx.appendEvent(receipt(i));
          });
        const bodies = await storage.read((tx) =>
          tx.eventsAfter(0, EVENTS).map((e) => JSON.stringify(e)),
        );

        // The ceiling: JetStream alone, same bodies and message ids, 1,000 in flight.
        const bus = await natsBus({ url: nats.url, name: 'bench-relay', log: silentLogger });
        const nc = await connect({ servers: nats.url });
        const inbox = createInbox();
        let acked = 0;
        let wake: () => void = () => undefined;
        const sub = nc.subscribe(`${inbox}.*`, {
          callback: () => {
            acked++;
            wake();
          },
        });
        const t0 = performance.now();
        for (let i = 0; i < EVENTS; i++) {
          const h = headers();
          h.set('Nats-Msg-Id', `ceiling-${i}`);
          nc.publish('floorsync.events.Ceiling', bodies[i] ?? '', {
            headers: h,
            reply: `${inbox}.${i}`,
          });
          if (i - acked >= 1000) await new Promise<void>((r) => (wake = r));
        }
        while (acked < EVENTS) await new Promise<void>((r) => (wake = r));
        const ceiling = EVENTS / ((performance.now() - t0) / 1000);
        sub.unsubscribe();
        await nc.close();

        const relay = new OutboxRelay({
          storage,
          bus,
          log: silentLogger,
          now: () => Date.now(),
          holder: 'bench',
        });
        const t1 = performance.now();
        relay.start();
        while (relay.status().relayedTo < EVENTS) await new Promise((r) => setTimeout(r, 2));
        const perSecond = EVENTS / ((performance.now() - t1) / 1000);
        await relay.stop();
        await bus.close();
        await storage.close();
        out['relay.events_per_s'] = { value: perSecond, unit: 'events/s' };
        out['relay.jetstream_publish_per_s'] = { value: ceiling, unit: 'messages/s' };
        out['relay.vs_jetstream_ratio'] = { value: perSecond / ceiling, unit: 'ratio' };
      } finally {
        await nats.dispose();
        rmSync(dir, { recursive: true, force: true });
      }
      return out;
    },
  },
];
