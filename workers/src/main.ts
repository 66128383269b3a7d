#!/usr/bin/env node
/**
 * A worker process (scale-out): takes jobs from the JetStream work queue and applies them
 * through the sync server's API. The composition root of `workers/`: the only place that
 * reads the environment. In the embedded mode the sync server runs the same runner in its
 * own process instead (no worker process needed).
 *
 *   NATS_URL=nats://127.0.0.1:4222 FLOORSYNC_URL=http://127.0.0.1:8787 \
 *   WORKER_PASSWORD=… node workers/dist/main.js
 */
import os from 'node:os';
import { z } from 'zod';
import { startExporter } from './erp/exporter.js';
import { folderPlugin } from './erp/folder.js';
import { httpPlugin } from './erp/http.js';
import { bulkAdjustJob } from './jobs/bulk-adjust.js';
import { applyCountSessionJob } from './jobs/apply-count-session.js';
import { natsQueue } from './queue/nats.js';
import type { RunnerEvent } from './runner.js';
import { startRunner } from './runner.js';
import { SyncApi } from './sync-api.js';
import { configurationError, credentialsInUrl, erpExportProblems, withoutEmpty } from './env.js';
import { startListDrop } from './erp/list-drop.js';
import { printLabelsJob } from './labels/job.js';
import { printJobClaim, reportToServer } from './labels/report.js';

// `VAR=` means unset (an .env file, `${VAR:-}` in Compose), as for the server.
const raw = withoutEmpty(process.env);
const env = z
  .object({
    NATS_URL: z.string().min(1, 'NATS_URL is required: the worker takes its jobs from NATS'),
    FLOORSYNC_URL: z.url({
      protocol: /^https?$/,
      error: 'FLOORSYNC_URL must be the sync server URL, e.g. http://127.0.0.1:8787',
    }),
    WORKER_USERNAME: z.string().min(1).default('worker'),
    WORKER_PASSWORD: z.string().min(1, 'WORKER_PASSWORD is required'),
    WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
    /** Plan rows per push (a bulk adjustment). */
    WORKER_BATCH: z.coerce.number().int().min(1).max(1000).default(100),
    /** ERP export (run it in one worker process only): to a folder, or to an HTTP endpoint. */
    ERP_EXPORT_DIR: z.string().optional(),
    ERP_EXPORT_URL: z.url().optional(),
    ERP_EXPORT_AUTHORIZATION: z.string().optional(),
    ERP_EXPORT_CURSOR: z.string().default('./erp-export.cursor'),
    /** ERP list import (one worker process only): a folder the ERP drops list CSV files in. */
    ERP_IMPORT_DIR: z.string().optional(),
    ERP_IMPORT_TYPE: z.enum(['receipt', 'shipment', 'transfer']).default('receipt'),
  })
  .safeParse(raw);

const log = (level: string, msg: string, fields: Record<string, unknown> = {}) =>
  process.stdout.write(
    JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }) + '\n',
  );

async function main(): Promise<void> {
  // Checked on the raw values too, so that every problem is said at once.
  const sync =
    raw['FLOORSYNC_URL'] &&
    credentialsInUrl(
      raw['FLOORSYNC_URL'],
      'the worker signs in with WORKER_USERNAME and WORKER_PASSWORD',
    );
  const error = configurationError(env.success ? [] : env.error.issues, [
    ...erpExportProblems(raw),
    ...(sync ? [{ path: 'FLOORSYNC_URL', message: sync }] : []),
  ]);
  if (error || !env.success) throw error ?? new Error('invalid configuration');
  const config = env.data;
  const name = `worker ${os.hostname()}:${process.pid}`;
  const queue = await natsQueue({ url: config.NATS_URL, name });
  const api = new SyncApi({
    base: config.FLOORSYNC_URL.replace(/\/$/, ''),
    username: config.WORKER_USERNAME,
    password: config.WORKER_PASSWORD,
  });
  const runner = await startRunner({
    queue,
    handlers: [
      bulkAdjustJob(api, { batch: config.WORKER_BATCH }),
      applyCountSessionJob(api, { batch: config.WORKER_BATCH }),
      printLabelsJob({
        report: reportToServer(api, (job, error) =>
          log('error', 'print outcome not reported to the server', { job, error: String(error) }),
        ),
        claim: printJobClaim(api),
      }),
    ],
    concurrency: config.WORKER_CONCURRENCY,
    onEvent: (e: RunnerEvent) => {
      if (e.type === 'done')
        log('info', 'job done', { job: e.job.id, kind: e.job.kind, ms: Math.round(e.ms) });
      else if (e.type === 'retry')
        log('warn', 'job failed; retrying', {
          job: e.job.id,
          attempt: e.attempt,
          error: e.error,
          delayMs: e.delayMs,
        });
      else if (e.type === 'dead') log('error', 'job given up', { job: e.jobId, reason: e.reason });
      else log('info', 'job handed back (draining)', { job: e.job.id });
    },
  });
  const plugin = config.ERP_EXPORT_URL
    ? httpPlugin(
        config.ERP_EXPORT_URL,
        config.ERP_EXPORT_AUTHORIZATION ? { authorization: config.ERP_EXPORT_AUTHORIZATION } : {},
      )
    : config.ERP_EXPORT_DIR
      ? folderPlugin(config.ERP_EXPORT_DIR)
      : null;
  const exporter = plugin
    ? await startExporter({
        api,
        plugin,
        cursorFile: config.ERP_EXPORT_CURSOR,
        onError: (e) =>
          log('warn', 'ERP export failed; retrying', { plugin: plugin.name, error: String(e) }),
      })
    : null;
  const drop = config.ERP_IMPORT_DIR
    ? startListDrop({
        api,
        dir: config.ERP_IMPORT_DIR,
        defaultType: config.ERP_IMPORT_TYPE,
        onFile: (r) =>
          log(r.outcome === 'imported' ? 'info' : 'warn', `list file ${r.outcome}`, {
            file: r.file,
            lists: r.lists.length,
            errors: r.errors.slice(0, 5),
          }),
        onError: (e) => log('warn', 'list import failed; retrying', { error: String(e) }),
      })
    : null;
  log('info', 'worker ready', {
    concurrency: config.WORKER_CONCURRENCY,
    sync: config.FLOORSYNC_URL,
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log('info', 'draining', { signal });
    // Before the orchestrator's own limit (Compose's stop_grace_period: 30 s), so that a stop
    // that hangs is said in the log and exits 1, not killed without a word.
    const force = setTimeout(() => {
      log('error', 'did not stop within 25 s; exiting');
      process.exit(1);
    }, 25_000);
    force.unref();
    // Each part is stopped whatever another did: a failing one is said, not the end of it.
    let clean = true;
    const part = (name: string, f: () => Promise<unknown> | undefined) => async () => {
      try {
        await f();
      } catch (e) {
        clean = false;
        log('warn', `${name} did not stop cleanly`, { error: String(e) });
      }
    };
    // All at once: the export and the list import stop at their next step while running jobs
    // finish (up to 20 s), rather than go on exporting the jobs' movements until they have;
    // the queue's connection last, once no job needs it.
    void Promise.all([
      part('runner', () => runner.drain())(),
      part('erp export', () => exporter?.stop())(),
      part('list import', () => drop?.stop())(),
    ])
      .then(part('queue', () => queue.close()))
      .then(() => {
        log('info', 'stopped');
        process.exit(clean ? 0 : 1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(
    `floorsync worker: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
