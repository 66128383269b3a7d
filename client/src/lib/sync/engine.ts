import type {
  CountingState,
  InventoryState,
  InventoryView,
  ListsState,
  MovementList,
  MutationResult,
  Role,
  StateChange,
} from '@floorsync/domain';
import {
  PULL_VERSION,
  PUSH_VERSION,
  SCHEMA_VERSION,
  applyChange,
  asUserId,
  countingViewOf,
  decideAtScan,
  decideMutation,
  evolveCounting,
  evolveLists,
  foldEvent,
  initialListsState,
  initialState,
  listChangesOf,
  listIdOfChange,
  listKey,
  listsReadViewOf,
  listsStateOf,
  listsViewOf,
  parseCommand,
  stockChangesOf,
  pullResponseSchema,
  pushResponseSchema,
  replayViewOf,
  roleAllows,
  viewOf,
} from '@floorsync/domain';
import type { ReplayDecision } from '@floorsync/domain';
import type { EventRow, OutboxRow, OutcomeRow, ReplicaDB } from './db.js';
import { PULL_CURSOR, readConfirmed } from './db.js';
import { flatten, overlayState } from './layered.js';
import { entriesTouched, stateFromEntries } from './replica-state.js';
import {
  countingFromEntries,
  foldCountEvent,
  initialCountingState,
  isCountingEntryKey,
  withCountingEntries,
  withoutOrphans,
} from './counting-replica.js';
import type { JobsState } from './production-replica.js';
import {
  changesJobs,
  foldJobEvent,
  isJobEntryKey,
  jobsFromEntries,
  productionViewOfJobs,
  withJobEntries,
} from './production-replica.js';
import { newSecret, newUuid } from './ids.js';

/**
 * The device's sync engine: a scan is one Dexie transaction (the outbox row with the next
 * mutation id, carrying the device's own decision), pushes go in bounded batches, pulls come
 * in pages (or as a paged reset snapshot), and the overlay — what the operator sees — is
 * always the confirmed state with the still-pending mutations re-decided on top (rebase).
 *
 * Never lost: a row stops being pending only when a pull says the server's lastMutationID for
 * this client has reached it. A 401 leaves the outbox untouched; no retry counter ever drops a
 * mutation. Confirmed rows stay in the outbox as a journal (the newest `journalRows`): when the
 * server was restored from a backup and lost mutations it had confirmed, it says so — a reset
 * snapshot with this client at an older lastMutationID, or a push answered `gap` with an id
 * this device had confirmed — and the device sends them again from the journal, once each.
 */

export class AuthRequiredError extends Error {
  override readonly name = 'AuthRequiredError';
  constructor(
    message: string,
    /** The 401's problem `code`: `USER_DEACTIVATED` when signing in again cannot help. */
    readonly code: string | null = null,
    /**
     * The refused token is no longer the one the app holds: it signed in again (here or in
     * another tab) while the request was out, and holds a new one. Not a sign-out: sync again.
     */
    readonly stale = false,
  ) {
    super(message);
  }
}
/** 403: this device was revoked, or the session belongs to another device. */
export class DeviceRefusedError extends Error {
  override readonly name = 'DeviceRefusedError';
  constructor(
    message: string,
    /** The problem's `reason` (`FORBIDDEN_REASONS`): the client says it in the user's language. */
    readonly reason: string | null = null,
  ) {
    super(message);
  }
}
/** Network down, server busy or failing: try again later. */
export class RetryableError extends Error {
  override readonly name = 'RetryableError';
}
/** The server speaks another protocol or schema version: this build must update. */
export class UpdateRequiredError extends Error {
  override readonly name = 'UpdateRequiredError';
}
/** The server expects a mutation this device no longer has: a person must look. */
export class ClientStateLostError extends Error {
  override readonly name = 'ClientStateLostError';
}
/** The command is malformed (a bug in the screen that built it): it is not queued. */
export class InvalidCommandError extends Error {
  override readonly name = 'InvalidCommandError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface SyncEngineOptions {
  readonly db: ReplicaDB;
  /** Base URL of the sync server ('' for the same origin). */
  readonly baseUrl: string;
  readonly fetch?: typeof fetch;
  /** The current session token, or null when signed out. */
  readonly token: () => string | null;
  /** The signed-in user: each mutation is attributed to who scanned it. */
  readonly user: () => { readonly id: string; readonly role: Role } | null;
  readonly now?: () => Date;
  readonly newId?: () => string;
  /** Mutations per push (shrinks by itself on 413). Default 200. */
  readonly batchSize?: number;
  /**
   * Events or entries per pull page. Default: the server's for events, `RESET_PAGE_LIMIT`
   * for the pages of a reset snapshot.
   */
  readonly pullLimit?: number;
  /** Called after every change of the overlay or the pending count. */
  readonly onChange?: () => void;
  /** This build's version, reported with each push (the devices screen shows it). */
  readonly appVersion?: string;
  /**
   * Confirmed rows kept as a journal, to send again to a server restored from a backup that
   * lost them. Default 10,000 (days of scanning; a few MB).
   */
  readonly journalRows?: number;
}

export const DEFAULT_JOURNAL_ROWS = 10_000;
/** See `pullAll`: acknowledged but unconfirmed after this many pulls to the head, sent again. */
const UNCONFIRMED_PULLS_BEFORE_RESEND = 3;

export interface PullProgress {
  readonly pages: number;
  readonly events: number;
  readonly entries: number;
  readonly resetting: boolean;
}

/** How far the queue has been sent, batch by batch (reported when it takes more than one). */
export interface PushProgress {
  readonly sent: number;
  readonly total: number;
}

/** A sync's progress: sending the queue, then pulling. */
export type SyncProgress =
  ({ readonly phase: 'push' } & PushProgress) | ({ readonly phase: 'pull' } & PullProgress);

/** A single mutation this large is a bug (a push may carry 5 MB); refused before queueing. */
const MAX_MUTATION_CHARS = 256 * 1024;

const META = {
  group: 'clientGroupID',
  client: 'clientID',
  secret: 'deviceSecret',
  next: 'nextMutationID',
} as const;

/**
 * Entries per page of a reset snapshot (the protocol lets a client ask for up to 10,000):
 * fewer round trips and transactions for a new device, while one page still parses and
 * applies in tens of milliseconds on the main thread.
 */
export const RESET_PAGE_LIMIT = 5000;

const isStaleAgainst = (
  at: unknown,
  res: { cookie: unknown; patch: readonly { op: string }[] },
): boolean =>
  typeof at === 'number' &&
  typeof res.cookie === 'number' &&
  res.cookie < at &&
  !res.patch.some((p) => p.op === 'clear');

export class SyncEngine {
  private confirmed: InventoryState;
  private overlay: InventoryState;
  /** Movement lists, confirmed and with pending scans on top (immutable states). */
  private confirmedLists: ListsState;
  private overlayLists: ListsState;
  /** Live counting sessions, confirmed and with pending counts on top. */
  private confirmedCounting: CountingState;
  private overlayCounting: CountingState;
  /** Live production jobs, confirmed and with pending commands on top. */
  private confirmedJobs: JobsState;
  private overlayJobs: JobsState;
  private pendingRows: OutboxRow[];
  private cookie: unknown;
  /** This client's last mutation the server confirmed: outbox rows up to it are not pending. */
  private acked: number;
  /** Pulls in a row that reached the head without confirming what the server acknowledged. */
  private unconfirmedPulls = 0;
  /** A pull made journal rows pending again: `sync` pushes them at once. */
  private resend = false;
  /** Outbox rows up to here are deleted (after a pull; see `dropConfirmed`). */
  private droppedUpTo = 0;
  /** The mutation id this tab expects to write next (checked in the scan's transaction). */
  private nextId: number | null = null;
  private tail: Promise<unknown> = Promise.resolve();
  /** Highest id the server acknowledged in this session (re-sending after a restart is harmless). */
  private pushedUpTo = 0;
  private batchSize: number;
  private readonly fetcher: typeof fetch;
  private readonly now: () => Date;

  private constructor(
    private readonly o: SyncEngineOptions,
    readonly clientGroupID: string,
    readonly clientID: string,
    /**
     * The installation's secret, sent with every sign-in: the server binds the client group
     * to it at the first, so a device's ID alone does not let anyone push on its clients.
     */
    readonly deviceSecret: string,
    confirmed: InventoryState,
    lists: ListsState,
    counting: CountingState,
    jobs: JobsState,
    pending: OutboxRow[],
    cookie: unknown,
    acked: number,
  ) {
    this.confirmed = confirmed;
    this.confirmedLists = lists;
    this.overlayLists = lists;
    this.confirmedCounting = counting;
    this.overlayCounting = counting;
    this.confirmedJobs = jobs;
    this.overlayJobs = jobs;
    this.pendingRows = pending;
    this.cookie = cookie;
    this.acked = acked;
    this.overlay = confirmed;
    this.batchSize = o.batchSize ?? 200;
    this.fetcher = o.fetch ?? ((input, init) => fetch(input, init));
    this.now = o.now ?? (() => new Date());
    this.rebase();
  }

  /** Opens (or creates) the replica: identities persist for the installation. */
  static async open(o: SyncEngineOptions): Promise<SyncEngine> {
    const newId = o.newId ?? newUuid;
    const { group, client, secret } = await o.db.transaction('rw', o.db.meta, async () => {
      const get = async (key: string) => (await o.db.meta.get(key))?.value;
      let g = (await get(META.group)) as string | undefined;
      let c = (await get(META.client)) as string | undefined;
      let s = (await get(META.secret)) as string | undefined;
      if (!g) await o.db.meta.put({ key: META.group, value: (g = `g-${newId()}`) });
      if (!c) await o.db.meta.put({ key: META.client, value: (c = `c-${newId()}`) });
      // An installation from before secrets gets one now: the server binds it only to a group
      // it has never seen (docs/PROTOCOL.md, "Device secret"); an older group stays without.
      if (!s) await o.db.meta.put({ key: META.secret, value: (s = newSecret()) });
      return { group: g, client: c, secret: s };
    });
    const r = await readReplica(o.db);
    return new SyncEngine(
      o,
      group,
      client,
      secret,
      r.confirmed,
      r.lists,
      r.counting,
      r.jobs,
      r.pending,
      r.cookie,
      r.acked,
    );
  }

  /** What the operator sees: confirmed state plus their pending scans. */
  get view(): InventoryView {
    return viewOf(this.overlay);
  }
  get confirmedView(): InventoryView {
    return viewOf(this.confirmed);
  }
  /** Movement lists as the operator sees them: confirmed plus their pending scans. */
  get lists(): ListsState {
    return this.overlayLists;
  }
  /** Live counting sessions as this device sees them: confirmed plus its pending counts. */
  get counting(): CountingState {
    return this.overlayCounting;
  }
  /** Production jobs created or running, as this device sees them. */
  get jobs(): JobsState {
    return this.overlayJobs;
  }
  /** The overlay state itself, for screens that list everything (read it, never change it). */
  get state(): InventoryState {
    return this.overlay;
  }
  /** The queued mutations, oldest first. */
  get queued(): readonly OutboxRow[] {
    return this.pendingRows;
  }

  get pending(): number {
    return this.pendingRows.length;
  }
  get pullCookie(): unknown {
    return this.cookie;
  }

  /**
   * Reads the replica again after another tab of this installation changed it (tabs share
   * the database; each keeps its own memory): `'queue'` when it queued scans (the outbox
   * only), `'replica'` when it pulled (everything).
   */
  refresh(what: 'queue' | 'replica'): Promise<void> {
    return this.exclusive(async () => {
      const db = this.o.db;
      if (what === 'queue') {
        const q = await readQueue(db);
        this.pendingRows = q.pending;
        this.acked = Math.max(this.acked, q.acked);
        this.pushedUpTo = 0;
        this.rebase();
        this.o.onChange?.();
      } else await this.reloadReplica();
    });
  }

  /** Memory from the replica as stored (another tab moved it); inside `exclusive`. */
  private async reloadReplica(): Promise<void> {
    const r = await readReplica(this.o.db);
    this.confirmed = r.confirmed;
    this.confirmedLists = r.lists;
    this.confirmedCounting = r.counting;
    this.confirmedJobs = r.jobs;
    this.pendingRows = r.pending;
    this.cookie = r.cookie;
    this.acked = r.acked;
    this.pushedUpTo = 0;
    this.rebase();
    this.o.onChange?.();
  }

  /**
   * Records a scan. Resolves once it is durably queued (one Dexie transaction: the outbox row
   * with the next id); only then may the UI beep. The returned decision is the device's own
   * view — warnings (conflicts, or a refusal the server may not share) for the operator; the
   * server decides.
   */
  async mutate(
    name: string,
    args: Record<string, unknown>,
  ): Promise<{ readonly id: number; readonly decision: ReplayDecision }> {
    const { user, decision } = this.prepare(name, args);
    return { id: await this.enqueue(name, args, user, decision), decision };
  }

  /**
   * A scan: queued like `mutate`, unless the device itself already refuses it (a malformed
   * command, moving a bin, receiving a serial it holds in stock: `decideAtScan`) — then
   * nothing is queued and the refusal is returned for the operator to read before walking on.
   * Decided once.
   */
  async scan(
    name: string,
    args: Record<string, unknown>,
  ): Promise<
    | { readonly queued: true; readonly id: number; readonly decision: ReplayDecision }
    | { readonly queued: false; readonly decision: ReplayDecision }
  > {
    const prepared = this.prepare(name, args);
    const decision = decideAtScan(name, prepared.decision);
    if (decision.kind === 'rejected') return { queued: false, decision };
    return {
      queued: true,
      id: await this.enqueue(name, args, prepared.user, decision),
      decision,
    };
  }

  /**
   * Several scans as one (a filled-in counting sheet): decided in order, each on top of the
   * ones before it. When the device refuses any, none is queued and the refusals come back
   * with their positions in `commands`; else all are queued in one Dexie transaction, so a
   * closed tab or a crash leaves all of them or none. A malformed command throws before
   * anything is queued, as in `scan`. The server decides each on its own, as always.
   */
  async scanAll(
    commands: readonly { readonly name: string; readonly args: Record<string, unknown> }[],
  ): Promise<
    | { readonly queued: true; readonly ids: readonly number[] }
    | {
        readonly queued: false;
        readonly refused: readonly { readonly index: number; readonly decision: ReplayDecision }[];
      }
  > {
    if (commands.length === 0) return { queued: true, ids: [] };
    const kept = {
      overlay: this.overlay,
      lists: this.overlayLists,
      counting: this.overlayCounting,
      jobs: this.overlayJobs,
    };
    const restore = () => {
      this.overlay = kept.overlay;
      this.overlayLists = kept.lists;
      this.overlayCounting = kept.counting;
      this.overlayJobs = kept.jobs;
    };
    // The trial folds go into a layer of their own: the overlay may be this engine's own copy
    // (rows pending), which folding changes in place, and a refused batch must leave it as it was.
    this.overlay = overlayState(this.overlay);
    const decided: {
      user: { readonly id: string; readonly role: Role };
      decision: ReplayDecision;
    }[] = [];
    const refused: { index: number; decision: ReplayDecision }[] = [];
    try {
      commands.forEach((c, index) => {
        const prepared = this.prepare(c.name, c.args);
        const d = { ...prepared, decision: decideAtScan(c.name, prepared.decision) };
        decided.push(d);
        if (d.decision.kind === 'rejected') refused.push({ index, decision: d.decision });
        // On top of the ones before it, as the rows will be folded once queued.
        else this.foldLocal({ id: -1 - index, clientID: this.clientID }, d.decision);
      });
    } finally {
      restore();
    }
    if (refused.length > 0) return { queued: false, refused };
    const at = this.now();
    const rows = await this.writeRows(
      commands.map((c, i) => (id: number): OutboxRow => {
        const user = (decided[i] as (typeof decided)[number]).user;
        return {
          id,
          clientID: this.clientID,
          name: c.name,
          args: c.args,
          userID: user.id,
          role: user.role,
          occurredAt: at.toISOString(),
          timestamp: at.getTime(),
        };
      }),
    );
    rows.forEach((row, i) => {
      this.pendingRows.push(row);
      this.foldLocal(row, (decided[i] as (typeof decided)[number]).decision);
    });
    this.o.onChange?.();
    return { queued: true, ids: rows.map((r) => r.id) };
  }

  private prepare(name: string, args: Record<string, unknown>) {
    const parsed = parseCommand(name, args);
    if (!parsed.ok) throw new InvalidCommandError(parsed.code, parsed.message);
    if (JSON.stringify(args).length > MAX_MUTATION_CHARS) {
      throw new InvalidCommandError(
        'VALIDATION_FAILED',
        `${name}: the command is too large to send`,
      );
    }
    const user = this.o.user();
    if (!user) throw new AuthRequiredError('sign in to scan');
    return { user, decision: this.decideLocally(name, args, user) };
  }

  /** One Dexie transaction: the outbox row with the next id. Then the overlay follows. */
  private async enqueue(
    name: string,
    args: Record<string, unknown>,
    user: { readonly id: string; readonly role: Role },
    decision: ReplayDecision,
  ): Promise<number> {
    const at = this.now();
    const row = await this.writeRow((id) => ({
      id,
      clientID: this.clientID,
      name,
      args,
      userID: user.id,
      role: user.role,
      occurredAt: at.toISOString(),
      timestamp: at.getTime(),
    }));
    this.pendingRows.push(row);
    this.foldLocal(row, decision);
    this.o.onChange?.();
    return row.id;
  }

  /**
   * Writes an outbox row with the next mutation id, in one transaction with the counter.
   * The id this tab expects is sent with the writes at once (one round trip to the storage
   * instead of three); the transaction reads the stored counter alongside and is rolled back
   * when another tab of this installation took that id meanwhile — then the counter is read
   * first and the row written after it.
   */
  private async writeRow(make: (id: number) => OutboxRow): Promise<OutboxRow> {
    const db = this.o.db;
    const guess = this.nextId;
    // On IndexedDB itself while the connection is open; else the Dexie path below says why it
    // cannot write (closed, blocked) the way every other write does.
    if (guess !== null && db.isOpen()) {
      const row = make(guess);
      try {
        await writeGuessed(db.backendDB(), row, guess);
        this.nextId = guess + 1;
        return row;
      } catch (e) {
        this.nextId = null;
        if (!(e instanceof StaleNextId) && (e as Error | null)?.name !== 'ConstraintError') throw e;
      }
    }
    const row = await db.transaction('rw', db.outbox, db.meta, async () => {
      const next = ((await db.meta.get(META.next))?.value as number | undefined) ?? 1;
      const r = make(next);
      await db.outbox.add(r);
      await db.meta.put({ key: META.next, value: next + 1 });
      return r;
    });
    this.nextId = row.id + 1;
    return row;
  }

  /** Outbox rows with the next mutation ids, in one transaction with the counter. */
  private async writeRows(make: readonly ((id: number) => OutboxRow)[]): Promise<OutboxRow[]> {
    const db = this.o.db;
    const rows = await db.transaction('rw', db.outbox, db.meta, async () => {
      const next = ((await db.meta.get(META.next))?.value as number | undefined) ?? 1;
      const rs = make.map((m, i) => m(next + i));
      await db.outbox.bulkAdd(rs);
      await db.meta.put({ key: META.next, value: next + rs.length });
      return rs;
    });
    this.nextId = (rows.at(-1)?.id ?? 0) + 1;
    return rows;
  }

  /**
   * Pushes everything pending in bounded batches; `onProgress` hears how far it got before
   * each batch when the queue takes more than one.
   */
  push(
    onProgress?: (p: PushProgress) => void,
  ): Promise<{ readonly sent: number; readonly results: readonly MutationResult[] }> {
    return this.exclusive(() => this.pushAll(onProgress));
  }

  private async pushAll(onProgress?: (p: PushProgress) => void): Promise<{
    readonly sent: number;
    readonly results: readonly MutationResult[];
  }> {
    const all: MutationResult[] = [];
    let sent = 0;
    // The outbox is shared by the installation's tabs: what another tab queued (and maybe
    // never announced — it was closed right after) goes with this push too.
    const q = await readQueue(this.o.db);
    this.acked = Math.max(this.acked, q.acked);
    const rows = q.pending.filter((r) => r.id > this.acked);
    if (
      rows.length !== this.pendingRows.length ||
      rows.at(-1)?.id !== this.pendingRows.at(-1)?.id
    ) {
      this.pendingRows = rows;
      this.rebase();
      this.o.onChange?.();
    }
    const total = this.pendingRows.filter((r) => r.id > this.pushedUpTo).length;
    let reported = false;
    for (;;) {
      const batch = this.pendingRows.filter((r) => r.id > this.pushedUpTo).slice(0, this.batchSize);
      if (batch.length === 0) break;
      if (total > batch.length || sent > 0) {
        reported = true;
        onProgress?.({ sent, total: Math.max(total, sent + batch.length) });
      }
      const results = await this.pushBatch(batch);
      if (results === 'shrunk') continue;
      sent += batch.length;
      all.push(...results);
      const gap = results.find((r) => r.status === 'gap');
      if (gap?.expectedID !== undefined) {
        // The server wants an earlier id. Another tab of this installation may have queued it
        // (the ids are shared): read the queue again. If it is not there, this device no
        // longer has what the server expects — stop instead of re-sending forever.
        const q = await readQueue(this.o.db);
        this.acked = Math.max(this.acked, q.acked);
        if (gap.expectedID <= this.acked) {
          // It wants a mutation it had confirmed: it lost it (restored from a backup). Sent
          // again from the journal, from that id on, if the journal still has it.
          const again = await this.o.db.outbox.where('id').aboveOrEqual(gap.expectedID).toArray();
          if (again[0]?.id === gap.expectedID) {
            this.acked = gap.expectedID - 1;
            this.pendingRows = again;
            // The replica holds the lost mutations' events (they were pulled): it starts over
            // from a snapshot, or the overlay would count them twice meanwhile.
            this.cookie = null;
          }
        } else this.pendingRows = q.pending.filter((r) => r.id > this.acked);
        if (!this.pendingRows.some((r) => r.id === gap.expectedID)) {
          throw new ClientStateLostError(
            `the server expects mutation ${gap.expectedID}, which this device no longer has`,
          );
        }
        this.pushedUpTo = gap.expectedID - 1;
        this.rebase();
        continue;
      }
      this.pushedUpTo = Math.max(
        this.pushedUpTo,
        ...results.filter((r) => r.clientID === this.clientID).map((r) => r.id),
      );
    }
    this.batchSize = this.o.batchSize ?? 200; // shrunk only for as long as needed
    if (reported) onProgress?.({ sent, total: Math.max(total, sent) }); // all of it sent
    return { sent, results: all };
  }

  /** Pulls until the server's head (a reset snapshot first for a new device). */
  pull(onProgress?: (p: PullProgress) => void): Promise<PullProgress> {
    return this.exclusive(() => this.pullAll(onProgress));
  }

  private async pullAll(onProgress?: (p: PullProgress) => void): Promise<PullProgress> {
    let progress: PullProgress = {
      pages: 0,
      events: 0,
      entries: 0,
      resetting: this.cookie === null,
    };
    // The next page is requested while this one is being written (its cookie is known once
    // this one is parsed): the network and the server overlap the device's storage.
    let prefetched: Promise<unknown> | null = null;
    // Another tab of this installation may pull too: a page is written only onto the replica
    // it was asked for (see `applyPage`); when the stored one moved on, memory is read again
    // and the pull goes on from there. Bounded, in case tabs keep overtaking each other.
    let reloads = 0;
    try {
      for (;;) {
        const json = await (prefetched ?? this.post('/sync/pull', this.pullBody(this.cookie)));
        prefetched = null;
        if (isProtocolError(json)) {
          if (json.error === 'ClientStateNotFound') {
            // The server does not know this device's history (a restored or replaced server):
            // start over from a snapshot; the outbox stays and is re-sent.
            this.cookie = null;
            this.pushedUpTo = 0;
            continue;
          }
          throw new UpdateRequiredError(
            `the server refused this app version (${json.versionType ?? json.error})`,
          );
        }
        const res = pullResponseSchema.parse(json);
        if (res.hasMore && !isStaleAgainst(this.cookie, res)) {
          prefetched = this.post('/sync/pull', this.pullBody(res.cookie));
          prefetched.catch(() => undefined); // awaited (and thrown) in the next round
        }
        let page: { events: number; entries: number; ignored?: boolean };
        try {
          page = await this.applyPage(res);
        } catch (error) {
          if (!(error instanceof ReplicaMoved) || ++reloads > 10) throw error;
          prefetched?.catch(() => undefined);
          prefetched = null;
          await this.reloadReplica();
          continue;
        }
        if (page.ignored) {
          // Not an answer to what this tab asked (a replay, a misrouted answer): nothing was
          // applied, and nothing asked after it is trusted; the next sync starts over.
          prefetched?.catch(() => undefined);
          prefetched = null;
          break;
        }
        progress = {
          pages: progress.pages + 1,
          events: progress.events + page.events,
          entries: progress.entries + page.entries,
          resetting: progress.resetting,
        };
        onProgress?.(progress);
        if (!res.hasMore) {
          // At the head, every mutation of this client the server has is confirmed. One it had
          // acknowledged but still does not confirm after a few such pulls (a late answer can
          // look like the head once; a server restored from a backup no longer has it) is sent
          // again at the next push: the server's duplicate rule makes that harmless.
          if (this.pushedUpTo > this.acked) {
            if (++this.unconfirmedPulls >= UNCONFIRMED_PULLS_BEFORE_RESEND) {
              this.pushedUpTo = this.acked;
              this.unconfirmedPulls = 0;
            }
          } else this.unconfirmedPulls = 0;
          break;
        }
      }
    } finally {
      // A page failed to apply: the request already sent for the next one is dropped.
      prefetched?.catch(() => undefined);
    }
    await this.dropConfirmed();
    return progress;
  }

  private pullBody(cookie: unknown) {
    const resetting = cookie === null || typeof cookie === 'object';
    const limit = this.o.pullLimit ?? (resetting ? RESET_PAGE_LIMIT : undefined);
    return {
      pullVersion: PULL_VERSION,
      clientGroupID: this.clientGroupID,
      cookie,
      profileID: this.clientGroupID,
      schemaVersion: SCHEMA_VERSION,
      ...(limit ? { limit } : {}),
    };
  }

  /**
   * Deletes the confirmed outbox rows beyond the journal (see the class comment). Their being
   * confirmed was already written with the page (`cursor.acked`), so this is housekeeping, in a
   * transaction of its own, once per pull: the page's transaction never touches the outbox a
   * scan writes.
   */
  private async dropConfirmed(): Promise<void> {
    const upTo = this.acked - (this.o.journalRows ?? DEFAULT_JOURNAL_ROWS);
    if (upTo <= this.droppedUpTo) return;
    await this.o.db.outbox.where('id').belowOrEqual(upTo).delete();
    this.droppedUpTo = upTo;
  }

  /** Push, then pull: what to run on a poke, on reconnect, on focus and on a timer. */
  sync(onProgress?: (p: SyncProgress) => void): Promise<void> {
    const pushed = onProgress && ((p: PushProgress) => onProgress({ phase: 'push', ...p }));
    const pulled = onProgress && ((p: PullProgress) => onProgress({ phase: 'pull', ...p }));
    return this.exclusive(async () => {
      await this.pushAll(pushed);
      await this.pullAll(pulled);
      // The pull found that the server lost confirmed mutations (restored from a backup): they
      // are pending again from the journal, and go now, not at the next sync.
      if (this.resend) {
        this.resend = false;
        await this.pushAll(pushed);
        await this.pullAll(pulled);
      }
    });
  }

  /**
   * One push or pull at a time per engine: two overlapping pulls would both start from the
   * same cookie and apply the same page twice.
   */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  // ─── internals ────────────────────────────────────────────────────────────────────────────

  private decideLocally(
    name: string,
    args: unknown,
    user: { id: string; role: Role },
  ): ReplayDecision {
    return decideMutation(
      replayViewOf(
        this.overlay,
        new Map(),
        listsViewOf(this.overlayLists),
        productionViewOfJobs(this.overlayJobs),
        countingViewOf(this.overlayCounting),
      ),
      { name, args },
      { actor: { userId: asUserId(user.id), role: user.role }, mode: 'record' },
    );
  }

  /** Folds a pending mutation's local events into the overlay (copy-on-write of confirmed). */
  private foldLocal(row: Pick<OutboxRow, 'id' | 'clientID'>, decision: ReplayDecision): void {
    if (decision.kind !== 'accepted') return;
    if (this.overlay === this.confirmed) this.overlay = overlayState(this.confirmed);
    decision.events.forEach((e, n) => {
      const logged = { ...e, id: `local:${row.clientID}:${row.id}:${n}` };
      this.overlay = foldEvent(this.overlay, logged);
      this.overlayLists = evolveLists(this.overlayLists, logged);
      this.overlayCounting = evolveCounting(this.overlayCounting, logged);
      if (changesJobs(logged))
        this.overlayJobs = foldJobEvent(this.overlayJobs, logged, viewOf(this.overlay)).jobs;
    });
  }

  /** Overlay = confirmed state with every pending mutation decided again on top of it. */
  private rebase(): void {
    this.overlay = this.confirmed;
    this.overlayLists = this.confirmedLists;
    this.overlayCounting = this.confirmedCounting;
    this.overlayJobs = this.confirmedJobs;
    for (const row of this.pendingRows) {
      // As the server decides: the author's role, never more than the session now pushing it.
      const session = this.o.user()?.role;
      const author = row.role ?? session ?? 'operator';
      const role = session && !roleAllows(session, author) ? session : author;
      const user = { id: row.userID ?? '', role };
      this.foldLocal(row, this.decideLocally(row.name, row.args, user));
    }
  }

  private async post(path: string, body: unknown): Promise<unknown> {
    const token = this.o.token();
    if (!token) throw new AuthRequiredError('not signed in');
    let res: Response;
    try {
      res = await this.fetcher(`${this.o.baseUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
    } catch (cause) {
      throw new RetryableError('the server cannot be reached', { cause });
    }
    if (res.status === 401) {
      const p = await problemOf(res);
      // Stale: the app holds another token now (signed in again meanwhile). Not when it holds
      // none (signed out meanwhile): that is the sign-out this answer confirms.
      const now = this.o.token();
      throw new AuthRequiredError(
        'the session expired; sign in again',
        p.code,
        now !== null && now !== token,
      );
    }
    if (res.status === 403) {
      const p = await problemOf(res);
      throw new DeviceRefusedError(p.detail, p.reason);
    }
    if (res.status === 413) throw new PayloadTooLarge();
    if (res.status >= 500 || res.status === 429)
      throw new RetryableError(`the server is busy (${res.status})`);
    if (res.status !== 200)
      throw new Error(`the server refused it (${res.status}): ${await problemDetail(res)}`);
    return res.json();
  }

  private async pushBatch(batch: readonly OutboxRow[]): Promise<MutationResult[] | 'shrunk'> {
    const body = {
      pushVersion: PUSH_VERSION,
      clientGroupID: this.clientGroupID,
      profileID: this.clientGroupID,
      schemaVersion: SCHEMA_VERSION,
      pending: this.pendingRows.length,
      ...(this.o.appVersion ? { appVersion: this.o.appVersion } : {}),
      mutations: batch.map((r) => ({
        clientID: r.clientID,
        id: r.id,
        name: r.name,
        args: r.args,
        timestamp: r.timestamp,
        occurredAt: r.occurredAt,
        ...(r.userID ? { userID: r.userID } : {}),
      })),
    };
    let json: unknown;
    try {
      json = await this.post('/sync/push', body);
    } catch (e) {
      if (e instanceof PayloadTooLarge && this.batchSize > 1) {
        this.batchSize = Math.max(1, Math.floor(this.batchSize / 2));
        return 'shrunk';
      }
      throw e;
    }
    if (isProtocolError(json))
      throw new UpdateRequiredError(
        `the server refused this app version (${json.versionType ?? json.error})`,
      );
    const res = pushResponseSchema.parse(json);
    await this.recordOutcomes(batch, res.results);
    return res.results;
  }

  /** Refusals and conflicts are kept for the operator, in plain words. */
  private async recordOutcomes(
    batch: readonly OutboxRow[],
    results: readonly MutationResult[],
  ): Promise<void> {
    const at = this.now().toISOString();
    const rows = results
      .filter(
        (r) =>
          r.clientID === this.clientID &&
          (r.status === 'rejected' || (r.conflicts?.length ?? 0) > 0 || r.error),
      )
      .map((r): OutcomeRow => {
        const row = batch.find((b) => b.id === r.id);
        const subject = row ? subjectOf(row) : undefined;
        return {
          key: `${r.clientID}/${r.id}`,
          mutationID: r.id,
          name: row?.name ?? '',
          status: r.error ? 'rejected' : 'conflict',
          code: r.error?.code ?? null,
          message: r.error?.message ?? 'recorded, with a discrepancy an admin will review',
          conflicts: r.conflicts ?? [],
          at,
          ...(subject !== undefined ? { subject } : {}),
          ...(row ? { args: row.args } : {}),
        };
      });
    if (rows.length > 0) await this.o.db.outcomes.bulkPut(rows);
  }

  /** One pull page, applied in one Dexie transaction; memory follows only after it commits. */
  private async applyPage(
    res: ReturnType<typeof pullResponseSchema.parse>,
  ): Promise<{ events: number; entries: number; ignored?: boolean }> {
    const clears = res.patch.some((p) => p.op === 'clear');
    // Only the answer to what was asked: a reset's first page only for a reset (`null`), and
    // no events while a reset is being paged (its pages are entries, its last one the head).
    const resetting = this.cookie === null || typeof this.cookie === 'object';
    if (clears ? this.cookie !== null : resetting && this.cookie === null)
      return { events: 0, entries: 0, ignored: true };
    if (!clears && resetting && res.patch.some((p) => p.op === 'put' && p.key.startsWith('e/')))
      return { events: 0, entries: 0, ignored: true };
    // A stale answer (replayed by a proxy, or late) must never move the replica backwards or
    // apply an event twice: without a reset, a page behind the cookie is ignored, and events
    // at or before the cookie are skipped.
    const at = typeof this.cookie === 'number' ? this.cookie : null;
    if (isStaleAgainst(this.cookie, res)) return { events: 0, entries: 0 };
    // The pages of a reset snapshot are written as snapshot rows, later pages as entries.
    const snapshotPage = clears || (this.cookie !== null && typeof this.cookie === 'object');
    let state = clears ? initialState() : overlayState(this.confirmed);
    let lists = clears ? initialListsState() : this.confirmedLists;
    // Snapshot entries of lists, applied together (before the next event, and at the end).
    const listEntries = new Map<string, MovementList | null>();
    let counting = clears ? initialCountingState() : this.confirmedCounting;
    const countEntries = new Map<string, unknown>();
    let jobs = clears ? (new Map() as JobsState) : this.confirmedJobs;
    const jobEntries = new Map<string, unknown>();
    const touched = new Map<string, unknown>();
    const events: EventRow[] = [];
    let entries = 0;
    for (const op of res.patch) {
      if (op.op === 'clear') continue;
      if (op.key.startsWith('e/') && op.op === 'put') {
        const e = op.value as EventRow;
        if (!clears && at !== null && e.seq <= at) continue;
        events.push(e);
        // Lists first, from the state before the event (a reversal finds its line there).
        lists = flushLists(lists, listEntries);
        const listIds = new Set(listChangesOf(listsReadViewOf(lists), e).map(listIdOfChange));
        if (listIds.size > 0) {
          lists = evolveLists(lists, e);
          for (const id of listIds) {
            const l = lists.lists.get(id) ?? null;
            // A closed list leaves the device, as it leaves the server's snapshot (a tombstone).
            const kept = l && l.status !== 'closed' ? l : null;
            touched.set(listKey(id), kept);
            if (!kept) listEntries.set(listKey(id), null);
          }
        }
        // Counting sessions, from the state before the event (an accepted count reads its line).
        counting = withCountingEntries(counting, countEntries);
        const folded = foldCountEvent(counting, e);
        counting = folded.state;
        for (const [key, value] of folded.touched) touched.set(key, value);
        if (changesJobs(e)) {
          jobs = withJobEntries(jobs, jobEntries);
          const f = foldJobEvent(jobs, e, viewOf(state));
          jobs = f.jobs;
          for (const [key, value] of f.touched) touched.set(key, value);
        }
        // Stock as the server moves it: inventory events, and what production consumed or made.
        for (const c of stockChangesOf(e)) {
          applyChange(state, c);
          for (const t of entriesTouched(state, c)) touched.set(t.key, t.value);
        }
      } else if (op.key.startsWith('s/')) {
        entries++;
        if (op.key.startsWith('s/list/'))
          listEntries.set(op.key, op.op === 'put' ? (op.value as MovementList) : null);
        else if (isCountingEntryKey(op.key))
          countEntries.set(op.key, op.op === 'put' ? op.value : null);
        else if (isJobEntryKey(op.key)) jobEntries.set(op.key, op.op === 'put' ? op.value : null);
        state = applyEntry(state, op.key, op.op === 'put' ? op.value : null);
        touched.set(op.key, op.op === 'put' ? op.value : null);
      }
    }
    lists = flushLists(lists, listEntries);
    // A snapshot in pages: a page may bring count lines before their session (kept until the
    // last page, which drops what no session claimed).
    const midReset = snapshotPage && typeof res.cookie !== 'number';
    counting = withCountingEntries(counting, countEntries, midReset);
    if (snapshotPage && !midReset) counting = withoutOrphans(counting);
    jobs = withJobEntries(jobs, jobEntries);
    // The last page of a reset snapshot lists every client of the group the server knows: one
    // it does not list is at 0 there (a server restored from before this device pushed).
    const resetEnd =
      (this.cookie === null || typeof this.cookie === 'object') && typeof res.cookie === 'number';
    const lmid = res.lastMutationIDChanges[this.clientID] ?? (resetEnd ? 0 : undefined);
    const acked = lmid ?? this.acked;
    const db = this.o.db;
    // Nothing new (a poke for a change this device already has): nothing to write.
    const unchanged =
      !clears &&
      touched.size === 0 &&
      events.length === 0 &&
      acked === this.acked &&
      typeof res.cookie === 'number' &&
      res.cookie === this.cookie;
    // Not the outbox nor `meta`: a scan queued meanwhile commits without waiting for this.
    if (!unchanged)
      await db.transaction('rw', [db.entries, db.events, db.snapshot, db.cursor], async () => {
        // Compare and set: the page continues the replica as this tab last saw it, or another
        // tab pulled meanwhile and writing this page would take the replica back.
        const stored = (await db.cursor.get(PULL_CURSOR))?.cookie ?? null;
        if (!clears && JSON.stringify(stored) !== JSON.stringify(this.cookie))
          throw new ReplicaMoved();
        if (clears) {
          await db.entries.clear();
          await db.events.clear();
          await db.snapshot.clear();
        }
        if (snapshotPage) {
          if (touched.size > 0) await db.snapshot.add({ entries: [...touched] });
        } else if (touched.size > 0) {
          // A removal is kept as `null`: the entry may live in a snapshot row.
          await db.entries.bulkPut([...touched].map(([key, value]) => ({ key, value })));
        }
        if (events.length > 0) await db.events.bulkPut(events);
        await db.cursor.put({ key: PULL_CURSOR, cookie: res.cookie, acked });
      });
    // Committed: the page's layer becomes part of the confirmed state (in place), and the
    // overlay is rebuilt on top of it just below.
    this.confirmed = clears ? state : flatten(state);
    this.confirmedLists = lists;
    this.confirmedCounting = counting;
    this.confirmedJobs = jobs;
    this.cookie = res.cookie;
    const lost = acked < this.acked; // the server lost confirmed mutations (a restore)
    this.acked = acked;
    if (lost) {
      this.resend = true;
      this.pushedUpTo = Math.min(this.pushedUpTo, acked); // what it acknowledged, it lost too
      // Pending again from the journal (a missing one makes the next push stop and say so).
      this.pendingRows = await db.outbox.where('id').above(acked).toArray();
    } else if (lmid !== undefined) this.pendingRows = this.pendingRows.filter((r) => r.id > lmid);
    this.rebase();
    this.o.onChange?.();
    return { events: events.length, entries };
  }
}

class PayloadTooLarge extends Error {}
/** Another tab took the mutation id this one expected. */
class StaleNextId extends Error {}
/** Another tab pulled since this one read the replica: the page is not written. */
class ReplicaMoved extends Error {}

/** What an outcome is about, for the screen that shows it: a resolution's conflict. */
function subjectOf(row: OutboxRow): string | undefined {
  const id = row.name === 'resolveConflict' ? row.args['conflictId'] : undefined;
  return typeof id === 'string' ? id : undefined;
}

/** This client's queue: the outbox rows the server has not confirmed. */
async function readQueue(db: ReplicaDB): Promise<{ pending: OutboxRow[]; acked: number }> {
  return db.transaction('r', [db.outbox, db.cursor], async () => {
    const acked = (await db.cursor.get(PULL_CURSOR))?.acked ?? 0;
    const rows = await db.outbox.where('id').above(acked).toArray();
    return { pending: rows, acked };
  });
}

/** Everything the engine keeps in memory, read in one consistent transaction. */
async function readReplica(db: ReplicaDB) {
  return db.transaction('r', [db.snapshot, db.entries, db.outbox, db.cursor], async () => {
    const cursor = await db.cursor.get(PULL_CURSOR);
    const acked = cursor?.acked ?? 0;
    const merged = await readConfirmed(db);
    const pending = await db.outbox.where('id').above(acked).toArray();
    const lists: MovementList[] = [];
    for (const [key, value] of merged)
      if (key.startsWith('s/list/')) lists.push(value as MovementList);
    return {
      confirmed: stateFromEntries(Array.from(merged, ([key, value]) => ({ key, value }))),
      lists: listsStateOf(lists),
      counting: countingFromEntries(
        [...merged].filter(([key]) => isCountingEntryKey(key)),
        // Stopped in the middle of a snapshot in pages: its later pages may bring the sessions.
        cursor?.cookie !== undefined && cursor.cookie !== null && typeof cursor.cookie === 'object',
      ),
      jobs: jobsFromEntries(merged),
      pending,
      cookie: cursor?.cookie ?? null,
      acked,
    };
  });
}

const isProtocolError = (json: unknown): json is { error: string; versionType?: string } =>
  typeof json === 'object' &&
  json !== null &&
  typeof (json as { error?: unknown }).error === 'string';

async function problemDetail(res: Response): Promise<string> {
  return (await problemOf(res)).detail;
}

/** A problem document's words (or the status) and its `reason` member. */
async function problemOf(
  res: Response,
): Promise<{ detail: string; reason: string | null; code: string | null }> {
  try {
    const p = (await res.json()) as {
      detail?: string;
      title?: string;
      reason?: unknown;
      code?: unknown;
    };
    return {
      detail: p.detail ?? p.title ?? String(res.status),
      reason: typeof p.reason === 'string' ? p.reason : null,
      code: typeof p.code === 'string' ? p.code : null,
    };
  } catch {
    return { detail: String(res.status), reason: null, code: null };
  }
}

/** Sets one snapshot entry in state (null: remove), whatever was there before. */
function applyEntry(state: InventoryState, key: string, value: unknown): InventoryState {
  if (key.startsWith('s/stock/')) {
    const current = value as {
      itemId: string;
      positionId: string;
      lot: string | null;
      serial: string | null;
      quantity: number;
    } | null;
    const existing = current ?? lineAtKey(state, key);
    if (!existing) return state;
    const have = viewOf(state).quantity(
      existing.itemId as never,
      existing.positionId as never,
      existing.lot as never,
      existing.serial as never,
    );
    const change: StateChange = {
      op: 'addStock',
      itemId: existing.itemId as never,
      positionId: existing.positionId as never,
      lot: existing.lot as never,
      serial: existing.serial as never,
      delta: (current?.quantity ?? 0) - have,
    };
    return applyChange(state, change);
  }
  if (value === null) return state; // items, positions and lots are never deleted
  if (key.startsWith('s/item/')) return applyChange(state, { op: 'putItem', item: value as never });
  if (key.startsWith('s/position/'))
    return applyChange(state, { op: 'putPosition', position: value as never });
  if (key.startsWith('s/lot/')) return applyChange(state, { op: 'putLot', lot: value as never });
  return state; // conflicts live in the entries table only
}

function lineAtKey(state: InventoryState, key: string) {
  const [, , item, position, lot, serial] = key.split('/').map(decodeURIComponent);
  if (item === undefined || position === undefined) return undefined;
  return {
    itemId: item,
    positionId: position,
    lot: lot ? lot : null,
    serial: serial ? serial : null,
    quantity: 0,
  };
}

/**
 * The scan's write on IndexedDB itself: the outbox row and the counter, with the stored
 * counter read in the same transaction, which is aborted (nothing written) when another tab
 * took the id. Measured in Chromium with 100,000 lines in the replica: the same three
 * requests through a Dexie transaction took 14 ms at the median, here about 1 ms (Dexie's
 * promise and zone bookkeeping around a transaction costs more than IndexedDB's commit).
 * Store and key names are the Dexie schema's (`db.ts`).
 */
function writeGuessed(idb: IDBDatabase, row: OutboxRow, guess: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const tx = idb.transaction(['outbox', 'meta'], 'readwrite');
    let stale = false;
    const meta = tx.objectStore('meta');
    const stored = meta.get(META.next);
    tx.objectStore('outbox').add(row);
    meta.put({ key: META.next, value: guess + 1 });
    stored.onsuccess = () => {
      const value = (stored.result as { value?: unknown } | undefined)?.value;
      if ((typeof value === 'number' ? value : 1) !== guess) {
        stale = true;
        tx.abort();
      }
    };
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(stale ? new StaleNextId() : (tx.error ?? new StaleNextId()));
  });
}

/**
 * The lists with snapshot entries applied (`null`: gone), in one rebuild however many there
 * are; `entries` is emptied.
 */
function flushLists(state: ListsState, entries: Map<string, MovementList | null>): ListsState {
  if (entries.size === 0) return state;
  const byKey = new Map([...state.lists.values()].map((l) => [listKey(l.id), l] as const));
  for (const [key, list] of entries) {
    if (list && list.status !== 'closed') byKey.set(key, list);
    else byKey.delete(key);
  }
  entries.clear();
  return listsStateOf(byKey.values());
}
