import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openSqliteStorage } from '../dist/storage/sqlite/sqlite-storage.js';
import { replayPush } from '../dist/replay/push.js';
import { uuidv7 } from '../dist/ids.js';
const newId = () => uuidv7();
import { pushRequestSchema } from '@floorsync/domain';

const dir = mkdtempSync(path.join(tmpdir(), 'probe-'));
const storage = openSqliteStorage({ path: path.join(dir, 'db.sqlite') });
const session = { userId: 'u-admin', role: 'admin' as const };
let next = new Map<string, number>();
const push = (group: string, muts: { name: string; args: unknown }[]) => {
  const client = `${group}-c`;
  const req = pushRequestSchema.parse({
    pushVersion: 1,
    clientGroupID: group,
    mutations: muts.map((m) => {
      const id = (next.get(client) ?? 0) + 1;
      next.set(client, id);
      return { clientID: client, id, ...m, timestamp: Date.now() };
    }),
  });
  return storage.write((tx) => replayPush(tx, { clientGroupID: group, mutations: req.mutations, session }, { now: () => new Date(), newId }));
};
const BINS = 50;
const BATCH = Number(process.env.PROBE_BATCH ?? 100);
const DEVICES = Number(process.env.PROBE_DEVICES ?? 10);
const BATCHES = Number(process.env.PROBE_BATCHES ?? 30);
const seed = [{ name: 'defineItem', args: { itemId: 'A', sku: 'A', name: 'A', tracking: 'none' } }];
for (let i = 0; i < BINS; i++) seed.push({ name: 'definePosition', args: { positionId: `B${i}`, code: `B${i}`, kind: 'bin' } } as never);
await push('seed', seed);
if (process.env.PROBE_SQL) {
  const { default: Database } = await import('better-sqlite3');
  const db2 = new Database(path.join(dir, 'db.sqlite'));
  db2.exec(process.env.PROBE_SQL);
  db2.close();
}
const scan = (i: number) => ({ name: 'receiveStock', args: { itemId: 'A', positionId: `B${i % BINS}`, quantity: 1 } });
async function run(devices: number, batches: number) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  await Promise.all(Array.from({ length: devices }, async (_, k) => {
    for (let b = 0; b < batches; b++) await push(`d${k}`, Array.from({ length: BATCH }, (_, j) => scan(k + j)));
  }));
  const c = process.cpuUsage(c0);
  const n = devices * batches * BATCH;
  return { wall_per_s: Math.round(n / ((performance.now() - t0) / 1000)), cpu_us_per_mutation: +((c.user + c.system) / n).toFixed(2), user: +(c.user / n).toFixed(2), sys: +(c.system/n).toFixed(2) };
}
await run(DEVICES, Math.ceil(BATCHES / 3));
for (let r = 0; r < 3; r++) console.log(JSON.stringify(await run(DEVICES, BATCHES)));
await storage.close();
