import { z } from 'zod';

/**
 * The bus's names, spelled once for the server, the workers and `deploy/`. The bus carries
 * hints and copies, never the only copy of anything: the log in the database is the truth.
 *
 * - `floorsync.poke` — core (not stored): `{ head }` after a commit appended events. Every
 *   sync server instance pokes its own SSE clients on it.
 * - `floorsync.events.<EventType>` — the stream `FLOORSYNC_EVENTS`: every committed event,
 *   published by the outbox relay in seq order, message id (`Nats-Msg-Id`) = event id, the
 *   event's seq in the `Floorsync-Seq` header, the body the event exactly as pulls serve it.
 */
export const SUBJECTS = {
  poke: 'floorsync.poke',
  /** Prefix of the event subjects: `floorsync.events.<EventType>`. */
  events: 'floorsync.events',
} as const;

export const STREAMS = {
  /** Every committed event, in seq order (limits retention: a copy, kept for a while). */
  events: 'FLOORSYNC_EVENTS',
} as const;

/** The header carrying an event message's seq in the log. */
export const SEQ_HEADER = 'Floorsync-Seq';

/** An event type is one subject token: letters and digits only (`StockReceived`). */
const EVENT_TYPE = /^[A-Za-z][A-Za-z0-9]*$/;

export function eventSubject(type: string): string {
  if (!EVENT_TYPE.test(type)) throw new Error(`not an event type usable in a subject: ${type}`);
  return `${SUBJECTS.events}.${type}`;
}

/** The body of a poke (a payload from the network: parsed, never trusted). */
export const PokeMessage = z.object({ head: z.number().int().nonnegative() });
export type PokeMessage = z.infer<typeof PokeMessage>;
