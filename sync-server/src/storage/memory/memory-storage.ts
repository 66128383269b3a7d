import type {
  ConflictId,
  ConflictRecord,
  InventoryState,
  ItemId,
  PositionId,
  StateChange,
} from '@floorsync/domain';
import { applyChange, cloneState, initialState, viewOf } from '@floorsync/domain';
import { conflictKey, itemKey, lotKey, positionKey, stockKey } from '../keys.js';
import type {
  ConflictRow,
  DeviceRow,
  JobRow,
  NewEvent,
  SessionRow,
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
 * Maps. It is the executable reference the contract suite holds adapters to, and a fast
 * store for tests of the HTTP layer. Not durable; savepoints copy the state.
 */

interface Rest {
  clients: Map<string, { group: string; lmid: number; seq: number }>;
  /** Snapshot key → seq that last changed it (tombstones stay). */
  changed: Map<string, number>;
  conflicts: Map<
    string,
    Omit<ConflictRow, 'seqs' | 'mutations'> & {
      links: { seq: number; clientID: string; mutationID: number }[];
    }
  >;
  users: Map<string, UserRow>;
  sessions: Map<string, SessionRow>;
  tickets: Map<string, { userId: string; clientGroupID: string | null; expiresAt: string }>;
  devices: Map<string, DeviceRow>;
  deviceUsers: Set<string>;
  progress: Map<string, number>;
  leases: Map<string, { holder: string; until: number }>;
  jobs: Map<string, { row: JobRow; plan: readonly unknown[] }>;
}

interface Data {
  inv: InventoryState;
  events: (StoredEvent & { clientGroupID: string | null })[];
  rest: Rest;
}

const freshRest = (): Rest => ({
  clients: new Map(),
  changed: new Map(),
  conflicts: new Map(),
  users: new Map(),
  sessions: new Map(),
  tickets: new Map(),
  devices: new Map(),
  deviceUsers: new Set(),
  progress: new Map(),
  leases: new Map(),
  jobs: new Map(),
});

export function openMemoryStorage(): Storage {
  const data: Data = { inv: initialState(), events: [], rest: freshRest() };
  const tx = new MemoryTx(data);
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

class MemoryTx implements WriteTx {
  private view;
  constructor(private readonly d: Data) {
    this.view = viewOf(d.inv);
  }

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
    const c = this.d.rest.conflicts.get(id);
    return c && { id: c.id as ConflictId, kind: c.kind, status: c.status, mutation: c.mutation };
  }

  head() {
    return this.d.events.at(-1)?.seq ?? 0;
  }
  eventsAfter(after: number, limit: number) {
    // seq n is at index n - 1: the log has no holes.
    return this.d.events.slice(after, after + limit).map(strip);
  }
  eventsOfMutation(clientID: string, mutationID: number) {
    return this.d.events
      .filter((e) => e.meta.clientID === clientID && e.meta.mutationID === mutationID)
      .map(strip);
  }
  lastMutationID(clientID: string) {
    const c = this.d.rest.clients.get(clientID);
    return c && { clientGroupID: c.group, lastMutationID: c.lmid };
  }
  lastMutationIDChanges(clientGroupID: string, after: number, upTo: number) {
    const out: Record<string, number> = {};
    for (const e of this.d.events.slice(after, upTo)) {
      if (e.clientGroupID !== clientGroupID) continue;
      out[e.meta.clientID] = Math.max(out[e.meta.clientID] ?? 0, e.meta.mutationID);
    }
    return out;
  }
  clientsOfGroup(clientGroupID: string) {
    const out: Record<string, number> = {};
    for (const [id, c] of this.d.rest.clients) if (c.group === clientGroupID) out[id] = c.lmid;
    return out;
  }

  private liveEntries(conflictsOf: string | null): Map<string, unknown> {
    const m = new Map<string, unknown>();
    for (const c of this.d.rest.conflicts.values()) {
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
    for (const i of this.d.inv.items.values()) m.set(itemKey(i.id), i);
    for (const l of this.d.inv.lots.values()) m.set(lotKey(l.itemId, l.lot), l);
    for (const p of this.d.inv.positions.values()) if (!p.virtual) m.set(positionKey(p.id), p);
    for (const s of this.d.inv.stock.values())
      m.set(stockKey(s.itemId, s.positionId, s.lot, s.serial), s);
    return m;
  }
  snapshotEntries(opts: SnapshotQuery): SnapshotEntry[] {
    const live = this.liveEntries(opts.conflictsOf ?? null);
    if ('changedAfter' in opts) {
      return [...this.d.rest.changed]
        .filter(([k, seq]) => seq > opts.changedAfter && k <= opts.upToKey)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([key, seq]) => ({ key, value: live.get(key) ?? null, seq }));
    }
    return [...live]
      .filter(([k]) => k > (opts.afterKey ?? ''))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .slice(0, opts.limit)
      .map(([key, value]) => ({ key, value, seq: this.d.rest.changed.get(key) ?? 0 }));
  }

  stock(q: StockQuery) {
    return [...this.d.inv.stock.values()]
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
    return [...this.d.inv.items.values()].sort((a, b) => (a.sku < b.sku ? -1 : 1));
  }
  positions() {
    return [...this.d.inv.positions.values()]
      .filter((p) => !p.virtual)
      .sort((a, b) => (a.code < b.code ? -1 : 1));
  }
  private row(c: Rest['conflicts'] extends Map<string, infer V> ? V : never): ConflictRow {
    const { links, ...rest } = c;
    const mutations: { clientID: string; mutationID: number }[] = [];
    for (const l of links) {
      if (!mutations.some((m) => m.clientID === l.clientID && m.mutationID === l.mutationID))
        mutations.push({ clientID: l.clientID, mutationID: l.mutationID });
    }
    return { ...rest, seqs: links.map((l) => l.seq).sort((a, b) => a - b), mutations };
  }
  conflicts(filter: { readonly status?: 'open' | 'resolved'; readonly userId?: string }) {
    return [...this.d.rest.conflicts.values()]
      .filter(
        (c) =>
          (!filter.status || c.status === filter.status) &&
          (!filter.userId || c.userId === filter.userId),
      )
      .sort((a, b) => b.openedSeq - a.openedSeq)
      .map((c) => this.row(c));
  }
  conflictRow(id: string) {
    const c = this.d.rest.conflicts.get(id);
    return c && this.row(c);
  }

  userByUsername(username: string) {
    return [...this.d.rest.users.values()].find(
      (u) => u.username.toLowerCase() === username.toLowerCase(),
    );
  }
  userById(id: string) {
    return this.d.rest.users.get(id);
  }
  users() {
    return [...this.d.rest.users.values()].sort((a, b) => (a.username < b.username ? -1 : 1));
  }
  session(tokenHash: string) {
    return this.d.rest.sessions.get(tokenHash);
  }
  ticket(ticketHash: string) {
    return this.d.rest.tickets.get(ticketHash);
  }
  device(clientGroupID: string) {
    return this.d.rest.devices.get(clientGroupID);
  }
  devices() {
    return [...this.d.rest.devices.values()];
  }
  userOnDevice(clientGroupID: string, userId: string) {
    return this.d.rest.deviceUsers.has(`${clientGroupID}\u0000${userId}`);
  }

  savepoint<T>(fn: () => T): T {
    const saved = {
      inv: cloneState(this.d.inv),
      events: this.d.events.length,
      rest: structuredClone(this.d.rest),
    };
    try {
      return fn();
    } catch (error) {
      Object.assign(this.d.inv, saved.inv);
      this.d.events.length = saved.events;
      this.d.rest = saved.rest;
      throw error;
    }
  }
  appendEvent(e: NewEvent) {
    if (this.d.events.some((x) => x.id === e.id))
      throw new Error('UNIQUE constraint failed: events.id');
    const seq = this.head() + 1;
    this.d.events.push({
      seq,
      id: e.id,
      type: e.type,
      data: structuredClone(e.data),
      meta: structuredClone(e.meta),
      clientGroupID: e.clientGroupID,
    });
    return seq;
  }
  applyChange(change: StateChange, seq: number) {
    applyChange(this.d.inv, change);
    const key = snapshotKeyOf(change);
    if (key) this.d.rest.changed.set(key, seq);
  }
  setLastMutationID(clientID: string, clientGroupID: string, id: number, seq: number) {
    this.d.rest.clients.set(clientID, { group: clientGroupID, lmid: id, seq });
  }
  openConflict(c: Parameters<WriteTx['openConflict']>[0]) {
    this.d.rest.conflicts.set(c.id, { ...c, status: 'open', resolution: null, links: [] });
    this.d.rest.changed.set(conflictKey(c.id), c.openedSeq);
  }
  openConflictByKey(key: string) {
    let best: { id: string; seq: number } | undefined;
    for (const c of this.d.rest.conflicts.values()) {
      if (c.key === key && c.status === 'open' && (!best || c.openedSeq > best.seq))
        best = { id: c.id, seq: c.openedSeq };
    }
    return best?.id;
  }
  linkConflict(conflictId: string, link: { seq: number; clientID: string; mutationID: number }) {
    const c = this.d.rest.conflicts.get(conflictId);
    if (c && !c.links.some((l) => l.seq === link.seq)) c.links.push({ ...link });
  }
  resolveConflict(conflictId: string, resolution: NonNullable<ConflictRow['resolution']>) {
    const c = this.d.rest.conflicts.get(conflictId);
    if (!c) return;
    this.d.rest.conflicts.set(conflictId, { ...c, status: 'resolved', resolution });
    this.d.rest.changed.set(conflictKey(conflictId), resolution.seq);
  }
  competingOutflows(itemId: ItemId, positionId: PositionId, lot: string | null) {
    const movements = [...this.d.inv.movements.values()];
    const seqOf = new Map(this.d.events.map((e) => [e.id, e] as const));
    const lastIn = Math.max(
      0,
      ...movements
        .filter((m) => m.itemId === itemId && m.to === positionId && (m.lot ?? '') === (lot ?? ''))
        .map((m) => seqOf.get(m.id)?.seq ?? 0),
    );
    return movements
      .filter((m) => m.itemId === itemId && m.from === positionId && (m.lot ?? '') === (lot ?? ''))
      .map((m) => seqOf.get(m.id))
      .filter((e): e is NonNullable<typeof e> => e !== undefined && e.seq > lastIn)
      .sort((a, b) => a.seq - b.seq)
      .slice(0, 50)
      .map((e) => ({ seq: e.seq, clientID: e.meta.clientID, mutationID: e.meta.mutationID }));
  }

  createUser(u: UserRow) {
    if (this.userByUsername(u.username))
      throw new Error(`UNIQUE constraint failed: users.username`);
    this.d.rest.users.set(u.id, { ...u });
  }
  updateUser(
    id: string,
    patch: Partial<Pick<UserRow, 'name' | 'role' | 'active' | 'passwordHash'>>,
  ) {
    const u = this.d.rest.users.get(id);
    if (u) this.d.rest.users.set(id, { ...u, ...patch });
  }
  createSession(s: SessionRow) {
    this.d.rest.sessions.set(s.tokenHash, { ...s });
  }
  bindSession(tokenHash: string, clientGroupID: string) {
    const s = this.d.rest.sessions.get(tokenHash);
    if (s && s.clientGroupID === null) this.d.rest.sessions.set(tokenHash, { ...s, clientGroupID });
  }
  revokeSession(tokenHash: string) {
    const s = this.d.rest.sessions.get(tokenHash);
    if (s) this.d.rest.sessions.set(tokenHash, { ...s, revoked: true });
  }
  revokeSessionsOfUser(userId: string) {
    for (const [k, s] of this.d.rest.sessions)
      if (s.userId === userId) this.d.rest.sessions.set(k, { ...s, revoked: true });
  }
  createTicket(t: {
    ticketHash: string;
    userId: string;
    clientGroupID: string | null;
    expiresAt: string;
  }) {
    this.d.rest.tickets.set(t.ticketHash, {
      userId: t.userId,
      clientGroupID: t.clientGroupID,
      expiresAt: t.expiresAt,
    });
  }
  deleteTicket(ticketHash: string) {
    this.d.rest.tickets.delete(ticketHash);
  }
  progress(name: string) {
    return this.d.rest.progress.get(name) ?? 0;
  }
  setProgress(name: string, seq: number) {
    this.d.rest.progress.set(name, seq);
  }
  job(id: string) {
    return this.d.rest.jobs.get(id)?.row;
  }
  jobs(limit: number) {
    return [...this.d.rest.jobs.values()]
      .map((j) => j.row)
      .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0))
      .slice(0, limit);
  }
  jobPlan(id: string, offset: number, limit: number) {
    return structuredClone(this.d.rest.jobs.get(id)?.plan.slice(offset, offset + limit) ?? []);
  }
  createJob(job: JobRow, plan: readonly unknown[]) {
    if (this.d.rest.jobs.has(job.id)) throw new Error(`job ${job.id} exists`);
    this.d.rest.jobs.set(job.id, { row: structuredClone(job), plan: structuredClone(plan) });
  }
  updateJob(id: string, patch: Partial<Pick<JobRow, 'status' | 'startedAt' | 'error'>>) {
    const j = this.d.rest.jobs.get(id);
    if (j) j.row = { ...j.row, ...patch };
  }
  acquireLease(name: string, holder: string, nowMs: number, ttlMs: number) {
    const l = this.d.rest.leases.get(name);
    if (l && l.holder !== holder && l.until > nowMs) return false;
    this.d.rest.leases.set(name, { holder, until: nowMs + ttlMs });
    return true;
  }
  purgeExpired(now: string) {
    for (const [k, t] of this.d.rest.tickets) if (t.expiresAt < now) this.d.rest.tickets.delete(k);
    for (const [k, s] of this.d.rest.sessions)
      if (s.expiresAt < now) this.d.rest.sessions.delete(k);
  }
  touchDevice(
    clientGroupID: string,
    userId: string,
    at: string,
    what: 'login' | 'push' | 'pull',
    info: { pending?: number; appVersion?: string } = {},
  ) {
    const d: DeviceRow = this.d.rest.devices.get(clientGroupID) ?? {
      clientGroupID,
      userId,
      createdAt: at,
      lastPushAt: null,
      lastPullAt: null,
      revokedAt: null,
      pending: null,
      appVersion: null,
    };
    this.d.rest.devices.set(clientGroupID, {
      ...d,
      userId,
      ...(what === 'push' ? { lastPushAt: at } : {}),
      ...(what === 'pull' ? { lastPullAt: at } : {}),
      ...(info.pending !== undefined ? { pending: info.pending } : {}),
      ...(info.appVersion !== undefined ? { appVersion: info.appVersion } : {}),
    });
    this.d.rest.deviceUsers.add(`${clientGroupID}\u0000${userId}`);
  }
  revokeDevice(clientGroupID: string, at: string) {
    const d = this.d.rest.devices.get(clientGroupID);
    this.d.rest.devices.set(clientGroupID, {
      ...(d ?? {
        clientGroupID,
        userId: null,
        createdAt: at,
        lastPushAt: null,
        lastPullAt: null,
        pending: null,
        appVersion: null,
      }),
      revokedAt: d?.revokedAt ?? at,
    });
  }
}

const strip = (e: StoredEvent & { clientGroupID: string | null }): StoredEvent => ({
  seq: e.seq,
  id: e.id,
  type: e.type,
  data: structuredClone(e.data),
  meta: structuredClone(e.meta),
});
