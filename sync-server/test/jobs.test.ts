import type { JobEnvelope } from '@floorsync/domain';
import { createDeflateRaw } from 'node:zlib';
import ExcelJS from 'exceljs';
import { afterEach, describe, expect, it } from 'vitest';
import type { JobView } from '../src/jobs/routes.js';
import { jobClient } from '../src/jobs/routes.js';
import type { TestServer } from './harness.js';
import { Device, warehouseServer } from './harness.js';
import { zipOf } from './zip.js';

/**
 * The jobs API: a bulk-adjustment file is checked on upload (CSV or XLSX), reported row by
 * row, and started only when valid (or when the supervisor chooses to apply the valid rows).
 * Nothing in the warehouse changes until a worker applies the plan through the replay.
 */
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function setup() {
  const enqueued: JobEnvelope[] = [];
  const w = await warehouseServer({
    jobs: {
      enqueue: (job) => {
        enqueued.push(job);
        return Promise.resolve();
      },
    },
  });
  server = w.server;
  const supervisor = await w.server.login('sup', 'sup-password');
  const operator = await w.server.login('op1', 'op1-password');
  const upload = (body: string | Buffer, token = supervisor, fileName = 'counts.csv') =>
    w.server.request(`/api/jobs/bulk-adjust?fileName=${encodeURIComponent(fileName)}`, {
      method: 'POST',
      token,
      body: typeof body === 'string' ? body : new Uint8Array(body),
      headers: { 'content-type': 'application/octet-stream' },
    });
  const start = (id: string, json: unknown = {}) =>
    w.server.request(`/api/jobs/${id}/start`, { method: 'POST', token: supervisor, json });
  const stock = async () => {
    const res = await w.server.request('/api/stock', { token: supervisor });
    return (await res.json()) as unknown[];
  };
  return { ...w, supervisor, operator, upload, start, stock, enqueued };
}

/** A worker for a job, by hand: the job's own client, and the plan it pushes. */
async function jobWorker(t: Awaited<ReturnType<typeof setup>>, jobId: string) {
  const worker = new Device(
    t.server,
    await t.server.login('sup', 'sup-password', jobClient(jobId)),
    jobClient(jobId),
    jobClient(jobId),
  );
  const plan = (await (
    await t.server.request(`/api/jobs/${jobId}/plan`, { token: t.supervisor })
  ).json()) as { args: Record<string, unknown> }[];
  return { worker, plan };
}

const GOOD = 'item;position;delta;reason;lot\nA;P;5;found;\nA;Q;-2;damaged;\nL;R;1,5;found;L-1\n';

/** A zip of one deflated entry of `size` zero bytes, its directory lying about count and size. */
async function zipBomb(size: number): Promise<Buffer> {
  const deflate = createDeflateRaw({ level: 9 });
  const chunks: Buffer[] = [];
  deflate.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise((r) => deflate.on('end', r));
  const mb = Buffer.alloc(1024 * 1024);
  for (let n = 0; n < size; n += mb.length)
    deflate.write(mb.subarray(0, Math.min(mb.length, size - n)));
  deflate.end();
  await done;
  const data = Buffer.concat(chunks);
  // A directory that claims 0 entries and 100 bytes uncompressed.
  return zipOf([{ name: 'xl/worksheets/sheet1.xml', deflated: data, claimedSize: 100 }], {
    declared: 0,
  });
}

async function xlsx(rows: (string | number)[][]): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  const sheet = wb.addWorksheet('adjustments');
  for (const r of rows) sheet.addRow(r);
  return Buffer.from(await wb.xlsx.writeBuffer());
}

describe('jobs API: bulk adjustment files', () => {
  it('checks a CSV on upload, reports it, and queues it on start; the plan is what was checked', async () => {
    const t = await setup();
    const res = await t.upload(GOOD.replace('L-1', ''));
    expect(res.status).toBe(201);
    const job = (await res.json()) as JobView & { errorCount: number };
    expect(job).toMatchObject({
      kind: 'bulk-adjust',
      state: 'validated',
      fileName: 'counts.csv',
      rows: 3,
      total: 2,
      errorCount: 1,
      done: 0,
    });
    expect(job.errors).toEqual([
      {
        line: 4,
        column: 'lot',
        code: 'LOT_REQUIRED',
        values: { sku: 'L' },
        message: 'item L is tracked by lot: the row needs a lot',
      },
    ]);
    // Invalid rows: a start needs the supervisor's explicit choice.
    const refused = await t.start(job.id);
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ code: 'INVALID_ROWS' });
    expect(t.enqueued).toEqual([]);
    const started = await t.start(job.id, { applyValidRows: true });
    expect(started.status).toBe(202);
    expect(await started.json()).toMatchObject({ state: 'queued', done: 0 });
    expect(t.enqueued).toEqual([
      {
        id: expect.stringMatching(`^${job.id}:20`),
        kind: 'bulk-adjust',
        payload: { jobId: job.id },
      },
    ]);
    const plan = await t.server.request(`/api/jobs/${job.id}/plan?offset=1&limit=5`, {
      token: t.supervisor,
    });
    expect(await plan.json()).toEqual([
      { line: 3, args: { itemId: 'A', positionId: 'Q', delta: -2, reason: 'damaged' } },
    ]);
    expect(await t.stock()).toEqual([]); // nothing applied by the server itself
  });

  it('reads an XLSX workbook the same way', async () => {
    const t = await setup();
    const res = await t.upload(
      await xlsx([
        ['Item', 'Position', 'Delta', 'Reason', 'Lot'],
        ['A', 'P', 5, 'found', ''],
        ['L', 'R', -1.5, 'expired', 'L-1'],
        ['X', 'P', 1, 'found', ''],
      ]),
      t.supervisor,
      'counts.xlsx',
    );
    expect(res.status).toBe(201);
    const job = (await res.json()) as JobView;
    expect(job).toMatchObject({ rows: 3, total: 2 });
    expect(job.errors).toEqual([
      {
        line: 4,
        column: 'item',
        code: 'UNKNOWN_ITEM',
        values: { code: 'X' },
        message: 'unknown item "X" (neither a SKU nor a barcode)',
      },
    ]);
    const plan = await t.server.request(`/api/jobs/${job.id}/plan`, { token: t.supervisor });
    expect(await plan.json()).toEqual([
      { line: 2, args: { itemId: 'A', positionId: 'P', delta: 5, reason: 'found' } },
      {
        line: 3,
        args: { itemId: 'L', positionId: 'R', delta: -1.5, reason: 'expired', lot: 'L-1' },
      },
    ]);
  });

  it('bad files get a clear answer and leave nothing to start', async () => {
    const t = await setup();
    // Missing columns: a report with one file-level error, nothing to apply.
    const missing = (await (await t.upload('item,position,quantity\nA,P,1\n')).json()) as JobView;
    expect(missing.total).toBe(0);
    expect(missing.errors[0]?.message).toMatch(/^missing columns: delta, reason/);
    const nothing = await t.start(missing.id, { applyValidRows: true });
    expect(nothing.status).toBe(409);
    expect(await nothing.json()).toMatchObject({ code: 'NOTHING_TO_APPLY' });
    // Wrong types and unknown codes, row by row.
    const typed = (await (
      await t.upload('item,position,delta,reason\nA,P,lots,found\nA,P,-1,bogus\nZZ,P,1,found\n')
    ).json()) as JobView;
    expect(typed.errors.map((e) => [e.line, e.column])).toEqual([
      [2, 'delta'],
      [3, 'reason'],
      [4, 'item'],
    ]);
    // Not a spreadsheet at all, a broken workbook, an empty body.
    const binary = await t.upload(Buffer.from([0, 1, 2, 3, 0, 0, 255, 254]));
    expect(binary.status).toBe(422);
    expect(await binary.json()).toMatchObject({ code: 'UNREADABLE_FILE' });
    const broken = await t.upload(Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(100, 7)]));
    expect(broken.status).toBe(422);
    expect((await broken.json()) as { detail: string }).toMatchObject({
      detail: expect.stringMatching(/^not a valid XLSX workbook/),
    });
    expect((await t.upload('')).status).toBe(400);
    const unclosed = await t.upload('item,position,delta,reason\nA,P,1,"found\n');
    expect(unclosed.status).toBe(422);
    // A "zip bomb": 100 KB that inflates past 100 MB, with a directory that claims 0 entries
    // and tiny sizes. Refused before ExcelJS inflates it.
    const bombed = await t.upload(await zipBomb(101 * 1024 * 1024), t.supervisor, 'bomb.xlsx');
    expect(bombed.status).toBe(413);
    expect(await bombed.json()).toMatchObject({
      detail: expect.stringMatching(/unpacks to more than 100 MB/),
    });
    // A 50 MB file is refused before it is read whole: no job for it.
    const huge = await t.upload(Buffer.alloc(50 * 1024 * 1024, 'A,P,1,found\n'));
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ detail: expect.stringMatching(/at most 10 MB/) });
    const list = (await (
      await t.server.request('/api/jobs', { token: t.supervisor })
    ).json()) as JobView[];
    expect(list.map((j) => j.id).sort()).toEqual([missing.id, typed.id].sort());
    expect(t.enqueued).toEqual([]);
    expect(await t.stock()).toEqual([]);
  });

  it('a queue that does not take the job: 503, and the job can be started again', async () => {
    let up = false;
    const logged: { msg: string; fields?: Record<string, unknown> }[] = [];
    const w = await warehouseServer({
      jobs: {
        enqueue: () => (up ? Promise.resolve() : Promise.reject(new Error('NATS is down'))),
      },
      log: { log: (_level, msg, fields) => logged.push({ msg, ...(fields ? { fields } : {}) }) },
    });
    server = w.server;
    const token = await w.server.login('sup', 'sup-password');
    const res = await w.server.request('/api/jobs/bulk-adjust', {
      method: 'POST',
      token,
      body: GOOD,
    });
    const job = (await res.json()) as JobView;
    const start = () =>
      w.server.request(`/api/jobs/${job.id}/start`, { method: 'POST', token, json: {} });
    const refused = await start();
    expect(refused.status).toBe(503);
    const problem = (await refused.json()) as { code: string; detail: string };
    expect(problem).toMatchObject({ code: 'QUEUE_UNAVAILABLE' });
    // The queue's own words go to the log, not to the caller.
    expect(problem.detail).not.toContain('NATS is down');
    expect(logged).toContainEqual({
      msg: 'the job queue did not take a job',
      fields: { job: job.id, error: 'Error: NATS is down' },
    });
    const after = (await (
      await w.server.request(`/api/jobs/${job.id}`, { token })
    ).json()) as JobView;
    expect(after).toMatchObject({ state: 'validated', startedAt: null });
    up = true;
    expect((await start()).status).toBe(202);
    // A worker gives it up; starting it again while the queue is down leaves it failed as it
    // was — its problem (said in the screen's language) included.
    const gaveUp = { code: 'GAVE_UP', values: { attempts: 8, detail: 'the server answered 500' } };
    const failed = await w.server.request(`/api/jobs/${job.id}/fail`, {
      method: 'POST',
      token,
      json: {
        reason: 'gave up after 8 attempts; last error: the server answered 500',
        problem: gaveUp,
      },
    });
    expect(failed.status).toBe(200);
    up = false;
    expect((await start()).status).toBe(503);
    const still = (await (
      await w.server.request(`/api/jobs/${job.id}`, { token })
    ).json()) as JobView;
    expect(still).toMatchObject({
      state: 'failed',
      error: 'gave up after 8 attempts; last error: the server answered 500',
      problem: gaveUp,
    });
  });

  it('a job a worker gave up on shows why, and can be started again', async () => {
    const t = await setup();
    const job = (await (await t.upload(GOOD)).json()) as JobView;
    const fail = (reason: unknown, problem?: unknown) =>
      t.server.request(`/api/jobs/${job.id}/fail`, {
        method: 'POST',
        token: t.supervisor,
        json: { reason, ...(problem !== undefined ? { problem } : {}) },
      });
    expect((await fail('too early')).status).toBe(409); // not started
    await t.start(job.id);
    expect((await fail('')).status).toBe(400);
    // The worker says why as a code and values too: the jobs screen says it in its language.
    const gaveUp = { code: 'GAVE_UP', values: { attempts: 8, detail: '503', extra: 'x' } };
    const failed = await fail('gave up after 8 attempts; last error: 503', gaveUp);
    expect(await failed.json()).toMatchObject({
      state: 'failed',
      error: 'gave up after 8 attempts; last error: 503',
      problem: { code: 'GAVE_UP', values: { attempts: 8, detail: '503' } },
    });
    const listed = (await (
      await t.server.request('/api/jobs', { token: t.supervisor })
    ).json()) as JobView[];
    // Only the values its text names are kept.
    expect(listed.find((j) => j.id === job.id)?.problem).toEqual({
      code: 'GAVE_UP',
      values: { attempts: 8, detail: '503' },
    });
    t.server.clock.advance(60_000); // the supervisor fixed the cause meanwhile
    const again = await t.start(job.id);
    expect(again.status).toBe(202);
    const restarted = (await again.json()) as JobView;
    expect(restarted).toMatchObject({ state: 'queued', error: null });
    expect(restarted.problem).toBeUndefined();
    // A new message id for the new start: the queue drops an id it saw for a while.
    const ids = t.enqueued.map((j) => j.id);
    expect(ids).toHaveLength(2);
    expect(ids.every((i) => i.startsWith(`${job.id}:`))).toBe(true);
    expect(new Set(ids).size).toBe(2);
    // A problem this server does not know, or without its values, is dropped; the reason stands.
    for (const problem of [
      { code: 'FROM_A_NEWER_WORKER', values: {} },
      { code: 'GAVE_UP', values: { attempts: 8 } },
      'GAVE_UP',
    ]) {
      const odd = await fail('gave up', problem);
      expect(odd.status).toBe(200);
      const view = (await odd.json()) as JobView;
      expect(view).toMatchObject({ state: 'failed', error: 'gave up' });
      expect(view.problem).toBeUndefined();
      t.server.clock.advance(60_000);
      expect((await t.start(job.id)).status).toBe(202);
    }
  });

  it('operators may not upload or start jobs; an unknown job is a 404', async () => {
    const t = await setup();
    expect((await t.upload(GOOD, t.operator)).status).toBe(403);
    expect((await t.server.request('/api/jobs', { token: t.operator })).status).toBe(403);
    expect((await t.start('no-such-job')).status).toBe(404);
  });

  it('the list shows the newest 50 bulk adjustments, however many label prints came after them', async () => {
    const t = await setup();
    const first = (await (await t.upload(GOOD)).json()) as JobView;
    // A busy day's prints: every one is a job in the same table, newer than the adjustment.
    await t.server.storage.write((tx) => {
      for (let i = 0; i < 300; i++)
        tx.createJob(
          {
            id: `print-${i}`,
            kind: 'print-labels',
            status: 'completed',
            createdBy: 'u-sup',
            createdAt: new Date(t.server.clock.ms + 60_000 + i).toISOString(),
            fileName: null,
            rows: 1,
            total: 1,
            errors: [],
            startedAt: null,
            error: null,
          },
          [],
        );
    });
    const list = async () =>
      (await (await t.server.request('/api/jobs', { token: t.supervisor })).json()) as JobView[];
    expect((await list()).map((j) => j.id)).toEqual([first.id]);
    for (let i = 0; i < 50; i++) {
      t.server.clock.advance(1); // one upload a millisecond: "newest" has a meaning
      expect((await t.upload(GOOD)).status).toBe(201);
    }
    const shown = await list();
    expect(shown).toHaveLength(50);
    expect(shown.every((j) => j.kind === 'bulk-adjust')).toBe(true);
    expect(shown.map((j) => j.id)).not.toContain(first.id); // the oldest of 51
  });

  it("progress is the job client's lastMutationID: it counts rows applied through the replay", async () => {
    const t = await setup();
    const job = (await (await t.upload(GOOD)).json()) as JobView;
    expect(job.total).toBe(3);
    await t.start(job.id);
    // A worker pushes the plan as the job's own client (here by hand, two rows of three).
    const { worker, plan } = await jobWorker(t, job.id);
    await worker.pushOk(plan.slice(0, 2).map((p) => worker.mutation('adjustStock', p.args)));
    const half = (await (
      await t.server.request(`/api/jobs/${job.id}`, { token: t.supervisor })
    ).json()) as JobView;
    expect(half).toMatchObject({ state: 'running', done: 2, total: 3 });
    await worker.pushOk(plan.slice(2).map((p) => worker.mutation('adjustStock', p.args)));
    const all = (await (
      await t.server.request(`/api/jobs/${job.id}`, { token: t.supervisor })
    ).json()) as JobView;
    expect(all).toMatchObject({ state: 'completed', done: 3 });
    // A copy of the job that gives up now is refused: the job is done.
    const late = await t.server.request(`/api/jobs/${job.id}/fail`, {
      method: 'POST',
      token: t.supervisor,
      json: { reason: 'gave up after 8 attempts; last error: 503' },
    });
    expect(late.status).toBe(409);
  });

  it('two copies of a job (queued again while it ran): one gives up, the other applies the last rows — the job shows completed, not failed', async () => {
    const t = await setup();
    const job = (await (await t.upload(GOOD)).json()) as JobView;
    await t.start(job.id);
    const { worker, plan } = await jobWorker(t, job.id);
    await worker.pushOk(plan.slice(0, 2).map((p) => worker.mutation('adjustStock', p.args)));
    const gaveUp = await t.server.request(`/api/jobs/${job.id}/fail`, {
      method: 'POST',
      token: t.supervisor,
      json: { reason: 'gave up after 8 attempts; last error: 503' },
    });
    expect(await gaveUp.json()).toMatchObject({ state: 'failed', done: 2 });
    await worker.pushOk(plan.slice(2).map((p) => worker.mutation('adjustStock', p.args)));
    const view = (await (
      await t.server.request(`/api/jobs/${job.id}`, { token: t.supervisor })
    ).json()) as JobView;
    expect(view).toMatchObject({ state: 'completed', done: 3, total: 3 });
  });

  it('a queued or running job started again (the jobs screen\'s "Queue again") is sent again with the same message id', async () => {
    const t = await setup();
    const job = (await (await t.upload(GOOD)).json()) as JobView;
    expect((await t.start(job.id)).status).toBe(202);
    const again = await t.start(job.id);
    expect(again.status).toBe(202);
    expect(await again.json()).toMatchObject({ state: 'queued' });
    const ids = t.enqueued.map((j) => j.id);
    expect(ids).toHaveLength(2);
    expect(ids[1]).toBe(ids[0]);
  });
});
