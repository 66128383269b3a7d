import { SEQ_HEADER, STREAMS, SUBJECTS, eventSubject, natsConnectOptions } from '@floorsync/domain';
import type { ConsumerConfig, ConsumerMessages, JsMsg, StreamConfig } from '@nats-io/jetstream';
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  jetstream,
} from '@nats-io/jetstream';
import { createInbox, headers } from '@nats-io/transport-node';
import { connectNats, ensureConsumer, ensureStream, ns } from '@floorsync/workers';
import type { Logger } from '../log.js';
import type { Bus, BusEvent, EventConsumer } from './port.js';
import { BusUnavailableError, DURABLE_NAME } from './port.js';

/**
 * The event stream, as code (`deploy/nats/README.md` shows it for operators): every committed
 * event under `floorsync.events.<EventType>`, on disk, kept seven days or 10 GiB, whichever
 * comes first (the log in the database stays the truth; this is a copy for consumers), with
 * two minutes of deduplication by `Nats-Msg-Id` (the event id) so a relay that re-publishes
 * after a crash or an outage stores nothing twice.
 */
export const EVENTS_STREAM: Partial<StreamConfig> & { name: string; subjects: string[] } = {
  name: STREAMS.events,
  description: 'Floorsync: every committed event in seq order (a copy of the log)',
  subjects: [`${SUBJECTS.events}.>`],
  storage: StorageType.File,
  retention: RetentionPolicy.Limits,
  discard: DiscardPolicy.Old,
  max_age: ns(7 * 24 * 3600_000),
  max_bytes: 10 * 1024 ** 3,
  duplicate_window: ns(120_000),
  num_replicas: 1,
};

/**
 * How long the server waits for an ack before delivering a message again. Short, because with
 * one message in flight a delivery lost in a NATS restart holds the consumer this long
 * (measured: a 30 s stall with 30 s); handlers that run longer report `working()`.
 */
const EVENT_ACK_WAIT_MS = 5000;

/**
 * A durable consumer of the event stream: explicit acks, one message in flight (so a failed
 * handler holds back everything after it and order is kept), redelivery after
 * `EVENT_ACK_WAIT_MS` if a consumer dies holding a message or its delivery was lost.
 */
export const eventConsumerConfig = (
  durable: string,
): Partial<ConsumerConfig> & { durable_name: string } => ({
  durable_name: durable,
  ack_policy: AckPolicy.Explicit,
  deliver_policy: DeliverPolicy.All,
  filter_subject: `${SUBJECTS.events}.>`,
  max_ack_pending: 1,
  ack_wait: ns(EVENT_ACK_WAIT_MS),
});

export interface NatsBusOptions {
  /** `nats://host:port`; `nats://user:pass@…` or `nats://token@…` (used, never logged). */
  readonly url: string;
  /** The connection's name, as NATS monitoring shows it (e.g. `sync-server@host`). */
  readonly name: string;
  readonly log: Logger;
  /** How long `appendEvents` waits for the stream's acknowledgements. Default 5000. */
  readonly ackTimeoutMs?: number;
}

/** The servers of a NATS URL, for log lines: never its credentials. */
export const natsHost = (url: string): string => natsConnectOptions(url).servers.join(',');

/**
 * The scale-out bus on NATS (`@nats-io/transport-node` and `@nats-io/jetstream`, the
 * maintained v3 client; the older `nats` v2 package is in maintenance). Hints are core NATS
 * messages; the event stream is JetStream (`EVENTS_STREAM`), created or updated at connect.
 *
 * NATS must be reachable at start (a clear error otherwise, so an orchestrator restarts us);
 * later outages are ridden out: the client reconnects for ever, `appendEvents` rejects with
 * `BusUnavailableError` until it can confirm again (the relay retries), consumers resume.
 */
export async function natsBus(options: NatsBusOptions): Promise<Bus> {
  const { log } = options;
  const ackTimeoutMs = options.ackTimeoutMs ?? 5000;
  const { nc, jsm } = await connectNats(options.url, options.name, (s) => {
    if (s.type === 'disconnect') log.log('warn', 'NATS disconnected', { server: s.server });
    else if (s.type === 'reconnect') log.log('info', 'NATS reconnected', { server: s.server });
  });
  await ensureStream(jsm, EVENTS_STREAM);
  const js = jetstream(nc);

  // Stream acknowledgements of `appendEvents`, by reply subject.
  const inbox = createInbox();
  const acks = new Map<string, (error: Error | null) => void>();
  let nextAck = 0;
  const ackSub = nc.subscribe(`${inbox}.*`, {
    callback: (_err, msg) => {
      const settle = acks.get(msg.subject);
      if (!settle) return; // timed out already
      acks.delete(msg.subject);
      try {
        const ack = msg.json<{ error?: { description?: string } }>();
        settle(
          ack.error
            ? new BusUnavailableError(
                `JetStream refused an event: ${ack.error.description ?? 'unknown error'}`,
              )
            : null,
        );
      } catch {
        settle(new BusUnavailableError('JetStream answered an event with something unreadable'));
      }
    },
  });

  const consumers = new Set<EventConsumer>();
  let closed = false;

  return {
    publish(subject, payload) {
      try {
        nc.publish(subject, JSON.stringify(payload));
      } catch {
        // Best effort: a hint lost while the connection is closing costs latency only.
      }
      return Promise.resolve();
    },

    subscribe(subject, handler) {
      const sub = nc.subscribe(subject, {
        callback: (_err, msg) => {
          let payload: unknown;
          try {
            payload = msg.json();
          } catch {
            return; // not JSON: nobody of ours sent it
          }
          try {
            handler(payload);
          } catch {
            // A failing subscriber must not affect the others.
          }
        },
      });
      return () => sub.unsubscribe();
    },

    /**
     * Core publishes with a reply subject each, pipelined: JetStream answers each with an
     * acknowledgement. Measured here: ~50,000 events/s this way against ~12,000/s awaiting
     * `js.publish()` per event, with the same guarantees (each event's ack is checked).
     */
    async appendEvents(events) {
      if (events.length === 0) return;
      const pending: Promise<void>[] = [];
      const subjects: string[] = [];
      for (const e of events) {
        const reply = `${inbox}.${nextAck++}`;
        subjects.push(reply);
        pending.push(
          new Promise<void>((resolve, reject) =>
            acks.set(reply, (error) => (error ? reject(error) : resolve())),
          ),
        );
        const h = headers();
        h.set('Nats-Msg-Id', e.id);
        h.set(SEQ_HEADER, String(e.seq));
        try {
          nc.publish(eventSubject(e.type), e.json, { headers: h, reply });
        } catch (error) {
          for (const s of subjects) acks.delete(s);
          throw new BusUnavailableError(`cannot publish to NATS: ${String(error)}`, {
            cause: error,
          });
        }
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new BusUnavailableError(
                `JetStream did not acknowledge ${events.length} events within ${ackTimeoutMs} ms`,
              ),
            ),
          ackTimeoutMs,
        );
      });
      try {
        await Promise.race([Promise.all(pending), timeout]);
      } finally {
        clearTimeout(timer);
        for (const s of subjects) acks.delete(s);
        for (const p of pending) p.catch(() => undefined);
      }
    },

    async lastEvent() {
      try {
        const { state } = await jsm.streams.info(EVENTS_STREAM.name);
        if (state.messages === 0) return null;
        const last = await jsm.streams.getMessage(EVENTS_STREAM.name, { seq: state.last_seq });
        const seq = Number(last?.header.get(SEQ_HEADER));
        const id = last?.header.get('Nats-Msg-Id') ?? '';
        return Number.isSafeInteger(seq) && seq > 0 && id !== '' ? { seq, id } : null;
      } catch (error) {
        throw new BusUnavailableError(`cannot read the event stream's end: ${String(error)}`, {
          cause: error,
        });
      }
    },

    async consumeEvents(durable, handler, opts = {}) {
      if (!DURABLE_NAME.test(durable)) throw new Error(`not a durable consumer name: ${durable}`);
      const retryMs = opts.retryMs ?? 1000;
      await ensureConsumer(jsm, EVENTS_STREAM.name, eventConsumerConfig(durable));
      let messages: ConsumerMessages | null = null;
      /**
       * The newest stream sequence handled in this consumer's life. A redelivery is the same
       * stream message (its ack was lost in a reconnect): skipped. The stream's own sequence,
       * not the event's seq, so an event stored late by a second relay is still delivered.
       */
      let handled = 0;
      let running = true;
      const handle = async (m: JsMsg) => {
        const seq = Number(m.headers?.get(SEQ_HEADER));
        if (m.seq <= handled) {
          m.ack();
          return;
        }
        const event: BusEvent = {
          seq,
          id: m.headers?.get('Nats-Msg-Id') ?? '',
          type: m.subject.slice(SUBJECTS.events.length + 1),
          json: m.string(),
        };
        // A handler may take longer than `ack_wait`: tell the server it is still at work.
        const working = setInterval(() => m.working(), EVENT_ACK_WAIT_MS / 2);
        try {
          await handler(event);
        } catch {
          m.nak(retryMs);
          return;
        } finally {
          clearInterval(working);
        }
        handled = m.seq;
        // Not confirmed: an ack lost in a NATS restart (the client allows one ack per
        // message) means a redelivery after `ack_wait`, which the check above skips.
        m.ack();
      };
      // The client's iterator ends on some failures (a restart it did not ride out, heartbeats
      // missed for long): then consume again, from where the durable consumer stands.
      const loop = (async () => {
        for (let failures = 0; running; failures++) {
          try {
            const c = await js.consumers.get(EVENTS_STREAM.name, durable);
            messages = await c.consume({ max_messages: 64, expires: 2000 });
            if (!running) messages.stop();
            for await (const m of messages) {
              failures = 0;
              await handle(m);
            }
          } catch (error) {
            if (failures === 0)
              log.log('warn', 'event consumer interrupted; resuming', {
                durable,
                error: error instanceof Error ? error.message : String(error),
              });
          }
          if (running) await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** failures)));
        }
      })();
      const consumer: EventConsumer = {
        async stop() {
          consumers.delete(consumer);
          running = false;
          messages?.stop();
          await loop.catch(() => undefined);
        },
      };
      consumers.add(consumer);
      return consumer;
    },

    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...consumers].map((c) => c.stop()));
      ackSub.unsubscribe();
      for (const settle of acks.values()) settle(new BusUnavailableError('the bus is closing'));
      acks.clear();
      await nc.drain().catch(() => nc.close());
    },
  };
}
