/**
 * The read and admin API (`/api/...`) for screens that need more than the replica: devices,
 * users, conflict details. Problems (RFC 9457) become errors with their `detail` in plain words.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function api<T>(
  token: string | null,
  path: string,
  init: { method?: string; json?: unknown; file?: Blob } = {},
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
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!res.ok) {
    const p = body as { detail?: string; title?: string } | null;
    throw new ApiError(res.status, p?.detail ?? p?.title ?? `HTTP ${res.status}`);
  }
  return body as T;
}
