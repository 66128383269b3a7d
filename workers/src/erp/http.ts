import type { ErpPlugin, MovementExport } from './plugin.js';

/**
 * The reference plugin, to an HTTP endpoint: `POST <url>` with the movement as JSON and an
 * `Idempotency-Key` header (the event id), as payment and ERP APIs take it. 2xx and 409 (the
 * ERP already has it) count as done; anything else, or no answer, is retried by the exporter.
 * Credentials go in a header (`authorization`), never in the URL.
 */
export function httpPlugin(url: string, headers: Record<string, string> = {}): ErpPlugin {
  return {
    name: 'http',
    async exportMovement(m: MovementExport) {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'idempotency-key': m.idempotencyKey,
          ...headers,
        },
        body: JSON.stringify(m),
        signal: AbortSignal.timeout(15_000),
      });
      await res.arrayBuffer();
      if (!res.ok && res.status !== 409)
        throw new Error(`the ERP endpoint answered ${res.status} for movement ${m.idempotencyKey}`);
    },
  };
}
