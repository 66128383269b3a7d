import 'fake-indexeddb/auto';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Dexie } from 'dexie';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import type { InventoryState, Item, Position, StockLine } from '@floorsync/domain';
import { foldEvent, initialState, jobKey, listKey } from '@floorsync/domain';
import type { ConflictRow, StoredEvent } from '@floorsync/sync-server';
import { backupDatabase, restoreDatabase } from '@floorsync/sync-server';
import { readConfirmed } from '../../client/src/lib/sync/db.js';
import { AuthRequiredError, RetryableError } from '../../client/src/lib/sync/engine.js';
import { countingEntries } from '../../client/src/lib/sync/counting-replica.js';
import { pokeNeedsSync } from '../../client/src/lib/sync/pokes.js';
import type { Tab } from './device.js';
import { SimDevice } from './device.js';
import {
  canonicalEntries,
  diffInventories,
  diffLines,
  foldLog,
  inventoryOfState,
  inventoryOfView,
} from './invariants.js';
import type { Inventory } from './invariants.js';
import { BASE_FAULTS, NO_FAULTS, Network, inHole, scaleFaults } from './network.js';
import { Prng, idGenerator } from './prng.js';
import { ProcessServer } from './process-server.js';
import { ADMIN_PASSWORD, SimServer } from './server.js';
import type { ServerBase, StopKind } from './server.js';
import type { Command, FloorContext } from './workload.js';
import type { ListedConflict } from './workload.js';
import { adminWork, operatorWork, supervisorWork } from './workload.js';

/**
 * One seeded run: the real server app and N devices running the real sync engine, driven step
 * by step by a seeded scheduler, each step awaited before the next (so the seed alone decides
 * the run), then brought to quiescence and checked. See README.md for the invariants.
 */
export interface SimOptions {
  readonly seed: number;
  readonly devices: number;
  readonly steps: number;
  /** Fault intensity (a multiplier of the base rates); default: picked by the seed. */
  readonly faults?: number;
  /** Where the server's temp directory goes. */
  readonly tmpDir?: string;
  /**
   * Stale pull answers may be any earlier page, in reply to any pull (a reset's request
   * included) — a proxy that replays answers to other requests. Off by default: the engine's
   * own tests model a replay of event pages to a device following events.
   */
  readonly hostileProxy?: boolean;
  /** Tabs a device may have open at once (default 3; 1: never a second tab). */
  readonly maxTabs?: number;
  /**
   * Before a tab syncs, it re-reads the replica when the persisted pull cursor is not where its
   * memory is (another tab pulled meanwhile). Works around finding 1 of the README (a stale
   * tab's pull writes the shared replica backwards); off by default, so the soak shows it.
   */
  readonly refreshBeforeSync?: boolean;
  /** Receives every trace line as it is written. */
  readonly onTrace?: (line: string) => void;
  /**
   * Process mode: the server is a real child process (`node sync-server/dist/main.js`) reached
   * over HTTP, killed (SIGKILL) or stopped (SIGTERM) and spawned again on the same data
   * directory. Not deterministic (real clock, ids and scheduling): the seed decides the
   * workload and the fault schedule only. See README.md.
   */
  readonly process?: boolean;
  /** The scheduler's weight of a server restart (default 0.8). */
  readonly restartWeight?: number;
  /**
   * The scheduler's weight of a backup of the server's database, and of a restore of the
   * latest one (`npm run db -- backup/restore`: the server stops, loses everything after the
   * backup, and starts again). Default 0: off, so that other seeds stay as they were.
   * In-process mode only.
   */
  readonly restoreWeight?: number;
  /**
   * Steps of the reconciliation that follows a clean check when conflicts are open (default
   * `RECONCILE_STEPS`; 0: none): an admin's device joins, resolves conflicts from the console's
   * list under the same faults while the floor goes on working, and the run is brought to
   * quiescence and checked again.
   */
  readonly reconcileSteps?: number;
  /** The floor's workload version (see `FloorContext.workload`; default `WORKLOAD`). */
  readonly workload?: 1 | 2 | 3;
}

/** The default workload: 3, with movement lists and production jobs. */
export const WORKLOAD = 3;

/** Steps of the reconciliation (see `SimOptions.reconcileSteps`). */
export const RECONCILE_STEPS = 60;

export interface SimStats {
  readonly mutations: number;
  readonly rejected: number;
  readonly events: number;
  readonly conflicts: number;
  readonly serverRestarts: number;
  /** Process mode: the server process was SIGKILLed (a crash) / SIGTERMed (a graceful stop). */
  readonly processKills: number;
  readonly processTerms: number;
  /** Restore mode: restores from a backup, and the mutations they took from the log. */
  readonly restores?: number;
  readonly lostByRestores?: number;
  readonly syncs: number;
  readonly invalidCommands: number;
  /** Events in the final log, by type. */
  readonly eventTypes: Readonly<Record<string, number>>;
  readonly faults: Readonly<Record<string, number>>;
  readonly intensity: number;
  /**
   * How often the run reached situations a finding's regression test needs (see
   * `SITUATIONS`): a seed that does is a candidate regression seed when a change to the
   * engine or the server moves the old one off its situation.
   */
  readonly situations: Readonly<Partial<Record<Situation, number>>>;
}

/** Rare situations the soak reports by seed (`soak` prints "seed S reached …"). */
export const SITUATIONS = {
  /** Finding 7: floor work drawn by an abandoned request, in a tab closed while it ran. */
  closedTabWork: 'a tab closed while its floor work ran (finding 7)',
  /** The fix of seed 500286 (restore mode): a paged reset sent back to start over. */
  pagedResetRestarted: 'a paged reset was sent back to start over by a restore (seed 500286)',
} as const;
export type Situation = keyof typeof SITUATIONS;

export interface SimResult {
  readonly seed: number;
  readonly devices: number;
  readonly steps: number;
  /** Ran in process mode (not deterministic: the trace hash differs from run to run). */
  readonly process: boolean;
  readonly violations: readonly string[];
  /** sha256 of the whole trace (every step and its outcome, and the final log). */
  readonly traceHash: string;
  /** The last lines of the trace (for a failure report). */
  readonly traceTail: readonly string[];
  readonly stats: SimStats;
}

/** The command that runs one seed again. */
export const reproduction = (r: {
  seed: number;
  devices: number;
  steps: number;
  process?: boolean;
}) =>
  `npm run soak -- --seed ${r.seed} --devices ${r.devices} --steps ${r.steps}${r.process ? ' --process' : ''}`;

const OPERATORS = ['op1', 'op2', 'op3', 'op4'] as const;
const SUPERVISOR = 'sup1';
const START = Date.parse('2026-11-25T06:00:00Z');
const MAX_VIOLATIONS = 25;
const TAIL = 60;

interface Tracked {
  readonly device: string;
  readonly name: string;
  readonly args: unknown;
  readonly step: number;
}

export async function runSeed(o: SimOptions): Promise<SimResult> {
  const sim = new Simulation(o);
  try {
    await sim.setUp();
    for (let n = 1; n <= o.steps && !sim.stopped; n++) await sim.step(n);
    if (!sim.stopped) {
      await sim.quiesce();
      await sim.check();
    }
    // Appended after the check, so the run up to it is what it was without reconciliation.
    const reconcile = o.reconcileSteps ?? RECONCILE_STEPS;
    if (!sim.stopped && sim.clean && reconcile > 0 && (await sim.reconcile(reconcile))) {
      await sim.quiesce();
      await sim.check();
    }
  } catch (e) {
    sim.violation(
      `the simulation crashed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
    );
  } finally {
    await sim.tearDown();
  }
  return sim.result();
}

/** One run (`runSeed` drives it); exported for the directed tests of the harness itself. */
export class Simulation {
  private readonly prng: Prng;
  private readonly work: Prng;
  private readonly netPrng: Prng;
  private readonly clock = { ms: START };
  /** The devices' clock: virtual, or in process mode the real one (the server's is real). */
  private readonly timeMs = () => (this.o.process ? Date.now() : this.clock.ms);
  private readonly now = () => new Date(this.timeMs());
  private readonly serverIds: () => string;
  private readonly deviceIds: () => string;
  private server!: ServerBase;
  /** Process mode: the head last read from `/health` (a change is a poke). */
  private polledHead = 0;
  private network!: Network;
  private devices: SimDevice[] = [];
  private readonly intensity: number;
  private readonly users = new Map<string, string>(); // username → id
  private readonly tracked = new Map<string, Tracked>();
  private readonly setupClient = 'c-setup';
  private readonly universe = { items: new Set<string>(), positions: new Set<string>() };
  private readonly hash = createHash('sha256');
  private readonly tail: string[] = [];
  private readonly violations: string[] = [];
  private readonly pokes: number[] = [];
  private counters = { code: 0, serial: 0 };
  private stepNo = 0;
  private syncs = 0;
  private invalid = 0;
  private rejected = 0;
  /** Monotonicity, as observed: server head and lastMutationIDs; each device's persisted cursor. */
  private lastHead = 0;
  private readonly lastLmid = new Map<string, number>();
  private readonly lastCursor = new Map<string, { cookie: number; acked: number }>();
  private finalEvents = 0;
  /** The latest backup of the server's database (restore mode), and counts. */
  private backup: { readonly file: string; readonly head: number } | null = null;
  private backups = 0;
  private restores = 0;
  private lostByRestores = 0;
  private get restoreWeight(): number {
    return this.o.restoreWeight ?? 0;
  }
  /** The server's log as read so far, and its fold up to some seq. */
  private readonly logCache: StoredEvent[] = [];
  private folded: { seq: number; state: InventoryState } = { seq: 0, state: initialState() };
  private eventTypes: Record<string, number> = {};
  private readonly situations: Partial<Record<Situation, number>> = {};
  private finalConflicts = 0;
  /** What the admin's console last listed, per admin device (used while offline too). */
  private readonly listed = new Map<string, ListedConflict[]>();
  stopped = false;
  private readonly maxTabs: number;

  constructor(private readonly o: SimOptions) {
    this.prng = new Prng(o.seed);
    this.work = this.prng.fork();
    this.netPrng = this.prng.fork();
    this.serverIds = idGenerator(this.prng.fork(), this.timeMs);
    this.deviceIds = idGenerator(this.prng.fork(), this.timeMs);
    this.intensity = o.faults ?? this.prng.pick([0.25, 0.5, 1, 1, 1.5, 2.5]);
    this.maxTabs = o.maxTabs ?? 3;
  }

  // ─── trace and violations ─────────────────────────────────────────────────────────────────

  trace(line: string): void {
    const l = `#${this.stepNo} ${line}`;
    this.hash.update(l + '\n');
    this.tail.push(l);
    if (this.tail.length > TAIL) this.tail.shift();
    this.o.onTrace?.(l);
  }

  private reached(s: Situation): void {
    this.situations[s] = (this.situations[s] ?? 0) + 1;
  }

  get clean(): boolean {
    return this.violations.length === 0;
  }

  violation(message: string): void {
    if (this.violations.length >= MAX_VIOLATIONS) return;
    const v = `step ${this.stepNo}: ${message}`;
    this.violations.push(v);
    this.trace(`VIOLATION ${message}`);
  }

  result(): SimResult {
    return {
      seed: this.o.seed,
      devices: this.o.devices,
      steps: this.o.steps,
      process: this.o.process ?? false,
      violations: this.violations,
      traceHash: this.hash.copy().digest('hex'),
      traceTail: [...this.tail],
      stats: {
        mutations: this.tracked.size,
        rejected: this.rejected,
        events: this.finalEvents,
        conflicts: this.finalConflicts,
        serverRestarts: this.server?.restarts ?? 0,
        ...(this.restores > 0
          ? { restores: this.restores, lostByRestores: this.lostByRestores }
          : {}),
        processKills: this.server instanceof ProcessServer ? this.server.kills : 0,
        processTerms: this.server instanceof ProcessServer ? this.server.terms : 0,
        syncs: this.syncs,
        invalidCommands: this.invalid,
        eventTypes: this.eventTypes,
        faults: { ...(this.network?.counts ?? {}) },
        intensity: this.intensity,
        situations: { ...this.situations },
      },
    };
  }

  /** Lets everything already scheduled run (pokes published with setImmediate, Dexie's tasks). */
  private settle(): Promise<void> {
    return new Promise((r) => setImmediate(r));
  }

  // ─── setup ────────────────────────────────────────────────────────────────────────────────

  async setUp(): Promise<void> {
    // A fresh IndexedDB for this run: databases of earlier runs are neither seen nor kept.
    Dexie.dependencies.indexedDB = new IDBFactory();
    Dexie.dependencies.IDBKeyRange = IDBKeyRange;
    this.server = this.o.process
      ? await ProcessServer.create(this.o.tmpDir ? { dir: this.o.tmpDir } : {})
      : await SimServer.create({
          clock: this.now,
          newId: this.serverIds,
          ...(this.o.tmpDir ? { dir: this.o.tmpDir } : {}),
          onPoke: (head) => this.pokes.push(head),
        });
    if (this.server instanceof ProcessServer)
      this.trace(`process mode: the server is pid ${this.server.pid} at ${this.server.baseUrl}`);
    this.network = new Network(
      this.server,
      this.netPrng,
      NO_FAULTS,
      {
        interleave: (device) => this.interleave(device),
        trace: (line) => this.trace(line),
        pagedResetRestarted: () => this.reached('pagedResetRestarted'),
      },
      this.o.hostileProxy ?? false,
    );
    const admin = await this.server.login('admin', ADMIN_PASSWORD);
    for (const [username, role] of [
      [SUPERVISOR, 'supervisor'],
      ...OPERATORS.map((u) => [u, 'operator'] as const),
    ] as const) {
      const u = await this.server.json<{ id: string }>('/api/users', admin.token, {
        method: 'POST',
        body: JSON.stringify({ username, password: `${username}-password`, name: username, role }),
      });
      this.users.set(username, u.id);
    }
    await this.seedWarehouse();
    for (let i = 0; i < this.o.devices; i++) {
      const supervisor = i === 0;
      const d = this.newDevice(
        i,
        supervisor ? 'supervisor' : 'operator',
        supervisor ? SUPERVISOR : (OPERATORS[(i - 1) % OPERATORS.length] as string),
        this.prng.pick([1, 3, 10, 50, 200]),
        this.prng.pick([3, 10, undefined, undefined]),
      );
      this.devices.push(d);
      const tab = await d.openTab();
      if (this.prng.chance(0.3) && this.maxTabs > 1) await d.openTab();
      await this.signIn(d);
      await this.sync(d, tab);
      this.trace(
        `setup ${this.label(d)} ${d.role} ${d.username} client ${d.clientID} batch ${d.o.batchSize} pull ${d.o.pullLimit ?? 'default'}`,
      );
    }
    this.network.rates = scaleFaults(BASE_FAULTS, this.intensity);
    this.trace(`setup done: ${this.o.devices} devices, fault intensity ${this.intensity}`);
  }

  /** Device `i`, reached through the faulty network; its in-memory cookie is watched. */
  private newDevice(
    i: number,
    role: 'operator' | 'supervisor' | 'admin',
    username: string,
    batchSize: number,
    pullLimit: number | undefined,
  ): SimDevice {
    return new SimDevice({
      index: i,
      name: `sim-${this.o.seed}-d${i}`,
      role,
      username,
      fetch: (link) => this.network.transport(`d${i}`, link),
      now: this.now,
      newId: this.deviceIds,
      batchSize,
      pullLimit,
      onCookie: (dev, tab, before, after) => {
        // A tab that held a history a restore lost starts over in the restored one.
        if (before !== null && after < before && inHole(this.network.seqHoles, before))
          this.trace(`${this.label(dev, tab)} left the lost history (cookie ${before} → ${after})`);
        else if (before !== null && after < before)
          this.violation(
            `${this.label(dev, tab)}: the pull cookie in memory went back from ${before} to ${after}`,
          );
      },
    });
  }

  /** Master data and opening stock, as a supervisor's device would push them (client `c-setup`). */
  private async seedWarehouse(): Promise<void> {
    const sup = await this.server.login(SUPERVISOR, `${SUPERVISOR}-password`);
    const bins = ['B1', 'B2', 'B3', 'B4', 'B5', 'B6'];
    const mutations: { name: string; args: Record<string, unknown> }[] = [
      ...bins.map((b) => ({
        name: 'definePosition',
        args: { positionId: b, code: b, kind: 'bin' },
      })),
      {
        name: 'definePosition',
        args: { positionId: 'T1', code: 'T1', kind: 'container', parentId: 'B1' },
      },
      {
        name: 'definePosition',
        args: { positionId: 'T2', code: 'T2', kind: 'container', parentId: 'B2', disposable: true },
      },
      {
        name: 'definePosition',
        args: { positionId: 'T3', code: 'T3', kind: 'container', parentId: 'B3', disposable: true },
      },
      { name: 'defineItem', args: { itemId: 'A', sku: 'A', name: 'Bolts', tracking: 'none' } },
      { name: 'defineItem', args: { itemId: 'B', sku: 'B', name: 'Nuts', tracking: 'none' } },
      { name: 'defineItem', args: { itemId: 'L', sku: 'L', name: 'Glue', tracking: 'lot' } },
      { name: 'defineItem', args: { itemId: 'S', sku: 'S', name: 'Meter', tracking: 'serial' } },
      { name: 'receiveStock', args: { itemId: 'A', positionId: 'B1', quantity: 40 } },
      { name: 'receiveStock', args: { itemId: 'A', positionId: 'T1', quantity: 15 } },
      { name: 'receiveStock', args: { itemId: 'B', positionId: 'B3', quantity: 25 } },
      { name: 'receiveStock', args: { itemId: 'B', positionId: 'B6', quantity: 5 } },
      { name: 'receiveStock', args: { itemId: 'L', positionId: 'B4', quantity: 10, lot: 'L1' } },
      { name: 'receiveStock', args: { itemId: 'L', positionId: 'T2', quantity: 6, lot: 'L2' } },
      ...['S-0001', 'S-0002', 'S-0003'].map((serial, i) => ({
        name: 'receiveStock',
        args: { itemId: 'S', positionId: i < 2 ? 'B5' : 'T3', quantity: 1, serial },
      })),
    ];
    for (const b of [...bins, 'T1', 'T2', 'T3']) this.universe.positions.add(b);
    for (const i of ['A', 'B', 'L', 'S']) this.universe.items.add(i);
    const res = await this.server.json<{ results: { status: string }[] }>('/sync/push', sup.token, {
      method: 'POST',
      body: JSON.stringify({
        pushVersion: 1,
        clientGroupID: 'g-setup',
        mutations: mutations.map((m, i) => ({ clientID: this.setupClient, id: i + 1, ...m })),
      }),
    });
    const bad = res.results.filter((r) => r.status !== 'applied');
    if (bad.length > 0) throw new Error(`setup: ${JSON.stringify(bad)}`);
  }

  private label(d: SimDevice, t?: Tab): string {
    return t ? `d${d.o.index}/t${t.id}` : `d${d.o.index}`;
  }

  // ─── device actions ───────────────────────────────────────────────────────────────────────

  /** Runs an engine call; expected failures (offline, signed out) are traced, others are violations. */
  private async guard(
    d: SimDevice,
    t: Tab,
    what: string,
    fn: () => Promise<unknown>,
  ): Promise<boolean> {
    try {
      await fn();
      return true;
    } catch (e) {
      if (t.closed && (e as Error).name === 'DatabaseClosedError') {
        this.trace(`  ${this.label(d, t)} ${what}: the tab was closed meanwhile`);
        return false;
      }
      if (e instanceof RetryableError) {
        this.trace(`  ${this.label(d, t)} ${what}: retry later (${e.message})`);
        return false;
      }
      if (e instanceof AuthRequiredError) {
        d.needsSignIn = true;
        this.trace(`  ${this.label(d, t)} ${what}: sign in again`);
        return false;
      }
      const err = e as Error;
      this.violation(`${this.label(d, t)} ${what} failed: ${err.name}: ${err.message}`);
      return false;
    }
  }

  private async signIn(d: SimDevice, username = d.username): Promise<boolean> {
    if (!this.server.running || !d.link.online) {
      this.trace(
        `${this.label(d)} cannot sign in (${this.server.running ? 'offline' : 'server down'})`,
      );
      return false;
    }
    const r = await this.server.login(
      username,
      `${username}-password`,
      d.clientGroupID,
      d.deviceSecret,
    );
    d.session.token = r.token;
    d.session.user = r.user;
    d.username = username;
    d.needsSignIn = false;
    this.trace(`${this.label(d)} signed in as ${username}`);
    return true;
  }

  /** A sync run on one tab: push, then pull; then the other tabs are told (BroadcastChannel). */
  private async sync(d: SimDevice, t: Tab, what: 'sync' | 'push' | 'pull' = 'sync'): Promise<void> {
    if (t.closed) {
      this.trace(`  ${this.label(d, t)} was closed: it does not sync`);
      return;
    }
    try {
      await this.syncOpenTab(d, t, what);
    } catch (e) {
      // Run beside the scheduler (see `interleave`), the tab may close in the middle: its
      // reads of its own database then fail, as nothing would in a browser (its code stops).
      if (!t.closed || (e as Error).name !== 'DatabaseClosedError') throw e;
      this.trace(`  ${this.label(d, t)} was closed while it synced`);
    }
  }

  private async syncOpenTab(d: SimDevice, t: Tab, what: 'sync' | 'push' | 'pull'): Promise<void> {
    this.syncs++;
    if (this.o.refreshBeforeSync && what !== 'push') {
      const cursor = await t.db.cursor.get('pull');
      if (cursor && JSON.stringify(cursor.cookie) !== JSON.stringify(t.engine.pullCookie)) {
        await t.engine.refresh('replica');
        this.trace(
          `  ${this.label(d, t)} re-read the replica before syncing (cookie ${JSON.stringify(t.engine.pullCookie)})`,
        );
      }
    }
    const ok = await this.guard(d, t, what, () =>
      what === 'sync' ? t.engine.sync() : what === 'push' ? t.engine.push() : t.engine.pull(),
    );
    this.trace(
      `  ${this.label(d, t)} ${what} ${ok ? 'ok' : 'failed'}: cookie ${JSON.stringify(t.engine.pullCookie)} pending ${t.engine.pending}`,
    );
    if (t.closed) return;
    await this.observeCursor(d, t);
    // The runtime tells the other tabs after a run that pulled (not after a failed one).
    if (!ok || what === 'push') return;
    d.broadcast(t, 'replica');
    await this.compareAtCookie(d, t);
  }

  /**
   * A tab that pulled holds exactly the server's state at its cookie: the fold of the log up
   * to that seq (and, at the head, the server's read models themselves).
   */
  private async compareAtCookie(d: SimDevice, t: Tab): Promise<void> {
    const cookie = t.engine.pullCookie;
    if (typeof cookie !== 'number' || !this.server.running) return;
    const server = await this.server.storage.read((tx) => ({
      head: tx.head(),
      holes: tx.seqHoles(),
      events: tx.eventsAfter(this.logCache.at(-1)?.seq ?? 0, Number.MAX_SAFE_INTEGER),
      inv:
        tx.head() === cookie
          ? { stock: tx.stock({}), items: tx.items(), positions: tx.positions() }
          : null,
    }));
    this.logCache.push(...server.events);
    // A cookie of the history a restore lost (a late answer from before it): the tab holds that
    // history until its next pull is told to start over; quiescence checks it did.
    if (inHole(server.holes, cookie)) {
      this.trace(`${this.label(d, t)} holds the history the restore lost (cookie ${cookie})`);
      return;
    }
    const device = inventoryOfView(t.engine.confirmedView, this.universe);
    const at = `the log folded to seq ${cookie}`;
    for (const diff of diffInventories(
      device,
      inventoryOfState(this.foldTo(cookie)),
      `${this.label(d, t)} confirmed`,
      at,
    ))
      this.violation(diff);
    if (server.inv)
      for (const diff of diffInventories(
        device,
        server.inv,
        `${this.label(d, t)} confirmed`,
        `the server at seq ${cookie}`,
      ))
        this.violation(diff);
  }

  /** Inventory state folded from the log up to `seq` (kept, and folded on from, when it can be). */
  private foldTo(seq: number): InventoryState {
    if (this.folded.seq > seq) this.folded = { seq: 0, state: initialState() };
    for (const e of this.logCache)
      if (e.seq > this.folded.seq && e.seq <= seq) foldEvent(this.folded.state, e);
    this.folded.seq = seq;
    return this.folded.state;
  }

  private context(d: SimDevice, t: Tab): FloorContext {
    return {
      prng: this.work,
      state: t.engine.state,
      counting: t.engine.counting,
      lists: t.engine.lists,
      jobs: t.engine.jobs,
      workload: this.o.workload ?? WORKLOAD,
      userId: d.session.user?.id ?? '',
      operators: OPERATORS.map((u) => this.users.get(u) as string),
      newId: this.deviceIds,
      serial: () => `SN-${++this.counters.serial}`,
      code: (prefix) => {
        const code = `${prefix}${++this.counters.code}`;
        if (prefix === 'T') this.universe.positions.add(code);
        if (prefix === 'I') this.universe.items.add(code);
        return code;
      },
    };
  }

  /** Someone scans: the workload's commands, each queued as the screen queues it. */
  private async floorWork(d: SimDevice, t: Tab): Promise<void> {
    const ctx = this.context(d, t);
    if (d.role === 'admin') await this.listConflicts(d);
    const commands =
      d.role === 'admin'
        ? adminWork(ctx, this.listed.get(d.name) ?? [])
        : d.role === 'supervisor'
          ? supervisorWork(ctx)
          : operatorWork(ctx);
    if (commands.length === 0) {
      this.trace(`${this.label(d, t)} has nothing to do`);
      return;
    }
    for (const c of commands) {
      // The engine may abandon a request (a prefetched page it no longer wants) while floor
      // work run in its flight time goes on: the scheduler may close the tab meanwhile. A
      // closed tab's code stops in a browser, so the rest of its work is never done (finding 7).
      if (t.closed) {
        this.trace(`${this.label(d, t)} was closed: ${c.name} and what follows are not scanned`);
        this.reached('closedTabWork');
        return;
      }
      await this.queue(d, t, c);
    }
    if (!t.closed) d.broadcast(t, 'queue');
  }

  private async queue(d: SimDevice, t: Tab, c: Command): Promise<void> {
    // The conflict console queues its resolutions with `mutate`, as the app does: the device
    // does not follow conflicts, so its own check would always call them unknown.
    const how = d.role !== 'admin' && this.work.chance(0.7) ? 'scan' : 'mutate';
    const args = JSON.stringify(c.args);
    try {
      const r =
        how === 'scan'
          ? await t.engine.scan(c.name, c.args)
          : await t.engine.mutate(c.name, c.args);
      const decision =
        r.decision.kind === 'rejected' ? `rejected ${r.decision.code}` : r.decision.kind;
      if (!('id' in r)) {
        this.trace(`${this.label(d, t)} ${c.name} ${args}: refused on the device (${decision})`);
        return;
      }
      const key = `${t.engine.clientID}/${r.id}`;
      if (this.tracked.has(key))
        this.violation(
          `${this.label(d, t)}: mutation id ${key} was given to two scans (${this.tracked.get(key)?.name} at step ${this.tracked.get(key)?.step}, and ${c.name})`,
        );
      this.tracked.set(key, { device: d.name, name: c.name, args: c.args, step: this.stepNo });
      this.trace(`${this.label(d, t)} ${how} ${c.name} ${args} → ${key} ${decision}`);
    } catch (e) {
      const err = e as Error;
      if (t.closed && err.name === 'DatabaseClosedError') {
        this.trace(`${this.label(d, t)} ${c.name}: the tab was closed meanwhile`);
        return;
      }
      if (err.name === 'InvalidCommandError') {
        this.invalid++;
        this.trace(`${this.label(d, t)} ${c.name} ${args}: invalid (${err.message})`);
        return;
      }
      this.violation(`${this.label(d, t)} ${how} ${c.name} failed: ${err.name}: ${err.message}`);
    }
  }

  /**
   * What happens while a request is in flight. Usually awaited by that request; but the engine
   * may abandon a request (a prefetched page it no longer wants), and then nobody awaits it:
   * its work goes on beside the scheduler's next steps (finding 7). So each is kept here,
   * awaited before quiescence, and what it throws is reported — not lost in a dropped fetch.
   */
  private readonly meanwhile = new Set<Promise<void>>();

  private async interleave(device: string): Promise<void> {
    const run = this.meanwhileWork(device).catch((e: unknown) => {
      const err = e as Error;
      this.violation(`meanwhile (${device} in flight): ${err.name}: ${err.message}`);
    });
    this.meanwhile.add(run);
    try {
      await run;
    } finally {
      this.meanwhile.delete(run);
    }
  }

  private async meanwhileWork(device: string): Promise<void> {
    const withTabs = this.devices.filter((d) => d.tabs.length > 0);
    if (withTabs.length === 0) return;
    if (this.work.chance(0.6)) {
      const d = this.work.pick(withTabs);
      const t = this.work.pick(d.tabs);
      this.trace(`  meanwhile (${device} in flight):`);
      await this.floorWork(d, t);
      return;
    }
    const others = withTabs.filter((d) => `d${d.o.index}` !== device);
    if (others.length === 0) return;
    const d = this.work.pick(others);
    const t = this.work.pick(d.tabs);
    this.trace(`  meanwhile (${device} in flight): ${this.label(d, t)} syncs`);
    await this.sync(d, t);
  }

  /** The admin's console lists the open conflicts (online only; offline, the last list stays). */
  private async listConflicts(d: SimDevice): Promise<void> {
    if (!d.link.online || !this.server.running || !d.session.token || d.needsSignIn) return;
    let res: Response;
    try {
      res = await this.server.api('/api/conflicts?status=open', { token: d.session.token });
    } catch (e) {
      // The server went down meanwhile (work beside the scheduler's steps): the last list stays.
      this.trace(`${this.label(d)} could not list conflicts (${(e as Error).message})`);
      return;
    }
    if (res.status === 401) {
      d.needsSignIn = true;
      this.trace(`${this.label(d)} lists conflicts: sign in again`);
      return;
    }
    if (res.status !== 200) {
      this.violation(
        `${this.label(d)} could not list conflicts: ${res.status} ${await res.text()}`,
      );
      return;
    }
    const list = (await res.json()) as ListedConflict[];
    this.listed.set(d.name, list);
    this.trace(`${this.label(d)} lists ${list.length} open conflicts`);
  }

  /**
   * Reconciliation: when conflicts are open after the check, an admin's device joins (a new
   * admin user, signed in on it: a device that bootstraps mid-run, from a snapshot that may
   * come in pages) and `steps` more steps run under the seed's faults, the admin resolving
   * conflicts among the floor's work. Returns whether it ran.
   */
  async reconcile(steps: number): Promise<boolean> {
    const admin = await this.server.login('admin', ADMIN_PASSWORD);
    const open = await this.server.json<ConflictRow[]>('/api/conflicts?status=open', admin.token);
    this.trace(`reconciliation: ${open.length} open conflicts`);
    if (open.length === 0) return false;
    const username = 'adm1';
    const u = await this.server.json<{ id: string }>('/api/users', admin.token, {
      method: 'POST',
      body: JSON.stringify({
        username,
        password: `${username}-password`,
        name: username,
        role: 'admin',
      }),
    });
    this.users.set(username, u.id);
    const d = this.newDevice(
      this.devices.length,
      'admin',
      username,
      this.prng.pick([1, 3, 10]),
      this.prng.pick([3, 10, undefined]),
    );
    this.devices.push(d);
    const tab = await d.openTab();
    await this.signIn(d);
    await this.sync(d, tab);
    this.trace(
      `setup ${this.label(d)} admin ${username} client ${d.clientID} batch ${d.o.batchSize} pull ${d.o.pullLimit ?? 'default'}`,
    );
    this.network.rates = scaleFaults(BASE_FAULTS, this.intensity);
    for (let n = 1; n <= steps && !this.stopped; n++) await this.step(this.o.steps + 1 + n);
    return true;
  }

  // ─── the scheduler ────────────────────────────────────────────────────────────────────────

  async step(n: number): Promise<void> {
    this.stepNo = n;
    this.clock.ms += this.work.int(1, 30) * 1000;
    await this.settle();
    await this.deliverMessages(0.85);
    await this.deliverPokes();
    const p = this.work;
    const online = this.devices.filter((d) => d.link.online);
    const offline = this.devices.filter((d) => !d.link.online);
    const signedOut = online.filter((d) => d.needsSignIn);
    const fewTabs = this.devices.filter((d) => d.tabs.length < this.maxTabs);
    const withTabs = this.devices.filter((d) => d.tabs.length > 0);
    const action = p.weighted({
      work: 45,
      sync: 14,
      push: 3,
      pull: 4,
      offline: online.length > 0 ? 4 : 0,
      online: offline.length > 0 ? 8 : 0,
      signIn: signedOut.length > 0 ? 12 : 0,
      shift: 1,
      expire: this.server.running ? 1.5 : 0,
      clockJump: 0.25,
      openTab: fewTabs.length > 0 ? 2 : 0,
      closeTab: withTabs.length > 0 ? 1.5 : 0,
      restartApp: 1,
      serverRestart: this.server.running ? (this.o.restartWeight ?? 0.8) : 0,
      serverStart: this.server.running ? 0 : 10,
      // Not in the reconciliation: its admin's account is made then, and a restore to a backup
      // from before would take it (an admin would make it again; the run would not go on).
      backup:
        this.server instanceof SimServer && this.server.running && this.stepNo <= this.o.steps
          ? this.restoreWeight
          : 0,
      restore:
        this.server instanceof SimServer && this.backup && this.stepNo <= this.o.steps
          ? this.restoreWeight
          : 0,
      held: this.network.held.length > 0 ? 3 : 0,
    });
    const d = p.pick(this.devices);
    switch (action) {
      case 'work':
      case 'sync':
      case 'push':
      case 'pull': {
        if (d.tabs.length === 0) {
          const t = await d.openTab();
          this.trace(`${this.label(d, t)} app opened`);
          break;
        }
        const t = p.pick(d.tabs);
        if (action === 'work') {
          await this.floorWork(d, t);
          // The scheduler sends scans soon after they are queued (when there is a network).
          if (d.link.online && p.chance(0.35)) await this.sync(d, t);
        } else {
          this.trace(`${this.label(d, t)} ${action}`);
          await this.sync(d, t, action);
        }
        break;
      }
      case 'offline': {
        const x = p.pick(online);
        x.link.online = false;
        this.trace(`${this.label(x)} goes offline`);
        break;
      }
      case 'online': {
        const x = p.pick(offline);
        x.link.online = true;
        this.trace(`${this.label(x)} is back online`);
        // The app syncs on reconnect.
        if (x.tabs.length > 0) await this.sync(x, p.pick(x.tabs));
        break;
      }
      case 'signIn': {
        const x = p.pick(signedOut);
        if ((await this.signIn(x)) && x.tabs.length > 0) await this.sync(x, p.pick(x.tabs));
        break;
      }
      case 'shift': {
        if (d.role !== 'operator') break;
        const next = p.pick(OPERATORS.filter((u) => u !== d.username));
        this.trace(`${this.label(d)} shift change: ${d.username} → ${next}`);
        await this.signIn(d, next);
        break;
      }
      case 'expire': {
        if (!d.session.token) break;
        await this.server.api('/api/auth/logout', { method: 'POST', token: d.session.token });
        this.trace(`${this.label(d)}'s session expired`);
        break;
      }
      case 'clockJump':
        if (this.server.mode === 'process') {
          // A real process has no virtual clock to move: every session ends through the API
          // instead (a sign-out per device, as 'expire' does for one) — the devices see the
          // same 401; the server's expiry check itself is not what runs.
          if (!this.server.running) {
            this.trace('every session would end, but the server is down');
            break;
          }
          for (const x of this.devices)
            if (x.session.token)
              await this.server.api('/api/auth/logout', { method: 'POST', token: x.session.token });
          this.trace('every session ends (process mode: signed out instead of 13 hours passing)');
          break;
        }
        this.clock.ms += 13 * 3600_000;
        this.trace('13 hours pass: every session expires');
        break;
      case 'openTab': {
        const x = p.pick(fewTabs);
        const t = await x.openTab();
        this.trace(
          `${this.label(x, t)} opened (cookie ${JSON.stringify(t.engine.pullCookie)}, pending ${t.engine.pending})`,
        );
        break;
      }
      case 'closeTab': {
        const x = p.pick(withTabs);
        const t = p.pick(x.tabs);
        x.closeTab(t);
        this.trace(`${this.label(x, t)} closed`);
        break;
      }
      case 'restartApp': {
        d.closeAll();
        const t = await d.openTab();
        this.trace(
          `${this.label(d, t)} the app restarted (cookie ${JSON.stringify(t.engine.pullCookie)}, pending ${t.engine.pending})`,
        );
        break;
      }
      case 'serverRestart': {
        // Process mode: a crash (SIGKILL) or a graceful stop (SIGTERM). Drawn only in that
        // mode, so that in-process seeds stay as they were.
        const kind: StopKind | undefined =
          this.server.mode === 'process' ? (p.chance(0.6) ? 'kill' : 'term') : undefined;
        const how = kind === 'kill' ? ' (SIGKILL)' : kind === 'term' ? ' (SIGTERM)' : '';
        if (p.chance(0.5)) {
          await this.server.restart(kind);
          this.trace(`the server restarts${how}`);
        } else {
          await this.server.stop(kind);
          this.trace(`the server goes down${how}`);
        }
        break;
      }
      case 'serverStart':
        await this.server.start();
        this.server.restarts++;
        this.trace('the server is back up');
        break;
      case 'backup': {
        const server = this.server as SimServer;
        const file = path.join(server.dir, `backup-${++this.backups}.db`);
        const r = await backupDatabase(server.file, file);
        this.backup = { file, head: r.head };
        this.trace(`a backup of the server's database at seq ${r.head}`);
        break;
      }
      case 'restore':
        await this.restoreBackup();
        break;
      case 'held': {
        const what = await this.network.deliverHeld(p.int(0, this.network.held.length - 1));
        this.trace(`a held request arrives: ${what}`);
        break;
      }
    }
    await this.settle();
    await this.observe();
    await this.pollPokes();
    if (this.violations.length >= MAX_VIOLATIONS) this.stopped = true;
  }

  /**
   * The server is restored from the latest backup: it stops, the backup replaces its database
   * (with the seq hole, `restoreDatabase`), it starts. Everything it committed after the backup
   * is gone, so what the wire recorded of it is forgotten (those mutations must reach the log
   * again, once: the devices' journals), and the monotonicity checks start over from here.
   */
  private async restoreBackup(): Promise<void> {
    const server = this.server as SimServer;
    const backup = this.backup;
    if (!backup) return;
    if (server.running) await server.stop();
    const r = restoreDatabase(backup.file, server.file, { force: true, gap: 1_000_000 });
    await server.start();
    this.restores++;
    this.network.seqHoles = r.holes;
    for (const [key, list] of this.network.wire.outcomes) {
      const kept = list.filter((o) => !o.seqs.some((seq) => seq > backup.head));
      if (kept.length < list.length && !kept.some((o) => o.status !== 'duplicate'))
        this.lostByRestores++; // it must reach the log again (checked at the end)
      this.network.wire.outcomes.set(key, kept);
    }
    this.logCache.splice(this.logCache.findIndex((e) => e.seq > backup.head) >>> 0);
    this.folded = { seq: 0, state: initialState() };
    this.lastHead = 0;
    this.lastLmid.clear();
    this.lastCursor.clear();
    this.trace(
      `the server is restored from the backup at seq ${backup.head}: seqs ${r.hole[0]}–${r.hole[1]} skipped`,
    );
  }

  /** Other tabs handle what they were told (most messages now, some later). */
  private async deliverMessages(p: number): Promise<void> {
    for (const d of this.devices)
      for (const t of [...d.tabs]) {
        if (t.inbox.size === 0 || !this.work.chance(p)) continue;
        const what = t.inbox.has('replica') ? 'replica' : 'queue';
        t.inbox.clear();
        await t.engine.refresh(what);
        this.trace(
          `  ${this.label(d, t)} re-read its ${what} (cookie ${JSON.stringify(t.engine.pullCookie)}, pending ${t.engine.pending})`,
        );
      }
  }

  /** Pokes: most are lost; one that arrives makes the device sync if it needs to. */
  private async deliverPokes(): Promise<void> {
    if (this.pokes.length === 0) return;
    const head = Math.max(...this.pokes);
    this.pokes.length = 0;
    for (const d of this.devices) {
      if (!d.link.online || d.tabs.length === 0 || !this.work.chance(0.3)) continue;
      const t = this.work.pick(d.tabs);
      if (!pokeNeedsSync(head, t.engine.pullCookie, t.engine.pending)) continue;
      this.trace(`${this.label(d, t)} poked (head ${head})`);
      await this.sync(d, t);
    }
  }

  /**
   * Process mode: pokes are read from the server, not from its bus — `GET /health` after each
   * step (outside the faulty network); a head that moved is a poke, delivered at the next step
   * as the bus's pokes are (most lost). The SSE stream itself is not opened.
   */
  private async pollPokes(): Promise<void> {
    if (this.server.mode !== 'process' || !this.server.running) return;
    try {
      const res = await this.server.deliver('/health');
      const { head } = (await res.json()) as { head: number };
      if (head > this.polledHead) this.pokes.push(head);
      this.polledHead = head;
    } catch {
      // The server went down meanwhile: no poke.
    }
  }

  /** Monotonicity on the server: its head, and every device's lastMutationID. */
  private async observe(): Promise<void> {
    if (this.server instanceof ProcessServer)
      for (const problem of this.server.problems.splice(0)) this.violation(problem);
    if (this.server.running) {
      const seen = await this.server.storage.read((tx) => ({
        head: tx.head(),
        lmids: this.devices.map(
          (d) => [d.clientID, tx.lastMutationID(d.clientID)?.lastMutationID ?? 0] as const,
        ),
      }));
      if (seen.head < this.lastHead)
        this.violation(`the server's head went back from ${this.lastHead} to ${seen.head}`);
      this.lastHead = Math.max(this.lastHead, seen.head);
      for (const [client, lmid] of seen.lmids) {
        const before = this.lastLmid.get(client) ?? 0;
        if (lmid < before)
          this.violation(
            `the server's lastMutationID of ${client} went back from ${before} to ${lmid}`,
          );
        this.lastLmid.set(client, Math.max(before, lmid));
      }
    }
  }

  /** The device's persisted cursor (written only by pulls) never goes back. */
  private async observeCursor(d: SimDevice, t: Tab): Promise<void> {
    const cursor = await t.db.cursor.get('pull');
    if (!cursor || typeof cursor.cookie !== 'number') return;
    const before = this.lastCursor.get(d.name);
    // A replica that held a history a restore lost starts over: its cookie and acked go back.
    if (before && inHole(this.network.seqHoles, before.cookie)) {
      this.lastCursor.set(d.name, { cookie: cursor.cookie, acked: cursor.acked });
      return;
    }
    if (before && cursor.cookie < before.cookie)
      this.violation(
        `${this.label(d)}: the persisted pull cookie went back from ${before.cookie} to ${cursor.cookie}`,
      );
    if (before && cursor.acked < before.acked)
      this.violation(
        `${this.label(d)}: the persisted lastMutationID (acked) went back from ${before.acked} to ${cursor.acked}`,
      );
    // Reported once: the next regression is measured from where it went.
    this.lastCursor.set(d.name, { cookie: cursor.cookie, acked: cursor.acked });
  }

  // ─── quiescence and the checks ────────────────────────────────────────────────────────────

  /** The network heals, the server runs, everyone signs in and syncs until nothing moves. */
  async quiesce(): Promise<void> {
    this.stepNo = this.o.steps + 1;
    this.trace('quiescence: the network heals');
    this.network.rates = NO_FAULTS;
    // Work begun in the flight of an abandoned request ends first (see `interleave`).
    while (this.meanwhile.size > 0) await Promise.all([...this.meanwhile]);
    if (!this.server.running) {
      await this.server.start();
      this.server.restarts++;
    }
    while (this.network.held.length > 0)
      this.trace(`a held request arrives: ${await this.network.deliverHeld(0)}`);
    for (const d of this.devices) {
      d.link.online = true;
      if (d.tabs.length === 0) await d.openTab();
    }
    for (let round = 1; round <= 12; round++) {
      await this.settle();
      await this.deliverMessages(1);
      this.pokes.length = 0;
      for (const d of this.devices) if (d.needsSignIn) await this.signIn(d);
      for (const d of this.devices) for (const t of d.tabs) await this.sync(d, t);
      await this.observe();
      const head = await this.server.storage.read((tx) => tx.head());
      const unsettled: string[] = [];
      for (const d of this.devices) {
        if (d.needsSignIn) unsettled.push(`${this.label(d)} signed out`);
        for (const t of d.tabs) {
          if (t.engine.pending > 0 || t.engine.pullCookie !== head)
            unsettled.push(
              `${this.label(d, t)} pending ${t.engine.pending} cookie ${JSON.stringify(t.engine.pullCookie)}`,
            );
        }
        // Confirmed rows stay as the engine's journal: unsettled are only those above `acked`.
        const db = (d.tabs[0] as Tab).db;
        const acked = (await db.cursor.get('pull'))?.acked ?? 0;
        const outbox = await db.outbox.where('id').above(acked).count();
        if (outbox > 0) unsettled.push(`${this.label(d)} outbox ${outbox}`);
      }
      this.trace(
        `quiescence round ${round}: head ${head}${unsettled.length ? `, unsettled: ${unsettled.join(', ')}` : ''}`,
      );
      if (unsettled.length === 0) return;
      if (round === 12)
        this.violation(`no quiescence after 12 rounds of syncing: ${unsettled.join(', ')}`);
    }
  }

  async check(): Promise<void> {
    // Counted again by this check (a reconciled run is checked twice).
    this.rejected = 0;
    this.eventTypes = {};
    const { events, lmids, snapshot } = await this.server.storage.read((tx) => ({
      events: tx.eventsAfter(0, Number.MAX_SAFE_INTEGER),
      lmids: this.devices.map(
        (d) => [d.clientID, tx.lastMutationID(d.clientID)?.lastMutationID ?? 0] as const,
      ),
      snapshot: tx.snapshotEntries({ afterKey: null, limit: 1_000_000 }),
    }));
    this.finalEvents = events.length;
    for (const e of events) this.eventTypes[e.type] = (this.eventTypes[e.type] ?? 0) + 1;
    this.trace(
      `final log: ${events.length} events, digest ${createHash('sha256').update(JSON.stringify(events)).digest('hex').slice(0, 16)}`,
    );
    if (process.env.SIM_DUMP_LOG)
      writeFileSync(process.env.SIM_DUMP_LOG, JSON.stringify(events, null, 1));
    this.checkExactlyOnce(events, lmids);

    const admin = await this.server.login('admin', ADMIN_PASSWORD);
    const api = {
      stock: await this.server.json<StockLine[]>('/api/stock', admin.token),
      items: await this.server.json<Item[]>('/api/items', admin.token),
      positions: await this.server.json<Position[]>('/api/positions', admin.token),
    };
    const conflicts = await this.server.json<ConflictRow[]>('/api/conflicts', admin.token);
    this.finalConflicts = conflicts.length;

    // Stock equals the fold of movements: the whole log folded from the initial state.
    for (const diff of diffInventories(
      inventoryOfState(foldLog(events)),
      api,
      'the fold of the log',
      "the server's read models",
    ))
      this.violation(diff);

    await this.checkDevices(
      api,
      snapshot.map((e) => [e.key, e.value] as const),
    );
    await this.checkConflicts(events, api, conflicts, admin.token);
    if (this.server instanceof ProcessServer)
      for (const problem of this.server.problems.splice(0)) this.violation(problem);
  }

  /**
   * Every mutation a device queued is in the log exactly once (its events, or one
   * `MutationRejected`), the server answered it `applied`/`rejected` exactly once whoever got
   * the answer, and the log holds nothing no device (or the setup) made.
   */
  private checkExactlyOnce(
    events: readonly StoredEvent[],
    lmids: readonly (readonly [string, number])[],
  ): void {
    const byMutation = new Map<string, StoredEvent[]>();
    for (const e of events) {
      const key = `${e.meta.clientID}/${e.meta.mutationID}`;
      byMutation.set(key, [...(byMutation.get(key) ?? []), e]);
    }
    const maxId = new Map<string, number>();
    for (const [key, t] of this.tracked) {
      const [client, id] = splitKey(key);
      maxId.set(client, Math.max(maxId.get(client) ?? 0, id));
      const logged = byMutation.get(key) ?? [];
      const outcomes = (this.network.wire.outcomes.get(key) ?? []).filter(
        (o) => o.status === 'applied' || o.status === 'rejected',
      );
      const what = `${key} (${t.name} by ${t.device} at step ${t.step})`;
      if (logged.length === 0) {
        this.violation(`${what} is not in the server's log`);
        continue;
      }
      if (outcomes.length === 0 && this.network.wire.unobserved.has(key)) {
        // Process mode: its push was in flight when the server was killed, and it committed
        // (it is in the log) — later copies were answered 'duplicate'. Only the log tells.
        const rejections = logged.filter((e) => e.type === 'MutationRejected').length;
        if (rejections > 0 && (rejections !== 1 || logged.length !== 1))
          this.violation(`${what}: the log has ${logged.map((e) => e.type).join(', ')}`);
        if (rejections === 1) this.rejected++;
        this.trace(`${what}: committed by a push whose answer a kill lost`);
        continue;
      }
      if (outcomes.length !== 1) {
        this.violation(
          `${what} was ${outcomes.map((o) => o.status).join(' and ') || 'never'} applied on the wire (${outcomes.length} times)`,
        );
        continue;
      }
      const outcome = outcomes[0] as { status: string; seqs: readonly number[] };
      if (outcome.status === 'rejected') this.rejected++;
      const seqs = logged.map((e) => e.seq).join(',');
      if (seqs !== outcome.seqs.join(','))
        this.violation(
          `${what}: the log has it at seqs ${seqs}, the server answered ${outcome.seqs.join(',')}`,
        );
      const rejections = logged.filter((e) => e.type === 'MutationRejected').length;
      if (outcome.status === 'rejected' ? rejections !== 1 || logged.length !== 1 : rejections > 0)
        this.violation(
          `${what} was answered ${outcome.status} but the log has ${logged.map((e) => e.type).join(', ')}`,
        );
    }
    for (const key of byMutation.keys()) {
      if (this.tracked.has(key) || key.startsWith(`${this.setupClient}/`)) continue;
      this.violation(`the log has mutation ${key}, which no device queued`);
    }
    for (const [client, lmid] of lmids) {
      const expected = maxId.get(client) ?? 0;
      if (lmid !== expected)
        this.violation(
          `the server's lastMutationID of ${client} is ${lmid}, the device queued up to ${expected}`,
        );
    }
    for (const p of this.network.wire.problems) this.violation(p);
  }

  /** Every device (every open tab, its persisted replica, and a fresh tab on it) holds the server's state. */
  private async checkDevices(
    api: Inventory,
    snapshot: readonly (readonly [string, unknown])[],
  ): Promise<void> {
    const serverEntries = canonicalEntries(snapshot);
    const serverCounting = serverEntries.filter((e) => e.startsWith('s/count-'));
    const serverLists = serverEntries.filter((e) => e.startsWith('s/list/'));
    const serverJobs = serverEntries.filter((e) => e.startsWith('s/job/'));
    for (const d of this.devices) {
      for (const t of d.tabs) {
        for (const [name, view] of [
          ['confirmed', t.engine.confirmedView],
          ['overlay', t.engine.view],
        ] as const)
          for (const diff of diffInventories(
            inventoryOfView(view, this.universe),
            api,
            `${this.label(d, t)} ${name}`,
            'the server',
          ))
            this.violation(diff);
        // Counting sessions, movement lists and live production jobs, as snapshot entries (a
        // closed list or a completed job has left the device, as it left the snapshot).
        for (const [what, mine, theirs] of [
          ['counting sessions', countingEntries(t.engine.counting), serverCounting],
          [
            'movement lists',
            [...t.engine.lists.lists.values()]
              .filter((l) => l.status !== 'closed')
              .map((l) => [listKey(l.id), l] as const),
            serverLists,
          ],
          [
            'production jobs',
            [...t.engine.jobs.values()].map((j) => [jobKey(j.id), j] as const),
            serverJobs,
          ],
        ] as const)
          for (const diff of diffLines(
            canonicalEntries(mine),
            theirs,
            what,
            this.label(d, t),
            'the server',
          ))
            this.violation(diff);
      }
      const t = d.tabs[0] as Tab;
      for (const diff of diffLines(
        canonicalEntries(await readConfirmed(t.db)),
        serverEntries,
        'snapshot entries',
        `${this.label(d)}'s persisted replica`,
        "the server's snapshot",
      ))
        this.violation(diff);
      // The app restarts: what it reads back is what the server has.
      const fresh = await d.openTab();
      for (const diff of diffInventories(
        inventoryOfView(fresh.engine.confirmedView, this.universe),
        api,
        `${this.label(d, fresh)} (reopened)`,
        'the server',
      ))
        this.violation(diff);
      if (fresh.engine.pending > 0)
        this.violation(`${this.label(d, fresh)} (reopened) has ${fresh.engine.pending} pending`);
      d.closeTab(fresh);
    }
  }

  /** No serial in two places without an open conflict; every conflict visible to admins. */
  private async checkConflicts(
    events: readonly StoredEvent[],
    api: Inventory,
    conflicts: readonly ConflictRow[],
    adminToken: string,
  ): Promise<void> {
    // `GET /api/conflicts` answers the newest 1,000 (it says so in X-Truncated): the check is
    // of those; the cut itself is sync-server's test (push.test.ts).
    const listed = 1000;
    const stored = await this.server.storage.read((tx) => tx.conflicts({ limit: listed }));
    const visible = new Set(conflicts.map((c) => c.id));
    for (const c of stored)
      if (!visible.has(c.id))
        this.violation(`conflict ${c.id} (${c.key}) is not listed for admins`);
    const referenced = new Set<string>();
    for (const e of events) for (const id of e.meta.conflicts) referenced.add(id);
    for (const outcomes of this.network.wire.outcomes.values())
      for (const o of outcomes) for (const id of o.conflicts) referenced.add(id);
    for (const id of referenced) {
      if (visible.has(id)) continue;
      const one = await this.server.api(`/api/conflicts/${id}`, { token: adminToken });
      if (one.status === 200 && conflicts.length >= listed) continue; // older than the newest
      this.violation(
        `conflict ${id} (referenced by the log or an answer) is not listed for admins (GET: ${one.status})`,
      );
    }
    // Every resolution is in the log once, and the conflict says so: resolved exactly when the
    // log has its resolution (with the action and seq of that event), or when a counting event
    // settled it (a count accepted, a race decided).
    const resolutions = new Map<string, StoredEvent[]>();
    for (const e of events)
      if (e.type === 'ConflictResolved') {
        const id = String((e.data as { conflictId?: unknown }).conflictId);
        resolutions.set(id, [...(resolutions.get(id) ?? []), e]);
      }
    for (const [id, es] of resolutions)
      if (es.length > 1)
        this.violation(
          `conflict ${id} was resolved ${es.length} times (seqs ${es.map((e) => e.seq).join(', ')})`,
        );
    const bySeq = new Map(events.map((e) => [e.seq, e]));
    for (const c of conflicts) {
      const r = resolutions.get(c.id)?.[0];
      const settledBy =
        c.resolution?.action === 'settled' ? bySeq.get(c.resolution.seq) : undefined;
      if (settledBy) {
        if (r || c.status !== 'resolved' || c.resolution?.note !== `settled by ${settledBy.type}`)
          this.violation(
            `conflict ${c.id} (${c.key}) is ${c.status}, settled by ${settledBy.type} at seq ${settledBy.seq} (${c.resolution?.note ?? ''})${r ? ` and resolved at seq ${r.seq}` : ''}`,
          );
        continue;
      }
      if ((c.status === 'resolved') !== (r !== undefined))
        this.violation(
          `conflict ${c.id} (${c.key}) is ${c.status} but the log has ${r ? `its resolution at seq ${r.seq}` : 'no resolution'}`,
        );
      else if (
        r &&
        (c.resolution?.seq !== r.seq ||
          c.resolution.action !== (r.data as { action?: unknown }).action)
      )
        this.violation(
          `conflict ${c.id} shows resolution ${JSON.stringify(c.resolution)}, the log has ${JSON.stringify(r.data)} at seq ${r.seq}`,
        );
    }
    const open = new Set(conflicts.filter((c) => c.status === 'open').map((c) => c.key));
    const bySerial = new Map<string, StockLine[]>();
    for (const l of api.stock) {
      if (l.serial === null || l.quantity <= 0) continue;
      const key = `${l.itemId}/${l.serial}`;
      bySerial.set(key, [...(bySerial.get(key) ?? []), l]);
    }
    for (const [key, lines] of bySerial) {
      const total = lines.reduce((s, l) => s + l.quantity, 0);
      if (lines.length < 2 && total <= 1) continue;
      if (!open.has(`serial-elsewhere/${key}`))
        this.violation(
          `serial ${key} is in stock ${total} times (${lines.map((l) => `${l.positionId}=${l.quantity}`).join(', ')}) without an open conflict`,
        );
    }
  }

  async tearDown(): Promise<void> {
    try {
      for (const d of this.devices) d.closeAll();
      await this.server?.dispose();
    } catch (e) {
      this.violation(`tearing down failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

function splitKey(key: string): [string, number] {
  const i = key.lastIndexOf('/');
  return [key.slice(0, i), Number(key.slice(i + 1))];
}
