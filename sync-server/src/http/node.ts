import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { AppHandle } from '../app.js';

/** How long an idle keep-alive connection stays open (ms). */
export const KEEP_ALIVE_MS = 95_000;

/**
 * The app on a Node HTTP server. Every route goes through Hono (`@hono/node-server`) except
 * `POST /sync/push` and `POST /sync/pull`, the hot paths of a floor full of scanners, which
 * `handle.lean` answers from Node's request directly — the same handlers, checks, problems
 * and metrics, without building web `Request`/`Response` objects.
 */
export function serveNode(
  handle: AppHandle,
  options: { port: number; hostname: string },
  onListening?: (info: AddressInfo) => void,
): Server {
  const hono = getRequestListener(handle.app.fetch, { hostname: options.hostname });
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const lean = handle.lean(req.method, req.url);
    if (lean) {
      lean(req)
        .then((r) => {
          res.writeHead(r.status, {
            ...r.headers,
            'content-length': String(Buffer.byteLength(r.body)),
          });
          res.end(r.body);
        })
        // A lean handler answers every failure itself; this is a broken socket or a bug.
        .catch(() => res.destroy());
      return;
    }
    void hono(req, res);
  });
  // Handhelds keep their connection between syncs (a pull every poke, a push every scan):
  // Node's 5 s default closed it between two scans, and every device then reconnected — on a
  // busy floor, hundreds of handshakes a second, each waiting its turn to be accepted (Node
  // accepts one connection per turn of a busy event loop). 95 s also outlasts the idle
  // timeout of the proxies in front of it (nginx and AWS ALB 60 s, Traefik 90 s), so the
  // proxy closes an idle upstream connection first, never the server under its feet.
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  server.headersTimeout = KEEP_ALIVE_MS + 1000;
  server.listen(options.port, options.hostname, () => {
    onListening?.(server.address() as AddressInfo);
  });
  return server;
}
