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
  /** Prefix of job subjects: `floorsync.jobs.<kind>` (a work queue: each job to one worker). */
  jobs: 'floorsync.jobs',
  /** Prefix of dead-lettered jobs: `floorsync.jobs-dead.<kind>`. */
  deadJobs: 'floorsync.jobs-dead',
} as const;

export const STREAMS = {
  /** Every committed event, in seq order (limits retention: a copy, kept for a while). */
  events: 'FLOORSYNC_EVENTS',
  /** Jobs waiting for a worker (work-queue retention: gone once acknowledged). */
  jobs: 'FLOORSYNC_JOBS',
  /** Jobs given up on, with the reason (kept 30 days for an operator to look at). */
  deadJobs: 'FLOORSYNC_JOBS_DEAD',
} as const;

/** The durable consumer every worker process shares on the jobs stream. */
export const WORKERS_CONSUMER = 'workers';

/** The header carrying an event message's seq in the log. */
export const SEQ_HEADER = 'Floorsync-Seq';

/** An event type is one subject token: letters and digits only (`StockReceived`). */
const EVENT_TYPE = /^[A-Za-z][A-Za-z0-9]*$/;

export function eventSubject(type: string): string {
  if (!EVENT_TYPE.test(type)) throw new Error(`not an event type usable in a subject: ${type}`);
  return `${SUBJECTS.events}.${type}`;
}

/** A job kind is one subject token: lower-case words joined by dashes (`bulk-adjust`). */
export const JOB_KIND = /^[a-z][a-z0-9-]{0,63}$/;

export function jobSubject(kind: string, dead = false): string {
  if (!JOB_KIND.test(kind)) throw new Error(`not a job kind usable in a subject: ${kind}`);
  return `${dead ? SUBJECTS.deadJobs : SUBJECTS.jobs}.${kind}`;
}

/** A job as the queue carries it: its id is the message id, so enqueueing twice stores once. */
export const JobEnvelope = z.object({
  id: z.string().min(1).max(128),
  kind: z.string().regex(JOB_KIND),
  payload: z.unknown(),
});
export type JobEnvelope = z.infer<typeof JobEnvelope>;

/** The body of a poke (a payload from the network: parsed, never trusted). */
export const PokeMessage = z.object({ head: z.number().int().nonnegative() });
export type PokeMessage = z.infer<typeof PokeMessage>;

/**
 * `NATS_URL` as a NATS client wants it: the servers without credentials, and the credentials
 * apart (the client drops user info from server URLs). `nats://user:pass@host:4222` gives a
 * user and password, `nats://token@host` a token; several servers are comma-separated and
 * share the first one's credentials. Never log anything but `servers`.
 */
export function natsConnectOptions(url: string): {
  servers: string[];
  user?: string;
  pass?: string;
  token?: string;
} {
  let user: string | undefined;
  let pass: string | undefined;
  let token: string | undefined;
  const servers = url
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      // The credentials end at the last '@' (a NATS URL has no path): a password with a raw
      // '@' or '/' in it must not leave a part of itself in the server's address.
      const m = /^([a-z][a-z0-9+.-]*:\/\/)?(?:(.*)@)?([^@]*)$/i.exec(s);
      const [, scheme = '', info, rest = ''] = m ?? [];
      if (info !== undefined && user === undefined && token === undefined) {
        const i = info.indexOf(':');
        if (i >= 0) {
          user = decoded(info.slice(0, i));
          pass = decoded(info.slice(i + 1));
        } else token = decoded(info);
      }
      return scheme + rest;
    });
  return {
    servers,
    ...(user !== undefined ? { user } : {}),
    ...(pass !== undefined ? { pass } : {}),
    ...(token !== undefined ? { token } : {}),
  };
}

/** A percent-decoded part of NATS_URL's credentials; a stray '%' is said without the value. */
function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new Error(
      "NATS_URL: its user, password or token has a '%' that starts no escape: write % as %25 (and @ as %40)",
    );
  }
}
