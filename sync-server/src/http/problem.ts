import type { ForbiddenReason } from '@floorsync/domain';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/**
 * RFC 9457 problem documents: the one error shape of the HTTP edge. `code` is a stable
 * machine-readable string; `detail` is for people and never contains secrets.
 */
export class HttpProblem extends Error {
  override readonly name = 'HttpProblem';
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    readonly title: string,
    readonly detail?: string,
    readonly headers: Record<string, string> = {},
    /** Extension members of the document (RFC 9457 §3.2), e.g. a 403's `reason`. */
    readonly extensions: Readonly<Record<string, string>> = {},
  ) {
    super(detail ?? title);
  }
}

/** The problem+json document of `p`. */
export const problemDocument = (p: HttpProblem): string =>
  JSON.stringify({
    type: `https://floorsync.dev/problems/${p.code.toLowerCase().replace(/_/g, '-')}`,
    title: p.title,
    status: p.status,
    ...(p.detail !== undefined ? { detail: p.detail } : {}),
    code: p.code,
    ...p.extensions,
  });

export const problem = (c: Context, p: HttpProblem) => {
  for (const [k, v] of Object.entries(p.headers)) c.header(k, v);
  return c.body(problemDocument(p), p.status, { 'content-type': 'application/problem+json' });
};

export const badRequest = (detail: string, code = 'BAD_REQUEST') =>
  new HttpProblem(400, code, 'Bad request', detail);
export const unauthorized = (detail = 'sign in again') =>
  new HttpProblem(401, 'UNAUTHORIZED', 'Unauthorized', detail, { 'www-authenticate': 'Bearer' });
/**
 * A 401 for a live session of a user an admin deactivated: signing in again cannot help. A
 * sign-in itself is only ever `BAD_CREDENTIALS` (no password guess learns anything).
 */
export const deactivated = () =>
  new HttpProblem(
    401,
    'USER_DEACTIVATED',
    'Unauthorized',
    'this user is deactivated; an admin can activate it again',
    { 'www-authenticate': 'Bearer' },
  );
export const forbidden = (detail: string, reason: ForbiddenReason) =>
  new HttpProblem(403, 'FORBIDDEN', 'Forbidden', detail, {}, { reason });
export const notFound = (detail: string) => new HttpProblem(404, 'NOT_FOUND', 'Not found', detail);
export const conflict = (code: string, detail: string) =>
  new HttpProblem(409, code, 'Conflict', detail);
export const tooLarge = (detail: string) =>
  new HttpProblem(413, 'PAYLOAD_TOO_LARGE', 'Payload too large', detail);
export const unavailable = (detail: string) =>
  new HttpProblem(503, 'UNAVAILABLE', 'Service unavailable', detail, { 'retry-after': '5' });
