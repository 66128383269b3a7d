import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Bench, BenchResult } from '../../scripts/bench-kit.js';
import { BENCH_ADMIN_PASSWORD, serverCommand } from '../../scripts/bench-server.js';
import { applyAndWait, prepareCountSession } from '../../scripts/count-session.js';
import { startNatsServer } from '../../scripts/nats-server.js';
import { spawnServer } from '../../scripts/server-process.js';

/**
 * Applying an approved counting session of 1,000 lines (`counting.apply1000_s`, target < 3 s):
 * from the start of the apply job to the session reported applied — each line decided against
 * stock as it is, with its `StockAdjusted`, pushed by the job in batches. Embedded (the server
 * runs the job) and scale-out (a worker process takes it from NATS), in the same run. Setting
 * the session up (master data, 1,000 counts, approval) is not timed.
 */
const root = path.resolve(import.meta.dirname, '../..');
const WORKER_PASSWORD = 'bench-worker-password-0123456789';

export const benches: Bench[] = [
  {
    name: 'counting.apply1000_s',
    async run() {
      const out: Record<string, BenchResult> = {};
      const embedded = await spawnServer({
        env: { ADMIN_PASSWORD: BENCH_ADMIN_PASSWORD, DEMO: '' },
        command: serverCommand(),
      });
      try {
        const s = await prepareCountSession(embedded.base, BENCH_ADMIN_PASSWORD, 1000);
        out['counting.apply1000_s'] = {
          value: await applyAndWait(s),
          unit: 's (embedded: apply started to session applied)',
        };
      } finally {
        await embedded.stop();
      }
      let nats;
      try {
        nats = await startNatsServer();
      } catch (error) {
        process.stderr.write(`counting.apply1000_nats_s skipped: ${String(error)}\n`);
        return out;
      }
      const server = await spawnServer({
        env: {
          ADMIN_PASSWORD: BENCH_ADMIN_PASSWORD,
          DEMO: '',
          NATS_URL: nats.url,
          WORKER_PASSWORD,
        },
        command: serverCommand(),
      });
      const worker = spawn(process.execPath, [path.join(root, 'workers/dist/main.js')], {
        env: { ...process.env, NATS_URL: nats.url, FLOORSYNC_URL: server.base, WORKER_PASSWORD },
        stdio: 'ignore',
      });
      try {
        const s = await prepareCountSession(server.base, BENCH_ADMIN_PASSWORD, 1000);
        out['counting.apply1000_nats_s'] = {
          value: await applyAndWait(s),
          unit: 's (a worker process taking the job from NATS: apply started to session applied)',
        };
      } finally {
        worker.kill('SIGTERM');
        await new Promise((r) => worker.once('exit', r));
        await server.stop();
        await nats.dispose();
      }
      return out;
    },
  },
];
