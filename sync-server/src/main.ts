#!/usr/bin/env node
/**
 * The composition root: the only place that reads the environment, opens the database and
 * the bus, and listens. `npm start` at the repository root runs this.
 */
import { existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveStatic } from '@hono/node-server/serve-static';
import { createApp } from './app.js';
import { serveNode } from './http/node.js';
import { argon2Hasher } from './auth/passwords.js';
import { DEMO_USERS, DEMO_ADMIN_PASSWORD, bootstrap } from './bootstrap.js';
import { SUBJECTS } from '@floorsync/domain';
import { inProcessBus } from './bus/in-process.js';
import { natsBus, natsHost } from './bus/nats.js';
import { OutboxRelay } from './relay.js';
import { readConfig } from './config.js';
import { uuidv7 } from './ids.js';
import { jsonLogger } from './log.js';
import { openSqliteStorage } from './storage/sqlite/sqlite-storage.js';

async function main(): Promise<void> {
  const config = readConfig(process.env);
  const log = jsonLogger(config.logLevel);
  if (config.storage === 'arango') {
    throw new Error(
      'STORAGE=arango: the ArangoDB adapter arrives with the scale-out work (issue #5); use STORAGE=sqlite',
    );
  }
  mkdirSync(config.dataDir, { recursive: true });
  const file = path.join(config.dataDir, 'floorsync.db');
  const storage = openSqliteStorage({
    path: file,
    onWarning: (message) => log.log('warn', 'storage degraded', { message }),
  });
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

  const { created } = await bootstrap({
    storage,
    hasher,
    log,
    clock,
    newId,
    adminPassword: config.adminPassword,
    demo: config.demo,
    announce: (text) => process.stderr.write(text + '\n'),
  });

  const here = path.dirname(fileURLToPath(import.meta.url));
  const clientDir = config.clientDir ?? path.resolve(here, '../../client/build');
  const handle = createApp({
    storage,
    bus,
    hasher,
    log,
    clock,
    newId,
    config: { sessionTtlMs: config.sessionTtlMs, pokeIntervalMs: config.pokeIntervalMs },
    ...(relay ? { relay } : {}),
    staticRoutes: (app) => {
      if (existsSync(path.join(clientDir, 'index.html'))) {
        const root = path.relative(process.cwd(), clientDir);
        app.use('/*', serveStatic({ root }));
        app.get('/*', serveStatic({ root, path: 'index.html' })); // SPA fallback
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
  const server = serveNode(handle, { port: config.port, hostname: config.host }, (info) => {
    log.log('info', 'listening', {
      url: `http://${config.host}:${info.port}`,
      dataFile: file,
      demo: config.demo,
      bus: config.natsUrl === undefined ? 'in-process' : `nats ${natsHost(config.natsUrl)}`,
    });
    if (config.demo && created) {
      const users = [
        ...DEMO_USERS.map((u) => `${u.username} / ${u.password}`),
        `admin / ${config.adminPassword ? '(ADMIN_PASSWORD)' : DEMO_ADMIN_PASSWORD}`,
      ];
      process.stderr.write(
        `\n  Floorsync demo at http://${config.host}:${info.port}\n  Sign in as: ${users.join(',  ')}\n\n`,
      );
    }
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.log('info', 'shutting down', { signal });
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    server.close();
    void handle
      .close()
      .then(() => relay?.stop())
      .then(() => bus.close())
      .then(() => storage.close())
      .then(() => {
        log.log('info', 'stopped');
        process.exit(0);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`floorsync: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
