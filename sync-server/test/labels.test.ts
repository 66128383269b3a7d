import {
  inProcessQueue,
  printJobClaim,
  printLabelsJob,
  reportToServer,
  startRunner,
  SyncApi,
} from '@floorsync/workers';
import type { JobEnvelope } from '@floorsync/domain';
import type { Runner } from '@floorsync/workers';
import { afterEach, describe, expect, it } from 'vitest';
import type { FakePrinter } from '../../workers/test/fake-printer.js';
import { startFakePrinter } from '../../workers/test/fake-printer.js';
import { byName, parsePrinters } from '../src/labels/routes.js';
import type { TestServer } from './harness.js';
import { warehouseWithOperators } from './harness.js';

/**
 * Labels from the device's point of view: a PDF at once, or a print job on a configured
 * network printer that a worker sends over TCP 9100 (here a fake printer that records the
 * bytes and answers `~HS`), the printer's own answer read back by the device.
 */
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** A queue that stores each job but loses its acknowledgement (the enqueue fails after). */
type Enqueue = (job: JobEnvelope, store: () => Promise<void>) => Promise<void>;

async function setup(mode: FakePrinter['mode'] = 'ready', hostStatus = true, enqueue?: Enqueue) {
  const printer = await startFakePrinter(mode);
  cleanup.push(() => printer.close());
  const queue = inProcessQueue();
  const w = await warehouseWithOperators({
    jobs: enqueue ? { enqueue: (job) => enqueue(job, () => queue.enqueue(job)) } : queue,
    printers: [
      {
        id: 'dock',
        host: '127.0.0.1',
        port: printer.port,
        size: '4x6',
        ...(hostStatus ? {} : { hostStatus: false }),
      },
    ],
  });
  const server: TestServer = w.server;
  cleanup.push(() => server.close());
  const base = await server.listen();
  const api = new SyncApi({ base, username: 'sup', password: 'sup-password' });
  // What the worker's claims were answered (print or not), in order.
  const claims: boolean[] = [];
  const claim = printJobClaim(api);
  const runner: Runner = await startRunner({
    queue,
    handlers: [
      printLabelsJob({
        report: reportToServer(api),
        claim: async (ref) => {
          const print = await claim(ref);
          claims.push(print);
          return print;
        },
      }),
    ],
    baseBackoffMs: 20,
  });
  cleanup.push(() => runner.drain());
  const state = async (id: string) => {
    const res = await server.request(`/api/labels/jobs/${id}`, { token: w.op1.token });
    return (await res.json()) as {
      state: string;
      error: string | null;
      problem: { code: string; values: Record<string, string | number> } | null;
    };
  };
  return { ...w, server, printer, state, api, claims };
}

const ITEM = { kind: 'item', sku: 'BOLT-M8', name: 'Hex bolt M8×40', gtin: '4006381333931' };

describe('labels', () => {
  it('prints on a configured printer: the ZPL reaches it, its answer comes back to the device', async () => {
    const t = await setup('ready');
    const res = await t.server.request('/api/labels/print', {
      method: 'POST',
      token: t.op1.token,
      json: { printerId: 'dock', labels: [ITEM] },
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    await expect.poll(async () => (await t.state(id)).state, { timeout: 5000 }).toBe('completed');
    // Settled: a second answer does not change it; print jobs are not bulk adjustments.
    const again = await t.server.request(`/api/labels/jobs/${id}/result`, {
      method: 'POST',
      token: t.supervisor.token,
      json: { ok: false, reason: 'forged' },
    });
    expect(again.status).toBe(404);
    expect((await t.state(id)).state).toBe('completed');
    const bulk = await t.server.request('/api/jobs', { token: t.supervisor.token });
    expect(((await bulk.json()) as { id: string }[]).map((j) => j.id)).not.toContain(id);
    expect(
      (
        await t.server.request(`/api/jobs/${id}/start`, {
          method: 'POST',
          token: t.supervisor.token,
          json: {},
        })
      ).status,
    ).toBe(404);
    // A worker claimed it before printing; claimed again (a delivery again whose acknowledgement
    // was lost), it is not to be printed; a job the server does not know is printed.
    expect(t.claims).toEqual([true]);
    const claim = printJobClaim(t.api);
    expect(await claim(id)).toBe(false);
    expect(await claim('no-such-job')).toBe(true);
    const zpl = t.printer.received().toString('latin1');
    expect(zpl).toContain('^XA');
    expect(zpl).toContain('~HS');
    expect(zpl).toContain('BOLT-M8');
  });

  it('a printer out of paper: the job fails with what the printer said', async () => {
    const t = await setup('paper-out');
    const res = await t.server.request('/api/labels/print', {
      method: 'POST',
      token: t.op1.token,
      json: { printerId: 'dock', labels: [ITEM] },
    });
    const { id } = (await res.json()) as { id: string };
    await expect.poll(async () => (await t.state(id)).state, { timeout: 5000 }).toBe('failed');
    const { error } = await t.state(id);
    expect(error).toMatch(/paper/i);
    // The operator's device learns the printer's name, never its address.
    expect(error).toMatch(/^printer dock took 1 label\(s\) but reports paper out/);
    expect(error).not.toContain('127.0.0.1');
    // And as a code with values, for the device to say in its user's language: the printer by
    // name there too.
    expect((await t.state(id)).problem).toEqual({
      code: 'PRINTER_STATUS',
      values: { printer: 'dock', labels: 1, problems: 'paper-out' },
    });
  });

  it('a worker’s problem this server does not know is dropped and its reason kept; only the values its code names are kept, never the printer’s address', async () => {
    // The queue takes the jobs and no worker sees them: the reports below are the only ones.
    const t = await setup('ready', true, () => Promise.resolve());
    const where = `127.0.0.1:${t.printer.port}`;
    const print = async () => {
      const res = await t.server.request('/api/labels/print', {
        method: 'POST',
        token: t.op1.token,
        json: { printerId: 'dock', labels: [ITEM] },
      });
      expect(res.status).toBe(202);
      return ((await res.json()) as { id: string }).id;
    };
    const report = async (id: string, json: unknown) =>
      (
        await t.server.request(`/api/labels/jobs/${id}/result`, {
          method: 'POST',
          token: t.supervisor.token,
          json,
        })
      ).status;
    // A newer worker's code: the failure and its English words stand all the same.
    const newer = await print();
    expect(
      await report(newer, {
        ok: false,
        reason: `printer ${where} is on fire`,
        problem: { code: 'PRINTER_ON_FIRE', values: { printer: where } },
      }),
    ).toBe(200);
    expect(await t.state(newer)).toMatchObject({
      state: 'failed',
      error: 'printer dock is on fire',
      problem: null,
    });
    // Values its code does not name are dropped; the address is named as devices know it.
    const odd = await print();
    await report(odd, {
      ok: false,
      reason: 'cannot draw',
      problem: {
        code: 'LABEL_UNDRAWABLE',
        values: { detail: `the font server ${where} is gone`, host: where },
      },
    });
    expect((await t.state(odd)).problem).toEqual({
      code: 'LABEL_UNDRAWABLE',
      values: { detail: 'the font server dock is gone' },
    });
    // A problem without a value its code names is no problem of this server's either.
    const short = await print();
    await report(short, {
      ok: false,
      reason: 'paper',
      problem: { code: 'PRINTER_STATUS', values: {} },
    });
    expect(await t.state(short)).toMatchObject({ state: 'failed', error: 'paper', problem: null });
  });

  it('a printer configured /no-status (it never answers ~HS): sent is done, not a failure to print again', async () => {
    const t = await setup('silent', false);
    const res = await t.server.request('/api/labels/print', {
      method: 'POST',
      token: t.op1.token,
      json: { printerId: 'dock', labels: [ITEM] },
    });
    const { id } = (await res.json()) as { id: string };
    await expect.poll(async () => (await t.state(id)).state, { timeout: 5000 }).toBe('completed');
    const zpl = t.printer.received().toString('latin1');
    expect(zpl).toContain('BOLT-M8');
    expect(zpl).not.toContain('~HS'); // not asked
  });

  it('the queue stores a job but its acknowledgement is lost: the operator is told to print again, and the stored copy does not print', async () => {
    let stored!: () => Promise<void>;
    let id = '';
    const t = await setup('ready', true, (job, store) => {
      stored = store;
      id = (job.payload as { ref: string }).ref;
      return Promise.reject(new Error('TimeoutError: timeout'));
    });
    const res = await t.server.request('/api/labels/print', {
      method: 'POST',
      token: t.op1.token,
      json: { printerId: 'dock', labels: [ITEM] },
    });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ code: 'QUEUE_UNAVAILABLE' });
    expect(await t.state(id)).toMatchObject({
      state: 'failed',
      error: 'the job queue did not take it',
      problem: { code: 'QUEUE_REFUSED', values: {} },
    });
    // The copy the queue kept turns up at a worker, which claims it first and is told no:
    // nothing is printed.
    await stored();
    await expect.poll(() => t.claims, { timeout: 5000 }).toEqual([false]);
    expect(t.printer.connections).toHaveLength(0);
    expect((await t.state(id)).state).toBe('failed');
  });

  it('the acknowledgement is lost after a worker claimed the job: the labels are the worker’s, the operator is not told to print again', async () => {
    const server: { claims?: boolean[] } = {};
    const t = await setup('ready', true, async (_job, store) => {
      await store();
      await expect.poll(() => server.claims, { timeout: 5000 }).toEqual([true]);
      throw new Error('TimeoutError: timeout');
    });
    server.claims = t.claims;
    const res = await t.server.request('/api/labels/print', {
      method: 'POST',
      token: t.op1.token,
      json: { printerId: 'dock', labels: [ITEM] },
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    await expect.poll(async () => (await t.state(id)).state, { timeout: 5000 }).toBe('completed');
    expect(t.printer.connections).toHaveLength(1);
  });

  it('a PDF for the office printer, at once; bad requests get clear answers', async () => {
    const t = await setup();
    const pdf = await t.server.request('/api/labels/pdf', {
      method: 'POST',
      token: t.op1.token,
      json: { labels: [ITEM, { kind: 'position', code: 'A-01-01' }] },
    });
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    expect(
      Buffer.from(await pdf.arrayBuffer())
        .subarray(0, 5)
        .toString(),
    ).toBe('%PDF-');

    const unknown = await t.server.request('/api/labels/print', {
      method: 'POST',
      token: t.op1.token,
      json: { printerId: 'nowhere', labels: [ITEM] },
    });
    expect(unknown.status).toBe(404);
    const bad = await t.server.request('/api/labels/print', {
      method: 'POST',
      token: t.op1.token,
      json: {
        printerId: 'dock',
        labels: [{ kind: 'item', sku: 'X', name: 'X', gtin: '4006381333932' }],
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
    expect(await bad.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    // A body that is not JSON is said so, as on every other route (not "labels: required").
    const malformed = await t.server.request('/api/labels/pdf', {
      method: 'POST',
      token: t.op1.token,
      body: '{"labels": [',
    });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ code: 'MALFORMED_JSON' });
    const printers = await t.server.request('/api/labels/printers', { token: t.op1.token });
    // Devices learn names and sizes, never addresses.
    expect(await printers.json()).toEqual([{ id: 'dock', size: '4x6' }]);
    const asOperator = await t.server.request('/api/labels/jobs/x/result', {
      method: 'POST',
      token: t.op1.token,
      json: { ok: true },
    });
    expect(asOperator.status).toBe(403);
    // A body over 64 KB is refused while it is read, not buffered whole (as every JSON route).
    const labels = Array.from({ length: 2000 }, (_, i) => ({ ...ITEM, name: `${ITEM.name} ${i}` }));
    for (const path of ['/api/labels/pdf', '/api/labels/print']) {
      const big = await t.server.request(path, {
        method: 'POST',
        token: t.op1.token,
        json: { printerId: 'dock', labels },
      });
      expect(big.status, path).toBe(413);
      expect(big.headers.get('content-type')).toContain('application/problem+json');
    }
    expect(t.printer.connections).toHaveLength(0);
  });

  it('reads LABEL_PRINTERS and says what is wrong with it', () => {
    expect(parsePrinters('dock=10.0.4.20:9100/4x6, office=zebra-2.local/100x50,x=h')).toEqual([
      { id: 'dock', host: '10.0.4.20', port: 9100, size: '4x6' },
      { id: 'office', host: 'zebra-2.local', port: 9100, size: '100x50' },
      { id: 'x', host: 'h', port: 9100, size: '4x6' },
    ]);
    expect(parsePrinters('')).toEqual([]);
    expect(parsePrinters('dock=h,')).toEqual([{ id: 'dock', host: 'h', port: 9100, size: '4x6' }]);
    expect(() => parsePrinters('dock=h,dock=k')).toThrow(/"dock" is given twice/);
    expect(parsePrinters('plain=10.0.4.21/100x50/no-status')).toEqual([
      { id: 'plain', host: '10.0.4.21', port: 9100, size: '100x50', hostStatus: false },
    ]);
    expect(() => parsePrinters('dock')).toThrow(/not id=host\[:port\]\[\/size\]\[\/no-status\]/);
    expect(() => parsePrinters('dock=h:99999')).toThrow(/bad port/);
  });

  it('a worker’s words name the printer, not its address, and only where the address stands whole', () => {
    const dock = { id: 'dock', host: '10.0.4.20', port: 9100, size: '4x6' } as const;
    expect(byName('connect ECONNREFUSED 10.0.4.20:9100', dock)).toBe('connect ECONNREFUSED dock');
    expect(byName('no answer from 10.0.4.20.', dock)).toBe('no answer from dock.');
    expect(byName('10.0.4.20:9101 refused; (10.0.4.20) too', dock)).toBe(
      'dock:9101 refused; (dock) too',
    );
    // Another address that merely contains this one is not this printer.
    expect(byName('10.0.4.201 and 110.0.4.20 and 10.0.4.20.5', dock)).toBe(
      '10.0.4.201 and 110.0.4.20 and 10.0.4.20.5',
    );
    const x = { id: 'x', host: 'h', port: 9100, size: '4x6' } as const;
    expect(byName('the head is hot; h:9100 paused, H too', x)).toBe(
      'the head is hot; x paused, x too',
    );
    const office = { id: 'office', host: 'zebra-2.local', port: 9100, size: '4x6' } as const;
    expect(byName('getaddrinfo ENOTFOUND zebra-2.local', office)).toBe(
      'getaddrinfo ENOTFOUND office',
    );
    expect(byName('zebra-2.localdomain, my-zebra-2.local', office)).toBe(
      'zebra-2.localdomain, my-zebra-2.local',
    );
    // A host with characters a pattern would read is matched as written.
    const odd = { id: 'odd', host: 'a+b', port: 9100, size: '4x6' } as const;
    expect(byName('aab a+b', odd)).toBe('aab odd');
    expect(byName('anything', undefined)).toBe('anything');
  });
});
