import { PoisonJobError, ServerUnreachableError } from './runner.js';

/**
 * A job's way into the system: the sync server's HTTP API, as a client of the protocol like
 * any device. Each job signs in with its own client group (`job-<id>`), so its session is
 * bound to it and its mutations are numbered by the job alone.
 *
 * Failures the same job cannot get past (400, 404, 409, 422: the job or its data is wrong)
 * are `PoisonJobError`s; everything else (no answer, 5xx, 429, 401 while credentials are being
 * fixed) is worth retrying later and is thrown as a plain error.
 */
export interface SyncApiOptions {
  /** The sync server, e.g. `http://127.0.0.1:8787`. */
  readonly base: string;
  readonly username: string;
  readonly password: string;
  /** Runs before each sign-in (the embedded runner creates its account on first need). */
  readonly beforeSignIn?: () => Promise<void>;
}

export interface PushResult {
  readonly results: readonly { readonly id: number; readonly status: string }[];
  readonly head: number;
}

export class SyncSession {
  constructor(
    private readonly base: string,
    readonly clientGroupID: string,
    private readonly token: string,
  ) {}

  get<T>(path: string): Promise<T> {
    return call<T>(this.base, 'GET', path, undefined, this.token);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return call<T>(this.base, 'POST', path, body, this.token);
  }

  /** One pull page after `cookie` (a seq): the events as the protocol's patch carries them. */
  pull(cookie: number): Promise<
    | {
        cookie: number;
        hasMore?: boolean;
        patch: readonly { op: string; key?: string; value?: unknown }[];
      }
    | { error: string }
  > {
    return call(
      this.base,
      'POST',
      '/sync/pull',
      {
        pullVersion: 1,
        clientGroupID: this.clientGroupID,
        cookie,
        profileID: this.clientGroupID,
        schemaVersion: '1',
      },
      this.token,
    );
  }

  /** Pushes `mutations` as the group's one client (`clientID` = the group). */
  push(mutations: readonly { id: number; name: string; args: unknown }[]): Promise<PushResult> {
    const now = Date.now();
    return call<PushResult>(
      this.base,
      'POST',
      '/sync/push',
      {
        pushVersion: 1,
        clientGroupID: this.clientGroupID,
        profileID: this.clientGroupID,
        schemaVersion: '1',
        mutations: mutations.map((m) => ({ clientID: this.clientGroupID, timestamp: now, ...m })),
      },
      this.token,
    );
  }
}

export class SyncApi {
  constructor(private readonly o: SyncApiOptions) {}

  async session(clientGroupID: string): Promise<SyncSession> {
    await this.o.beforeSignIn?.();
    const { token } = await call<{ token: string }>(this.o.base, 'POST', '/api/auth/login', {
      username: this.o.username,
      password: this.o.password,
      clientGroupID,
    });
    return new SyncSession(this.o.base, clientGroupID, token);
  }
}

const POISON = new Set([400, 404, 409, 413, 422]);
/** It is there but cannot serve now (storage unavailable; a gateway in front of it). */
const UNAVAILABLE = new Set([502, 503, 504]);

async function call<T>(
  base: string,
  method: string,
  path: string,
  body: unknown,
  token?: string,
): Promise<T> {
  let res: Response;
  try {
    res = await fetch(base + path, {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    throw new ServerUnreachableError(
      `the sync server did not answer ${method} ${path}: ${String(error)}`,
      { cause: error },
    );
  }
  const text = await res.text();
  if (res.ok) return JSON.parse(text) as T;
  let detail = text.slice(0, 300);
  try {
    const p = JSON.parse(text) as { detail?: string; title?: string };
    detail = p.detail ?? p.title ?? detail;
  } catch {
    // not a problem document: keep the text
  }
  const message = `${method} ${path}: ${res.status} ${detail}`;
  // Only the server's own refusal (a problem document) is an answer: a proxy's 404 or 502 page
  // while the servers restart is a server not reached, retried like a failed connection — not
  // a job given up, an import file failed, or a print job taken for unknown and printed again.
  const fromServer = (res.headers.get('content-type') ?? '').startsWith('application/problem+json');
  if (!fromServer || UNAVAILABLE.has(res.status))
    throw new ServerUnreachableError(`the sync server was not reached: ${message}`);
  // The HTTP status goes along for callers that tell answers apart (a 404 is "no such job").
  throw Object.assign(POISON.has(res.status) ? new PoisonJobError(message) : new Error(message), {
    status: res.status,
  });
}
