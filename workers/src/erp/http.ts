import type { ErpPlugin, MovementExport } from './plugin.js';

/**
 * The reference plugin, to an HTTP endpoint: `POST <url>` with the movement as JSON and an
 * `Idempotency-Key` header (the event id), as payment and ERP APIs take it. Only a 2xx counts
 * as booked: the endpoint answers a key it has booked before with 2xx again (as the IETF
 * Idempotency-Key draft has it). A 409 there means a request with that key is still being
 * processed (one this exporter gave up waiting for), which may yet fail: it is asked again
 * later, not taken for booked. Anything else, or no answer, is retried by the exporter, in
 * order: the error names the movement (its seq, for the cursor file) and the start of the
 * endpoint's answer, for the log and the operator.
 * A redirect is not followed: fetch would send it on as a GET without the movement, and a 2xx
 * to that would pass for booked (an http:// URL moved to https://): it is an error naming where
 * it points, to fix in ERP_EXPORT_URL. Credentials go in a header (`authorization`), never in
 * the URL.
 */
export function httpPlugin(url: string, headers: Record<string, string> = {}): ErpPlugin {
  return {
    name: 'http',
    async exportMovement(m: MovementExport, stop?: AbortSignal) {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'idempotency-key': m.idempotencyKey,
          ...headers,
        },
        body: JSON.stringify(m),
        signal: stop
          ? AbortSignal.any([stop, AbortSignal.timeout(15_000)])
          : AbortSignal.timeout(15_000),
        redirect: 'manual',
      });
      const body = await res.text().catch(() => '');
      if (res.status >= 300 && res.status < 400)
        throw new Error(
          `the ERP endpoint redirects (${res.status}${redirectTarget(res)}): set ERP_EXPORT_URL to where it points; movement ${m.idempotencyKey} is not exported`,
        );
      // Its answer to a refused sign-in is not logged: some echo the credentials they got.
      const reason = res.status === 401 || res.status === 403 ? '' : said(body, headers);
      if (res.status === 409)
        throw new Error(
          `the ERP endpoint answered 409 for movement ${m.idempotencyKey} (seq ${m.seq}): an earlier request with this key is still being processed; asking again (an endpoint that means "booked already" must answer 2xx)${reason}`,
        );
      if (!res.ok)
        throw new Error(
          `the ERP endpoint answered ${res.status} for movement ${m.idempotencyKey} (seq ${m.seq})${reason}`,
        );
    },
  };
}

/**
 * The start of the endpoint's answer, on one line: its reason, for the log. Whatever of the
 * headers' values (credentials) it echoes is masked.
 */
function said(body: string, headers: Record<string, string>): string {
  let text = body.replace(/[\s\p{Cc}]+/gu, ' ').trim();
  for (const value of Object.values(headers))
    for (const part of [value, ...value.split(' ')])
      if (part.length >= 8) text = text.replaceAll(part, '***');
  if (text === '') return '';
  return `: ${text.length > 200 ? `${text.slice(0, 200)}…` : text}`;
}

/** Where a redirect points, without its query or credentials (it may hold a token). */
function redirectTarget(res: Response): string {
  const location = res.headers.get('location');
  if (location === null) return '';
  try {
    const u = new URL(location, res.url || 'http://unknown/');
    return ` to ${u.origin}${u.pathname}`;
  } catch {
    return '';
  }
}
