/**
 * The bus carries hints and copies, never the only copy of data: the log in the database is
 * the truth, so a lost message costs latency, never data. Subjects and stream names are
 * spelled once, in `@floorsync/domain` (`SUBJECTS`, `STREAMS`).
 *
 * Two parts:
 * - **Hints** (`publish`/`subscribe`): best effort, not stored. After every commit that
 *   appended events the server publishes `SUBJECTS.poke` `{ head }`; every instance pokes its
 *   SSE clients.
 * - **The event stream** (`appendEvents`/`consumeEvents`): a stored copy of the log, fed by
 *   the outbox relay (`relay.ts`) in seq order and deduplicated by event id, read by durable
 *   consumers (workers, integrations) that resume where they left off.
 *
 * Adapters: `in-process.ts` (the embedded default) and `nats.ts` (JetStream). Both pass the
 * contract suite in `contract.ts`.
 */
export interface Bus {
  /** Best effort: resolves once handed to the transport. */
  publish(subject: string, payload: unknown): Promise<void>;
  /** Returns an unsubscribe function. Handlers run asynchronously, never inside `publish`. */
  subscribe(subject: string, handler: (payload: unknown) => void): () => void;
  /**
   * Stores `events` (ascending seq) in the event stream, each once: an event whose id the
   * stream has already seen recently (NATS: within the duplicate window, two minutes) is not
   * stored again. Resolves when every one is stored; rejects with `BusUnavailableError` if
   * the transport cannot confirm them all (the caller retries the same events).
   */
  appendEvents(events: readonly BusEvent[]): Promise<void>;
  /**
   * The seq and id of the newest event the stream holds, null when it holds none. The relay asks after
   * a failure: events stored whose acknowledgement was lost are not sent again (after a long
   * outage the stream's deduplication window may have passed).
   */
  lastEvent(): Promise<{ readonly seq: number; readonly id: string } | null>;
  /**
   * Delivers the event stream to `handler`, one event at a time in seq order, from where the
   * durable consumer named `durable` left off (from the oldest stored event the first time).
   * An event counts as consumed when `handler` resolves; if it throws, the same event is
   * delivered again after `retryMs` (default 1000) and nothing after it meanwhile. Delivery is
   * at least once across restarts (a handler that finished just before a crash may see its
   * event again), exactly once within one consumer's life.
   */
  consumeEvents(
    durable: string,
    handler: (event: BusEvent) => Promise<void>,
    options?: { readonly retryMs?: number },
  ): Promise<EventConsumer>;
  close(): Promise<void>;
}

/** An event as the stream carries it. */
export interface BusEvent {
  readonly seq: number;
  readonly id: string;
  readonly type: string;
  /** The event as a pull serves it (`StoredEvent` as JSON). */
  readonly json: string;
}

export interface EventConsumer {
  /** Stops delivering; resolves when the handler in progress (if any) has finished. */
  stop(): Promise<void>;
}

/** The transport could not confirm a write (NATS down, timeout): retry later. */
export class BusUnavailableError extends Error {
  override readonly name = 'BusUnavailableError';
}

export const DURABLE_NAME = /^[A-Za-z0-9_-]{1,64}$/;
