import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsServer } from '../../scripts/nats-server.js';
import { startNatsServer } from '../../scripts/nats-server.js';
import type { ServerProcess } from '../../scripts/server-process.js';
import { spawnServer } from '../../scripts/server-process.js';
import { spawnWorker } from '../../scripts/worker-process.js';
import { prepareCountSession } from '../../scripts/count-session.js';

/**
 * A bulk adjustment of 1,000 lines, run by a real worker process (`workers/dist/main.js`)
 * taking the job from a real nats-server, against a real sync server process. The worker is
 * killed with SIGKILL in the middle; another worker gets the job again when the first one's
 * delivery times out, and resumes. Every line must be applied exactly once (stock equals the
 * sum of the file's deltas) and progress must reach 100 %. Likewise a 1,000-line counting
 * session (scenario 22): each line applied once, checked in the log and pair by pair.
 */
const ADMIN = 'worker-test-admin-password';
const WORKER_PASSWORD = 'worker-test-password-0123456789';
let nats: NatsServer;
let server: ServerProcess;
const workers: ChildProcess[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
  server = await spawnServer({
    env: { NATS_URL: nats.url, ADMIN_PASSWORD: ADMIN, WORKER_PASSWORD, DEMO: '' },
  });
}, 60_000);
afterAll(async () => {
  for (const w of workers) w.kill('SIGKILL');
  await server?.stop();
  await nats?.dispose();
});

function startWorker(): ChildProcess {
  const w = spawnWorker({
    natsUrl: nats.url,
    serverUrl: server.base,
    password: WORKER_PASSWORD,
    env: {
      WORKER_CONCURRENCY: '1',
      WORKER_BATCH: '10', // 100 pushes: time to kill it in the middle
    },
  });
  workers.push(w);
  return w;
}

async function call<T>(
  method: string,
  p: string,
  token?: string,
  body?: string | object,
): Promise<T> {
  const res = await fetch(server.base + p, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined
        ? { 'content-type': typeof body === 'string' ? 'text/csv' : 'application/json' }
        : {}),
    },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

interface Job {
  id: string;
  state: string;
  done: number;
  total: number;
}

describe('a worker killed in the middle of a 1,000-line bulk adjustment', () => {
  it('another worker resumes it: every line applied exactly once, progress reaches 100 %', async () => {
    const { token } = await call<{ token: string }>('POST', '/api/auth/login', undefined, {
      username: 'admin',
      password: ADMIN,
      clientGroupID: 'worker-test-admin',
    });
    await call('POST', '/sync/push', token, {
      pushVersion: 1,
      clientGroupID: 'worker-test-admin',
      schemaVersion: '1',
      mutations: [
        { name: 'defineItem', args: { itemId: 'A', sku: 'A', name: 'A', tracking: 'none' } },
        ...Array.from({ length: 10 }, (_, i) => ({
          name: 'definePosition',
          args: { positionId: `B${i}`, code: `B${i}`, kind: 'bin' },
        })),
      ].map((m, i) => ({
        clientID: 'worker-test-admin-c',
        id: i + 1,
        timestamp: Date.now(),
        ...m,
      })),
    });
    const lines = ['item,position,delta,reason'];
    let expected = 0;
    for (let i = 0; i < 1000; i++) {
      const delta = 1 + (i % 3);
      expected += delta;
      lines.push(`A,B${i % 10},${delta},found`);
    }
    const job = await call<Job>(
      'POST',
      '/api/jobs/bulk-adjust?fileName=big.csv',
      token,
      lines.join('\n'),
    );
    expect(job.total).toBe(1000);
    await call('POST', `/api/jobs/${job.id}/start`, token, {});

    const first = startWorker();
    const progress = () => call<Job>('GET', `/api/jobs/${job.id}`, token);
    let now = await progress();
    for (
      const end = Date.now() + 30_000;
      now.done < 300 && Date.now() < end;
      now = await progress()
    )
      await new Promise((r) => setTimeout(r, 5));
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const atKill = (await progress()).done;
    expect(atKill).toBeGreaterThanOrEqual(300);
    expect(atKill).toBeLessThan(1000); // killed in the middle, not after the end

    startWorker(); // gets the job once the dead worker's delivery times out (10 s)
    for (
      const end = Date.now() + 60_000;
      now.state !== 'completed' && Date.now() < end;
      now = await progress()
    )
      await new Promise((r) => setTimeout(r, 50));
    expect(now).toMatchObject({ state: 'completed', done: 1000, total: 1000 });

    const stock = await call<{ itemId: string; quantity: number }[]>(
      'GET',
      '/api/stock?itemId=A',
      token,
    );
    expect(stock.reduce((sum, l) => sum + l.quantity, 0)).toBe(expected);
  }, 120_000);
});

describe('scenario 22: a worker killed in the middle of applying a 1,000-line counting session', () => {
  it('another worker finishes it: every line applied exactly once', async () => {
    // The workers of the test before are gone: the one started here is the only one.
    for (const w of workers.splice(0)) {
      if (w.exitCode === null && w.signalCode === null) {
        w.kill('SIGKILL');
        await new Promise((r) => w.once('exit', r));
      }
    }
    const s = await prepareCountSession(server.base, ADMIN, 1000);
    interface Detail {
      session: { status: string; applied: number; failed: number; planned: number };
      job: { done: number };
    }
    const detail = () => s.call<Detail>('GET', `/api/count-sessions/${s.sessionId}`);
    const { head: before } = await s.call<{ head: number }>('GET', '/health');
    await s.call('POST', `/api/count-sessions/${s.sessionId}/apply`, {});
    const first = startWorker();
    let now = await detail();
    for (
      const end = Date.now() + 30_000;
      now.session.applied < 300 && Date.now() < end;
      now = await detail()
    )
      await new Promise((r) => setTimeout(r, 5));
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const atKill = (await detail()).session.applied;
    expect(atKill).toBeGreaterThanOrEqual(300);
    expect(atKill).toBeLessThan(1000); // killed in the middle, not after the end

    startWorker(); // gets the job once the dead worker's delivery times out
    for (
      const end = Date.now() + 60_000;
      now.session.status !== 'applied' && Date.now() < end;
      now = await detail()
    )
      await new Promise((r) => setTimeout(r, 50));
    expect(now.session).toMatchObject({
      status: 'applied',
      applied: 1000,
      failed: 0,
      planned: 1000,
    });
    expect(now.job.done).toBe(1000);
    // Each line once, in the log: one CountRecordApplied per line, and one count correction per
    // line that differed (4 of every 5: counted 8…12 against 10).
    interface Logged {
      type: string;
      data: { lineNo?: number; reason?: string; sessionId?: string };
    }
    const log: Logged[] = [];
    for (let after = before; ;) {
      const page = await s.call<(Logged & { seq: number })[]>(
        'GET',
        `/api/events?after=${after}&limit=2000`,
      );
      log.push(...page);
      if (page.length < 2000) break;
      after = page.at(-1)?.seq ?? after;
    }
    const appliedLines = log
      .filter((e) => e.type === 'CountRecordApplied' && e.data.sessionId === s.sessionId)
      .map((e) => e.data.lineNo);
    expect(appliedLines.length).toBe(1000);
    expect(new Set(appliedLines).size).toBe(1000);
    expect(
      log.filter((e) => e.type === 'StockAdjusted' && e.data.reason === 'count-correction').length,
    ).toBe(800);
    // And in stock: every pair holds exactly what was counted.
    const stock = new Map<string, number>();
    for (let i = 0; i < 10; i++) {
      const lines = await s.call<{ positionId: string; itemId: string; quantity: number }[]>(
        'GET',
        `/api/stock?itemId=CI${i}`,
      );
      for (const l of lines) stock.set(`${l.positionId} ${l.itemId}`, l.quantity);
    }
    expect(stock).toEqual(s.counted);
  }, 150_000);
});

describe('a worker stopped (SIGTERM) while a bulk adjustment runs and its movements are exported', () => {
  it('the export stops at once, the job goes on, the process exits 0', async () => {
    // The earlier tests' workers (idle by now) go: this one's worker must be the one running it.
    for (const w of workers.splice(0)) {
      if (w.exitCode !== null || w.signalCode !== null) continue;
      const gone = new Promise((r) => w.once('exit', r));
      w.kill('SIGKILL');
      await gone;
    }
    const { token } = await call<{ token: string }>('POST', '/api/auth/login', undefined, {
      username: 'admin',
      password: ADMIN,
      clientGroupID: 'worker-stop-admin',
    });
    await call('POST', '/sync/push', token, {
      pushVersion: 1,
      clientGroupID: 'worker-stop-admin',
      schemaVersion: '1',
      mutations: [
        { name: 'defineItem', args: { itemId: 'S', sku: 'S', name: 'S', tracking: 'none' } },
        { name: 'definePosition', args: { positionId: 'S1', code: 'S1', kind: 'bin' } },
      ].map((m, i) => ({
        clientID: 'worker-stop-admin-c',
        id: i + 1,
        timestamp: Date.now(),
        ...m,
      })),
    });
    // An ERP that takes 20 ms a movement: the export always has some to hand over.
    const posted: number[] = [];
    const erp = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        posted.push(Date.now());
        setTimeout(() => res.writeHead(201).end('{}'), 20);
      });
    });
    await new Promise<void>((r) => erp.listen(0, '127.0.0.1', r));
    const dir = mkdtempSync(path.join(tmpdir(), 'floorsync-worker-stop-'));
    try {
      const lines = ['item,position,delta,reason'];
      for (let i = 0; i < 1500; i++) lines.push('S,S1,1,found');
      const job = await call<Job>(
        'POST',
        '/api/jobs/bulk-adjust?fileName=s.csv',
        token,
        lines.join('\n'),
      );
      await call('POST', `/api/jobs/${job.id}/start`, token, {});
      const w = spawnWorker({
        natsUrl: nats.url,
        serverUrl: server.base,
        password: WORKER_PASSWORD,
        env: {
          WORKER_CONCURRENCY: '1',
          WORKER_BATCH: '10',
          ERP_EXPORT_URL: `http://127.0.0.1:${(erp.address() as AddressInfo).port}/movements`,
          ERP_EXPORT_CURSOR: path.join(dir, 'cursor'),
        },
      });
      workers.push(w);
      let out = '';
      w.stdout?.on('data', (b: Buffer) => (out += b.toString()));
      const exited = new Promise<number | null>((r) => w.once('exit', (code) => r(code)));
      const progress = () => call<Job>('GET', `/api/jobs/${job.id}`, token);
      for (const end = Date.now() + 30_000; Date.now() < end;) {
        if ((await progress()).done >= 100 && posted.length >= 1) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      const at = (await progress()).done;
      expect(at).toBeGreaterThanOrEqual(100);
      expect(at).toBeLessThan(1500); // stopped in the middle of it
      const stoppedAt = Date.now();
      w.kill('SIGTERM');
      expect(await exited).toBe(0);
      // The job went on meanwhile (a drain lets running jobs finish, up to 20 s), and the
      // export handed nothing over after the request it was in (it went on for seconds before).
      expect((await progress()).done).toBeGreaterThan(at);
      expect(posted.filter((t) => t > stoppedAt + 1000)).toEqual([]);
      expect(out).toContain('"msg":"stopped"');
      expect(out).not.toContain('did not stop cleanly');
    } finally {
      erp.closeAllConnections();
      await new Promise<void>((r) => erp.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});

describe('the embedded mode (no NATS): the server runs jobs itself', () => {
  it('a bulk adjustment uploaded and started completes in the same process', async () => {
    const embedded = await spawnServer({ env: { ADMIN_PASSWORD: ADMIN, DEMO: '1' } });
    try {
      const login = await fetch(`${embedded.base}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'supervisor', password: 'supervisor-demo' }),
      });
      const { token } = (await login.json()) as { token: string };
      const req = async <T>(method: string, p: string, body?: string | object) => {
        const res = await fetch(embedded.base + p, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': typeof body === 'string' ? 'text/csv' : 'application/json',
          },
          ...(body !== undefined
            ? { body: typeof body === 'string' ? body : JSON.stringify(body) }
            : {}),
        });
        if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
        return (await res.json()) as T;
      };
      const before = await req<{ quantity: number }[]>(
        'GET',
        '/api/stock?itemId=demo-bolt&positionId=demo-bin-A-01-01',
      );
      const csv = [
        'item;position;delta;reason',
        'BOLT-M8;A-01-01;-3;damaged',
        '04006381333931;A-01-01;10;found',
      ];
      const job = await req<Job>('POST', '/api/jobs/bulk-adjust?fileName=demo.csv', csv.join('\n'));
      expect(job).toMatchObject({ total: 2, state: 'validated' });
      await req('POST', `/api/jobs/${job.id}/start`, {});
      let now = job;
      for (const end = Date.now() + 20_000; now.state !== 'completed' && Date.now() < end;) {
        await new Promise((r) => setTimeout(r, 20));
        now = await req<Job>('GET', `/api/jobs/${job.id}`);
      }
      expect(now).toMatchObject({ state: 'completed', done: 2 });
      const after = await req<{ quantity: number }[]>(
        'GET',
        '/api/stock?itemId=demo-bolt&positionId=demo-bin-A-01-01',
      );
      expect((after[0]?.quantity ?? 0) - (before[0]?.quantity ?? 0)).toBe(7);
    } finally {
      await embedded.stop();
    }
  }, 60_000);
});
