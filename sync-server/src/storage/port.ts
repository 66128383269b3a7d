import type {
  ConflictKind,
  ConflictRecord,
  EventEnvelope,
  EventMeta,
  JobProblem,
  ItemId,
  LotInfo,
  PositionId,
  RecordedMutation,
  ReplayView,
  Role,
  StateChange,
  StockLine,
  Item,
  ListChange,
  ListId,
  ListRecord,
  ListStatus,
  ListType,
  ListsReadView,
  Position,
  ProductionChange,
  ProductionReadView,
  CountChange,
  CountPosition,
  CountRecord,
  CountSession,
  CountSessionId,
  CountSessionStatus,
} from '@floorsync/domain';

/**
 * The storage port. Everything the server keeps goes through it: the event log, the read
 * models the replay decides against, sync bookkeeping (clients, lastMutationID), conflicts,
 * users, sessions and devices.
 *
 * Guarantees every adapter gives (the contract suite in `contract.ts` checks them):
 * - `write(fn)` runs `fn` inside one transaction and resolves only after that transaction is
 *   durable (see `durable()` for reads in between). Concurrent writes may share a transaction (group commit), but each `fn` is
 *   isolated by a savepoint: if it throws, only its own effects are rolled back and only its
 *   promise rejects.
 * - `tx.savepoint(fn)` nests: a throw inside rolls back exactly what `fn` did.
 * - Event `seq`s start at 1, are strictly increasing, and become visible in seq order: a
 *   reader never sees seq n+1 without seq n.
 * - `read(fn)` sees one consistent snapshot for its whole duration.
 * - Reads inside a write transaction see that transaction's own writes.
 * - `fn` is synchronous: adapters whose driver is asynchronous prefetch and buffer.
 */
/** Which conflicts: of a status, of the user whose mutation opened them. */
export interface ConflictFilter {
  readonly status?: 'open' | 'resolved';
  readonly userId?: string;
}

export interface Storage {
  write<T>(fn: (tx: WriteTx) => T): Promise<T>;
  read<T>(fn: (tx: ReadTx) => T): Promise<T>;
  /**
   * Resolves once everything committed so far is durable. A read can see a write's effects
   * a moment before that write's promise resolves (committed, on its way to disk): an answer
   * that hands out a position in the log (a pull's cookie) awaits this first, so no device
   * is ever told of an event a power cut could take back.
   */
  durable(): Promise<void>;
  close(): Promise<void>;
}

/** Raised by adapters when the store is unavailable (full disk, lost connection): retry later. */
export class StorageUnavailableError extends Error {
  override readonly name = 'StorageUnavailableError';
}

export interface StoredEvent extends EventEnvelope {
  readonly meta: EventMeta;
}

export interface NewEvent {
  readonly id: string;
  readonly type: string;
  readonly data: unknown;
  readonly meta: EventMeta;
  readonly clientGroupID: string | null;
}

export interface ConflictRow {
  readonly id: string;
  readonly kind: ConflictKind;
  readonly key: string;
  readonly status: 'open' | 'resolved';
  readonly message: string;
  readonly openedAt: string;
  readonly openedSeq: number;
  /** The mutation that opened it, in full. */
  readonly mutation: RecordedMutation | null;
  /** Who made that mutation. */
  readonly userId: string | null;
  readonly detail: Readonly<Record<string, unknown>>;
  /** Every event involved (opening ones, joined ones, competing ones). */
  readonly seqs: readonly number[];
  /** Every mutation involved, as `clientID/mutationID`. */
  readonly mutations: readonly { readonly clientID: string; readonly mutationID: number }[];
  readonly resolution: {
    readonly action: string;
    readonly note: string;
    readonly by: string;
    readonly at: string;
    readonly seq: number;
  } | null;
}

export interface UserRow {
  readonly id: string;
  readonly username: string;
  readonly name: string;
  readonly role: Role;
  readonly active: boolean;
  readonly passwordHash: string;
  readonly createdAt: string;
}

/** An SSE ticket (stored by the hash of its value). */
export interface TicketRow {
  readonly userId: string;
  readonly clientGroupID: string | null;
  readonly expiresAt: string;
  /**
   * The session that took it (its token hash): the ticket opens streams only while that
   * session lives. Absent on tickets stored before this was recorded (they expire in a minute).
   */
  readonly sessionHash?: string;
}

export interface SessionRow {
  readonly tokenHash: string;
  readonly userId: string;
  readonly clientGroupID: string | null;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly revoked: boolean;
}

export interface DeviceRow {
  readonly clientGroupID: string;
  readonly userId: string | null;
  readonly createdAt: string;
  readonly lastPushAt: string | null;
  readonly lastPullAt: string | null;
  readonly revokedAt: string | null;
  readonly pending: number | null;
  readonly appVersion: string | null;
  /**
   * SHA-256 (hex) of the device's secret, bound when the device was first seen (its first
   * sign-in, if that gave one): later sign-ins naming the group must present it. Never leaves
   * the server.
   */
  readonly secretHash: string | null;
}

/** One entry of a reset snapshot: `s/<kind>/<id>` and its value, with the seq that last changed it. */
export interface SnapshotEntry {
  readonly key: string;
  /** `null`: the entry no longer exists (a tombstone, sent as `del`). */
  readonly value: unknown;
  readonly seq: number;
}

/**
 * Pages of live entries (`afterKey`, `limit`), or the entries changed after a seq up to a key,
 * tombstones included (`changedAfter`, `upToKey`; the first `limit` of them by key when given).
 * `conflictsOf`: only that user's open
 * conflicts (an operator's snapshot); absent or null: all of them.
 */
export type SnapshotQuery = (
  | { readonly afterKey: string | null; readonly limit: number }
  | { readonly changedAfter: number; readonly upToKey: string; readonly limit?: number }
) & { readonly conflictsOf?: string | null };

export interface StockQuery {
  readonly itemId?: string;
  readonly positionId?: string;
  readonly lot?: string;
  readonly serial?: string;
  readonly limit?: number;
}

/** A filter for `lists()`: every list when empty. */
export interface ListQuery {
  readonly status?: readonly ListStatus[];
  readonly type?: ListType;
  readonly assignee?: string;
  /** Lists assigned to this user or to nobody (what an operator works on). */
  readonly availableTo?: string;
  readonly code?: string;
  readonly limit?: number;
}

/** Seqs `[from, to]` a restored log never issues (see `ReadTx.seqHoles`). */
export type SeqHole = readonly [from: number, to: number];

/** A filter for `countSessions()`: every session when empty. */
export interface CountSessionQuery {
  readonly status?: readonly CountSessionStatus[];
  /** Sessions this user is assigned to. */
  readonly assignee?: string;
  readonly limit?: number;
}

/**
 * `ReplayView` includes the counting read view (`countSession`, `countSessionByCode`,
 * `inCountScope`, `countRecord`, `countRecordOfPair`, `countPosition`), each one indexed lookup.
 */
export interface ReadTx extends ReplayView, ListsReadView, ProductionReadView {
  list(id: ListId): ListRecord | undefined;
  listByCode(type: ListType, code: string): ListRecord | undefined;
  /** The seq of the last committed event; 0 for an empty log. */
  head(): number;
  /**
   * Ranges of seqs `[from, to]` this log skipped on purpose: a restore from a backup moves the
   * next seq past every seq the lost history may have used (`sqlite/backup.ts`). A cookie in
   * one names an event of that lost history. Empty unless the log was restored.
   */
  seqHoles(): readonly SeqHole[];
  /** Events with `seq > after`, in seq order, at most `limit`. */
  eventsAfter(after: number, limit: number): StoredEvent[];
  /** Events of one mutation, for reporting a duplicate's outcome. */
  eventsOfMutation(clientID: string, mutationID: number): StoredEvent[];
  lastMutationID(
    clientID: string,
  ): { readonly clientGroupID: string; readonly lastMutationID: number } | undefined;
  /** Per client of the group: the highest mutation id among its events with `after < seq <= upTo`. */
  lastMutationIDChanges(clientGroupID: string, after: number, upTo: number): Record<string, number>;
  clientsOfGroup(clientGroupID: string): Record<string, number>;
  /**
   * Snapshot entries ordered by key, `key > afterKey`, existing ones only. With `changedAfter`,
   * only entries (tombstones included) whose seq is greater and whose key is `<= upToKey`.
   */
  snapshotEntries(opts: SnapshotQuery): SnapshotEntry[];

  stock(q: StockQuery): StockLine[];
  items(): Item[];
  positions(): Position[];
  /** Newest opened first; at most `limit` of them when given. */
  conflicts(filter: ConflictFilter & { readonly limit?: number }): ConflictRow[];
  /** How many `conflicts(filter)` would return without a limit (counted, not read). */
  conflictCount(filter: ConflictFilter): number;
  conflictRow(id: string): ConflictRow | undefined;

  userByUsername(username: string): UserRow | undefined;
  userById(id: string): UserRow | undefined;
  users(): UserRow[];
  session(tokenHash: string): SessionRow | undefined;
  ticket(ticketHash: string): TicketRow | undefined;
  device(clientGroupID: string): DeviceRow | undefined;
  devices(): DeviceRow[];
  /** Has this user logged in on this device (client group)? */
  userOnDevice(clientGroupID: string, userId: string): boolean;
  /** How far a named reader of the log has got (the outbox relay): a seq, 0 if never set. */
  progress(name: string): number;
  job(id: string): JobRow | undefined;
  /** Newest first (ties: the greater id first); of one kind only when `kind` is given. */
  jobs(limit: number, kind?: string): JobRow[];
  /**
   * Every job whose status is `queued` (handed to the workers, maybe half done), of every kind,
   * oldest first (ties: the smaller id first). A start reads them to queue again what an
   * in-process queue forgot: all of them, however many jobs are stored.
   */
  queuedJobs(): JobRow[];
  /** Rows `offset … offset + limit - 1` of a job's plan (as stored). */
  jobPlan(id: string, offset: number, limit: number): unknown[];
  /**
   * The genealogy nodes reachable from `rootKey` (not itself) following links out
   * (`down`) or in (`up`) — active ones, and replaced assemblies with `history` — each at its
   * shortest depth, at most `maxDepth`; `truncated` when a node at the limit has a link to a
   * node not reached. Exactly what the domain's traversal (`genealogyQueriesOf`) answers over
   * `linksFrom`/`linksTo`, which every adapter also answers; an adapter gives this when its
   * store can do it in one query (SQLite's recursive CTE), and the contract holds the two equal.
   */
  reachable?(
    rootKey: string,
    direction: 'up' | 'down',
    maxDepth: number,
    history: boolean,
  ): { readonly nodes: readonly { key: string; depth: number }[]; readonly truncated: boolean };
  /** Lists (without lines), due date first (none last), then code. */
  lists(q: ListQuery): ListRecord[];
  /** Counting sessions (headers), by code. */
  countSessions(q: CountSessionQuery): CountSession[];
  /** A session's scope ids, in the order planned. */
  countScope(sessionId: CountSessionId): string[];
  /** A session's lines `from … from + limit − 1` (line numbers from 1), in line order. */
  countLines(sessionId: CountSessionId, from: number, limit: number): CountRecord[];
  /** A session's positions (started, counted or finished), by position id. */
  countPositions(sessionId: CountSessionId): CountPosition[];
}

export interface WriteTx extends ReadTx {
  /** Runs `fn`; if it throws, everything it wrote is rolled back and the error rethrown. */
  savepoint<T>(fn: () => T): T;
  /** Appends one event and returns its seq. */
  appendEvent(e: NewEvent): number;
  /**
   * Applies a production or genealogy change (from the domain's `genealogyChangesOf`). Snapshot
   * entries: a job created or running (`isLiveJob`) is `s/job/<id>` (the `ProductionJob`); once
   * it is completed it is a tombstone at `seq`, and later changes to it move no entry.
   */
  applyProductionChange(change: ProductionChange, seq: number): void;
  /**
   * Applies a counting change (from the domain's `countChangesOf`). Snapshot entries: a live
   * session (`isLiveCountSession`) is `s/count-session/<id>` (a `CountSessionEntry`), its lines
   * `s/count-line/<id>/<lineNo>`, its positions `s/count-position/<id>/<positionId>`; once it
   * is applied or cancelled all of them become tombstones at `seq`.
   */
  applyCountChange(change: CountChange, seq: number): void;
  /** Applies a list change (from the domain's `listChangesOf`) to the lists' read model. */
  applyListChange(change: ListChange, seq: number): void;
  /** Applies a primitive state change (from the domain's `changesOf`) to the read models. */
  applyChange(change: StateChange, seq: number): void;
  setLastMutationID(clientID: string, clientGroupID: string, id: number, seq: number): void;

  openConflict(c: {
    readonly id: string;
    readonly kind: ConflictKind;
    readonly key: string;
    readonly message: string;
    readonly openedAt: string;
    readonly openedSeq: number;
    readonly mutation: RecordedMutation | null;
    readonly userId: string | null;
    readonly detail: Readonly<Record<string, unknown>>;
  }): void;
  /** The open conflict with this key, if any (two devices draining one line share one). */
  openConflictByKey(key: string): string | undefined;
  linkConflict(
    conflictId: string,
    link: { readonly seq: number; readonly clientID: string; readonly mutationID: number },
  ): void;
  resolveConflict(conflictId: string, resolution: NonNullable<ConflictRow['resolution']>): void;
  /** Stock outflows from this line since the last inflow into it: the competing movements. */
  competingOutflows(
    itemId: ItemId,
    positionId: PositionId,
    lot: string | null,
  ): { readonly seq: number; readonly clientID: string; readonly mutationID: number }[];

  createUser(u: UserRow): void;
  updateUser(
    id: string,
    patch: Partial<Pick<UserRow, 'name' | 'role' | 'active' | 'passwordHash'>>,
  ): void;
  createSession(s: SessionRow): void;
  bindSession(tokenHash: string, clientGroupID: string): void;
  revokeSession(tokenHash: string): void;
  revokeSessionsOfUser(userId: string): void;
  createTicket(t: TicketRow & { readonly ticketHash: string }): void;
  /** Forgets expired tickets and sessions. */
  purgeExpired(now: string): void;
  /** Records how far a named reader of the log has got. */
  setProgress(name: string, seq: number): void;
  /**
   * Takes or renews the lease `name` for `holder` until `nowMs + ttlMs` when it is free,
   * expired, or already `holder`'s; true when `holder` holds it afterwards. Several server
   * processes sharing a store elect one of them for a job (the outbox relay) this way.
   */
  acquireLease(name: string, holder: string, nowMs: number, ttlMs: number): boolean;
  /** Records a device on first sight, and that `userId` logged in on it. */
  touchDevice(
    clientGroupID: string,
    userId: string,
    at: string,
    what: 'login' | 'push' | 'pull',
    info?: {
      readonly pending?: number;
      readonly appVersion?: string;
      /**
       * Kept only when this touch records the device for the first time: a device seen before
       * without a secret stays without (whoever sent the first one would own it); a bound
       * secret never changes.
       */
      readonly secretHash?: string;
    },
  ): void;
  revokeDevice(clientGroupID: string, at: string): void;
  createJob(job: JobRow, plan: readonly unknown[]): void;
  updateJob(
    id: string,
    patch: Partial<Pick<JobRow, 'status' | 'startedAt' | 'error' | 'problem'>>,
  ): void;
}

/**
 * A worker job (a bulk adjustment): what was checked and what will be applied. How far it has
 * got is not stored here: it is the `lastMutationID` of the job's own client (`job-<id>`),
 * advanced in the same transaction as the job's events, so progress can never disagree with
 * what was applied.
 */
export interface JobRow {
  readonly id: string;
  readonly kind: string;
  /**
   * `validated` (checked, waiting for a go), `queued` (handed to the workers), `cancelled`,
   * `failed`; `completed` for jobs whose worker reports the end itself (printing), where
   * progress is not read from the log.
   */
  readonly status: 'validated' | 'queued' | 'completed' | 'cancelled' | 'failed';
  readonly createdBy: string;
  readonly createdAt: string;
  readonly fileName: string | null;
  /** Data rows in the file. */
  readonly rows: number;
  /** Rows in the plan (the valid ones). */
  readonly total: number;
  /** The check's problems (the first 1,000 kept). */
  readonly errors: readonly { line: number; column: string | null; message: string }[];
  readonly startedAt: string | null;
  readonly error: string | null;
  /**
   * Why it failed, as a code and values a screen says in its user's language (print jobs);
   * absent when there is none (`error` alone: the English words). It goes with its `error`:
   * an update that sets `error` without a problem clears it.
   */
  readonly problem?: JobProblem;
}

export type { ConflictRecord, LotInfo };
