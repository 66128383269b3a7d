import type { Bench } from '../../scripts/bench-kit.js';
import { BENCH_ADMIN_PASSWORD, embeddedAndNats } from '../../scripts/bench-server.js';

/**
 * A bulk adjustment of 1,000 lines end to end: upload of the CSV, its check, the start, and
 * polling until the job's progress is 100 % (`jobs.bulk_adjust1000_s`, target < 3 s; the
 * platform we re-imagine takes about a minute). Embedded (the server runs the job itself) and
 * scale-out (a worker process takes it from NATS) in the same run.
 */

async function bulkAdjust(base: string): Promise<number> {
  const call = async <T>(method: string, p: string, token?: string, body?: string | object) => {
    const res = await fetch(base + p, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        'content-type': typeof body === 'string' ? 'text/csv' : 'application/json',
      },
      ...(body !== undefined
        ? { body: typeof body === 'string' ? body : JSON.stringify(body) }
        : {}),
    });
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  const { token } = await call<{ token: string }>('POST', '/api/auth/login', undefined, {
    username: 'admin',
    password: BENCH_ADMIN_PASSWORD,
    clientGroupID: 'bench-admin',
  });
  await call('POST', '/sync/push', token, {
    pushVersion: 1,
    clientGroupID: 'bench-admin',
    schemaVersion: '1',
    mutations: [
      { name: 'defineItem', args: { itemId: 'A', sku: 'A', name: 'A', tracking: 'none' } },
      ...Array.from({ length: 50 }, (_, i) => ({
        name: 'definePosition',
        args: { positionId: `B${i}`, code: `B${i}`, kind: 'bin' },
      })),
    ].map((m, i) => ({ clientID: 'bench-admin-c', id: i + 1, timestamp: Date.now(), ...m })),
  });
  const csv = ['item,position,delta,reason'];
  for (let i = 0; i < 1000; i++) csv.push(`A,B${i % 50},${(i % 5) + 1},count-correction`);
  const t0 = performance.now();
  const job = await call<{ id: string; total: number }>(
    'POST',
    '/api/jobs/bulk-adjust?fileName=bench.csv',
    token,
    csv.join('\n'),
  );
  if (job.total !== 1000) throw new Error(`the check found ${job.total} valid rows, not 1000`);
  await call('POST', `/api/jobs/${job.id}/start`, token, {});
  for (;;) {
    const now = await call<{ state: string; done: number }>('GET', `/api/jobs/${job.id}`, token);
    if (now.state === 'completed') break;
    if (performance.now() - t0 > 120_000) throw new Error(`stuck at ${now.done}/1000`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return (performance.now() - t0) / 1000;
}

export const benches: Bench[] = [
  {
    name: 'jobs.bulk_adjust1000_s',
    run: () =>
      embeddedAndNats('jobs.bulk_adjust1000_s', bulkAdjust, {
        embedded: 's (embedded: upload to 100 %)',
        nats: 's (a worker process taking the job from NATS: upload to 100 %)',
      }),
  },
];
