import type { JobEnvelope } from '@floorsync/domain';
import { STREAMS, SUBJECTS, WORKERS_CONSUMER, jobSubject } from '@floorsync/domain';
import type { ConsumerConfig, ConsumerMessages, JsMsg, StreamConfig } from '@nats-io/jetstream';
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  jetstream,
} from '@nats-io/jetstream';
import { connectNats, ensureConsumer, ensureStream, ns } from '../nats.js';
import type { DeadLetter, Delivery, JobQueue, JobSubscription } from './port.js';

/** How long a delivery may go without `working()` or a settlement before it is redelivered. */
export const JOB_ACK_WAIT_MS = 10_000;

/** Tries at publishing a job (same message id each time), each waiting this long for the ack. */
const ENQUEUE_ATTEMPTS = 3;
const ENQUEUE_TIMEOUT_MS = 3000;

/**
 * The jobs stream: a work queue (a job is gone once acknowledged), on disk, with two minutes
 * of deduplication by job id. Shown for operators in `deploy/nats/README.md`.
 */
export const JOBS_STREAM: Partial<StreamConfig> & { name: string; subjects: string[] } = {
  name: STREAMS.jobs,
  description: 'Floorsync: jobs waiting for a worker',
  subjects: [`${SUBJECTS.jobs}.>`],
  storage: StorageType.File,
  retention: RetentionPolicy.Workqueue,
  discard: DiscardPolicy.Old,
  duplicate_window: ns(120_000),
  num_replicas: 1,
};

/** Jobs given up on, with why: kept 30 days for an operator. */
export const DEAD_JOBS_STREAM: Partial<StreamConfig> & { name: string; subjects: string[] } = {
  name: STREAMS.deadJobs,
  description: 'Floorsync: jobs given up on (poison or out of attempts), with the reason',
  subjects: [`${SUBJECTS.deadJobs}.>`],
  storage: StorageType.File,
  retention: RetentionPolicy.Limits,
  discard: DiscardPolicy.Old,
  max_age: ns(30 * 24 * 3600_000),
  num_replicas: 1,
};

/** The consumer all workers share: each job to one of them. */
export const workersConsumerConfig = (
  maxAckPending: number,
): Partial<ConsumerConfig> & { durable_name: string } => ({
  durable_name: WORKERS_CONSUMER,
  ack_policy: AckPolicy.Explicit,
  deliver_policy: DeliverPolicy.All,
  ack_wait: ns(JOB_ACK_WAIT_MS),
  max_ack_pending: maxAckPending,
});

export interface NatsQueueOptions {
  readonly url: string;
  readonly name: string;
  /** Jobs in flight across all workers (the consumer's `max_ack_pending`). Default 256. */
  readonly maxInFlight?: number;
}

/** The scale-out queue on JetStream (a work-queue stream and one shared durable consumer). */
export async function natsQueue(options: NatsQueueOptions): Promise<JobQueue> {
  const { nc, jsm } = await connectNats(options.url, options.name);
  await ensureStream(jsm, JOBS_STREAM);
  await ensureStream(jsm, DEAD_JOBS_STREAM);
  await ensureConsumer(jsm, STREAMS.jobs, workersConsumerConfig(options.maxInFlight ?? 256));
  const js = jetstream(nc);
  const subscriptions = new Set<JobSubscription>();

  const deliveryOf = (m: JsMsg): Delivery => {
    let settled = false;
    const settle = () => {
      if (settled) throw new Error('a delivery is settled once');
      settled = true;
    };
    let job: unknown;
    try {
      job = m.json();
    } catch {
      job = { unreadable: m.string().slice(0, 200) };
    }
    return {
      job,
      attempt: m.info.deliveryCount,
      working: () => m.working(),
      async ack() {
        settle();
        // Confirmed: a job whose ack is lost would run again.
        await m.ackAck({ timeout: 5000 }).catch(() => false);
      },
      nak(delayMs) {
        settle();
        m.nak(delayMs);
      },
      async term(reason) {
        settle();
        const kind =
          typeof job === 'object' &&
          job !== null &&
          typeof (job as { kind?: unknown }).kind === 'string'
            ? (job as { kind: string }).kind
            : 'unknown';
        const letter: DeadLetter = {
          job,
          reason,
          attempts: m.info.deliveryCount,
          at: new Date().toISOString(),
        };
        let subject: string;
        try {
          subject = jobSubject(kind, true);
        } catch {
          subject = jobSubject('unknown', true);
        }
        // The dead letter is stored before the job is let go of.
        await js.publish(subject, JSON.stringify(letter));
        m.term(reason.slice(0, 200));
      },
    };
  };

  return {
    async enqueue(job: JobEnvelope) {
      // A publish whose acknowledgement does not come (a timeout: NATS restarting, the ack
      // lost) is sent again under the same message id: a copy the stream stored after all is
      // kept once (its two-minute duplicate window). Other errors are not retried.
      await js.publish(jobSubject(job.kind), JSON.stringify(job), {
        msgID: job.id,
        timeout: ENQUEUE_TIMEOUT_MS,
        retries: ENQUEUE_ATTEMPTS,
      });
    },

    async consume(handler, { concurrency }) {
      // The shared consumer exists (created at connect); fail here, not in the loop, if not.
      await js.consumers.get(STREAMS.jobs, WORKERS_CONSUMER);
      let running = true;
      let messages: ConsumerMessages | null = null;
      const inFlight = new Set<Promise<void>>();
      let slot: (() => void) | null = null;
      const loop = (async () => {
        let failures = 0;
        while (running) {
          while (inFlight.size >= concurrency && running)
            await new Promise<void>((r) => (slot = r));
          if (!running) break;
          try {
            const c = await js.consumers.get(STREAMS.jobs, WORKERS_CONSUMER);
            // Only as many as there are free slots: a job fetched but not started would get no
            // `working()` and go to another worker after `ack_wait`, then run twice. A fetch
            // waits up to 2 s for jobs (a long poll), then the loop asks again.
            messages = await c.fetch({ max_messages: concurrency - inFlight.size, expires: 2000 });
            for await (const m of messages) {
              failures = 0;
              if (!running) {
                m.nak(0); // drained meanwhile: let another worker have it at once
                continue;
              }
              const d = deliveryOf(m);
              const run = handler(d)
                .catch(() => undefined)
                .finally(() => {
                  inFlight.delete(run);
                  slot?.();
                });
              inFlight.add(run);
            }
          } catch {
            // NATS unreachable or restarting: ask again after a pause
            if (running)
              await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** failures++)));
          }
        }
      })();
      const sub: JobSubscription = {
        async drain() {
          running = false;
          subscriptions.delete(sub);
          // Not `messages.stop()`: JetStream cannot cancel a pull request, so jobs the server
          // sends it after a stop would reach nobody and wait out `ack_wait`. The fetch ends by
          // itself within its 2 s, and the loop hands back (nak 0) what still arrives.
          slot?.();
          await Promise.all([...inFlight]);
          await loop;
        },
      };
      subscriptions.add(sub);
      return sub;
    },

    async deadLetters(limit = 100) {
      const info = await jsm.streams.info(STREAMS.deadJobs);
      const out: DeadLetter[] = [];
      for (
        let seq = Math.max(info.state.first_seq, info.state.last_seq - limit + 1);
        seq <= info.state.last_seq && info.state.messages > 0;
        seq++
      ) {
        const m = await jsm.streams.getMessage(STREAMS.deadJobs, { seq }).catch(() => null);
        if (m) out.push(m.json<DeadLetter>());
      }
      return out;
    },

    async close() {
      await Promise.all([...subscriptions].map((s) => s.drain()));
      await nc.drain().catch(() => nc.close());
    },
  };
}
