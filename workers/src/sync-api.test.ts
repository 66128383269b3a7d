import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { closedPort } from '../test/fake-printer.js';
import { PoisonJobError, ServerUnreachableError } from './runner.js';
import { SyncApi } from './sync-api.js';

/**
 * What a worker makes of an answer that is not a success: the server's own refusal (a problem
 * document) is final for a job; anything else — a proxy's page while the servers restart — is
 * a server not reached, retried. A real HTTP server on loopback plays both.
 */
const servers: ReturnType<typeof createServer>[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function answering(status: number, contentType: string, body: string): Promise<SyncApi> {
  const server = createServer((_req, res) => {
    res.writeHead(status, { 'content-type': contentType });
    res.end(body);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return new SyncApi({ base: `http://127.0.0.1:${port}`, username: 'worker', password: 'x' });
}

const refusal = (api: SyncApi) =>
  api.session('job-1').then(
    () => {
      throw new Error('expected a refusal');
    },
    (e: unknown) => e as Error & { status?: number },
  );

describe('SyncApi: whose answer a refusal is', () => {
  it('the server’s problem document: a 404 is final (a poison job), with its status', async () => {
    const api = await answering(
      404,
      'application/problem+json',
      JSON.stringify({ status: 404, code: 'NOT_FOUND', detail: 'no such job' }),
    );
    const e = await refusal(api);
    expect(e).toBeInstanceOf(PoisonJobError);
    expect(e.status).toBe(404);
    expect(e.message).toContain('no such job');
  });

  it('nobody listening, or the server’s own 503 (storage unavailable): not reached either', async () => {
    const port = await closedPort(); // nobody listens there
    const down = new SyncApi({
      base: `http://127.0.0.1:${port}`,
      username: 'worker',
      password: 'x',
    });
    expect(await refusal(down)).toBeInstanceOf(ServerUnreachableError);
    const busy = await answering(
      503,
      'application/problem+json',
      JSON.stringify({ status: 503, code: 'UNAVAILABLE', detail: 'storage unavailable' }),
    );
    expect(await refusal(busy)).toBeInstanceOf(ServerUnreachableError);
  });

  it('a proxy’s 404 page (no backend while the servers restart): not reached, retried, no status', async () => {
    const api = await answering(404, 'text/plain; charset=utf-8', '404 page not found');
    const e = await refusal(api);
    expect(e).not.toBeInstanceOf(PoisonJobError);
    expect(e).toBeInstanceOf(ServerUnreachableError);
    expect(e.status).toBeUndefined();
    expect(e.message).toMatch(/^the sync server was not reached: POST \/api\/auth\/login: 404/);
  });
});
