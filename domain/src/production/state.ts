import { z } from 'zod';
import type { InventoryView } from '../inventory/state.js';
import type { EventId, ItemId, Lot, PositionId, Serial } from '../shared/ids.js';
import {
  asEventId,
  asItemId,
  asLot,
  asPositionId,
  asSerial,
  eventIdSchema,
  itemIdSchema,
  lotSchema,
  positionIdSchema,
  serialSchema,
} from '../shared/ids.js';
import type { JobId, ReplacementReason } from './commands.js';
import { asJobId, jobIdSchema } from './commands.js';
import type { GenealogyChangeView, LoggedProductionEvent, ProductionChange } from './changes.js';
import { genealogyChangesOf } from './changes.js';

// ─── Jobs ───────────────────────────────────────────────────────────────────────────────────

/** created → running → completed; consuming and producing need `running`. */
export const JOB_STATUSES = ['created', 'running', 'completed'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export interface ProductionJob {
  readonly id: JobId;
  readonly code: string;
  /** The product. */
  readonly itemId: ItemId;
  /** Planned quantity of the product, `null` when the job has no plan. */
  readonly planned: number | null;
  readonly status: JobStatus;
  /** Net quantity of the product made so far (reversed production subtracted). */
  readonly produced: number;
  readonly note: string | null;
  readonly completionNote: string | null;
}

// ─── Genealogy: nodes ───────────────────────────────────────────────────────────────────────

/**
 * What the genealogy graph links. Lots and serials are the traced goods (untracked items have
 * no identity to trace); a job is the place where inputs become outputs; a container (a mobile
 * position: pallet, tote) and a shipment (the `StockShipped` event) are where goods ended up.
 */
export const NODE_KINDS = ['lot', 'serial', 'job', 'container', 'shipment'] as const;
export type NodeKind = (typeof NODE_KINDS)[number];

export type GenealogyNode =
  | { readonly kind: 'lot'; readonly itemId: ItemId; readonly lot: Lot }
  | { readonly kind: 'serial'; readonly itemId: ItemId; readonly serial: Serial }
  | { readonly kind: 'job'; readonly jobId: JobId }
  | { readonly kind: 'container'; readonly positionId: PositionId }
  | { readonly kind: 'shipment'; readonly eventId: EventId };

/** A node as the API takes it (`?node=` in JSON, a query body). */
export const genealogyNodeSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('lot'), itemId: itemIdSchema, lot: lotSchema }),
  z.strictObject({ kind: z.literal('serial'), itemId: itemIdSchema, serial: serialSchema }),
  z.strictObject({ kind: z.literal('job'), jobId: jobIdSchema }),
  z.strictObject({ kind: z.literal('container'), positionId: positionIdSchema }),
  z.strictObject({ kind: z.literal('shipment'), eventId: eventIdSchema }),
]);

export const lotNode = (itemId: ItemId, lot: Lot): GenealogyNode => ({ kind: 'lot', itemId, lot });
export const serialNode = (itemId: ItemId, serial: Serial): GenealogyNode => ({
  kind: 'serial',
  itemId,
  serial,
});
export const jobNode = (jobId: JobId): GenealogyNode => ({ kind: 'job', jobId });
export const containerNode = (positionId: PositionId): GenealogyNode => ({
  kind: 'container',
  positionId,
});
export const shipmentNode = (eventId: EventId): GenealogyNode => ({ kind: 'shipment', eventId });

/** The node of a stock line's goods: its serial, else its lot, else none (untracked). */
export const goodsNode = (
  itemId: ItemId,
  lot: Lot | null | undefined,
  serial: Serial | null | undefined,
): GenealogyNode | null =>
  serial != null ? serialNode(itemId, serial) : lot != null ? lotNode(itemId, lot) : null;

/**
 * A node's key: `kind:part[:part]`. Parts are escaped — every UTF-16 unit outside
 * `[A-Za-z0-9_.~-]` becomes `%` and four hex digits — so a key is unambiguous, reversible
 * (`nodeOfKey`), total (a lone surrogate in a garbled scan cannot make the fold throw, as
 * `encodeURIComponent` would) and ASCII: JavaScript's string order, SQLite's BINARY collation
 * and ArangoDB's sort agree, so results ordered by key are the same from every adapter.
 * ArangoDB `_key`s are shorter and stricter: store the key as an indexed attribute (or hash it
 * into `_key`), not as `_key` itself.
 */
export type NodeKey = string;

const enc = (part: string): string =>
  part.replace(/[^A-Za-z0-9_.~-]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

const dec = (part: string): string =>
  part.includes('%')
    ? part.replace(/%([0-9a-f]{4})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    : part;

export function nodeKey(node: GenealogyNode): NodeKey {
  switch (node.kind) {
    case 'lot':
      return `lot:${enc(node.itemId)}:${enc(node.lot)}`;
    case 'serial':
      return `serial:${enc(node.itemId)}:${enc(node.serial)}`;
    case 'job':
      return `job:${enc(node.jobId)}`;
    case 'container':
      return `container:${enc(node.positionId)}`;
    case 'shipment':
      return `shipment:${enc(node.eventId)}`;
    default: {
      const unreachable: never = node;
      return unreachable;
    }
  }
}

/** A key's kind and one or two escaped parts, in one match (a recall decodes tens of thousands). */
const KEY_SHAPE =
  /^(lot|serial|job|container|shipment):((?:[A-Za-z0-9_.~-]|%[0-9a-f]{4})+)(?::((?:[A-Za-z0-9_.~-]|%[0-9a-f]{4})+))?$/;

/** The node a key names, or `undefined` for a malformed key (rows read back are a boundary). */
export function nodeOfKey(key: NodeKey): GenealogyNode | undefined {
  const m = KEY_SHAPE.exec(key);
  if (m === null) return undefined;
  const kind = m[1] as GenealogyNode['kind'];
  const a = dec(m[2] as string);
  const b = m[3] === undefined ? undefined : dec(m[3]);
  switch (kind) {
    case 'lot':
      return b !== undefined ? lotNode(asItemId(a), asLot(b)) : undefined;
    case 'serial':
      return b !== undefined ? serialNode(asItemId(a), asSerial(b)) : undefined;
    case 'job':
      return b === undefined ? jobNode(asJobId(a)) : undefined;
    case 'container':
      return b === undefined ? containerNode(asPositionId(a)) : undefined;
    case 'shipment':
      return b === undefined ? shipmentNode(asEventId(a)) : undefined;
    default:
      return undefined;
  }
}

// ─── Genealogy: links ───────────────────────────────────────────────────────────────────────

/**
 * Every link points the way the goods went: `from` went into `to`. So the ancestors of a node
 * are what went into it, its descendants where it went.
 *
 * - `consumed-into`: a lot or serial → the job that consumed it (`StockConsumed`);
 * - `produced`: a job → the lot or serial it produced (`StockProduced`);
 * - `contained-in`: a child serial → the parent serial it is assembled into (one link per
 *   assembly; a replaced one is kept, `status: 'replaced'`, with the replacement);
 * - `packed-on`: a lot or serial → a container it was put on, directly or inside another
 *   container (stock arriving on it, or its container moved onto it);
 * - `shipped-in`: a lot or serial → the shipment (`StockShipped`) that took it off the site,
 *   with where it was picked and the containers around it then.
 *
 * Containers and shipments have no outgoing links: a pallet is reused, so a path *through* it
 * would join goods that were never on it together. Each lot or serial is linked to every
 * container it was on and to every shipment that took it.
 */
export const LINK_KINDS = [
  'consumed-into',
  'produced',
  'contained-in',
  'packed-on',
  'shipped-in',
] as const;
export type LinkKind = (typeof LINK_KINDS)[number];

/**
 * - `active`: followed by queries;
 * - `replaced`: an assembly link swapped for another — history, followed only on request;
 * - `reversed`: every movement that made it was reversed — it did not happen; never followed.
 */
export const LINK_STATUSES = ['active', 'replaced', 'reversed'] as const;
export type LinkStatus = (typeof LINK_STATUSES)[number];

/** `kind|fromKey|toKey`, plus `|eventId` for an assembly (each assembly is its own link). */
export type LinkId = string;

export const linkIdOf = (kind: LinkKind, from: NodeKey, to: NodeKey, eventId?: EventId): LinkId =>
  `${kind}|${from}|${to}${eventId === undefined ? '' : `|${enc(eventId)}`}`;

export interface Replacement {
  /** The serial that took the old child's place. */
  readonly by: GenealogyNode;
  readonly reason: ReplacementReason;
  readonly note: string | null;
  readonly eventId: EventId;
}

/** Where shipped goods left from (a `shipped-in` link). */
export interface ShipmentInfo {
  /** The position they were picked from. */
  readonly from: PositionId;
  /** The containers around them as they left, innermost first. */
  readonly containers: readonly PositionId[];
  readonly listId: string | null;
  readonly lineNo: number | null;
}

export interface GenealogyLink {
  readonly id: LinkId;
  readonly kind: LinkKind;
  readonly from: GenealogyNode;
  readonly to: GenealogyNode;
  /** `nodeKey(from)`, `nodeKey(to)`: what adapters index and join on. */
  readonly fromKey: NodeKey;
  readonly toKey: NodeKey;
  /** Net quantity of `from` that went into `to` (reversals subtract); 1 for an assembly. */
  readonly quantity: number;
  /** The event that made the link, and the last one that changed it. */
  readonly eventId: EventId;
  readonly lastEventId: EventId;
  readonly status: LinkStatus;
  /** `contained-in` links that were replaced. */
  readonly replacement: Replacement | null;
  /** `shipped-in` links. */
  readonly shipment: ShipmentInfo | null;
}

/** Traversals follow active links, and replaced (assembly history) ones when asked. */
export const followsLink = (link: GenealogyLink, history: boolean): boolean =>
  link.status === 'active' || (history && link.status === 'replaced');

/**
 * What an event did to the graph and to a job's counters, kept per event: a reversal undoes
 * exactly what its movement did, and an event folded twice is recognized and counts once.
 */
export interface EventTrace {
  /** Links the event created or changed (not assemblies: they carry their event in their id). */
  readonly linkIds: readonly LinkId[];
  /** The job of a consumption or production. */
  readonly jobId: JobId | null;
  /** How much of the job's product the event added (a production), 0 otherwise. */
  readonly produced: number;
}

// ─── The read ports ─────────────────────────────────────────────────────────────────────────

/**
 * What the production deciders read besides inventory. Synchronous like `InventoryView`: the
 * server answers from inside its write transaction, the device from its replica. Every adapter
 * answers as if all events so far were folded with `evolveProduction` (the in-memory state
 * below is the reference).
 */
export interface ProductionView {
  productionJob(id: JobId): ProductionJob | undefined;
  /** Job codes are unique. */
  productionJobByCode(code: string): ProductionJob | undefined;
}

/**
 * One node's direct links, in both directions — all a traversal needs (`queries.ts`), so any
 * store can answer genealogy questions: SQLite with a recursive CTE over an index on each key,
 * ArangoDB with a traversal over an edge collection, the in-memory twin with a BFS. Links of
 * every status are returned; order is unspecified.
 */
export interface GenealogyLinks {
  /** Links whose `from` is the node: where it went. */
  linksFrom(key: NodeKey): readonly GenealogyLink[];
  /** Links whose `to` is the node: what went into it. */
  linksTo(key: NodeKey): readonly GenealogyLink[];
}

/** What `genealogyChangesOf` reads of production state (the whole-record lookups). */
export interface ProductionReadView extends ProductionView, GenealogyLinks {
  link(id: LinkId): GenealogyLink | undefined;
  /** What an event did, if it did anything; how a reversal finds what to undo. */
  trace(eventId: EventId): EventTrace | undefined;
}

// ─── The in-memory twin ─────────────────────────────────────────────────────────────────────

/**
 * Jobs and the genealogy graph, folded from the log, with the indexes the views need. Like
 * `InventoryState`, the fold owns it: `evolveProduction` updates it in place and returns it;
 * use `cloneProductionState` for an independent copy.
 */
export interface ProductionState {
  readonly jobs: Map<JobId, ProductionJob>;
  readonly codes: Map<string, JobId>;
  readonly links: Map<LinkId, GenealogyLink>;
  /** Node key → ids of links whose `from` is the node. */
  readonly from: Map<NodeKey, Set<LinkId>>;
  /** Node key → ids of links whose `to` is the node. */
  readonly to: Map<NodeKey, Set<LinkId>>;
  readonly traces: Map<EventId, EventTrace>;
}

export function initialProductionState(): ProductionState {
  return {
    jobs: new Map(),
    codes: new Map(),
    links: new Map(),
    from: new Map(),
    to: new Map(),
    traces: new Map(),
  };
}

const addToIndex = <K, V>(index: Map<K, Set<V>>, key: K, value: V) => {
  const set = index.get(key);
  if (set) set.add(value);
  else index.set(key, new Set([value]));
};

/** Applies one change in place. A link's ends never change, so indexes only grow. */
export function applyProductionChange(
  state: ProductionState,
  change: ProductionChange,
): ProductionState {
  switch (change.op) {
    case 'putJob': {
      const previous = state.jobs.get(change.job.id);
      if (previous && previous.code !== change.job.code) state.codes.delete(previous.code);
      state.jobs.set(change.job.id, change.job);
      state.codes.set(change.job.code, change.job.id);
      return state;
    }
    case 'putLink': {
      const l = change.link;
      if (!state.links.has(l.id)) {
        addToIndex(state.from, l.fromKey, l.id);
        addToIndex(state.to, l.toKey, l.id);
      }
      state.links.set(l.id, l);
      return state;
    }
    case 'putTrace':
      state.traces.set(change.eventId, change.trace);
      return state;
    default: {
      const unreachable: never = change;
      return unreachable;
    }
  }
}

const linksOf = (state: ProductionState, ids: Set<LinkId> | undefined): GenealogyLink[] => {
  if (!ids) return [];
  const out: GenealogyLink[] = [];
  for (const id of ids) {
    const l = state.links.get(id);
    if (l) out.push(l);
  }
  return out;
};

/** The in-memory state as the read view: the reference every storage adapter is tested against. */
export function productionViewOf(state: ProductionState): ProductionReadView {
  const job = (id: JobId) => state.jobs.get(id);
  return {
    productionJob: job,
    productionJobByCode: (code) => {
      const id = state.codes.get(code);
      return id === undefined ? undefined : job(id);
    },
    linksFrom: (key) => linksOf(state, state.from.get(key)),
    linksTo: (key) => linksOf(state, state.to.get(key)),
    link: (id) => state.links.get(id),
    trace: (eventId) => state.traces.get(eventId),
  };
}

/** What of inventory the genealogy fold reads: where positions are and what they hold. */
export type GenealogyInventoryView = Pick<InventoryView, 'position' | 'children' | 'linesAt'>;

/**
 * Folds one logged event into production state, in place. `inventory` is the inventory state
 * *before* the event — the same order the server follows: genealogy changes are computed first,
 * then the event's stock changes are applied (`changesOf` / `productionStockChangesOf`).
 * Events that concern neither jobs nor traced goods leave the state as it was.
 */
export function evolveProduction(
  state: ProductionState,
  inventory: GenealogyInventoryView,
  event: LoggedProductionEvent,
): ProductionState {
  const view: GenealogyChangeView = {
    ...productionViewOf(state),
    position: (id) => inventory.position(id),
    children: (id) => inventory.children(id),
    linesAt: (id) => inventory.linesAt(id),
  };
  for (const change of genealogyChangesOf(view, event)) applyProductionChange(state, change);
  return state;
}

/** An independent copy (maps and index sets copied; records are immutable and shared). */
export function cloneProductionState(state: ProductionState): ProductionState {
  const copyIndex = <K, V>(m: Map<K, Set<V>>) =>
    new Map([...m].map(([k, v]) => [k, new Set(v)] as const));
  return {
    jobs: new Map(state.jobs),
    codes: new Map(state.codes),
    links: new Map(state.links),
    from: copyIndex(state.from),
    to: copyIndex(state.to),
    traces: new Map(state.traces),
  };
}
