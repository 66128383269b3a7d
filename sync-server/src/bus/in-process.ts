import type { Bus, BusEvent, EventConsumer } from './port.js';
import { DURABLE_NAME } from './port.js';

export interface InProcessBusOptions {
  /** Events kept in the stream; the oldest are dropped beyond it (NATS: the stream's limits). */
  readonly maxEvents?: number;
}

/**
 * The embedded default: subscribers and consumers in this process only. The event stream is
 * an array kept to `maxEvents`; durable consumers' positions live as long as the bus.
 */
export function inProcessBus(options: InProcessBusOptions = {}): Bus {
  const maxEvents = options.maxEvents ?? 100_000;
  const handlers = new Map<string, Set<(payload: unknown) => void>>();
  /** The stream, ascending seq; `ids` holds the ids of what it holds. */
  let stream: BusEvent[] = [];
  const ids = new Set<string>();
  /** Durable consumers' last consumed seq. */
  const positions = new Map<string, number>();
  const waiting = new Set<() => void>();
  const consumers = new Set<EventConsumer>();
  let closed = false;

  const wake = () => {
    for (const w of [...waiting]) w();
    waiting.clear();
  };

  return {
    publish(subject, payload) {
      for (const h of handlers.get(subject) ?? []) {
        setImmediate(() => {
          try {
            h(payload);
          } catch {
            // A failing subscriber must not affect the publisher or the others.
          }
        });
      }
      return Promise.resolve();
    },
    subscribe(subject, handler) {
      let set = handlers.get(subject);
      if (!set) handlers.set(subject, (set = new Set()));
      set.add(handler);
      return () => set.delete(handler);
    },
    appendEvents(events) {
      for (const e of events) {
        if (ids.has(e.id)) continue;
        stream.push(e);
        ids.add(e.id);
      }
      if (stream.length > maxEvents) {
        const dropped = stream.slice(0, stream.length - maxEvents);
        for (const e of dropped) ids.delete(e.id);
        stream = stream.slice(-maxEvents);
      }
      wake();
      return Promise.resolve();
    },
    lastEvent() {
      const last = stream.at(-1);
      return Promise.resolve(last ? { seq: last.seq, id: last.id } : null);
    },
    consumeEvents(durable, handler, opts = {}) {
      if (!DURABLE_NAME.test(durable))
        return Promise.reject(new Error(`not a durable consumer name: ${durable}`));
      const retryMs = opts.retryMs ?? 1000;
      let running = true;
      let timer: ReturnType<typeof setTimeout> | null = null;
      let wakeMe: (() => void) | null = null;
      const pause = (ms: number | null) =>
        new Promise<void>((resolve) => {
          wakeMe = () => {
            if (timer) clearTimeout(timer);
            timer = null;
            waiting.delete(wakeMe as () => void);
            resolve();
          };
          if (ms === null) waiting.add(wakeMe);
          else timer = setTimeout(wakeMe, ms);
        });
      const loop = (async () => {
        await Promise.resolve(); // never inside the caller's tick
        while (running) {
          const after = positions.get(durable) ?? 0;
          const next = stream[firstAfter(stream, after)];
          if (!next) {
            await pause(null);
            continue;
          }
          try {
            await handler(next);
            positions.set(durable, next.seq);
          } catch {
            if (running) await pause(retryMs);
          }
        }
      })();
      const consumer: EventConsumer = {
        async stop() {
          running = false;
          wakeMe?.();
          consumers.delete(consumer);
          await loop;
        },
      };
      consumers.add(consumer);
      return Promise.resolve(consumer);
    },
    async close() {
      if (closed) return;
      closed = true;
      handlers.clear();
      await Promise.all([...consumers].map((c) => c.stop()));
    },
  };
}

/** The index of the first event with a seq above `seq` (binary search: the stream is sorted). */
function firstAfter(events: readonly BusEvent[], seq: number): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((events[mid]?.seq ?? Infinity) <= seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
