import type {
  ConflictId,
  ConflictRecord,
  CountChange,
  CountPosition,
  CountRecord,
  CountSession,
  CountSessionEntry,
  CountSessionId,
  EntryKind,
  EventId,
  EventTrace,
  GenealogyLink,
  JobId,
  InventoryState,
  LineRef,
  ListChange,
  ListId,
  ListLine,
  ListRecord,
  ListType,
  ProductionChange,
  ProductionJob,
  ItemId,
  Lot,
  PositionId,
  StateChange,
  UserId,
} from '@floorsync/domain';
import {
  ENTRY_KINDS,
  applyChange,
  countLineKey,
  countPairKey,
  countPositionEntryKey,
  countPositionKey,
  countRecordKey,
  countSessionKey,
  isLiveCountSession,
  listIdOfChange,
  entriesOf,
  entryOf,
  initialState,
  putEntry,
  viewOf,
} from '@floorsync/domain';
import { conflictKey, itemKey, jobKey, listKey, lotKey, positionKey, stockKey } from '../keys.js';
import { byDueThenCode, listValue } from '../lists.js';
import { isLiveJob } from '../production.js';
import type {
  ConflictFilter,
  ConflictRow,
  CountSessionQuery,
  DeviceRow,
  JobRow,
  ListQuery,
  NewEvent,
  SessionRow,
  TicketRow,
  SnapshotEntry,
  SnapshotQuery,
  Storage,
  StockQuery,
  StoredEvent,
  UserRow,
  WriteTx,
} from '../port.js';
import type { Outcome } from '../group-commit.js';
import { groupCommitStorage } from '../group-commit.js';

/**
 * The in-memory twin of the storage port: the domain's own in-memory inventory state plus
 * Maps. It is the executable reference the contract suite holds adapters to, a fast store for
 * tests of the HTTP layer, and the working copy the ArangoDB adapter decides against (see
 * `replica.ts`). Not durable.
 *
 * Savepoints keep an undo journal: before a write changes a record it remembers the record as
 * it was, and a rollback puts those back (`putEntry` keeps the inventory's indexes right), so
 * a savepoint costs what it changes, not the size of the state.
 *
 * Every record lives in a named table under a string key (`TwinTable`), and every write goes
 * through one of two doors that also report the key to `onTouch`: that is how a replica learns
 * what a batch changed without a second description of each write.
 */

interface StoredConflict extends Omit<ConflictRow, 'seqs' | 'mutations'> {
  readonly links: readonly { seq: number; clientID: string; mutationID: number }[];
}

/** A logged event as the twin keeps it. */
export type TwinEvent = StoredEvent & { readonly clientGroupID: string | null };

interface RestTables {
  readonly clients: Map<string, { group: string; lmid: number; seq: number }>;
  /** Snapshot key → seq that last changed it (tombstones stay). */
  readonly changed: Map<string, number>;
  readonly conflicts: Map<string, StoredConflict>;
  readonly users: Map<string, UserRow>;
  readonly sessions: Map<string, SessionRow>;
  readonly tickets: Map<string, TicketRow>;
  readonly devices: Map<string, DeviceRow>;
  /** `clientGroupID \0 userId` → true. */
  readonly deviceUsers: Map<string, true>;
  readonly progress: Map<string, number>;
  readonly leases: Map<string, { holder: string; until: number }>;
  readonly jobs: Map<string, JobRow>;
  readonly jobPlans: Map<string, readonly unknown[]>;
  readonly lists: Map<string, ListRecord>;
  /** `listId \0 lineNo` → line. */
  readonly listLines: Map<string, ListLine>;
  /** Movement event id → the list line it confirmed. */
  readonly listMovements: Map<string, LineRef>;
  readonly productionJobs: Map<string, ProductionJob>;
  readonly genealogyLinks: Map<string, GenealogyLink>;
  /** Event id → what it did to the graph (how a reversal finds what to undo). */
  readonly eventTraces: Map<string, EventTrace>;
  readonly countSessions: Map<string, CountSession>;
  /** Session id → its scope's ids, in the order planned (written once). */
  readonly countScopes: Map<string, readonly string[]>;
  /** `countRecordKey` (session, lineNo) → line. */
  readonly countRecords: Map<string, CountRecord>;
  /** `countPositionKey` (session, position) → position. */
  readonly countPositions: Map<string, CountPosition>;
}
export type RestTable = keyof RestTables;
export const REST_TABLES: readonly RestTable[] = [
  'clients',
  'changed',
  'conflicts',
  'users',
  'sessions',
  'tickets',
  'devices',
  'deviceUsers',
  'progress',
  'leases',
  'jobs',
  'jobPlans',
  'lists',
  'listLines',
  'listMovements',
  'productionJobs',
  'genealogyLinks',
  'eventTraces',
  'countSessions',
  'countScopes',
  'countRecords',
  'countPositions',
];

/** Every table of the twin: inventory entries, the log (key: the seq), the rest. */
export type TwinTable = EntryKind | 'event' | RestTable;
export const TWIN_TABLES: readonly TwinTable[] = [...ENTRY_KINDS, 'event', ...REST_TABLES];

const freshRest = (): RestTables => ({
  clients: new Map(),
  changed: new Map(),
  conflicts: new Map(),
  users: new Map(),
  sessions: new Map(),
  tickets: new Map(),
  devices: new Map(),
  deviceUsers: new Map(),
  progress: new Map(),
  leases: new Map(),
  jobs: new Map(),
  jobPlans: new Map(),
  lists: new Map(),
  listLines: new Map(),
  listMovements: new Map(),
  productionJobs: new Map(),
  genealogyLinks: new Map(),
  eventTraces: new Map(),
  countSessions: new Map(),
  countScopes: new Map(),
  countRecords: new Map(),
  countPositions: new Map(),
});

const lineKey = (listId: string, lineNo: number) => `${listId}\u0000${lineNo}`;

export function openMemoryStorage(): Storage {
  const tx = new MemoryTx();
  return groupCommitStorage({
    tx,
    runBatch: (writes) =>
      writes.map((fn): Outcome => {
        try {
          return { ok: true, value: tx.savepoint(() => fn(tx)) };
        } catch (error) {
          return { ok: false, error: asError(error) };
        }
      }),
    toError: asError,
    close: () => {},
  });
}

const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

const snapshotKeyOf = (c: StateChange): string | null => {
  switch (c.op) {
    case 'putItem':
      return itemKey(c.item.id);
    case 'putPosition':
      return positionKey(c.position.id);
    case 'setParent':
    case 'retire':
      return positionKey(c.positionId);
    case 'addStock':
      return stockKey(c.itemId, c.positionId, c.lot, c.serial);
    case 'putLot':
      return lotKey(c.lot.itemId, c.lot.lot);
    case 'putMovement':
    case 'markReversed':
      return null;
    default: {
      const unreachable: never = c;
      return unreachable;
    }
  }
};

const mutationKey = (clientID: string, mutationID: number) => `${clientID}\u0000${mutationID}`;

export class MemoryTx implements WriteTx {
  private readonly inv: InventoryState = initialState();
  private readonly view = viewOf(this.inv);
  private readonly events: TwinEvent[] = [];
  private readonly eventSeq = new Map<string, number>();
  private readonly mutationSeqs = new Map<string, number[]>();
  private readonly rest: RestTables = freshRest();
  /** List id → its line numbers (an index of `listLines`, kept by every door that writes it). */
  private readonly linesOfList = new Map<string, Set<number>>();
  /** Node key → ids of links from / to it (indexes of `genealogyLinks`, kept the same way). */
  private readonly linksFromKey = new Map<string, Set<string>>();
  private readonly linksToKey = new Map<string, Set<string>>();
  /**
   * Indexes of the counting tables, kept the same way: session code → id, scope membership,
   * `countPairKey` → line number, and each session's line numbers and position ids (what a
   * session's snapshot entries and its tombstones enumerate).
   */
  private readonly countCodes = new Map<string, string>();
  private readonly countScopeSets = new Map<string, ReadonlySet<string>>();
  private readonly countPairs = new Map<string, number>();
  private readonly countLinesOf = new Map<string, Set<number>>();
  private readonly countPositionsOf = new Map<string, Set<string>>();
  /** Undo steps of the open savepoints, oldest first. */
  private readonly undo: (() => void)[] = [];
  private frames = 0;
  /**
   * Told the table and key of every record a write is about to change, before it changes (a
   * replica's dirty set: `valueOf` then still gives the record as it was).
   */
  onTouch: ((table: TwinTable, key: string) => void) | undefined;

  // ─── The two doors every write goes through ─────────────────────────────────────────────

  private set<T extends RestTable>(
    table: T,
    key: string,
    value: RestTables[T] extends Map<string, infer V> ? V | undefined : never,
  ): void {
    const m = this.rest[table] as Map<string, unknown>;
    this.onTouch?.(table, key);
    if (this.frames > 0) {
      const had = m.has(key);
      const prev = m.get(key);
      this.undo.push(() => this.put(table, key, had ? prev : undefined));
    }
    this.put(table, key, value);
  }

  /** Sets one record of a rest table, keeping its index. No journal, no `onTouch`. */
  private put(table: RestTable, key: string, value: unknown): void {
    const m = this.rest[table] as Map<string, unknown>;
    if (table === 'genealogyLinks') {
      const was = m.get(key) as GenealogyLink | undefined;
      const now = (value ?? undefined) as GenealogyLink | undefined;
      if (was && !now) {
        this.linksFromKey.get(was.fromKey)?.delete(key);
        this.linksToKey.get(was.toKey)?.delete(key);
      }
      if (now && !was) {
        let from = this.linksFromKey.get(now.fromKey);
        if (!from) this.linksFromKey.set(now.fromKey, (from = new Set()));
        from.add(key);
        let to = this.linksToKey.get(now.toKey);
        if (!to) this.linksToKey.set(now.toKey, (to = new Set()));
        to.add(key);
      }
    }
    if (table === 'countSessions' || table === 'countRecords' || table === 'countPositions')
      this.indexCounting(table, m.get(key), value ?? undefined);
    if (table === 'countScopes') {
      if (value === undefined || value === null) this.countScopeSets.delete(key);
      else this.countScopeSets.set(key, new Set(value as readonly string[]));
    }
    if (value === undefined || value === null) m.delete(key);
    else m.set(key, value);
    if (table === 'listLines') {
      const at = key.lastIndexOf('\u0000');
      const listId = key.slice(0, at);
      const lineNo = Number(key.slice(at + 1));
      let nos = this.linesOfList.get(listId);
      if (value === undefined || value === null) {
        nos?.delete(lineNo);
        if (nos?.size === 0) this.linesOfList.delete(listId);
      } else {
        if (!nos) this.linesOfList.set(listId, (nos = new Set()));
        nos.add(lineNo);
      }
    }
  }

  /**
   * Keeps the counting indexes as one record goes from `was` to `now` (either may be absent:
   * a rollback removes what a write added). Read from the records, not parsed from the keys.
   */
  private indexCounting(
    table: 'countSessions' | 'countRecords' | 'countPositions',
    was: unknown,
    now: unknown,
  ): void {
    const add = <K, V>(index: Map<K, Set<V>>, k: K, v: V) => {
      let set = index.get(k);
      if (!set) index.set(k, (set = new Set()));
      set.add(v);
    };
    const drop = <K, V>(index: Map<K, Set<V>>, k: K, v: V) => {
      const set = index.get(k);
      set?.delete(v);
      if (set?.size === 0) index.delete(k);
    };
    if (table === 'countSessions') {
      const w = was as CountSession | undefined;
      const n = now as CountSession | undefined;
      if (w && this.countCodes.get(w.code) === w.id) this.countCodes.delete(w.code);
      if (n) this.countCodes.set(n.code, n.id);
      return;
    }
    if (table === 'countRecords') {
      const w = was as CountRecord | undefined;
      const n = now as CountRecord | undefined;
      if (w) {
        this.countPairs.delete(countPairKey(w.sessionId, w.itemId, w.positionId, w.lot));
        drop(this.countLinesOf, w.sessionId as string, w.lineNo);
      }
      if (n) {
        this.countPairs.set(countPairKey(n.sessionId, n.itemId, n.positionId, n.lot), n.lineNo);
        add(this.countLinesOf, n.sessionId as string, n.lineNo);
      }
      return;
    }
    const w = was as CountPosition | undefined;
    const n = now as CountPosition | undefined;
    if (w) drop(this.countPositionsOf, w.sessionId as string, w.positionId as string);
    if (n) add(this.countPositionsOf, n.sessionId as string, n.positionId as string);
  }

  private change(c: StateChange): void {
    for (const [kind, key] of entriesOf(c)) {
      if (this.frames > 0) {
        const prev = entryOf(this.inv, kind, key);
        this.undo.push(() => putEntry(this.inv, kind, key, prev as never));
      }
      this.onTouch?.(kind, key);
    }
    applyChange(this.inv, c);
  }

  // ─── Savepoints ─────────────────────────────────────────────────────────────────────────

  /** Opens a frame: what is written until `end` can be taken back. Returns its mark. */
  begin(): number {
    this.frames++;
    return this.undo.length;
  }
  /** Closes the frame `mark` opened: keeps its writes, or takes them back. */
  end(mark: number, keep: boolean): void {
    if (!keep) while (this.undo.length > mark) this.undo.pop()?.();
    this.frames--;
    if (this.frames === 0) this.undo.length = 0;
  }
  savepoint<T>(fn: () => T): T {
    const mark = this.begin();
    let ok = false;
    try {
      const result = fn();
      ok = true;
      return result;
    } finally {
      this.end(mark, ok);
    }
  }

  // ─── Replication: records by table and key ──────────────────────────────────────────────

  /** The record under `key` in `table` as it is now (`undefined`: there is none). */
  valueOf(table: TwinTable, key: string): unknown {
    if (table === 'event') return this.events[Number(key) - 1];
    if ((ENTRY_KINDS as readonly string[]).includes(table))
      return entryOf(this.inv, table as EntryKind, key);
    return (this.rest[table as RestTable] as Map<string, unknown>).get(key);
  }

  /**
   * Puts a record another process committed (or a stored one, at load): no journal, no
   * `onTouch`. Events arrive in seq order: seq n after n - 1.
   */
  putRecord(table: TwinTable, key: string, value: unknown): void {
    if (this.frames > 0) throw new Error('putRecord inside a write');
    if (table === 'event') {
      const e = value as TwinEvent | undefined | null;
      const seq = Number(key);
      // A seq a rolled-back savepoint took and nobody reused: there is no such event.
      if (!e) {
        if (seq <= this.events.length) throw new Error(`replica: event ${seq} cannot be removed`);
        return;
      }
      if (seq <= this.events.length) {
        if (this.events[seq - 1]?.id !== e.id)
          throw new Error(`replica: event ${seq} differs from the one already held`);
        return;
      }
      if (seq !== this.events.length + 1)
        throw new Error(`replica: event ${seq} arrived after ${this.events.length}`);
      this.pushEvent(e);
      return;
    }
    if ((ENTRY_KINDS as readonly string[]).includes(table)) {
      putEntry(this.inv, table as EntryKind, key, value as never);
      return;
    }
    this.put(table as RestTable, key, value);
  }

  private pushEvent(e: TwinEvent): void {
    this.events.push(e);
    this.eventSeq.set(e.id, e.seq);
    const mk = mutationKey(e.meta.clientID, e.meta.mutationID);
    const seqs = this.mutationSeqs.get(mk);
    if (seqs) seqs.push(e.seq);
    else this.mutationSeqs.set(mk, [e.seq]);
  }
  private popEvent(): void {
    const e = this.events.pop();
    if (!e) return;
    this.eventSeq.delete(e.id);
    const mk = mutationKey(e.meta.clientID, e.meta.mutationID);
    const seqs = this.mutationSeqs.get(mk);
    seqs?.pop();
    if (seqs?.length === 0) this.mutationSeqs.delete(mk);
  }

  // ─── Reads ──────────────────────────────────────────────────────────────────────────────

  item = (id: ItemId) => this.view.item(id);
  itemBySku = (sku: string) => this.view.itemBySku(sku);
  itemByBarcode = (b: string) => this.view.itemByBarcode(b);
  position = (id: PositionId) => this.view.position(id);
  positionByCode = (code: string) => this.view.positionByCode(code);
  children: WriteTx['children'] = (id) => this.view.children(id);
  quantity: WriteTx['quantity'] = (...a) => this.view.quantity(...a);
  linesAt: WriteTx['linesAt'] = (id) => this.view.linesAt(id);
  linesOfItem: WriteTx['linesOfItem'] = (id) => this.view.linesOfItem(id);
  linesWithSerial: WriteTx['linesWithSerial'] = (s) => this.view.linesWithSerial(s);
  lotsWithCode: WriteTx['lotsWithCode'] = (l) => this.view.lotsWithCode(l);
  movement: WriteTx['movement'] = (id) => this.view.movement(id);
  conflict(id: ConflictId): ConflictRecord | undefined {
    const c = this.rest.conflicts.get(id);
    return (
      c && {
        id: c.id as ConflictId,
        kind: c.kind,
        status: c.status,
        mutation: c.mutation,
        detail: c.detail,
      }
    );
  }

  head() {
    return this.events.length;
  }
  eventsAfter(after: number, limit: number) {
    // seq n is at index n - 1: the log has no holes.
    return this.events.slice(after, after + limit).map(strip);
  }
  eventsOfMutation(clientID: string, mutationID: number) {
    return (this.mutationSeqs.get(mutationKey(clientID, mutationID)) ?? []).map((seq) =>
      strip(this.events[seq - 1] as TwinEvent),
    );
  }
  lastMutationID(clientID: string) {
    const c = this.rest.clients.get(clientID);
    return c && { clientGroupID: c.group, lastMutationID: c.lmid };
  }
  lastMutationIDChanges(clientGroupID: string, after: number, upTo: number) {
    const out: Record<string, number> = {};
    for (const e of this.events.slice(after, upTo)) {
      if (e.clientGroupID !== clientGroupID) continue;
      out[e.meta.clientID] = Math.max(out[e.meta.clientID] ?? 0, e.meta.mutationID);
    }
    return out;
  }
  clientsOfGroup(clientGroupID: string) {
    const out: Record<string, number> = {};
    for (const [id, c] of this.rest.clients) if (c.group === clientGroupID) out[id] = c.lmid;
    return out;
  }
  seqHoles() {
    return []; // seqs are positions in the array: this log is never restored with a hole
  }

  private liveEntries(conflictsOf: string | null): Map<string, unknown> {
    const m = new Map<string, unknown>();
    for (const c of this.rest.conflicts.values()) {
      if (c.status === 'open' && (conflictsOf === null || c.userId === conflictsOf))
        m.set(conflictKey(c.id), {
          id: c.id,
          kind: c.kind,
          status: c.status,
          message: c.message,
          openedAt: c.openedAt,
          mutation: c.mutation,
          detail: c.detail,
        });
    }
    for (const session of this.rest.countSessions.values()) {
      if (!isLiveCountSession(session.status)) continue;
      const id = session.id;
      m.set(countSessionKey(id), this.countSessionEntry(session));
      for (const r of this.countLines(id, 1, Number.MAX_SAFE_INTEGER))
        m.set(countLineKey(id, r.lineNo), r);
      for (const p of this.countPositions(id)) m.set(countPositionEntryKey(id, p.positionId), p);
    }
    for (const i of this.inv.items.values()) m.set(itemKey(i.id), i);
    for (const j of this.rest.productionJobs.values()) if (isLiveJob(j)) m.set(jobKey(j.id), j);
    for (const l of this.rest.lists.values())
      if (l.status !== 'closed') m.set(listKey(l.id), listValue(l, this.lines(l.id)));
    for (const l of this.inv.lots.values()) m.set(lotKey(l.itemId, l.lot), l);
    for (const p of this.inv.positions.values()) if (!p.virtual) m.set(positionKey(p.id), p);
    for (const s of this.inv.stock.values())
      m.set(stockKey(s.itemId, s.positionId, s.lot, s.serial), s);
    return m;
  }
  snapshotEntries(opts: SnapshotQuery): SnapshotEntry[] {
    const live = this.liveEntries(opts.conflictsOf ?? null);
    if ('changedAfter' in opts) {
      return [...this.rest.changed]
        .filter(([k, seq]) => seq > opts.changedAfter && k <= opts.upToKey)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .slice(0, opts.limit)
        .map(([key, seq]) => ({ key, value: live.get(key) ?? null, seq }));
    }
    return [...live]
      .filter(([k]) => k > (opts.afterKey ?? ''))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .slice(0, opts.limit)
      .map(([key, value]) => ({ key, value, seq: this.rest.changed.get(key) ?? 0 }));
  }

  stock(q: StockQuery) {
    return [...this.inv.stock.values()]
      .filter(
        (l) =>
          (q.itemId === undefined || l.itemId === q.itemId) &&
          (q.positionId === undefined || l.positionId === q.positionId) &&
          (q.lot === undefined || (l.lot ?? '') === q.lot) &&
          (q.serial === undefined || (l.serial ?? '') === q.serial),
      )
      .sort((a, b) =>
        stockKey(a.itemId, a.positionId, a.lot, a.serial) <
        stockKey(b.itemId, b.positionId, b.lot, b.serial)
          ? -1
          : 1,
      )
      .slice(0, q.limit ?? 10_000);
  }
  items() {
    return [...this.inv.items.values()].sort((a, b) => (a.sku < b.sku ? -1 : 1));
  }
  positions() {
    return [...this.inv.positions.values()]
      .filter((p) => !p.virtual)
      .sort((a, b) => (a.code < b.code ? -1 : 1));
  }
  private row(c: StoredConflict): ConflictRow {
    const { links, ...rest } = c;
    const mutations: { clientID: string; mutationID: number }[] = [];
    for (const l of links) {
      if (!mutations.some((m) => m.clientID === l.clientID && m.mutationID === l.mutationID))
        mutations.push({ clientID: l.clientID, mutationID: l.mutationID });
    }
    return { ...rest, seqs: links.map((l) => l.seq).sort((a, b) => a - b), mutations };
  }
  conflicts(filter: ConflictFilter & { readonly limit?: number }) {
    const found = this.conflictsOf(filter).sort((a, b) => b.openedSeq - a.openedSeq);
    const kept = filter.limit === undefined ? found : found.slice(0, Math.max(0, filter.limit));
    return kept.map((c) => this.row(c));
  }
  conflictCount(filter: ConflictFilter) {
    return this.conflictsOf(filter).length;
  }
  private conflictsOf(filter: ConflictFilter) {
    return [...this.rest.conflicts.values()].filter(
      (c) =>
        (!filter.status || c.status === filter.status) &&
        (!filter.userId || c.userId === filter.userId),
    );
  }
  conflictRow(id: string) {
    const c = this.rest.conflicts.get(id);
    return c && this.row(c);
  }

  userByUsername(username: string) {
    return [...this.rest.users.values()].find(
      (u) => u.username.toLowerCase() === username.toLowerCase(),
    );
  }
  userById(id: string) {
    return this.rest.users.get(id);
  }
  users() {
    return [...this.rest.users.values()].sort((a, b) => (a.username < b.username ? -1 : 1));
  }
  session(tokenHash: string) {
    return this.rest.sessions.get(tokenHash);
  }
  ticket(ticketHash: string) {
    return this.rest.tickets.get(ticketHash);
  }
  device(clientGroupID: string) {
    return this.rest.devices.get(clientGroupID);
  }
  devices() {
    return [...this.rest.devices.values()];
  }
  userOnDevice(clientGroupID: string, userId: string) {
    return this.rest.deviceUsers.has(`${clientGroupID}\u0000${userId}`);
  }
  progress(name: string) {
    return this.rest.progress.get(name) ?? 0;
  }
  job(id: string) {
    return this.rest.jobs.get(id);
  }
  jobs(limit: number, kind?: string) {
    return [...this.rest.jobs.values()]
      .filter((j) => kind === undefined || j.kind === kind)
      .sort((a, b) =>
        a.createdAt !== b.createdAt
          ? a.createdAt < b.createdAt
            ? 1
            : -1
          : a.id < b.id
            ? 1
            : a.id > b.id
              ? -1
              : 0,
      )
      .slice(0, limit);
  }
  queuedJobs() {
    return [...this.rest.jobs.values()]
      .filter((j) => j.status === 'queued')
      .sort((a, b) =>
        a.createdAt !== b.createdAt
          ? a.createdAt < b.createdAt
            ? -1
            : 1
          : a.id < b.id
            ? -1
            : a.id > b.id
              ? 1
              : 0,
      );
  }
  list(id: ListId) {
    return this.rest.lists.get(id);
  }
  listByCode(type: ListType, code: string) {
    for (const l of this.rest.lists.values()) if (l.type === type && l.code === code) return l;
    return undefined;
  }
  line(listId: ListId, lineNo: number) {
    return this.rest.listLines.get(lineKey(listId, lineNo));
  }
  lines(listId: ListId) {
    return [...(this.linesOfList.get(listId) ?? [])]
      .sort((a, b) => a - b)
      .map((n) => this.rest.listLines.get(lineKey(listId, n)) as ListLine);
  }
  lineOfMovement(eventId: EventId) {
    return this.rest.listMovements.get(eventId);
  }
  productionJob(id: JobId) {
    return this.rest.productionJobs.get(id);
  }
  productionJobByCode(code: string) {
    for (const j of this.rest.productionJobs.values()) if (j.code === code) return j;
    return undefined;
  }
  private linksOf(ids: Set<string> | undefined): GenealogyLink[] {
    const out: GenealogyLink[] = [];
    for (const id of ids ?? []) {
      const l = this.rest.genealogyLinks.get(id);
      if (l) out.push(l);
    }
    return out;
  }
  linksFrom(key: string) {
    return this.linksOf(this.linksFromKey.get(key));
  }
  linksTo(key: string) {
    return this.linksOf(this.linksToKey.get(key));
  }
  link(id: string) {
    return this.rest.genealogyLinks.get(id);
  }
  trace(eventId: EventId) {
    return this.rest.eventTraces.get(eventId);
  }
  lists(q: ListQuery) {
    return [...this.rest.lists.values()]
      .filter(
        (l) =>
          (q.status === undefined || q.status.includes(l.status)) &&
          (q.type === undefined || l.type === q.type) &&
          (q.assignee === undefined || l.assignee === q.assignee) &&
          (q.availableTo === undefined || l.assignee === q.availableTo || l.assignee === null) &&
          (q.code === undefined || l.code === q.code),
      )
      .sort(byDueThenCode)
      .slice(0, q.limit ?? 1000);
  }
  countSession(id: CountSessionId) {
    return this.rest.countSessions.get(id);
  }
  countSessionByCode(code: string) {
    const id = this.countCodes.get(code);
    return id === undefined ? undefined : this.rest.countSessions.get(id);
  }
  inCountScope(sessionId: CountSessionId, id: string) {
    return this.countScopeSets.get(sessionId)?.has(id) ?? false;
  }
  countRecord(sessionId: CountSessionId, lineNo: number) {
    return this.rest.countRecords.get(countRecordKey(sessionId, lineNo));
  }
  countRecordOfPair(
    sessionId: CountSessionId,
    itemId: ItemId,
    positionId: PositionId,
    lot: Lot | null,
  ) {
    const lineNo = this.countPairs.get(countPairKey(sessionId, itemId, positionId, lot));
    return lineNo === undefined ? undefined : this.countRecord(sessionId, lineNo);
  }
  countPosition(sessionId: CountSessionId, positionId: PositionId) {
    return this.rest.countPositions.get(countPositionKey(sessionId, positionId));
  }
  countSessions(q: CountSessionQuery) {
    return [...this.rest.countSessions.values()]
      .filter(
        (s) =>
          (q.status === undefined || q.status.includes(s.status)) &&
          (q.assignee === undefined || s.assignees.includes(q.assignee as UserId)),
      )
      .sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0))
      .slice(0, q.limit ?? 1000);
  }
  countScope(sessionId: CountSessionId) {
    return [...(this.rest.countScopes.get(sessionId) ?? [])];
  }
  countLines(sessionId: CountSessionId, from: number, limit: number) {
    const to = from + limit; // exclusive
    return [...(this.countLinesOf.get(sessionId) ?? [])]
      .filter((n) => n >= from && n < to)
      .sort((a, b) => a - b)
      .map((n) => this.rest.countRecords.get(countRecordKey(sessionId, n)) as CountRecord);
  }
  countPositions(sessionId: CountSessionId) {
    return [...(this.countPositionsOf.get(sessionId) ?? [])]
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      .map(
        (p) =>
          this.rest.countPositions.get(
            countPositionKey(sessionId, p as PositionId),
          ) as CountPosition,
      );
  }
  /** A live session as devices get it: the header and its scope's ids. */
  private countSessionEntry(session: CountSession): CountSessionEntry {
    return { ...session, scopeIds: this.countScope(session.id) };
  }
  jobPlan(id: string, offset: number, limit: number) {
    return structuredClone(this.rest.jobPlans.get(id)?.slice(offset, offset + limit) ?? []);
  }

  // ─── Writes ─────────────────────────────────────────────────────────────────────────────

  appendEvent(e: NewEvent) {
    if (this.eventSeq.has(e.id)) throw new Error('UNIQUE constraint failed: events.id');
    const seq = this.head() + 1;
    this.onTouch?.('event', String(seq));
    this.pushEvent({
      seq,
      id: e.id,
      type: e.type,
      data: structuredClone(e.data),
      meta: structuredClone(e.meta),
      clientGroupID: e.clientGroupID,
    });
    if (this.frames > 0) this.undo.push(() => this.popEvent());
    return seq;
  }
  applyProductionChange(c: ProductionChange, seq: number) {
    switch (c.op) {
      case 'putJob': {
        // The entry changes while the job is live, and once more when it is completed (a
        // tombstone); a later change to a completed job changes no entry, so it marks none.
        const before = this.rest.productionJobs.get(c.job.id);
        const wasLive = before !== undefined && isLiveJob(before);
        this.set('productionJobs', c.job.id, c.job);
        if (wasLive || isLiveJob(c.job)) this.set('changed', jobKey(c.job.id), seq);
        return;
      }
      case 'putLink':
        this.set('genealogyLinks', c.link.id, c.link);
        return;
      case 'putTrace':
        this.set('eventTraces', c.eventId, c.trace);
        return;
      default: {
        const unreachable: never = c;
        return unreachable;
      }
    }
  }
  applyCountChange(c: CountChange, seq: number) {
    // Snapshot entries change with the records while their session is live, and all of them
    // once more when it becomes history (tombstones); a late change to an applied or
    // cancelled session's records changes no entry, so it marks none.
    const live = (id: string) => {
      const s = this.rest.countSessions.get(id);
      return s !== undefined && isLiveCountSession(s.status);
    };
    switch (c.op) {
      case 'putCountSession': {
        const s = c.session;
        const before = this.rest.countSessions.get(s.id);
        const wasLive = before !== undefined && isLiveCountSession(before.status);
        const isLive = isLiveCountSession(s.status);
        this.set('countSessions', s.id, s);
        if (wasLive || isLive) this.set('changed', countSessionKey(s.id), seq);
        if (before !== undefined && wasLive !== isLive) {
          for (const n of this.countLinesOf.get(s.id) ?? [])
            this.set('changed', countLineKey(s.id, n), seq);
          for (const p of this.countPositionsOf.get(s.id) ?? [])
            this.set('changed', countPositionEntryKey(s.id, p), seq);
        }
        return;
      }
      case 'putCountScope':
        // A set's semantics (as the domain's fold): an id listed twice is one member.
        this.set('countScopes', c.sessionId, [...new Set(c.ids)]);
        if (live(c.sessionId)) this.set('changed', countSessionKey(c.sessionId), seq);
        return;
      case 'putCountRecord': {
        const r = c.record;
        this.set('countRecords', countRecordKey(r.sessionId, r.lineNo), r);
        if (live(r.sessionId)) this.set('changed', countLineKey(r.sessionId, r.lineNo), seq);
        return;
      }
      case 'putCountPosition': {
        const p = c.position;
        this.set('countPositions', countPositionKey(p.sessionId, p.positionId), p);
        if (live(p.sessionId))
          this.set('changed', countPositionEntryKey(p.sessionId, p.positionId), seq);
        return;
      }
      default: {
        const unreachable: never = c;
        return unreachable;
      }
    }
  }
  applyListChange(c: ListChange, seq: number) {
    switch (c.op) {
      case 'putList':
        this.set('lists', c.list.id, c.list);
        break;
      case 'putListLine':
        this.set('listLines', lineKey(c.listId, c.line.lineNo), c.line);
        break;
      case 'putListMovement':
        this.set('listMovements', c.eventId, c.ref);
        break;
      default: {
        const unreachable: never = c;
        return unreachable;
      }
    }
    this.set('changed', listKey(listIdOfChange(c)), seq);
  }
  applyChange(change: StateChange, seq: number) {
    this.change(change);
    const key = snapshotKeyOf(change);
    if (key) this.set('changed', key, seq);
  }
  setLastMutationID(clientID: string, clientGroupID: string, id: number, seq: number) {
    this.set('clients', clientID, { group: clientGroupID, lmid: id, seq });
  }
  openConflict(c: Parameters<WriteTx['openConflict']>[0]) {
    this.set('conflicts', c.id, { ...c, status: 'open', resolution: null, links: [] });
    this.set('changed', conflictKey(c.id), c.openedSeq);
  }
  openConflictByKey(key: string) {
    let best: { id: string; seq: number } | undefined;
    for (const c of this.rest.conflicts.values()) {
      if (c.key === key && c.status === 'open' && (!best || c.openedSeq > best.seq))
        best = { id: c.id, seq: c.openedSeq };
    }
    return best?.id;
  }
  linkConflict(conflictId: string, link: { seq: number; clientID: string; mutationID: number }) {
    const c = this.rest.conflicts.get(conflictId);
    if (c && !c.links.some((l) => l.seq === link.seq))
      this.set('conflicts', conflictId, { ...c, links: [...c.links, { ...link }] });
  }
  resolveConflict(conflictId: string, resolution: NonNullable<ConflictRow['resolution']>) {
    const c = this.rest.conflicts.get(conflictId);
    if (!c) return;
    this.set('conflicts', conflictId, { ...c, status: 'resolved', resolution });
    this.set('changed', conflictKey(conflictId), resolution.seq);
  }
  competingOutflows(itemId: ItemId, positionId: PositionId, lot: string | null) {
    const seqOf = (id: string) => this.eventSeq.get(id) ?? 0;
    const same = (m: { itemId: ItemId; lot: string | null }) =>
      m.itemId === itemId && (m.lot ?? '') === (lot ?? '');
    let lastIn = 0;
    const outs: number[] = [];
    for (const m of this.inv.movements.values()) {
      if (!same(m)) continue;
      if (m.to === positionId) lastIn = Math.max(lastIn, seqOf(m.id));
      if (m.from === positionId && this.eventSeq.has(m.id)) outs.push(seqOf(m.id));
    }
    return outs
      .filter((seq) => seq > lastIn)
      .sort((a, b) => a - b)
      .slice(0, 50)
      .map((seq) => {
        const e = this.events[seq - 1] as TwinEvent;
        return { seq, clientID: e.meta.clientID, mutationID: e.meta.mutationID };
      });
  }

  createUser(u: UserRow) {
    if (this.userByUsername(u.username))
      throw new Error(`UNIQUE constraint failed: users.username`);
    this.set('users', u.id, { ...u });
  }
  updateUser(
    id: string,
    patch: Partial<Pick<UserRow, 'name' | 'role' | 'active' | 'passwordHash'>>,
  ) {
    const u = this.rest.users.get(id);
    if (u) this.set('users', id, { ...u, ...patch });
  }
  createSession(s: SessionRow) {
    this.set('sessions', s.tokenHash, { ...s });
  }
  bindSession(tokenHash: string, clientGroupID: string) {
    const s = this.rest.sessions.get(tokenHash);
    if (s && s.clientGroupID === null) this.set('sessions', tokenHash, { ...s, clientGroupID });
  }
  revokeSession(tokenHash: string) {
    const s = this.rest.sessions.get(tokenHash);
    if (s) this.set('sessions', tokenHash, { ...s, revoked: true });
  }
  revokeSessionsOfUser(userId: string) {
    for (const [k, s] of this.rest.sessions)
      if (s.userId === userId && !s.revoked) this.set('sessions', k, { ...s, revoked: true });
  }
  createTicket(t: TicketRow & { ticketHash: string }) {
    this.set('tickets', t.ticketHash, {
      userId: t.userId,
      clientGroupID: t.clientGroupID,
      expiresAt: t.expiresAt,
      ...(t.sessionHash !== undefined ? { sessionHash: t.sessionHash } : {}),
    });
  }
  setProgress(name: string, seq: number) {
    this.set('progress', name, seq);
  }
  createJob(job: JobRow, plan: readonly unknown[]) {
    if (this.rest.jobs.has(job.id)) throw new Error(`job ${job.id} exists`);
    this.set('jobs', job.id, structuredClone(job));
    this.set('jobPlans', job.id, structuredClone(plan));
  }
  updateJob(
    id: string,
    patch: Partial<Pick<JobRow, 'status' | 'startedAt' | 'error' | 'problem'>>,
  ) {
    const j = this.rest.jobs.get(id);
    if (!j) return;
    const { problem, ...rest } = { ...j, ...patch };
    // The problem goes with its error: a new error (or none) without one clears it.
    const kept = 'error' in patch && !('problem' in patch) ? undefined : problem;
    this.set('jobs', id, { ...rest, ...(kept ? { problem: structuredClone(kept) } : {}) });
  }
  acquireLease(name: string, holder: string, nowMs: number, ttlMs: number) {
    const l = this.rest.leases.get(name);
    if (l && l.holder !== holder && l.until > nowMs) return false;
    this.set('leases', name, { holder, until: nowMs + ttlMs });
    return true;
  }
  purgeExpired(now: string) {
    for (const [k, t] of this.rest.tickets)
      if (t.expiresAt < now) this.set('tickets', k, undefined);
    for (const [k, s] of this.rest.sessions)
      if (s.expiresAt < now) this.set('sessions', k, undefined);
  }
  touchDevice(
    clientGroupID: string,
    userId: string,
    at: string,
    what: 'login' | 'push' | 'pull',
    info: { pending?: number; appVersion?: string; secretHash?: string } = {},
  ) {
    const known = this.rest.devices.get(clientGroupID);
    const d: DeviceRow = known ?? {
      clientGroupID,
      userId,
      createdAt: at,
      lastPushAt: null,
      lastPullAt: null,
      revokedAt: null,
      pending: null,
      appVersion: null,
      secretHash: null,
    };
    this.set('devices', clientGroupID, {
      ...d,
      userId,
      ...(what === 'push' ? { lastPushAt: at } : {}),
      ...(what === 'pull' ? { lastPullAt: at } : {}),
      ...(info.pending !== undefined ? { pending: info.pending } : {}),
      ...(info.appVersion !== undefined ? { appVersion: info.appVersion } : {}),
      // Bound only when the device is first seen; never changed afterwards.
      secretHash: known ? (known.secretHash ?? null) : (info.secretHash ?? null),
    });
    const du = `${clientGroupID}\u0000${userId}`;
    if (!this.rest.deviceUsers.has(du)) this.set('deviceUsers', du, true);
  }
  revokeDevice(clientGroupID: string, at: string) {
    const d = this.rest.devices.get(clientGroupID);
    this.set('devices', clientGroupID, {
      ...(d ?? {
        clientGroupID,
        userId: null,
        createdAt: at,
        lastPushAt: null,
        lastPullAt: null,
        pending: null,
        appVersion: null,
        secretHash: null,
      }),
      revokedAt: d?.revokedAt ?? at,
    });
  }
}

const strip = (e: TwinEvent): StoredEvent => ({
  seq: e.seq,
  id: e.id,
  type: e.type,
  data: structuredClone(e.data),
  meta: structuredClone(e.meta),
});
