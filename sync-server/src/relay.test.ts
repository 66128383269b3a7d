import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { inProcessBus } from './bus/in-process.js';
import type { Bus, BusEvent } from './bus/port.js';
import { BusUnavailableError } from './bus/port.js';
import { silentLogger } from './log.js';
import { OutboxRelay, RELAY } from './relay.js';
import type { NewEvent, Storage } from './storage/port.js';
import { openSqliteStorage } from './storage/sqlite/sqlite-storage.js';

const root = mkdtempSync(path.join(tmpdir(), 'floorsync-relay-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let files = 0;
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const T0 = '2026-03-02T08:00:00.000Z';
let ids = 0;
const event = (): NewEvent => {
  const n = ++ids;
  return {
    id: `0190aaaa-0000-7000-8000-${String(n).padStart(12, '0')}`,
    type: 'MutationRejected',
    data: { n },
    meta: {
      clientID: 'c1',
      mutationID: n,
      userId: 'u1',
      occurredAt: T0,
      recordedAt: T0,
      conflicts: [],
    },
    clientGroupID: 'g1',
  };
};

function openStore(file = path.join(root, `relay-${++files}.db`), syncWal?: () => Promise<void>) {
  const s = openSqliteStorage({ path: file, ...(syncWal ? { syncWal } : {}) });
  cleanup.push(() => s.close());
  return { s, file };
}
const append = (s: Storage, n: number) =>
  s.write((tx) => {
    for (let i = 0; i < n; i++) tx.appendEvent(event());
  });

/** A bus that records what it is asked to append, and can be taken down. */
function recording(inner: Bus) {
  const appended: number[] = [];
  const state = { down: false };
  const bus: Bus = {
    ...inner,
    appendEvents(events) {
      if (state.down) return Promise.reject(new BusUnavailableError('NATS is down (test)'));
      appended.push(...events.map((e) => e.seq));
      return inner.appendEvents(events);
    },
  };
  return { bus, appended, state };
}

const relayOn = (
  s: Storage,
  bus: Bus,
  holder = 'p1',
  extra: Partial<ConstructorParameters<typeof OutboxRelay>[0]> = {},
) => {
  const r = new OutboxRelay({
    storage: s,
    bus,
    log: silentLogger,
    now: () => Date.now(),
    holder,
    idleMs: 20,
    maxBackoffMs: 40,
    ...extra,
  });
  cleanup.push(() => r.stop());
  return r;
};

async function until(check: () => boolean, what: string, ms = 5000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function consumer(bus: Bus) {
  const seen: BusEvent[] = [];
  const c = await bus.consumeEvents('test', (e) => {
    seen.push(e);
    return Promise.resolve();
  });
  cleanup.push(() => c.stop());
  return seen;
}

describe('outbox relay', () => {
  it('copies the committed log to the stream in seq order, the event as a pull serves it', async () => {
    const { s } = openStore();
    const bus = inProcessBus();
    const seen = await consumer(bus);
    await append(s, 5);
    const r = relayOn(s, bus, 'p1', { batch: 3 });
    r.start();
    await append(s, 4);
    r.wake();
    await until(() => seen.length === 9, '9 events');
    expect(seen.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const stored = await s.read((tx) => tx.eventsAfter(6, 1)[0]);
    expect(seen[6]).toEqual({
      seq: 7,
      id: stored?.id,
      type: 'MutationRejected',
      json: JSON.stringify(stored),
    });
    await until(() => r.status().relayedTo === 9, 'status');
    expect(r.status()).toMatchObject({ leader: true, failing: false, published: 9 });
  });

  it('resumes where it got to after a restart: nothing sent twice', async () => {
    const { s } = openStore();
    const inner = inProcessBus();
    const { bus, appended } = recording(inner);
    await append(s, 10);
    const first = relayOn(s, bus);
    first.start();
    await until(() => appended.length === 10, 'the first 10');
    await first.stop();
    expect(await s.read((tx) => tx.progress(RELAY))).toBe(10);
    await append(s, 5);
    const second = relayOn(s, bus);
    second.start();
    await until(() => appended.length === 15, 'the next 5');
    await new Promise((r) => setTimeout(r, 60));
    expect(appended).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
  });

  it('rides out a bus outage: retries the same events, then catches up without loss or doubles', async () => {
    const { s } = openStore();
    const inner = inProcessBus();
    const { bus, state } = recording(inner);
    const seen = await consumer(inner);
    const r = relayOn(s, bus);
    r.start();
    await append(s, 3);
    r.wake();
    await until(() => seen.length === 3, 'before the outage');
    state.down = true;
    await append(s, 50);
    r.wake();
    await until(() => r.status().failing, 'the failure to show');
    await new Promise((res) => setTimeout(res, 150)); // several retries
    expect(seen).toHaveLength(3);
    state.down = false;
    await until(() => seen.length === 53, 'the catch-up');
    expect(seen.map((e) => e.seq)).toEqual(Array.from({ length: 53 }, (_, i) => i + 1));
    await until(() => !r.status().failing, 'recovery in the status');
  });

  it("after a failure whose events were stored anyway (the acknowledgement lost), goes on after the stream's end", async () => {
    const { s } = openStore();
    const inner = inProcessBus();
    const attempted: number[] = [];
    let loseAck = true;
    const bus: Bus = {
      ...inner,
      async appendEvents(events) {
        attempted.push(...events.map((e) => e.seq));
        await inner.appendEvents(events);
        if (loseAck) {
          loseAck = false;
          throw new BusUnavailableError('JetStream did not acknowledge 5 events (test)');
        }
      },
    };
    await append(s, 5);
    const r = relayOn(s, bus);
    r.start();
    await until(() => !loseAck && r.status().relayedTo === 5, 'the relay to go on');
    await append(s, 3);
    r.wake();
    await until(() => r.status().relayedTo === 8, 'the next events');
    expect(attempted).toEqual([1, 2, 3, 4, 5, 6, 7, 8]); // 1–5 were not sent again
    expect((await inner.lastEvent())?.seq).toBe(8);
  });

  it("a stream left from another database (a restore) does not make it skip this log's events", async () => {
    const { s } = openStore();
    const inner = inProcessBus();
    // The stream already ends at seq 10, with events this log never had.
    await inner.appendEvents(
      Array.from({ length: 10 }, (_, i) => ({
        seq: i + 1,
        id: `foreign-${i + 1}`,
        type: 'StockReceived',
        json: '{}',
      })),
    );
    let failOnce = true;
    const bus: Bus = {
      ...inner,
      appendEvents(events) {
        if (failOnce && events.some((e) => e.seq > 4)) {
          failOnce = false;
          return Promise.reject(new BusUnavailableError('NATS is down (test)'));
        }
        return inner.appendEvents(events);
      },
    };
    await append(s, 4);
    const r = relayOn(s, bus);
    r.start();
    await until(() => r.status().relayedTo === 4, 'the first 4');
    await append(s, 4);
    r.wake();
    await until(() => r.status().relayedTo === 8 && !failOnce, 'the next 4, after a failure');
    expect(r.status().published).toBe(8);
    expect((await inner.lastEvent())?.seq).toBe(8);
  });

  it('sends only what is on disk: an event waits for its WAL sync', async () => {
    let release: (() => void) | null = null;
    let hold = false;
    const { s } = openStore(undefined, () =>
      hold ? new Promise<void>((resolve) => (release = resolve)) : Promise.resolve(),
    );
    const bus = inProcessBus();
    const seen = await consumer(bus);
    const r = relayOn(s, bus);
    r.start();
    await append(s, 1);
    await until(() => seen.length === 1, 'the first event');
    hold = true;
    void append(s, 1); // committed, its sync held
    await until(() => release !== null, 'the sync to start');
    r.wake();
    await new Promise((res) => setTimeout(res, 100));
    expect(seen).toHaveLength(1); // committed, visible to reads, not yet durable: not sent
    hold = false;
    (release as (() => void) | null)?.();
    await until(() => seen.length === 2, 'the event after its sync');
  });

  it('with two processes on one store, one relays; when it stops, it hands the lease on at once', async () => {
    const { s: a, file } = openStore();
    const { s: b } = openStore(file);
    const inner = inProcessBus();
    const seen = await consumer(inner);
    const ra = recording(inner);
    const rb = recording(inner);
    // A holds a long lease: only its letting go at stop() lets B in within the test's time.
    const relayA = relayOn(a, ra.bus, 'A', { leaseMs: 60_000 });
    const relayB = relayOn(b, rb.bus, 'B', { leaseMs: 150 });
    relayA.start();
    await until(() => relayA.status().leader, 'A to lead');
    relayB.start();
    await append(a, 20);
    await until(() => seen.length === 20, 'the first 20');
    expect(relayB.status().leader).toBe(false);
    expect(rb.appended).toEqual([]);
    await relayA.stop();
    await append(b, 10);
    await until(() => seen.length === 30, 'B to take over', 5000);
    expect(relayB.status().leader).toBe(true);
    expect(rb.appended[0]).toBe(21); // from where A got to
    expect(seen.map((e) => e.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });
});
