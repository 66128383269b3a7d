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

/** Signs the bench admin in, bound to one client group. */
async function adminLogin(base: string, clientGroupID: string) {
  return (await post(base, '/api/auth/login', {
    username: 'admin',
    password: BENCH_ADMIN_PASSWORD,
    clientGroupID,
  })) as {
    token: string;
    user: { id: string; role: Role };
  };
}

/** A signed-in device: its own IndexedDB database, the engine, and an admin session bound to it. */
async function signedInDevice(base: string, batchSize?: number) {
  const db = openReplica(`bench-${Date.now()}-${Math.random()}`);
  const session = { token: null as string | null, user: null as { id: string; role: Role } | null };
  const engine = await SyncEngine.open({
    db,
    baseUrl: base,
    token: () => session.token,
    user: () => session.user,
    ...(batchSize ? { batchSize } : {}),
  });
  const login = await adminLogin(base, engine.clientGroupID);
  session.token = login.token;
  session.user = login.user;
  return { db, engine };
}

export const benches: Bench[] = [
  {
    name: 'client.drain5000_s',
    run: () =>
      withServer(async (base) => {
        const admin = await adminLogin(base, 'g-seed');
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
        const { db, engine } = await signedInDevice(base, 500);
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

benches.push({
  // The engine alone; issue #4's `client.bootstrap100k_s` is the browser's (e2e/bench).
  name: 'client.node_bootstrap100k_s',
  run: () =>
    withServer(async (base) => {
      const admin = await adminLogin(base, 'g-seed');
      let id = 0;
      const push = (mutations: { name: string; args: unknown }[]) =>
        post(
          base,
          '/sync/push',
          {
            pushVersion: 1,
            clientGroupID: 'g-seed',
            mutations: mutations.map((m) => ({ clientID: 'c-seed', id: ++id, ...m })),
          },
          admin.token,
        );
      // 1,000 items × 100 bins = 100,000 stock lines.
      const defs: { name: string; args: unknown }[] = [];
      for (let b = 0; b < 100; b++)
        defs.push({
          name: 'definePosition',
          args: { positionId: `B${b}`, code: `B${b}`, kind: 'bin' },
        });
      for (let i = 0; i < 1000; i++)
        defs.push({
          name: 'defineItem',
          args: { itemId: `I${i}`, sku: `SKU-${i}`, name: `Item ${i}`, tracking: 'none' },
        });
      for (let k = 0; k < defs.length; k += 1000) await push(defs.slice(k, k + 1000));
      for (let i = 0; i < 1000; i += 10) {
        const batch: { name: string; args: unknown }[] = [];
        for (let j = i; j < i + 10; j++)
          for (let b = 0; b < 100; b++)
            batch.push({
              name: 'receiveStock',
              args: { itemId: `I${j}`, positionId: `B${b}`, quantity: 5 },
            });
        await push(batch);
      }
      const { db, engine } = await signedInDevice(base);
      const t0 = performance.now();
      const progress = await engine.pull();
      const seconds = (performance.now() - t0) / 1000;
      if (progress.entries < 100_000) throw new Error(`only ${progress.entries} entries`);
      if (engine.view.quantity('I999' as never, 'B99' as never, null, null) !== 5)
        throw new Error('replica incomplete');
      db.close();
      return { value: seconds, unit: 's (fake-indexeddb, Node)' };
    }),
});
