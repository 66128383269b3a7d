import type { JobEnvelope } from '@floorsync/domain';
import type { DeadLetter, Delivery, JobQueue, JobSubscription } from './port.js';

interface Pending {
  readonly job: JobEnvelope;
  attempts: number;
  /** Not before this time (ms, performance.now()). */
  notBefore: number;
}

/**
 * The embedded queue: jobs in memory, handed to the consumers of this process. Nothing
 * survives a restart here; the embedded mode's jobs are re-submitted from their records.
 */
export function inProcessQueue(now: () => number = () => performance.now()): JobQueue {
  const waiting: Pending[] = [];
  const ids = new Set<string>();
  const dead: DeadLetter[] = [];
  const subscriptions = new Set<{ kick(): void; drain(): Promise<void> }>();

  const kickAll = () => {
    for (const s of subscriptions) s.kick();
  };

  return {
    enqueue(job) {
      if (!ids.has(job.id)) {
        ids.add(job.id);
        waiting.push({ job, attempts: 0, notBefore: 0 });
        kickAll();
      }
      return Promise.resolve();
    },

    consume(handler, { concurrency }) {
      let running = 0;
      let draining = false;
      const inFlight = new Set<Promise<void>>();
      let timer: ReturnType<typeof setTimeout> | null = null;

      const kick = () => {
        if (timer) clearTimeout(timer);
        timer = null;
        while (!draining && running < concurrency) {
          const t = now();
          const i = waiting.findIndex((p) => p.notBefore <= t);
          if (i < 0) {
            const next = Math.min(...waiting.map((p) => p.notBefore));
            if (Number.isFinite(next)) timer = setTimeout(kick, Math.max(1, next - t));
            return;
          }
          const [p] = waiting.splice(i, 1);
          if (!p) return;
          p.attempts++;
          running++;
          let settled = false;
          const settle = () => {
            if (settled) throw new Error('a delivery is settled once');
            settled = true;
          };
          const delivery: Delivery = {
            job: structuredClone(p.job),
            attempt: p.attempts,
            working: () => undefined,
            ack() {
              settle();
              ids.delete(p.job.id);
              return Promise.resolve();
            },
            nak(delayMs) {
              settle();
              p.notBefore = now() + delayMs;
              waiting.push(p);
            },
            term(reason) {
              settle();
              ids.delete(p.job.id);
              dead.push({
                job: p.job,
                reason,
                attempts: p.attempts,
                at: new Date().toISOString(),
              });
              return Promise.resolve();
            },
          };
          // A handler that ends without settling is treated as a crashed worker's: again soon.
          const unsettled = () => {
            if (!settled) delivery.nak(1000);
          };
          const run = handler(delivery)
            .then(unsettled, unsettled)
            .finally(() => {
              running--;
              inFlight.delete(run);
              kickAll();
            });
          inFlight.add(run);
        }
      };

      const sub = {
        kick,
        async drain() {
          draining = true;
          if (timer) clearTimeout(timer);
          subscriptions.delete(sub);
          await Promise.all([...inFlight]);
        },
      };
      subscriptions.add(sub);
      queueMicrotask(kick);
      return Promise.resolve<JobSubscription>(sub);
    },

    deadLetters(limit = 100) {
      return Promise.resolve(dead.slice(-limit));
    },

    async close() {
      await Promise.all([...subscriptions].map((s) => s.drain()));
    },
  };
}
