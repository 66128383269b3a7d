import type { ExportStatus } from '@floorsync/workers';
import type { BackupStatus } from './storage/sqlite/scheduled-backups.js';
import type { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { ListId, ListStatus, ListType, PublicUser, Role } from '@floorsync/domain';
import {
  LIST_STATUSES,
  LIST_TYPES,
  MAX_MUTATIONS_PER_PUSH,
  MAX_PUSH_BYTES,
  PULL_VERSION,
  PokeMessage,
  PUSH_VERSION,
  SCHEMA_VERSION,
  SUBJECTS,
  createUserRequestSchema,
  listProgress,
  loginRequestSchema,
  pullRequestSchema,
  pushRequestSchema,
  roleAllows,
  updateUserRequestSchema,
} from '@floorsync/domain';
import type { z } from 'zod';
import type { PasswordHasher } from './auth/passwords.js';
import { listValue } from './storage/lists.js';
import type { LabelPrinter } from './labels/routes.js';
import { labelRoutes } from './labels/routes.js';
import { genealogyRoutes } from './genealogy/routes.js';
import { countingRoutes } from './counting/routes.js';
import { LoginThrottle, ThrottleBusyError, throttleKeys } from './auth/throttle.js';
import { hashToken, newToken, sameSecret } from './auth/tokens.js';
import type { Bus } from './bus/port.js';
import {
  HttpProblem,
  badRequest,
  deactivated,
  forbidden,
  notFound,
  problem,
  problemDocument,
  tooLarge,
  unauthorized,
  unavailable,
} from './http/problem.js';
import type { Logger } from './log.js';
import { Metrics } from './metrics.js';
import { pull } from './replay/pull.js';
import { RecentEvents } from './replay/recent-events.js';
import type { AuthenticatedPush } from './replay/apply-push.js';
import {
  applyPush,
  checkAndBind,
  isServiceClient,
  refuseServiceClients,
  refuseWrongSecret,
} from './replay/apply-push.js';
import type { JobSink } from './jobs/routes.js';
import { jobRoutes } from './jobs/routes.js';
import { WORKER_USERNAME } from './bootstrap.js';
import type { RelayStatus } from './relay.js';
import { SseHub } from './sse.js';
import type { ConflictFilter, DeviceRow, SessionRow, Storage, UserRow } from './storage/port.js';
import { StorageUnavailableError } from './storage/port.js';

/**
 * The HTTP edge. `createApp(deps)` wires handlers to the ports it is given and never reads
 * the environment; `main.ts` is the only composition root.
 */
export interface AppDeps {
  readonly storage: Storage;
  readonly bus: Bus;
  readonly hasher: PasswordHasher;
  readonly log: Logger;
  /** Server time. Tests pass a controllable clock. */
  readonly clock: () => Date;
  readonly newId: () => string;
  readonly throttle?: LoginThrottle;
  readonly metrics?: Metrics;
  /** Where started jobs go (the workers' queue); without it, jobs can be checked, not started. */
  readonly jobs?: JobSink;
  /** Network label printers a device may print on (`LABEL_PRINTERS`). */
  readonly printers?: readonly LabelPrinter[];
  /** The outbox relay, when this process runs one (NATS): its state in /health and /metrics. */
  readonly relay?: { status(): RelayStatus };
  /**
   * The ERP export, when this process runs one (embedded): how far it got and whether it
   * fails, in /health and /metrics. Asked at each request (it starts after the app).
   */
  readonly erpExport?: () => ExportStatus | null;
  /** Backups on a timer (`BACKUP_DIR`), when this process makes them: in /health. */
  readonly backups?: () => BackupStatus | null;
  readonly config?: {
    /** Lifetime of a session token. Default 12 h: a shift, with margin. */
    readonly sessionTtlMs?: number;
    /** Lifetime of an SSE ticket. Default 60 s. */
    readonly ticketTtlMs?: number;
    /**
     * SSE pokes are coalesced: a round at most once per this many ms, carrying the newest head
     * (the first after a quiet interval goes at once; see `sse.ts`). Default 250.
     */
    readonly pokeIntervalMs?: number;
    /** Heartbeat interval of SSE streams. Default 15 s. */
    readonly heartbeatMs?: number;
    /**
     * Poke streams this instance holds at once, over all sessions; beyond, a new one is
     * answered 503 with `Retry-After` (the device syncs on its timer meanwhile). Default
     * 10,000: a floor's devices and screens many times over, far below the sockets a process
     * may hold.
     */
    readonly maxStreams?: number;
    /** How often device last-pull times are written. Default 2 s. */
    readonly activityFlushMs?: number;
    /**
     * How long a verified token is trusted without reading the database again. Default 5 s;
     * 0 reads on every request. Logout, revocations and user changes made through this
     * process take effect at once; made through another process, within this time.
     */
    readonly sessionCacheMs?: number;
    /**
     * A static bearer token for Prometheus to scrape `/metrics` with (`METRICS_TOKEN`); without
     * it, `/metrics` takes a supervisor's or admin's session token only.
     */
    readonly metricsToken?: string;
    /**
     * Take the client's address from `X-Forwarded-For` (its last entry, added by the proxy in
     * front; `TRUST_PROXY`): only behind one proxy that sets it. Otherwise the socket's address
     * is used, so a client cannot choose its own.
     */
    readonly trustProxy?: boolean;
  };
  /** Serves the client build (and anything else at `/`), when given. */
  readonly staticRoutes?: (app: Hono<Env>) => void;
}

export interface Session {
  readonly user: UserRow;
  readonly tokenHash: string;
  readonly clientGroupID: string | null;
}
export type Env = { Variables: { session: Session } };

/** A complete HTTP response, for the paths served without Hono (`serveNode`). */
export interface LeanResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface AppHandle {
  readonly app: Hono<Env>;
  /**
   * The handler of a route answered straight from Node's request (`POST /sync/push` and
   * `/sync/pull`), as the Hono route answers it; undefined for every other route. See
   * `serveNode`.
   */
  readonly lean: (
    method: string | undefined,
    path: string | undefined,
  ) => ((incoming: IncomingMessage) => Promise<LeanResponse>) | undefined;
  readonly hub: SseHub;
  readonly metrics: Metrics;
  /** Stops timers, flushes pending device activity, closes SSE streams. */
  close(): Promise<void>;
}

/** Absent or empty (Replicache's default) means "the current schema". */
const schemaSupported = (v: string | undefined) =>
  v === undefined || v === '' || v === SCHEMA_VERSION;

/**
 * Replicache's version errors, decided before the rest of the request is validated: a client of
 * another version is told so (and stops) whatever else its request holds.
 */
function unsupportedVersion(
  body: unknown,
  kind: 'push' | 'pull',
): { error: 'VersionNotSupported'; versionType: 'push' | 'pull' | 'schema' } | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
  const b = body as { pushVersion?: unknown; pullVersion?: unknown; schemaVersion?: unknown };
  const version = kind === 'push' ? b.pushVersion : b.pullVersion;
  if (typeof version === 'number' && version !== (kind === 'push' ? PUSH_VERSION : PULL_VERSION))
    return { error: 'VersionNotSupported', versionType: kind };
  if (typeof b.schemaVersion === 'string' && !schemaSupported(b.schemaVersion))
    return { error: 'VersionNotSupported', versionType: 'schema' };
  return null;
}

/**
 * Who is asking, for the sign-in throttle. Behind a trusted proxy: the last `X-Forwarded-For`
 * address, the one that proxy added (the entries before it are whatever the client sent);
 * else the socket's peer; `direct` in-process (`app.request`).
 */
/** Paths of the HTTP API: never answered with the web app's files, never stored by a cache. */
export const isApiPath = (p: string): boolean =>
  /^\/(?:api|sync)(?:\/|$)|^\/(?:health|metrics)\/?$/.test(p);

/**
 * The headers every answer carries (unless it sets them itself): `frame-ancestors 'none'` and
 * `X-Frame-Options` (no page of another site frames the app), `nosniff`, no referrer; and for
 * the API (`/api`, `/sync`, `/health`, `/metrics`) `Cache-Control: no-store`. The script
 * policy is the web app's own, a `<meta>` in its `index.html` with the hash of SvelteKit's
 * inline start-up script (client/svelte.config.js); both policies apply. Served byte for byte:
 * a proxy that rewrites the HTML (minifies it, injects a script) breaks that hash.
 */
export function securityHeaders(path: string): Record<string, string> {
  const headers: Record<string, string> = {
    // Not object-src: a PDF opened from the app (a blob URL, which takes this policy) is shown
    // by the browser's viewer, an embedded object.
    'Content-Security-Policy': "frame-ancestors 'none'; base-uri 'self'",
    'X-Frame-Options': 'DENY',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  };
  if (isApiPath(path)) headers['Cache-Control'] = 'no-store';
  return headers;
}

function clientAddress(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = header(c, 'x-forwarded-for')?.split(',').at(-1)?.trim();
    if (forwarded) return forwarded;
  }
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  return incoming?.socket.remoteAddress ?? 'direct';
}

/** A conflict as the Read API shows it: `resolution` only once there is one (`resolution?`). */
function conflictAnswer<R extends { readonly resolution: unknown }>(
  row: R,
): Omit<R, 'resolution'> & { readonly resolution?: R['resolution'] } {
  if (row.resolution !== null) return row;
  const { resolution: _none, ...open } = row;
  return open;
}

const publicUser = (u: UserRow): PublicUser => ({
  id: u.id,
  username: u.username,
  name: u.name,
  role: u.role,
});

/**
 * A request header. Under `@hono/node-server` it is read from the Node request: the first
 * `c.req.header()` of a request builds a web `Headers` of all of them, validated one by one,
 * which costs a single-mutation push about as much as its zod validation.
 */
function header(c: Context, name: Lowercase<string>): string | undefined {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (!incoming) return c.req.header(name);
  const v = incoming.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Bodies of requests other than pushes (login, pull, admin): small by nature. */
const MAX_BODY_BYTES = 64 * 1024;
/** The most stock lines one `GET /api/stock` answers (`X-Truncated` says there were more). */
const MAX_STOCK_LINES = 10_000;
/** The most conflicts one `GET /api/conflicts` answers, newest first (`X-Truncated`, `X-Total-Count`). */
const MAX_CONFLICTS = 1000;
/** Poke streams one session (a device's tabs) holds open at once on an instance; a newer one closes the oldest. */
export const MAX_STREAMS_PER_SESSION = 16;

/**
 * Reads a JSON body of at most `maxBytes`. Under `@hono/node-server` it reads the Node request
 * stream directly: building the web `Request` and its stream costs more than the rest of a
 * single-mutation push. Elsewhere (`app.request()` in tests) it reads `c.req.text()`.
 */
export async function readJson(
  c: Context,
  maxBytes = MAX_BODY_BYTES,
  detail = `this request may carry at most ${maxBytes} bytes`,
): Promise<unknown> {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming) return readNodeJson(incoming, maxBytes, detail);
  const over = () => tooLarge(detail);
  if (Number(c.req.header('content-length')) > maxBytes) throw over();
  const text = await c.req.text();
  if (Buffer.byteLength(text) > maxBytes) throw over();
  return parseJson(text);
}

/** The JSON body of a Node request, of at most `maxBytes` (counted while read). */
async function readNodeJson(
  incoming: IncomingMessage,
  maxBytes: number,
  detail: string,
): Promise<unknown> {
  const over = () => tooLarge(detail);
  if (Number(incoming.headers['content-length']) > maxBytes) throw over();
  return parseJson((await readStream(incoming, maxBytes, over)).toString('utf8'));
}

/**
 * A small JSON body (64 KB at most: more is a 413, counted while read) where a missing or
 * malformed body means `fallback` — for routes whose body is optional or checked by a schema
 * that answers a 400 of its own.
 */
export async function readJsonOr(c: Context, fallback: unknown): Promise<unknown> {
  const detail = `this request may carry at most ${MAX_BODY_BYTES} bytes`;
  const bytes = await readBytes(c, MAX_BODY_BYTES, detail);
  try {
    // Decoded as `Request.json()` does (a byte order mark is dropped).
    return parseWellFormed(new TextDecoder().decode(bytes));
  } catch {
    return fallback;
  }
}

/** A raw body (an uploaded file) of at most `maxBytes`, counted while read. */
export async function readBytes(c: Context, maxBytes: number, detail: string): Promise<Buffer> {
  const over = () => tooLarge(detail);
  if (Number(c.req.header('content-length')) > maxBytes) throw over();
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming) return readStream(incoming, maxBytes, over);
  const bytes = Buffer.from(await c.req.arrayBuffer());
  if (bytes.length > maxBytes) throw over();
  return bytes;
}

function parseJson(text: string): unknown {
  try {
    return parseWellFormed(text);
  } catch {
    throw badRequest('the body is not valid JSON', 'MALFORMED_JSON');
  }
}

/** `JSON.parse`, its strings made well-formed when the text escapes a surrogate (see `wellFormed`). */
function parseWellFormed(text: string): unknown {
  const value = JSON.parse(text) as unknown;
  return LONE_SURROGATE_ESCAPE.test(text) ? wellFormed(value) : value;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
/** `String.prototype.toWellFormed` (ES2024). */
const toWellFormed = (s: string) => s.replace(LONE_SURROGATE, '\ufffd');

/** A `\uD800`–`\uDFFF` escape: the only way JSON text decoded from UTF-8 carries a lone surrogate. */
const LONE_SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

/**
 * The value with every string and key well-formed (a lone surrogate becomes U+FFFD). SQLite
 * stores text as UTF-8, where two different lone surrogates are the same U+FFFD: a lot
 * "\uDFFF\uD800" and a lot "\uDC00\uD801" were two stock lines in memory and one row on disk,
 * and the second push failed with a 500 on every retry (found by fuzzing, 1,000,000 cases).
 */
export function wellFormed(value: unknown): unknown {
  // Iterative: a body may nest thousands of levels deep (it is refused later, not here).
  const root = { v: value };
  const stack: [Record<string, unknown> | unknown[], string | number][] = [[root, 'v']];
  while (stack.length > 0) {
    const [holder, key] = stack.pop() as [Record<string, unknown> | unknown[], string | number];
    const v = (holder as Record<string | number, unknown>)[key];
    if (typeof v === 'string') (holder as Record<string | number, unknown>)[key] = toWellFormed(v);
    else if (Array.isArray(v)) for (let i = 0; i < v.length; i++) stack.push([v, i]);
    else if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      for (const k of Object.keys(o)) {
        const wk = toWellFormed(k);
        if (wk !== k) {
          o[wk] = o[k];
          delete o[k];
        }
        stack.push([o, wk]);
      }
    }
  }
  return root.v;
}

function readStream(
  incoming: IncomingMessage,
  maxBytes: number,
  over: () => Error,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        incoming.off('data', onData);
        incoming.resume(); // drain the rest; the answer is already decided
        reject(over());
      } else chunks.push(chunk);
    };
    incoming.on('data', onData);
    incoming.once('end', () => resolve(Buffer.concat(chunks, size)));
    incoming.once('error', reject);
  });
}

/** A body already serialized (a pull's page of events, see `RecentEvents`). */
const isSerialized = (body: unknown): body is { json: string } =>
  typeof body === 'object' &&
  body !== null &&
  typeof (body as { json?: unknown }).json === 'string';

/** A 200 JSON answer through Hono, of an object or of an already serialized body. */
const jsonResponse = (c: Context, body: unknown) =>
  isSerialized(body)
    ? c.body(body.json, 200, { 'content-type': 'application/json' })
    : c.json(body as object);

/** A session that is neither revoked nor expired at `now` (what a ticket needs). */
const liveSession = (s: SessionRow | undefined, now: string): s is SessionRow =>
  s !== undefined && !s.revoked && s.expiresAt > now;

/** A body checked against its schema: `VALIDATION_FAILED` with the first five issues. */
export function validate<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 5)
      .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message));
    throw badRequest(issues.join('; '), 'VALIDATION_FAILED');
  }
  return parsed.data;
}

export function createApp(deps: AppDeps): AppHandle {
  const { storage, bus, hasher, log, clock, newId } = deps;
  const metrics = deps.metrics ?? new Metrics();
  const throttle = deps.throttle ?? new LoginThrottle();
  const sessionTtlMs = deps.config?.sessionTtlMs ?? 12 * 3600_000;
  const ticketTtlMs = deps.config?.ticketTtlMs ?? 60_000;
  const hub = new SseHub(deps.config?.pokeIntervalMs ?? 250);
  /** Open poke streams per session (the hash its tickets name), oldest first: each one's close. */
  const streamsOfSession = new Map<string, Set<() => void>>();
  const recentEvents = new RecentEvents();
  const app = new Hono<Env>();

  // A hash to verify against when the user does not exist, so timing does not reveal usernames.
  const dummyHash = hasher.hash(newToken());

  const unsubscribe = bus.subscribe(SUBJECTS.poke, (payload) => {
    const poke = PokeMessage.safeParse(payload); // from the network when the bus is NATS
    if (poke.success) hub.poke(poke.data.head);
  });
  const heartbeat = setInterval(() => hub.heartbeat(), deps.config?.heartbeatMs ?? 15_000);
  heartbeat.unref();

  // Device activity (last push and pull, pending count, app version): coalesced in memory and
  // written every `activityFlushMs`, so neither a pull nor a push pays a write of its own for
  // it. `/api/devices` overlays what is not written yet, so supervisors see it at once.
  interface Activity {
    userId: string;
    pullAt?: string;
    pushAt?: string;
    pending?: number;
    appVersion?: string;
  }
  const activity = new Map<string, Activity>();
  const noteActivity = (
    group: string,
    a: Omit<Activity, 'pullAt' | 'pushAt'> & Partial<Activity>,
  ) => activity.set(group, { ...activity.get(group), ...a });
  // Expired sessions and tickets are forgotten once a minute, with the activity write or alone.
  let lastPurge = 0;
  const flushActivity = async () => {
    const purge = clock().getTime() - lastPurge >= 60_000;
    if (activity.size === 0 && !purge) return;
    const batch = [...activity];
    activity.clear();
    try {
      await storage.write((tx) => {
        for (const [group, a] of batch) {
          if (a.pullAt) tx.touchDevice(group, a.userId, a.pullAt, 'pull');
          if (a.pushAt) {
            tx.touchDevice(group, a.userId, a.pushAt, 'push', {
              ...(a.pending !== undefined ? { pending: a.pending } : {}),
              ...(a.appVersion !== undefined ? { appVersion: a.appVersion } : {}),
            });
          }
        }
        if (purge) tx.purgeExpired(clock().toISOString());
      });
    } catch (error) {
      // Not lost: kept for the next flush, under anything newer noted meanwhile.
      for (const [group, a] of batch) activity.set(group, { ...a, ...activity.get(group) });
      throw error;
    }
    if (purge) lastPurge = clock().getTime();
  };
  const activityTimer = setInterval(() => {
    flushActivity().catch((e: unknown) =>
      log.log('warn', 'device activity not recorded', { error: String(e) }),
    );
  }, deps.config?.activityFlushMs ?? 2000);
  activityTimer.unref();

  metrics.gauge('floorsync_sse_clients', () => hub.size);

  /** Any error of a handler as the problem it answers with; unexpected ones are logged. */
  const toProblem = (err: unknown, path: string): HttpProblem => {
    if (err instanceof HttpProblem) return err;
    if (err instanceof StorageUnavailableError) {
      log.log('error', 'storage unavailable', { path, error: err.message });
      return unavailable('storage is unavailable; retry later');
    }
    log.log('error', 'unhandled error', {
      path,
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
    return new HttpProblem(
      500,
      'INTERNAL',
      'Internal error',
      'an unexpected error occurred; it has been logged',
    );
  };
  app.onError((err, c) => problem(c, toProblem(err, c.req.path)));
  app.notFound((c) => problem(c, notFound(`no route for ${c.req.method} ${c.req.path}`)));

  /** Counted and logged for every request, on either path (Hono or the lean push). */
  const recordRequest = (method: string, path: string, status: number, ms: number) => {
    metrics.inc('floorsync_http_requests_total', { method, status: String(status) });
    if (path !== '/health' && path !== '/metrics') {
      log.log('debug', 'request', { method, path, status, ms: Math.round(ms * 10) / 10 });
    }
  };
  app.use('*', async (c, next) => {
    const t0 = performance.now();
    await next();
    recordRequest(c.req.method, c.req.path, c.res.status, performance.now() - t0);
  });
  // Every answer (the web app's files too): not to be framed (clickjacking the admin console),
  // sniffed as another type, or named as a referrer; the API's (tokens, people's names) not
  // kept by a cache or a shared browser.
  app.use('*', async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(securityHeaders(c.req.path)))
      if (!c.res.headers.has(name)) c.res.headers.set(name, value);
  });

  // ─── Auth ─────────────────────────────────────────────────────────────────────────────────

  const sessionCacheMs = deps.config?.sessionCacheMs ?? 5000;
  const sessionCache = new Map<string, { session: Session; expires: string; until: number }>();
  /** Forget every cached session: after any change to sessions, users or devices. */
  const forgetSessions = () => {
    sessionCache.clear();
    devicesChecked.clear();
  };
  /** Devices seen not revoked, until when (ms): a pull checks its device at most this often. */
  const devicesChecked = new Map<string, number>();

  const authenticate = async (header: string | undefined): Promise<Session> => {
    const token = header?.match(/^Bearer\s+(\S+)$/i)?.[1];
    if (!token) throw unauthorized('missing bearer token');
    const now = clock();
    // Keyed by the token itself: a hit costs no hashing. Tokens live in this memory anyway.
    const cached = sessionCache.get(token);
    if (cached && cached.until > now.getTime() && cached.expires > now.toISOString())
      return cached.session;
    const tokenHash = hashToken(token);
    const found = await storage.read((tx) => {
      const s = tx.session(tokenHash);
      return s && { s, user: tx.userById(s.userId) };
    });
    if (!found || !found.user) throw unauthorized('unknown or revoked token');
    if (found.s.expiresAt <= now.toISOString())
      throw unauthorized('session expired; sign in again');
    // Deactivating revokes the user's sessions: a device still holding a live one is told why
    // (it proved its sign-in once; a sign-in with the password learns nothing of it).
    if (!found.user.active) throw deactivated();
    if (found.s.revoked) throw unauthorized('unknown or revoked token');
    const session = { user: found.user, tokenHash, clientGroupID: found.s.clientGroupID };
    // Only sessions bound to a device: binding changes the session, and happens once.
    if (sessionCacheMs > 0 && session.clientGroupID !== null) {
      if (sessionCache.size >= 10_000) sessionCache.clear(); // bounded: a burst of logins
      sessionCache.set(token, {
        session,
        expires: found.s.expiresAt,
        until: now.getTime() + sessionCacheMs,
      });
    }
    return session;
  };

  const authorize = async (authorization: string | undefined, role: Role): Promise<Session> => {
    const session = await authenticate(authorization);
    if (!roleAllows(session.user.role, role))
      throw forbidden(`this needs the ${role} role`, 'ROLE');
    return session;
  };
  /**
   * A session bound to a revoked device ends on every route, not only at push and pull: a lost
   * handheld's token must not read stock or start a job either. Checked at most every few
   * seconds per device, like a pull's.
   */
  const refuseRevokedDevice = async (clientGroupID: string | null): Promise<void> => {
    if (clientGroupID === null) return;
    const now = clock().getTime();
    if ((devicesChecked.get(clientGroupID) ?? 0) > now) return;
    const device = await storage.read((tx) => tx.device(clientGroupID));
    if (device?.revokedAt)
      throw forbidden('this device has been revoked; ask an admin', 'DEVICE_REVOKED');
    if (sessionCacheMs > 0) {
      if (devicesChecked.size >= 10_000) devicesChecked.clear();
      devicesChecked.set(clientGroupID, now + sessionCacheMs);
    }
  };
  /** `revokedDevice: 'allowed'`: signing out, which a revoked device may still do. */
  const requireRole =
    (role: Role, o: { readonly revokedDevice?: 'allowed' } = {}): MiddlewareHandler<Env> =>
    async (c, next) => {
      const session = await authorize(header(c, 'authorization'), role);
      if (o.revokedDevice !== 'allowed') await refuseRevokedDevice(session.clientGroupID);
      c.set('session', session);
      await next();
    };

  /** Binds the session to its device at its first pull (a first push binds it in its write). */
  const bindDevice = async (session: Session, clientGroupID: string): Promise<void> => {
    if (session.clientGroupID !== null) {
      if (session.clientGroupID !== clientGroupID)
        throw forbidden('this session belongs to another device', 'OTHER_DEVICE');
      return refuseRevokedDevice(clientGroupID);
    }
    await storage.write((tx) =>
      checkAndBind(
        tx,
        {
          userId: session.user.id,
          role: session.user.role,
          tokenHash: session.tokenHash,
          clientGroupID: null,
        },
        clientGroupID,
        clock,
      ),
    );
  };

  app.get('/health', async (c) => {
    const head = await storage.read((tx) => tx.head());
    const relay = deps.relay?.status();
    // No error text here (it is public): how far, and failing since when.
    const erp = deps.erpExport?.();
    const erpExport = erp && {
      cursor: erp.cursor,
      failingSince: erp.failingSince === null ? null : new Date(erp.failingSince).toISOString(),
    };
    const b = deps.backups?.();
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return c.json({
      status: 'ok',
      head,
      ...(relay ? { relay } : {}),
      ...(erp ? { erpExport } : {}),
      ...(b ? { backups: { last: iso(b.lastSuccessMs), failingSince: iso(b.failingSince) } } : {}),
    });
  });

  const metricsToken = deps.config?.metricsToken;
  app.get('/metrics', async (c) => {
    // Every endpoint but /health takes a bearer token (SYNC-PROTOCOL.md, Authentication): the
    // scraper's static one, or a supervisor's session.
    const authorization = header(c, 'authorization');
    if (!metricsToken || !sameSecret(authorization, `Bearer ${metricsToken}`))
      await refuseRevokedDevice((await authorize(authorization, 'supervisor')).clientGroupID);
    const [head, open] = await storage.read(
      (tx) => [tx.head(), tx.conflictCount({ status: 'open' })] as const,
    );
    const relay = deps.relay?.status();
    const erp = deps.erpExport?.();
    return c.text(
      metrics.render({
        floorsync_log_head: head,
        floorsync_conflicts_open: open,
        ...(erp
          ? {
              floorsync_erp_export_seq: erp.cursor,
              floorsync_erp_export_lag_events: Math.max(0, head - erp.cursor),
              floorsync_erp_export_failing: erp.failingSince === null ? 0 : 1,
              floorsync_erp_export_last_success_timestamp_seconds:
                erp.exportedAt === null ? 0 : erp.exportedAt / 1000,
            }
          : {}),
        // Only the relaying instance reports the stream's position (others would report 0).
        ...(relay?.leader
          ? {
              floorsync_relay_seq: relay.relayedTo,
              floorsync_relay_lag_events: head - relay.relayedTo,
              floorsync_relay_failing: relay.failing ? 1 : 0,
            }
          : {}),
      }),
      200,
      {
        'content-type': 'text/plain; version=0.0.4',
      },
    );
  });

  app.post('/api/auth/login', async (c) => {
    const body = validate(loginRequestSchema, await readJson(c));
    const keys = throttleKeys(body.username, clientAddress(c, deps.config?.trustProxy === true));
    // One turn per key at a time (`LoginThrottle.enter`): a burst of guesses is counted as it
    // goes. Waiting past a thousand others for one key is refused at once.
    let leave: () => void;
    try {
      leave = await throttle.enter(keys);
    } catch (e) {
      if (!(e instanceof ThrottleBusyError)) throw e;
      throw new HttpProblem(429, 'THROTTLED', 'Too many sign-ins at once', 'try again in 5 s', {
        'retry-after': '5',
      });
    }
    let user: UserRow | undefined;
    try {
      const now = clock().getTime();
      const wait = throttle.retryAfter(keys, now);
      if (wait > 0) {
        throw new HttpProblem(
          429,
          'THROTTLED',
          'Too many failed sign-ins',
          `try again in ${Math.ceil(wait / 1000)} s`,
          {
            'retry-after': String(Math.ceil(wait / 1000)),
          },
        );
      }
      user = await storage.read((tx) => tx.userByUsername(body.username));
      const ok = await hasher.verify(user?.passwordHash ?? (await dummyHash), body.password);
      if (!user || !ok || !user.active) {
        throttle.fail(keys, now);
        metrics.inc('floorsync_logins_total', { outcome: 'failed' });
        // A deactivated account's right password gets the same answer: a guess learns nothing.
        throw new HttpProblem(401, 'BAD_CREDENTIALS', 'Unauthorized', 'wrong username or password');
      }
    } finally {
      leave();
    }
    throttle.succeed(keys);
    const group = body.clientGroupID ?? null;
    const secretHash = body.deviceSecret ? hashToken(body.deviceSecret) : undefined;
    const token = newToken();
    const at = clock();
    try {
      if (group !== null) {
        refuseServiceClients(user.role, [group]);
        const device = await storage.read((tx) => tx.device(group));
        if (device?.revokedAt)
          throw forbidden('this device has been revoked; ask an admin', 'DEVICE_REVOKED');
      }
      await storage.write((tx) => {
        // A device with a secret is signed in to only with it: checked in the write that
        // would record a first one, so two first sign-ins with different secrets cannot both
        // win. The store keeps a secret only when this sign-in records the device (its
        // random ID known then to the installation that made it alone): one seen before
        // without stays so. Service groups (jobs, ERP, labels) never get one.
        if (group !== null) refuseWrongSecret(tx.device(group), secretHash);
        tx.createSession({
          tokenHash: hashToken(token),
          userId: user.id,
          clientGroupID: group,
          createdAt: at.toISOString(),
          expiresAt: new Date(at.getTime() + sessionTtlMs).toISOString(),
          revoked: false,
        });
        if (group !== null)
          tx.touchDevice(group, user.id, at.toISOString(), 'login', {
            ...(secretHash && !isServiceClient(group) ? { secretHash } : {}),
          });
      });
    } catch (error) {
      if (error instanceof HttpProblem && error.status === 403) {
        // A revoked device, a service group named by an operator, or a device's secret.
        metrics.inc('floorsync_logins_total', { outcome: 'forbidden' });
        log.log('warn', 'sign-in refused for the device', {
          user: user.username,
          device: group,
          reason: error.detail,
        });
      }
      throw error;
    }
    metrics.inc('floorsync_logins_total', { outcome: 'ok' });
    log.log('info', 'signed in', { user: user.username, device: body.clientGroupID ?? null });
    return c.json({ token, user: publicUser(user) });
  });

  app.post('/api/auth/logout', requireRole('operator', { revokedDevice: 'allowed' }), async (c) => {
    const { tokenHash } = c.get('session');
    forgetSessions();
    // The SSE tickets this session took end with it (the stream checks their session).
    await storage.write((tx) => tx.revokeSession(tokenHash));
    forgetSessions(); // and whatever a request in flight cached meanwhile
    return c.body(null, 204);
  });

  app.get('/api/auth/me', requireRole('operator'), (c) => {
    const s = c.get('session');
    return c.json({ user: publicUser(s.user), clientGroupID: s.clientGroupID });
  });

  app.post('/api/auth/ticket', requireRole('operator'), async (c) => {
    const s = c.get('session');
    const ticket = newToken();
    await storage.write((tx) => {
      // The session may have ended since it was authenticated (a logout racing this, or the
      // few seconds another instance's session cache lags): no ticket for an ended session.
      if (!liveSession(tx.session(s.tokenHash), clock().toISOString()))
        throw unauthorized('unknown or revoked token');
      tx.createTicket({
        ticketHash: hashToken(ticket),
        userId: s.user.id,
        clientGroupID: s.clientGroupID,
        expiresAt: new Date(clock().getTime() + ticketTtlMs).toISOString(),
        sessionHash: s.tokenHash,
      });
    });
    return c.json({ ticket });
  });

  // ─── Sync ─────────────────────────────────────────────────────────────────────────────────

  /**
   * A push once its sender is authenticated: one implementation for the Hono route and the
   * lean Node path (`lean`). Returns the response body (200).
   */
  const push = async (session: Session, body: unknown, t0: number): Promise<unknown> => {
    const unsupported = unsupportedVersion(body, 'push');
    if (unsupported) return unsupported;
    // Counted before the envelope is checked: too many is 413 whatever else is wrong.
    const count = (body as { mutations?: unknown } | null)?.mutations;
    if (Array.isArray(count) && count.length > MAX_MUTATIONS_PER_PUSH) {
      throw tooLarge(
        `a push may carry at most ${MAX_MUTATIONS_PER_PUSH} mutations, this one has ${count.length}`,
      );
    }
    const req = validate(pushRequestSchema, body);
    const extra = req as { pending?: unknown; appVersion?: unknown };
    const request: AuthenticatedPush = {
      clientGroupID: req.clientGroupID,
      mutations: req.mutations,
      session: {
        userId: session.user.id,
        role: session.user.role,
        tokenHash: session.tokenHash,
        clientGroupID: session.clientGroupID,
      },
    };
    const outcome = await storage.write((tx) => applyPush(tx, request, { now: clock, newId }));
    noteActivity(req.clientGroupID, {
      userId: session.user.id,
      pushAt: clock().toISOString(),
      ...(typeof extra.pending === 'number' &&
      Number.isSafeInteger(extra.pending) &&
      extra.pending >= 0
        ? { pending: extra.pending }
        : {}),
      ...(typeof extra.appVersion === 'string'
        ? { appVersion: extra.appVersion.slice(0, 64) }
        : {}),
    });
    if (outcome.appended > 0) await bus.publish(SUBJECTS.poke, { head: outcome.head });
    const byStatus = new Map<string, number>();
    for (const r of outcome.results) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
    for (const [status, n] of byStatus) metrics.inc('floorsync_mutations_total', { status }, n);
    metrics.observeMs('floorsync_push_duration_seconds', performance.now() - t0);
    return { results: outcome.results, head: outcome.head };
  };
  const pushTooLarge = `a push may carry at most ${MAX_PUSH_BYTES} bytes; send smaller batches`;

  app.post('/sync/push', async (c) => {
    const session = await authorize(header(c, 'authorization'), 'operator');
    const t0 = performance.now(); // push duration: from after authentication, as always
    return jsonResponse(
      c,
      await push(session, await readJson(c, MAX_PUSH_BYTES, pushTooLarge), t0),
    );
  });

  /** A pull once its sender is authenticated (the Hono route and the lean path share it). */
  const pullFor = async (session: Session, body: unknown): Promise<unknown> => {
    const t0 = performance.now();
    const unsupported = unsupportedVersion(body, 'pull');
    if (unsupported) return unsupported;
    const req = validate(pullRequestSchema, body);
    await bindDevice(session, req.clientGroupID);
    const answer = await storage.read((tx) =>
      pull(
        tx,
        {
          clientGroupID: req.clientGroupID,
          cookie: req.cookie,
          limit: req.limit,
          conflictsOf: roleAllows(session.user.role, 'supervisor') ? null : session.user.id,
        },
        recentEvents,
      ),
    );
    // The cookie names a position in the log: never one a power cut could take back.
    await storage.durable();
    noteActivity(req.clientGroupID, { userId: session.user.id, pullAt: clock().toISOString() });
    metrics.inc('floorsync_pulls_total');
    metrics.observeMs('floorsync_pull_duration_seconds', performance.now() - t0);
    return answer;
  };

  app.post('/sync/pull', async (c) => {
    const session = await authorize(header(c, 'authorization'), 'operator');
    return jsonResponse(c, await pullFor(session, await readJson(c)));
  });

  /**
   * `POST /sync/push` and `POST /sync/pull` straight from Node's request, without Hono's
   * request and response objects: the same authorization, body limits, handlers, problems,
   * metrics and log line. `serveNode` routes them here. Measured, Hono's part cost a
   * single-scan push about a tenth of its time; a floor's devices pull far more often than
   * they push (every poke).
   */
  const lean =
    (
      path: string,
      maxBytes: number,
      detail: string,
      handle: (s: Session, body: unknown, t0: number) => Promise<unknown>,
    ) =>
    async (incoming: IncomingMessage): Promise<LeanResponse> => {
      const t0 = performance.now();
      let response: LeanResponse;
      try {
        const session = await authorize(incoming.headers.authorization, 'operator');
        const authorized = performance.now(); // push duration counts from here
        const body = await handle(
          session,
          await readNodeJson(incoming, maxBytes, detail),
          authorized,
        );
        response = {
          status: 200,
          headers: { ...securityHeaders(path), 'content-type': 'application/json' },
          body: isSerialized(body) ? body.json : JSON.stringify(body),
        };
      } catch (err) {
        const p = toProblem(err, path);
        response = {
          status: p.status,
          headers: {
            ...securityHeaders(path),
            ...p.headers,
            'content-type': 'application/problem+json',
          },
          body: problemDocument(p),
        };
      }
      recordRequest('POST', path, response.status, performance.now() - t0);
      return response;
    };
  const leanRoutes = new Map<string, (incoming: IncomingMessage) => Promise<LeanResponse>>([
    ['/sync/push', lean('/sync/push', MAX_PUSH_BYTES, pushTooLarge, push)],
    [
      '/sync/pull',
      lean(
        '/sync/pull',
        MAX_BODY_BYTES,
        `this request may carry at most ${MAX_BODY_BYTES} bytes`,
        pullFor,
      ),
    ],
  ]);

  app.get('/sync/stream', async (c) => {
    const ticket = c.req.query('ticket');
    if (!ticket) throw unauthorized('missing ticket: POST /api/auth/ticket first');
    // A ticket opens streams until it expires (60 s): an EventSource reconnects with the same
    // URL and `Last-Event-ID`, and that reconnect must work (SYNC-PROTOCOL.md, Poke). Only its
    // hash is stored; its session must still live, the user be active and the device not
    // revoked at each use.
    const now = clock().toISOString();
    const opened = await storage.read((tx) => {
      const t = tx.ticket(hashToken(ticket));
      if (!t) return { ok: false as const, why: 'unknown ticket' };
      if (t.expiresAt <= now) return { ok: false as const, why: 'expired ticket' };
      if (t.sessionHash !== undefined && !liveSession(tx.session(t.sessionHash), now))
        return { ok: false as const, why: 'the session that took this ticket has ended' };
      if (!tx.userById(t.userId)?.active)
        return { ok: false as const, why: 'this user is deactivated' };
      if (t.clientGroupID && tx.device(t.clientGroupID)?.revokedAt)
        return { ok: false as const, why: 'this device has been revoked' };
      return { ok: true as const, head: tx.head(), session: t.sessionHash };
    });
    if (!opened.ok) throw unauthorized(opened.why);
    const head = opened.head;
    // Sessions are many (each sign-in is one), so the instance holds a bounded number of
    // streams in all: one user opening sessions in a loop cannot take every socket.
    if (hub.size >= (deps.config?.maxStreams ?? 10_000))
      throw new HttpProblem(
        503,
        'TOO_MANY_STREAMS',
        'Service unavailable',
        'this server holds as many poke streams as it may; try again in 30 s',
        { 'retry-after': '30' },
      );
    // A device's tabs each hold a stream. More than that from one session (on this instance)
    // are leaks, or connections a handheld lost when it left the Wi-Fi without closing them —
    // TCP can take many minutes to notice. So the newest stream always gets in, and the
    // session's oldest one is closed to make room: a roaming device keeps hearing pokes, and a
    // session never holds more than its share of sockets.
    const session = opened.session;
    let evict!: () => void;
    const evicted = new Promise<void>((resolve) => (evict = resolve));
    if (session !== undefined) {
      const held = streamsOfSession.get(session) ?? new Set<() => void>();
      streamsOfSession.set(session, held);
      for (const oldest of held) {
        if (held.size < MAX_STREAMS_PER_SESSION) break;
        held.delete(oldest);
        oldest();
      }
      held.add(evict);
    }
    const release = () => {
      const held = session === undefined ? undefined : streamsOfSession.get(session);
      if (!held) return;
      held.delete(evict);
      if (held.size === 0) streamsOfSession.delete(session as string);
    };
    // nginx buffers a proxied answer unless told not to: the pokes would wait in its buffer.
    c.header('X-Accel-Buffering', 'no');
    return streamSSE(c, async (stream) => {
      const closing = hub.untilClosed();
      try {
        hub.add(stream, head);
        const aborted = new Promise<void>((resolve) => stream.onAbort(resolve));
        // On connect (and on reconnect with Last-Event-ID) the client learns the head at once.
        await stream.writeSSE({ event: 'poke', data: JSON.stringify({ head }), id: String(head) });
        await Promise.race([closing.closed, aborted, evicted]);
      } finally {
        closing.done();
        hub.remove(stream);
        release();
      }
    });
  });

  // ─── Read API ─────────────────────────────────────────────────────────────────────────────

  app.get('/api/stock', requireRole('operator'), async (c) => {
    const q = c.req.query();
    const found = await storage.read((tx) =>
      tx.stock({
        ...(q['itemId'] ? { itemId: q['itemId'] } : {}),
        ...(q['positionId'] ? { positionId: q['positionId'] } : {}),
        ...(q['lot'] ? { lot: q['lot'] } : {}),
        ...(q['serial'] ? { serial: q['serial'] } : {}),
        limit: MAX_STOCK_LINES + 1,
      }),
    );
    // More lines than an answer holds: said, not silently cut (narrow by item or position).
    if (found.length > MAX_STOCK_LINES) c.header('x-truncated', String(MAX_STOCK_LINES));
    const lines = found.slice(0, MAX_STOCK_LINES);
    return c.json(lines.map((l) => ({ ...l, ...(l.quantity < 0 ? { negative: true } : {}) })));
  });

  app.get('/api/conflicts', requireRole('operator'), async (c) => {
    const status = c.req.query('status');
    if (status !== undefined && status !== 'open' && status !== 'resolved')
      throw badRequest('status must be open or resolved');
    const s = c.get('session');
    const mine = !roleAllows(s.user.role, 'supervisor');
    const filter: ConflictFilter = {
      ...(status ? { status } : {}),
      ...(mine ? { userId: s.user.id } : {}),
    };
    const [rows, total] = await storage.read((tx) => {
      const found = tx.conflicts({ ...filter, limit: MAX_CONFLICTS + 1 });
      return [found, found.length > MAX_CONFLICTS ? tx.conflictCount(filter) : found.length];
    });
    // More than an answer holds (a restore, a day offline on a busy floor): the newest, and
    // how many there are — said, not silently cut.
    if (total > MAX_CONFLICTS) c.header('x-truncated', String(MAX_CONFLICTS));
    c.header('x-total-count', String(total));
    return c.json(rows.slice(0, MAX_CONFLICTS).map(conflictAnswer));
  });

  app.get('/api/conflicts/:id', requireRole('operator'), async (c) => {
    const s = c.get('session');
    const row = await storage.read((tx) => {
      const r = tx.conflictRow(c.req.param('id'));
      if (!r) return undefined;
      const events = r.seqs.flatMap((seq) => tx.eventsAfter(seq - 1, 1));
      return { ...r, events };
    });
    if (!row || (!roleAllows(s.user.role, 'supervisor') && row.userId !== s.user.id))
      throw notFound('no such conflict');
    return c.json(conflictAnswer(row));
  });

  // Movement lists: supervisors see all; an operator sees the lists assigned to them.
  app.get('/api/lists', requireRole('operator'), async (c) => {
    const q = c.req.query();
    const status = q['status']?.split(',').filter((x) => x !== '');
    if (status?.some((x) => !(LIST_STATUSES as readonly string[]).includes(x)))
      throw badRequest(`status must be one or more of ${LIST_STATUSES.join(', ')}`);
    const type = q['type'];
    if (type !== undefined && !(LIST_TYPES as readonly string[]).includes(type))
      throw badRequest(`type must be one of ${LIST_TYPES.join(', ')}`);
    const s = c.get('session');
    const supervisor = roleAllows(s.user.role, 'supervisor');
    const rows = await storage.read((tx) =>
      tx.lists({
        ...(status ? { status: status as ListStatus[] } : {}),
        ...(type ? { type: type as ListType } : {}),
        ...(q['code'] ? { code: q['code'] } : {}),
        ...(supervisor && q['mine'] === '1' ? { assignee: s.user.id } : {}),
        // An operator works on the lists assigned to them and on those open for anyone: chosen
        // by the query, so that others' lists never take the places of the limit.
        ...(supervisor ? {} : { availableTo: s.user.id }),
        limit: 1000,
      }),
    );
    return c.json(rows);
  });

  app.get('/api/lists/:id', requireRole('operator'), async (c) => {
    const s = c.get('session');
    const list = await storage.read((tx) => {
      const id = c.req.param('id') as ListId;
      const record = tx.list(id);
      return record && { ...listValue(record, tx.lines(id)) };
    });
    const theirs = list?.assignee === s.user.id || list?.assignee === null;
    if (!list || (!roleAllows(s.user.role, 'supervisor') && !theirs))
      throw notFound('no such list');
    return c.json({ ...list, progress: listProgress(list) });
  });

  app.get('/api/items', requireRole('operator'), async (c) =>
    c.json(await storage.read((tx) => tx.items())),
  );
  app.get('/api/positions', requireRole('operator'), async (c) =>
    c.json(await storage.read((tx) => tx.positions())),
  );

  app.get('/api/events', requireRole('supervisor'), async (c) => {
    const after = Number(c.req.query('after') ?? 0);
    const limit = Number(c.req.query('limit') ?? 200);
    if (
      !Number.isInteger(after) ||
      after < 0 ||
      !Number.isInteger(limit) ||
      limit < 1 ||
      limit > 2000
    ) {
      throw badRequest('after must be a seq ≥ 0 and limit 1–2000');
    }
    return c.json(await storage.read((tx) => tx.eventsAfter(after, limit)));
  });

  // ─── Admin API ────────────────────────────────────────────────────────────────────────────

  app.post('/api/users', requireRole('admin'), async (c) => {
    const body = validate(createUserRequestSchema, await readJson(c));
    // The job runner's account: created by the server when first needed, never by hand (it
    // would take over a person's account of that name and run jobs with their role).
    if (body.username.toLowerCase() === WORKER_USERNAME)
      throw new HttpProblem(
        409,
        'USER_EXISTS',
        'Conflict',
        `username ${WORKER_USERNAME} is reserved for the server's job runner`,
      );
    const exists = await storage.read((tx) => tx.userByUsername(body.username));
    if (exists)
      throw new HttpProblem(409, 'USER_EXISTS', 'Conflict', `username ${body.username} is taken`);
    const user: UserRow = {
      id: newId(),
      username: body.username,
      name: body.name,
      role: body.role,
      active: true,
      passwordHash: await hasher.hash(body.password),
      createdAt: clock().toISOString(),
    };
    await storage.write((tx) => {
      if (tx.userByUsername(body.username))
        throw new HttpProblem(409, 'USER_EXISTS', 'Conflict', `username ${body.username} is taken`);
      tx.createUser(user);
    });
    log.log('info', 'user created', {
      by: c.get('session').user.username,
      user: user.username,
      role: user.role,
    });
    return c.json(publicUser(user), 201);
  });

  app.get('/api/users', requireRole('admin'), async (c) => {
    const users = await storage.read((tx) => tx.users());
    return c.json(
      users.map((u) => ({ ...publicUser(u), active: u.active, createdAt: u.createdAt })),
    );
  });

  // Who can be given work (lists, counting sessions): active people, without the service
  // account the workers sign in with. For supervisors, who assign but do not manage users.
  app.get('/api/people', requireRole('supervisor'), async (c) => {
    const users = await storage.read((tx) => tx.users());
    return c.json(
      users
        .filter((u) => u.active && u.username !== WORKER_USERNAME)
        .map((u) => ({ id: u.id, username: u.username, name: u.name, role: u.role })),
    );
  });

  app.patch('/api/users/:id', requireRole('admin'), async (c) => {
    const body = validate(updateUserRequestSchema, await readJson(c));
    const id = c.req.param('id');
    const passwordHash = body.password !== undefined ? await hasher.hash(body.password) : undefined;
    const updated = await storage.write((tx) => {
      const u = tx.userById(id);
      if (!u) throw notFound('no such user');
      const next = {
        ...u,
        ...(body.role ? { role: body.role } : {}),
        ...(body.active !== undefined ? { active: body.active } : {}),
      };
      const adminsLeft = tx
        .users()
        .map((x) => (x.id === id ? next : x))
        .filter((x) => x.active && x.role === 'admin');
      if (adminsLeft.length === 0)
        throw new HttpProblem(
          409,
          'LAST_ADMIN',
          'Conflict',
          'the last active admin cannot be demoted or deactivated',
        );
      tx.updateUser(id, {
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.role !== undefined ? { role: body.role } : {}),
        ...(body.active !== undefined ? { active: body.active } : {}),
        ...(passwordHash !== undefined ? { passwordHash } : {}),
      });
      if (body.active === false || passwordHash !== undefined) tx.revokeSessionsOfUser(id);
      forgetSessions();
      return tx.userById(id) as UserRow;
    });
    forgetSessions(); // and whatever a request in flight cached meanwhile
    return c.json({ ...publicUser(updated), active: updated.active, createdAt: updated.createdAt });
  });

  /**
   * A device as the API shows it: whether it has a secret (never the secret's hash), and
   * whether it is one of the server's own clients (jobs, ERP, labels), which never have one.
   */
  const publicDevice = ({ secretHash, ...d }: DeviceRow) => ({
    ...d,
    secured: !!secretHash,
    service: isServiceClient(d.clientGroupID),
  });

  app.get('/api/devices', requireRole('supervisor'), async (c) => {
    const devices = await storage.read((tx) =>
      tx.devices().map((stored) => {
        const a = activity.get(stored.clientGroupID);
        const d = a
          ? {
              ...stored,
              userId: a.userId,
              lastPushAt: a.pushAt ?? stored.lastPushAt,
              lastPullAt: a.pullAt ?? stored.lastPullAt,
              pending: a.pending ?? stored.pending,
              appVersion: a.appVersion ?? stored.appVersion,
            }
          : stored;
        return {
          ...publicDevice(d),
          username: d.userId ? (tx.userById(d.userId)?.username ?? null) : null,
          clients: tx.clientsOfGroup(d.clientGroupID),
        };
      }),
    );
    // Most recently active first, counting what is not written yet.
    const seen = (d: Pick<DeviceRow, 'lastPushAt' | 'lastPullAt' | 'createdAt'>) =>
      d.lastPushAt ?? d.lastPullAt ?? d.createdAt;
    devices.sort((a, b) => (seen(a) < seen(b) ? 1 : seen(a) > seen(b) ? -1 : 0));
    return c.json(devices);
  });

  app.post('/api/devices/:clientGroupID/revoke', requireRole('admin'), async (c) => {
    const group = c.req.param('clientGroupID');
    // A typo revokes nothing and says so (a device is known once it signed in or synced).
    if (!(await storage.read((tx) => tx.device(group))))
      throw notFound(`no device ${group.slice(0, 64)} (see GET /api/devices)`);
    // The jobs, ERP and label clients: revoked, they would stop for good, and nothing but the
    // database could bring them back. A worker is stopped by its password instead.
    if (isServiceClient(group))
      throw new HttpProblem(
        409,
        'SERVICE_CLIENT',
        'Conflict',
        `${group.slice(0, 64)} is one of the server's own clients and cannot be revoked (to lock a worker out, change WORKER_PASSWORD)`,
      );
    forgetSessions();
    await storage.write((tx) => tx.revokeDevice(group, clock().toISOString()));
    forgetSessions(); // and whatever a request in flight cached meanwhile
    log.log('info', 'device revoked', { by: c.get('session').user.username, device: group });
    const device = await storage.read((tx) => tx.device(group));
    return c.json(device && publicDevice(device));
  });

  jobRoutes(app, { storage, clock, newId, requireRole, jobs: deps.jobs, log });
  genealogyRoutes(app, { storage, requireRole });
  countingRoutes(app, { storage, clock, requireRole, jobs: deps.jobs, log });
  labelRoutes(app, {
    storage,
    clock,
    newId,
    requireRole,
    jobs: deps.jobs,
    printers: deps.printers ?? [],
    log,
  });

  deps.staticRoutes?.(app);

  return {
    app,
    hub,
    metrics,
    lean: (method, path) =>
      method === 'POST' && path !== undefined ? leanRoutes.get(path) : undefined,
    async close() {
      clearInterval(heartbeat);
      clearInterval(activityTimer);
      unsubscribe();
      hub.close();
      await flushActivity().catch(() => undefined);
    },
  };
}
