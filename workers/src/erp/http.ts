import type { ErpPlugin, MovementExport } from './plugin.js';

/**
 * The reference plugin, to an HTTP endpoint: `POST <url>` with the movement as JSON and an
 * `Idempotency-Key` header (the event id), as payment and ERP APIs take it. 2xx and 409 (the
 * ERP already has it) count as done; anything else, or no answer, is retried by the exporter.
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
      await res.arrayBuffer();
      if (res.status >= 300 && res.status < 400)
        throw new Error(
          `the ERP endpoint redirects (${res.status}${redirectTarget(res)}): set ERP_EXPORT_URL to where it points; movement ${m.idempotencyKey} is not exported`,
        );
      if (!res.ok && res.status !== 409)
        throw new Error(`the ERP endpoint answered ${res.status} for movement ${m.idempotencyKey}`);
    },
  };
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
