import 'fake-indexeddb/auto';
import type { Role } from '@floorsync/domain';
import type { Bench } from '../../scripts/bench-kit.js';
import { BENCH_ADMIN_PASSWORD, withServer } from '../../scripts/bench-server.js';
import { openReplica } from '../src/lib/sync/db.js';
import { SyncEngine } from '../src/lib/sync/engine.js';

/**
 * The device's sync engine against a real server process over loopback. IndexedDB here is
 * `fake-indexeddb` in Node — slower than a browser's — so these figures are conservative;
 * the Chromium figures (`client.scan_p95_ms` etc.) come with the UI's Playwright benchmarks.
 */
async function post(base: string, path: string, body: unknown, token?: string): Promise<unknown> {
  const res = await fetch(base + path, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

export const benches: Bench[] = [
  {
    name: 'client.drain5000_s',
    run: () =>
      withServer(async (base) => {
        const admin = (await post(base, '/api/auth/login', {
          username: 'admin',
          password: BENCH_ADMIN_PASSWORD,
          clientGroupID: 'g-seed',
        })) as { token: string };
        await post(
          base,
          '/sync/push',
          {
            pushVersion: 1,
            clientGroupID: 'g-seed',
            mutations: [
              {
                clientID: 'c-seed',
                id: 1,
                name: 'defineItem',
                args: { itemId: 'A', sku: 'A', name: 'A', tracking: 'none' },
              },
              {
                clientID: 'c-seed',
                id: 2,
                name: 'definePosition',
                args: { positionId: 'P', code: 'P', kind: 'bin' },
              },
            ],
          },
          admin.token,
        );
        const db = openReplica(`bench-${Date.now()}`);
        const session = {
          token: null as string | null,
          user: null as { id: string; role: Role } | null,
        };
        const engine = await SyncEngine.open({
          db,
          baseUrl: base,
          token: () => session.token,
          user: () => session.user,
          batchSize: 500,
        });
        const login = (await post(base, '/api/auth/login', {
          username: 'admin',
          password: BENCH_ADMIN_PASSWORD,
          clientGroupID: engine.clientGroupID,
        })) as {
          token: string;
          user: { id: string; role: Role };
        };
        session.token = login.token;
        session.user = login.user;
        await engine.pull();
        // A shift offline: 5,000 scans, each durably queued before the next.
        const scans: number[] = [];
        for (let i = 0; i < 5000; i++) {
          const t = performance.now();
          await engine.mutate('receiveStock', { itemId: 'A', positionId: 'P', quantity: 1 });
          scans.push(performance.now() - t);
        }
        scans.sort((a, b) => a - b);
        // Back online: pushed, acknowledged and pulled until nothing is pending.
        const t0 = performance.now();
        await engine.sync();
        const seconds = (performance.now() - t0) / 1000;
        if (engine.pending !== 0) throw new Error(`${engine.pending} still pending`);
        db.close();
        return {
          'client.drain5000_s': { value: seconds, unit: 's' },
          'client.node_scan_p95_ms': {
            value: scans[Math.floor(scans.length * 0.95)] ?? 0,
            unit: 'ms (fake-indexeddb, Node)',
          },
        };
      }),
  },
];
