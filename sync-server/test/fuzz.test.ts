import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import ExcelJS from 'exceljs';
import fc from 'fast-check';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '@floorsync/domain';
import {
  COMMANDS,
  COMMAND_ROLES,
  COUNT_SESSION_STATUSES,
  LIST_STATUSES,
  LIST_TYPES,
  MAX_DEPTH_LIMIT,
  MAX_MUTATIONS_PER_PUSH,
  MAX_PUSH_BYTES,
  ADJUSTMENT_REASONS,
  asItemId,
  asLot,
  asPositionId,
  asSerial,
  clientStateNotFoundSchema,
  createUserRequestSchema,
  loginRequestSchema,
  nodeKey,
  nodeOfKey,
  problemSchema,
  pullRequestSchema,
  pullResponseSchema,
  pushRequestSchema,
  pushResponseSchema,
  roleAllows,
  updateUserRequestSchema,
  versionNotSupportedSchema,
} from '@floorsync/domain';
import { labelSizeSchema } from '@floorsync/workers';
import type { AppHandle } from '../src/app.js';
import { createApp, wellFormed as wellFormedJson } from '../src/app.js';
import { LoginThrottle, throttleKeys } from '../src/auth/throttle.js';
import { hashToken, newToken } from '../src/auth/tokens.js';
import { bootstrap } from '../src/bootstrap.js';
import { inProcessBus } from '../src/bus/in-process.js';
import { pdfRequest, printRequest, resultRequest } from '../src/labels/routes.js';
import { serveNode } from '../src/http/node.js';
import { silentLogger } from '../src/log.js';
import type { ReadTx, Storage } from '../src/storage/port.js';
import { openSqliteStorage } from '../src/storage/sqlite/sqlite-storage.js';
import { ADMIN_PASSWORD, TestClock, fastHasher, masterData } from './harness.js';

/**
 * Fuzzing of every HTTP endpoint (issue 7): generated malformed input — bad JSON, wrong types,
 * huge and deeply nested values, unknown fields, bad query and path parameters, wrong content
 * types and lengths, random bytes as CSV/XLSX, malformed push/pull envelopes and arguments for
 * every command, missing, garbage and valid tokens of every role — against the real app on a
 * temp SQLite file, in-process (`app.request`) and, for push and pull, over a socket (the
 * lean Node path). For every answer:
 *
 * - never a 5xx; the status the input calls for (predicted per endpoint from the input and
 *   the state, not just "some 4xx"); errors are `application/problem+json` documents;
 * - refused input writes nothing: SQLite's `data_version`, read on a second connection before
 *   and after every request, proves no commit happened; and every batch in which no request
 *   wrote is checked byte for byte (WAL checkpointed, file hashed) and row for row;
 * - what legitimately writes (a push whose mutations are applied or rejected — rejections are
 *   recorded by design —, a login, an upload's job) writes exactly that: a push's head moves
 *   by the seqs its results name;
 * - the server answers `/health` after every batch.
 *
 * `FUZZ_RUNS` sets the number of cases of the whole file (default 12,000), `FUZZ_SEED` replays
 * a run (printed at the start and in every failure).
 */

// ─── Budget ──────────────────────────────────────────────────────────────────────────────────

const TOTAL = Number(process.env['FUZZ_RUNS'] ?? 12_000);
const BASE_SEED =
  process.env['FUZZ_SEED'] !== undefined
    ? Number(process.env['FUZZ_SEED'])
    : (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) | 0;
const runsOf = (weight: number) => Math.max(1, Math.round(TOTAL * weight));
/** A batch: the unit of the health check and of the byte-for-byte comparison. */
const batchOf = (runs: number) => Math.max(100, Math.min(5000, Math.ceil(runs / 10)));
const WEIGHTS = {
  auth: 0.1,
  routes: 0.3,
  envelopes: 0.12,
  mutations: 0.15,
  pull: 0.07,
  login: 0.07,
  uploads: 0.06,
  lean: 0.08,
  stream: 0.05,
} as const;
/**
 * Time a case may take on average (`FUZZ_MS_PER_CASE`): a guard against a hang, not a speed
 * check — ~20 times the need on a quiet machine. CI runs the e2e browsers and the simulator
 * beside this on two cores: there the mutations took 54 ms a case once (10 was too tight).
 */
const MS_PER_CASE = Number(process.env['FUZZ_MS_PER_CASE'] ?? 60);
/**
 * A test stops itself this long before its timeout: vitest cannot stop a test that timed out,
 * and one still sending requests would be seen writing by the next test.
 */
const STOP_MARGIN_MS = 15_000;
/** A test's own time: generous, scaled with its share of the budget. */
const budgetOf = (weight: number) => 60_000 + runsOf(weight) * MS_PER_CASE;
/** vitest's timeout: the budget and the margin to stop in. */
const timeoutOf = (weight: number) => budgetOf(weight) + STOP_MARGIN_MS;

const seedOf = (name: string, batch: number) => {
  let h = BASE_SEED;
  for (const ch of name) h = (Math.imul(h, 31) + ch.charCodeAt(0)) | 0;
  return (h + Math.imul(batch, 7919)) | 0;
};

const stats: Record<string, { cases: number; batches: number; clean: number; ms: number }> = {};
/** With `FUZZ_PROFILE=1`: answers per route and status, mutation results per command. */
const PROFILE = process.env['FUZZ_PROFILE'] !== undefined;
const seen = new Map<string, number>();
/** The commands whose mutations the server decided (applied or rejected). */
const decided = new Set<string>();
const note = (key: string) => {
  if (PROFILE) seen.set(key, (seen.get(key) ?? 0) + 1);
};

// ─── The server under test ───────────────────────────────────────────────────────────────────

const PRINTERS = [
  { id: 'dock', host: '127.0.0.1', port: 9, size: '4x6' as const },
  { id: 'shelf', host: '127.0.0.1', port: 9, size: '100x50' as const },
];

let dir: string;
let file: string;
let storage: Storage;
let clock: TestClock;
let handle: AppHandle;
/** A second instance on the same store for sign-ins: its clock moves, so throttles expire. */
let loginHandle: AppHandle;
let loginClock: TestClock;
/** What the sign-in throttle should say: the same rules, fed what the server was told. */
let throttleModel: LoginThrottle;
let server: Server | undefined;
let base: string;
let db: DbWatch;

function build(c: TestClock, throttle?: LoginThrottle): AppHandle {
  return createApp({
    storage,
    bus: inProcessBus(),
    hasher: fastHasher,
    log: silentLogger,
    clock: c.now,
    newId: () => randomUUID(),
    ...(throttle ? { throttle } : {}),
    // Accepted and dropped: jobs are started, never run (a worker would write meanwhile).
    jobs: { enqueue: () => Promise.resolve() },
    printers: PRINTERS,
    // Device activity is written on a timer: never during the run, so every write the
    // fuzzing sees is one a request made.
    config: { heartbeatMs: 600_000, activityFlushMs: 24 * 3600_000 },
  });
}

// ─── The database, watched ───────────────────────────────────────────────────────────────────

interface Digest {
  readonly file: string;
  readonly tables: Readonly<Record<string, string>>;
}

/** A second and third connection to the server's file: one reads, one checkpoints. */
class DbWatch {
  private readonly ro: Database.Database;
  private readonly rw: Database.Database;
  private readonly headQuery: Database.Statement<[], number>;
  private readonly clientQuery: Database.Statement<[string], { g: string; m: number }>;
  constructor(private readonly path: string) {
    this.ro = new Database(path, { readonly: true, fileMustExist: true });
    this.rw = new Database(path, { fileMustExist: true });
    this.rw.pragma('busy_timeout = 10000');
    this.headQuery = this.ro
      .prepare<[], number>('SELECT COALESCE(MAX(seq), 0) FROM events')
      .pluck();
    this.clientQuery = this.ro.prepare<[string], { g: string; m: number }>(
      'SELECT client_group_id AS g, last_mutation_id AS m FROM clients WHERE client_id = ?',
    );
  }
  /** Changes when any other connection commits (SQLite `data_version`). */
  version(): number {
    return this.ro.pragma('data_version', { simple: true }) as number;
  }
  head(): number {
    return this.headQuery.get() as number;
  }
  /** A device as stored: seen at all, and the hash of its secret. */
  device(group: string): { secretHash: string | null } | undefined {
    const r = this.ro
      .prepare<[string], { h: string | null }>(
        'SELECT secret_hash AS h FROM devices WHERE client_group_id = ?',
      )
      .get(group);
    return r && { secretHash: r.h };
  }
  client(clientID: string): { group: string; lmid: number } | undefined {
    const r = this.clientQuery.get(clientID);
    return r && { group: r.g, lmid: r.m };
  }
  count(table: string): number {
    return this.ro.prepare(`SELECT COUNT(*) FROM "${table}"`).pluck().get() as number;
  }
  /** The file after a full checkpoint, hashed; and every table's rows, sorted and hashed. */
  async digest(): Promise<Digest> {
    // The server's checkpoint worker may be checkpointing too: then try again.
    for (let attempt = 0; ; attempt++) {
      const r = this.rw.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
      if (r[0]?.busy === 0) break;
      expect(attempt, 'the checkpoint could not complete').toBeLessThan(100);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const names = this.ro
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .pluck()
      .all() as string[];
    const tables: Record<string, string> = {};
    for (const name of names) {
      // In the table's own (key) order: the same rows read back in the same order.
      const hash = createHash('sha256');
      let rows = 0;
      for (const row of this.ro.prepare(`SELECT * FROM "${name}"`).raw().iterate()) {
        hash.update(JSON.stringify(row)).update('\n');
        rows++;
      }
      tables[name] = `${rows} rows ${hash.digest('hex')}`;
    }
    return { file: sha256(readFileSync(this.path)), tables };
  }
  close() {
    this.ro.close();
    this.rw.close();
  }
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
/** Lone surrogates as U+FFFD (what a URL or UTF-8 can carry of them). */
const wellFormed = (s: string) =>
  s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');

// ─── Fixtures: the state fuzzed requests meet ────────────────────────────────────────────────

const ROLES = ['operator', 'supervisor', 'admin'] as const;

interface Known {
  tokens: Record<Role, string>;
  groups: Record<Role, string>;
  userIds: Record<string, string>;
  /** Sign-in credentials as they stand (usernames in ASCII lower case). */
  credentials: Map<string, { password: string; active: boolean; role: Role }>;
  /** Users whose id fuzzed PATCHes may target, by id → username. */
  victims: Map<string, string>;
  revokedGroups: Set<string>;
  conflicts: string[];
  lists: string[];
  sessions: string[];
  bulkJobs: string[];
  printJobs: string[];
  /** Tokens that must be refused with 401. */
  badTokens: { revoked: string; expired: string; deactivated: string };
  /** An operator session bound to a revoked device: refused on every route but signing out. */
  revokedDeviceToken: string;
  /** A valid XLSX workbook (a bulk-adjustment file), to mutate. */
  xlsx: Buffer;
}
let known: Known;

const foldAscii = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

/** A session written straight into the store (as a sign-in would, without the throttle). */
async function mint(
  userId: string,
  o: { group?: string | null; revoked?: boolean; expired?: boolean } = {},
): Promise<string> {
  const token = newToken();
  const now = clock.ms;
  await storage.write((tx) =>
    tx.createSession({
      tokenHash: hashToken(token),
      userId,
      clientGroupID: o.group ?? null,
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + (o.expired ? -1000 : 12 * 3600_000)).toISOString(),
      revoked: o.revoked ?? false,
    }),
  );
  return token;
}

/** An SSE ticket written straight into the store, as `/api/auth/ticket` would for `token`. */
async function mintTicket(token: string): Promise<string> {
  const ticket = newToken();
  await storage.write((tx) => {
    const session = tx.session(hashToken(token));
    if (!session) throw new Error('mintTicket: no such session');
    tx.createTicket({
      ticketHash: hashToken(ticket),
      userId: session.userId,
      clientGroupID: session.clientGroupID,
      expiresAt: new Date(clock.ms + 60_000).toISOString(),
      sessionHash: session.tokenHash,
    });
  });
  return ticket;
}

async function setup(): Promise<void> {
  dir = mkdtempSync(path.join(tmpdir(), 'floorsync-fuzz-'));
  file = path.join(dir, 'floorsync.db');
  storage = openSqliteStorage({ path: file });
  clock = new TestClock();
  loginClock = new TestClock();
  await bootstrap({
    storage,
    hasher: fastHasher,
    log: silentLogger,
    clock: clock.now,
    newId: () => randomUUID(),
    adminPassword: ADMIN_PASSWORD,
    demo: false,
    announce: () => {},
  });
  handle = build(clock);
  throttleModel = new LoginThrottle();
  loginHandle = build(loginClock, new LoginThrottle());

  const call = async (
    p: string,
    init: { method?: string; token?: string; json?: unknown; body?: Uint8Array } = {},
  ) => {
    const headers = new Headers();
    if (init.token) headers.set('authorization', `Bearer ${init.token}`);
    const res = await handle.app.request(p, {
      method: init.method ?? 'GET',
      headers,
      ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}),
      ...(init.body ? { body: init.body as Uint8Array<ArrayBuffer> } : {}),
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`fixture ${p}: ${res.status} ${text}`);
    return text ? (JSON.parse(text) as unknown) : null;
  };
  const login = async (username: string, password: string, clientGroupID?: string) =>
    (await call('/api/auth/login', {
      method: 'POST',
      json: { username, password, ...(clientGroupID ? { clientGroupID } : {}) },
    })) as { token: string; user: { id: string } };

  const credentials = new Map<string, { password: string; active: boolean; role: Role }>([
    ['admin', { password: ADMIN_PASSWORD, active: true, role: 'admin' }],
  ]);
  const groups: Record<Role, string> = {
    admin: 'g-fuzz-admin',
    supervisor: 'g-fuzz-sup',
    operator: 'g-fuzz-op',
  };
  const adminLogin = await login('admin', ADMIN_PASSWORD, groups.admin);
  // A device with a secret: sign-ins naming it need the secret, unbound sessions cannot take it.
  await call('/api/auth/login', {
    method: 'POST',
    json: {
      username: 'admin',
      password: ADMIN_PASSWORD,
      clientGroupID: 'g-fuzz-secured',
      deviceSecret: FUZZ_DEVICE_SECRET,
    },
  });
  const userIds: Record<string, string> = { admin: adminLogin.user.id };
  const victims = new Map<string, string>();
  for (const [username, role] of [
    ['sup', 'supervisor'],
    ['op1', 'operator'],
    ['v1', 'operator'],
    ['v2', 'supervisor'],
    ['gone', 'operator'],
  ] as const) {
    const password = `${username}-password`;
    const u = (await call('/api/users', {
      method: 'POST',
      token: adminLogin.token,
      json: { username, password, name: username, role },
    })) as { id: string };
    userIds[username] = u.id;
    credentials.set(username, { password, active: true, role });
    if (username === 'v1' || username === 'v2') victims.set(u.id, username);
  }
  const sup = await login('sup', 'sup-password', groups.supervisor);
  const op = await login('op1', 'op1-password', groups.operator);
  const tokens: Record<Role, string> = {
    admin: adminLogin.token,
    supervisor: sup.token,
    operator: op.token,
  };

  // Each role's device pushes as its client `fixture-<role>`, numbering its mutations.
  const next: Record<Role, number> = { admin: 0, supervisor: 0, operator: 0 };
  const push = async (role: Role, mutations: { name: string; args: unknown }[]) =>
    (await call('/sync/push', {
      method: 'POST',
      token: tokens[role],
      json: {
        pushVersion: 1,
        clientGroupID: groups[role],
        profileID: 'p',
        schemaVersion: '1',
        mutations: mutations.map((m) => ({
          clientID: `fixture-${role}`,
          id: ++next[role],
          timestamp: clock.ms,
          ...m,
        })),
      },
    })) as { results: { status: string; conflicts?: string[]; error?: { code: string } }[] };
  const applied = async (role: Role, mutations: { name: string; args: unknown }[]) => {
    const r = await push(role, mutations);
    for (const x of r.results)
      if (x.status !== 'applied') throw new Error(`fixture push: ${JSON.stringify(x)}`);
  };
  const supMutations = [
    ...masterData,
    { name: 'receiveStock', args: { itemId: 'A', positionId: 'P', quantity: 10 } },
    {
      name: 'receiveStock',
      args: { itemId: 'L', positionId: 'Q', quantity: 5, lot: 'LOT-1', expiresOn: '2027-01-31' },
    },
    { name: 'receiveStock', args: { itemId: 'S', positionId: 'R', quantity: 1, serial: 'SN-1' } },
    { name: 'moveContainer', args: { containerId: 'C', to: 'Q' } },
  ];
  const lists = [randomUUID(), randomUUID()];
  const sessions = [randomUUID(), randomUUID()];
  await applied('supervisor', [
    ...supMutations,
    {
      name: 'createList',
      args: {
        listId: lists[0],
        type: 'receipt',
        code: 'R-1',
        partner: 'ACME',
        lines: [{ lineNo: 1, itemId: 'A', quantity: 5 }],
      },
    },
    { name: 'assignList', args: { listId: lists[0], userId: userIds['op1'] } },
    {
      name: 'createList',
      args: {
        listId: lists[1],
        type: 'shipment',
        code: 'S-1',
        lines: [{ lineNo: 1, itemId: 'L', quantity: 1, lot: 'LOT-1' }],
      },
    },
    {
      name: 'planCountSession',
      args: { sessionId: sessions[0], code: 'C-1', positionIds: ['P'], mode: 'blind' },
    },
    { name: 'assignCountSession', args: { sessionId: sessions[0], userIds: [userIds['op1']] } },
    { name: 'startCountSession', args: { sessionId: sessions[0] } },
    {
      name: 'planCountSession',
      args: { sessionId: sessions[1], code: 'C-2', positionIds: ['Q', 'R'], mode: 'open' },
    },
  ]);
  // Two conflicts: an operator's (a supervisor's command) and a supervisor's.
  await push('operator', [
    { name: 'defineItem', args: { itemId: 'X', sku: 'X', name: 'X', tracking: 'none' } },
  ]);
  await push('supervisor', [
    { name: 'moveStock', args: { itemId: 'A', from: 'P', to: 'P', quantity: 1 } },
  ]);
  const conflicts = (await storage.read((tx) => tx.conflicts({}))).map((c) => c.id);
  if (conflicts.length !== 2) throw new Error(`fixture conflicts: ${conflicts.length}`);

  // Jobs: a bulk adjustment checked, one started; a print job waiting.
  const csv = (rows: string) => new TextEncoder().encode(`item,position,delta,reason\n${rows}`);
  const validated = (await call('/api/jobs/bulk-adjust?fileName=a.csv', {
    method: 'POST',
    token: tokens.supervisor,
    body: csv('A,P,1,found\nZZ,P,1,found\n'),
  })) as { id: string };
  const started = (await call('/api/jobs/bulk-adjust?fileName=b.csv', {
    method: 'POST',
    token: tokens.supervisor,
    body: csv('A,Q,2,found\n'),
  })) as { id: string };
  await call(`/api/jobs/${started.id}/start`, {
    method: 'POST',
    token: tokens.supervisor,
    json: {},
  });
  const printed = (await call('/api/labels/print', {
    method: 'POST',
    token: tokens.supervisor,
    json: { printerId: 'dock', labels: [{ kind: 'position', code: 'P' }] },
  })) as { id: string };

  // Refused tokens, and a device revoked with a session still bound to it (a device the server
  // has seen: revoking an unknown one is a 404).
  await storage.write((tx) =>
    tx.touchDevice(
      'g-fuzz-revoked',
      userIds['op1'] as string,
      new Date(clock.ms).toISOString(),
      'login',
    ),
  );
  await call('/api/devices/g-fuzz-revoked/revoke', { method: 'POST', token: tokens.admin });
  await call(`/api/users/${userIds['gone']}`, {
    method: 'PATCH',
    token: tokens.admin,
    json: { active: false },
  });
  credentials.set('gone', { password: 'gone-password', active: false, role: 'operator' });
  const badTokens = {
    revoked: await mint(userIds['op1'] as string, { revoked: true }),
    expired: await mint(userIds['op1'] as string, { expired: true }),
    deactivated: await mint(userIds['gone'] as string),
  };
  const revokedDeviceToken = await mint(userIds['op1'] as string, { group: 'g-fuzz-revoked' });

  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('adjust');
  ws.addRow(['item', 'position', 'delta', 'reason']);
  ws.addRow(['A', 'P', 1, 'found']);
  ws.addRow(['L', 'Q', -1, 'damaged', 'LOT-1']);
  const xlsx = Buffer.from(await wb.xlsx.writeBuffer());

  known = {
    tokens,
    groups,
    userIds,
    credentials,
    victims,
    revokedGroups: new Set(['g-fuzz-revoked']),
    conflicts,
    lists,
    sessions,
    bulkJobs: [validated.id, started.id],
    printJobs: [printed.id],
    badTokens,
    revokedDeviceToken,
    xlsx,
  };
  db = new DbWatch(file);
  server = serveNode(handle, { port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server?.once('listening', () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

// ─── Generated values ────────────────────────────────────────────────────────────────────────

/** JSON text put verbatim into a body (numbers JSON cannot round-trip, escapes, depth). */
class Raw {
  constructor(
    readonly label: string,
    readonly make: () => string,
  ) {}
  [fc.toStringMethod]() {
    return `Raw(${this.label})`;
  }
}
const raw = (text: string) => new Raw(text, () => text);
const nestedArrays = (depth: number) =>
  new Raw(`[×${depth}`, () => '['.repeat(depth) + ']'.repeat(depth));
const nestedObjects = (depth: number) =>
  new Raw(`{×${depth}`, () => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth));
const bigString = (length: number) => new Raw(`"x"×${length}`, () => `"${'x'.repeat(length)}"`);

/** A body as JSON text; `Raw` leaves verbatim, `undefined` members left out. */
function toJson(v: unknown): string {
  if (v instanceof Raw) return v.make();
  if (Array.isArray(v))
    return `[${v.map((x) => (x === undefined ? 'null' : toJson(x))).join(',')}]`;
  if (v !== null && typeof v === 'object')
    return `{${Object.entries(v)
      .filter(([, x]) => x !== undefined)
      .map(([k, x]) => `${JSON.stringify(k)}:${toJson(x)}`)
      .join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

const SPECIAL_STRINGS = [
  '',
  ' ',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'null',
  'undefined',
  'NaN',
  'Infinity',
  '-1',
  '0',
  '1.5',
  '1e309',
  '0x10',
  '%',
  '%00',
  '%zz',
  '\u0000',
  '\u001d',
  '\ud800',
  '\udfff',
  '\ufeff',
  '😀',
  'é',
  'A',
  'P',
  'L',
  'S',
  'C',
  'site',
  'LOT-1',
  'SN-1',
  "'; DROP TABLE events; --",
  '../../etc/passwd',
  '\\',
  '"',
  '<script>',
  'x'.repeat(65),
  'x'.repeat(129),
  'x'.repeat(257),
];
const anyStr: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...SPECIAL_STRINGS) },
  { weight: 3, arbitrary: fc.string({ maxLength: 24 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 16 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 8 }) },
);
/** Printable ASCII: what a header value can carry. */
const asciiStr = (maxLength = 40) =>
  fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    maxLength,
  });
/** The secret of the fixture's device `g-fuzz-secured`. */
const FUZZ_DEVICE_SECRET = 'fuzz-device-secret-0123456789';
/** `a` one time in `n`, else null (`fc.option`'s `freq` is the other way round: nil 1 in n). */
const rarely = <T>(a: fc.Arbitrary<T>, n: number): fc.Arbitrary<T | null> =>
  fc.oneof({ weight: n - 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: a });
const RAW_TOKENS = [
  '1e400',
  '-1e400',
  '-0',
  '1E-400',
  '123456789012345678901234567890',
  '9007199254740993',
  '"\\ud800"',
  '"\\u0000"',
  '"\\udfff\\ud800"',
  '"\\u001d"',
];
const wild: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 80, arbitrary: anyStr },
  { weight: 40, arbitrary: fc.integer() },
  { weight: 40, arbitrary: fc.double() },
  {
    weight: 40,
    arbitrary: fc.constantFrom(
      0,
      -0,
      1,
      -1,
      0.5,
      2 ** 31,
      2 ** 53,
      2 ** 53 + 2,
      1e21,
      1e308,
      -1e308,
      5e-324,
    ),
  },
  { weight: 20, arbitrary: fc.boolean() },
  { weight: 20, arbitrary: fc.constant(null) },
  { weight: 20, arbitrary: fc.constantFrom([], {}) },
  { weight: 20, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 20, arbitrary: fc.array(anyStr, { maxLength: 3 }) },
  { weight: 20, arbitrary: fc.dictionary(anyStr, anyStr, { maxKeys: 3 }) },
  { weight: 20, arbitrary: fc.constantFrom(...RAW_TOKENS).map(raw) },
  {
    // Heavy (deep, large): rare, as they cost the most time.
    weight: 1,
    arbitrary: fc.constantFrom(
      nestedArrays(2_000),
      nestedArrays(20_000),
      nestedObjects(5_000),
      nestedObjects(12_000),
      bigString(70_000),
    ),
  },
);
/** Mostly `good`, sometimes anything. */
const mostly = <T>(
  good: fc.Arbitrary<T>,
  bad: fc.Arbitrary<unknown> = wild,
): fc.Arbitrary<unknown> =>
  fc.oneof({ weight: 14, arbitrary: good }, { weight: 1, arbitrary: bad });

/** How a JSON body is spoiled, if it is. */
type Mangle =
  | 'none'
  | 'bom'
  | 'garbage-after'
  | 'single-quotes'
  | 'nul'
  | 'whitespace'
  | 'trailing-comma'
  | { readonly cut: number };
const mangleArb: fc.Arbitrary<Mangle> = fc.oneof(
  { weight: 30, arbitrary: fc.constant('none' as const) },
  {
    weight: 5,
    arbitrary: fc.constantFrom(
      'bom' as const,
      'garbage-after' as const,
      'single-quotes' as const,
      'nul' as const,
      'whitespace' as const,
      'trailing-comma' as const,
    ),
  },
  { weight: 2, arbitrary: fc.record({ cut: fc.nat() }) },
);
function mangled(text: string, m: Mangle): string {
  if (m === 'none') return text;
  if (m === 'bom') return '\ufeff' + text;
  if (m === 'garbage-after') return text + ' x';
  if (m === 'single-quotes') return text.replaceAll('"', "'");
  if (m === 'nul') return text + '\u0000';
  if (m === 'whitespace') return ` \n\t${text}\r\n `;
  if (m === 'trailing-comma') return text.replace(/[}\]]$/, (c) => `,${c}`);
  return text.slice(0, text.length === 0 ? 0 : m.cut % text.length);
}

/** A request body as generated: JSON of a value (maybe spoiled), text, bytes, or nothing. */
type BodySpec =
  | { readonly kind: 'json'; readonly value: unknown; readonly mangle: Mangle }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array }
  | { readonly kind: 'none' };
const MALFORMED_TEXTS = [
  '',
  ' ',
  'null',
  'true',
  '0',
  '-0',
  '[]',
  '{}',
  '"x"',
  '{',
  '[',
  'NaN',
  'undefined',
  '{"a":1,}',
  "{'a':1}",
  '// c\n{}',
  '\u0000',
  '{"__proto__":{"polluted":1}}',
  '{"constructor":{"prototype":{"polluted":1}}}',
  '1e400',
];
const bodyArb = (json: fc.Arbitrary<unknown>): fc.Arbitrary<BodySpec> =>
  fc.oneof(
    {
      weight: 16,
      arbitrary: fc.record({ kind: fc.constant('json' as const), value: json, mangle: mangleArb }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('json' as const), value: wild, mangle: mangleArb }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('text' as const),
        text: fc.oneof(fc.constantFrom(...MALFORMED_TEXTS), anyStr),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('bytes' as const),
        bytes: fc.uint8Array({ maxLength: 64 }),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
  );
const encoder = new TextEncoder();
function bodyBytes(b: BodySpec): Uint8Array | undefined {
  if (b.kind === 'none') return undefined;
  if (b.kind === 'bytes') return b.bytes;
  return encoder.encode(b.kind === 'text' ? b.text : mangled(toJson(b.value), b.mangle));
}

/** What a body is to the server: its text as decoded, and that text parsed. */
interface BodyView {
  readonly bytes: Uint8Array;
  readonly text: string;
  readonly json: { readonly ok: true; readonly value: unknown } | { readonly ok: false };
  /** `Content-Length` as sent, when one was (it may lie). */
  readonly declared: number;
}
/**
 * `stripBom`: a web `Request` (`app.request`, Hono's `c.req.text()`) drops a leading BOM;
 * the Node path (`Buffer.toString`) keeps it, and JSON.parse refuses it.
 */
function viewOf(
  bytes: Uint8Array | undefined,
  declared: string | undefined,
  stripBom: boolean,
): BodyView {
  const b = bytes ?? new Uint8Array();
  const text = stripBom ? new TextDecoder().decode(b) : Buffer.from(b).toString('utf8');
  let json: BodyView['json'];
  try {
    // The server makes strings well-formed (a lone surrogate escape becomes U+FFFD).
    const value = JSON.parse(text) as unknown;
    json = { ok: true, value: /\\u[dD][89a-fA-F]/.test(text) ? wellFormedJson(value) : value };
  } catch {
    json = { ok: false };
  }
  return { bytes: b, text, json, declared: declared === undefined ? Number.NaN : Number(declared) };
}

// ─── Tokens ──────────────────────────────────────────────────────────────────────────────────

type TokenKind =
  | Role
  | 'none'
  | 'garbage'
  | 'header-garbage'
  | 'revoked'
  | 'expired'
  | 'deactivated'
  | 'revoked-device';
interface TokenSpec {
  readonly kind: TokenKind;
  /** 0–4: ways of writing `Bearer` that are valid; 5–7: ways that are not. */
  readonly format: number;
  readonly junk: string;
}
const SCHEMES = [
  'Bearer ',
  'bearer ',
  'BEARER ',
  'Bearer\t',
  'Bearer    ',
  'Basic ',
  'Bearer',
  'Token ',
];
const validTokenArb = (roles: readonly Role[] = ROLES): fc.Arbitrary<TokenSpec> =>
  fc.record({
    kind: fc.constantFrom(...roles),
    format: fc.oneof(
      { weight: 9, arbitrary: fc.constant(0) },
      { weight: 2, arbitrary: fc.integer({ min: 1, max: 4 }) },
    ),
    junk: fc.constant(''),
  });
const invalidTokenArb: fc.Arbitrary<TokenSpec> = fc.oneof(
  fc.record({
    kind: fc.constantFrom<TokenKind>(
      'none',
      'garbage',
      'header-garbage',
      'revoked',
      'expired',
      'deactivated',
    ),
    format: fc.integer({ min: 0, max: 7 }),
    junk: asciiStr(60),
  }),
  // A valid token written the wrong way.
  fc.record({
    kind: fc.constantFrom(...ROLES),
    format: fc.integer({ min: 5, max: 7 }),
    junk: fc.constant(''),
  }),
);

interface Authn {
  /** The header, or none. */
  readonly header: string | undefined;
  /** Who the server must take it for, or null (401). */
  readonly role: Role | null;
  readonly userId: string;
  /** The client group the session is bound to (null: not bound). */
  readonly group: string | null;
}
function authOf(t: TokenSpec): Authn {
  const scheme = SCHEMES[t.format] ?? 'Bearer ';
  const validScheme = t.format <= 4;
  const as = (token: string, role: Role | null, userId: string, group: string | null): Authn => ({
    header: scheme + token,
    role: validScheme ? role : null,
    userId,
    group,
  });
  switch (t.kind) {
    case 'none':
      return { header: undefined, role: null, userId: '', group: null };
    case 'garbage':
      return { header: scheme + t.junk, role: null, userId: '', group: null };
    case 'header-garbage':
      return { header: t.junk, role: null, userId: '', group: null };
    case 'revoked':
    case 'expired':
    case 'deactivated':
      return as(known.badTokens[t.kind], null, '', null);
    case 'revoked-device':
      return as(
        known.revokedDeviceToken,
        'operator',
        known.userIds['op1'] as string,
        'g-fuzz-revoked',
      );
    default:
      return as(
        known.tokens[t.kind],
        t.kind,
        known.userIds[
          t.kind === 'admin' ? 'admin' : t.kind === 'supervisor' ? 'sup' : 'op1'
        ] as string,
        known.groups[t.kind],
      );
  }
}

// ─── Requests and answers ────────────────────────────────────────────────────────────────────

interface Wire {
  readonly method: string;
  readonly url: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly body?: Uint8Array | undefined;
}
interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly bytes: Buffer;
  readonly text: string;
  /** True when the database changed while the request ran. */
  readonly wrote: boolean;
}

async function send(w: Wire, app: AppHandle = handle): Promise<Answer> {
  const before = db.version();
  const res = await app.app.request(w.url, {
    method: w.method,
    headers: new Headers(w.headers as [string, string][]),
    ...(w.body !== undefined ? { body: w.body as Uint8Array<ArrayBuffer> } : {}),
  });
  let bytes: Buffer;
  if (res.headers.get('content-type')?.startsWith('text/event-stream')) {
    // A stream: its first event, then hang up.
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    await reader.cancel();
    bytes = Buffer.from(first.value ?? new Uint8Array());
  } else bytes = Buffer.from(await res.arrayBuffer());
  return {
    status: res.status,
    headers: res.headers,
    bytes,
    text: bytes.toString('utf8'),
    wrote: db.version() !== before,
  };
}

/** The same over a socket: push and pull take the lean Node path (`serveNode`). */
function sendNode(w: Wire & { readonly chunked?: boolean }): Promise<Answer> {
  const before = db.version();
  return new Promise((resolve, reject) => {
    const url = new URL(base + w.url);
    const headers: Record<string, string> = { connection: 'close' };
    for (const [k, v] of w.headers) headers[k] = v;
    const body = w.body ?? new Uint8Array();
    if (!w.chunked && headers['content-length'] === undefined && w.method !== 'GET')
      headers['content-length'] = String(body.length);
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method: w.method,
        headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const bytes = Buffer.concat(chunks);
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
          resolve({
            status: res.statusCode ?? 0,
            headers: h,
            bytes,
            text: bytes.toString('utf8'),
            wrote: db.version() !== before,
          });
        });
        res.on('error', reject);
      },
    );
    // The server may answer (413) and hang up before the body is sent.
    req.on('error', (e: NodeJS.ErrnoException) =>
      e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : reject(e),
    );
    if (w.chunked) {
      for (let i = 0; i < body.length; i += 7919) req.write(body.subarray(i, i + 7919));
      req.end();
    } else req.end(body);
  });
}

const show = (w: Wire, a?: Answer) =>
  `${w.method} ${w.url.slice(0, 300)} [${w.headers.map(([k, v]) => `${k}: ${v.slice(0, 60)}`).join('; ')}] body ${
    w.body ? JSON.stringify(Buffer.from(w.body.subarray(0, 300)).toString('utf8')) : '-'
  } (${w.body?.length ?? 0} bytes)${a ? ` → ${a.status} ${a.text.slice(0, 500)}` : ''}`;

/** `expect(actual, where).toBe(expected)`, paying for `expect` only when it fails. */
function same(actual: unknown, expected: unknown, where: () => string): void {
  if (!Object.is(actual, expected)) expect(actual, where()).toBe(expected);
}

/** What every answer must be, whatever the input. */
function checkAnswer(w: Wire, a: Answer, o: { mayWrite: boolean }): void {
  const where = () => show(w, a);
  if (a.status < 200 || a.status >= 500) expect.fail(`a ${a.status}: ${where()}`);
  if (a.status >= 400) {
    same(a.headers.get('content-type'), 'application/problem+json', where);
    const doc = problemSchema.safeParse(JSON.parse(a.text));
    if (!doc.success) expect.fail(`not a problem document: ${where()}`);
    same(doc.data.status, a.status, where);
    same(
      doc.data.type,
      `https://floorsync.dev/problems/${doc.data.code.toLowerCase().replace(/_/g, '-')}`,
      where,
    );
    if (doc.data.code === 'UNAUTHORIZED' || doc.data.code === 'USER_DEACTIVATED')
      same(a.headers.get('www-authenticate'), 'Bearer', where);
    if (a.status === 429 && !(Number(a.headers.get('retry-after')) > 0))
      expect.fail(`429 without retry-after: ${where()}`);
    same(a.wrote, false, () => `refused input wrote to the database: ${where()}`);
  }
  if (!o.mayWrite) same(a.wrote, false, () => `wrote without cause: ${where()}`);
}

/** Runs `check` on `runs` generated cases, in batches, with the batch checks. */
async function fuzz<T>(
  name: keyof typeof WEIGHTS,
  arb: fc.Arbitrary<T>,
  check: (t: T) => Promise<boolean>,
): Promise<void> {
  const total = runsOf(WEIGHTS[name]);
  const size = batchOf(total);
  const s = (stats[name] = { cases: 0, batches: 0, clean: 0, ms: 0 });
  const t0 = performance.now();
  const deadline = t0 + budgetOf(WEIGHTS[name]);
  const overTime = (cause?: unknown) =>
    new Error(
      `fuzz ${name} stopped over its time budget after ${s.cases} of ${total} cases ` +
        `(${MS_PER_CASE} ms a case; an overloaded machine? raise FUZZ_MS_PER_CASE) ` +
        `(FUZZ_SEED=${BASE_SEED} FUZZ_RUNS=${TOTAL})`,
      { cause },
    );
  /** The case in flight: an interrupted run leaves it running, so it is awaited. */
  let inflight: Promise<unknown> = Promise.resolve();
  for (let batch = 0; s.cases < total; batch++) {
    if (performance.now() >= deadline) throw overTime();
    const n = Math.min(size, total - s.cases);
    const before = await db.digest();
    let wrote = false;
    const seed = seedOf(name, batch);
    try {
      await fc.assert(
        fc.asyncProperty(arb, async (t) => {
          const running = check(t);
          inflight = running;
          if (await running) wrote = true;
        }),
        {
          numRuns: n,
          seed,
          endOnFailure: true,
          // At the deadline: no more cases, and a failure (the case in flight is awaited below).
          plugins: [
            fc.interruptAfterTimeLimit(Math.max(1, deadline - performance.now()), {
              failOnInterrupt: true,
            }),
          ],
        },
      );
    } catch (error) {
      // fast-check's interrupt stops waiting for a case, not the case: let it finish (its
      // requests) before this test ends, or the next test would see its writes.
      await inflight.catch(() => undefined);
      if (performance.now() >= deadline) throw overTime(error);
      // fast-check keeps the failed check's own error as the cause: show it, not only the case.
      const messages: string[] = [];
      for (let e: unknown = error; e !== undefined && messages.length < 5;) {
        messages.push(e instanceof Error ? e.message : JSON.stringify(e));
        e = e instanceof Error ? e.cause : undefined;
      }
      throw new Error(
        `fuzz ${name}, batch ${batch} (FUZZ_SEED=${BASE_SEED} FUZZ_RUNS=${TOTAL}): ${messages.join('\ncaused by: ')}`,
        { cause: error },
      );
    }
    if (!wrote) {
      // Nothing in this batch wrote: the file is byte for byte what it was, every row too.
      const after = await db.digest();
      const changed = Object.keys(after.tables).filter((t) => after.tables[t] !== before.tables[t]);
      expect(changed, `fuzz ${name} batch ${batch}: tables changed with no write seen`).toEqual([]);
      expect(after.file, `fuzz ${name} batch ${batch}: the file changed`).toBe(before.file);
      s.clean++;
    }
    await expectHealthy();
    s.cases += n;
    s.batches++;
  }
  s.ms = performance.now() - t0;
}

async function expectHealthy(): Promise<void> {
  for (const app of [handle, loginHandle]) {
    const res = await app.app.request('/health');
    expect(res.status).toBe(200);
    expect(((await res.json()) as { status: string }).status).toBe('ok');
  }
  const a = await sendNode({ method: 'GET', url: '/health', headers: [] });
  expect(a.status).toBe(200);
}

// ─── Path, query and header generators ───────────────────────────────────────────────────────

/** What a path parameter is generated as; `raw` is put into the URL as is. */
type ParamSpec = { readonly value: string; readonly raw?: true };
const RAW_SEGMENTS = ['%', '%zz', '%C0%AF', '%E0%A4%A', '%ff', '%u0041'];
const paramArb = (pool: () => readonly string[]): fc.Arbitrary<ParamSpec> =>
  fc.oneof(
    { weight: 5, arbitrary: fc.nat().map((i) => ({ value: pickFrom(pool(), i) })) },
    {
      weight: 4,
      arbitrary: anyStr
        .map(wellFormed)
        .filter((s) => s !== '' && s !== '.' && s !== '..')
        .map((value) => ({ value })),
    },
    { weight: 1, arbitrary: fc.uuid().map((value) => ({ value })) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('x'.repeat(5000), 'x'.repeat(300)).map((value) => ({ value })),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(...RAW_SEGMENTS).map((value) => ({ value, raw: true as const })),
    },
  );
const pickFrom = (pool: readonly string[], i: number) =>
  pool[i % Math.max(1, pool.length)] ?? 'none';
const segment = (p: ParamSpec) => (p.raw ? p.value : encodeURIComponent(p.value));
/** The value the server reads: a raw segment that is not valid percent-encoding is kept. */
const paramValue = (p: ParamSpec) => {
  if (!p.raw) return p.value;
  try {
    return decodeURIComponent(p.value);
  } catch {
    return p.value;
  }
};

type QuerySpec = readonly (readonly [string, string])[];
/** Query pairs: the keys the route reads (with good and bad values), and junk keys. */
const queryArb = (keys: Readonly<Record<string, fc.Arbitrary<string>>>): fc.Arbitrary<QuerySpec> =>
  fc
    .tuple(
      ...Object.entries(keys).map(([k, good]) =>
        fc.option(
          fc.tuple(
            fc.constant(k),
            fc.oneof(
              { weight: 6, arbitrary: good },
              { weight: 3, arbitrary: anyStr },
              {
                weight: 1,
                arbitrary: fc.constantFrom(
                  '',
                  '-1',
                  '0',
                  '1e3',
                  '0x10',
                  ' 5 ',
                  '2.5',
                  'NaN',
                  '1,2',
                  'open,',
                ),
              },
            ),
          ),
          { freq: 3 },
        ),
      ),
      fc.array(fc.tuple(anyStr, anyStr), { maxLength: 2 }),
      fc.boolean(),
    )
    .map((t) => {
      const [junk, twice] = [t[t.length - 2] as [string, string][], t[t.length - 1] as boolean];
      const read = (t.slice(0, -2) as ([string, string] | null)[]).filter(
        (x): x is [string, string] => x !== null,
      );
      // A key given twice: the first counts.
      const again = twice && read[0] ? [[read[0][0], 'again'] as const] : [];
      return [...read, ...again, ...junk.filter(([k]) => !(k in keys))];
    });
const qs = (q: QuerySpec) =>
  q.length === 0
    ? ''
    : '?' +
      q
        .map(
          ([k, v]) => `${encodeURIComponent(wellFormed(k))}=${encodeURIComponent(wellFormed(v))}`,
        )
        .join('&');
/** What the server reads for `key`: its first value, decoded, or undefined. */
const queryGet = (q: QuerySpec, key: string): string | undefined => {
  const hit = q.find(([k]) => wellFormed(k) === key);
  return hit ? wellFormed(hit[1]) : undefined;
};

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'text/csv',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  'application/json; charset=utf-16',
  'application/problem+json',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  '',
  '*/*',
  'garbage',
];
const contentTypeArb = fc.option(fc.oneof(fc.constantFrom(...CONTENT_TYPES), asciiStr(30)), {
  freq: 3,
});
/** A declared length that may lie (only its size matters, before any body is read). */
const contentLengthArb = rarely(
  fc.constantFrom(
    '0',
    '1',
    '-1',
    'abc',
    '65536',
    '65537',
    '5242881',
    '10485761',
    '99999999999',
    '1e9',
  ),
  12,
);

// ─── Near-valid bodies ───────────────────────────────────────────────────────────────────────

const optional = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 3 });
/** An object of these fields (each maybe absent), sometimes with an unknown one. */
/**
 * An object of these fields: the `required` ones nearly always there, the others half the
 * time, and now and then an unknown one.
 */
const objectOf = (
  fields: Readonly<Record<string, fc.Arbitrary<unknown>>>,
  required: readonly string[] = [],
): fc.Arbitrary<unknown> =>
  fc
    .tuple(
      fc.record(
        Object.fromEntries(
          Object.entries(fields).map(([k, a]) => [
            k,
            required.includes(k)
              ? fc.oneof(
                  { weight: 39, arbitrary: a },
                  { weight: 1, arbitrary: fc.constant(undefined) },
                )
              : fc.option(a, { nil: undefined, freq: 2 }),
          ]),
        ),
      ),
      rarely(fc.tuple(anyStr, wild), 12),
    )
    .map(([o, extra]) => (extra ? { ...o, [extra[0]]: extra[1] } : o));

const ROLE_VALUES = fc.constantFrom<unknown>('operator', 'supervisor', 'admin');
const usernameArb = fc.oneof(
  fc.stringMatching(/^[a-zA-Z0-9._-]{1,12}$/),
  fc.constantFrom('admin', 'ADMIN', 'sup', 'op1', 'v1', 'gone', 'Op1'),
);
const passwordArb = fc.oneof(
  { weight: 4, arbitrary: fc.string({ minLength: 10, maxLength: 24 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 9 }) },
);
const createUserArb = objectOf(
  {
    username: mostly(usernameArb),
    password: mostly(passwordArb),
    name: mostly(fc.string({ maxLength: 12 })),
    role: mostly(ROLE_VALUES),
  },
  ['username', 'password', 'name', 'role'],
);
const updateUserArb = objectOf({
  role: mostly(ROLE_VALUES),
  active: mostly(fc.boolean()),
  name: mostly(fc.string({ maxLength: 12 })),
  password: mostly(passwordArb),
});
const reasonArb = objectOf({ reason: mostly(fc.string({ maxLength: 20 })) }, ['reason']);
const startArb = objectOf({ applyValidRows: mostly(fc.boolean()) });

const GTINS = ['09506000134352', '4006381333931', '12345670', '036000291452'];
const gtinArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...GTINS) },
  { weight: 1, arbitrary: fc.stringMatching(/^\d{8,14}$/) },
);
/** Label text: mostly printable, sometimes with what a label cannot print. */
const textArb = (max: number) =>
  fc.oneof(
    { weight: 20, arbitrary: fc.string({ minLength: 1, maxLength: max }) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: max }) },
    { weight: 2, arbitrary: fc.constantFrom('\u0001x', ' ', 'é ü ß', '漢字', '😀', 'a\tb') },
  );
const labelArb: fc.Arbitrary<unknown> = fc.oneof(
  objectOf(
    {
      kind: mostly(fc.constant('item')),
      sku: mostly(textArb(20)),
      name: mostly(textArb(30)),
      gtin: mostly(gtinArb),
    },
    ['kind', 'sku', 'name'],
  ),
  objectOf(
    {
      kind: mostly(fc.constant('position')),
      code: mostly(textArb(20)),
      name: mostly(textArb(30)),
    },
    ['kind', 'code'],
  ),
  objectOf(
    {
      kind: mostly(fc.constant('container')),
      sscc: mostly(fc.oneof(fc.constant('106141411234567897'), fc.stringMatching(/^\d{18}$/))),
      code: mostly(textArb(20)),
      contents: mostly(
        objectOf({
          description: mostly(fc.string({ maxLength: 20 })),
          gtin: mostly(fc.constantFrom(...GTINS)),
          count: mostly(fc.integer({ min: -1, max: 100_000_000 })),
          lot: mostly(fc.string({ maxLength: 22 })),
          expiry: mostly(
            fc.oneof(
              fc.constantFrom('2027-02-28', '2027-02-30', '1999-12-31', '2100-01-01'),
              fc.string(),
            ),
          ),
        }),
      ),
    },
    ['kind', 'sscc', 'code'],
  ),
  objectOf(
    {
      kind: mostly(fc.constant('serial')),
      sku: mostly(textArb(20)),
      serial: mostly(textArb(20)),
      gtin: mostly(gtinArb),
    },
    ['kind', 'sku', 'serial'],
  ),
);
const labelsArb = mostly(fc.array(labelArb, { minLength: 1, maxLength: 3 }));
const pdfArb = objectOf(
  {
    size: mostly(fc.constantFrom(...labelSizeSchema.options)),
    sheet: mostly(fc.constantFrom('label', 'a4')),
    labels: labelsArb,
  },
  ['labels'],
);
const printArb = objectOf(
  {
    printerId: mostly(fc.constantFrom('dock', 'shelf', 'nowhere')),
    labels: labelsArb,
  },
  ['printerId', 'labels'],
);
const resultArb = objectOf(
  {
    ok: mostly(fc.boolean()),
    status: mostly(fc.option(fc.string({ maxLength: 20 }))),
    reason: mostly(fc.string({ maxLength: 20 })),
  },
  ['ok'],
);
// ─── Mutations for every command, and push/pull envelopes ────────────────────────────────────

type JsonSchema = {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minimum?: number;
  maximum?: number;
  additionalProperties?: unknown;
};

/** Ids the fixtures hold, so that generated arguments often name something that exists. */
const idPool = () => [
  'A',
  'L',
  'S',
  'P',
  'Q',
  'R',
  'C',
  'X',
  'LOT-1',
  'SN-1',
  ...known.lists,
  ...known.sessions,
  ...known.conflicts,
  ...Object.values(known.userIds),
];
const numberArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: -3, max: 12 }) },
  { weight: 2, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
  { weight: 1, arbitrary: fc.constantFrom(0.001, 0.1, 1e15, 1e300, -1e300, 5e-324, 2 ** 53 + 1) },
);

/** Values for a JSON Schema (of a command's args): mostly valid, sometimes not. */
function fromSchema(s: JsonSchema, depth = 0): fc.Arbitrary<unknown> {
  const alt = s.anyOf ?? s.oneOf;
  if (alt) return fc.oneof(...alt.map((x) => fromSchema(x, depth)));
  if (s.enum) return fc.constantFrom(...s.enum);
  if (s.const !== undefined) return fc.constant(s.const);
  switch (s.type) {
    case 'object': {
      const props = s.properties ?? {};
      if (Object.keys(props).length === 0 || depth > 3)
        return fc.dictionary(
          fc.constantFrom('name', 'args', 'x', 'itemId'),
          fromSchema({}, depth + 1),
          { maxKeys: 2 },
        );
      const required = new Set(s.required ?? []);
      return fc
        .tuple(
          fc.record(
            Object.fromEntries(
              Object.entries(props).map(([k, v]) => [
                k,
                required.has(k)
                  ? fc.oneof(
                      { weight: 39, arbitrary: fromSchema(v, depth + 1) },
                      { weight: 1, arbitrary: wild },
                    )
                  : optional(
                      fc.oneof(
                        { weight: 19, arbitrary: fromSchema(v, depth + 1) },
                        { weight: 1, arbitrary: wild },
                      ),
                    ),
              ]),
            ),
          ),
          rarely(fc.tuple(anyStr, wild), 30),
          rarely(fc.constantFrom(...Object.keys(props)), 30),
        )
        .map(([o, extra, drop]) => {
          const out: Record<string, unknown> = { ...o };
          if (extra) out[extra[0]] = extra[1];
          if (drop) delete out[drop];
          return out;
        });
    }
    case 'array':
      return fc.array(fromSchema(s.items ?? {}, depth + 1), {
        minLength: Math.min(s.minItems ?? 0, 3),
        maxLength: Math.min(s.maxItems ?? 3, 3),
      });
    case 'string':
      if (s.format === 'uuid')
        return fc.oneof(
          fc.nat().map((i) => pickFrom([...known.lists, ...known.sessions], i)),
          fc.uuid(),
        );
      if (s.format === 'date' || s.pattern?.includes('\\d{4}'))
        return fc.oneof(
          fc
            .date({ min: new Date('2000-01-01'), max: new Date('2099-12-31'), noInvalidDate: true })
            .map((d) => d.toISOString().slice(0, 10)),
          fc.constantFrom('2027-02-30', '2027-13-01', '0000-00-00'),
        );
      if (s.format === 'date-time')
        return fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
      return fc.oneof(
        { weight: 6, arbitrary: fc.nat().map((i) => pickFrom(idPool(), i)) },
        {
          weight: 1,
          arbitrary: fc.string({
            minLength: s.minLength ?? 0,
            maxLength: Math.min(s.maxLength ?? 16, 16),
          }),
        },
      );
    case 'integer':
      return fc.oneof(
        fc.integer({ min: Math.max(s.minimum ?? -3, -3), max: Math.min(s.maximum ?? 12, 12) }),
        fc.constantFrom(0, -1, 2 ** 31, Number.MAX_SAFE_INTEGER),
      );
    case 'number':
      return numberArb;
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    default:
      return depth > 2 ? fc.oneof(anyStr, numberArb, fc.boolean()) : wild;
  }
}

const COMMAND_NAMES = Object.keys(COMMANDS) as (keyof typeof COMMANDS)[];
let argsArbs: Record<string, fc.Arbitrary<unknown>> | undefined;
const argsFor = (name: string): fc.Arbitrary<unknown> => {
  argsArbs ??= Object.fromEntries(
    COMMAND_NAMES.map((n) => [
      n,
      fromSchema(
        z.toJSONSchema(COMMANDS[n] as z.ZodType, {
          unrepresentable: 'any',
          io: 'input',
        }) as JsonSchema,
      ),
    ]),
  );
  return (
    (Object.hasOwn(argsArbs, name) ? argsArbs[name] : undefined) ??
    fc.dictionary(anyStr, wild, { maxKeys: 3 })
  );
};

/** Which client a mutation is of: one of this device's, a new one, another device's, or junk. */
type ClientSpec =
  | { readonly kind: 'own'; readonly n: number }
  | { readonly kind: 'fresh' }
  | { readonly kind: 'foreign'; readonly n: number }
  | { readonly kind: 'raw'; readonly value: unknown };
/** Its id: the next one, one already seen, one beyond the next (a gap), or junk. */
type IdSpec =
  | { readonly kind: 'next' }
  | { readonly kind: 'duplicate'; readonly back: number }
  | { readonly kind: 'gap'; readonly ahead: number }
  | { readonly kind: 'raw'; readonly value: unknown };
interface MutationSpec {
  readonly client: ClientSpec;
  readonly id: IdSpec;
  readonly name: unknown;
  readonly args: unknown;
  readonly timestamp?: unknown;
  readonly userID?: unknown;
  readonly occurredAt?: unknown;
  readonly extra?: readonly [string, unknown] | null | undefined;
}
const clientSpecArb = (junk: number): fc.Arbitrary<ClientSpec> =>
  fc.oneof(
    {
      weight: 10,
      arbitrary: fc.record({ kind: fc.constant('own' as const), n: fc.nat({ max: 3 }) }),
    },
    { weight: 3, arbitrary: fc.constant({ kind: 'fresh' as const }) },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('foreign' as const), n: fc.nat({ max: 3 }) }),
    },
    {
      weight: junk,
      arbitrary: fc.record({ kind: fc.constant('raw' as const), value: mostly(anyStr) }),
    },
  );
const idSpecArb = (junk: number): fc.Arbitrary<IdSpec> =>
  fc.oneof(
    { weight: 12, arbitrary: fc.constant({ kind: 'next' as const }) },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant('duplicate' as const), back: fc.nat({ max: 3 }) }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('gap' as const),
        ahead: fc.integer({ min: 1, max: 3 }),
      }),
    },
    {
      weight: junk,
      arbitrary: fc.record({
        kind: fc.constant('raw' as const),
        value: fc.oneof(wild, fc.constantFrom(0, -1, 1.5, '1', 2 ** 53)),
      }),
    },
  );
const nameArb = fc.oneof(
  { weight: 20, arbitrary: fc.constantFrom(...COMMAND_NAMES) },
  {
    weight: 10,
    arbitrary: fc.constantFrom(
      'receiveStock',
      'moveStock',
      'shipStock',
      'adjustStock',
      'moveContainer',
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '__proto__',
      'constructor',
      'toString',
      'hasOwnProperty',
      '',
      'x'.repeat(129),
    ),
  },
  { weight: 1, arbitrary: anyStr },
);
/**
 * Floor facts over the fixtures' items and positions, with plausible quantities: most are
 * applied (some drive stock negative and open conflicts), so the replay's accepting paths are
 * fuzzed too, not only its refusals.
 */
const item = fc.constantFrom('A', 'L', 'S');
const position = fc.constantFrom('P', 'Q', 'R', 'C');
const qty = fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constantFrom(0.5, 0.001, 1e9));
const lotOrSerial = {
  lot: optional(fc.constantFrom('LOT-1', 'LOT-2')),
  serial: optional(fc.constantFrom('SN-1', 'SN-2', 'SN-3')),
};
const PLAUSIBLE: Readonly<Record<string, fc.Arbitrary<unknown>>> = {
  receiveStock: fc.record({ itemId: item, positionId: position, quantity: qty, ...lotOrSerial }),
  moveStock: fc.record({
    itemId: item,
    from: position,
    to: position,
    quantity: qty,
    ...lotOrSerial,
  }),
  shipStock: fc.record({ itemId: item, from: position, quantity: qty, ...lotOrSerial }),
  adjustStock: fc.record({
    itemId: item,
    positionId: position,
    delta: fc.integer({ min: -3, max: 3 }),
    reason: fc.constantFrom(...ADJUSTMENT_REASONS),
    ...lotOrSerial,
  }),
  moveContainer: fc.record({ containerId: fc.constant('C'), to: position }),
};
/** `junk`: how often the envelope-level fields are garbage (0: never). */
const mutationArb = (junk: number): fc.Arbitrary<MutationSpec> =>
  fc.tuple(nameArb, clientSpecArb(junk), idSpecArb(junk)).chain(([name, client, id]) =>
    fc.record(
      {
        client: fc.constant(client),
        id: fc.constant(id),
        name:
          junk > 0
            ? mostly(fc.constant(name), fc.oneof(wild, fc.constant(undefined)))
            : fc.constant(name),
        args: fc.oneof(
          { weight: 12, arbitrary: argsFor(name) },
          { weight: Object.hasOwn(PLAUSIBLE, name) ? 12 : 0, arbitrary: PLAUSIBLE[name] ?? wild },
          { weight: 1, arbitrary: fc.dictionary(anyStr, wild, { maxKeys: 3 }) },
          {
            weight: 1,
            arbitrary: fc.constantFrom(
              { deep: nestedArrays(12_000) },
              { deep: nestedObjects(12_000) },
            ),
          },
          { weight: junk, arbitrary: fc.oneof(wild, fc.constant(undefined)) },
        ),
        timestamp: optional(junk > 0 ? mostly(numberArb) : numberArb),
        userID: rarely(
          fc.oneof(
            fc.constant('$self'),
            fc.constantFrom('$other'),
            junk > 0 ? wild : anyStr.filter((s) => s.length <= 128),
          ),
          12,
        ).map((v) => v ?? undefined),
        occurredAt: optional(
          fc.oneof(
            fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
            fc.constantFrom('2026-11-25T21:00:00Z', 'yesterday', ''),
            junk > 0 ? wild : anyStr.filter((s) => s.length <= 64),
          ),
        ),
        extra: rarely(fc.tuple(anyStr, wild), 10),
      },
      { requiredKeys: ['client', 'id', 'name', 'args', 'extra'] },
    ),
  );

interface PushSpec {
  readonly version: unknown;
  readonly group: 'own' | 'other' | 'revoked' | { readonly raw: unknown };
  readonly profileID?: unknown;
  readonly schemaVersion?: unknown;
  readonly mutations:
    readonly MutationSpec[] | { readonly copies: number } | { readonly raw: unknown };
  readonly drop: readonly string[];
  readonly extra: readonly (readonly [string, unknown])[];
  readonly pad: number;
}
const groupSpecArb = (junk: number): fc.Arbitrary<PushSpec['group']> =>
  fc.oneof(
    { weight: 20, arbitrary: fc.constant('own' as const) },
    { weight: junk, arbitrary: fc.constantFrom('other' as const, 'revoked' as const) },
    { weight: junk, arbitrary: fc.record({ raw: mostly(anyStr) }) },
  );
const pushSpecArb = (junk: number): fc.Arbitrary<PushSpec> =>
  fc.record(
    {
      version:
        junk > 0
          ? fc.oneof(
              { weight: 10, arbitrary: fc.constant(1) },
              {
                weight: junk,
                arbitrary: fc.oneof(fc.constantFrom(0, 2, -1, 1.5, '1', null), wild),
              },
            )
          : fc.constant(1),
      group: groupSpecArb(junk),
      profileID: optional(
        junk > 0
          ? mostly(fc.constant('p'), fc.oneof(wild, fc.constant('x'.repeat(129))))
          : fc.constant('p'),
      ),
      schemaVersion: optional(
        junk > 0
          ? mostly(fc.constantFrom('', '1'), fc.oneof(fc.constantFrom('2', '0', '1.0'), wild))
          : fc.constantFrom('', '1'),
      ),
      mutations: fc.oneof(
        { weight: 20, arbitrary: fc.array(mutationArb(junk), { minLength: 0, maxLength: 5 }) },
        {
          weight: junk > 0 ? 1 : 0,
          arbitrary: fc.record({ copies: fc.constantFrom(MAX_MUTATIONS_PER_PUSH + 1, 5000) }),
        },
        { weight: junk, arbitrary: fc.record({ raw: wild }) },
      ),
      drop:
        junk > 0
          ? fc
              .subarray(['pushVersion', 'clientGroupID', 'mutations'], { maxLength: 1 })
              .chain((d) =>
                fc.oneof(
                  { weight: 5, arbitrary: fc.constant([] as string[]) },
                  { weight: 1, arbitrary: fc.constant(d) },
                ),
              )
          : fc.constant([]),
      extra: fc.array(fc.tuple(fc.oneof(anyStr, fc.constantFrom('pending', 'appVersion')), wild), {
        maxLength: junk > 0 ? 2 : 1,
      }),
      pad:
        junk > 0
          ? fc.oneof(
              { weight: 50, arbitrary: fc.constant(0) },
              { weight: 1, arbitrary: fc.constantFrom(70_000, MAX_PUSH_BYTES + 1) },
            )
          : fc.constant(0),
    },
    { requiredKeys: ['version', 'group', 'mutations', 'drop', 'extra', 'pad'] },
  );

/** The group a spec names, for a session bound to `own`. */
function groupOf(g: PushSpec['group'], own: string | null): unknown {
  if (g === 'own') return own ?? 'g-fuzz-unbound';
  if (g === 'other') return own === known.groups.admin ? known.groups.operator : known.groups.admin;
  if (g === 'revoked') return 'g-fuzz-revoked';
  return g.raw;
}

/** The push body: ids resolved against the clients' state now. */
function materializePush(p: PushSpec, auth: Authn, role: Role): { body: Record<string, unknown> } {
  const group = groupOf(p.group, auth.group);
  const local = new Map<string, number>();
  const lmid = (clientID: string) => local.get(clientID) ?? db.client(clientID)?.lmid ?? 0;
  const ownClient = (n: number) => `fz-${typeof group === 'string' ? group : 'x'}-${n}`;
  const otherGroup = groupOf('other', auth.group) as string;
  let mutations: unknown;
  if ('copies' in p.mutations) {
    const clientID = ownClient(0);
    mutations = Array.from({ length: p.mutations.copies }, (_, i) => ({
      clientID,
      id: lmid(clientID) + 1 + i,
      name: 'nothing',
      args: {},
    }));
  } else if ('raw' in p.mutations) mutations = p.mutations.raw;
  else
    mutations = p.mutations.map((m) => {
      let clientID: unknown;
      if (m.client.kind === 'own') clientID = ownClient(m.client.n);
      else if (m.client.kind === 'fresh') clientID = `fz-${randomUUID()}`;
      else if (m.client.kind === 'foreign') clientID = `fz-${otherGroup}-${m.client.n}`;
      else clientID = m.client.value;
      let id: unknown;
      const at = typeof clientID === 'string' ? lmid(clientID) : 0;
      if (m.id.kind === 'next') id = at + 1;
      else if (m.id.kind === 'duplicate') id = Math.max(1, at - m.id.back);
      else if (m.id.kind === 'gap') id = at + 1 + m.id.ahead;
      else id = m.id.value;
      if (
        typeof clientID === 'string' &&
        typeof id === 'number' &&
        Number.isInteger(id) &&
        id === at + 1
      )
        local.set(clientID, id);
      const userID =
        m.userID === '$self'
          ? auth.userId
          : m.userID === '$other'
            ? known.userIds[role === 'operator' ? 'sup' : 'op1']
            : m.userID;
      return {
        clientID,
        id,
        name: m.name,
        args: m.args,
        ...(m.timestamp !== undefined ? { timestamp: m.timestamp } : {}),
        ...(userID !== undefined ? { userID } : {}),
        ...(m.occurredAt !== undefined ? { occurredAt: m.occurredAt } : {}),
        ...(m.extra ? { [m.extra[0]]: m.extra[1] } : {}),
      };
    });
  const body: Record<string, unknown> = {
    pushVersion: p.version,
    clientGroupID: group,
    ...(p.profileID !== undefined ? { profileID: p.profileID } : {}),
    ...(p.schemaVersion !== undefined ? { schemaVersion: p.schemaVersion } : {}),
    mutations,
  };
  for (const [k, v] of p.extra) if (!(k in body)) body[k] = v;
  for (const k of p.drop) delete body[k];
  if (p.pad > 0) body['padding'] = new Raw(`pad ${p.pad}`, () => `"${' '.repeat(p.pad)}"`);
  return { body };
}

interface PullSpec {
  readonly version: unknown;
  readonly group: PushSpec['group'];
  readonly cookie: unknown;
  readonly profileID?: unknown;
  readonly schemaVersion?: unknown;
  readonly limit?: unknown;
  readonly drop: readonly string[];
  readonly extra: readonly (readonly [string, unknown])[];
}
/** `$head±n` cookies are resolved against the head when sent. */
const cookieArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant(null) },
  {
    weight: 6,
    arbitrary: fc.integer({ min: -3, max: 3 }).map((d) => `$head${d >= 0 ? '+' : ''}${d}`),
  },
  { weight: 1, arbitrary: fc.constantFrom(0, 1) },
  {
    weight: 2,
    arbitrary: fc.record({
      order: fc.oneof(fc.constant('$head'), fc.nat(), wild),
      after: optional(
        mostly(fc.string({ maxLength: 20 }), fc.oneof(wild, fc.constant('x'.repeat(513)))),
      ),
    }),
  },
  { weight: 2, arbitrary: wild },
);
const pullSpecArb = (junk: number): fc.Arbitrary<PullSpec> =>
  fc.record(
    {
      version:
        junk > 0
          ? fc.oneof(
              { weight: 10, arbitrary: fc.constant(1) },
              { weight: junk, arbitrary: fc.oneof(fc.constantFrom(0, 2, '1', null), wild) },
            )
          : fc.constant(1),
      group: groupSpecArb(junk),
      cookie: cookieArb,
      profileID: optional(mostly(fc.constant('p'))),
      schemaVersion: optional(mostly(fc.constantFrom('', '1'), fc.constantFrom('2', 'x'))),
      // Mostly a small page: a snapshot of everything the fuzzing defined costs time.
      limit: fc.option(
        mostly(
          fc.integer({ min: 1, max: 50 }),
          fc.oneof(fc.constantFrom(0, 10_001, -1, 1.5, 2000), wild),
        ),
        { nil: undefined, freq: 8 },
      ),
      drop: fc
        .subarray(['pullVersion', 'clientGroupID', 'cookie'], { maxLength: 1 })
        .chain((d) =>
          fc.oneof(
            { weight: 8, arbitrary: fc.constant([] as string[]) },
            { weight: junk, arbitrary: fc.constant(d) },
          ),
        ),
      extra: fc.array(fc.tuple(anyStr, wild), { maxLength: 1 }),
    },
    { requiredKeys: ['version', 'group', 'cookie', 'drop', 'extra'] },
  );
function resolveCookie(c: unknown, head: number): unknown {
  if (typeof c === 'string' && c.startsWith('$head')) return Math.max(0, head + Number(c.slice(5)));
  if (
    c !== null &&
    typeof c === 'object' &&
    !(c instanceof Raw) &&
    (c as { order?: unknown }).order === '$head'
  )
    return { ...c, order: head };
  return c;
}
function materializePull(p: PullSpec, auth: Authn): Record<string, unknown> {
  const body: Record<string, unknown> = {
    pullVersion: p.version,
    clientGroupID: groupOf(p.group, auth.group),
    cookie: resolveCookie(p.cookie, db.head()),
    ...(p.profileID !== undefined ? { profileID: p.profileID } : {}),
    ...(p.schemaVersion !== undefined ? { schemaVersion: p.schemaVersion } : {}),
    ...(p.limit !== undefined ? { limit: p.limit } : {}),
  };
  for (const [k, v] of p.extra) if (!(k in body)) body[k] = v;
  for (const k of p.drop) delete body[k];
  return body;
}

/** Leave the field out. */
const DROP = Symbol('drop');
/** One way to spoil a valid push so that it must be refused whole. */
type Corruption =
  | { readonly at: 'field'; readonly key: string; readonly value: unknown }
  | { readonly at: 'mutation'; readonly key: string; readonly value: unknown }
  | { readonly at: 'group'; readonly which: 'other' | 'revoked' }
  | { readonly at: 'foreign' }
  | { readonly at: 'text'; readonly mangle: Mangle }
  | { readonly at: 'too-many' }
  | { readonly at: 'too-large' };
const notString = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constantFrom<unknown>(null, [], {}, ['x'], { a: 1 }),
);
const corruptionArb: fc.Arbitrary<Corruption> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      at: fc.constant('field' as const),
      key: fc.constant('pushVersion'),
      // A number other than 1: VersionNotSupported (200); anything else: 400.
      value: fc.oneof(
        fc.constantFrom<unknown>(0, 2, -1, 1.5, DROP, '1'),
        notString.filter((v) => v !== 1),
      ),
    }),
  },
  {
    weight: 10,
    arbitrary: fc.record({
      at: fc.constant('field' as const),
      key: fc.constant('clientGroupID'),
      value: fc.oneof(fc.constantFrom<unknown>('', 'x'.repeat(129), DROP), notString),
    }),
  },
  {
    weight: 10,
    arbitrary: fc.record({
      at: fc.constant('field' as const),
      key: fc.constant('schemaVersion'),
      value: fc.oneof(fc.constantFrom<unknown>('2', '0', 'x'.repeat(65)), notString),
    }),
  },
  {
    weight: 10,
    arbitrary: fc.record({
      at: fc.constant('field' as const),
      key: fc.constant('profileID'),
      value: fc.oneof(fc.constant<unknown>('x'.repeat(129)), notString),
    }),
  },
  {
    weight: 10,
    arbitrary: fc.record({
      at: fc.constant('field' as const),
      key: fc.constant('mutations'),
      value: fc.oneof(
        fc.constantFrom<unknown>(DROP, {}, 'x', null, 1),
        fc.dictionary(anyStr, wild, { maxKeys: 2 }),
      ),
    }),
  },
  {
    weight: 10,
    arbitrary: fc.record({
      at: fc.constant('mutation' as const),
      key: fc.constant('clientID'),
      value: fc.oneof(fc.constantFrom<unknown>('', 'x'.repeat(129), DROP), notString),
    }),
  },
  {
    weight: 10,
    arbitrary: fc.record({
      at: fc.constant('mutation' as const),
      key: fc.constant('id'),
      value: fc.constantFrom<unknown>(
        0,
        -1,
        1.5,
        '1',
        null,
        2 ** 53,
        raw('-0'),
        raw('1e400'),
        DROP,
        true,
        [],
      ),
    }),
  },
  {
    weight: 10,
    arbitrary: fc.record({
      at: fc.constant('mutation' as const),
      key: fc.constant('name'),
      // Any string is a name (an unknown one is a per-mutation rejection): only its absence or
      // another type spoils the envelope.
      value: fc.oneof(fc.constant<unknown>(DROP), notString),
    }),
  },
  {
    weight: 10,
    arbitrary: fc.record({
      at: fc.constant('mutation' as const),
      key: fc.constant('args'),
      value: fc.constantFrom<unknown>(null, [], ['x'], 'x', 1, true, DROP),
    }),
  },
  {
    weight: 10,
    arbitrary: fc.record({
      at: fc.constant('mutation' as const),
      key: fc.constantFrom('timestamp'),
      value: fc.constantFrom<unknown>('1', null, true, [], {}, raw('1e400'), raw('-1e400')),
    }),
  },
  {
    weight: 10,
    arbitrary: fc.record({
      at: fc.constant('mutation' as const),
      key: fc.constantFrom('userID'),
      value: fc.oneof(fc.constant<unknown>('x'.repeat(129)), notString),
    }),
  },
  {
    weight: 10,
    arbitrary: fc.record({
      at: fc.constant('mutation' as const),
      key: fc.constantFrom('occurredAt'),
      value: fc.oneof(fc.constant<unknown>('x'.repeat(65)), notString),
    }),
  },
  {
    weight: 10,
    arbitrary: fc.record({
      at: fc.constant('group' as const),
      which: fc.constantFrom('other' as const, 'revoked' as const),
    }),
  },
  { weight: 10, arbitrary: fc.constant({ at: 'foreign' as const }) },
  {
    weight: 10,
    arbitrary: fc.record({
      at: fc.constant('text' as const),
      mangle: fc.oneof(
        fc.constantFrom<Mangle>('garbage-after', 'single-quotes', 'nul', 'trailing-comma'),
        fc.nat().map((n): Mangle => ({ cut: n })),
      ),
    }),
  },
  // Heavy (a thousand mutations, five megabytes): rare.
  {
    weight: 1,
    arbitrary: fc.constantFrom({ at: 'too-many' as const }, { at: 'too-large' as const }),
  },
);
/** The text of a valid push spoiled so: it must be refused whole. */
function corrupt(body: Record<string, unknown>, c: Corruption, auth: Authn): string {
  const set = (o: Record<string, unknown>, key: string, value: unknown) => {
    if (value === DROP) delete o[key];
    else o[key] = value;
  };
  const mutations = Array.isArray(body['mutations'])
    ? (body['mutations'] as Record<string, unknown>[])
    : [];
  if (mutations.length === 0)
    mutations.push({ clientID: `fz-${randomUUID()}`, id: 1, name: 'receiveStock', args: {} });
  body['mutations'] = mutations;
  switch (c.at) {
    case 'field':
      set(body, c.key, c.value);
      break;
    case 'mutation':
      set(mutations[mutations.length - 1] as Record<string, unknown>, c.key, c.value);
      break;
    case 'group':
      body['clientGroupID'] = groupOf(c.which, auth.group);
      break;
    case 'foreign':
      // A client of another device (created here if it is not known yet).
      (mutations[0] as Record<string, unknown>)['clientID'] = foreignClient(auth.group);
      break;
    case 'too-many':
      body['mutations'] = Array.from({ length: MAX_MUTATIONS_PER_PUSH + 1 }, (_, i) => ({
        clientID: `fz-${randomUUID()}`,
        id: i + 1,
        name: 'nothing',
        args: {},
      }));
      break;
    case 'too-large':
      body['padding'] = new Raw('pad', () => `"${' '.repeat(MAX_PUSH_BYTES)}"`);
      break;
    case 'text':
      return mangled(toJson(body), c.mangle);
  }
  return toJson(body);
}
/** A client that belongs to a device other than `own`: the fixtures' own clients. */
const foreignClient = (own: string | null) =>
  own === known.groups.supervisor ? 'fixture-operator' : 'fixture-supervisor';

// ─── Predictions: what the server must answer ────────────────────────────────────────────────

/** A JSON body read by `readJson`: refused (413 over the limit, 400 not JSON), or its value. */
function readJsonOf(b: BodyView, limit = 64 * 1024): { refused: number } | { value: unknown } {
  if (b.declared > limit || Buffer.byteLength(b.text) > limit) return { refused: 413 };
  if (!b.json.ok) return { refused: 400 };
  return { value: b.json.value };
}

const schemaOk = (v: string | undefined) => v === undefined || v === '' || v === '1';
const field = (v: unknown, key: string): unknown =>
  v !== null && typeof v === 'object' && Object.hasOwn(v, key)
    ? (v as Record<string, unknown>)[key]
    : undefined;

interface Prediction {
  readonly statuses: readonly number[];
  /** 2xx may write. */
  readonly writes: boolean;
  /** More checks of the answer. */
  readonly check?: (a: Answer, where: string) => void;
}
const refuse = (status: number): Prediction => ({ statuses: [status], writes: false });

/** A push: refused as a whole (nothing written), or each mutation's result (see `verifyPush`). */
function predictPush(
  b: BodyView,
  auth: Authn & { role: Role },
  limit = MAX_PUSH_BYTES,
): Prediction & { accepted?: z.infer<typeof pushRequestSchema> } {
  const read = readJsonOf(b, limit);
  if ('refused' in read) return refuse(read.refused);
  const version = field(read.value, 'pushVersion');
  const versionNotSupported = (type: string): Prediction => ({
    statuses: [200],
    writes: false,
    check: (a, where) =>
      expect(JSON.parse(a.text), where).toEqual({
        error: 'VersionNotSupported',
        versionType: type,
      }),
  });
  if (typeof version === 'number' && version !== 1) return versionNotSupported('push');
  // Versions are decided before the rest of the request is validated.
  const schema = field(read.value, 'schemaVersion');
  if (typeof schema === 'string' && !schemaOk(schema)) return versionNotSupported('schema');
  // Too many mutations is 413 whatever else is wrong (counted before the envelope is checked).
  const mutations = field(read.value, 'mutations');
  if (Array.isArray(mutations) && mutations.length > MAX_MUTATIONS_PER_PUSH) return refuse(413);
  const parsed = pushRequestSchema.safeParse(read.value);
  if (!parsed.success) return refuse(400);
  if (auth.group !== null && auth.group !== parsed.data.clientGroupID) return refuse(403);
  if (known.revokedGroups.has(parsed.data.clientGroupID)) return refuse(403);
  if (auth.group === null && db.device(parsed.data.clientGroupID)?.secretHash) return refuse(403);
  for (const m of parsed.data.mutations) {
    const c = db.client(m.clientID);
    if (c && c.group !== parsed.data.clientGroupID) return refuse(403);
  }
  return { statuses: [200], writes: true, accepted: parsed.data };
}

/**
 * The results of an accepted push, mutation by mutation (SYNC-PROTOCOL.md): duplicate, gap,
 * or decided — applied, or rejected with the code the replay rule gives (unknown command,
 * role, arguments first). The head moves by exactly the seqs the results name, in order; a
 * push of duplicates and gaps only writes nothing.
 */
function verifyPush(
  req: z.infer<typeof pushRequestSchema>,
  auth: Authn & { role: Role },
  headBefore: number,
  lmids: ReadonlyMap<string, number>,
  a: Answer,
  where: string,
): void {
  const res = pushResponseSchema.parse(JSON.parse(a.text));
  same(res.results.length, req.mutations.length, () => where);
  const local = new Map(lmids);
  const stopped = new Map<string, number>();
  let seq = headBefore;
  req.mutations.forEach((m, i) => {
    const r = res.results[i];
    const at = () => `${where}\n  mutation ${i} → ${JSON.stringify(r)}`;
    same(r?.clientID, m.clientID, at);
    same(r?.id, m.id, at);
    const gapAt = stopped.get(m.clientID);
    const lmid = local.get(m.clientID) ?? 0;
    if (gapAt !== undefined) {
      same(r?.status, 'gap', at);
      same(r?.expectedID, gapAt, at);
      return;
    }
    if (m.id <= lmid) {
      same(r?.status, 'duplicate', at);
      return;
    }
    if (m.id > lmid + 1) {
      same(r?.status, 'gap', at);
      same(r?.expectedID, lmid + 1, at);
      stopped.set(m.clientID, lmid + 1);
      return;
    }
    local.set(m.clientID, m.id);
    decided.add(m.name);
    note(`mutation ${m.name.slice(0, 30)} ${r?.status ?? ''} ${r?.error?.code ?? ''}`);
    if (r?.status !== 'applied' && r?.status !== 'rejected') expect.fail(`not decided: ${at()}`);
    // Its events follow the head, in order.
    const seqs = r.seqs ?? [];
    seqs.forEach((x, k) => same(x, seq + 1 + k, at));
    seq += seqs.length;
    if (r.status === 'rejected') {
      same(seqs.length, 1, at);
      same(r.conflicts?.length, 1, at);
      same(typeof r.error?.code, 'string', at);
    } else if (seqs.length === 0) expect.fail(`applied without events: ${at()}`);
    // The replay rule's order: unknown command, then role, then arguments.
    if (m.userID === undefined || m.userID === auth.userId) {
      const name = m.name;
      const expected = !Object.hasOwn(COMMANDS, name)
        ? 'UNKNOWN_COMMAND'
        : !roleAllows(auth.role, COMMAND_ROLES[name as keyof typeof COMMANDS])
          ? 'FORBIDDEN'
          : !(COMMANDS[name as keyof typeof COMMANDS] as z.ZodType).safeParse(m.args).success
            ? 'VALIDATION_FAILED'
            : null;
      if (expected !== null) {
        same(r.status, 'rejected', at);
        same(r.error?.code, expected, at);
      }
    }
  });
  same(res.head, seq, () => where);
  same(db.head(), seq, () => where);
  same(a.wrote, seq > headBefore, () => `${where}\n  writes iff something was appended`);
}

function predictPull(b: BodyView, auth: Authn & { role: Role }): Prediction {
  const read = readJsonOf(b);
  if ('refused' in read) return refuse(read.refused);
  const version = field(read.value, 'pullVersion');
  const versionNotSupported = (type: string): Prediction => ({
    statuses: [200],
    writes: false,
    check: (a, where) =>
      expect(JSON.parse(a.text), where).toEqual({
        error: 'VersionNotSupported',
        versionType: type,
      }),
  });
  if (typeof version === 'number' && version !== 1) return versionNotSupported('pull');
  // Versions are decided before the rest of the request is validated.
  const schema = field(read.value, 'schemaVersion');
  if (typeof schema === 'string' && !schemaOk(schema)) return versionNotSupported('schema');
  const parsed = pullRequestSchema.safeParse(read.value);
  if (!parsed.success) return refuse(400);
  if (auth.group !== null && auth.group !== parsed.data.clientGroupID) return refuse(403);
  if (known.revokedGroups.has(parsed.data.clientGroupID)) return refuse(403);
  if (auth.group === null && db.device(parsed.data.clientGroupID)?.secretHash) return refuse(403);
  const cookie = parsed.data.cookie;
  const head = db.head();
  const beyond =
    typeof cookie === 'number' ? cookie > head : cookie !== null && cookie.order > head;
  return {
    statuses: [200],
    // A session bound to its device: a pull reads only.
    writes: auth.group === null,
    check: (a, where) => {
      const body = JSON.parse(a.text) as unknown;
      if (beyond) expect(clientStateNotFoundSchema.safeParse(body).success, where).toBe(true);
      else {
        const page = pullResponseSchema.safeParse(body);
        expect(page.success, `${where}\n  ${page.error?.message ?? ''}`).toBe(true);
        // A page of events holds at most `limit` of them.
        if (page.success && typeof cookie === 'number')
          expect(page.data.patch.length, where).toBeLessThanOrEqual(parsed.data.limit ?? 2000);
      }
    },
  };
}

// ─── The routes ──────────────────────────────────────────────────────────────────────────────

interface Ctx {
  readonly auth: Authn & { role: Role };
  readonly param: (name: string) => string;
  readonly q: (key: string) => string | undefined;
  readonly body: BodyView;
}
interface RouteSpec {
  readonly method: 'GET' | 'POST' | 'PATCH';
  readonly path: string;
  /** Who may call it; null: anyone. */
  readonly role: Role | null;
  readonly body: 'none' | 'json' | 'file';
  /** Ids that exist, per path parameter. */
  readonly params?: Readonly<Record<string, () => readonly string[]>>;
  /** The query keys it reads, with good values. */
  readonly query?: Readonly<Record<string, fc.Arbitrary<string>>>;
  /** A near-valid JSON body. */
  readonly json?: fc.Arbitrary<unknown>;
  /** Left to its own property (sign-in, the stream's tickets, uploads, sign-out). */
  readonly own?: true;
  readonly predict: (c: Ctx) => Prediction | Promise<Prediction>;
}

const ok = (
  statuses: readonly number[] = [200],
  writes = false,
  check?: Prediction['check'],
): Prediction => ({
  statuses,
  writes,
  ...(check ? { check } : {}),
});
const read = <T>(fn: (tx: ReadTx) => T): Promise<T> => storage.read(fn);
const isSupervisor = (c: Ctx) => roleAllows(c.auth.role, 'supervisor');
/** `c.req.json().catch(() => fallback)` */
const lenient = (b: BodyView, fallback: unknown) => (b.json.ok ? b.json.value : fallback);
/** A body read by `readJsonOr` (lenient, 64 KB at most): over the limit is a 413, read first. */
const tooBig = (b: BodyView) => b.declared > 64 * 1024 || b.bytes.length > 64 * 1024;
const nonEmptyReason = (v: unknown) => {
  const reason = field(v, 'reason');
  return typeof reason === 'string' && reason.trim() !== '';
};
const wholeIn = (v: string | undefined, dflt: number, min: number, max: number) => {
  const n = Number(v ?? dflt);
  return Number.isSafeInteger(n) && n >= min && n <= max;
};
const listOf = (v: string | undefined) => v?.split(',').filter((x) => x !== '');

const bulkJob = (id: string) =>
  read((tx) => {
    const j = tx.job(id);
    return j && j.kind === 'bulk-adjust'
      ? { ...j, done: tx.lastMutationID(`job-${id}`)?.lastMutationID ?? 0 }
      : undefined;
  });

const ROUTES: readonly RouteSpec[] = [
  { method: 'GET', path: '/health', role: null, body: 'none', predict: () => ok() },
  { method: 'GET', path: '/metrics', role: 'supervisor', body: 'none', predict: () => ok() },
  {
    method: 'POST',
    path: '/api/auth/login',
    role: null,
    body: 'json',
    own: true,
    predict: () => ok(),
  },
  {
    method: 'POST',
    path: '/api/auth/logout',
    role: 'operator',
    body: 'none',
    predict: () => ok([204], true),
  },
  { method: 'GET', path: '/api/auth/me', role: 'operator', body: 'none', predict: () => ok() },
  {
    method: 'POST',
    path: '/api/auth/ticket',
    role: 'operator',
    body: 'none',
    predict: () => ok([200], true),
  },
  {
    method: 'POST',
    path: '/sync/push',
    role: 'operator',
    body: 'json',
    predict: (c) => {
      const p = predictPush(c.body, c.auth);
      return p.accepted ? { ...p, statuses: [200], writes: true } : p;
    },
  },
  {
    method: 'POST',
    path: '/sync/pull',
    role: 'operator',
    body: 'json',
    predict: (c) => predictPull(c.body, c.auth),
  },
  {
    method: 'GET',
    path: '/sync/stream',
    role: null,
    body: 'none',
    query: { ticket: asciiStr(43) },
    predict: () => refuse(401),
  },
  {
    method: 'GET',
    path: '/api/stock',
    role: 'operator',
    body: 'none',
    query: {
      itemId: fc.constantFrom('A', 'L', 'S'),
      positionId: fc.constantFrom('P', 'Q'),
      lot: fc.constant('LOT-1'),
      serial: fc.constant('SN-1'),
    },
    predict: () => ok(),
  },
  {
    method: 'GET',
    path: '/api/conflicts',
    role: 'operator',
    body: 'none',
    query: { status: fc.constantFrom('open', 'resolved') },
    predict: (c) => {
      const s = c.q('status');
      return s === undefined || s === 'open' || s === 'resolved' ? ok() : refuse(400);
    },
  },
  {
    method: 'GET',
    path: '/api/conflicts/:id',
    role: 'operator',
    body: 'none',
    params: { id: () => known.conflicts },
    predict: async (c) => {
      const row = await read((tx) => tx.conflictRow(c.param('id')));
      return row && (isSupervisor(c) || row.userId === c.auth.userId) ? ok() : refuse(404);
    },
  },
  {
    method: 'GET',
    path: '/api/lists',
    role: 'operator',
    body: 'none',
    query: {
      status: fc.constantFrom(...LIST_STATUSES, 'open,closed'),
      type: fc.constantFrom(...LIST_TYPES),
      code: fc.constantFrom('R-1'),
      mine: fc.constantFrom('1', '0'),
    },
    predict: (c) => {
      const status = listOf(c.q('status'));
      if (status?.some((x) => !(LIST_STATUSES as readonly string[]).includes(x)))
        return refuse(400);
      const type = c.q('type');
      if (type !== undefined && !(LIST_TYPES as readonly string[]).includes(type))
        return refuse(400);
      return ok();
    },
  },
  {
    method: 'GET',
    path: '/api/lists/:id',
    role: 'operator',
    body: 'none',
    params: { id: () => known.lists },
    predict: async (c) => {
      const list = await read((tx) => tx.list(c.param('id') as never));
      const theirs = list && (list.assignee === c.auth.userId || list.assignee === null);
      return list && (isSupervisor(c) || theirs) ? ok() : refuse(404);
    },
  },
  { method: 'GET', path: '/api/items', role: 'operator', body: 'none', predict: () => ok() },
  { method: 'GET', path: '/api/positions', role: 'operator', body: 'none', predict: () => ok() },
  {
    method: 'GET',
    path: '/api/events',
    role: 'supervisor',
    body: 'none',
    query: {
      after: fc.nat({ max: 50 }).map(String),
      limit: fc.integer({ min: 1, max: 2000 }).map(String),
    },
    predict: (c) => {
      const after = Number(c.q('after') ?? 0);
      const limit = Number(c.q('limit') ?? 200);
      return Number.isInteger(after) &&
        after >= 0 &&
        Number.isInteger(limit) &&
        limit >= 1 &&
        limit <= 2000
        ? ok()
        : refuse(400);
    },
  },
  {
    method: 'POST',
    path: '/api/users',
    role: 'admin',
    body: 'json',
    json: createUserArb,
    predict: (c) => {
      const r = readJsonOf(c.body);
      if ('refused' in r) return refuse(r.refused);
      const u = createUserRequestSchema.safeParse(r.value);
      if (!u.success) return refuse(400);
      const name = foldAscii(u.data.username);
      // Taken, or the job runner's reserved name.
      if (known.credentials.has(name) || name === 'worker') return refuse(409);
      return ok([201], true, (a) => {
        if (a.status === 201) {
          known.credentials.set(name, {
            password: u.data.password,
            active: true,
            role: u.data.role,
          });
        }
      });
    },
  },
  { method: 'GET', path: '/api/users', role: 'admin', body: 'none', predict: () => ok() },
  { method: 'GET', path: '/api/people', role: 'supervisor', body: 'none', predict: () => ok() },
  {
    method: 'PATCH',
    path: '/api/users/:id',
    role: 'admin',
    body: 'json',
    json: updateUserArb,
    params: { id: () => [...known.victims.keys()] },
    predict: (c) => {
      const r = readJsonOf(c.body);
      if ('refused' in r) return refuse(r.refused);
      const u = updateUserRequestSchema.safeParse(r.value);
      if (!u.success) return refuse(400);
      const username = known.victims.get(c.param('id'));
      if (username === undefined) return refuse(404);
      return ok([200], true, (a) => {
        const cred = known.credentials.get(username);
        if (a.status === 200 && cred)
          known.credentials.set(username, {
            password: u.data.password ?? cred.password,
            active: u.data.active ?? cred.active,
            role: u.data.role ?? cred.role,
          });
      });
    },
  },
  { method: 'GET', path: '/api/devices', role: 'supervisor', body: 'none', predict: () => ok() },
  {
    method: 'POST',
    path: '/api/devices/:clientGroupID/revoke',
    role: 'admin',
    body: 'none',
    params: { clientGroupID: () => ['g-fuzz-revoked'] },
    predict: async (c) =>
      !(await read((tx) => tx.device(c.param('clientGroupID'))))
        ? refuse(404) // a device never seen: nothing to revoke
        : ok([200], true, (a, where) => {
            const d = JSON.parse(a.text) as { clientGroupID: string; revokedAt: string | null };
            expect(d.clientGroupID, where).toBe(c.param('clientGroupID'));
            expect(d.revokedAt, where).not.toBeNull();
            known.revokedGroups.add(c.param('clientGroupID'));
          }),
  },
  {
    method: 'POST',
    path: '/api/jobs/bulk-adjust',
    role: 'supervisor',
    body: 'file',
    own: true,
    predict: () => ok([201], true),
  },
  {
    method: 'POST',
    path: '/api/jobs/:id/fail',
    role: 'supervisor',
    body: 'json',
    json: reasonArb,
    params: { id: () => [...known.bulkJobs, ...known.printJobs, ...known.sessions] },
    predict: async (c) => {
      if (tooBig(c.body)) return refuse(413);
      if (!nonEmptyReason(lenient(c.body, {}))) return refuse(400);
      const job = await bulkJob(c.param('id'));
      if (!job) return refuse(404);
      return job.status === 'queued' && job.done < job.total ? ok([200], true) : refuse(409);
    },
  },
  { method: 'GET', path: '/api/jobs', role: 'supervisor', body: 'none', predict: () => ok() },
  {
    method: 'GET',
    path: '/api/jobs/:id',
    role: 'supervisor',
    body: 'none',
    params: { id: () => [...known.bulkJobs, ...known.printJobs] },
    predict: async (c) => ((await bulkJob(c.param('id'))) ? ok() : refuse(404)),
  },
  {
    method: 'GET',
    path: '/api/jobs/:id/plan',
    role: 'supervisor',
    body: 'none',
    params: { id: () => known.bulkJobs },
    query: {
      offset: fc.nat({ max: 5 }).map(String),
      limit: fc.integer({ min: 1, max: 1000 }).map(String),
    },
    predict: async (c) => {
      if (
        !wholeIn(c.q('offset'), 0, 0, Number.MAX_SAFE_INTEGER) ||
        !wholeIn(c.q('limit'), 100, 1, 1000)
      )
        return refuse(400);
      return (await bulkJob(c.param('id'))) ? ok() : refuse(404);
    },
  },
  {
    method: 'POST',
    path: '/api/jobs/:id/start',
    role: 'supervisor',
    body: 'json',
    json: startArb,
    params: { id: () => [...known.bulkJobs, ...known.printJobs] },
    predict: async (c) => {
      if (tooBig(c.body)) return refuse(413);
      const job = await bulkJob(c.param('id'));
      if (!job) return refuse(404);
      const applyValidRows = field(lenient(c.body, {}), 'applyValidRows') === true;
      if (job.status === 'cancelled') return refuse(409);
      if (job.status === 'validated') {
        if (job.total === 0) return refuse(409);
        if (job.rows - job.total > 0 && !applyValidRows) return refuse(409);
      }
      return ok([202], true);
    },
  },
  {
    method: 'GET',
    path: '/api/genealogy',
    role: 'supervisor',
    body: 'none',
    query: {
      node: fc.constantFrom(
        nodeKey({ kind: 'lot', itemId: asItemId('L'), lot: asLot('LOT-1') }),
        nodeKey({ kind: 'serial', itemId: asItemId('S'), serial: asSerial('SN-1') }),
        nodeKey({ kind: 'container', positionId: asPositionId('C') }),
        'lot:L:A%002fB',
        'job:x',
        'shipment:e',
      ),
      direction: fc.constantFrom('ancestors', 'descendants', 'tree'),
      maxDepth: fc.integer({ min: 1, max: MAX_DEPTH_LIMIT }).map(String),
      history: fc.constantFrom('1', '0'),
    },
    predict: (c) => {
      if (!nodeOfKey(c.q('node') ?? '')) return refuse(400);
      if (!['ancestors', 'descendants', 'tree'].includes(c.q('direction') ?? 'tree'))
        return refuse(400);
      if (!depthOk(c.q('maxDepth'))) return refuse(400);
      return ok();
    },
  },
  {
    method: 'GET',
    path: '/api/genealogy/recall',
    role: 'supervisor',
    body: 'none',
    query: {
      itemId: fc.constantFrom('L', 'A'),
      lot: fc.constantFrom('LOT-1', 'none'),
      format: fc.constantFrom('csv', 'pdf', 'json'),
      maxDepth: fc.integer({ min: 1, max: 60 }).map(String),
    },
    predict: (c) => {
      if (!c.q('itemId') || !c.q('lot')) return refuse(400);
      if (!depthOk(c.q('maxDepth'))) return refuse(400);
      const format = c.q('format');
      return format === 'csv' || format === 'pdf' ? ok([200, 409]) : ok();
    },
  },
  {
    method: 'GET',
    path: '/api/count-sessions',
    role: 'operator',
    body: 'none',
    query: {
      status: fc.constantFrom(...COUNT_SESSION_STATUSES, 'planned,counting'),
      mine: fc.constantFrom('1', '0'),
    },
    predict: (c) =>
      listOf(c.q('status'))?.some((x) => !(COUNT_SESSION_STATUSES as readonly string[]).includes(x))
        ? refuse(400)
        : ok(),
  },
  {
    method: 'GET',
    path: '/api/count-sessions/:id',
    role: 'operator',
    body: 'none',
    params: { id: () => known.sessions },
    predict: async (c) => {
      const s = await read((tx) => tx.countSession(c.param('id') as never));
      if (!s) return refuse(404);
      return isSupervisor(c) || s.assignees.includes(c.auth.userId as never) ? ok() : refuse(404);
    },
  },
  {
    method: 'GET',
    path: '/api/count-sessions/:id/lines',
    role: 'supervisor',
    body: 'none',
    params: { id: () => known.sessions },
    query: {
      from: fc.integer({ min: 1, max: 3 }).map(String),
      limit: fc.integer({ min: 1, max: 1000 }).map(String),
    },
    predict: async (c) => {
      if (
        !wholeIn(c.q('from'), 1, 1, Number.MAX_SAFE_INTEGER) ||
        !wholeIn(c.q('limit'), 200, 1, 1000)
      )
        return refuse(400);
      return (await read((tx) => tx.countSession(c.param('id') as never))) ? ok() : refuse(404);
    },
  },
  {
    method: 'GET',
    path: '/api/count-sessions/:id/sheet',
    role: 'supervisor',
    body: 'none',
    params: { id: () => known.sessions },
    query: { format: fc.constantFrom('csv', 'xlsx') },
    predict: async (c) => {
      const format = c.q('format') ?? 'csv';
      if (format !== 'csv' && format !== 'xlsx') return refuse(400);
      return (await read((tx) => tx.countSession(c.param('id') as never))) ? ok() : refuse(404);
    },
  },
  {
    method: 'POST',
    path: '/api/count-sessions/:id/sheet',
    role: 'supervisor',
    body: 'file',
    own: true,
    predict: () => ok(),
  },
  {
    method: 'POST',
    path: '/api/count-sessions/:id/apply',
    role: 'supervisor',
    body: 'none',
    params: { id: () => known.sessions },
    predict: async (c) => {
      const s = await read((tx) => tx.countSession(c.param('id') as never));
      if (!s) return refuse(404);
      if (s.status !== 'applying' && s.status !== 'applied') return refuse(409);
      return ok([200, 202], true);
    },
  },
  {
    method: 'GET',
    path: '/api/count-sessions/:id/apply',
    role: 'supervisor',
    body: 'none',
    params: { id: () => known.sessions },
    predict: async (c) =>
      (await read((tx) => tx.countSession(c.param('id') as never))) ? ok() : refuse(404),
  },
  {
    method: 'POST',
    path: '/api/count-sessions/:id/apply/fail',
    role: 'supervisor',
    body: 'json',
    json: reasonArb,
    params: { id: () => [...known.sessions, ...known.bulkJobs] },
    predict: async (c) => {
      if (tooBig(c.body)) return refuse(413);
      if (!nonEmptyReason(lenient(c.body, {}))) return refuse(400);
      const [job, session] = await read(
        (tx) => [tx.job(c.param('id')), tx.countSession(c.param('id') as never)] as const,
      );
      if (job?.kind !== 'apply-count-session') return refuse(404);
      // Only an apply under way can fail.
      return job.status === 'queued' && session?.status === 'applying'
        ? ok([200], true)
        : refuse(409);
    },
  },
  {
    method: 'GET',
    path: '/api/labels/printers',
    role: 'operator',
    body: 'none',
    predict: () => ok(),
  },
  {
    method: 'POST',
    path: '/api/labels/pdf',
    role: 'operator',
    body: 'json',
    json: pdfArb,
    predict: (c) =>
      tooBig(c.body)
        ? refuse(413)
        : pdfRequest.safeParse(lenient(c.body, undefined)).success
          ? ok([200, 422], false, (a, where) => {
              if (a.status === 200)
                expect(a.bytes.subarray(0, 5).toString('latin1'), where).toBe('%PDF-');
            })
          : refuse(400),
  },
  {
    method: 'POST',
    path: '/api/labels/print',
    role: 'operator',
    body: 'json',
    json: printArb,
    predict: (c) => {
      if (tooBig(c.body)) return refuse(413);
      const r = printRequest.safeParse(lenient(c.body, undefined));
      if (!r.success) return refuse(400);
      if (!PRINTERS.some((p) => p.id === r.data.printerId)) return refuse(404);
      return ok([202, 422], true);
    },
  },
  {
    method: 'GET',
    path: '/api/labels/jobs/:id',
    role: 'operator',
    body: 'none',
    params: { id: () => [...known.printJobs, ...known.bulkJobs] },
    predict: async (c) => {
      const job = await read((tx) => tx.job(c.param('id')));
      return job?.kind === 'print-labels' && (isSupervisor(c) || job.createdBy === c.auth.userId)
        ? ok()
        : refuse(404);
    },
  },
  {
    method: 'POST',
    path: '/api/labels/jobs/:id/claim',
    role: 'supervisor',
    body: 'none',
    params: { id: () => [...known.printJobs, ...known.bulkJobs] },
    predict: async (c) => {
      const job = await read((tx) => tx.job(c.param('id')));
      if (job?.kind !== 'print-labels') return refuse(404);
      return ok([200], true, (a, where) => {
        const r = JSON.parse(a.text) as { print: boolean; state: string };
        expect(r, where).toEqual({ id: job.id, print: job.status === 'queued', state: job.status });
      });
    },
  },
  {
    method: 'POST',
    path: '/api/labels/jobs/:id/result',
    role: 'supervisor',
    body: 'json',
    json: resultArb,
    params: { id: () => [...known.printJobs, ...known.bulkJobs] },
    predict: async (c) => {
      if (tooBig(c.body)) return refuse(413);
      if (!resultRequest.safeParse(lenient(c.body, undefined)).success) return refuse(400);
      const job = await read((tx) => tx.job(c.param('id')));
      return job?.kind === 'print-labels' && job.status === 'queued'
        ? ok([200], true)
        : refuse(404);
    },
  },
];
for (const r of ROUTES)
  Object.defineProperty(r, fc.toStringMethod, { value: () => `${r.method} ${r.path}` });
const depthOk = (v: string | undefined) => {
  if (v === undefined) return true;
  const d = Number(v);
  return Number.isInteger(d) && d >= 1 && d <= MAX_DEPTH_LIMIT;
};

/** The URL of a route with these parameters and this query. */
function urlOf(
  route: RouteSpec,
  params: Readonly<Record<string, ParamSpec>>,
  query: QuerySpec,
): string {
  const p = route.path.replace(/:([A-Za-z]+)/g, (_, name: string) =>
    segment(params[name] ?? { value: 'none' }),
  );
  return p + qs(query);
}

interface RouteCase {
  readonly route: RouteSpec;
  readonly token: TokenSpec;
  readonly params: Readonly<Record<string, ParamSpec>>;
  readonly query: QuerySpec;
  readonly body: BodySpec;
  readonly contentType: string | null;
  readonly contentLength: string | null;
  /** A method the route does not answer (→ 404), when set. */
  readonly method: string | null;
}
const paramsArb = (r: RouteSpec) =>
  fc.record(
    Object.fromEntries(Object.entries(r.params ?? {}).map(([k, pool]) => [k, paramArb(pool)])),
  );
const routeCaseArb = (routes: readonly RouteSpec[], token: fc.Arbitrary<TokenSpec>) =>
  fc.constantFrom(...routes).chain((route) =>
    fc.record({
      route: fc.constant(route),
      token,
      params: paramsArb(route),
      query: queryArb(route.query ?? {}),
      body:
        route.path === '/sync/push'
          ? pushSpecArb(3).map((p) => ({
              kind: 'json' as const,
              value: p,
              mangle: 'none' as const,
            }))
          : route.path === '/sync/pull'
            ? pullSpecArb(3).map((p) => ({
                kind: 'json' as const,
                value: p,
                mangle: 'none' as const,
              }))
            : route.body === 'none'
              ? fc.oneof(
                  { weight: 5, arbitrary: fc.constant({ kind: 'none' as const }) },
                  { weight: 1, arbitrary: bodyArb(wild) },
                )
              : bodyArb(route.json ?? wild),
      contentType: contentTypeArb,
      contentLength: contentLengthArb,
      method: rarely(fc.constantFrom('GET', 'POST', 'PATCH', 'PUT', 'DELETE', 'OPTIONS'), 15),
    }),
  );

/** Push and pull bodies are specs until sent (their ids and cookies depend on the state). */
function materializeBody(c: RouteCase, auth: Authn): BodySpec {
  if (c.body.kind !== 'json') return c.body;
  const role = auth.role ?? 'operator';
  if (c.route.path === '/sync/push' && isPushSpec(c.body.value))
    return {
      kind: 'json',
      value: materializePush(c.body.value, auth, role).body,
      mangle: c.body.mangle,
    };
  if (c.route.path === '/sync/pull' && isPullSpec(c.body.value))
    return { kind: 'json', value: materializePull(c.body.value, auth), mangle: c.body.mangle };
  return c.body;
}
const isPushSpec = (v: unknown): v is PushSpec =>
  v !== null && typeof v === 'object' && 'pad' in v && 'mutations' in v;
const isPullSpec = (v: unknown): v is PullSpec =>
  v !== null && typeof v === 'object' && 'cookie' in v && 'drop' in v && !('pad' in v);

const ROUTE_KEYS = new Set(ROUTES.map((r) => `${r.method} ${r.path}`));
/** The routes whose answer may write (2xx only: checked for every answer). */
const WRITING = new Set([
  'POST /api/auth/login',
  'POST /api/auth/logout',
  'POST /api/auth/ticket',
  'POST /sync/push',
  'POST /sync/pull',
  'POST /api/users',
  'PATCH /api/users/:id',
  'POST /api/devices/:clientGroupID/revoke',
  'POST /api/jobs/bulk-adjust',
  'POST /api/jobs/:id/fail',
  'POST /api/jobs/:id/start',
  'POST /api/count-sessions/:id/apply',
  'POST /api/count-sessions/:id/apply/fail',
  'POST /api/labels/print',
  'POST /api/labels/jobs/:id/claim',
  'POST /api/labels/jobs/:id/result',
]);
/** The routes that answer this method on this URL (literal segments equal, parameters non-empty). */
function routesFor(method: string, url: string): RouteSpec[] {
  const segments = (url.split('?')[0] ?? '').split('/');
  return ROUTES.filter((r) => {
    const pattern = r.path.split('/');
    return (
      r.method === (method === 'HEAD' ? 'GET' : method) &&
      pattern.length === segments.length &&
      pattern.every((p, i) => (p.startsWith(':') ? segments[i] !== '' : p === segments[i]))
    );
  });
}

/** One generated request to a route, sent in-process, checked against its prediction. */
async function runRouteCase(c: RouteCase): Promise<boolean> {
  return (await routeCase(c)).wrote;
}
async function routeCase(c: RouteCase): Promise<{ a: Answer; wrote: boolean }> {
  let auth = authOf(c.token);
  const headers: [string, string][] = [];
  // Signing out ends a session: with a valid token, a fresh session of the same user.
  let minted = false;
  if (c.route.path === '/api/auth/logout' && auth.role !== null) {
    const token = await mint(auth.userId);
    minted = true;
    auth = { ...auth, header: `Bearer ${token}`, group: null };
  }
  if (auth.header !== undefined) headers.push(['authorization', auth.header]);
  if (c.contentType !== null) headers.push(['content-type', c.contentType]);
  const method = c.method ?? c.route.method;
  const body =
    method === 'GET' || method === 'HEAD' ? undefined : bodyBytes(materializeBody(c, auth));
  if (c.contentLength !== null && body !== undefined)
    headers.push(['content-length', c.contentLength]);
  const w: Wire = { method, url: urlOf(c.route, c.params, c.query), headers, body };

  if (method !== c.route.method) {
    // Another method: 404, unless another route answers it (then the invariants only).
    const others = routesFor(method, w.url);
    const a = await send(w);
    checkAnswer(w, a, { mayWrite: others.some((r) => WRITING.has(`${r.method} ${r.path}`)) });
    if (others.length === 0) expect(a.status, show(w, a)).toBe(404);
    return { a, wrote: a.wrote || minted };
  }
  let prediction: Prediction;
  let headBefore = 0;
  const lmids = new Map<string, number>();
  if (c.route.role !== null && auth.role === null) prediction = refuse(401);
  else if (
    c.route.role !== null &&
    (!roleAllows(auth.role as Role, c.route.role) ||
      // A session of a revoked device: every /api route but signing out (push and pull
      // refuse it after reading the request: their own predictions).
      (c.route.path.startsWith('/api/') &&
        auth.group !== null &&
        known.revokedGroups.has(auth.group)))
  )
    prediction = refuse(403);
  else {
    const ctx: Ctx = {
      auth: { ...auth, role: auth.role ?? 'operator' },
      param: (name) => paramValue(c.params[name] ?? { value: '' }),
      q: (key) => queryGet(c.query, key),
      body: viewOf(body, body !== undefined ? (c.contentLength ?? undefined) : undefined, true),
    };
    prediction = await c.route.predict(ctx);
    if (c.route.path === '/sync/push') {
      const p = predictPush(ctx.body, ctx.auth);
      if (p.accepted) {
        headBefore = db.head();
        for (const m of p.accepted.mutations)
          lmids.set(m.clientID, db.client(m.clientID)?.lmid ?? 0);
        const accepted = p.accepted;
        prediction = {
          statuses: [200],
          writes: true,
          check: (a, at) => verifyPush(accepted, ctx.auth, headBefore, lmids, a, at),
        };
      }
    }
  }
  const a = await send(w);
  note(`${c.route.method} ${c.route.path} ${a.status}`);
  const at = show(w, a);
  checkAnswer(w, a, { mayWrite: prediction.writes });
  if (!prediction.statuses.includes(a.status))
    expect(prediction.statuses, `unexpected status: ${at}`).toContain(a.status);
  prediction.check?.(a, at);
  return { a, wrote: a.wrote || minted };
}

// ─── Uploads ─────────────────────────────────────────────────────────────────────────────────

type FileSpec =
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array }
  | { readonly kind: 'zip-prefixed'; readonly bytes: Uint8Array }
  | {
      readonly kind: 'csv';
      readonly rows: readonly (readonly string[])[];
      readonly sep: string;
      readonly latin1: boolean;
      readonly bom: boolean;
    }
  | {
      readonly kind: 'xlsx-mutated';
      readonly flips: readonly (readonly [number, number])[];
      readonly cut: number | null;
    }
  | {
      readonly kind: 'xlsx';
      readonly rows: readonly (readonly unknown[])[];
      readonly dateFormat: boolean;
    }
  | { readonly kind: 'empty' }
  | { readonly kind: 'huge' };
const cellArb = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'A',
      'L',
      'S',
      'P',
      'Q',
      'R',
      'C',
      '1',
      '-1',
      '0',
      'found',
      'damaged',
      'LOT-1',
      'SN-1',
      '4006381333931',
      '',
    ),
  },
  { weight: 2, arbitrary: anyStr },
  {
    weight: 1,
    arbitrary: fc.constantFrom('"', '""', 'a"b', ',', ';', '\n', '\r\n', '=1+1', '1e400', 'NaN'),
  },
);
const HEADERS = [
  'item',
  'position',
  'delta',
  'reason',
  'lot',
  'serial',
  'note',
  'counted',
  'session',
  'expected',
  'description',
];
const xlsxCellArb: fc.Arbitrary<unknown> = fc.oneof(
  cellArb,
  fc.double(),
  fc.constantFrom(1e300, -1e300, 2958466, -1, 0, 1e20, 1e-300),
  fc.date(),
  fc.boolean(),
  fc.record({
    formula: fc.constantFrom('1+1', 'A1', 'SUM(A1:A2)', 'BOGUS('),
    result: fc.oneof(fc.double(), anyStr, fc.constant(undefined)),
  }),
  fc.record({ richText: fc.array(fc.record({ text: anyStr }), { maxLength: 2 }) }),
  fc.record({ error: fc.constantFrom('#N/A', '#DIV/0!', '#REF!') }),
  fc.record({ text: anyStr, hyperlink: fc.constantFrom('http://x', 'mailto:a@b', '') }),
);
const fileArb: fc.Arbitrary<FileSpec> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('bytes' as const),
      bytes: fc.uint8Array({ maxLength: 512 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('zip-prefixed' as const),
      bytes: fc.uint8Array({ maxLength: 512 }),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('csv' as const),
      rows: fc
        .tuple(
          fc.shuffledSubarray(HEADERS, { minLength: 0 }),
          fc.array(fc.array(cellArb, { maxLength: 8 }), { maxLength: 6 }),
        )
        .map(([h, rows]) => [h, ...rows]),
      sep: fc.constantFrom(',', ';', '\t'),
      latin1: fc.boolean(),
      bom: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('xlsx-mutated' as const),
      flips: fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 4 }),
      cut: fc.option(fc.nat()),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('xlsx' as const),
      rows: fc
        .tuple(
          fc.shuffledSubarray(HEADERS, { minLength: 0 }),
          fc.array(fc.array(xlsxCellArb, { maxLength: 8 }), { maxLength: 5 }),
        )
        .map(([h, rows]) => [h, ...rows]),
      dateFormat: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'empty' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'huge' as const }) },
);
async function fileBytes(f: FileSpec): Promise<Uint8Array> {
  switch (f.kind) {
    case 'bytes':
      return f.bytes;
    case 'zip-prefixed':
      return Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), f.bytes]);
    case 'empty':
      return new Uint8Array();
    case 'huge':
      return Buffer.alloc(10 * 1024 * 1024 + 1, 'a');
    case 'csv': {
      const quote = (cell: string) =>
        /[",;\t\r\n]/.test(cell) ? `"${cell.replaceAll('"', '""')}"` : cell;
      const text =
        (f.bom ? '\ufeff' : '') + f.rows.map((r) => r.map(quote).join(f.sep)).join('\r\n');
      return f.latin1 ? Buffer.from(wellFormed(text), 'latin1') : encoder.encode(text);
    }
    case 'xlsx-mutated': {
      const b = Buffer.from(known.xlsx);
      for (const [at, v] of f.flips) b[at % b.length] = v;
      return f.cut === null ? b : b.subarray(0, f.cut % b.length);
    }
    case 'xlsx': {
      const wb = new ExcelJS.Workbook();
      const ws = wb.addWorksheet('sheet');
      for (const row of f.rows) {
        // Plain objects: ExcelJS calls `hasOwnProperty` on cell values.
        const r = ws.addRow(structuredClone(row));
        if (f.dateFormat) r.eachCell((cell) => (cell.numFmt = 'yyyy-mm-dd'));
      }
      return Buffer.from(await wb.xlsx.writeBuffer());
    }
  }
}

// ─── Properties ──────────────────────────────────────────────────────────────────────────────

beforeAll(async () => {
  await setup();
  console.log(`fuzz: FUZZ_SEED=${BASE_SEED} FUZZ_RUNS=${TOTAL}`);
}, 60_000);

afterAll(async () => {
  const lines = Object.entries(stats).map(
    ([name, s]) =>
      `  ${name}: ${s.cases} cases in ${s.batches} batches (${s.clean} unchanged byte for byte), ${(s.ms / 1000).toFixed(1)} s`,
  );
  const total = Object.values(stats).reduce((n, s) => n + s.cases, 0);
  console.log(`fuzz: ${total} cases (FUZZ_SEED=${BASE_SEED})\n${lines.join('\n')}`);
  if (PROFILE)
    console.log(
      [...seen]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, n]) => `  ${k}: ${n}`)
        .join('\n'),
    );
  await handle?.close();
  await loginHandle?.close();
  await new Promise<void>((resolve) => {
    if (!server) return resolve();
    server.close(() => resolve());
    server.closeAllConnections(); // kept alive for 95 s otherwise
  });
  db?.close();
  await storage?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('fuzzing: regressions (each found by this file, each a 500 before its fix)', () => {
  const call = (method: string, url: string, token: string, body?: string | Uint8Array) =>
    send({
      method,
      url,
      headers: [['authorization', `Bearer ${token}`]],
      body: typeof body === 'string' ? encoder.encode(body) : body,
    });

  it('a mutation whose args nest 12,000 levels deep is rejected and recorded, not a 500 (replay/push.ts)', async () => {
    // JSON.stringify of the rejection's record overflowed the stack: the push failed whole,
    // every time the device sent it again.
    for (const [deep, name] of [
      ['['.repeat(12_000) + ']'.repeat(12_000), 'closeList'],
      ['{"a":'.repeat(12_000) + '1' + '}'.repeat(12_000), 'resolveConflict'],
    ] as const) {
      const clientID = `fz-deep-${randomUUID()}`;
      const a = await call(
        'POST',
        '/sync/push',
        known.tokens.admin,
        `{"pushVersion":1,"clientGroupID":"${known.groups.admin}","mutations":[{"clientID":"${clientID}","id":1,"name":"${name}","args":{"conflictId":"x","action":"compensate","note":"n","args":{"deep":${deep}}}}]}`,
      );
      checkAnswer({ method: 'POST', url: '/sync/push', headers: [] }, a, { mayWrite: true });
      const result = (
        JSON.parse(a.text) as { results: { status: string; error?: { code: string } }[] }
      ).results[0];
      expect(result?.status).toBe('rejected');
      const [event] = await read((tx) => tx.eventsOfMutation(clientID, 1));
      expect((event?.data as { mutation: { args: unknown } }).mutation.args).toEqual({
        unrecorded: 'args nested more than 64 levels deep',
      });
    }
  });

  it('a rejected mutation of 4 MB, or with a name of 100,000 characters, is recorded bounded: not sent whole to every device', async () => {
    const clientID = `fz-big-${randomUUID()}`;
    const a = await call(
      'POST',
      '/sync/push',
      known.tokens.admin,
      JSON.stringify({
        pushVersion: 1,
        clientGroupID: known.groups.admin,
        mutations: [
          { clientID, id: 1, name: 'moveStock', args: { itemId: 'x'.repeat(4_000_000) } },
          { clientID, id: 2, name: 'n'.repeat(100_000), args: {} },
        ],
      }),
    );
    checkAnswer({ method: 'POST', url: '/sync/push', headers: [] }, a, { mayWrite: true });
    const results = (JSON.parse(a.text) as { results: { status: string }[] }).results;
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    const [big] = await read((tx) => tx.eventsOfMutation(clientID, 1));
    expect((big?.data as { mutation: { args: unknown } }).mutation.args).toEqual({
      unrecorded: 'args of 4000013 bytes (more than 65536)',
    });
    const [named] = await read((tx) => tx.eventsOfMutation(clientID, 2));
    const name = (named?.data as { mutation: { name: string } }).mutation.name;
    expect(name).toBe(`${'n'.repeat(127)}…`);
    // The admins' conflict keeps the args whole: a large one can still be corrected.
    const conflict = (await read((tx) => tx.conflicts({ status: 'open' }))).find(
      (c) => c.mutation?.clientID === clientID && c.mutation.id === 1,
    );
    expect(JSON.stringify(conflict?.mutation?.args).length).toBeGreaterThan(4_000_000);
  });

  it('an XLSX cell of 1e20 formatted as a date is a row problem, not a 500 (jobs/files.ts)', async () => {
    // ExcelJS reads it as an invalid Date, whose toISOString threw.
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('adjust');
    ws.addRow(['item', 'position', 'delta', 'reason']);
    ws.addRow(['A', 'P', 1e20, 'found']).eachCell((cell) => (cell.numFmt = 'yyyy-mm-dd'));
    const xlsx = Buffer.from(await wb.xlsx.writeBuffer());
    const upload = await call('POST', '/api/jobs/bulk-adjust', known.tokens.supervisor, xlsx);
    expect(upload.status, upload.text).toBe(201);
    expect(JSON.parse(upload.text)).toMatchObject({ rows: 1, total: 0, errorCount: 1 });
    const sheet = await call(
      'POST',
      `/api/count-sessions/${known.sessions[0]}/sheet`,
      known.tokens.supervisor,
      xlsx,
    );
    expect(sheet.status, sheet.text).toBe(200);
  });

  it('a JSON body of null to a worker endpoint is a 4xx, not a 500 (jobs/routes.ts, counting/routes.ts)', async () => {
    // `body.reason` of a null body threw a TypeError.
    const [validated] = known.bulkJobs as [string];
    for (const [url, status] of [
      [`/api/jobs/${validated}/fail`, 400],
      [`/api/jobs/${validated}/start`, 409],
      [`/api/count-sessions/${known.sessions[0]}/apply/fail`, 400],
    ] as const) {
      const a = await call('POST', url, known.tokens.supervisor, 'null');
      checkAnswer({ method: 'POST', url, headers: [] }, a, { mayWrite: false });
      expect(a.status, `${url}: ${a.text}`).toBe(status);
    }
  });

  it('a recall PDF for an item or lot with control characters is drawn, not a 500 (workers recall-pdf.ts)', async () => {
    // Helvetica cannot draw U+0010, which "below 256" let through to pdf-lib.
    const a = await call(
      'GET',
      '/api/genealogy/recall?itemId=%10%0F&lot=%00%7F%C2%85&format=pdf',
      known.tokens.supervisor,
    );
    expect(a.status, a.text).toBe(200);
    expect(a.bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
  });
});

describe('fuzzing every HTTP endpoint', () => {
  it('covers every route the app has', () => {
    const routes = handle.app.routes
      .filter((r) => r.method !== 'ALL')
      .map((r) => `${r.method} ${r.path}`);
    expect(new Set(routes)).toEqual(ROUTE_KEYS);
  });

  it(
    'without a valid token, or with too small a role, every endpoint answers 401 / 403 and writes nothing',
    async () => {
      const protectedRoutes = ROUTES.filter((r) => r.role !== null);
      const arb = fc
        .oneof(
          routeCaseArb(protectedRoutes, invalidTokenArb),
          routeCaseArb(
            protectedRoutes.filter((r) => r.role !== 'operator'),
            validTokenArb(['operator', 'supervisor']),
          ).filter((c) => !roleAllows(authOf(c.token).role as Role, c.route.role as Role)),
        )
        .map((c) => ({ ...c, method: null }));
      await fuzz('auth', arb, runRouteCase);
    },
    timeoutOf(WEIGHTS.auth),
  );

  it(
    'every endpoint, with valid tokens of every role and malformed parameters, queries and bodies',
    async () => {
      const arb = routeCaseArb(
        ROUTES.filter((r) => !r.own),
        fc.oneof(
          { weight: 9, arbitrary: validTokenArb() },
          { weight: 1, arbitrary: invalidTokenArb },
        ),
      );
      await fuzz('routes', arb, runRouteCase);
    },
    timeoutOf(WEIGHTS.routes),
  );

  it(
    'malformed push envelopes are refused whole: nothing written',
    async () => {
      const push = ROUTES.find((r) => r.path === '/sync/push') as RouteSpec;
      const arb = fc.record({
        token: fc.oneof(
          { weight: 8, arbitrary: validTokenArb() },
          {
            weight: 1,
            arbitrary: fc.constant<TokenSpec>({ kind: 'revoked-device', format: 0, junk: '' }),
          },
        ),
        spec: pushSpecArb(0),
        corruptions: fc.array(corruptionArb, { minLength: 1, maxLength: 2 }),
        contentType: contentTypeArb,
      });
      await fuzz('envelopes', arb, async (c) => {
        const auth = authOf(c.token);
        const { body } = materializePush(c.spec, auth, auth.role ?? 'operator');
        let text = '';
        for (const k of c.corruptions) text = corrupt(body, k, auth);
        const { a, wrote } = await routeCase({
          route: push,
          token: c.token,
          params: {},
          query: [],
          body: { kind: 'text', text },
          contentType: c.contentType,
          contentLength: null,
          method: null,
        });
        // Refused: a problem, or Replicache's VersionNotSupported — never results.
        if (a.status === 200 && !versionNotSupportedSchema.safeParse(JSON.parse(a.text)).success)
          expect.fail(
            `a spoiled push was taken: ${show({ method: 'POST', url: '/sync/push', headers: [], body: encoder.encode(text) }, a)}`,
          );
        same(wrote, false, () => `a spoiled push wrote: ${a.text.slice(0, 300)}`);
        return wrote;
      });
    },
    timeoutOf(WEIGHTS.envelopes),
  );

  it(
    'mutations for every command name, with malformed arguments: each applied or rejected and recorded, exactly',
    async () => {
      const push = ROUTES.find((r) => r.path === '/sync/push') as RouteSpec;
      const arb = fc.record({
        route: fc.constant(push),
        token: validTokenArb(),
        params: fc.constant({}),
        query: fc.constant([] as QuerySpec),
        body: pushSpecArb(0).map((p) => ({
          kind: 'json' as const,
          value: p,
          mangle: 'none' as const,
        })),
        contentType: fc.constant(null),
        contentLength: fc.constant(null),
        method: fc.constant(null),
      });
      await fuzz('mutations', arb, runRouteCase);
      // Every command of the protocol was fuzzed (a small budget may miss some).
      if (runsOf(WEIGHTS.mutations) >= 1000)
        expect(COMMAND_NAMES.filter((n) => !decided.has(n))).toEqual([]);
    },
    timeoutOf(WEIGHTS.mutations),
  );

  it(
    'pulls, valid and malformed: a page the client can read, or refused; a bound session never writes',
    async () => {
      const pull = ROUTES.find((r) => r.path === '/sync/pull') as RouteSpec;
      const arb = fc.record({
        route: fc.constant(pull),
        token: fc.oneof(
          { weight: 6, arbitrary: validTokenArb() },
          {
            weight: 1,
            arbitrary: fc.constant<TokenSpec>({ kind: 'revoked-device', format: 0, junk: '' }),
          },
          { weight: 1, arbitrary: invalidTokenArb },
        ),
        params: fc.constant({}),
        query: fc.constant([] as QuerySpec),
        body: pullSpecArb(3).map((p) => ({
          kind: 'json' as const,
          value: p,
          mangle: 'none' as const,
        })),
        contentType: contentTypeArb,
        contentLength: contentLengthArb,
        method: fc.constant(null),
      });
      await fuzz('pull', arb, runRouteCase);
    },
    timeoutOf(WEIGHTS.pull),
  );

  it(
    'sign-in with malformed bodies and wrong credentials: 400 / 401, throttled with 429 exactly when due',
    async () => {
      const arb = fc.record({
        user: fc.oneof(
          {
            weight: 5,
            arbitrary: fc.constantFrom(
              'admin',
              'sup',
              'op1',
              'v1',
              'v2',
              'gone',
              'ADMIN',
              'Sup',
              'OP1',
            ),
          },
          { weight: 2, arbitrary: anyStr },
        ),
        password: fc.oneof(
          { weight: 4, arbitrary: fc.constant('$right') },
          { weight: 3, arbitrary: anyStr },
          { weight: 1, arbitrary: wild },
        ),
        group: fc.option(
          fc.oneof(
            fc.constant('$fresh'),
            // Revoked; bound to a secret; seen before without one (a sign-in never binds it);
            // service groups (an operator may not name them; they never get a secret).
            fc.constantFrom('g-fuzz-revoked', 'g-fuzz-secured', 'g-fuzz-sup', 'labels', 'job-fuzz'),
            anyStr,
            wild,
          ),
          { freq: 3 },
        ),
        extra: rarely(
          fc.oneof(
            fc.tuple(anyStr, wild),
            fc.tuple(
              fc.constant('deviceSecret'),
              fc.oneof(fc.constant(FUZZ_DEVICE_SECRET), asciiStr(40), wild),
            ),
          ),
          4,
        ),
        mangle: mangleArb,
        raw: rarely(fc.oneof(fc.constantFrom(...MALFORMED_TEXTS), anyStr), 10),
        xff: fc.option(
          fc.oneof(
            fc.constantFrom('10.0.0.1', '10.0.0.2', '10.0.0.1, 10.9.9.9', '', ' , '),
            asciiStr(20),
          ),
          { freq: 2 },
        ),
        contentLength: contentLengthArb,
        wait: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 120_000 })),
      });
      await fuzz('login', arb, async (c) => {
        loginClock.advance(c.wait);
        const cred =
          typeof c.user === 'string' ? known.credentials.get(foldAscii(c.user)) : undefined;
        const password =
          c.password === '$right' ? (cred?.password ?? 'no-such-password') : c.password;
        const value: Record<string, unknown> = {
          username: c.user,
          password,
          ...(c.group !== null
            ? { clientGroupID: c.group === '$fresh' ? `g-${randomUUID()}` : c.group }
            : {}),
          ...(c.extra ? { [c.extra[0]]: c.extra[1] } : {}),
        };
        const text = c.raw ?? mangled(toJson(value), c.mangle);
        const body = encoder.encode(text);
        const headers: [string, string][] = [];
        if (c.xff !== null) headers.push(['x-forwarded-for', c.xff]);
        if (c.contentLength !== null) headers.push(['content-length', c.contentLength]);
        const w: Wire = { method: 'POST', url: '/api/auth/login', headers, body };
        const view = viewOf(body, c.contentLength ?? undefined, true);
        const r = readJsonOf(view);
        let expected: number;
        let after: ((status: number) => void) | undefined;
        if ('refused' in r) expected = r.refused;
        else {
          const l = loginRequestSchema.safeParse(r.value);
          if (!l.success) expected = 400;
          else {
            // No trusted proxy: X-Forwarded-For is ignored; in-process, the address is `direct`.
            const keys = throttleKeys(l.data.username, 'direct');
            const now = loginClock.ms;
            const known_ = known.credentials.get(foldAscii(l.data.username));
            const right =
              known_ !== undefined && known_.active && known_.password === l.data.password;
            if (throttleModel.retryAfter(keys, now) > 0) expected = 429;
            else if (!right) {
              expected = 401;
              // The same answer for every refused sign-in, a deactivated account's right password
              // included: a guess learns nothing.
              after = (status) => {
                throttleModel.fail(keys, now);
                if (status === 401)
                  expect(JSON.parse(a.text), show(w, a)).toMatchObject({ code: 'BAD_CREDENTIALS' });
              };
            } else {
              const group = typeof l.data.clientGroupID === 'string' ? l.data.clientGroupID : null;
              const presented = l.data.deviceSecret ? sha256(l.data.deviceSecret) : null;
              const seen = group === null ? undefined : db.device(group);
              // The model's own copy of the service groups (apply-push.ts has the server's).
              const service =
                group !== null &&
                (group === 'server' ||
                  group === 'labels' ||
                  group.startsWith('job-') ||
                  group.startsWith('erp-'));
              expected =
                group !== null &&
                ((service && known_.role === 'operator') ||
                  known.revokedGroups.has(group) ||
                  (!!seen?.secretHash && seen.secretHash !== presented))
                  ? 403
                  : 200;
              after = (status) => {
                throttleModel.succeed(keys);
                if (status !== 200 || group === null) return;
                // Only a group's first sign-in binds a secret, and never a service group's; a
                // bound one keeps its own.
                const bound = seen === undefined ? (service ? null : presented) : seen.secretHash;
                expect(db.device(group)?.secretHash ?? null, `the secret of ${group}`).toBe(bound);
              };
            }
          }
        }
        const a = await send(w, loginHandle);
        const at = show(w, a);
        checkAnswer(w, a, { mayWrite: expected === 200 });
        expect(a.status, at).toBe(expected);
        if (a.status === 200) {
          const res = JSON.parse(a.text) as { token: string; user: { username: string } };
          expect(foldAscii(res.user.username), at).toBe(foldAscii(String(c.user)));
          expect(a.wrote, at).toBe(true);
        }
        after?.(a.status);
        return a.wrote;
      });
    },
    timeoutOf(WEIGHTS.login),
  );

  it(
    'random bytes, CSV and XLSX files as uploads: a check report, or 400 / 413 / 422',
    async () => {
      const arb = fc.record({
        target: fc.constantFrom('bulk-adjust', 'sheet'),
        session: paramArb(() => known.sessions),
        token: fc.oneof(
          { weight: 8, arbitrary: validTokenArb(['supervisor', 'admin']) },
          { weight: 1, arbitrary: validTokenArb(['operator']) },
        ),
        file: fileArb,
        fileName: fc.option(anyStr),
        contentType: contentTypeArb,
        contentLength: contentLengthArb,
      });
      await fuzz('uploads', arb, async (c) => {
        const auth = authOf(c.token);
        const bytes = await fileBytes(c.file);
        const headers: [string, string][] = [['authorization', auth.header as string]];
        if (c.contentType !== null) headers.push(['content-type', c.contentType]);
        if (c.contentLength !== null) headers.push(['content-length', c.contentLength]);
        const url =
          c.target === 'bulk-adjust'
            ? `/api/jobs/bulk-adjust${c.fileName !== null ? `?fileName=${encodeURIComponent(wellFormed(c.fileName))}` : ''}`
            : `/api/count-sessions/${segment(c.session)}/sheet`;
        const w: Wire = { method: 'POST', url, headers, body: bytes };
        const limit = 10 * 1024 * 1024;
        const isZip = bytes.length >= 4 && Buffer.from(bytes).readUInt32BE(0) === 0x504b0304;
        let statuses: number[];
        if (!roleAllows(auth.role as Role, 'supervisor')) statuses = [403];
        else if (Number(c.contentLength) > limit || bytes.length > limit) statuses = [413];
        else if (bytes.length === 0) statuses = [400];
        else if (c.target === 'bulk-adjust') statuses = isZip ? [201, 413, 422] : [201, 422];
        else {
          const exists = await read((tx) => tx.countSession(paramValue(c.session) as never));
          statuses = [exists ? 200 : 404, 422, ...(isZip ? [413] : [])];
        }
        const a = await send(w);
        const at = show(w, a);
        checkAnswer(w, a, { mayWrite: c.target === 'bulk-adjust' });
        if (!statuses.includes(a.status))
          expect(statuses, `unexpected status: ${at}`).toContain(a.status);
        if (a.status === 201) {
          const job = JSON.parse(a.text) as {
            kind: string;
            state: string;
            done: number;
            rows: number;
            total: number;
            errorCount: number;
          };
          expect(job, at).toMatchObject({ kind: 'bulk-adjust', state: 'validated', done: 0 });
          expect(job.errorCount, at).toBe(job.rows - job.total);
          expect(a.wrote, at).toBe(true);
        }
        if (a.status === 200) {
          const report = JSON.parse(a.text) as {
            commands: unknown[];
            errors: unknown[];
            errorCount: number;
          };
          expect(Array.isArray(report.commands) && Array.isArray(report.errors), at).toBe(true);
          if (report.errorCount > 0) expect(report.commands, at).toEqual([]);
        }
        return a.wrote;
      });
    },
    timeoutOf(WEIGHTS.uploads),
  );

  it(
    'push and pull over a socket (the lean Node path): the same answers, bodies counted while read',
    async () => {
      const arb = fc.record({
        kind: fc.constantFrom('push', 'pull'),
        token: fc.oneof(
          { weight: 6, arbitrary: validTokenArb() },
          { weight: 1, arbitrary: invalidTokenArb },
        ),
        push: pushSpecArb(3),
        pull: pullSpecArb(3),
        mangle: mangleArb,
        chunked: fc.boolean(),
        query: rarely(fc.constantFrom('?x=1', '?'), 8),
        // A declared length beyond the limit: refused before the body is read.
        declared: rarely(fc.constantFrom('5242881', '99999999999'), 20),
      });
      await fuzz('lean', arb, async (c) => {
        const auth = authOf(c.token);
        const role = auth.role ?? 'operator';
        const value =
          c.kind === 'push'
            ? materializePush(c.push, auth, role).body
            : materializePull(c.pull, auth);
        const body = encoder.encode(mangled(toJson(value), c.mangle));
        const headers: [string, string][] = [];
        if (auth.header !== undefined) headers.push(['authorization', auth.header]);
        if (c.declared !== null) headers.push(['content-length', c.declared]);
        const w = {
          method: 'POST',
          url: `/sync/${c.kind}${c.query ?? ''}`,
          headers,
          body,
          chunked: c.chunked && c.declared === null,
        };
        const view = viewOf(body, c.declared ?? undefined, false);
        let prediction: Prediction;
        if (auth.role === null) prediction = refuse(401);
        else if (c.kind === 'pull') prediction = predictPull(view, { ...auth, role });
        else {
          const p = predictPush(view, { ...auth, role });
          if (p.accepted) {
            const headBefore = db.head();
            const lmids = new Map(
              p.accepted.mutations.map((m) => [m.clientID, db.client(m.clientID)?.lmid ?? 0]),
            );
            const accepted = p.accepted;
            prediction = {
              statuses: [200],
              writes: true,
              check: (a, at) => verifyPush(accepted, { ...auth, role }, headBefore, lmids, a, at),
            };
          } else prediction = p;
        }
        const a = await sendNode(w);
        const at = show(w, a);
        checkAnswer(w, a, { mayWrite: prediction.writes });
        if (!prediction.statuses.includes(a.status))
          expect(prediction.statuses, `unexpected status: ${at}`).toContain(a.status);
        prediction.check?.(a, at);
        return a.wrote;
      });
    },
    timeoutOf(WEIGHTS.lean),
  );

  it(
    'the event stream: garbage tickets 401 and nothing written; a ticket opens streams until it expires, writing nothing',
    async () => {
      const arb = fc.record({
        ticket: fc.oneof(
          { weight: 3, arbitrary: fc.constant('$valid') },
          { weight: 1, arbitrary: fc.constant('$revoked-device') },
          { weight: 4, arbitrary: fc.oneof(asciiStr(60), anyStr, fc.constant('')) },
          { weight: 1, arbitrary: fc.constant('$none') },
        ),
        role: fc.constantFrom(...ROLES),
        replay: fc.boolean(),
        lastEventId: fc.option(asciiStr(10), { freq: 3 }),
      });
      await fuzz('stream', arb, async (c) => {
        let wrote = false;
        let ticket: string | undefined;
        if (c.ticket === '$valid') {
          const t = await send({
            method: 'POST',
            url: '/api/auth/ticket',
            headers: [['authorization', `Bearer ${known.tokens[c.role]}`]],
          });
          expect(t.status).toBe(200);
          ticket = (JSON.parse(t.text) as { ticket: string }).ticket;
          wrote = true;
        } else if (c.ticket === '$revoked-device') {
          // A revoked device gets no ticket; a ticket it took before is refused by the stream
          // (minted here as it would have been).
          const t = await send({
            method: 'POST',
            url: '/api/auth/ticket',
            headers: [['authorization', `Bearer ${known.revokedDeviceToken}`]],
          });
          expect(t.status).toBe(403);
          expect(t.wrote).toBe(false);
          ticket = await mintTicket(known.revokedDeviceToken);
          wrote = true;
        } else if (c.ticket !== '$none') ticket = c.ticket;
        const headers: [string, string][] =
          c.lastEventId !== null ? [['last-event-id', c.lastEventId]] : [];
        const url = `/sync/stream${ticket !== undefined ? `?ticket=${encodeURIComponent(wellFormed(ticket))}` : ''}`;
        const w: Wire = { method: 'GET', url, headers };
        const tickets = db.count('tickets');
        const a = await send(w);
        const at = show(w, a);
        // A stream opened (or refused) writes nothing; the ticket stays until it expires.
        checkAnswer(w, a, { mayWrite: false });
        expect(db.count('tickets'), at).toBe(tickets);
        const opens = (answer: Answer, where: string) => {
          expect(answer.status, where).toBe(200);
          expect(answer.text, where).toMatch(/^event: poke\ndata: \{"head":\d+\}\nid: \d+\n/);
        };
        if (c.ticket === '$valid') opens(a, at);
        else expect(a.status, at).toBe(401); // garbage, none, or the device was revoked
        if (c.replay && ticket !== undefined) {
          // An EventSource reconnects with the same URL (and Last-Event-ID): same answer.
          const again = await send(w);
          checkAnswer(w, again, { mayWrite: false });
          if (c.ticket === '$valid') opens(again, show(w, again));
          else expect(again.status, show(w, again)).toBe(401);
        }
        // Every stream hung up is gone from the hub.
        for (let i = 0; i < 100 && handle.hub.size > 0; i++)
          await new Promise((r) => setTimeout(r, 1));
        expect(handle.hub.size).toBe(0);
        return wrote;
      });
    },
    timeoutOf(WEIGHTS.stream),
  );
});
