import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ErpPlugin, MovementExport } from '@floorsync/workers';
import { SyncApi, folderPlugin, httpPlugin, startExporter } from '@floorsync/workers';
import { afterEach, describe, expect, it } from 'vitest';
import { warehouseServer } from './harness.js';

/**
 * The ERP export: a client of the sync protocol that hands every confirmed movement to a
 * plugin in log order, the event id as its idempotency key. The reference plugins write one
 * file per movement to a folder, or POST to an endpoint with an `Idempotency-Key` header.
 */
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup() {
  const w = await warehouseServer();
  const base = await w.server.listen();
  cleanup.push(() => w.server.close());
  const dir = mkdtempSync(path.join(tmpdir(), 'floorsync-erp-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  // Movements by the supervisor's device: two receipts, a move, a shipment; plus a
  // definition, which is not a movement.
  const s = w.supervisor;
  const res = await s.pushOk([
    s.mutation('receiveStock', { itemId: 'A', positionId: 'P', quantity: 10 }),
    s.mutation('receiveStock', { itemId: 'A', positionId: 'Q', quantity: 4 }),
    s.mutation('moveStock', { itemId: 'A', from: 'P', to: 'R', quantity: 3 }),
    s.mutation('definePosition', { positionId: 'T', code: 'T', kind: 'bin' }),
    s.mutation('shipStock', { itemId: 'A', from: 'R', quantity: 2 }),
  ]);
  expect(res.results.every((r) => r.status === 'applied')).toBe(true);
  const api = new SyncApi({ base, username: 'sup', password: 'sup-password' });
  return { ...w, base, dir, api, head: res.head };
}

const exporter = async (api: SyncApi, plugin: ErpPlugin, cursorFile: string, retryMs = 1000) => {
  const e = await startExporter({ api, plugin, cursorFile, pollMs: 50, retryMs });
  cleanup.push(() => e.stop());
  return e;
};

/** An exporter to `endpoint` (an HTTP server of the test, on loopback), with its errors. */
async function exportTo(t: Awaited<ReturnType<typeof setup>>, endpoint: http.Server) {
  await new Promise<void>((r) => endpoint.listen(0, '127.0.0.1', r));
  cleanup.push(() => new Promise<void>((r) => endpoint.close(() => r())));
  const url = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/movements`;
  const errors: unknown[] = [];
  const e = await startExporter({
    api: t.api,
    plugin: httpPlugin(url),
    cursorFile: path.join(t.dir, 'cursor'),
    pollMs: 50,
    retryMs: 20,
    onError: (err) => errors.push(err),
  });
  cleanup.push(() => e.stop());
  return { e, errors };
}

describe('ERP export', () => {
  it('writes one file per confirmed movement, in log order, and never twice', async () => {
    const t = await setup();
    const out = path.join(t.dir, 'out');
    const cursor = path.join(t.dir, 'cursor');
    // What a crash while writing left (hidden, so an ERP picking up every file passes it by):
    // removed. Someone else's hidden file stays.
    mkdirSync(out);
    writeFileSync(path.join(out, '.000000000099-0192f0c8.json.tmp'), '{"half');
    writeFileSync(path.join(out, '.erp-lock'), '');
    const first = await exporter(t.api, folderPlugin(out), cursor);
    await first.caughtUp(t.head);
    await first.stop();
    expect(readdirSync(out).filter((f) => f.startsWith('.'))).toEqual(['.erp-lock']);
    rmSync(path.join(out, '.erp-lock'));
    const files = readdirSync(out).sort();
    const movements = files.map(
      (f) => JSON.parse(readFileSync(path.join(out, f), 'utf8')) as MovementExport,
    );
    expect(movements.map((m) => m.type)).toEqual([
      'StockReceived',
      'StockReceived',
      'StockMoved',
      'StockShipped',
    ]);
    expect(files.map((f, i) => f.endsWith(`-${movements[i]?.idempotencyKey}.json`))).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(movements[2]).toMatchObject({ data: { itemId: 'A', from: 'P', to: 'R', quantity: 3 } });
    expect(Number(readFileSync(cursor, 'utf8'))).toBe(t.head);

    // A crash that lost the cursor: everything is handed over again, no file is doubled. A file
    // a file system emptied or cut short is written anew; whole ones stay as they are.
    rmSync(cursor);
    const whole = readFileSync(path.join(out, files[1] as string), 'utf8');
    writeFileSync(path.join(out, files[1] as string), '');
    writeFileSync(path.join(out, files[2] as string), whole.slice(0, 20));
    const kept = statSync(path.join(out, files[0] as string)).mtimeMs;
    const again = await exporter(t.api, folderPlugin(out), cursor);
    await again.caughtUp(t.head);
    expect(readdirSync(out).sort()).toEqual(files);
    const reread = files.map(
      (f) => JSON.parse(readFileSync(path.join(out, f), 'utf8')) as MovementExport,
    );
    expect(reread).toEqual(movements);
    expect(statSync(path.join(out, files[0] as string)).mtimeMs).toBe(kept);
  });

  it('books production too: what a job consumed and produced, and a reversed production naming its job', async () => {
    const t = await setup();
    const J = '0192f0c8-0000-7000-8000-0000000000e7';
    const s = t.supervisor;
    const made = await s.pushOk([
      s.mutation('createProductionJob', { jobId: J, code: 'J-7', itemId: 'A' }),
      s.mutation('startProductionJob', { jobId: J }),
      s.mutation('consumeForJob', { jobId: J, itemId: 'A', from: 'Q', quantity: 4 }),
      s.mutation('produceForJob', { jobId: J, itemId: 'A', to: 'P', quantity: 2 }),
    ]);
    expect(made.results.every((r) => r.status === 'applied')).toBe(true);
    const log = (await (
      await t.server.request(`/api/events?after=${t.head}`, { token: s.token })
    ).json()) as { id: string; type: string }[];
    const produced = log.find((e) => e.type === 'StockProduced');
    if (!produced) throw new Error('no StockProduced in the log');
    const reversed = await s.pushOk([s.mutation('reverseMovement', { eventId: produced.id })]);
    expect(reversed.results[0]?.status).toBe('applied');

    const out = path.join(t.dir, 'out');
    const e = await exporter(t.api, folderPlugin(out), path.join(t.dir, 'cursor'));
    await e.caughtUp(reversed.head);
    const movements = readdirSync(out)
      .sort()
      .map((f) => JSON.parse(readFileSync(path.join(out, f), 'utf8')) as MovementExport);
    expect(movements.slice(4)).toMatchObject([
      { type: 'StockConsumed', data: { jobId: J, itemId: 'A', from: 'Q', quantity: 4 } },
      { type: 'StockProduced', data: { jobId: J, itemId: 'A', to: 'P', quantity: 2 } },
      {
        type: 'MovementReversed',
        data: { movementId: produced.id, producedBy: J, from: 'P', quantity: 2 },
      },
    ]);
    expect(movements).toHaveLength(7); // the job's creation and start move no stock
  });

  it('a redirecting endpoint is an error, not a booking: fetch would have sent a GET without the movement', async () => {
    const t = await setup();
    let redirect = true;
    const posted: string[] = [];
    const methods: string[] = [];
    const endpoint = http.createServer((req, res) => {
      methods.push(req.method ?? '');
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (redirect) {
          res.writeHead(301, { location: '/moved/movements?token=not-for-logs' }).end();
          return;
        }
        if (req.method === 'POST') posted.push(String(req.headers['idempotency-key']));
        res.writeHead(200).end('{}'); // a GET of the redirect target would have passed too
      });
    });
    const { e, errors } = await exportTo(t, endpoint);
    await expect.poll(() => errors.length).toBeGreaterThanOrEqual(2);
    expect(String(errors[0])).toMatch(
      /the ERP endpoint redirects \(301 to http:\/\/127\.0\.0\.1:\d+\/moved\/movements\): set ERP_EXPORT_URL/,
    );
    expect(errors.map(String).join('\n')).not.toContain('not-for-logs');
    expect(methods.every((m) => m === 'POST')).toBe(true); // never followed
    expect(e.cursor).toBe(0);
    expect(posted).toEqual([]);
    expect(e.status()).toMatchObject({ cursor: 0, exportedAt: null });
    expect(e.status().failingSince).toEqual(expect.any(Number));
    redirect = false;
    await e.caughtUp(t.head);
    expect(new Set(posted).size).toBe(4);
    expect(e.status()).toMatchObject({ cursor: t.head, failingSince: null });
    expect(e.status().exportedAt).toEqual(expect.any(Number));
  });

  it('stops at once while the ERP keeps a movement waiting: the request is given up, the cursor stays', async () => {
    const t = await setup();
    const held: http.ServerResponse[] = [];
    const endpoint = http.createServer((_req, res) => void held.push(res)); // never answers
    cleanup.push(() => held.forEach((r) => r.destroy()));
    const { e } = await exportTo(t, endpoint);
    await expect.poll(() => held.length).toBe(1);
    const t0 = Date.now();
    await e.stop();
    // Well inside the server's 10 s stop, which closes the database after it (the request
    // alone would have waited 15 s, then a backoff).
    expect(Date.now() - t0).toBeLessThan(8_000);
    expect(e.cursor).toBe(0);
    expect(held).toHaveLength(1);
  });

  it('the endpoint’s answer goes into the error without the credentials it echoes; a refused sign-in’s answer not at all', async () => {
    const answers: [number, string][] = [
      [422, 'bad request from Bearer s3cr3t-token-0123456789: unknown bin'],
      [401, 'Authorization: Bearer s3cr3t-token-0123456789 is not valid'],
    ];
    const endpoint = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const [status, text] = answers.shift() ?? [500, ''];
        res.writeHead(status).end(text);
      });
    });
    await new Promise<void>((r) => endpoint.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise<void>((r) => endpoint.close(() => r())));
    const plugin = httpPlugin(
      `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/movements`,
      { authorization: 'Bearer s3cr3t-token-0123456789' },
    );
    const movement: MovementExport = {
      idempotencyKey: 'e-1',
      seq: 7,
      type: 'StockReceived',
      at: '2026-11-28T08:00:00.000Z',
      data: {},
    } as unknown as MovementExport;
    const refused = String(await plugin.exportMovement(movement).catch((e: unknown) => e));
    expect(refused).toBe(
      'Error: the ERP endpoint answered 422 for movement e-1 (seq 7): bad request from ***: unknown bin',
    );
    const signIn = String(await plugin.exportMovement(movement).catch((e: unknown) => e));
    expect(signIn).toBe('Error: the ERP endpoint answered 401 for movement e-1 (seq 7)');
  });

  it('a movement failing now and then does not make the export wait longer and longer: the backoff starts over after progress', async () => {
    const t = await setup();
    const tried = new Set<string>();
    const booked: string[] = [];
    const errors: number[] = [];
    // Each movement fails at its first try, then goes through.
    const flaky: ErpPlugin = {
      name: 'flaky',
      exportMovement(m) {
        if (!tried.has(m.idempotencyKey)) {
          tried.add(m.idempotencyKey);
          return Promise.reject(new Error('the ERP is busy'));
        }
        booked.push(m.idempotencyKey);
        return Promise.resolve();
      },
    };
    const e = await startExporter({
      api: t.api,
      plugin: flaky,
      cursorFile: path.join(t.dir, 'cursor'),
      pollMs: 50,
      retryMs: 300,
      onError: () => errors.push(performance.now()),
    });
    cleanup.push(() => e.stop());
    await e.caughtUp(t.head);
    expect(booked).toHaveLength(4);
    expect(errors).toHaveLength(4);
    // Doubling would wait 300, 600, 1200 ms between them; starting over, 300 each.
    const gaps = errors.slice(1).map((at, i) => at - errors[i]!);
    expect(Math.max(...gaps)).toBeLessThan(1000);
    expect(e.status().failingSince).toBeNull();
  });

  it('a folder that cannot be made at first (a share not mounted yet) is made with a later movement', async () => {
    const t = await setup();
    const blocked = path.join(t.dir, 'share');
    writeFileSync(blocked, 'not mounted');
    const plugin = folderPlugin(path.join(blocked, 'out'));
    const m: MovementExport = {
      idempotencyKey: 'e-1',
      seq: 1,
      type: 'StockReceived',
      data: { itemId: 'A', positionId: 'P', quantity: 1 },
      occurredAt: '2026-11-27T12:00:00.000Z',
      recordedAt: '2026-11-27T12:00:01.000Z',
      userId: 'u-1',
    };
    await expect(plugin.exportMovement(m)).rejects.toMatchObject({ code: 'ENOTDIR' });
    rmSync(blocked);
    await plugin.exportMovement(m);
    expect(readdirSync(path.join(blocked, 'out'))).toEqual(['000000000001-e-1.json']);
  });

  it('posts each movement with its Idempotency-Key, retrying an endpoint that fails, in order', async () => {
    const t = await setup();
    const seen: { key: string; type: string }[] = [];
    let failures = 2;
    const endpoint = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (failures-- > 0) {
          res.writeHead(503).end();
          return;
        }
        seen.push({
          key: String(req.headers['idempotency-key']),
          type: (JSON.parse(body) as MovementExport).type,
        });
        res.writeHead(201).end('{}');
      });
    });
    const { e, errors } = await exportTo(t, endpoint);
    await e.caughtUp(t.head);
    expect(errors).toHaveLength(2);
    expect(String(errors[0])).toMatch(/answered 503/);
    // The page was handed over again after each failure: the endpoint deduplicates by key.
    expect([...new Map(seen.map((s) => [s.key, s.type])).values()]).toEqual([
      'StockReceived',
      'StockReceived',
      'StockMoved',
      'StockShipped',
    ]);
  });

  it('a movement the ERP refuses stops the export there, in order, saying why; a 409 (still processing that key) is asked again, not taken for booked', async () => {
    const t = await setup();
    const booked: string[] = [];
    const seqs = new Map<string, number>();
    const answers: number[] = [];
    let refuseMoves = true;
    let busy = 1;
    const endpoint = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const m = JSON.parse(body) as MovementExport;
        seqs.set(m.type === 'StockReceived' ? `${m.type}-${booked.length}` : m.type, m.seq);
        const answer = (status: number, text = '{}') => {
          answers.push(status);
          res.writeHead(status, { 'content-type': 'application/json' }).end(text);
        };
        if (m.type === 'StockReceived' && booked.length === 1 && busy-- > 0) return answer(409);
        if (m.type === 'StockMoved' && refuseMoves)
          return answer(422, '{"error":\n "unknown storage bin R"}');
        booked.push(m.type);
        answer(201);
      });
    });
    const { e, errors } = await exportTo(t, endpoint);
    await expect.poll(() => errors.length).toBeGreaterThanOrEqual(3);
    // The second receipt was asked again after the 409, then booked; the move is refused and
    // nothing after it goes out (the shipment is from the bin the move fills).
    expect(booked).toEqual(['StockReceived', 'StockReceived']);
    expect(String(errors[0])).toContain(`answered 409 for movement`);
    expect(String(errors[0])).toContain(
      `(seq ${seqs.get('StockReceived-1')}): an earlier request with this key is still being processed`,
    );
    expect(String(errors[1])).toMatch(/answered 422 for movement /);
    expect(String(errors[1])).toContain(
      `(seq ${seqs.get('StockMoved')}): {"error": "unknown storage bin R"}`,
    );
    // The cursor stays at the last movement booked: the seq to write there to skip the move.
    expect(e.cursor).toBe(seqs.get('StockReceived-1'));
    expect(e.status().failingSince).not.toBeNull();
    // Fixed in the ERP: the next try books it and the rest.
    refuseMoves = false;
    await e.caughtUp(t.head);
    expect(booked).toEqual(['StockReceived', 'StockReceived', 'StockMoved', 'StockShipped']);
    expect(e.status().failingSince).toBeNull();
    expect(answers.filter((a) => a === 201)).toHaveLength(4);
  });
});
