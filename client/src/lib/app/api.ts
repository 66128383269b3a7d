import type { Translate } from './describe.js';

/**
 * The read and admin API (`/api/...`) for screens that need more than the replica: devices,
 * users, conflict details. Problems (RFC 9457) become errors with their `detail` in plain words.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
    /** The problem's `code` (`USER_EXISTS`, `NO_WORKERS`, …), when the server sent one. */
    readonly code: string | null = null,
    /** A 403's `reason` (`DEVICE_REVOKED`, …: `FORBIDDEN_REASONS`), when the server sent one. */
    readonly reason: string | null = null,
  ) {
    super(message);
  }
}

/**
 * What a screen shows for a failed call: `offline` — its own words for "the server cannot be
 * reached" — when it could not be reached (or a proxy said it is down); the text of the
 * problem's code in the user's language (`apiError.<CODE>`, given `t`) when the catalog has
 * one; else the server's own words.
 */
export function apiErrorText(e: unknown, offline: string, t?: Translate): string {
  if (e instanceof ApiError && e.status === 0) return offline;
  if (e instanceof ApiError && e.reason !== null && t) {
    const text = forbiddenText(e.reason, t);
    if (text !== null) return text;
  }
  if (e instanceof ApiError && e.code !== null && t) {
    const key = `apiError.${e.code}`;
    const text = t(key, { detail: e.message });
    if (text !== key) return text;
  }
  return e instanceof Error ? e.message : String(e);
}

export async function api<T>(
  token: string | null,
  path: string,
  init: {
    method?: string;
    json?: unknown;
    file?: Blob;
    /** Reads the answer's headers (`X-Total-Count` of a list cut short) before its body. */
    headers?: (headers: Headers) => void;
  } = {},
): Promise<T> {
  let res: Response;
  const hasBody = init.json !== undefined || init.file !== undefined;
  try {
    res = await fetch(path, {
      method: init.method ?? (hasBody ? 'POST' : 'GET'),
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(init.file !== undefined ? { 'content-type': 'application/octet-stream' } : {}),
      },
      ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}),
      ...(init.file !== undefined ? { body: init.file } : {}),
    });
  } catch {
    throw new ApiError(0, 'offline');
  }
  if (res.status === 204) return undefined as T;
  const body = parsed(await res.text());
  if (!res.ok) throw problem(res.status, body);
  init.headers?.(res.headers);
  return body as T;
}

/**
 * A file the server makes (a count sheet, a label): its bytes, or the same errors as `api` —
 * `offline` when the server could not be reached, the problem's own words when it refused.
 */
export async function apiFile(
  token: string | null,
  path: string,
  init: { json?: unknown } = {},
): Promise<Blob> {
  let res: Response;
  try {
    res = await fetch(path, {
      method: init.json !== undefined ? 'POST' : 'GET',
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}),
    });
  } catch {
    throw new ApiError(0, 'offline');
  }
  if (!res.ok) throw problem(res.status, parsed(await res.text()));
  return res.blob();
}

function parsed(text: string): unknown {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

/**
 * The error for a refusal. A gateway's own error page (502, 503, 504 with no problem in it: a
 * proxy in front of a server that is down or restarting) means the server could not be
 * reached: offline, as a failed connection is.
 */
function problem(status: number, body: unknown): ApiError {
  const p = body as { detail?: string; title?: string; code?: unknown; reason?: unknown } | null;
  const words = p?.detail ?? p?.title;
  if (words === undefined && (status === 502 || status === 503 || status === 504))
    return new ApiError(0, 'offline');
  return new ApiError(
    status,
    words ?? `HTTP ${status}`,
    typeof p?.code === 'string' ? p.code : null,
    typeof p?.reason === 'string' ? p.reason : null,
  );
}

/**
 * What the sign-in screen says when signing in failed: a 401 is a wrong username or password
 * (never which: a deactivated account's right password included), a 429 too many attempts.
 */
export function signInErrorText(e: unknown, t: Translate): string {
  const status = e instanceof ApiError ? e.status : undefined;
  if (status === 401) return t('auth.wrong');
  if (status === 429) return t('auth.throttled');
  if (status === 0) return t('auth.offline');
  return t('auth.failed', { message: apiErrorText(e, t('auth.offline'), t) });
}

/** Why a device or user was refused (a 403's `reason`), in the user's words; null: unknown. */
export function forbiddenText(reason: string, t: Translate): string | null {
  const key = `forbidden.${reason}`;
  const text = t(key);
  return text === key ? null : text;
}
