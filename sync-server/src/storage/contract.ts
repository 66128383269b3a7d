import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type {
  CountPosition,
  CountSession,
  CountSessionEntry,
  CountSessionId,
  CountingState,
  DomainEvent,
  EventMeta,
  InventoryEvent,
  InventoryState,
  InventoryView,
  Item,
  ItemId,
  JobId,
  ListId,
  Lot,
  LotInfo,
  MovementList,
  Position,
  PositionId,
  ProductionEvent,
  ProductionJob,
  ProductionState,
  RecordedMutation,
  ReplayDecision,
  Serial,
  StateChange,
  StockLine,
  UserId,
} from '@floorsync/domain';
import {
  OUTSIDE,
  PRODUCTION,
  SITE,
  asConflictId,
  asCountSessionId,
  asEventId,
  asItemId,
  asJobId,
  asPositionId,
  asUserId,
  countChangesOf,
  countLineKey,
  countPositionEntryKey,
  countSessionKey,
  countingEventData,
  countingViewOf,
  decideMutation,
  evolveCounting,
  foldCounting,
  initialCountingState,
  isCountingEvent,
  isLiveCountSession,
  linesOf,
  positionsOf,
  evolveProduction,
  foldLists,
  genealogyChangesOf,
  genealogyQueriesOf,
  initialProductionState,
  lotNode,
  nodeKey,
  productionViewOf,
  serialNode,
  listChangesOf,
  stockChangesOf,
  foldEvent,
  initialState,
  replayViewOf,
  viewOf,
} from '@floorsync/domain';
import type { Mutation } from '@floorsync/domain/testing';
import {
  A,
  C,
  L,
  P,
  Q,
  R,
  S,
  ZONE,
  canonical,
  eventId,
  itemDefined,
  lot,
  moveContainer,
  moveStock,
  positionDefined,
  receiveStock,
  received,
  reverseMovement,
  serial,
  shipStock,
  warehouse,
} from '@floorsync/domain/testing';
import { conflictKey, itemKey, jobKey, listKey, lotKey, positionKey, stockKey } from './keys.js';
import type {
  ConflictRow,
  CountSessionQuery,
  NewEvent,
  ReadTx,
  SessionRow,
  SnapshotEntry,
  Storage,
  UserRow,
  WriteTx,
} from './port.js';
import { StorageUnavailableError } from './port.js';

/**
 * The storage contract: what every `Storage` adapter must do, whatever the store behind it.
 * Each adapter's test file calls `storageContract(name, open)`; the in-memory twin, SQLite and
 * (later) ArangoDB run these same tests. Read models are held to the domain's own fold
 * (`viewOf` of `evolve`d state), never to another adapter, so a shared mistake cannot hide.
 *
 * Everything inside a `write`/`read` callback is synchronous, as the port requires: an adapter
 * with an asynchronous driver prefetches and buffers.
 */
export interface StorageContractOptions {
  /**
   * Opens again the store behind `closed` (which the suite has already closed). Given by
   * durable adapters; the durability tests run only then.
   */
  readonly reopen?: (closed: Storage) => Promise<Storage> | Storage;
}

// ─── Fixtures ───────────────────────────────────────────────────────────────────────────────

const T0 = '2026-03-02T08:00:00.000Z';
/** `T0` plus `minutes`, as ISO 8601. */
const at = (minutes: number): string => new Date(Date.parse(T0) + minutes * 60_000).toISOString();
/** Greater than every snapshot key (`s/<kind>/…` with URI-encoded parts). */
const LAST_KEY = 's/~';
const SUPERVISOR = { userId: asUserId('u'), role: 'supervisor' } as const;

/** Where an event came from: a client's mutation in a client group. */
interface Origin {
  readonly clientID?: string;
  readonly mutationID?: number;
  readonly group?: string | null;
  readonly userId?: string;
  readonly conflicts?: readonly string[];
}

const metaOf = (o: Origin = {}): EventMeta => ({
  clientID: o.clientID ?? 'c1',
  mutationID: o.mutationID ?? 1,
  userId: o.userId ?? 'u1',
  occurredAt: T0,
  recordedAt: T0,
  conflicts: [...(o.conflicts ?? [])],
});

/** A log entry with no inventory effect (what a rejection or a note would be). */
const plainEvent = (id: string, o: Origin = {}, data: unknown = { n: id }): NewEvent => ({
  id,
  type: 'MutationRejected',
  data,
  meta: metaOf(o),
  clientGroupID: o.group === undefined ? 'g1' : o.group,
});

/** Appends a domain event and applies its state changes to the read models, as the push replay does. */
function record(tx: WriteTx, id: string, event: DomainEvent, o: Origin = {}): number {
  const seq = tx.appendEvent({
    id,
    type: event.type,
    data: event.data,
    meta: metaOf(o),
    clientGroupID: o.group === undefined ? 'g1' : o.group,
  });
  const logged = { id, type: event.type, data: event.data };
  for (const change of listChangesOf(tx, logged)) tx.applyListChange(change, seq);
  for (const change of genealogyChangesOf(tx, logged)) tx.applyProductionChange(change, seq);
  for (const change of countChangesOf(tx, logged)) tx.applyCountChange(change, seq);
  for (const change of stockChangesOf(logged)) tx.applyChange(change, seq);
  return seq;
}

const moved = (
  itemId: ItemId,
  from: PositionId,
  to: PositionId,
  quantity: number,
  extra: { lot?: Lot; serial?: Serial } = {},
): InventoryEvent => ({ type: 'StockMoved', data: { itemId, from, to, quantity, ...extra } });
const shipped = (
  itemId: ItemId,
  from: PositionId,
  quantity: number,
  extra: { lot?: Lot; serial?: Serial } = {},
): InventoryEvent => ({ type: 'StockShipped', data: { itemId, from, quantity, ...extra } });
const adjusted = (
  itemId: ItemId,
  positionId: PositionId,
  delta: number,
  extra: { lot?: Lot; serial?: Serial } = {},
): InventoryEvent => ({
  type: 'StockAdjusted',
  data: { itemId, positionId, delta, reason: delta > 0 ? 'found' : 'damaged', ...extra },
});
const jobCreated = (
  jobId: JobId,
  code: string,
  itemId: ItemId,
  extra: { quantity?: number; note?: string } = {},
): ProductionEvent => ({ type: 'ProductionJobCreated', data: { jobId, code, itemId, ...extra } });
const jobStarted = (jobId: JobId): ProductionEvent => ({
  type: 'ProductionJobStarted',
  data: { jobId },
});
const jobCompleted = (jobId: JobId, note?: string): ProductionEvent => ({
  type: 'ProductionJobCompleted',
  data: { jobId, ...(note === undefined ? {} : { note }) },
});
const produced = (
  jobId: JobId,
  itemId: ItemId,
  to: PositionId,
  quantity: number,
): ProductionEvent => ({
  type: 'StockProduced',
  data: { jobId, itemId, to, quantity },
});
const reversed = (
  movementId: string,
  itemId: ItemId,
  from: PositionId,
  to: PositionId,
  quantity: number,
  extra: { lot?: Lot; serial?: Serial } = {},
): InventoryEvent => ({
  type: 'MovementReversed',
  data: { movementId: eventId(movementId), itemId, from, to, quantity, ...extra },
});

/** A lot-tracked item sharing lot codes with L, so `lotsWithCode` finds several. */
const M = asItemId('item-M');
/** Redefined halfway with a new SKU and barcode. */
const X = asItemId('item-X');
/** An id that needs URI-encoding in snapshot keys. */
const W = asItemId('item/W %1');
/** A named bin. */
const N = asPositionId('pos-N');
/** A disposable tote inside pallet C (two levels of nesting), retired once emptied. */
const BOX = asPositionId('pos-BOX');
const L1 = lot('L1');
const L2 = lot('L2');
/** Production jobs of the scenario: one created, one running, one completed. */
const J1 = asJobId('0192f0c8-0000-7000-8000-00000000d001');
const J2 = asJobId('0192f0c8-0000-7000-8000-00000000d002');
const J3 = asJobId('0192f0c8-0000-7000-8000-00000000d003');
/** Created and completed while a device pages through a snapshot. */
const J4 = asJobId('0192f0c8-0000-7000-8000-00000000d004');
const SN1 = serial('SN-1');
const SN2 = serial('SN-2');

interface Logged {
  readonly id: string;
  readonly event: InventoryEvent | ProductionEvent;
}

/**
 * A day on the floor, as domain events: definitions, receipts (lots with and without expiry,
 * serials, fractions), moves, shipments, adjustments (one driving a line negative, as a
 * recorded fact may), a container move, reversals (of a move and of a receipt), lines dropping
 * to 0, a serial in two places, a retired tote, a redefined item and a redefined position.
 * Production jobs (snapshot entries while created or running): J1 created, J2 running, J3
 * started, producing, completed, and its production partly reversed after that.
 */
function scenario(): Logged[] {
  const out: Logged[] = [];
  const add = (event: InventoryEvent | ProductionEvent): string => {
    const id = `ev-${out.length + 1}`;
    out.push({ id, event });
    return id;
  };
  for (const e of warehouse()) add(e);
  add({
    type: 'PositionDefined',
    data: {
      positionId: N,
      code: 'N',
      parentId: ZONE,
      kind: 'bin',
      fixed: true,
      disposable: false,
      name: 'Returns',
    },
  });
  add(positionDefined(BOX, 'BOX', 'container', C, { disposable: true }));
  add(itemDefined(M, 'M', 'lot'));
  add(itemDefined(X, 'X-OLD', 'none', ['96385074']));
  add(itemDefined(W, 'W', 'none'));
  add(received(A, P, 10));
  add(received(A, C, 4));
  add(received(L, Q, 5, { lot: L1, expiresOn: '2027-03-01' }));
  add(received(L, Q, 2, { lot: L1 })); // no expiry: the known one stays
  add(received(L, R, 3, { lot: L2 }));
  add(received(L, R, 1, { lot: L2, expiresOn: '2027-06-30' })); // expiry learned later
  add(received(M, N, 8, { lot: L1, expiresOn: '2026-12-31' }));
  add(received(S, R, 1, { serial: SN1 }));
  add(received(S, BOX, 1, { serial: SN2 }));
  add(received(W, Q, 0.1));
  add(received(W, Q, 0.2)); // 0.30000000000000004 in floats: stored rounded
  add(jobCreated(J1, 'J-1', A, { quantity: 10, note: 'first shift' }));
  add(jobCreated(J3, 'J-3', A));
  add(jobCreated(J2, 'J-2', W));
  add(jobStarted(J3));
  add(jobStarted(J2));
  const made = add(produced(J3, A, Q, 2));
  const move = add(moved(A, P, Q, 3));
  add(shipped(A, Q, 1));
  add(adjusted(A, P, -2));
  add(adjusted(A, R, 5));
  add({ type: 'ContainerMoved', data: { containerId: C, from: P, to: R } });
  add(reversed(move, A, Q, P, 2)); // partial reversal of the move
  const receipt = add(received(X, N, 6));
  add(reversed(receipt, X, N, OUTSIDE, 6)); // the receipt undone: the line drops to 0
  add(moved(S, R, P, 1, { serial: SN1 }));
  add(shipped(A, C, 4)); // the pallet's line drops to 0
  add(shipped(L, Q, 7, { lot: L1 })); // lot L1 at Q drops to 0
  add(adjusted(L, R, -10, { lot: L2 })); // recorded although only 4 were there: -6
  add(received(S, Q, 1, { serial: SN1 })); // SN-1 now in two places
  add(moved(S, BOX, Q, 1, { serial: SN2 }));
  add(jobCompleted(J3, 'done early'));
  add(reversed(made, A, Q, PRODUCTION, 1)); // after completion: J3 made 1, still a tombstone
  add({ type: 'PositionRetired', data: { positionId: BOX, reason: 'disposable-empty' } });
  add(itemDefined(X, 'X-NEW', 'none', ['5901234123457'])); // new SKU and barcode
  add(moved(W, Q, R, 0.3)); // exactly what is there, after rounding
  add(received(W, N, 2.5));
  add(positionDefined(N, 'N2', 'bin', SITE)); // redefined: new code and parent, name dropped
  return out;
}

/** The snapshot key a state change touches (movements have none). */
function keyOfChange(c: StateChange): string | null {
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
}

/** A job devices hold: created or running (completed ones are history). */
const isLiveJobRef = (j: ProductionJob): boolean =>
  j.status === 'created' || j.status === 'running';

/**
 * The live snapshot entries of a domain state (conflicts, lists and counting aside), by key:
 * the inventory's, and the production jobs created or running.
 */
function liveOf(state: InventoryState, production?: ProductionState): Map<string, unknown> {
  const m = new Map<string, unknown>();
  for (const i of state.items.values()) m.set(itemKey(i.id), i);
  for (const j of production?.jobs.values() ?? []) if (isLiveJobRef(j)) m.set(jobKey(j.id), j);
  for (const l of state.lots.values()) m.set(lotKey(l.itemId, l.lot), l);
  for (const p of state.positions.values()) if (!p.virtual) m.set(positionKey(p.id), p);
  for (const s of state.stock.values()) m.set(stockKey(s.itemId, s.positionId, s.lot, s.serial), s);
  return m;
}

/**
 * The domain's in-memory fold of the same events, with, per snapshot key, the seq of the last
 * event that touched it and of the last one that changed its value.
 */
class Reference {
  state: InventoryState = initialState();
  /** Production jobs and genealogy, folded alongside: jobs are snapshot entries too. */
  readonly production: ProductionState = initialProductionState();
  readonly lastTouch = new Map<string, number>();
  readonly lastValueChange = new Map<string, number>();
  readonly ids: string[] = [];

  constructor(private readonly track = true) {}

  fold(id: string, event: DomainEvent, seq: number): void {
    this.ids.push(id);
    const logged = { id, type: event.type, data: event.data };
    const before = this.track ? liveOf(this.state, this.production) : undefined;
    const jobsBefore = new Map(this.track ? this.production.jobs : []);
    // Production first: its changes are computed from the inventory before the event.
    evolveProduction(this.production, viewOf(this.state), logged);
    this.state = foldEvent(this.state, logged);
    if (!before) return;
    for (const c of stockChangesOf(logged)) {
      const k = keyOfChange(c);
      if (k !== null) this.lastTouch.set(k, seq);
    }
    // A job whose record was written (a putJob puts a new record) had its key touched.
    for (const [jobId, job] of this.production.jobs)
      if (jobsBefore.get(jobId) !== job) this.lastTouch.set(jobKey(jobId), seq);
    const after = liveOf(this.state, this.production);
    for (const k of new Set([...before.keys(), ...after.keys()])) {
      if (canonical(before.get(k)) !== canonical(after.get(k))) this.lastValueChange.set(k, seq);
    }
  }

  /** The live snapshot entries of what was folded (conflicts, lists and counting aside). */
  live(): Map<string, unknown> {
    return liveOf(this.state, this.production);
  }

  /** Appends the event to the store (with its changes) and folds it here. */
  apply(tx: WriteTx, id: string, event: DomainEvent, o: Origin = {}): number {
    const seq = record(tx, id, event, o);
    this.fold(id, event, seq);
    return seq;
  }
}

// ─── Comparing answers ──────────────────────────────────────────────────────────────────────

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const sortBy =
  <T>(key: (x: T) => string) =>
  (xs: readonly T[]): T[] =>
    [...xs].sort((a, b) => compare(key(a), key(b)));
const lineKey = (l: StockLine): string => stockKey(l.itemId, l.positionId, l.lot, l.serial);
const sortLines = sortBy<StockLine>(lineKey);
const sortPositions = sortBy<Position>((p) => p.id);
const sortItems = sortBy<Item>((i) => i.id);
const sortLots = sortBy<LotInfo>((l) => `${l.itemId}\u0000${l.lot}`);
const sortCanonical = <T>(xs: readonly T[]): T[] => sortBy<T>(canonical)(xs);

interface Probes {
  readonly items: readonly ItemId[];
  readonly skus: readonly string[];
  readonly barcodes: readonly string[];
  readonly positions: readonly PositionId[];
  readonly codes: readonly string[];
  readonly lots: readonly Lot[];
  readonly serials: readonly Serial[];
  readonly movements: readonly string[];
}

/** Everything worth asking about after `events`: every id, code, SKU and barcode ever seen, and unknown ones. */
function probesOf(events: readonly Logged[], state: InventoryState): Probes {
  const skus = new Set(['no-such-sku']);
  const barcodes = new Set(['no-such-barcode', '96385074']);
  const codes = new Set(['no-such-code', '@SITE', '@OUTSIDE']);
  const lots = new Set(['no-such-lot']);
  const serials = new Set(['no-such-serial']);
  for (const { event: e } of events) {
    if (e.type === 'ItemDefined') {
      skus.add(e.data.sku);
      for (const b of e.data.barcodes) barcodes.add(b);
    }
    if (e.type === 'PositionDefined') codes.add(e.data.code);
    if ('lot' in e.data && e.data.lot !== undefined) lots.add(e.data.lot);
    if ('serial' in e.data && e.data.serial !== undefined) serials.add(e.data.serial);
  }
  return {
    items: [...state.items.keys(), asItemId('no-such-item')],
    skus: [...skus],
    barcodes: [...barcodes],
    positions: [...state.positions.keys(), asPositionId('no-such-position')],
    codes: [...codes],
    lots: [...lots].map(lot),
    serials: [...serials].map(serial),
    movements: [...events.map((e) => e.id), 'no-such-event'],
  };
}

/** Every `InventoryView` answer of `actual` equals the domain's for `state`. */
function expectSameView(
  actual: InventoryView,
  state: InventoryState,
  p: Probes,
  where: string,
): void {
  const expected = viewOf(state);
  for (const id of p.items) {
    expect(actual.item(id), `${where}: item(${id})`).toEqual(expected.item(id));
    expect(sortLines(actual.linesOfItem(id)), `${where}: linesOfItem(${id})`).toEqual(
      sortLines(expected.linesOfItem(id)),
    );
  }
  for (const sku of p.skus)
    expect(actual.itemBySku(sku), `${where}: itemBySku(${sku})`).toEqual(expected.itemBySku(sku));
  for (const b of p.barcodes)
    expect(actual.itemByBarcode(b), `${where}: itemByBarcode(${b})`).toEqual(
      expected.itemByBarcode(b),
    );
  for (const id of p.positions) {
    expect(actual.position(id), `${where}: position(${id})`).toEqual(expected.position(id));
    expect(sortPositions(actual.children(id)), `${where}: children(${id})`).toEqual(
      sortPositions(expected.children(id)),
    );
    expect(sortLines(actual.linesAt(id)), `${where}: linesAt(${id})`).toEqual(
      sortLines(expected.linesAt(id)),
    );
  }
  for (const code of p.codes)
    expect(actual.positionByCode(code), `${where}: positionByCode(${code})`).toEqual(
      expected.positionByCode(code),
    );
  for (const s of p.serials)
    expect(sortLines(actual.linesWithSerial(s)), `${where}: linesWithSerial(${s})`).toEqual(
      sortLines(expected.linesWithSerial(s)),
    );
  for (const l of p.lots)
    expect(sortLots(actual.lotsWithCode(l)), `${where}: lotsWithCode(${l})`).toEqual(
      sortLots(expected.lotsWithCode(l)),
    );
  for (const id of p.movements)
    expect(actual.movement(asEventId(id)), `${where}: movement(${id})`).toEqual(
      expected.movement(asEventId(id)),
    );
  for (const itemId of p.items)
    for (const positionId of p.positions)
      for (const l of [null, ...p.lots])
        for (const s of [null, ...p.serials])
          expect(
            actual.quantity(itemId, positionId, l, s),
            `${where}: quantity(${itemId}, ${positionId}, ${l}, ${s})`,
          ).toBe(expected.quantity(itemId, positionId, l, s));
}

/** Pages through the snapshot the way pull does, each page in its own read. */
async function pageAll(storage: Storage, limit: number): Promise<SnapshotEntry[][]> {
  const pages: SnapshotEntry[][] = [];
  let afterKey: string | null = null;
  for (let i = 0; i < 10_000; i++) {
    const after: string | null = afterKey;
    const page: SnapshotEntry[] = await storage.read((tx) =>
      tx.snapshotEntries({ afterKey: after, limit }),
    );
    pages.push(page);
    if (page.length < limit) return pages;
    afterKey = page.at(-1)?.key ?? null;
  }
  throw new Error('snapshot paging does not end');
}

/** The conflict as a snapshot value (what devices see). */
const conflictValue = (c: ConflictRow) => ({
  id: c.id,
  kind: c.kind,
  status: c.status,
  message: c.message,
  openedAt: c.openedAt,
  mutation: c.mutation,
  detail: c.detail,
});

/** A conflict row with its (unordered) mutation list in a fixed order. */
const normalizedConflict = (c: ConflictRow) => ({
  ...c,
  mutations: sortCanonical(c.mutations),
});

interface Known {
  readonly clients?: readonly string[];
  readonly groups?: readonly string[];
  readonly users?: readonly string[];
  readonly tokens?: readonly string[];
  readonly tickets?: readonly string[];
  readonly conflicts?: readonly string[];
}

/** Everything observable through `ReadTx`, order-insensitive where the port promises no order. */
function dump(tx: ReadTx, k: Known = {}) {
  const groups = k.groups ?? [];
  const users = k.users ?? [];
  return {
    head: tx.head(),
    events: tx.eventsAfter(0, 1_000_000),
    stock: sortLines(tx.stock({})),
    items: sortItems(tx.items()),
    positions: sortPositions(tx.positions()),
    snapshot: tx.snapshotEntries({ afterKey: null, limit: 1_000_000 }),
    changed: tx.snapshotEntries({ changedAfter: 0, upToKey: LAST_KEY }),
    conflicts: sortCanonical(tx.conflicts({}).map(normalizedConflict)),
    conflictRecords: (k.conflicts ?? []).map((id) => tx.conflict(asConflictId(id)) ?? null),
    users: sortCanonical(tx.users()),
    devices: sortCanonical(tx.devices()),
    clients: (k.clients ?? []).map((c) => tx.lastMutationID(c) ?? null),
    groups: groups.map((g) => tx.clientsOfGroup(g)),
    sessions: (k.tokens ?? []).map((t) => tx.session(t) ?? null),
    tickets: (k.tickets ?? []).map((t) => tx.ticket(t) ?? null),
    deviceUsers: groups.flatMap((g) => users.map((u) => tx.userOnDevice(g, u))),
  };
}

const user = (id: string, username: string, extra: Partial<UserRow> = {}): UserRow => ({
  id,
  username,
  name: `User ${username}`,
  role: 'operator',
  active: true,
  passwordHash: `hash-${id}`,
  createdAt: T0,
  ...extra,
});

const session = (
  tokenHash: string,
  userId: string,
  extra: Partial<SessionRow> = {},
): SessionRow => ({
  tokenHash,
  userId,
  clientGroupID: null,
  createdAt: T0,
  expiresAt: at(60),
  revoked: false,
  ...extra,
});

const recordedMutation = (clientID: string, id: number): RecordedMutation => ({
  clientID,
  id,
  name: 'moveStock',
  args: { itemId: A, from: P, to: Q, quantity: 3 },
  timestamp: 1_767_000_000_000,
  userID: 'u1',
});

type ConflictInput = Parameters<WriteTx['openConflict']>[0];
const conflictInput = (
  id: string,
  openedSeq: number,
  extra: Partial<ConflictInput> = {},
): ConflictInput => ({
  id,
  kind: 'negative-stock',
  key: `negative-stock/${A}/${P}/`,
  message: 'P holds 1 A, 3 taken: -2',
  openedAt: T0,
  openedSeq,
  mutation: recordedMutation('c1', 4),
  userId: 'u1',
  detail: { itemId: A, positionId: P, lot: null, available: 1, requested: 3, resulting: -2 },
  ...extra,
});

/** Random commands as devices push them (the domain's property-test vocabulary). */
const bins = [P, Q, R, C];
const quantityArb = fc.oneof(fc.integer({ min: 1, max: 20 }), fc.constantFrom(0.5, 1.25, 2.001));
const plainOrLot = fc.oneof(
  fc.record({ item: fc.constant<string>(A), extra: fc.constant({}) }),
  fc.record({
    item: fc.constant<string>(L),
    extra: fc.constantFrom('L1', 'L2').map((l) => ({ lot: l })),
  }),
);
const serialItem = fc.record({
  item: fc.constant<string>(S),
  extra: fc.constantFrom('S1', 'S2', 'S3').map((s) => ({ serial: s })),
});
type RandomCommand = Mutation | { readonly reverse: number };
const commandArb: fc.Arbitrary<RandomCommand> = fc.oneof(
  fc
    .tuple(plainOrLot, fc.constantFrom(...bins), quantityArb, fc.boolean())
    .map(([t, to, q, expiry]) =>
      receiveStock(t.item, to, q, {
        ...t.extra,
        ...(expiry && 'lot' in t.extra ? { expiresOn: '2027-01-31' } : {}),
      }),
    ),
  fc
    .tuple(plainOrLot, fc.constantFrom(...bins), fc.constantFrom(...bins), quantityArb)
    .map(([t, a, b, q]) => moveStock(t.item, a, b, q, t.extra)),
  fc
    .tuple(plainOrLot, fc.constantFrom(...bins), quantityArb)
    .map(([t, from, q]) => shipStock(t.item, from, q, t.extra)),
  fc
    .tuple(
      plainOrLot,
      fc.constantFrom(...bins),
      fc.integer({ min: -15, max: 15 }).filter((d) => d !== 0),
    )
    .map(([t, pos, d]) => ({
      name: 'adjustStock',
      args: { itemId: t.item, positionId: pos, delta: d, reason: 'count-correction', ...t.extra },
    })),
  fc
    .tuple(serialItem, fc.constantFrom(...bins))
    .map(([t, to]) => receiveStock(t.item, to, 1, t.extra)),
  fc
    .tuple(serialItem, fc.constantFrom(...bins), fc.constantFrom(...bins))
    .map(([t, a, b]) => moveStock(t.item, a, b, 1, t.extra)),
  fc
    .tuple(serialItem, fc.constantFrom(...bins))
    .map(([t, from]) => shipStock(t.item, from, 1, t.extra)),
  fc.constantFrom(P, Q, R).map((to) => moveContainer(C, to)),
  fc.nat(200).map((reverse) => ({ reverse })),
);

/** A decision without its human-readable messages (they may list places in any order). */
const decisionSummary = (d: ReplayDecision) =>
  d.kind === 'rejected'
    ? { kind: d.kind, code: d.code }
    : {
        kind: d.kind,
        events: d.events,
        conflicts: sortCanonical(d.conflicts.map((c) => ({ kind: c.kind, key: c.key }))),
      };

// ─── The suite ──────────────────────────────────────────────────────────────────────────────

export function storageContract(
  name: string,
  open: () => Promise<Storage> | Storage,
  options: StorageContractOptions = {},
): void {
  describe(name, () => {
    const opened = new Set<Storage>();
    const fresh = async (): Promise<Storage> => {
      const s = await open();
      opened.add(s);
      return s;
    };
    const close = async (s: Storage): Promise<void> => {
      opened.delete(s);
      await s.close();
    };
    afterEach(async () => {
      const all = [...opened];
      opened.clear();
      await Promise.all(all.map((s) => s.close()));
    });

    /** A store holding the scenario (in three writes), and its reference. */
    async function withScenario(): Promise<{ s: Storage; ref: Reference; events: Logged[] }> {
      const s = await fresh();
      const ref = new Reference();
      const events = scenario();
      const third = Math.ceil(events.length / 3);
      for (let i = 0; i < events.length; i += third) {
        const part = events.slice(i, i + third);
        await s.write((tx) => {
          for (const { id, event } of part)
            ref.apply(tx, id, event, { mutationID: ref.ids.length + 1 });
        });
      }
      return { s, ref, events };
    }

    // ─── The event log ────────────────────────────────────────────────────────────────────

    describe('event log', () => {
      it('an empty store has head 0 and no events', async () => {
        const s = await fresh();
        const r = await s.read((tx) => ({
          head: tx.head(),
          events: tx.eventsAfter(0, 10),
          ofMutation: tx.eventsOfMutation('c1', 1),
        }));
        expect(r).toEqual({ head: 0, events: [], ofMutation: [] });
      });

      it('seqs start at 1 and strictly increase, within and across writes', async () => {
        const s = await fresh();
        const first = await s.write((tx) => [
          tx.appendEvent(plainEvent('a')),
          tx.appendEvent(plainEvent('b')),
          tx.appendEvent(plainEvent('c')),
        ]);
        const second = await s.write((tx) => [
          tx.appendEvent(plainEvent('d')),
          tx.appendEvent(plainEvent('e')),
        ]);
        expect(first).toEqual([1, 2, 3]);
        expect(second).toEqual([4, 5]);
        expect(await s.read((tx) => tx.head())).toBe(5);
      });

      it('eventsAfter pages in seq order and returns events as appended', async () => {
        const s = await fresh();
        const appended: NewEvent[] = Array.from({ length: 7 }, (_, i) =>
          plainEvent(
            `e${i + 1}`,
            { clientID: `c${i % 2}`, mutationID: i + 1 },
            {
              i,
              nested: { list: [1, 'two', null], flag: i % 2 === 0 },
            },
          ),
        );
        await s.write((tx) => {
          for (const e of appended) tx.appendEvent(e);
        });
        const pages: number[][] = [];
        let after = 0;
        for (;;) {
          const from = after;
          const page = await s.read((tx) => tx.eventsAfter(from, 3));
          if (page.length === 0) break;
          pages.push(page.map((e) => e.seq));
          after = page.at(-1)?.seq ?? after;
        }
        expect(pages).toEqual([[1, 2, 3], [4, 5, 6], [7]]);

        const r = await s.read((tx) => ({
          middle: tx.eventsAfter(2, 2),
          all: tx.eventsAfter(0, 100),
          none: tx.eventsAfter(0, 0),
          beyond: tx.eventsAfter(7, 10),
        }));
        expect(r.middle.map((e) => e.seq)).toEqual([3, 4]);
        expect(r.none).toEqual([]);
        expect(r.beyond).toEqual([]);
        expect(r.all).toEqual(
          appended.map((e, i) => ({
            seq: i + 1,
            id: e.id,
            type: e.type,
            data: e.data,
            meta: e.meta,
          })),
        );
      });

      it('eventsOfMutation returns exactly the events of that client and mutation, in seq order', async () => {
        const s = await fresh();
        await s.write((tx) => {
          tx.appendEvent(plainEvent('x1', { clientID: 'c1', mutationID: 1 }));
          tx.appendEvent(plainEvent('x2', { clientID: 'c1', mutationID: 2 }));
          tx.appendEvent(plainEvent('x3', { clientID: 'c2', mutationID: 2 }));
          tx.appendEvent(plainEvent('x4', { clientID: 'c1', mutationID: 2 }));
        });
        await s.write((tx) => tx.appendEvent(plainEvent('x5', { clientID: 'c1', mutationID: 2 })));
        const r = await s.read((tx) => ({
          c1m2: tx.eventsOfMutation('c1', 2).map((e) => [e.seq, e.id]),
          c2m2: tx.eventsOfMutation('c2', 2).map((e) => e.id),
          c1m1: tx.eventsOfMutation('c1', 1).map((e) => e.id),
          none: tx.eventsOfMutation('c3', 1),
        }));
        expect(r).toEqual({
          c1m2: [
            [2, 'x2'],
            [4, 'x4'],
            [5, 'x5'],
          ],
          c2m2: ['x3'],
          c1m1: ['x1'],
          none: [],
        });
      });

      it('concurrent writes get distinct seqs with no holes; readers never see seq n+1 without n', async () => {
        const s = await fresh();
        const writes: Promise<number[]>[] = [];
        const reads: Promise<{ head: number; seqs: number[] }>[] = [];
        for (let i = 0; i < 8; i++) {
          writes.push(
            s.write((tx) => [
              tx.appendEvent(plainEvent(`w${i}a`, { clientID: `c${i}` })),
              tx.appendEvent(plainEvent(`w${i}b`, { clientID: `c${i}` })),
            ]),
          );
          reads.push(
            s.read((tx) => ({ head: tx.head(), seqs: tx.eventsAfter(0, 1000).map((e) => e.seq) })),
          );
        }
        const [seqs, seen] = await Promise.all([Promise.all(writes), Promise.all(reads)]);
        for (const [a, b] of seqs) expect(a).toBeLessThan(b ?? 0);
        expect(seqs.flat().sort((a, b) => a - b)).toEqual(
          Array.from({ length: 16 }, (_, i) => i + 1),
        );
        for (const r of seen) {
          expect(r.seqs).toEqual(Array.from({ length: r.head }, (_, i) => i + 1));
        }
        const events = await s.read((tx) => tx.eventsAfter(0, 100));
        // Each write's events carry that write's ids, under the seqs it was given.
        seqs.forEach(([a, b], i) => {
          expect(events.find((e) => e.seq === a)?.id).toBe(`w${i}a`);
          expect(events.find((e) => e.seq === b)?.id).toBe(`w${i}b`);
        });
      });
    });

    // ─── Read models against the domain fold ──────────────────────────────────────────────

    describe('read models match the domain fold', () => {
      it('answers every InventoryView query like viewOf(fold), inside writes and after commit', async () => {
        const s = await fresh();
        const ref = new Reference();
        const events = scenario();
        const cuts = [8, 20, events.length];
        let from = 0;
        for (const cut of cuts) {
          const part = events.slice(from, cut);
          const seen = events.slice(0, cut);
          await s.write((tx) => {
            for (const { id, event } of part) ref.apply(tx, id, event);
            // Before commit: the write's own view.
            expectSameView(tx, ref.state, probesOf(seen, ref.state), `inside write up to ${cut}`);
          });
          await s.read((tx) => {
            expectSameView(tx, ref.state, probesOf(seen, ref.state), `after commit up to ${cut}`);
          });
          from = cut;
        }
        // The scenario reached what it is meant to exercise.
        await s.read((tx) => {
          expect(tx.quantity(L, R, L2, null)).toBe(-6);
          expect(tx.quantity(W, N, null, null)).toBe(2.5);
          expect(tx.linesWithSerial(SN1)).toHaveLength(2);
          expect(tx.lotsWithCode(L1)).toHaveLength(2);
          expect(tx.lotsWithCode(L1).find((l) => l.itemId === L)?.expiresOn).toBe('2027-03-01');
          expect(tx.position(BOX)?.retired).toBe(true);
          expect(tx.position(C)?.parentId).toBe(R);
          expect(tx.itemBySku('X-OLD')).toBeUndefined();
          for (const { event } of events) {
            if (event.type !== 'MovementReversed') continue;
            expect(tx.movement(event.data.movementId)?.reversedQuantity).toBe(event.data.quantity);
            expect(tx.movement(event.data.movementId)?.reversedBy).not.toBeNull();
          }
        });
      });

      it('stock(), items() and positions() list what the fold holds', async () => {
        const { s, ref } = await withScenario();
        const lines = sortLines([...ref.state.stock.values()]);
        const r = await s.read((tx) => ({
          all: tx.stock({}),
          ofA: tx.stock({ itemId: A }),
          atQ: tx.stock({ positionId: Q }),
          lotL2: tx.stock({ itemId: L, lot: 'L2' }),
          sn1: tx.stock({ serial: 'SN-1' }),
          atR: tx.stock({ itemId: A, positionId: R }),
          limited: tx.stock({ limit: 3 }),
          items: tx.items(),
          positions: tx.positions(),
        }));
        expect(sortLines(r.all)).toEqual(lines);
        expect(sortLines(r.ofA)).toEqual(lines.filter((l) => l.itemId === A));
        expect(sortLines(r.atQ)).toEqual(lines.filter((l) => l.positionId === Q));
        expect(sortLines(r.lotL2)).toEqual(lines.filter((l) => l.itemId === L && l.lot === L2));
        expect(sortLines(r.sn1)).toEqual(lines.filter((l) => l.serial === SN1));
        expect(sortLines(r.atR)).toEqual(lines.filter((l) => l.itemId === A && l.positionId === R));
        expect(r.limited).toHaveLength(3);
        for (const l of r.limited) expect(lines).toContainEqual(l);
        expect(sortItems(r.items)).toEqual(sortItems([...ref.state.items.values()]));
        expect(sortPositions(r.positions)).toEqual(
          sortPositions([...ref.state.positions.values()].filter((p) => !p.virtual)),
        );
      });

      it('property: random command sequences leave the same stock as the domain fold', async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.array(commandArb, { minLength: 1, maxLength: 30 }),
            async (commands) => {
              const s = await fresh();
              try {
                const ref = new Reference(false);
                await s.write((tx) => {
                  for (const e of warehouse()) ref.apply(tx, `ev-${ref.ids.length + 1}`, e);
                });
                let mutationID = 0;
                for (let i = 0; i < commands.length; i += 10) {
                  const chunk = commands.slice(i, i + 10);
                  await s.write((tx) => {
                    for (const c of chunk) {
                      const mutation =
                        'reverse' in c
                          ? reverseMovement(ref.ids[c.reverse % ref.ids.length] ?? 'none')
                          : c;
                      const ctx = { actor: SUPERVISOR, mode: 'record' } as const;
                      const expected = decideMutation(replayViewOf(ref.state), mutation, ctx);
                      // The adapter's view decides the same way the domain's does.
                      expect(decisionSummary(decideMutation(tx, mutation, ctx))).toEqual(
                        decisionSummary(expected),
                      );
                      if (expected.kind === 'rejected') continue;
                      mutationID++;
                      tx.savepoint(() => {
                        for (const e of expected.events)
                          ref.apply(tx, `ev-${ref.ids.length + 1}`, e, { mutationID });
                      });
                    }
                  });
                }
                const expected = sortLines([...ref.state.stock.values()]);
                await s.read((tx) => {
                  expect(sortLines(tx.stock({}))).toEqual(expected);
                  for (const b of bins)
                    expect(sortLines(tx.linesAt(b))).toEqual(
                      expected.filter((l) => l.positionId === b),
                    );
                  for (const item of [A, L, S])
                    expect(sortLines(tx.linesOfItem(item))).toEqual(
                      expected.filter((l) => l.itemId === item),
                    );
                  expect(tx.head()).toBe(ref.ids.length);
                  const live = tx
                    .snapshotEntries({ afterKey: null, limit: 100_000 })
                    .filter((e) => e.key.startsWith('s/stock/'));
                  expect(live.map((e) => e.value)).toEqual(expected);
                });
              } finally {
                await close(s);
              }
            },
          ),
          { numRuns: 40 },
        );
      }, 180_000);
    });

    // ─── Write isolation ──────────────────────────────────────────────────────────────────

    describe('write isolation', () => {
      /** A store with a bit of everything, so rollbacks have something to spoil. */
      async function seeded(): Promise<{ s: Storage; known: Known }> {
        const s = await fresh();
        await s.write((tx) => {
          for (const [i, e] of warehouse().entries()) record(tx, `w${i}`, e);
          const seq = record(tx, 'r1', received(A, P, 5), { clientID: 'c1', mutationID: 1 });
          tx.setLastMutationID('c1', 'g1', 1, seq);
          tx.openConflict(conflictInput('k-open', seq));
          tx.linkConflict('k-open', { seq, clientID: 'c1', mutationID: 1 });
          tx.createUser(user('u1', 'alice'));
          tx.createSession(session('t1', 'u1'));
          tx.createSession(session('t-old', 'u1', { expiresAt: at(-60) }));
          tx.createTicket({
            ticketHash: 'k-old',
            userId: 'u1',
            clientGroupID: null,
            expiresAt: at(-1),
          });
          tx.touchDevice('g1', 'u1', T0, 'login');
        });
        return {
          s,
          known: {
            clients: ['c1', 'c2'],
            groups: ['g1', 'g2'],
            users: ['u1', 'u2'],
            tokens: ['t1', 't-old', 't2'],
            tickets: ['k-old', 'k2'],
            conflicts: ['k-open', 'k-new'],
          },
        };
      }

      /** Touches every kind of state, then fails. */
      const spoil = (tx: WriteTx, tag: string, error: Error): never => {
        const seq = record(tx, `${tag}-1`, received(A, Q, 7), {
          clientID: 'c2',
          mutationID: 1,
          group: 'g2',
        });
        record(tx, `${tag}-2`, shipped(A, P, 5), { clientID: 'c1', mutationID: 2 });
        record(tx, `${tag}-3`, itemDefined(asItemId(`item-${tag}`), `SKU-${tag}`, 'none'));
        tx.setLastMutationID('c1', 'g1', 2, seq);
        tx.setLastMutationID('c2', 'g2', 1, seq);
        tx.openConflict(conflictInput('k-new', seq, { key: 'other' }));
        tx.linkConflict('k-open', { seq, clientID: 'c2', mutationID: 1 });
        tx.resolveConflict('k-open', { action: 'accept', note: '', by: 'u1', at: T0, seq });
        tx.createUser(user('u2', `bob-${tag}`));
        tx.updateUser('u1', { name: 'Changed', role: 'admin', active: false, passwordHash: 'x' });
        tx.createSession(session('t2', 'u2'));
        tx.bindSession('t1', 'g1');
        tx.revokeSessionsOfUser('u1');
        tx.createTicket({ ticketHash: 'k2', userId: 'u2', clientGroupID: 'g2', expiresAt: at(5) });
        tx.purgeExpired(T0);
        tx.touchDevice('g1', 'u2', at(1), 'push', { pending: 3, appVersion: '9' });
        tx.touchDevice('g2', 'u2', at(1), 'pull');
        tx.revokeDevice('g1', at(2));
        throw error;
      };

      it('a write whose fn throws rejects with that error and leaves nothing behind', async () => {
        const { s, known } = await seeded();
        const before = await s.read((tx) => dump(tx, known));
        const boom = new Error('boom');
        await expect(s.write((tx) => spoil(tx, 'x', boom))).rejects.toBe(boom);
        expect(await s.read((tx) => dump(tx, known))).toEqual(before);
        // The store still works, and the next event takes the next seq.
        expect(await s.write((tx) => tx.appendEvent(plainEvent('after')))).toBe(before.head + 1);
      });

      it('a write that fails after its stock changes were read back leaves the other stock changes of its batch whole', async () => {
        const { s } = await seeded();
        const [r0, q0] = await s.read((tx) => [
          tx.quantity(A, R, null, null),
          tx.quantity(A, Q, null, null),
        ]);
        const boom = new Error('boom');
        const results = await Promise.allSettled([
          s.write((tx) => {
            record(tx, 'wb-r1', received(A, R, 1), { clientID: 'c5', mutationID: 1, group: 'g5' });
            // A line the failing write below never touches, though its query writes it out.
            record(tx, 'wb-q1', received(A, Q, 1), { clientID: 'c5', mutationID: 1, group: 'g5' });
            return tx.quantity(A, R, null, null);
          }),
          s.write((tx) => {
            record(tx, 'wb-r10', received(A, R, 10), {
              clientID: 'c5',
              mutationID: 2,
              group: 'g5',
            });
            // Queries see every change so far, this write's and the batch's earlier ones.
            expect(tx.linesAt(R).find((l) => l.itemId === A)?.quantity).toBe(r0 + 11);
            expect(tx.linesOfItem(A).find((l) => l.positionId === R)?.quantity).toBe(r0 + 11);
            throw boom;
          }),
          s.write((tx) => {
            const seen = tx.quantity(A, R, null, null);
            record(tx, 'wb-r2', received(A, R, 2), { clientID: 'c5', mutationID: 2, group: 'g5' });
            tx.savepoint(() => {
              record(tx, 'wb-r7', received(A, R, 7), {
                clientID: 'c5',
                mutationID: 3,
                group: 'g5',
              });
              tx.linesAt(R);
              tx.savepoint(() => undefined); // a nested savepoint that succeeds
            });
            try {
              tx.savepoint(() => {
                record(tx, 'wb-r100', received(A, R, 100), {
                  clientID: 'c5',
                  mutationID: 4,
                  group: 'g5',
                });
                expect(tx.stock({ itemId: A, positionId: R })[0]?.quantity).toBe(r0 + 110);
                throw boom;
              });
            } catch (error) {
              expect(error).toBe(boom);
            }
            return [seen, tx.quantity(A, R, null, null)];
          }),
        ]);
        expect(results).toEqual([
          { status: 'fulfilled', value: r0 + 1 },
          { status: 'rejected', reason: boom },
          { status: 'fulfilled', value: [r0 + 1, r0 + 10] },
        ]);
        const after = await s.read((tx) => ({
          q: tx.quantity(A, Q, null, null),
          quantity: tx.quantity(A, R, null, null),
          line: tx.stock({ itemId: A, positionId: R })[0]?.quantity,
          snapshot: tx
            .snapshotEntries({ afterKey: null, limit: 10_000 })
            .find((e) => e.key === stockKey(A, R, null, null))?.value,
        }));
        expect(after.q).toBe(q0 + 1);
        expect(after.quantity).toBe(r0 + 10);
        expect(after.line).toBe(r0 + 10);
        expect(after.snapshot).toEqual(expect.objectContaining({ quantity: r0 + 10 }));
      });

      it('concurrent writes: a failing one rolls back alone, the others commit', async () => {
        const { s, known } = await seeded();
        const before = await s.read((tx) => dump(tx, known));
        const boom = new Error('boom');
        const results = await Promise.allSettled([
          s.write((tx) => {
            record(tx, 'ok-1', received(A, R, 1), { clientID: 'c2', mutationID: 1, group: 'g2' });
            tx.setLastMutationID('c2', 'g2', 1, tx.head());
            return 'first';
          }),
          s.write((tx) => spoil(tx, 'bad', boom)),
          s.write((tx) => {
            record(tx, 'ok-2', received(A, R, 2), { clientID: 'c2', mutationID: 2, group: 'g2' });
            tx.createUser(user('u3', 'carol'));
            return 'second';
          }),
          s.write((tx) => {
            // Fails in the store itself: the username is taken (case aside).
            record(tx, 'dup', received(A, R, 100));
            tx.createUser(user('u4', 'ALICE'));
            return 'unreachable';
          }),
          s.write((tx) => {
            tx.touchDevice('g3', 'u3', at(3), 'login');
            return 'third';
          }),
        ]);
        expect(results.map((r) => r.status)).toEqual([
          'fulfilled',
          'rejected',
          'fulfilled',
          'rejected',
          'fulfilled',
        ]);
        expect(results[0]).toEqual({ status: 'fulfilled', value: 'first' });
        expect(results[1]).toEqual({ status: 'rejected', reason: boom });
        expect((results[1] as PromiseRejectedResult).reason).toBe(boom);
        expect(results[2]).toEqual({ status: 'fulfilled', value: 'second' });
        expect(results[4]).toEqual({ status: 'fulfilled', value: 'third' });

        const after = await s.read((tx) => ({
          ...dump(tx, known),
          ids: tx.eventsAfter(before.head, 100).map((e) => e.id),
          r: tx.quantity(A, R, null, null),
          carol: tx.userByUsername('carol')?.id,
          u4: tx.userById('u4'),
          g3: tx.device('g3')?.userId,
        }));
        expect(after.ids.sort()).toEqual(['ok-1', 'ok-2']);
        expect(after.head).toBe(before.head + 2);
        expect(after.events.map((e) => e.seq)).toEqual(
          Array.from({ length: after.head }, (_, i) => i + 1),
        );
        expect(after.r).toBe(3);
        expect(after.carol).toBe('u3');
        expect(after.u4).toBeUndefined();
        expect(after.g3).toBe('u3');
        expect(after.clients).toEqual([
          before.clients[0],
          { clientGroupID: 'g2', lastMutationID: 1 },
        ]);
        // What the failed writes touched is as it was.
        expect(after.conflicts).toEqual(before.conflicts);
        expect(after.sessions).toEqual(before.sessions);
        expect(after.tickets).toEqual(before.tickets);
        expect(after.stock.filter((l) => l.positionId !== R)).toEqual(
          before.stock.filter((l) => l.positionId !== R),
        );
        expect(after.users.map((u) => u.id).sort()).toEqual(['u1', 'u3']);
        expect(await s.read((tx) => tx.userById('u1'))).toEqual(user('u1', 'alice'));
      });

      it('tx.savepoint: a throw inside rolls back exactly its part, nested at any depth', async () => {
        const s = await fresh();
        const boom = new Error('inner');
        const outer = new Error('outer');
        await s.write((tx) => {
          for (const [i, e] of warehouse().entries()) record(tx, `w${i}`, e);
          const base = tx.head();
          // A: kept.
          const a = record(tx, 'a', received(A, P, 5), { mutationID: 1 });
          tx.setLastMutationID('c1', 'g1', 1, a);
          tx.openConflict(conflictInput('kA', a));
          tx.linkConflict('kA', { seq: a, clientID: 'c1', mutationID: 1 });

          const result = tx.savepoint(() => {
            // B: kept.
            const b = record(tx, 'b', received(A, Q, 3), { mutationID: 2 });
            tx.setLastMutationID('c1', 'g1', 2, b);
            tx.openConflict(conflictInput('kB', b, { key: 'kb' }));
            tx.linkConflict('kA', { seq: b, clientID: 'c1', mutationID: 2 });
            let caught: unknown;
            try {
              tx.savepoint(() => {
                // C: rolled back.
                const c = record(tx, 'c', shipped(A, P, 5), { mutationID: 3 });
                expect(c).toBe(b + 1);
                tx.setLastMutationID('c1', 'g1', 3, c);
                tx.openConflict(conflictInput('kC', c, { key: 'kc' }));
                tx.linkConflict('kA', { seq: c, clientID: 'c1', mutationID: 3 });
                tx.resolveConflict('kA', {
                  action: 'dismiss',
                  note: 'n',
                  by: 'u1',
                  at: T0,
                  seq: c,
                });
                expect(tx.quantity(A, P, null, null)).toBe(0);
                throw boom;
              });
            } catch (error) {
              caught = error;
            }
            expect(caught).toBe(boom);
            // Inside the enclosing savepoint, C is gone already.
            expect(tx.head()).toBe(b);
            expect(tx.quantity(A, P, null, null)).toBe(5);
            expect(tx.lastMutationID('c1')?.lastMutationID).toBe(2);
            expect(tx.conflictRow('kC')).toBeUndefined();
            expect(tx.conflictRow('kA')?.status).toBe('open');
            // D: kept, and takes the seq C had.
            const d = record(tx, 'd', received(A, R, 1), { mutationID: 4 });
            expect(d).toBe(b + 1);
            return 'B+D';
          });
          expect(result).toBe('B+D');

          // An enclosing savepoint that throws also undoes a nested one that succeeded.
          let caught: unknown;
          try {
            tx.savepoint(() => {
              tx.savepoint(() => {
                record(tx, 'e', received(A, P, 100), { mutationID: 5 });
                tx.setLastMutationID('c1', 'g1', 5, tx.head());
                tx.openConflict(conflictInput('kE', tx.head(), { key: 'ke' }));
                tx.createUser(user('u-e', 'eve'));
              });
              throw outer;
            });
          } catch (error) {
            caught = error;
          }
          expect(caught).toBe(outer);
          expect(tx.head()).toBe(base + 3);
        });

        const r = await s.read((tx) => ({
          ids: tx
            .eventsAfter(0, 100)
            .map((e) => e.id)
            .slice(-3),
          p: tx.quantity(A, P, null, null),
          q: tx.quantity(A, Q, null, null),
          rr: tx.quantity(A, R, null, null),
          lmid: tx.lastMutationID('c1'),
          kA: tx.conflictRow('kA'),
          kB: tx.conflictRow('kB')?.status,
          kC: tx.conflictRow('kC'),
          kE: tx.conflictRow('kE'),
          eve: tx.userByUsername('eve'),
          movementC: tx.movement(asEventId('c')),
          movementD: tx.movement(asEventId('d'))?.quantity,
        }));
        expect(r.ids).toEqual(['a', 'b', 'd']);
        expect(r).toMatchObject({ p: 5, q: 3, rr: 1, kB: 'open', movementD: 1 });
        expect(r.lmid).toEqual({ clientGroupID: 'g1', lastMutationID: 2 });
        expect(r.kA?.status).toBe('open');
        expect(r.kA?.resolution).toBeNull();
        expect(r.kA?.seqs).toHaveLength(2);
        expect(r.kC).toBeUndefined();
        expect(r.kE).toBeUndefined();
        expect(r.eve).toBeUndefined();
        expect(r.movementC).toBeUndefined();
      });

      it('reads inside a write see its own changes before commit', async () => {
        const s = await fresh();
        await s.write((tx) => {
          for (const [i, e] of warehouse().entries()) record(tx, `w${i}`, e);
          const seq = record(tx, 'r1', received(A, P, 5));
          expect(tx.head()).toBe(seq);
          expect(tx.eventsAfter(seq - 1, 10).map((e) => e.id)).toEqual(['r1']);
          expect(tx.eventsOfMutation('c1', 1).at(-1)?.id).toBe('r1');
          expect(tx.quantity(A, P, null, null)).toBe(5);
          expect(tx.linesAt(P)).toEqual([
            { itemId: A, positionId: P, lot: null, serial: null, quantity: 5 },
          ]);
          expect(tx.itemBySku('A')?.id).toBe(A);
          expect(tx.positionByCode('C')?.parentId).toBe(P);
          expect(tx.movement(asEventId('r1'))?.type).toBe('receipt');
          expect(tx.stock({ itemId: A })).toHaveLength(1);
          expect(tx.snapshotEntries({ afterKey: null, limit: 1000 }).map((e) => e.key)).toContain(
            stockKey(A, P, null, null),
          );
          expect(tx.snapshotEntries({ changedAfter: seq - 1, upToKey: LAST_KEY })).toEqual([
            {
              key: stockKey(A, P, null, null),
              value: { itemId: A, positionId: P, lot: null, serial: null, quantity: 5 },
              seq,
            },
          ]);
          tx.setLastMutationID('c1', 'g1', 1, seq);
          expect(tx.lastMutationID('c1')).toEqual({ clientGroupID: 'g1', lastMutationID: 1 });
          expect(tx.clientsOfGroup('g1')).toEqual({ c1: 1 });
          expect(tx.lastMutationIDChanges('g1', seq - 1, seq)).toEqual({ c1: 1 });
          tx.openConflict(conflictInput('k1', seq));
          expect(tx.openConflictByKey(conflictInput('k1', seq).key)).toBe('k1');
          expect(tx.conflictRow('k1')?.status).toBe('open');
          expect(tx.conflict(asConflictId('k1'))?.status).toBe('open');
          tx.createUser(user('u1', 'alice'));
          expect(tx.userByUsername('Alice')?.id).toBe('u1');
          tx.createSession(session('t1', 'u1'));
          expect(tx.session('t1')?.userId).toBe('u1');
          tx.createTicket({
            ticketHash: 'k1',
            userId: 'u1',
            clientGroupID: null,
            expiresAt: at(1),
          });
          expect(tx.ticket('k1')?.userId).toBe('u1');
          tx.touchDevice('g1', 'u1', T0, 'login');
          expect(tx.device('g1')?.userId).toBe('u1');
          expect(tx.userOnDevice('g1', 'u1')).toBe(true);
        });
      });

      it('a write issued from inside another write is a write of its own: once resolved, it is kept', async () => {
        const s = await fresh();
        const boom = new Error('outer fails');
        let inner: Promise<number> | undefined;
        const outer = s.write((tx) => {
          tx.appendEvent(plainEvent('outer'));
          inner = s.write((t) => t.appendEvent(plainEvent('inner')));
          throw boom;
        });
        await expect(outer).rejects.toBe(boom);
        expect(inner).toBeDefined();
        const settled = await Promise.allSettled([inner ?? Promise.reject(new Error('no inner'))]);
        const ids = await s.read((tx) => tx.eventsAfter(0, 10).map((e) => e.id));
        // The outer write's rollback must not take a resolved write with it.
        if (settled[0]?.status === 'fulfilled') expect(ids).toEqual(['inner']);
        else expect(ids).toEqual([]);
        expect(ids).not.toContain('outer');
      });

      it('a read sees one snapshot for its whole duration, even if a write is issued during it', async () => {
        const s = await fresh();
        await s.write((tx) => tx.appendEvent(plainEvent('first')));
        let issued: Promise<number> | undefined;
        const seen = await s.read((tx) => {
          const before = { head: tx.head(), ids: tx.eventsAfter(0, 10).map((e) => e.id) };
          issued = s.write((t) => t.appendEvent(plainEvent('during')));
          return {
            before,
            after: { head: tx.head(), ids: tx.eventsAfter(0, 10).map((e) => e.id) },
          };
        });
        expect(seen.after).toEqual(seen.before);
        expect(seen.before).toEqual({ head: 1, ids: ['first'] });
        await expect(issued).resolves.toBe(2);
        expect(await s.read((tx) => tx.head())).toBe(2);
      });

      it('close() settles writes already issued; later writes and reads are refused', async () => {
        const s = await fresh();
        const pending = s.write((tx) => tx.appendEvent(plainEvent('last')));
        await close(s);
        await expect(pending).resolves.toBe(1);
        await expect(s.write(() => 1)).rejects.toBeInstanceOf(StorageUnavailableError);
        await expect(s.read(() => 1)).rejects.toBeInstanceOf(StorageUnavailableError);
      });
    });

    // ─── Sync bookkeeping ─────────────────────────────────────────────────────────────────

    describe('sync bookkeeping', () => {
      it('progress of a named reader: 0 until set, then the last value set; a rolled-back write leaves it', async () => {
        const s = await fresh();
        expect(await s.read((tx) => tx.progress('relay'))).toBe(0);
        await s.write((tx) => tx.setProgress('relay', 41));
        await s.write((tx) => tx.setProgress('relay', 42));
        await s.write((tx) => tx.setProgress('other', 7));
        await expect(
          s.write((tx) => {
            tx.setProgress('relay', 99);
            throw new Error('rolled back');
          }),
        ).rejects.toThrow('rolled back');
        expect(await s.read((tx) => [tx.progress('relay'), tx.progress('other')])).toEqual([42, 7]);
      });

      it('jobs: created with their plan, listed newest first, updated, a plan read in slices', async () => {
        const s = await fresh();
        const job = (id: string, createdAt: string) => ({
          id,
          kind: 'bulk-adjust',
          status: 'validated' as const,
          createdBy: 'u1',
          createdAt,
          fileName: `${id}.csv`,
          rows: 3,
          total: 2,
          errors: [{ line: 3, column: 'item', message: 'unknown item "X"' }],
          startedAt: null,
          error: null,
        });
        const plan = [
          { line: 2, args: { n: 1 } },
          { line: 4, args: { n: 2 } },
        ];
        await s.write((tx) => tx.createJob(job('j1', '2026-03-02T08:00:00.000Z'), plan));
        await s.write((tx) => tx.createJob(job('j2', '2026-03-02T09:00:00.000Z'), []));
        // A job of another kind, the newest: listed with all, not with the bulk adjustments.
        await s.write((tx) =>
          tx.createJob({ ...job('p1', '2026-03-02T10:00:00.000Z'), kind: 'print-labels' }, []),
        );
        // Two in the same millisecond: the greater id first, in every store.
        await s.write((tx) => {
          tx.createJob({ ...job('p2', '2026-03-02T10:00:01.000Z'), kind: 'print-labels' }, []);
          tx.createJob({ ...job('p3', '2026-03-02T10:00:01.000Z'), kind: 'print-labels' }, []);
        });
        await expect(s.write((tx) => tx.createJob(job('j1', T0), []))).rejects.toThrow();
        await s.write((tx) =>
          tx.updateJob('j1', { status: 'queued', startedAt: '2026-03-02T08:01:00.000Z' }),
        );
        await s.write((tx) => tx.updateJob('missing', { status: 'failed' }));
        // A failed job keeps its problem (code and values); another update keeps it too.
        const problem = {
          code: 'PRINTER_STATUS' as const,
          values: { printer: 'dock', labels: 2, problems: 'paper-out,paused' },
        };
        await s.write((tx) =>
          tx.updateJob('j2', { status: 'failed', error: 'paper out', problem }),
        );
        await s.write((tx) => tx.updateJob('j2', { startedAt: '2026-03-02T09:01:00.000Z' }));
        expect(await s.read((tx) => tx.job('j2'))).toEqual({
          ...job('j2', '2026-03-02T09:00:00.000Z'),
          status: 'failed',
          startedAt: '2026-03-02T09:01:00.000Z',
          error: 'paper out',
          problem,
        });
        // The problem goes with its error: an error set (or cleared) without one drops it.
        await s.write((tx) => tx.updateJob('j2', { status: 'queued', error: null }));
        expect(await s.read((tx) => tx.job('j2')?.problem)).toBeUndefined();
        // Two prints handed to the workers in one transaction, the greater id first.
        await s.write((tx) => {
          tx.updateJob('p3', { status: 'queued' });
          tx.updateJob('p2', { status: 'queued' });
        });
        const r = await s.read((tx) => ({
          j1: tx.job('j1'),
          queued: tx.queuedJobs().map((j) => j.id),
          list: tx.jobs(10).map((j) => j.id),
          one: tx.jobs(1).map((j) => j.id),
          adjustments: tx.jobs(10, 'bulk-adjust').map((j) => j.id),
          oneAdjustment: tx.jobs(1, 'bulk-adjust').map((j) => j.id),
          noneOfKind: tx.jobs(10, 'count-apply').map((j) => j.id),
          plan: tx.jobPlan('j1', 0, 10),
          second: tx.jobPlan('j1', 1, 10),
          none: tx.jobPlan('missing', 0, 10),
          missing: tx.job('missing'),
        }));
        expect(r).toEqual({
          j1: {
            ...job('j1', '2026-03-02T08:00:00.000Z'),
            status: 'queued',
            startedAt: '2026-03-02T08:01:00.000Z',
          },
          list: ['p3', 'p2', 'p1', 'j2', 'j1'],
          // Every queued job of every kind, oldest first; ties: the smaller id first.
          queued: ['j1', 'j2', 'p2', 'p3'],
          one: ['p3'],
          adjustments: ['j2', 'j1'],
          oneAdjustment: ['j2'],
          noneOfKind: [],
          plan,
          second: [plan[1]],
          none: [],
          missing: undefined,
        });
      });

      it('a lease is held by one holder until it expires; its holder renews it', async () => {
        const s = await fresh();
        const take = (holder: string, now: number) =>
          s.write((tx) => tx.acquireLease('relay', holder, now, 10_000));
        expect(await take('a', 1000)).toBe(true);
        expect(await take('b', 2000)).toBe(false); // a holds it until 11,000
        expect(await take('a', 9000)).toBe(true); // renewed: until 19,000
        expect(await take('b', 12_000)).toBe(false);
        expect(await take('b', 19_001)).toBe(true); // expired: b takes it
        expect(await take('a', 19_002)).toBe(false);
        expect(await s.write((tx) => tx.acquireLease('other', 'a', 19_003, 1000))).toBe(true);
      });

      it('setLastMutationID, lastMutationID and clientsOfGroup', async () => {
        const s = await fresh();
        expect(await s.read((tx) => tx.lastMutationID('c1'))).toBeUndefined();
        await s.write((tx) => {
          tx.setLastMutationID('c1', 'g1', 3, 0);
          tx.setLastMutationID('c2', 'g1', 5, 0);
          tx.setLastMutationID('c3', 'g2', 1, 0);
        });
        await s.write((tx) => tx.setLastMutationID('c1', 'g1', 4, 0));
        const r = await s.read((tx) => ({
          c1: tx.lastMutationID('c1'),
          c3: tx.lastMutationID('c3'),
          none: tx.lastMutationID('c9'),
          g1: tx.clientsOfGroup('g1'),
          g2: tx.clientsOfGroup('g2'),
          g3: tx.clientsOfGroup('g3'),
        }));
        expect(r).toEqual({
          c1: { clientGroupID: 'g1', lastMutationID: 4 },
          c3: { clientGroupID: 'g2', lastMutationID: 1 },
          none: undefined,
          g1: { c1: 4, c2: 5 },
          g2: { c3: 1 },
          g3: {},
        });
      });

      it('lastMutationIDChanges counts only events of the group with after < seq <= upTo', async () => {
        const s = await fresh();
        await s.write((tx) => {
          tx.appendEvent(plainEvent('1', { clientID: 'c1', mutationID: 1, group: 'g1' }));
          tx.appendEvent(plainEvent('2', { clientID: 'c2', mutationID: 1, group: 'g1' }));
          tx.appendEvent(plainEvent('3', { clientID: 'c3', mutationID: 1, group: 'g2' }));
          tx.appendEvent(plainEvent('4', { clientID: 'c1', mutationID: 2, group: 'g1' }));
          tx.appendEvent(plainEvent('5', { clientID: 'c9', mutationID: 1, group: null }));
          tx.appendEvent(plainEvent('6', { clientID: 'c1', mutationID: 3, group: 'g1' }));
          tx.appendEvent(plainEvent('7', { clientID: 'c2', mutationID: 2, group: 'g1' }));
          tx.appendEvent(plainEvent('8', { clientID: 'c2', mutationID: 2, group: 'g1' }));
        });
        const r = await s.read((tx) => ({
          all: tx.lastMutationIDChanges('g1', 0, 8),
          upTo4: tx.lastMutationIDChanges('g1', 0, 4),
          from1: tx.lastMutationIDChanges('g1', 1, 3),
          from4to6: tx.lastMutationIDChanges('g1', 4, 6),
          nullGroup: tx.lastMutationIDChanges('g1', 4, 5),
          g2: tx.lastMutationIDChanges('g2', 0, 8),
          g2after: tx.lastMutationIDChanges('g2', 3, 8),
          empty: tx.lastMutationIDChanges('g1', 8, 8),
          unknown: tx.lastMutationIDChanges('g9', 0, 8),
        }));
        expect(r).toEqual({
          all: { c1: 3, c2: 2 },
          upTo4: { c1: 2, c2: 1 },
          from1: { c2: 1 },
          from4to6: { c1: 3 },
          nullGroup: {},
          g2: { c3: 1 },
          g2after: {},
          empty: {},
          unknown: {},
        });
      });
    });

    // ─── Conflicts ────────────────────────────────────────────────────────────────────────

    describe('conflicts', () => {
      it('open, find by key (open ones only), link (dedup by seq), resolve, filter', async () => {
        const s = await fresh();
        const key = conflictInput('k1', 0).key;
        const seqs = await s.write((tx) => [
          tx.appendEvent(plainEvent('e1', { clientID: 'c1', mutationID: 4 })),
          tx.appendEvent(plainEvent('e2', { clientID: 'c1', mutationID: 4 })),
          tx.appendEvent(plainEvent('e3', { clientID: 'c2', mutationID: 7 })),
          tx.appendEvent(plainEvent('e4', { clientID: 'c3', mutationID: 1 })),
        ]);
        const [s1 = 0, s2 = 0, s3 = 0, s4 = 0] = seqs;
        const k1 = conflictInput('k1', s1);
        const k2 = conflictInput('k2', s4, {
          kind: 'forbidden',
          key: 'mutation/c3/1',
          message: 'moveStock needs the operator role',
          mutation: null,
          userId: null,
          detail: { code: 'FORBIDDEN' },
        });
        await s.write((tx) => {
          tx.openConflict(k1);
          tx.linkConflict('k1', { seq: s1, clientID: 'c1', mutationID: 4 });
          tx.linkConflict('k1', { seq: s3, clientID: 'c2', mutationID: 7 }); // out of seq order
          tx.linkConflict('k1', { seq: s2, clientID: 'c1', mutationID: 4 });
          tx.openConflict(k2);
          tx.linkConflict('k2', { seq: s4, clientID: 'c3', mutationID: 1 });
        });
        // Linking a seq again changes nothing, whoever claims it.
        await s.write((tx) => tx.linkConflict('k1', { seq: s1, clientID: 'cX', mutationID: 99 }));

        // openConflictByKey belongs to WriteTx: these reads run in writes.
        const open = await s.write((tx) => ({
          row: tx.conflictRow('k1'),
          row2: tx.conflictRow('k2'),
          record: tx.conflict(asConflictId('k1')),
          byKey: tx.openConflictByKey(key),
          byOtherKey: tx.openConflictByKey('mutation/c3/1'),
          byNoKey: tx.openConflictByKey('nothing'),
          none: tx.conflictRow('k9'),
          noRecord: tx.conflict(asConflictId('k9')),
          all: tx.conflicts({}).map((c) => c.id),
          opened: tx.conflicts({ status: 'open' }).map((c) => c.id),
          resolved: tx.conflicts({ status: 'resolved' }).map((c) => c.id),
          ofU1: tx.conflicts({ userId: 'u1' }).map((c) => c.id),
          ofU2: tx.conflicts({ userId: 'u2' }).map((c) => c.id),
          // Newest opened first; a limit keeps the newest, a count reads none.
          newest: tx.conflicts({ limit: 1 }).map((c) => c.id),
          limitZero: tx.conflicts({ status: 'open', limit: 0 }).map((c) => c.id),
          counts: [
            tx.conflictCount({}),
            tx.conflictCount({ status: 'open' }),
            tx.conflictCount({ status: 'resolved' }),
            tx.conflictCount({ userId: 'u1' }),
            tx.conflictCount({ status: 'open', userId: 'u2' }),
          ],
        }));
        expect(open.newest).toEqual(['k2']);
        expect(open.limitZero).toEqual([]);
        expect(open.counts).toEqual([2, 2, 0, 1, 0]);
        expect(open.row && normalizedConflict(open.row)).toEqual({
          ...k1,
          status: 'open',
          seqs: [s1, s2, s3],
          mutations: sortCanonical([
            { clientID: 'c1', mutationID: 4 },
            { clientID: 'c2', mutationID: 7 },
          ]),
          resolution: null,
        });
        expect(open.row2).toEqual({
          ...k2,
          status: 'open',
          seqs: [s4],
          mutations: [{ clientID: 'c3', mutationID: 1 }],
          resolution: null,
        });
        expect(open.record).toEqual({
          id: 'k1',
          kind: 'negative-stock',
          status: 'open',
          mutation: k1.mutation,
          detail: k1.detail,
        });
        expect(open).toMatchObject({
          byKey: 'k1',
          byOtherKey: 'k2',
          byNoKey: undefined,
          none: undefined,
          noRecord: undefined,
          resolved: [],
          ofU2: [],
        });
        expect(open.all.sort()).toEqual(['k1', 'k2']);
        expect(open.opened.sort()).toEqual(['k1', 'k2']);
        expect(open.ofU1).toEqual(['k1']);

        const resolution = {
          action: 'accept',
          note: 'counted again',
          by: 'admin',
          at: at(30),
          seq: 0,
        };
        const s5 = await s.write((tx) => {
          const seq = tx.appendEvent(plainEvent('e5', { clientID: 'c4', mutationID: 1 }));
          tx.resolveConflict('k1', { ...resolution, seq });
          return seq;
        });
        const closed = await s.write((tx) => ({
          row: tx.conflictRow('k1'),
          record: tx.conflict(asConflictId('k1')),
          byKey: tx.openConflictByKey(key),
          opened: tx.conflicts({ status: 'open' }).map((c) => c.id),
          resolved: tx.conflicts({ status: 'resolved' }).map((c) => c.id),
          openOfU1: tx.conflicts({ status: 'open', userId: 'u1' }).map((c) => c.id),
          resolvedOfU1: tx.conflicts({ status: 'resolved', userId: 'u1' }).map((c) => c.id),
          counts: [tx.conflictCount({ status: 'open' }), tx.conflictCount({ status: 'resolved' })],
        }));
        expect(closed.counts).toEqual([1, 1]);
        expect(closed.row?.status).toBe('resolved');
        expect(closed.row?.resolution).toEqual({ ...resolution, seq: s5 });
        expect(closed.row?.seqs).toEqual([s1, s2, s3]);
        expect(closed.record?.status).toBe('resolved');
        expect(closed).toMatchObject({
          byKey: undefined,
          opened: ['k2'],
          resolved: ['k1'],
          openOfU1: [],
          resolvedOfU1: ['k1'],
        });

        // The same discrepancy again opens a new conflict under the same key.
        await s.write((tx) => {
          const seq = tx.appendEvent(plainEvent('e6'));
          tx.openConflict(conflictInput('k3', seq));
        });
        expect(await s.write((tx) => tx.openConflictByKey(key))).toBe('k3');
      });
    });

    // ─── Snapshot entries ─────────────────────────────────────────────────────────────────

    describe('snapshot entries', () => {
      /** The scenario plus one open and one resolved conflict. */
      async function withSnapshot() {
        const { s, ref, events } = await withScenario();
        const conflicts = await s.write((tx) => {
          const o = tx.appendEvent(plainEvent('c-open'));
          tx.openConflict(conflictInput('k/open', o));
          const r = tx.appendEvent(plainEvent('c-res'));
          tx.openConflict(conflictInput('k-res', r, { key: 'other' }));
          const x = tx.appendEvent(plainEvent('c-resolution'));
          tx.resolveConflict('k-res', { action: 'dismiss', note: '', by: 'admin', at: T0, seq: x });
          return { open: tx.conflictRow('k/open'), opened: o, resolvedAt: x };
        });
        const open = conflicts.open;
        if (!open) throw new Error('conflict k/open not found in its own write');
        const expected = new Map(ref.live());
        expected.set(conflictKey('k/open'), conflictValue(open));
        const entries = [...expected].sort(([a], [b]) => compare(a, b));
        return { s, ref, events, conflicts, entries };
      }

      it('pages return every live entry exactly once, in ascending key order, full pages until the end', async () => {
        const { s, ref, conflicts, entries } = await withSnapshot();
        // URI-encoded ids are in there.
        expect(entries.map(([k]) => k)).toContain(itemKey(W));
        for (const limit of [1, 2, 3, 7, 1000]) {
          const pages = await pageAll(s, limit);
          for (const [i, page] of pages.entries()) {
            if (i < pages.length - 1)
              expect(page, `page ${i} of limit ${limit}`).toHaveLength(limit);
            else expect(page.length).toBeLessThan(limit);
          }
          const flat = pages.flat();
          const keys = flat.map((e) => e.key);
          expect(keys, `limit ${limit}`).toEqual([...keys].sort(compare));
          expect(new Set(keys).size).toBe(keys.length);
          expect(
            flat.map((e) => [e.key, e.value]),
            `limit ${limit}`,
          ).toEqual(entries);
        }
        // Each entry carries the seq that last changed it.
        const all = await s.read((tx) => tx.snapshotEntries({ afterKey: null, limit: 1_000_000 }));
        for (const e of all) {
          if (e.key === conflictKey('k/open')) {
            expect(e.seq).toBe(conflicts.opened);
            continue;
          }
          const changed = ref.lastValueChange.get(e.key) ?? 1;
          const touched = ref.lastTouch.get(e.key) ?? 0;
          expect(e.seq, `seq of ${e.key}`).toBeGreaterThanOrEqual(changed);
          expect(e.seq, `seq of ${e.key}`).toBeLessThanOrEqual(touched);
        }
        // Paging from a key that is not itself an entry.
        const fromKey = entries[5]?.[0] ?? '';
        // (A space sorts after the key and before anything extending it: keys are URI-encoded.)
        const rest = await s.read((tx) =>
          tx.snapshotEntries({ afterKey: `${fromKey} `, limit: 3 }),
        );
        expect(rest.map((e) => e.key)).toEqual(entries.slice(6, 9).map(([k]) => k));
      });

      it('a stock line that drops to 0 is not live but is a tombstone (value null) for changedAfter', async () => {
        const s = await fresh();
        const key = stockKey(A, P, null, null);
        const { cut, first } = await s.write((tx) => {
          for (const [i, e] of warehouse().entries()) record(tx, `w${i}`, e);
          const first = record(tx, 'r1', received(A, P, 5));
          record(tx, 'r2', received(A, Q, 2));
          return { cut: tx.head(), first };
        });
        const gone = await s.write((tx) => record(tx, 'x', shipped(A, P, 5)));
        const r = await s.read((tx) => ({
          live: tx.snapshotEntries({ afterKey: null, limit: 1000 }).map((e) => e.key),
          sinceCut: tx.snapshotEntries({ changedAfter: cut, upToKey: LAST_KEY }),
          sinceFirst: tx.snapshotEntries({ changedAfter: first - 1, upToKey: LAST_KEY }),
          upToIt: tx.snapshotEntries({ changedAfter: cut, upToKey: key }),
          beforeIt: tx.snapshotEntries({ changedAfter: cut, upToKey: key.slice(0, -1) }),
          sinceGone: tx.snapshotEntries({ changedAfter: gone, upToKey: LAST_KEY }),
          quantity: tx.quantity(A, P, null, null),
          atP: tx.linesAt(P),
          stock: tx.stock({ positionId: P }),
        }));
        expect(r.live).not.toContain(key);
        expect(r.live).toContain(stockKey(A, Q, null, null));
        expect(r.sinceCut).toEqual([{ key, value: null, seq: gone }]);
        expect(r.upToIt).toEqual([{ key, value: null, seq: gone }]);
        expect(r.beforeIt).toEqual([]);
        expect(r.sinceGone).toEqual([]);
        expect(r.sinceFirst).toEqual([
          { key, value: null, seq: gone },
          {
            key: stockKey(A, Q, null, null),
            value: { itemId: A, positionId: Q, lot: null, serial: null, quantity: 2 },
            seq: first + 1,
          },
        ]);
        expect(r).toMatchObject({ quantity: 0, atP: [], stock: [] });

        // Filled again: live again, with its new value.
        const back = await s.write((tx) => record(tx, 'y', received(A, P, 1)));
        expect(
          await s.read((tx) => tx.snapshotEntries({ changedAfter: gone, upToKey: LAST_KEY })),
        ).toEqual([
          {
            key,
            value: { itemId: A, positionId: P, lot: null, serial: null, quantity: 1 },
            seq: back,
          },
        ]);
      });

      it('changedAfter returns every entry changed after a seq, with its current value, and nothing untouched', async () => {
        const { s, ref } = await withScenario();
        const head = await s.read((tx) => tx.head());
        const live = ref.live();
        for (let cut = 0; cut <= head; cut++) {
          const got = await s.read((tx) =>
            tx.snapshotEntries({ changedAfter: cut, upToKey: LAST_KEY }),
          );
          const keys = got.map((e) => e.key);
          expect(keys, `after ${cut}`).toEqual([...new Set(keys)].sort(compare));
          for (const e of got) {
            expect(e.seq, `${e.key} after ${cut}`).toBeGreaterThan(cut);
            expect(e.value, `${e.key} after ${cut}`).toEqual(live.get(e.key) ?? null);
            expect(
              ref.lastTouch.get(e.key) ?? 0,
              `${e.key} untouched after ${cut}`,
            ).toBeGreaterThan(cut);
          }
          for (const [k, seq] of ref.lastValueChange) {
            if (seq > cut)
              expect(keys, `${k} changed at ${seq}, missing after ${cut}`).toContain(k);
          }
          // upToKey bounds the keys, inclusively.
          const bound = keys[Math.floor(keys.length / 2)];
          if (bound !== undefined) {
            const upTo = await s.read((tx) =>
              tx.snapshotEntries({ changedAfter: cut, upToKey: bound }),
            );
            expect(upTo).toEqual(got.filter((e) => e.key <= bound));
          }
          // A limit takes the first entries by key, across the kinds.
          for (const limit of [0, 1, Math.ceil(keys.length / 2), keys.length, keys.length + 1]) {
            const first = await s.read((tx) =>
              tx.snapshotEntries({ changedAfter: cut, upToKey: LAST_KEY, limit }),
            );
            expect(first, `limit ${limit} after ${cut}`).toEqual(got.slice(0, limit));
          }
        }
      });

      it('paging while the store changes, then replaying changedAfter up to the cursor, converges', async () => {
        const { s, ref } = await withSnapshot();
        const h0 = await s.read((tx) => tx.head());
        const replica = new Map<string, unknown>();
        const limit = 4;
        let after: string | null = null;
        let page = 0;
        for (;;) {
          const from: string | null = after;
          const entries: SnapshotEntry[] = await s.read((tx) =>
            tx.snapshotEntries({ afterKey: from, limit: limit + 1 }),
          );
          const more = entries.length > limit;
          for (const e of entries.slice(0, limit)) replica.set(e.key, e.value);
          if (!more) break;
          after = entries[limit - 1]?.key ?? null;
          page++;
          // Devices keep working between pages.
          await s.write((tx) => {
            const n = ref.ids.length + 1;
            if (page === 1) {
              // Ahead of the cursor: a line drops to 0, a new one appears; a running job is
              // completed (gone), a new one created.
              ref.apply(tx, `p${n}`, shipped(A, R, 5));
              ref.apply(tx, `p${n + 1}`, received(W, P, 1));
              ref.apply(tx, `p${n + 2}`, jobCompleted(J2));
              ref.apply(tx, `p${n + 3}`, jobCreated(J4, 'J-4', W));
            } else if (page === 3) {
              // Behind the cursor: a new item, a new lot, a resolved conflict.
              ref.apply(tx, `p${n}`, itemDefined(asItemId('item-0'), 'ZERO', 'none'));
              ref.apply(
                tx,
                `p${n + 1}`,
                received(L, P, 4, { lot: lot('L9'), expiresOn: '2028-01-01' }),
              );
              const seq = tx.appendEvent(plainEvent(`p${n + 2}`));
              ref.ids.push(`p${n + 2}`);
              tx.resolveConflict('k/open', {
                action: 'accept',
                note: '',
                by: 'admin',
                at: T0,
                seq,
              });
            } else if (page === 5) {
              // A position behind the cursor, stock lines around it.
              ref.apply(tx, `p${n}`, {
                type: 'ContainerMoved',
                data: { containerId: C, from: R, to: Q },
              });
              ref.apply(tx, `p${n + 1}`, moved(A, Q, N, 1));
              // Jobs behind the cursor: one starts, the new one is completed.
              ref.apply(tx, `p${n + 2}`, jobStarted(J1));
              ref.apply(tx, `p${n + 3}`, jobCompleted(J4));
            }
          });
        }
        if (after !== null) {
          const upTo = after;
          const changes = await s.read((tx) =>
            tx.snapshotEntries({ changedAfter: h0, upToKey: upTo }),
          );
          for (const e of changes) {
            if (e.value === null) replica.delete(e.key);
            else replica.set(e.key, e.value);
          }
        }
        expect(page).toBeGreaterThan(5);
        const now = await s.read((tx) => tx.snapshotEntries({ afterKey: null, limit: 1_000_000 }));
        expect(sortCanonical([...replica])).toEqual(
          sortCanonical(now.map((e) => [e.key, e.value])),
        );
        // …and the store's entries are the fold's (the conflict is resolved now).
        expect(now.map((e) => [e.key, e.value])).toEqual(
          [...ref.live()].sort(([a], [b]) => compare(a, b)),
        );
      });

      it('open conflicts are entries; a resolved one becomes a tombstone', async () => {
        const { s, conflicts } = await withSnapshot();
        const key = conflictKey('k/open');
        expect(key).toBe('s/conflict/k%2Fopen');
        const before = await s.read((tx) => ({
          live: tx
            .snapshotEntries({ afterKey: null, limit: 1000 })
            .filter((e) => e.key.startsWith('s/conflict/')),
          changes: tx
            .snapshotEntries({ changedAfter: conflicts.opened - 1, upToKey: LAST_KEY })
            .filter((e) => e.key.startsWith('s/conflict/')),
        }));
        const value = {
          id: 'k/open',
          kind: 'negative-stock',
          status: 'open',
          message: 'P holds 1 A, 3 taken: -2',
          openedAt: T0,
          mutation: recordedMutation('c1', 4),
          detail: {
            itemId: A,
            positionId: P,
            lot: null,
            available: 1,
            requested: 3,
            resulting: -2,
          },
        };
        expect(before.live).toEqual([{ key, value, seq: conflicts.opened }]);
        expect(before.changes).toEqual([
          { key, value, seq: conflicts.opened },
          { key: conflictKey('k-res'), value: null, seq: conflicts.resolvedAt },
        ]);

        const resolvedAt = await s.write((tx) => {
          const seq = tx.appendEvent(plainEvent('resolve'));
          tx.resolveConflict('k/open', { action: 'accept', note: 'ok', by: 'admin', at: T0, seq });
          return seq;
        });
        const after = await s.read((tx) => ({
          live: tx
            .snapshotEntries({ afterKey: null, limit: 1000 })
            .filter((e) => e.key.startsWith('s/conflict/')),
          changes: tx.snapshotEntries({ changedAfter: resolvedAt - 1, upToKey: LAST_KEY }),
        }));
        expect(after.live).toEqual([]);
        expect(after.changes).toEqual([{ key, value: null, seq: resolvedAt }]);
      });
    });

    // ─── Users, sessions, tickets, devices ────────────────────────────────────────────────

    describe('users, sessions, tickets and devices', () => {
      it('users: unique username whatever its case, case-insensitive lookup, partial updates', async () => {
        const s = await fresh();
        const alice = user('u1', 'Alice', { role: 'supervisor' });
        await s.write((tx) => {
          tx.createUser(alice);
          tx.createUser(user('u2', 'bob'));
        });
        await expect(s.write((tx) => tx.createUser(user('u3', 'ALICE')))).rejects.toThrow();
        await expect(s.write((tx) => tx.createUser(user('u4', 'alice')))).rejects.toThrow();
        const r = await s.read((tx) => ({
          lower: tx.userByUsername('alice'),
          upper: tx.userByUsername('ALICE'),
          exact: tx.userByUsername('Alice'),
          prefix: tx.userByUsername('Alic'),
          byId: tx.userById('u1'),
          noId: tx.userById('u3'),
          all: tx.users(),
        }));
        expect(r.lower).toEqual(alice);
        expect(r.upper).toEqual(alice);
        expect(r.exact).toEqual(alice);
        expect(r.prefix).toBeUndefined();
        expect(r.byId).toEqual(alice);
        expect(r.noId).toBeUndefined();
        expect(sortCanonical(r.all)).toEqual(sortCanonical([alice, user('u2', 'bob')]));

        await s.write((tx) => tx.updateUser('u1', { role: 'admin', active: false }));
        await s.write((tx) => tx.updateUser('u2', { passwordHash: 'new-hash', name: 'Robert' }));
        await s.write((tx) => tx.updateUser('u9', { name: 'nobody' }));
        const updated = await s.read((tx) => [
          tx.userById('u1'),
          tx.userById('u2'),
          tx.userById('u9'),
        ]);
        expect(updated).toEqual([
          { ...alice, role: 'admin', active: false },
          { ...user('u2', 'bob'), passwordHash: 'new-hash', name: 'Robert' },
          undefined,
        ]);
      });

      it('sessions: bound only while unbound, revoked one by one or all of a user', async () => {
        const s = await fresh();
        await s.write((tx) => {
          tx.createSession(session('t1', 'u1'));
          tx.createSession(session('t2', 'u2', { clientGroupID: 'g-own' }));
          tx.createSession(session('t3', 'u2'));
          tx.createSession(session('t4', 'u1'));
        });
        expect(await s.read((tx) => tx.session('t1'))).toEqual(session('t1', 'u1'));
        await s.write((tx) => tx.bindSession('t1', 'g1'));
        await s.write((tx) => {
          tx.bindSession('t1', 'g2');
          tx.bindSession('t2', 'g3');
        });
        await s.write((tx) => tx.revokeSession('t4'));
        await s.write((tx) => tx.revokeSessionsOfUser('u2'));
        const r = await s.read((tx) => ['t1', 't2', 't3', 't4', 't9'].map((t) => tx.session(t)));
        expect(r).toEqual([
          session('t1', 'u1', { clientGroupID: 'g1' }),
          session('t2', 'u2', { clientGroupID: 'g-own', revoked: true }),
          session('t3', 'u2', { revoked: true }),
          session('t4', 'u1', { revoked: true }),
          undefined,
        ]);
      });

      it('tickets, and purgeExpired forgets expired tickets and sessions only', async () => {
        const s = await fresh();
        const now = at(0);
        await s.write((tx) => {
          tx.createTicket({
            ticketHash: 'k-live',
            userId: 'u1',
            clientGroupID: 'g1',
            expiresAt: at(1),
          });
          tx.createTicket({
            ticketHash: 'k-dead',
            userId: 'u1',
            clientGroupID: null,
            expiresAt: at(-1),
          });
          tx.createSession(session('s-live', 'u1', { expiresAt: at(60) }));
          tx.createSession(session('s-dead', 'u1', { expiresAt: at(-60) }));
          tx.createSession(session('s-revoked-live', 'u1', { expiresAt: at(60), revoked: true }));
        });
        const before = await s.read((tx) => ({
          live: tx.ticket('k-live'),
          dead: tx.ticket('k-dead'),
        }));
        expect(before).toEqual({
          live: { userId: 'u1', clientGroupID: 'g1', expiresAt: at(1) },
          dead: { userId: 'u1', clientGroupID: null, expiresAt: at(-1) },
        });
        await s.write((tx) => tx.purgeExpired(now));
        const r = await s.read((tx) => ({
          tickets: ['k-live', 'k-dead', 'k-none'].map((t) => tx.ticket(t)),
          sessions: ['s-live', 's-dead', 's-revoked-live'].map((t) => tx.session(t)?.tokenHash),
        }));
        expect(r).toEqual({
          tickets: [{ userId: 'u1', clientGroupID: 'g1', expiresAt: at(1) }, undefined, undefined],
          sessions: ['s-live', undefined, 's-revoked-live'],
        });
      });

      it('a ticket keeps the session that took it (absent when none was given)', async () => {
        const s = await fresh();
        await s.write((tx) => {
          tx.createTicket({
            ticketHash: 'k-session',
            userId: 'u1',
            clientGroupID: 'g1',
            expiresAt: at(1),
            sessionHash: 's-1',
          });
          tx.createTicket({
            ticketHash: 'k-old',
            userId: 'u1',
            clientGroupID: null,
            expiresAt: at(1),
          });
        });
        expect(await s.read((tx) => [tx.ticket('k-session'), tx.ticket('k-old')])).toEqual([
          { userId: 'u1', clientGroupID: 'g1', expiresAt: at(1), sessionHash: 's-1' },
          { userId: 'u1', clientGroupID: null, expiresAt: at(1) },
        ]);
        const old = await s.read((tx) => tx.ticket('k-old'));
        expect(old && 'sessionHash' in old).toBe(false);
      });

      it('devices: touchDevice records first sight, push and pull times, who used it; revokeDevice', async () => {
        const s = await fresh();
        await s.write((tx) => tx.touchDevice('g1', 'u1', at(1), 'login'));
        expect(await s.read((tx) => tx.device('g1'))).toEqual({
          clientGroupID: 'g1',
          userId: 'u1',
          createdAt: at(1),
          lastPushAt: null,
          lastPullAt: null,
          revokedAt: null,
          pending: null,
          appVersion: null,
          secretHash: null,
        });
        await s.write((tx) =>
          tx.touchDevice('g1', 'u2', at(2), 'push', { pending: 3, appVersion: '1.2.0' }),
        );
        await s.write((tx) => tx.touchDevice('g1', 'u2', at(3), 'pull'));
        const mid = await s.read((tx) => tx.device('g1'));
        expect(mid).toEqual({
          clientGroupID: 'g1',
          userId: 'u2',
          createdAt: at(1),
          lastPushAt: at(2),
          lastPullAt: at(3),
          revokedAt: null,
          pending: 3,
          appVersion: '1.2.0',
          secretHash: null,
        });
        await s.write((tx) => tx.touchDevice('g1', 'u2', at(4), 'push', { pending: 0 }));
        await s.write((tx) => tx.touchDevice('g1', 'u1', at(5), 'login'));
        await s.write((tx) => tx.touchDevice('g2', 'u3', at(5), 'pull'));
        await s.write((tx) => tx.revokeDevice('g1', at(6)));
        await s.write((tx) => tx.revokeDevice('g1', at(7))); // the first revocation stands
        await s.write((tx) => tx.revokeDevice('g9', at(8))); // never seen: still revoked
        const r = await s.read((tx) => ({
          g1: tx.device('g1'),
          g2: tx.device('g2'),
          g9: tx.device('g9'),
          none: tx.device('g0'),
          all: tx.devices().map((d) => d.clientGroupID),
          on: [
            tx.userOnDevice('g1', 'u1'),
            tx.userOnDevice('g1', 'u2'),
            tx.userOnDevice('g1', 'u3'),
            tx.userOnDevice('g2', 'u3'),
            tx.userOnDevice('g2', 'u1'),
            tx.userOnDevice('g9', 'u1'),
          ],
        }));
        expect(r.g1).toEqual({
          clientGroupID: 'g1',
          userId: 'u1',
          createdAt: at(1),
          lastPushAt: at(4),
          lastPullAt: at(3),
          revokedAt: at(6),
          pending: 0,
          appVersion: '1.2.0',
          secretHash: null,
        });
        expect(r.g2).toMatchObject({
          userId: 'u3',
          createdAt: at(5),
          lastPullAt: at(5),
          lastPushAt: null,
        });
        expect(r.g9).toMatchObject({ clientGroupID: 'g9', userId: null, revokedAt: at(8) });
        expect(r.none).toBeUndefined();
        expect(r.all.sort()).toEqual(['g1', 'g2', 'g9']);
        expect(r.on).toEqual([true, true, false, true, false, false]);
      });

      it('devices: a secret hash is kept only by the touch that first records the device, and never changes', async () => {
        const s = await fresh();
        // Seen first without one: stays without, whatever later touches bring.
        await s.write((tx) => tx.touchDevice('g1', 'u1', at(1), 'login'));
        await s.write((tx) => tx.touchDevice('g1', 'u1', at(2), 'login', { secretHash: 'h-1' }));
        // Seen first with one: keeps it.
        await s.write((tx) => tx.touchDevice('g2', 'u1', at(3), 'login', { secretHash: 'h-2' }));
        await s.write((tx) => tx.touchDevice('g2', 'u2', at(4), 'login', { secretHash: 'h-3' }));
        await s.write((tx) => tx.touchDevice('g2', 'u2', at(5), 'push', { pending: 1 }));
        await s.write((tx) => tx.revokeDevice('g2', at(6)));
        expect(
          await s.read((tx) => [tx.device('g1')?.secretHash ?? null, tx.device('g2')?.secretHash]),
        ).toEqual([null, 'h-2']);
      });
    });

    // ─── Competing outflows ───────────────────────────────────────────────────────────────

    describe('movement lists', () => {
      const L1 = '0192f0c8-0000-7000-8000-00000000a001' as ListId;
      const L2 = '0192f0c8-0000-7000-8000-00000000a002' as ListId;
      const listCreated = (listId: ListId, code: string, lines: number): DomainEvent => ({
        type: 'ListCreated',
        data: {
          listId,
          type: 'receipt',
          code,
          references: ['PO-7'],
          dueOn: '2026-03-05',
          lines: Array.from({ length: lines }, (_, i) => ({
            lineNo: (i + 1) * 10,
            itemId: A,
            quantity: 10,
            suggestedPositionId: P,
          })),
        },
      });
      const onLine = (listId: ListId, lineNo: number, at: PositionId, q: number): DomainEvent => ({
        type: 'StockReceived',
        data: { itemId: A, positionId: at, quantity: q, listId, lineNo },
      });
      /** Two receipt lists, scanned split, over, reversed, assigned and one closed. */
      const listScenario = (): { id: string; event: DomainEvent }[] => {
        const out: { id: string; event: DomainEvent }[] = [];
        const add = (event: DomainEvent) => out.push({ id: `le${out.length + 1}`, event });
        for (const e of warehouse()) add(e);
        add(listCreated(L1, 'R-1', 3));
        add(listCreated(L2, 'R-2', 2));
        add(onLine(L1, 10, P, 6)); // line 10: 6 to P (suggested) …
        add(onLine(L1, 10, Q, 4)); // … and 4 to Q (a deviation): done
        add(onLine(L1, 20, P, 4)); // line 20: partial
        add(onLine(L1, 30, P, 12)); // line 30: over
        const overId = asEventId(`le${out.length}`);
        add({
          type: 'MovementReversed',
          data: { movementId: overId, itemId: A, from: P, to: OUTSIDE, quantity: 12 },
        });
        add({ type: 'ListAssigned', data: { listId: L1, userId: asUserId('u-ana') } });
        add(onLine(L2, 10, P, 1));
        add({ type: 'ListClosed', data: { listId: L2, note: 'short' } });
        return out;
      };
      const recordOf = (l: MovementList) => {
        const { lines, ...rest } = l;
        return { ...rest, lineCount: lines.length };
      };

      it('answer every list query like the domain fold, after writes in several batches', async () => {
        const s = await fresh();
        const events = listScenario();
        for (let i = 0; i < events.length; i += 4) {
          await s.write((tx) => {
            for (const [j, { id, event }] of events.slice(i, i + 4).entries())
              record(tx, id, event, { mutationID: i + j + 1 });
          });
        }
        const ref = foldLists(events.map(({ id, event }) => ({ id, ...event })));
        await s.read((tx) => {
          for (const id of [L1, L2]) {
            const want = ref.lists.get(id) as MovementList;
            expect(tx.list(id)).toEqual(recordOf(want));
            expect(tx.listByCode('receipt', want.code)).toEqual(recordOf(want));
            expect(tx.lines(id)).toEqual(want.lines);
            for (const line of want.lines) expect(tx.line(id, line.lineNo)).toEqual(line);
          }
          expect(tx.listByCode('shipment', 'R-1')).toBeUndefined();
          expect(tx.line(L1, 99)).toBeUndefined();
          for (const [movement, lineRef] of ref.confirmations)
            expect(tx.lineOfMovement(movement)).toEqual(lineRef);
          expect(tx.list(L1)?.status).toBe('in-progress');
          expect(tx.list(L1)?.assignee).toBe('u-ana');
          expect(tx.lines(L1).map((l) => l.status)).toEqual(['done', 'partial', 'open']);
          expect(tx.lines(L2).map((l) => l.status)).toEqual(['partial', 'cancelled']);
          expect(tx.lists({}).map((l) => l.code)).toEqual(['R-1', 'R-2']);
          expect(tx.lists({ status: ['closed'] }).map((l) => l.code)).toEqual(['R-2']);
          expect(tx.lists({ status: ['open', 'in-progress'], assignee: 'u-ana' })).toHaveLength(1);
          // Assigned to this user or to nobody; the limit counts only those.
          expect(tx.lists({ availableTo: 'u-ana' }).map((l) => l.code)).toEqual(['R-1', 'R-2']);
          expect(tx.lists({ availableTo: 'u-bo' }).map((l) => l.code)).toEqual(['R-2']);
          expect(tx.lists({ availableTo: 'u-bo', limit: 1 }).map((l) => l.code)).toEqual(['R-2']);
          expect(tx.lists({ availableTo: 'u-ana', status: ['closed'] }).map((l) => l.code)).toEqual(
            ['R-2'],
          );
          expect(tx.lists({ code: 'R-2', type: 'receipt' }).map((l) => l.id)).toEqual([L2]);
          expect(tx.lists({ type: 'shipment' })).toEqual([]);
        });
      });

      it('an open list is a snapshot entry with its lines; a closed one is a tombstone', async () => {
        const s = await fresh();
        const events = listScenario();
        let createdAt = 0;
        await s.write((tx) => {
          events.forEach(({ id, event }, i) => {
            const seq = record(tx, id, event, { mutationID: i + 1 });
            if (event.type === 'ListCreated' && createdAt === 0) createdAt = seq;
          });
        });
        const ref = foldLists(events.map(({ id, event }) => ({ id, ...event })));
        await s.read((tx) => {
          const all = tx.snapshotEntries({ afterKey: null, limit: 1000 });
          const lists = all.filter((e) => e.key.startsWith('s/list/'));
          expect(lists.map((e) => e.key)).toEqual([listKey(L1)]);
          expect(lists[0]?.value).toEqual(ref.lists.get(L1));
          const changed = tx.snapshotEntries({ changedAfter: createdAt, upToKey: LAST_KEY });
          expect(changed.find((e) => e.key === listKey(L2))?.value).toBeNull();
          expect(changed.find((e) => e.key === listKey(L1))?.value).toEqual(ref.lists.get(L1));
        });
      });

      it('a savepoint that throws takes its list changes back', async () => {
        const s = await fresh();
        await s.write((tx) => {
          warehouse().forEach((e, i) => record(tx, `w${i}`, e));
          record(tx, 'l20', listCreated(L1, 'R-1', 2));
        });
        const before = await s.read((tx) => ({ list: tx.list(L1), lines: tx.lines(L1) }));
        await expect(
          s.write((tx) => {
            record(tx, 'l21', onLine(L1, 10, P, 10));
            throw new Error('no');
          }),
        ).rejects.toThrow('no');
        await s.read((tx) => {
          expect({ list: tx.list(L1), lines: tx.lines(L1) }).toEqual(before);
          expect(tx.lineOfMovement(asEventId('l21'))).toBeUndefined();
        });
      });
    });

    describe('production and genealogy', () => {
      const JOB = '0192f0c8-0000-7000-8000-00000000b001';
      /** Scenario 23: J consumes lot L1 and serial S7, produces P1; P1 packed on C and shipped. */
      const scenario23 = () => [
        receiveStock(L, P, 5, { lot: 'L1' }),
        receiveStock(S, P, 1, { serial: 'S7' }),
        { name: 'createProductionJob', args: { jobId: JOB, code: 'J-23', itemId: S } },
        { name: 'startProductionJob', args: { jobId: JOB } },
        { name: 'consumeForJob', args: { jobId: JOB, itemId: L, from: P, quantity: 2, lot: 'L1' } },
        {
          name: 'consumeForJob',
          args: { jobId: JOB, itemId: S, from: P, quantity: 1, serial: 'S7' },
        },
        {
          name: 'produceForJob',
          args: { jobId: JOB, itemId: S, to: P, quantity: 1, serial: 'P1' },
        },
        moveStock(S, P, C, 1, { serial: 'P1' }),
        shipStock(S, C, 1, { serial: 'P1' }),
      ];
      const run = (tx: WriteTx, logged: { id: string; type: string; data: unknown }[]) => {
        warehouse().forEach((e, i) => {
          record(tx, `w${i}`, e);
          logged.push({ id: `w${i}`, ...e });
        });
        scenario23().forEach((m, i) => {
          const d = decideMutation(tx, m, { actor: SUPERVISOR, mode: 'record' });
          if (d.kind !== 'accepted') throw new Error(`${m.name}: ${d.code} ${d.message}`);
          d.events.forEach((e, n) => {
            const id = `g${i}-${n}`;
            record(tx, id, e);
            logged.push({ id, ...e });
          });
        });
      };
      const byId = <T extends { id: string }>(xs: readonly T[]) =>
        [...xs].sort((a, b) => (a.id < b.id ? -1 : 1));

      it('answer jobs, links and traces like the domain fold; scenario 23 through the queries', async () => {
        const s = await fresh();
        const logged: { id: string; type: string; data: unknown }[] = [];
        await s.write((tx) => run(tx, logged));
        let inventory = initialState();
        const production = initialProductionState();
        for (const e of logged) {
          evolveProduction(production, viewOf(inventory), e);
          inventory = foldEvent(inventory, e);
        }
        const ref = productionViewOf(production);
        expect(production.links.size).toBeGreaterThan(4);
        await s.read((tx) => {
          expect(tx.productionJob(JOB as never)).toEqual(production.jobs.get(JOB as never));
          expect(tx.productionJobByCode('J-23')?.status).toBe('running');
          for (const [id, link] of production.links) expect(tx.link(id)).toEqual(link);
          const keys = new Set([...production.links.values()].flatMap((l) => [l.fromKey, l.toKey]));
          for (const k of keys) {
            expect(byId(tx.linksFrom(k))).toEqual(byId(ref.linksFrom(k)));
            expect(byId(tx.linksTo(k))).toEqual(byId(ref.linksTo(k)));
          }
          for (const [id, trace] of production.traces) expect(tx.trace(id as never)).toEqual(trace);
          // Stock moved to and from PRODUCTION as the fold says.
          expect(tx.quantity(L, P, 'L1' as Lot, null)).toBe(3);
          const q = genealogyQueriesOf(tx);
          const into = q.ancestors(serialNode(S, 'P1' as Serial)).nodes.map((n) => n.key);
          expect(into).toEqual(
            expect.arrayContaining([
              nodeKey(lotNode(L, 'L1' as Lot)),
              nodeKey(serialNode(S, 'S7' as Serial)),
            ]),
          );
          const went = q.descendants(lotNode(L, 'L1' as Lot)).nodes.map((n) => n.node.kind);
          expect(went).toEqual(expect.arrayContaining(['job', 'serial', 'container', 'shipment']));
        });
      });

      it('a savepoint that throws takes its genealogy back', async () => {
        const s = await fresh();
        await expect(
          s.write((tx) => {
            run(tx, []);
            throw new Error('no');
          }),
        ).rejects.toThrow('no');
        await s.read((tx) => {
          expect(tx.productionJob(JOB as never)).toBeUndefined();
          expect(tx.linksFrom(nodeKey(lotNode(L, 'L1' as Lot)))).toEqual([]);
        });
      });

      // ─── Jobs as snapshot entries ───────────────────────────────────────────────────────

      const NEW = asJobId('0192f0c8-0000-7000-8000-00000000b002');
      const DONE = asJobId('0192f0c8-0000-7000-8000-00000000b003');
      type LoggedEvent = { id: string; type: string; data: unknown };
      /** The domain's fold of production (and the inventory it reads) over `logged`. */
      const foldJobs = (logged: readonly LoggedEvent[]): ProductionState => {
        let inventory = initialState();
        const production = initialProductionState();
        for (const e of logged) {
          evolveProduction(production, viewOf(inventory), e);
          inventory = foldEvent(inventory, e);
        }
        return production;
      };
      /** The job entries of a fold, in key order: created and running jobs, as records. */
      const liveJobsOf = (production: ProductionState): [string, unknown][] =>
        [...production.jobs.values()]
          .filter(isLiveJobRef)
          .map((j): [string, unknown] => [jobKey(j.id), j])
          .sort(([a], [b]) => compare(a, b));
      const isJobKey = (key: string) => key.startsWith('s/job/');
      const jobEntriesOf = (tx: ReadTx) =>
        tx.snapshotEntries({ afterKey: null, limit: 1_000_000 }).filter((e) => isJobKey(e.key));
      const jobsChangedAfter = (tx: ReadTx, seq: number) =>
        tx.snapshotEntries({ changedAfter: seq, upToKey: LAST_KEY }).filter((e) => isJobKey(e.key));
      /** Records events in `tx`, remembering them (for the fold) and their seqs by id. */
      const logger = (logged: LoggedEvent[], seqs = new Map<string, number>()) => ({
        seqs,
        log: (tx: WriteTx, id: string, event: DomainEvent): number => {
          const seq = record(tx, id, event);
          logged.push({ id, type: event.type, data: event.data });
          seqs.set(id, seq);
          return seq;
        },
      });

      it('created and running jobs are snapshot entries (the record as stored); a completed one is a tombstone from then on', async () => {
        const s = await fresh();
        const logged: LoggedEvent[] = [];
        const { seqs, log } = logger(logged);
        await s.write((tx) => {
          run(tx, logged); // JOB: running, made 1
          log(tx, 'new', jobCreated(NEW, 'J-NEW', A, { quantity: 4, note: 'rush' }));
          log(tx, 'done-created', jobCreated(DONE, 'J-DONE', A, { quantity: 3 }));
          log(tx, 'done-started', jobStarted(DONE));
          log(tx, 'done-made', produced(DONE, A, Q, 3));
        });
        const head = await s.read((tx) => tx.head());
        await s.read((tx) => {
          const entries = jobEntriesOf(tx);
          expect(entries.map((e) => [e.key, e.value])).toEqual(liveJobsOf(foldJobs(logged)));
          expect(entries.map((e) => e.key)).toEqual(
            [jobKey(JOB), jobKey(NEW), jobKey(DONE)].sort(compare),
          );
          // The value is the job as the store holds it.
          for (const id of [asJobId(JOB), NEW, DONE])
            expect(entries.find((e) => e.key === jobKey(id))?.value).toEqual(tx.productionJob(id));
          expect(entries.find((e) => e.key === jobKey(NEW))).toEqual({
            key: jobKey(NEW),
            value: {
              id: NEW,
              code: 'J-NEW',
              itemId: A,
              planned: 4,
              status: 'created',
              produced: 0,
              note: 'rush',
              completionNote: null,
            },
            seq: seqs.get('new'),
          });
          expect(entries.find((e) => e.key === jobKey(DONE))).toMatchObject({
            value: { status: 'running', produced: 3 },
            seq: seqs.get('done-made'),
          });
        });

        // Completed: gone from a full snapshot, a tombstone for a device that had it.
        const completedAt = await s.write((tx) => log(tx, 'done', jobCompleted(DONE, 'all made')));
        await s.read((tx) => {
          expect(jobEntriesOf(tx).map((e) => [e.key, e.value])).toEqual(
            liveJobsOf(foldJobs(logged)),
          );
          expect(jobEntriesOf(tx).map((e) => e.key)).not.toContain(jobKey(DONE));
          expect(tx.productionJob(DONE)).toMatchObject({
            status: 'completed',
            completionNote: 'all made',
          });
          expect(jobsChangedAfter(tx, head)).toEqual([
            { key: jobKey(DONE), value: null, seq: completedAt },
          ]);
          expect(jobsChangedAfter(tx, completedAt)).toEqual([]);
        });

        // A later change to the completed job (its production partly reversed) is no change to
        // any snapshot: the tombstone keeps its seq. The new job starting is one.
        const later = await s.write((tx) => {
          log(tx, 'undo', reversed('done-made', A, Q, PRODUCTION, 1));
          return log(tx, 'new-started', jobStarted(NEW));
        });
        const end = foldJobs(logged);
        await s.read((tx) => {
          expect(tx.productionJob(DONE)).toEqual(end.jobs.get(DONE));
          expect(tx.productionJob(DONE)).toMatchObject({ status: 'completed', produced: 2 });
          expect(jobsChangedAfter(tx, completedAt)).toEqual([
            { key: jobKey(NEW), value: end.jobs.get(NEW), seq: later },
          ]);
          expect(jobsChangedAfter(tx, head)).toEqual(
            [
              { key: jobKey(DONE), value: null, seq: completedAt },
              { key: jobKey(NEW), value: end.jobs.get(NEW), seq: later },
            ].sort((a, b) => compare(a.key, b.key)),
          );
          expect(jobEntriesOf(tx).map((e) => [e.key, e.value])).toEqual(liveJobsOf(end));
          expect(end.jobs.get(NEW)?.status).toBe('running');
        });
      });

      it('job entries page in key order among the other kinds (count-session < item < job < list < lot)', async () => {
        const s = await fresh();
        const logged: LoggedEvent[] = [];
        const { log } = logger(logged);
        const LIST = '0192f0c8-0000-7000-8000-00000000b0a1' as ListId;
        await s.write((tx) => {
          run(tx, logged);
          log(tx, 'new', jobCreated(NEW, 'J-NEW', L));
          log(tx, 'done-created', jobCreated(DONE, 'J-DONE', A));
          log(tx, 'done-started', jobStarted(DONE));
          log(tx, 'done', jobCompleted(DONE));
          log(tx, 'list', {
            type: 'ListCreated',
            data: {
              listId: LIST,
              type: 'receipt',
              code: 'R-1',
              references: [],
              lines: [{ lineNo: 10, itemId: A, quantity: 1, suggestedPositionId: P }],
            },
          });
          log(tx, 'count', {
            type: 'CountSessionPlanned',
            data: {
              sessionId: asCountSessionId('0192f0c8-0000-7000-8000-00000000b0c1'),
              code: 'C-1',
              scope: { kind: 'items', ids: [A] },
              mode: 'blind',
              recountAbove: null,
            },
          });
          const c = tx.appendEvent(plainEvent('conflict'));
          tx.openConflict(conflictInput('k/jobs', c));
        });
        const all = await s.read((tx) => tx.snapshotEntries({ afterKey: null, limit: 1_000_000 }));
        const keys = all.map((e) => e.key);
        expect(keys).toEqual([...keys].sort(compare));
        expect(new Set(keys).size).toBe(keys.length);
        const kinds = [...new Set(keys.map((k) => k.split('/')[1]))];
        expect(kinds).toEqual([
          'conflict',
          'count-session',
          'item',
          'job',
          'list',
          'lot',
          'position',
          'stock',
        ]);
        expect(all.filter((e) => isJobKey(e.key)).map((e) => [e.key, e.value])).toEqual(
          liveJobsOf(foldJobs(logged)),
        );
        expect(keys).not.toContain(jobKey(DONE));
        // Every page size gives the same stream, across every boundary between kinds.
        for (const limit of [1, 2, 3, 5, 8, 1000])
          expect((await pageAll(s, limit)).flat(), `limit ${limit}`).toEqual(all);
        // Pages that start at the boundaries: after the last item, after the last job.
        const firstJob = keys.findIndex(isJobKey);
        const lastJob = keys.findLastIndex(isJobKey);
        expect(firstJob).toBeGreaterThan(0);
        expect(lastJob - firstJob).toBe(1); // JOB and NEW; DONE is not live
        await s.read((tx) => {
          const afterItems = tx.snapshotEntries({ afterKey: keys[firstJob - 1] ?? null, limit: 3 });
          expect(afterItems).toEqual(all.slice(firstJob, firstJob + 3));
          expect(afterItems.map((e) => e.key.split('/')[1])).toEqual(['job', 'job', 'list']);
          const afterJobs = tx.snapshotEntries({ afterKey: keys[lastJob] ?? null, limit: 1 });
          expect(afterJobs).toEqual([all[lastJob + 1]]);
          expect(afterJobs[0]?.key).toBe(listKey(LIST));
          // changedAfter up to the jobs: everything changed before and among them, tombstones
          // included, nothing after.
          const upTo = tx.snapshotEntries({ changedAfter: 0, upToKey: 's/job/~' });
          const upToKeys = upTo.map((e) => e.key);
          expect(upToKeys).toEqual([...upToKeys].sort(compare));
          expect(upToKeys.every((k) => k <= 's/job/~')).toBe(true);
          expect(upTo.filter((e) => isJobKey(e.key))).toEqual(
            [
              ...all.filter((e) => isJobKey(e.key)),
              { key: jobKey(DONE), value: null, seq: expect.any(Number) as number },
            ].sort((a, b) => compare(a.key, b.key)),
          );
        });
      });

      it('a savepoint that throws takes its job entries back, a job being completed included', async () => {
        const s = await fresh();
        await s.write((tx) => run(tx, []));
        const head = await s.read((tx) => tx.head());
        const before = await s.read(jobEntriesOf);
        expect(before.map((e) => e.key)).toEqual([jobKey(JOB)]);

        // A write that throws.
        await expect(
          s.write((tx) => {
            record(tx, 'x1', jobCompleted(asJobId(JOB)));
            record(tx, 'x2', jobCreated(NEW, 'J-NEW', A));
            throw new Error('no');
          }),
        ).rejects.toThrow('no');
        await s.read((tx) => {
          expect(jobEntriesOf(tx)).toEqual(before);
          expect(jobsChangedAfter(tx, head)).toEqual([]);
          expect(tx.productionJob(NEW)).toBeUndefined();
          expect(tx.productionJob(asJobId(JOB))?.status).toBe('running');
        });

        // A nested savepoint that throws after completing the job; the write goes on.
        const createdAt = await s.write((tx) => {
          expect(() =>
            tx.savepoint(() => {
              const seq = record(tx, 'y1', jobCompleted(asJobId(JOB)));
              expect(jobEntriesOf(tx)).toEqual([]);
              expect(jobsChangedAfter(tx, head)).toEqual([{ key: jobKey(JOB), value: null, seq }]);
              throw new Error('inner');
            }),
          ).toThrow('inner');
          expect(jobEntriesOf(tx)).toEqual(before);
          expect(jobsChangedAfter(tx, head)).toEqual([]);
          return record(tx, 'y2', jobCreated(NEW, 'J-NEW', A));
        });
        await s.read((tx) => {
          const entries = jobEntriesOf(tx);
          expect(entries.find((e) => e.key === jobKey(JOB))).toEqual(before[0]);
          expect(jobsChangedAfter(tx, head)).toEqual([
            { key: jobKey(NEW), value: tx.productionJob(NEW), seq: createdAt },
          ]);
          expect(tx.productionJob(NEW)?.status).toBe('created');
        });
      });

      const reopenJobs = options.reopen;
      if (reopenJobs) {
        it('job entries and tombstones survive close and reopen', async () => {
          const s = await fresh();
          const logged: LoggedEvent[] = [];
          const { log } = logger(logged);
          await s.write((tx) => {
            run(tx, logged);
            log(tx, 'new', jobCreated(NEW, 'J-NEW', A));
            log(tx, 'done-created', jobCreated(DONE, 'J-DONE', A));
            log(tx, 'done-started', jobStarted(DONE));
            log(tx, 'done', jobCompleted(DONE));
          });
          const look = (tx: ReadTx) => ({
            entries: jobEntriesOf(tx),
            changed: jobsChangedAfter(tx, 0),
          });
          const before = await s.read(look);
          expect(before.entries.map((e) => [e.key, e.value])).toEqual(liveJobsOf(foldJobs(logged)));
          expect(before.changed.find((e) => e.key === jobKey(DONE))?.value).toBeNull();
          await close(s);
          const again = await reopenJobs(s);
          opened.add(again);
          expect(await again.read(look)).toEqual(before);
        });
      }
    });

    describe('counting sessions', () => {
      const APPLIED = asCountSessionId('0192f0c8-0000-7000-8000-00000000c001');
      const CANCELLED = asCountSessionId('0192f0c8-0000-7000-8000-00000000c002');
      const COUNTING = asCountSessionId('0192f0c8-0000-7000-8000-00000000c003');
      const NO_SESSION = asCountSessionId('0192f0c8-0000-7000-8000-00000000c0ff');
      const SESSIONS = [APPLIED, CANCELLED, COUNTING, NO_SESSION];
      const ana = asUserId('u-ana');
      const ben = asUserId('u-ben');
      const sue = asUserId('u-sue');
      const SN3 = serial('SN-3');

      interface Step {
        readonly id: string;
        readonly event: DomainEvent;
      }
      const planned = (
        sessionId: CountSessionId,
        code: string,
        kind: 'positions' | 'items',
        ids: readonly string[],
        extra: { recountAbove?: { quantity: number | null; percent: number | null } } = {},
      ): DomainEvent => ({
        type: 'CountSessionPlanned',
        data: {
          sessionId,
          code,
          scope: { kind, ids: [...ids] },
          mode: 'blind',
          recountAbove: extra.recountAbove ?? null,
          note: `stocktake ${code}`,
        },
      });
      const counted = (
        sessionId: CountSessionId,
        positionId: PositionId,
        itemId: ItemId,
        countedBy: UserId,
        n: number,
        expected: number,
        extra: { lot?: Lot } = {},
      ): DomainEvent => ({
        type: 'CountRecorded',
        data: { sessionId, positionId, itemId, countedBy, counted: n, expected, ...extra },
      });
      const positionEvent = (
        type: 'PositionCountStarted' | 'PositionCountFinished',
        sessionId: CountSessionId,
        positionId: PositionId,
        countedBy: UserId,
      ): DomainEvent =>
        type === 'PositionCountStarted'
          ? { type, data: { sessionId, positionId, countedBy } }
          : { type, data: { sessionId, positionId, countedBy, empty: false } };
      const correction = (
        itemId: ItemId,
        positionId: PositionId,
        delta: number,
        extra: { serial?: Serial } = {},
      ): DomainEvent => ({
        type: 'StockAdjusted',
        data: { itemId, positionId, delta, reason: 'count-correction', ...extra },
      });
      const applied = (
        lineNo: number,
        stockBefore: number,
        delta: number,
        extra: { raced?: boolean; serialsBefore?: { serial: Serial; lot: Lot | null }[] } = {},
      ): DomainEvent => ({
        type: 'CountRecordApplied',
        data: {
          sessionId: APPLIED,
          lineNo,
          choice: 'keep-delta',
          raced: extra.raced ?? false,
          stockBefore,
          delta,
          ...(extra.serialsBefore ? { serialsBefore: extra.serialsBefore } : {}),
        },
      });

      /**
       * Three sessions, planned in an order their codes do not follow. CANCELLED (C-3): an items
       * scope, counted once, cancelled. APPLIED (C-1): positions Q, P, R (planned in that order)
       * with a recount threshold, assigned to two operators; a disagreement on A at P (ben's
       * count accepted), a lot line, a serialized line, a large variance recounted by someone
       * else, a position left open and released; closed, approved with a reason and one line's
       * own, applied line by line with the StockAdjusted each needs (one apply failing first), a
       * late count while applying, and a race decided once the session is applied. COUNTING
       * (C-2): still counting, eleven lines (so its line keys order as 1, 10, 11, 2, …). Ids name
       * the steps the tests look for.
       */
      const countingScenario = (): Step[] => {
        const out: Step[] = [];
        const add = (event: DomainEvent, id = `ce${out.length + 1}`) => out.push({ id, event });
        for (const e of warehouse()) add(e);
        add(received(A, P, 10));
        add(received(L, Q, 5, { lot: L1 }));
        add(received(S, R, 1, { serial: SN1 }));
        add(received(S, R, 1, { serial: SN2 }));

        add(planned(CANCELLED, 'C-3', 'items', [A]));
        add({ type: 'CountSessionStarted', data: { sessionId: CANCELLED } });
        add(positionEvent('PositionCountStarted', CANCELLED, P, ana));
        add(counted(CANCELLED, P, A, ana, 10, 10));
        add(
          { type: 'CountSessionCancelled', data: { sessionId: CANCELLED, note: 'wrong scope' } },
          'cancelled',
        );

        add(
          planned(APPLIED, 'C-1', 'positions', [Q, P, R], {
            recountAbove: { quantity: 5, percent: null },
          }),
        );
        add({ type: 'CountSessionAssigned', data: { sessionId: APPLIED, userIds: [ana, ben] } });
        add({ type: 'CountSessionStarted', data: { sessionId: APPLIED } });
        add(positionEvent('PositionCountStarted', APPLIED, P, ana));
        add(counted(APPLIED, P, A, ana, 9, 10)); // line 1
        add(positionEvent('PositionCountStarted', APPLIED, P, ben));
        add(counted(APPLIED, P, A, ben, 8, 10)); // line 1: a disagreement
        add(positionEvent('PositionCountFinished', APPLIED, P, ana));
        add(positionEvent('PositionCountStarted', APPLIED, Q, ana));
        add(counted(APPLIED, Q, L, ana, 5, 5, { lot: L1 })); // line 2
        add(positionEvent('PositionCountFinished', APPLIED, Q, ana));
        add({
          type: 'CountRecorded',
          data: {
            sessionId: APPLIED,
            positionId: R,
            itemId: S,
            countedBy: ben,
            counted: 2,
            expected: 2,
            serials: [SN3, SN2],
            expectedSerials: [SN1, SN2],
          },
        }); // line 3: serialized
        add(counted(APPLIED, R, A, ben, 20, 0)); // line 4: above the threshold: a recount …
        add(counted(APPLIED, R, A, ana, 20, 0)); // … and agrees
        add({
          type: 'PositionCountReleased',
          data: { sessionId: APPLIED, positionId: P, userId: ben, releasedBy: sue },
        });
        add({ type: 'CountSessionClosed', data: { sessionId: APPLIED } });
        add({
          type: 'CountAccepted',
          data: { sessionId: APPLIED, lineNo: 1, countedBy: ben, acceptedBy: sue },
        });

        add(planned(COUNTING, 'C-2', 'items', [L, A]));
        add({ type: 'CountSessionAssigned', data: { sessionId: COUNTING, userIds: [ben] } });
        add({ type: 'CountSessionStarted', data: { sessionId: COUNTING } });
        for (let i = 1; i <= 11; i++)
          add(counted(COUNTING, Q, L, ben, i, i, { lot: lot(`K${i}`) }));

        add(
          {
            type: 'CountSessionApproved',
            data: {
              sessionId: APPLIED,
              approvedBy: sue,
              planned: 4,
              reason: 'unexplained',
              reasons: [{ lineNo: 3, reason: 'misplaced' }],
            },
          },
          'approved',
        );
        add(correction(A, P, -2));
        add(applied(1, 10, -2));
        add(applied(2, 5, 0));
        add(counted(APPLIED, Q, A, ben, 3, 0)); // late: line 5, kept, never applied
        add(correction(S, R, -1, { serial: SN1 }));
        add(correction(S, R, 1, { serial: SN3 }));
        add(
          applied(3, 2, 0, {
            serialsBefore: [
              { serial: SN1, lot: null },
              { serial: SN2, lot: null },
            ],
          }),
        );
        add({
          type: 'CountRecordFailed',
          data: {
            sessionId: APPLIED,
            lineNo: 4,
            code: 'POSITION_RETIRED',
            message: 'R is retired',
          },
        });
        add(correction(A, R, 20));
        add(applied(4, 0, 20, { raced: true }), 'applied');
        add({
          type: 'CountRaceDecided',
          data: {
            sessionId: APPLIED,
            lineNo: 4,
            choice: 'keep-counted',
            decidedBy: sue,
            correction: 0,
          },
        });
        return out;
      };
      const stepIndex = (steps: readonly Step[], id: string): number => {
        const i = steps.findIndex((s) => s.id === id);
        if (i < 0) throw new Error(`no step ${id}`);
        return i;
      };
      const loggedOf = ({ id, event }: Step) => ({ id, type: event.type, data: event.data });

      /** Writes `steps` in writes of `per` events; their seqs by step id. */
      async function writeSteps(s: Storage, steps: readonly Step[], per = 5, offset = 0) {
        const seqs = new Map<string, number>();
        for (let i = 0; i < steps.length; i += per) {
          await s.write((tx) => {
            for (const [j, step] of steps.slice(i, i + per).entries())
              seqs.set(
                step.id,
                record(tx, step.id, step.event, { mutationID: offset + i + j + 1 }),
              );
          });
        }
        return seqs;
      }

      const isCountingKey = (key: string) =>
        key.startsWith('s/count-session/') ||
        key.startsWith('s/count-line/') ||
        key.startsWith('s/count-position/');
      const byCode = (a: CountSession, b: CountSession) => compare(a.code, b.code);
      const byPosition = (a: CountPosition, b: CountPosition) =>
        compare(a.positionId, b.positionId);

      /** The counting snapshot entries of the domain's fold, in key order. */
      function liveCountingOf(state: CountingState): [string, unknown][] {
        const out: [string, unknown][] = [];
        for (const session of state.sessions.values()) {
          if (!isLiveCountSession(session.status)) continue;
          const id = session.id;
          const entry: CountSessionEntry = {
            ...session,
            scopeIds: [...(state.scopes.get(id) ?? [])],
          };
          out.push([countSessionKey(id), entry]);
          for (const r of linesOf(state, id)) out.push([countLineKey(id, r.lineNo), r]);
          for (const p of positionsOf(state, id))
            out.push([countPositionEntryKey(id, p.positionId), p]);
        }
        return out.sort(([a], [b]) => compare(a, b));
      }
      const countingEntriesOf = (tx: ReadTx) =>
        tx
          .snapshotEntries({ afterKey: null, limit: 1_000_000 })
          .filter((e) => isCountingKey(e.key));

      /** Every counting answer of `tx` equals the domain fold's (`foldCounting` of its events). */
      function expectSameCounting(tx: ReadTx, state: CountingState, where: string): void {
        const ref = countingViewOf(state);
        for (const id of SESSIONS) {
          const session = ref.countSession(id);
          const at = `${where}, session ${id}`;
          expect(tx.countSession(id), `${at}: countSession`).toEqual(session);
          if (session)
            expect(tx.countSessionByCode(session.code), `${at}: by code`).toEqual(session);
          const lines = linesOf(state, id);
          expect(tx.countLines(id, 1, 1000), `${at}: countLines`).toEqual(lines);
          for (let n = 0; n <= (session?.lines ?? 0) + 1; n++)
            expect(tx.countRecord(id, n), `${at}: countRecord ${n}`).toEqual(
              ref.countRecord(id, n),
            );
          // Every line by its pair, and pairs that are not lines (a lot where none was, none
          // where one was).
          const pairs: [ItemId, PositionId, Lot | null][] = [
            ...lines.map((r): [ItemId, PositionId, Lot | null] => [r.itemId, r.positionId, r.lot]),
            [A, C, null],
            [L, Q, null],
            [A, P, L1],
          ];
          for (const [itemId, positionId, l] of pairs)
            expect(
              tx.countRecordOfPair(id, itemId, positionId, l),
              `${at}: countRecordOfPair ${itemId} ${positionId} ${l}`,
            ).toEqual(ref.countRecordOfPair(id, itemId, positionId, l));
          expect(tx.countPositions(id), `${at}: countPositions`).toEqual(
            positionsOf(state, id).sort(byPosition),
          );
          for (const p of [P, Q, R, C])
            expect(tx.countPosition(id, p), `${at}: countPosition ${p}`).toEqual(
              ref.countPosition(id, p),
            );
          for (const m of [P, Q, R, C, A, L, S, 'no-such-id'])
            expect(tx.inCountScope(id, m), `${at}: inCountScope ${m}`).toBe(
              ref.inCountScope(id, m),
            );
          expect(tx.countScope(id), `${at}: countScope`).toEqual([...(state.scopes.get(id) ?? [])]);
        }
        expect(tx.countSessionByCode('no-such-code')).toBeUndefined();
        expect(tx.countSessions({}), `${where}: countSessions`).toEqual(
          [...state.sessions.values()].sort(byCode),
        );
        expect(
          countingEntriesOf(tx).map((e) => [e.key, e.value]),
          `${where}: snapshot entries`,
        ).toEqual(liveCountingOf(state));
      }

      /**
       * Per snapshot key, the seq of the last event whose changes wrote its record (a session
       * becoming history writes all of its keys) and of the last that changed the entry as
       * devices see it: an entry's seq lies between the two.
       */
      function trailOf(steps: readonly Step[], seqs: ReadonlyMap<string, number>) {
        let state = initialCountingState();
        const touched = new Map<string, number>();
        const changed = new Map<string, number>();
        for (const step of steps) {
          const seq = seqs.get(step.id) ?? 0;
          const logged = loggedOf(step);
          for (const c of countChangesOf(countingViewOf(state), logged)) {
            const keys: string[] = [];
            if (c.op === 'putCountSession') {
              keys.push(countSessionKey(c.session.id));
              const id = c.session.id;
              for (const r of linesOf(state, id)) keys.push(countLineKey(id, r.lineNo));
              for (const p of positionsOf(state, id))
                keys.push(countPositionEntryKey(id, p.positionId));
            }
            if (c.op === 'putCountScope') keys.push(countSessionKey(c.sessionId));
            if (c.op === 'putCountRecord')
              keys.push(countLineKey(c.record.sessionId, c.record.lineNo));
            if (c.op === 'putCountPosition')
              keys.push(countPositionEntryKey(c.position.sessionId, c.position.positionId));
            for (const k of keys) touched.set(k, seq);
          }
          const before = new Map(liveCountingOf(state));
          state = evolveCounting(state, logged);
          const after = new Map(liveCountingOf(state));
          for (const k of new Set([...before.keys(), ...after.keys()]))
            if (canonical(before.get(k)) !== canonical(after.get(k))) changed.set(k, seq);
        }
        return { state, touched, changed };
      }

      it('the scenario is what a device and the apply job log: every counting event valid', () => {
        for (const { id, event } of countingScenario()) {
          if (!isCountingEvent(event)) continue;
          const parsed = countingEventData[event.type].safeParse(event.data);
          expect(parsed.success, `${id} ${event.type}: ${parsed.error?.message}`).toBe(true);
        }
      });

      it('answer every counting query like the domain fold, after each of several writes', async () => {
        const s = await fresh();
        const steps = countingScenario();
        const per = 6;
        for (let i = 0; i < steps.length; i += per) {
          const part = steps.slice(i, i + per);
          await s.write((tx) => {
            for (const [j, step] of part.entries())
              record(tx, step.id, step.event, { mutationID: i + j + 1 });
          });
          const state = foldCounting(steps.slice(0, i + per).map(loggedOf));
          await s.read((tx) => expectSameCounting(tx, state, `after step ${i + part.length}`));
        }
        // What the scenario was written to reach (so the reference cannot be trivially empty).
        const state = foldCounting(steps.map(loggedOf));
        expect(state.sessions.get(APPLIED)).toMatchObject({
          status: 'applied',
          lines: 5,
          planned: 4,
          applied: 4,
          failed: 0,
          raced: 1,
          disagreements: 0,
          recounts: 0,
          positionsCounted: 3,
          openCounts: 0,
        });
        expect(state.sessions.get(CANCELLED)?.status).toBe('cancelled');
        expect(state.sessions.get(COUNTING)).toMatchObject({ status: 'counting', lines: 11 });
        // Stock followed the corrections (StockAdjusted beside CountRecordApplied).
        await s.read((tx) => {
          expect(tx.quantity(A, P, null, null)).toBe(8);
          expect(tx.quantity(A, R, null, null)).toBe(20);
          expect(tx.quantity(S, R, null, SN1)).toBe(0);
          expect(tx.quantity(S, R, null, SN3)).toBe(1);
        });
      });

      it('countSessions filters by status and assignee, orders by code, limits; lines page, scope keeps its order', async () => {
        const s = await fresh();
        const steps = countingScenario();
        await writeSteps(s, steps, 20);
        const state = foldCounting(steps.map(loggedOf));
        await s.read((tx) => {
          const codes = (q: CountSessionQuery) => tx.countSessions(q).map((x) => x.code);
          expect(codes({})).toEqual(['C-1', 'C-2', 'C-3']);
          expect(codes({ status: ['applied'] })).toEqual(['C-1']);
          expect(codes({ status: ['counting', 'cancelled'] })).toEqual(['C-2', 'C-3']);
          expect(codes({ status: ['planned', 'review', 'applying'] })).toEqual([]);
          expect(codes({ status: [] })).toEqual([]);
          expect(codes({ assignee: ben })).toEqual(['C-1', 'C-2']);
          expect(codes({ assignee: ana })).toEqual(['C-1']);
          expect(codes({ assignee: sue })).toEqual([]);
          expect(codes({ status: ['counting'], assignee: ben })).toEqual(['C-2']);
          expect(codes({ status: ['counting'], assignee: ana })).toEqual([]);
          expect(codes({ limit: 2 })).toEqual(['C-1', 'C-2']);
          expect(tx.countSessions({ status: ['applied'] })).toEqual([state.sessions.get(APPLIED)]);

          const all = linesOf(state, COUNTING);
          expect(all).toHaveLength(11);
          const pages = [1, 5, 9, 13].map((from) => tx.countLines(COUNTING, from, 4));
          expect(pages.map((p) => p.map((r) => r.lineNo))).toEqual([
            [1, 2, 3, 4],
            [5, 6, 7, 8],
            [9, 10, 11],
            [],
          ]);
          expect(pages.flat()).toEqual(all);
          expect(tx.countLines(APPLIED, 2, 3).map((r) => r.lineNo)).toEqual([2, 3, 4]);
          expect(tx.countLines(NO_SESSION, 1, 10)).toEqual([]);

          // The scope in the order planned; positions by id.
          expect(tx.countScope(APPLIED)).toEqual([Q, P, R]);
          expect(tx.countScope(COUNTING)).toEqual([L, A]);
          expect(tx.countScope(NO_SESSION)).toEqual([]);
          expect(tx.countPositions(APPLIED).map((p) => p.positionId)).toEqual([P, Q, R]);
          expect(tx.countPositions(APPLIED)).toEqual(positionsOf(state, APPLIED).sort(byPosition));
          expect(tx.countPositions(NO_SESSION)).toEqual([]);
          expect(tx.inCountScope(APPLIED, Q)).toBe(true);
          expect(tx.inCountScope(APPLIED, C)).toBe(false);
          expect(tx.inCountScope(COUNTING, A)).toBe(true);
          // Lines the session's counters say, by pair (lot and no lot are different pairs).
          expect(tx.countRecordOfPair(APPLIED, L, Q, L1)?.lineNo).toBe(2);
          expect(tx.countRecordOfPair(APPLIED, L, Q, null)).toBeUndefined();
          expect(tx.countRecordOfPair(APPLIED, S, R, null)?.serialized).toBe(true);
          expect(tx.countRecord(APPLIED, 1)?.accepted?.countedBy).toBe(ben);
          expect(tx.countRecord(APPLIED, 3)?.reason).toBe('misplaced');
          expect(tx.countRecord(APPLIED, 5)?.counts[0]?.late).toBe(true);
          expect(tx.countPosition(APPLIED, P)).toMatchObject({ open: [], countedBy: [ana, ben] });
        });
      });

      it('a live session is three kinds of snapshot entries; applied or cancelled, all of them are tombstones', async () => {
        const s = await fresh();
        const steps = countingScenario();
        const approvedAt = stepIndex(steps, 'approved');
        const seqs = await writeSteps(s, steps.slice(0, approvedAt), 7);
        const head = await s.read((tx) => tx.head());

        // APPLIED in review, COUNTING counting: their sessions, lines and positions; not CANCELLED.
        const mid = trailOf(steps.slice(0, approvedAt), seqs);
        const live = liveCountingOf(mid.state);
        const entries = await s.read((tx) => countingEntriesOf(tx));
        expect(entries.map((e) => [e.key, e.value])).toEqual(live);
        expect(live.map(([k]) => k)).toContain(countSessionKey(APPLIED));
        expect(live.map(([k]) => k)).not.toContain(countSessionKey(CANCELLED));
        expect(entries.find((e) => e.key === countSessionKey(APPLIED))?.value).toMatchObject({
          status: 'review',
          scopeIds: [Q, P, R],
          lines: 4,
        });
        expect(
          entries
            .filter((e) => e.key.startsWith(`s/count-line/${COUNTING}/`))
            .map((e) => e.key.split('/').at(-1)),
        ).toEqual(['1', '10', '11', '2', '3', '4', '5', '6', '7', '8', '9']);
        for (const e of entries) {
          expect(e.seq, `seq of ${e.key}`).toBeGreaterThanOrEqual(mid.changed.get(e.key) ?? 1);
          expect(e.seq, `seq of ${e.key}`).toBeLessThanOrEqual(mid.touched.get(e.key) ?? 0);
        }
        // Pages in key order, counting entries among the others.
        const all = await s.read((tx) => tx.snapshotEntries({ afterKey: null, limit: 1_000_000 }));
        for (const limit of [1, 4, 9]) {
          const flat = (await pageAll(s, limit)).flat();
          expect(flat, `limit ${limit}`).toEqual(all);
        }
        expect(all.map((e) => e.key)).toEqual(all.map((e) => e.key).sort(compare));

        // The cancelled session: its header, line and position, tombstones at the cancel.
        const cancelled = seqs.get('cancelled') ?? 0;
        const cancelledKeys = [
          countLineKey(CANCELLED, 1),
          countPositionEntryKey(CANCELLED, P),
          countSessionKey(CANCELLED),
        ];
        await s.read((tx) => {
          const since = tx
            .snapshotEntries({ changedAfter: cancelled - 1, upToKey: LAST_KEY })
            .filter((e) => e.key.includes(CANCELLED));
          expect(since).toEqual(cancelledKeys.map((key) => ({ key, value: null, seq: cancelled })));
          expect(
            tx
              .snapshotEntries({ changedAfter: cancelled, upToKey: LAST_KEY })
              .filter((e) => e.key.includes(CANCELLED)),
          ).toEqual([]);
        });

        // Approve and apply APPLIED: once applied, every entry of it is a tombstone at that seq.
        const rest = await writeSteps(s, steps.slice(approvedAt), 3, approvedAt);
        const appliedAt = rest.get('applied') ?? 0;
        expect(appliedAt).toBeLessThan(await s.read((tx) => tx.head())); // the race came later
        const end = foldCounting(steps.map(loggedOf));
        const appliedKeys = [
          ...[1, 2, 3, 4, 5].map((n) => countLineKey(APPLIED, n)),
          ...[P, Q, R].map((p) => countPositionEntryKey(APPLIED, p)),
          countSessionKey(APPLIED),
        ].sort(compare);
        await s.read((tx) => {
          const full = countingEntriesOf(tx);
          expect(full.map((e) => [e.key, e.value])).toEqual(liveCountingOf(end));
          expect(full.filter((e) => e.key.includes(APPLIED))).toEqual([]);
          expect(full.some((e) => e.key === countSessionKey(COUNTING))).toBe(true);

          const changed = tx
            .snapshotEntries({ changedAfter: head, upToKey: LAST_KEY })
            .filter((e) => isCountingKey(e.key));
          // A late change to an applied session (the race decided) is no change to its entries.
          expect(changed).toEqual(appliedKeys.map((key) => ({ key, value: null, seq: appliedAt })));
          // Up to a key: only the entries at or before it.
          const upTo = countLineKey(APPLIED, 3);
          expect(
            tx
              .snapshotEntries({ changedAfter: head, upToKey: upTo })
              .filter((e) => isCountingKey(e.key))
              .map((e) => e.key),
          ).toEqual(appliedKeys.filter((k) => k <= upTo));
          expect(
            tx
              .snapshotEntries({ changedAfter: appliedAt, upToKey: LAST_KEY })
              .filter((e) => isCountingKey(e.key)),
          ).toEqual([]);
        });
      });

      it('a savepoint that throws takes its counting changes back, a session becoming history included', async () => {
        const s = await fresh();
        const steps = countingScenario();
        const approvedAt = stepIndex(steps, 'approved');
        await writeSteps(s, steps.slice(0, approvedAt), 50);
        const state = foldCounting(steps.slice(0, approvedAt).map(loggedOf));
        const head = await s.read((tx) => tx.head());
        const changedSince = (tx: ReadTx) =>
          tx.snapshotEntries({ changedAfter: head, upToKey: LAST_KEY });

        // A write that throws.
        await expect(
          s.write((tx) => {
            steps
              .slice(approvedAt)
              .forEach((step, i) => record(tx, step.id, step.event, { mutationID: 100 + i }));
            throw new Error('no');
          }),
        ).rejects.toThrow('no');
        await s.read((tx) => {
          expectSameCounting(tx, state, 'after a failed write');
          expect(changedSince(tx)).toEqual([]);
        });

        // A nested savepoint that throws after the session was applied; the write goes on.
        await s.write((tx) => {
          expect(() =>
            tx.savepoint(() => {
              steps
                .slice(approvedAt)
                .forEach((step, i) => record(tx, step.id, step.event, { mutationID: 200 + i }));
              expect(tx.countSession(APPLIED)?.status).toBe('applied');
              expect(changedSince(tx).some((e) => e.key === countSessionKey(APPLIED))).toBe(true);
              throw new Error('inner');
            }),
          ).toThrow('inner');
          expectSameCounting(tx, state, 'inside the write, after the savepoint');
          expect(changedSince(tx)).toEqual([]);
          record(tx, 'after', counted(COUNTING, R, A, ben, 1, 1), { mutationID: 300 });
        });
        const next = foldCounting([
          ...steps.slice(0, approvedAt).map(loggedOf),
          loggedOf({ id: 'after', event: counted(COUNTING, R, A, ben, 1, 1) }),
        ]);
        await s.read((tx) => {
          expectSameCounting(tx, next, 'after the write');
          expect(changedSince(tx).map((e) => e.key)).toEqual(
            [
              countLineKey(COUNTING, 12),
              countPositionEntryKey(COUNTING, R),
              countSessionKey(COUNTING),
            ].sort(compare),
          );
        });
      });

      const reopenStore = options.reopen;
      if (reopenStore) {
        it('sessions, lines, positions and their snapshot entries survive close and reopen', async () => {
          const s = await fresh();
          const steps = countingScenario();
          await writeSteps(s, steps, 25);
          const snapshot = await s.read((tx) =>
            tx.snapshotEntries({ afterKey: null, limit: 1_000_000 }),
          );
          await close(s);
          const again = await reopenStore(s);
          opened.add(again);
          const state = foldCounting(steps.map(loggedOf));
          await again.read((tx) => {
            expectSameCounting(tx, state, 'after reopen');
            expect(tx.snapshotEntries({ afterKey: null, limit: 1_000_000 })).toEqual(snapshot);
          });
        });
      }
    });

    describe('competingOutflows', () => {
      it('returns the outflows of a line since its last inflow, with their mutations', async () => {
        const s = await fresh();
        const seq = await s.write((tx) => {
          for (const [i, e] of warehouse().entries()) record(tx, `w${i}`, e, { clientID: 'admin' });
          const o = (clientID: string, mutationID: number) => ({ clientID, mutationID });
          return {
            inA: record(tx, 'in-a', received(A, P, 10), o('c1', 1)),
            move: record(tx, 'move', moved(A, P, Q, 3), o('c1', 2)),
            ship: record(tx, 'ship', shipped(A, P, 2), o('c2', 1)),
            adjustDown: record(tx, 'adj-down', adjusted(A, P, -1), o('c2', 2)),
            fromQ: record(tx, 'from-q', moved(A, Q, R, 1), o('c3', 1)),
            inL: record(tx, 'in-l', received(L, P, 5, { lot: L1 }), o('c1', 3)),
            moveL: record(tx, 'move-l', moved(L, P, Q, 1, { lot: L1 }), o('c3', 2)),
            shipS: record(tx, 'ship-s', shipped(S, R, 1, { serial: SN1 }), o('c4', 1)),
          };
        });
        const first = await s.write((tx) => ({
          aP: tx.competingOutflows(A, P, null),
          aQ: tx.competingOutflows(A, Q, null),
          lP: tx.competingOutflows(L, P, 'L1'),
          lPnoLot: tx.competingOutflows(L, P, null),
          aR: tx.competingOutflows(A, R, null),
          sR: tx.competingOutflows(S, R, null),
        }));
        expect(first.aP).toEqual([
          { seq: seq.move, clientID: 'c1', mutationID: 2 },
          { seq: seq.ship, clientID: 'c2', mutationID: 1 },
          { seq: seq.adjustDown, clientID: 'c2', mutationID: 2 },
        ]);
        expect(first.aQ).toEqual([{ seq: seq.fromQ, clientID: 'c3', mutationID: 1 }]);
        expect(first.lP).toEqual([{ seq: seq.moveL, clientID: 'c3', mutationID: 2 }]);
        expect(first.lPnoLot).toEqual([]);
        expect(first.aR).toEqual([]);
        // Never filled: every outflow competes (serials are not a dimension of the line).
        expect(first.sR).toEqual([{ seq: seq.shipS, clientID: 'c4', mutationID: 1 }]);

        // An inflow (here a found adjustment) closes the competition; later outflows start anew.
        const later = await s.write((tx) => {
          record(tx, 'adj-up', adjusted(A, P, 2), { clientID: 'c5', mutationID: 1 });
          const afterUp = tx.competingOutflows(A, P, null);
          const ship2 = record(tx, 'ship-2', shipped(A, P, 1), { clientID: 'c5', mutationID: 2 });
          const withShip = tx.competingOutflows(A, P, null);
          // The reversal of a shipment brings stock back in: an inflow too.
          record(tx, 'rev', reversed('ship-2', A, OUTSIDE, P, 1), {
            clientID: 'c5',
            mutationID: 3,
          });
          return { afterUp, ship2, withShip, afterReversal: tx.competingOutflows(A, P, null) };
        });
        expect(later.afterUp).toEqual([]);
        expect(later.withShip).toEqual([{ seq: later.ship2, clientID: 'c5', mutationID: 2 }]);
        expect(later.afterReversal).toEqual([]);
      });
    });

    // ─── Durability ───────────────────────────────────────────────────────────────────────

    const reopen = options.reopen;
    if (reopen) {
      describe('durability', () => {
        it('everything survives close and reopen, a write issued before close included; seqs continue', async () => {
          const { s, ref, events } = await withScenario();
          const known: Known = {
            clients: ['c1', 'c2'],
            groups: ['g1'],
            users: ['u1'],
            tokens: ['t1'],
            tickets: ['k1'],
            conflicts: ['k1'],
          };
          await s.write((tx) => {
            const seq = tx.head();
            tx.setLastMutationID('c1', 'g1', 7, seq);
            tx.openConflict(conflictInput('k1', seq));
            tx.linkConflict('k1', { seq, clientID: 'c1', mutationID: 7 });
            tx.createUser(user('u1', 'alice'));
            tx.createSession(session('t1', 'u1', { clientGroupID: 'g1' }));
            tx.createTicket({
              ticketHash: 'k1',
              userId: 'u1',
              clientGroupID: 'g1',
              expiresAt: at(1),
            });
            tx.touchDevice('g1', 'u1', at(1), 'push', { pending: 2, appVersion: '3.1' });
          });
          const before = await s.read((tx) => dump(tx, known));
          const late = s.write((tx) => {
            const seq = ref.apply(tx, 'late', received(A, N, 9), { clientID: 'c2', mutationID: 1 });
            tx.setLastMutationID('c2', 'g1', 1, seq);
            return seq;
          });
          await close(s);
          const lateSeq = await late;
          expect(lateSeq).toBe(before.head + 1);

          const again = await reopen(s);
          opened.add(again);
          const after = await again.read((tx) => dump(tx, known));
          expect(after.head).toBe(lateSeq);
          expect(after.events.slice(0, -1)).toEqual(before.events);
          expect(after.events.at(-1)?.id).toBe('late');
          expect(after.clients).toEqual([
            { clientGroupID: 'g1', lastMutationID: 7 },
            { clientGroupID: 'g1', lastMutationID: 1 },
          ]);
          // Everything the late write did not touch is as it was.
          const untouched = (d: ReturnType<typeof dump>) => ({
            conflicts: d.conflicts,
            conflictRecords: d.conflictRecords,
            items: d.items,
            positions: d.positions,
            users: d.users,
            devices: d.devices,
            sessions: d.sessions,
            tickets: d.tickets,
            deviceUsers: d.deviceUsers,
          });
          expect(untouched(after)).toEqual(untouched(before));
          const lateKey = stockKey(A, N, null, null);
          expect(before.snapshot.map((e) => e.key)).not.toContain(lateKey);
          expect(after.snapshot.filter((e) => e.key !== lateKey)).toEqual(before.snapshot);
          expect(after.snapshot.find((e) => e.key === lateKey)).toEqual({
            key: lateKey,
            value: { itemId: A, positionId: N, lot: null, serial: null, quantity: 9 },
            seq: lateSeq,
          });
          await again.read((tx) => {
            expectSameView(tx, ref.state, probesOf(events, ref.state), 'after reopen');
            expect(sortLines(tx.stock({}))).toEqual(sortLines([...ref.state.stock.values()]));
          });
          expect(await again.write((tx) => tx.appendEvent(plainEvent('next')))).toBe(lateSeq + 1);
        });
      });
    }
  });
}
