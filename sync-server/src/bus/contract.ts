import { SUBJECTS } from '@floorsync/domain';
import { afterEach, describe, expect, it } from 'vitest';
import type { Bus, BusEvent, EventConsumer } from './port.js';

/**
 * What every bus adapter must do (`port.ts`), run against the in-process bus and against
 * NATS JetStream on a real `nats-server`. `open()` gives a bus on a fresh stream; `peer()`
 * a second connection to the same one (another instance); for the in-process bus, the same.
 */
export interface BusFixture {
  open(): Promise<Bus>;
  peer(bus: Bus): Promise<Bus>;
}

const event = (seq: number, type = 'StockReceived'): BusEvent => ({
  seq,
  id: `0190aaaa-0000-7000-8000-${String(seq).padStart(12, '0')}`,
  type,
  json: JSON.stringify({ seq, type, data: { n: seq } }),
});
const events = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => event(from + i));

/** Resolves when `check()` holds, or fails after `ms`. */
async function until(check: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let durableCount = 0;
const durable = () => `contract-${process.pid}-${++durableCount}`;

export function busContract(name: string, fixture: BusFixture): void {
  describe(`bus contract: ${name}`, () => {
    const cleanup: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const c of cleanup.splice(0).reverse()) await c();
    });
    const open = async () => {
      const bus = await fixture.open();
      cleanup.push(() => bus.close());
      return bus;
    };
    const consume = async (
      bus: Bus,
      name: string,
      seen: BusEvent[],
      fail?: (e: BusEvent) => boolean,
    ): Promise<EventConsumer> => {
      const c = await bus.consumeEvents(
        name,
        (e) => {
          if (fail?.(e)) return Promise.reject(new Error('handler failed'));
          seen.push(e);
          return Promise.resolve();
        },
        { retryMs: 50 },
      );
      cleanup.push(() => c.stop());
      return c;
    };

    it('delivers a hint to subscribers (of another instance too), asynchronously, until they unsubscribe', async () => {
      const a = await open();
      const b = await fixture.peer(a);
      if (b !== a) cleanup.push(() => b.close());
      const got: unknown[] = [];
      const off = b.subscribe(SUBJECTS.poke, (p) => got.push(p));
      const alsoOnA: unknown[] = [];
      a.subscribe(SUBJECTS.poke, (p) => alsoOnA.push(p));
      await new Promise((r) => setTimeout(r, 50)); // the subscription reaches the server
      await a.publish(SUBJECTS.poke, { head: 7 });
      expect(got).toEqual([]); // never inside publish
      await until(() => got.length === 1 && alsoOnA.length === 1, 5000, 'the hint');
      expect(got[0]).toEqual({ head: 7 });
      off();
      await new Promise((r) => setTimeout(r, 50));
      await a.publish(SUBJECTS.poke, { head: 8 });
      await until(() => alsoOnA.length === 2, 5000, 'the second hint');
      await new Promise((r) => setTimeout(r, 50));
      expect(got).toHaveLength(1);
    });

    it('a subscriber that throws does not stop the others', async () => {
      const bus = await open();
      const got: unknown[] = [];
      bus.subscribe(SUBJECTS.poke, () => {
        throw new Error('bad subscriber');
      });
      bus.subscribe(SUBJECTS.poke, (p) => got.push(p));
      await new Promise((r) => setTimeout(r, 50));
      await bus.publish(SUBJECTS.poke, { head: 1 });
      await until(() => got.length === 1);
    });

    it('a durable consumer gets every appended event once, in seq order, from the oldest', async () => {
      const bus = await open();
      await bus.appendEvents(events(1, 30));
      const seen: BusEvent[] = [];
      await consume(bus, durable(), seen);
      await bus.appendEvents(events(31, 60));
      await until(() => seen.length >= 60, 5000, '60 events');
      await new Promise((r) => setTimeout(r, 100));
      expect(seen.map((e) => e.seq)).toEqual(events(1, 60).map((e) => e.seq));
      expect(seen[41]).toEqual(event(42)); // id, type and body as appended
    });

    it('tells the seq and id of the newest event it holds (null when empty)', async () => {
      const bus = await open();
      expect(await bus.lastEvent()).toBeNull();
      await bus.appendEvents(events(1, 7));
      await bus.appendEvents(events(3, 5)); // again: not stored, the end stays
      expect(await bus.lastEvent()).toEqual({ seq: 7, id: event(7).id });
    });

    it('stores an event id once: appending the same events again (a relay retrying) changes nothing', async () => {
      const bus = await open();
      await bus.appendEvents(events(1, 10));
      await bus.appendEvents(events(5, 15)); // overlaps: 5–10 again
      await bus.appendEvents(events(1, 15));
      const seen: BusEvent[] = [];
      await consume(bus, durable(), seen);
      await until(() => seen.length >= 15, 5000, '15 events');
      await new Promise((r) => setTimeout(r, 150));
      expect(seen.map((e) => e.seq)).toEqual(events(1, 15).map((e) => e.seq));
    });

    it('a durable consumer resumes after the last event it finished, also from another instance', async () => {
      const bus = await open();
      const name = durable();
      await bus.appendEvents(events(1, 5));
      const first: BusEvent[] = [];
      const c1 = await consume(bus, name, first);
      await until(() => first.length === 5, 5000, 'the first 5');
      await c1.stop();
      await bus.appendEvents(events(6, 9));
      const other = await fixture.peer(bus);
      if (other !== bus) cleanup.push(() => other.close());
      const second: BusEvent[] = [];
      await consume(other, name, second);
      await until(() => second.length >= 4, 5000, 'the rest');
      await new Promise((r) => setTimeout(r, 100));
      expect(second.map((e) => e.seq)).toEqual([6, 7, 8, 9]);
    });

    it('a handler that fails gets the same event again, and nothing after it meanwhile', async () => {
      const bus = await open();
      await bus.appendEvents(events(1, 6));
      const seen: BusEvent[] = [];
      let failures = 0;
      await consume(bus, durable(), seen, (e) => e.seq === 3 && ++failures <= 2);
      await until(() => seen.length === 6, 5000, 'all 6 after the retries');
      expect(failures).toBe(3); // two failures, then the call that went through
      expect(seen.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    });

    it('every durable consumer gets every event', async () => {
      const bus = await open();
      await bus.appendEvents(events(1, 20));
      const a: BusEvent[] = [];
      const b: BusEvent[] = [];
      await consume(bus, durable(), a);
      await consume(bus, durable(), b);
      await until(() => a.length === 20 && b.length === 20, 5000, 'both consumers');
      expect(b.map((e) => e.seq)).toEqual(a.map((e) => e.seq));
    });

    it('refuses a durable name that is not a plain token', async () => {
      const bus = await open();
      await expect(bus.consumeEvents('a.b c', () => Promise.resolve())).rejects.toThrow(
        /durable consumer name/,
      );
    });
  });
}
