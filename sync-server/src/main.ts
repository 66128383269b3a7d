#!/usr/bin/env node
/**
 * The composition root: the only place that reads the environment, opens the database and
 * the bus, and listens. `npm start` at the repository root runs this.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { serveStatic } from '@hono/node-server/serve-static';
import { createApp, isApiPath } from './app.js';
import type { Env as AppEnv } from './app.js';
import type { MiddlewareHandler } from 'hono';
import { serveNode } from './http/node.js';
import { openBrowser } from './browser.js';
import { argon2Hasher } from './auth/passwords.js';
import { DEMO_USERS, WORKER_USERNAME, bootstrap, ensureWorkerUser } from './bootstrap.js';
import { SUBJECTS } from '@floorsync/domain';
import { inProcessBus } from './bus/in-process.js';
import { natsBus, natsHost } from './bus/nats.js';
import { OutboxRelay } from './relay.js';
import type { Exporter, ListDrop, Runner } from '@floorsync/workers';
import {
  SyncApi,
  applyCountSessionJob,
  bulkAdjustJob,
  folderPlugin,
  httpPlugin,
  inProcessQueue,
  natsQueue,
  printLabelsJob,
  printJobClaim,
  reportToServer,
  startExporter,
  startListDrop,
  startRunner,
} from '@floorsync/workers';
import { resumeJobs, unfinishedJobs } from './jobs/resume.js';
import { readConfig } from './config.js';
import { uuidv7 } from './ids.js';
import { jsonLogger } from './log.js';
import { Metrics } from './metrics.js';
import { openArangoStorage } from './storage/arango/arango-store.js';
import { arangoConnection } from './storage/arango/url.js';
import type { Storage } from './storage/port.js';
import type { DataDirLock } from './storage/sqlite/data-dir-lock.js';
import { DataDirInUse, LOCK_FILE, lockDataDir } from './storage/sqlite/data-dir-lock.js';
import type { ScheduledBackups } from './storage/sqlite/scheduled-backups.js';
import { startScheduledBackups } from './storage/sqlite/scheduled-backups.js';
import { openSqliteStorage } from './storage/sqlite/sqlite-storage.js';

async function main(): Promise<void> {
  const config = readConfig(process.env);
  const log = jsonLogger(config.logLevel);
  const onWarning = (message: string) => log.log('warn', 'storage degraded', { message });
  if (config.unusedArangoVariables.length > 0)
    log.log('warn', 'ArangoDB settings not used: STORAGE is not set, so this runs on SQLite', {
      variables: config.unusedArangoVariables,
      database: path.join(config.dataDir, 'floorsync.db'),
      hint: 'set STORAGE=arango to use ArangoDB, or STORAGE=sqlite to say SQLite is meant',
    });
  const metrics = new Metrics();
  // How late the event loop runs what is due: every request waits at least this long.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  for (const q of [50, 99])
    metrics.gauge(
      `floorsync_event_loop_delay_seconds{quantile="${q / 100}"}`,
      () => loopDelay.percentile(q) / 1e9,
    );
  metrics.gauge('floorsync_event_loop_delay_max_seconds', () => loopDelay.max / 1e9);
  let storage: Storage;
  let backups: ScheduledBackups | null = null;
  let dirLock: DataDirLock | null = null;
  if (config.storage === 'arango') {
    // readConfig refused STORAGE=arango without ARANGO_URL, and BACKUP_DIR with it.
    storage = await openArangoStorage(config.arango ?? '', { onWarning });
  } else {
    const file = path.join(config.dataDir, 'floorsync.db');
    dirLock = takeDataDir(config.dataDir, file, config.natsUrl === undefined ? 'alone' : 'shared');
    try {
      storage = openSqliteStorage({
        path: file,
        onWarning,
        onSync: (ms) => metrics.observeMs('floorsync_wal_sync_duration_seconds', ms),
      });
    } catch (e) {
      dirLock.release();
      // "unable to open database file" alone names neither the file nor the setting.
      throw new Error(`cannot open the database ${file} (DATA_DIR): ${(e as Error).message}`, {
        cause: e,
      });
    }
    if (config.backups) {
      backups = startScheduledBackups({
        source: path.join(config.dataDir, 'floorsync.db'),
        ...config.backups,
        log,
      });
      const b = backups;
      metrics.gauge('floorsync_backup_last_success_timestamp_seconds', () =>
        b.lastSuccessMs === null ? 0 : b.lastSuccessMs / 1000,
      );
      metrics.gauge('floorsync_backup_failing', () => (b.status().failingSince === null ? 0 : 1));
    }
  }
  const holder = `${os.hostname()}:${process.pid}:${uuidv7().slice(-8)}`;
  // NATS_URL: fan-out across instances and the event stream for consumers elsewhere, fed by
  // the outbox relay. Without it everything stays in this process and nothing needs a relay.
  const bus =
    config.natsUrl === undefined
      ? inProcessBus()
      : await natsBus({ url: config.natsUrl, name: `sync-server ${holder}`, log });
  const hasher = argon2Hasher();
  const clock = () => new Date();
  const newId = () => uuidv7();
  const relay =
    config.natsUrl === undefined
      ? null
      : new OutboxRelay({ storage, bus, log, now: () => clock().getTime(), holder });
  // Jobs: with NATS they go to the workers' JetStream queue (worker processes run them);
  // embedded, to a queue in this process and a runner here.
  const queue =
    config.natsUrl === undefined
      ? inProcessQueue()
      : await natsQueue({ url: config.natsUrl, name: `sync-server ${holder}` });
  const workerPassword =
    config.workerPassword ??
    (config.natsUrl === undefined ? randomBytes(24).toString('base64url') : undefined);

  const { created, generatedAdminPassword } = await bootstrap({
    storage,
    hasher,
    log,
    clock,
    newId,
    adminPassword: config.adminPassword,
    demo: config.demo,
    announce: (text) => process.stderr.write(text + '\n'),
  });
  // The demo's sign-ins, once, as soon as the database has them: before anything else can
  // fail (a port taken), so that the admin's password is never lost unseen.
  if (config.demo && created) {
    const users = [
      ...DEMO_USERS.map((u) => `${u.username} / ${u.password}`),
      `admin / ${generatedAdminPassword ?? '(ADMIN_PASSWORD)'}`,
    ];
    process.stderr.write(`\n  Floorsync demo. Sign in as: ${users.join(',  ')}\n`);
  }
  // The worker account: at start for worker processes elsewhere (they sign in with
  // WORKER_PASSWORD at once); embedded, when the runner first signs in, so that a fresh
  // database has one user, its admin, until a job or the ERP exchange needs another.
  let workerAccount: Promise<void> | null = null;
  const ensureWorker = (password: string): Promise<void> =>
    (workerAccount ??= ensureWorkerUser({ storage, hasher, clock, newId, password }).catch(
      (e: unknown) => {
        workerAccount = null; // tried again at the next sign-in
        throw e;
      },
    ));
  if (config.natsUrl !== undefined && workerPassword !== undefined)
    await ensureWorker(workerPassword);

  const here = path.dirname(fileURLToPath(import.meta.url));
  const clientDir = config.clientDir ?? path.resolve(here, '../../client/build');
  const handle = createApp({
    storage,
    bus,
    hasher,
    log,
    clock,
    newId,
    config: {
      sessionTtlMs: config.sessionTtlMs,
      pokeIntervalMs: config.pokeIntervalMs,
      trustProxy: config.trustProxy,
      ...(config.metricsToken ? { metricsToken: config.metricsToken } : {}),
    },
    metrics,
    ...(relay ? { relay } : {}),
    // Started below, once the server listens (it signs in over loopback).
    erpExport: () => exporter?.status() ?? null,
    backups: () => backups?.status() ?? null,
    jobs: queue,
    printers: config.printers,
    staticRoutes: (app) => {
      if (existsSync(path.join(clientDir, 'index.html'))) {
        const root = path.relative(process.cwd(), clientDir);
        const files = serveStatic<AppEnv>({ root });
        const app_ = serveStatic<AppEnv>({ root, path: 'index.html' });
        // The app's files, and its page for any other path (SPA fallback) — but not for the
        // API's paths: an unknown one there is a 404 problem, not the app's HTML with 200.
        const notForApi =
          (h: MiddlewareHandler<AppEnv>): MiddlewareHandler<AppEnv> =>
          (c, next) =>
            isApiPath(c.req.path) ? next() : h(c, next);
        app.use('/*', notForApi(files));
        app.get('/*', notForApi(app_));
      } else {
        app.get('/', (c) =>
          c.html(
            '<!doctype html><meta charset="utf-8"><title>Floorsync</title><h1>Floorsync sync server</h1>' +
              '<p>The API is running (<a href="/health">/health</a>). The web client is not built yet.</p>',
          ),
        );
      }
    },
  });

  if (relay) {
    // Every commit on any instance is a poke on the bus: the relay looks at once.
    bus.subscribe(SUBJECTS.poke, () => relay.wake());
    relay.start();
  }
  let runner: Runner | null = null;
  let exporter: Exporter | null = null;
  let listDrop: ListDrop | null = null;
  // Embedded: what the restart lost, read before any request can queue a new job.
  const lostAtRestart = config.natsUrl === undefined ? await unfinishedJobs(storage) : [];
  const server = serveNode(handle, { port: config.port, hostname: config.host }, (info) => {
    // This server as seen from this machine (a wildcard address is reached over loopback).
    const host = ['0.0.0.0', '::', ''].includes(config.host) ? '127.0.0.1' : config.host;
    const localUrl = `http://${host.includes(':') ? `[${host}]` : host}:${info.port}`;
    if (config.natsUrl === undefined && workerPassword !== undefined)
      // The embedded runner reaches this server over loopback, as a worker process would.
      void startEmbeddedRunner(localUrl, workerPassword);
    log.log('info', 'listening', {
      url: `http://${config.host}:${info.port}`,
      storage:
        config.storage === 'arango' && config.arango !== undefined
          ? arangoConnection(config.arango).display
          : path.join(config.dataDir, 'floorsync.db'),
      demo: config.demo,
      bus: config.natsUrl === undefined ? 'in-process' : `nats ${natsHost(config.natsUrl)}`,
    });
    if (config.demo && created)
      process.stderr.write(`\n  Floorsync demo at http://${config.host}:${info.port}\n\n`);
    if (config.browser)
      openBrowser(config.browser, localUrl, (e) =>
        log.log('info', 'could not open a browser', { url: localUrl, error: e.message }),
      );
  });

  async function startEmbeddedRunner(base: string, password: string) {
    try {
      const api = new SyncApi({
        base,
        username: WORKER_USERNAME,
        password,
        beforeSignIn: () => ensureWorker(password),
      });
      runner = await startRunner({
        queue,
        // A stop waits this long for running jobs, then interrupts them: each resumes from its
        // client's lastMutationID at the next start. Well inside the 10 s after which the stop
        // gives up (below) and Compose's 15 s grace, so the file is always closed cleanly.
        drainTimeoutMs: 5_000,
        handlers: [
          bulkAdjustJob(api),
          applyCountSessionJob(api),
          printLabelsJob({
            report: reportToServer(api, (job, error) =>
              log.log('error', 'print outcome not reported', { job, error: String(error) }),
            ),
            claim: printJobClaim(api),
          }),
        ],
        onEvent: (e) => {
          if (e.type === 'done')
            log.log('info', 'job done', { job: e.job.id, ms: Math.round(e.ms) });
          else if (e.type === 'retry')
            log.log('warn', 'job failed; retrying', {
              job: e.job.id,
              attempt: e.attempt,
              error: e.error,
            });
          else if (e.type === 'dead') log.log('error', 'job given up', { reason: e.reason });
        },
      });
      const erp = config.erpExport;
      if (erp) {
        const plugin =
          'url' in erp
            ? httpPlugin(erp.url, erp.authorization ? { authorization: erp.authorization } : {})
            : folderPlugin(erp.dir);
        exporter = await startExporter({
          api,
          plugin,
          cursorFile: path.join(config.dataDir, `erp-export-${plugin.name}.cursor`),
          onError: (e) =>
            log.log('warn', 'ERP export failed; retrying', {
              plugin: plugin.name,
              error: String(e),
            }),
        });
      }
      if (config.erpImport) {
        const dir = config.erpImport.dir;
        listDrop = startListDrop({
          api,
          dir,
          defaultType: config.erpImport.defaultType,
          onFile: (r) =>
            log.log(r.outcome === 'imported' ? 'info' : 'warn', `list file ${r.outcome}`, {
              file: r.file,
              lists: r.lists.length,
              errors: r.errors.slice(0, 5),
            }),
          onError: (e) => log.log('warn', 'list import failed; retrying', { error: String(e) }),
        });
      }
      // Jobs queued when this process stopped: the in-process queue forgot them.
      const resumed = await resumeJobs(storage, queue, lostAtRestart);
      if (resumed.queued + resumed.failed > 0) log.log('info', 'jobs resumed', resumed);
    } catch (error) {
      log.log('error', 'the job runner did not start', { error: String(error) });
    }
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.log('info', 'shutting down', { signal });
    // The last resort: something hangs (the job drain itself is bounded at 5 s).
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    // The embedded runner's jobs, the ERP export and the list import talk to this server over
    // loopback: they stop together (jobs finish or are interrupted, the export and the import
    // stop at their next step) before it stops listening, or their next request would fail,
    // count as an attempt and be logged as a failure.
    // Each part is stopped whatever another did (the database is closed last, always): a
    // failing one is logged, not an unhandled rejection that skips the rest.
    let clean = true;
    const part = (name: string, f: () => unknown) => async () => {
      try {
        await f();
      } catch (e) {
        clean = false;
        log.log('warn', `${name} did not stop cleanly`, { error: String(e) });
      }
    };
    void Promise.all([
      part('job runner', () => runner?.drain())(),
      part('erp export', () => exporter?.stop())(),
      part('list import', () => listDrop?.stop())(),
    ])
      .then(part('http server', () => void server.close())) // stops taking connections
      .then(part('job queue', () => queue.close()))
      .then(part('app', () => handle.close()))
      .then(part('outbox relay', () => relay?.stop()))
      .then(part('bus', () => bus.close()))
      .then(part('backups', () => backups?.stop()))
      .then(part('storage', () => storage.close()))
      .then(part('data directory lock', () => dirLock?.release()))
      .then(() => {
        log.log('info', 'stopped');
        process.exit(clean ? 0 : 1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // The port taken, a privileged port, a HOST that is not this machine's: one line that
  // names the settings, not an unhandled 'error' event's stack.
  server.once('error', (e: NodeJS.ErrnoException) => {
    process.stderr.write(
      `floorsync: cannot listen on HOST=${config.host} PORT=${config.port}: ${e.code ?? e.message}` +
        `${e.code === 'EADDRINUSE' ? ' (another process uses this port)' : ''}\n`,
    );
    process.exit(1);
  });
}

/**
 * The data directory, made when missing, and its lock taken before the database is touched:
 * without NATS a server has the directory to itself, with it servers share it, and a restore
 * waits for both (data-dir-lock.ts). Each failure says which file and which setting.
 */
function takeDataDir(dir: string, database: string, use: 'alone' | 'shared'): DataDirLock {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new Error(`cannot open the database ${database} (DATA_DIR): ${(e as Error).message}`, {
      cause: e,
    });
  }
  try {
    return lockDataDir(dir, use);
  } catch (e) {
    if (e instanceof DataDirInUse)
      throw new Error(
        use === 'alone'
          ? `${e.message}. Without NATS_URL a server must have its data directory to itself: stop the other one, give this one another DATA_DIR, or set NATS_URL on every server to share it (README, "Scale-out on one host")`
          : `${e.message}. Servers share a data directory only when every one of them has NATS_URL: stop that one, or set NATS_URL on it too`,
        { cause: e },
      );
    // The lock file itself cannot be opened (made by root, a read-only disk): named as such.
    throw new Error(
      `cannot open the lock file ${path.join(dir, LOCK_FILE)} (DATA_DIR): ${(e as Error).message}`,
      { cause: e },
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`floorsync: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
