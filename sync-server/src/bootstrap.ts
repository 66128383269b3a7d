import { randomBytes } from 'node:crypto';
import type { PushMutation } from '@floorsync/domain';
import { MIN_PASSWORD_LENGTH } from '@floorsync/domain';
import type { PasswordHasher } from './auth/passwords.js';
import type { Logger } from './log.js';
import { replayPush } from './replay/push.js';
import type { Storage } from './storage/port.js';

/**
 * First start of a database: the `admin` user, and in demo mode a few users and a small
 * warehouse. The warehouse goes through the replay like any device's mutations — there is
 * one writer path — from the server's own client.
 */
export interface BootstrapOptions {
  readonly storage: Storage;
  readonly hasher: PasswordHasher;
  readonly log: Logger;
  readonly clock: () => Date;
  readonly newId: () => string;
  readonly adminPassword: string | undefined;
  readonly demo: boolean;
  /**
   * Where to print a generated admin password, once (never into the structured log). Printed,
   * not kept in a file: SYNC-PROTOCOL.md says "a random one printed once at start", and tests
   * outside the project read it so. Deployments set ADMIN_PASSWORD (the Compose files must).
   */
  readonly announce: (text: string) => void;
}

export const DEMO_USERS = [
  { username: 'operator', password: 'operator-demo', name: 'Olga Operator', role: 'operator' },
  { username: 'operator2', password: 'operator2-demo', name: 'Omar Operator', role: 'operator' },
  {
    username: 'supervisor',
    password: 'supervisor-demo',
    name: 'Sam Supervisor',
    role: 'supervisor',
  },
] as const;
/**
 * `created`: this call initialised the database. `generatedAdminPassword`: the admin's
 * password when ADMIN_PASSWORD was unset, for the demo's sign-in banner (outside demo mode it
 * has been announced already); shown once, never stored or logged.
 */
export interface BootstrapResult {
  readonly created: boolean;
  readonly generatedAdminPassword?: string;
}

export async function bootstrap(o: BootstrapOptions): Promise<BootstrapResult> {
  const hasUsers = await o.storage.read((tx) => tx.users().length > 0);
  if (hasUsers) return { created: false };
  if (o.adminPassword !== undefined && o.adminPassword.length < MIN_PASSWORD_LENGTH) {
    throw new Error(`ADMIN_PASSWORD must have at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  // Demo mode too: its other users' passwords are published, the admin's never is.
  const password = o.adminPassword ?? randomBytes(12).toString('base64url');
  const generated = o.adminPassword === undefined ? password : undefined;
  const now = o.clock().toISOString();
  const admin = {
    id: o.newId(),
    username: 'admin',
    name: 'Administrator',
    role: 'admin' as const,
    active: true,
    passwordHash: await o.hasher.hash(password),
    createdAt: now,
  };
  const demoUsers = o.demo
    ? await Promise.all(
        DEMO_USERS.map(async (u) => ({
          id: o.newId(),
          username: u.username,
          name: u.name,
          role: u.role,
          active: true,
          passwordHash: await o.hasher.hash(u.password),
          createdAt: now,
        })),
      )
    : [];
  const created = await o.storage.write((tx) => {
    if (tx.users().length > 0) return false; // another instance won the race
    tx.createUser(admin);
    for (const u of demoUsers) tx.createUser(u);
    if (o.demo) {
      const mutations = demoWarehouse();
      tx.touchDevice('server', admin.id, now, 'login');
      replayPush(
        tx,
        { clientGroupID: 'server', mutations, session: { userId: admin.id, role: 'admin' } },
        { now: o.clock, newId: o.newId },
      );
    }
    return true;
  });
  if (!created) return { created: false };
  o.log.log('info', 'database initialised', { demo: o.demo, users: 1 + demoUsers.length });
  if (generated === undefined) return { created: true };
  if (!o.demo)
    o.announce(
      `\n  First start: the 'admin' password is  ${generated}\n  (shown once; set ADMIN_PASSWORD to choose it)\n`,
    );
  return { created: true, generatedAdminPassword: generated };
}

/** A small site: two zones of bins, a dock, pallets, and items of every tracking kind. */
export function demoWarehouse(): PushMutation[] {
  const m: { name: string; args: Record<string, unknown> }[] = [];
  const pos = (
    positionId: string,
    code: string,
    kind: string,
    parentId?: string,
    extra: Record<string, unknown> = {},
  ) =>
    m.push({
      name: 'definePosition',
      args: { positionId, code, kind, ...(parentId ? { parentId } : {}), ...extra },
    });
  pos('demo-wh', 'WH1', 'warehouse');
  pos('demo-dock', 'DOCK', 'zone', 'demo-wh');
  for (const zone of ['A', 'B']) {
    pos(`demo-zone-${zone}`, zone, 'zone', 'demo-wh');
    for (let rack = 1; rack <= 2; rack++) {
      for (let bin = 1; bin <= 4; bin++) {
        const code = `${zone}-0${rack}-0${bin}`;
        pos(`demo-bin-${code}`, code, 'bin', `demo-zone-${zone}`);
      }
    }
  }
  pos('demo-pallet-1', 'PAL-0001', 'container', 'demo-dock');
  pos('demo-tote-1', 'TOTE-01', 'container', 'demo-pallet-1', { disposable: true });
  const item = (
    itemId: string,
    sku: string,
    name: string,
    tracking: string,
    barcodes: string[] = [],
    uom?: string,
  ) =>
    m.push({
      name: 'defineItem',
      args: { itemId, sku, name, tracking, barcodes, ...(uom ? { uom } : {}) },
    });
  item('demo-bolt', 'BOLT-M8', 'Hex bolt M8×40', 'none', ['4006381333931']);
  item('demo-nut', 'NUT-M8', 'Hex nut M8', 'none', ['5901234123457']);
  item('demo-glue', 'GLUE-2K', 'Two-part epoxy', 'lot', ['09506000134352']);
  item('demo-cable', 'CABLE-3G', 'Cable 3G1.5', 'none', [], 'm');
  item('demo-drill', 'DRILL-18V', 'Cordless drill 18 V', 'serial', ['09506000134376']);
  const receive = (
    itemId: string,
    positionId: string,
    quantity: number,
    extra: Record<string, unknown> = {},
  ) => m.push({ name: 'receiveStock', args: { itemId, positionId, quantity, ...extra } });
  receive('demo-bolt', 'demo-bin-A-01-01', 500);
  receive('demo-bolt', 'demo-bin-A-01-02', 120);
  receive('demo-nut', 'demo-bin-A-01-03', 800);
  receive('demo-glue', 'demo-bin-B-01-01', 24, { lot: 'L2611', expiresOn: '2027-06-30' });
  receive('demo-glue', 'demo-bin-B-01-02', 12, { lot: 'L2612', expiresOn: '2027-09-30' });
  receive('demo-cable', 'demo-bin-B-02-01', 250.5);
  for (const sn of ['DR-1001', 'DR-1002', 'DR-1003'])
    receive('demo-drill', 'demo-bin-B-02-02', 1, { serial: sn });
  receive('demo-bolt', 'demo-pallet-1', 1000);
  receive('demo-nut', 'demo-tote-1', 200);
  // An expected delivery for operators to receive line by line (Lists screen).
  m.push({
    name: 'createList',
    args: {
      listId: DEMO_LIST_ID,
      type: 'receipt',
      code: 'PO-4711',
      partner: 'Schraubenwerk GmbH',
      references: ['ORDER-2026-118'],
      lines: [
        { lineNo: 1, itemId: 'demo-nut', quantity: 20, suggestedPositionId: 'demo-bin-A-01-03' },
        { lineNo: 2, itemId: 'demo-bolt', quantity: 10, suggestedPositionId: 'demo-bin-A-01-01' },
        { lineNo: 3, itemId: 'demo-glue', quantity: 6, suggestedPositionId: 'demo-bin-B-01-01' },
      ],
    },
  });
  return m.map((x, i) => ({ ...x, clientID: 'server:demo', id: i + 1 }));
}

/** The demo's receipt list `PO-4711`. */
export const DEMO_LIST_ID = '0192f0c8-0000-7000-8000-00000000d471';

/**
 * The `worker` service user jobs sign in as (supervisor: it reads job plans and adjusts
 * stock). Created on first need; its password is set to `password` at every start, so the
 * embedded mode can use a fresh random one and a scale-out site the `WORKER_PASSWORD` it gave
 * its workers. A new password signs the account out everywhere, as any password change does:
 * a leaked `WORKER_PASSWORD`, rotated, leaves no session taken with it. The same password
 * (another server of the site starting) changes nothing, and the workers stay signed in.
 */
export async function ensureWorkerUser(o: {
  storage: Storage;
  hasher: PasswordHasher;
  clock: () => Date;
  newId: () => string;
  password: string;
}): Promise<void> {
  const before = await o.storage.read((tx) => tx.userByUsername(WORKER_USERNAME));
  if (before && (await o.hasher.verify(before.passwordHash, o.password))) return;
  const passwordHash = await o.hasher.hash(o.password);
  await o.storage.write((tx) => {
    const existing = tx.userByUsername(WORKER_USERNAME);
    // Only the password: an admin who deactivated the account (a leaked password) keeps it so.
    if (existing) {
      // Set (or made) by another server of the site since it was read here, starting at the
      // same moment: that change, and the sessions its workers took since, stand.
      if (existing.passwordHash !== before?.passwordHash) return;
      tx.updateUser(existing.id, { passwordHash });
      tx.revokeSessionsOfUser(existing.id);
    } else
      tx.createUser({
        id: o.newId(),
        username: WORKER_USERNAME,
        name: 'Job worker',
        role: 'supervisor',
        active: true,
        passwordHash,
        createdAt: o.clock().toISOString(),
      });
  });
}

export const WORKER_USERNAME = 'worker';
