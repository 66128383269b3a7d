import type { InventoryEvent } from '../inventory/events.js';
import { inventoryEventData } from '../inventory/events.js';
import type { InventoryView, StateChange } from '../inventory/state.js';
import { PRODUCTION } from '../inventory/state.js';
import type { EventId, ItemId, Lot, PositionId, Serial } from '../shared/ids.js';
import { asEventId } from '../shared/ids.js';
import { QTY_EPSILON, roundQty } from '../shared/quantity.js';
import type { JobId } from './commands.js';
import type { ProductionEvent } from './events.js';
import { isProductionEvent } from './events.js';
import type {
  EventTrace,
  GenealogyLink,
  GenealogyNode,
  LinkId,
  LinkKind,
  ProductionJob,
  ProductionReadView,
  ShipmentInfo,
} from './state.js';
import {
  containerNode,
  goodsNode,
  jobNode,
  linkIdOf,
  nodeKey,
  serialNode,
  shipmentNode,
} from './state.js';

/**
 * What an event does to production state, as primitive whole-record changes — the production
 * counterpart of the inventory's `changesOf` and the lists' `listChangesOf`. The in-memory fold
 * (`evolveProduction`) and every storage adapter apply exactly these, so the rule is written
 * once. Computed from the state *before* the event (production state and the inventory's
 * positions and stock), hence the view.
 *
 * Besides the production events, inventory events that carry a lot or serial shape the graph:
 *
 * | event | genealogy effect |
 * |---|---|
 * | `StockConsumed` | goods `consumed-into` the job |
 * | `StockProduced` | job `produced` the goods; goods `packed-on` every container around `to` |
 * | `StockReceived`, `StockMoved`, `StockAdjusted` (> 0), `MovementReversed` | goods `packed-on` every container around the destination |
 * | `ContainerMoved` | every traced line inside the container (any depth) `packed-on` each container it now enters |
 * | `StockShipped` | goods `shipped-in` the shipment (the event), with the pick position and the containers around it |
 * | `MovementReversed` | also subtracts its quantity from what the reversed movement linked (a link at 0 is `reversed`), and from the `produced` count of the job it names (`producedBy`) |
 * | `SerialAssembled`, `AssemblyReplaced` | `contained-in` links; a replaced one is kept, marked |
 *
 * Not derivable from events, so not in the graph: untracked items (no identity to trace), and
 * *when* goods left a container — a link says "was on it at some point". Which is why
 * containers and shipments are sinks (see `LINK_KINDS`): a path through a reused pallet would
 * join goods that were never on it together. A container that is not `fixed` is a container
 * here, whatever its kind.
 */

/** Any event of the log, as stored. Events that concern no job and no traced goods change nothing. */
export interface LoggedProductionEvent {
  readonly id: string;
  readonly type: string;
  readonly data: unknown;
}

export type ProductionChange =
  | { readonly op: 'putJob'; readonly job: ProductionJob }
  | { readonly op: 'putLink'; readonly link: GenealogyLink }
  | { readonly op: 'putTrace'; readonly eventId: EventId; readonly trace: EventTrace };

/** What computing the changes reads: production state, and where positions are and what they hold. */
export type GenealogyChangeView = ProductionReadView &
  Pick<InventoryView, 'position' | 'children' | 'linesAt'>;

const isInventoryEvent = (e: { readonly type: string }): e is InventoryEvent =>
  Object.hasOwn(inventoryEventData, e.type);

/**
 * The mobile positions around `positionId`, innermost first, itself included when it is one.
 * Guards against a corrupt cycle in the positions tree.
 */
export function containersAround(
  view: Pick<InventoryView, 'position'>,
  positionId: PositionId,
): PositionId[] {
  const out: PositionId[] = [];
  const seen = new Set<PositionId>();
  let p = view.position(positionId);
  while (p && !seen.has(p.id)) {
    seen.add(p.id);
    if (!p.fixed && !p.virtual) out.push(p.id);
    p = p.parentId === null ? undefined : view.position(p.parentId);
  }
  return out;
}

/** Traced stock lines at a position and everything inside it (positive quantities only). */
function tracedContents(
  view: Pick<InventoryView, 'children' | 'linesAt'>,
  root: PositionId,
): { node: GenealogyNode; quantity: number }[] {
  const out: { node: GenealogyNode; quantity: number }[] = [];
  const seen = new Set<PositionId>([root]);
  const queue: PositionId[] = [root];
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i] as PositionId;
    for (const line of view.linesAt(id)) {
      const node = goodsNode(line.itemId, line.lot, line.serial);
      if (node && line.quantity >= QTY_EPSILON) out.push({ node, quantity: line.quantity });
    }
    for (const child of view.children(id)) {
      if (seen.has(child.id)) continue;
      seen.add(child.id);
      queue.push(child.id);
    }
  }
  return out;
}

/**
 * The links one event writes, gathered before they are emitted: an event may touch the same
 * link twice (the same lot on two lines of a moved pallet), and the view does not see this
 * event's own changes.
 */
class Draft {
  private readonly links = new Map<LinkId, GenealogyLink>();
  readonly jobs = new Map<JobId, ProductionJob>();

  constructor(
    private readonly view: GenealogyChangeView,
    readonly eventId: EventId,
  ) {}

  link(id: LinkId): GenealogyLink | undefined {
    return this.links.get(id) ?? this.view.link(id);
  }

  private put(link: GenealogyLink): void {
    this.links.set(link.id, link);
  }

  /** Adds `quantity` to the link `from` → `to` (made when new); a link at 0 is reversed. */
  add(
    kind: LinkKind,
    from: GenealogyNode,
    to: GenealogyNode,
    quantity: number,
    shipment: ShipmentInfo | null = null,
  ): void {
    const fromKey = nodeKey(from);
    const toKey = nodeKey(to);
    const id = linkIdOf(kind, fromKey, toKey);
    const current = this.link(id);
    const total = roundQty((current?.quantity ?? 0) + quantity);
    this.put({
      id,
      kind,
      from,
      to,
      fromKey,
      toKey,
      quantity: total,
      eventId: current?.eventId ?? this.eventId,
      lastEventId: this.eventId,
      status:
        current?.status === 'replaced' ? 'replaced' : total >= QTY_EPSILON ? 'active' : 'reversed',
      replacement: current?.replacement ?? null,
      shipment: current?.shipment ?? shipment,
    });
  }

  /** Goods arriving at `positionId` were put on every container around it. */
  packedOn(node: GenealogyNode | null, positionId: PositionId, quantity: number): void {
    if (!node) return;
    for (const c of containersAround(this.view, positionId))
      this.add('packed-on', node, containerNode(c), quantity);
  }

  job(id: JobId): ProductionJob | undefined {
    return this.jobs.get(id) ?? this.view.productionJob(id);
  }

  /** The jobs and links written, and the trace, when the event did anything. */
  changes(trace: Omit<EventTrace, 'linkIds'>): ProductionChange[] {
    const out: ProductionChange[] = [];
    for (const job of this.jobs.values()) out.push({ op: 'putJob', job });
    for (const link of this.links.values()) out.push({ op: 'putLink', link });
    if (this.links.size > 0 || trace.jobId !== null) {
      out.push({
        op: 'putTrace',
        eventId: this.eventId,
        trace: { ...trace, linkIds: [...this.links.keys()] },
      });
    }
    return out;
  }
}

const NO_JOB: Omit<EventTrace, 'linkIds'> = { jobId: null, produced: 0 };

/**
 * The changes `event` makes to jobs and the genealogy graph, given the state before it. The log
 * is trusted (deciders are the gate): a duplicate creation, an unknown job, or an event folded
 * twice changes nothing, so a replay never throws.
 */
export function genealogyChangesOf(
  view: GenealogyChangeView,
  event: LoggedProductionEvent,
): ProductionChange[] {
  const production = isProductionEvent(event);
  if (!production && !(isInventoryEvent(event) && concernsGenealogy(event))) return [];
  const id = asEventId(event.id);
  // Every event that links or counts leaves a trace; seeing it again is a refold.
  if (view.trace(id)) return [];
  return production
    ? productionEventChanges(view, id, event)
    : inventoryEventChanges(view, id, event);
}

/**
 * Whether an inventory event can change the graph: traced goods (a lot or serial) arriving,
 * moving or leaving, a container moving, a reversal. Checked first: a scan of untracked goods
 * — most of a push — costs the replay nothing here, not even the trace lookup.
 */
function concernsGenealogy(e: InventoryEvent): boolean {
  switch (e.type) {
    case 'StockReceived':
    case 'StockMoved':
    case 'StockShipped':
      return goodsNode(e.data.itemId, e.data.lot, e.data.serial) !== null;
    case 'StockAdjusted':
      return e.data.delta > 0 && goodsNode(e.data.itemId, e.data.lot, e.data.serial) !== null;
    case 'ContainerMoved':
    case 'MovementReversed':
      return true;
    default:
      return false;
  }
}

function productionEventChanges(
  view: GenealogyChangeView,
  id: EventId,
  e: ProductionEvent,
): ProductionChange[] {
  const draft = new Draft(view, id);
  switch (e.type) {
    case 'ProductionJobCreated': {
      const d = e.data;
      if (view.productionJob(d.jobId) || view.productionJobByCode(d.code)) return [];
      const job: ProductionJob = {
        id: d.jobId,
        code: d.code,
        itemId: d.itemId,
        planned: d.quantity ?? null,
        status: 'created',
        produced: 0,
        note: d.note ?? null,
        completionNote: null,
      };
      return [{ op: 'putJob', job }];
    }
    case 'ProductionJobStarted': {
      const job = view.productionJob(e.data.jobId);
      return job?.status === 'created'
        ? [{ op: 'putJob', job: { ...job, status: 'running' } }]
        : [];
    }
    case 'ProductionJobCompleted': {
      const job = view.productionJob(e.data.jobId);
      if (!job || job.status === 'completed') return [];
      const completionNote = e.data.note ?? null;
      return [{ op: 'putJob', job: { ...job, status: 'completed', completionNote } }];
    }
    case 'StockConsumed': {
      const d = e.data;
      const goods = goodsNode(d.itemId, d.lot, d.serial);
      if (goods) draft.add('consumed-into', goods, jobNode(d.jobId), d.quantity);
      return draft.changes({ jobId: d.jobId, produced: 0 });
    }
    case 'StockProduced': {
      const d = e.data;
      const goods = goodsNode(d.itemId, d.lot, d.serial);
      if (goods) draft.add('produced', jobNode(d.jobId), goods, d.quantity);
      draft.packedOn(goods, d.to, d.quantity);
      const job = draft.job(d.jobId);
      if (job) draft.jobs.set(job.id, { ...job, produced: roundQty(job.produced + d.quantity) });
      return draft.changes({ jobId: d.jobId, produced: d.quantity });
    }
    case 'SerialAssembled': {
      const { parent, child } = e.data;
      return assembly(draft, serialNode(child.itemId, child.serial), parent);
    }
    case 'AssemblyReplaced': {
      const d = e.data;
      const parentKey = nodeKey(serialNode(d.parent.itemId, d.parent.serial));
      const oldKey = nodeKey(serialNode(d.oldChild.itemId, d.oldChild.serial));
      const by = serialNode(d.newChild.itemId, d.newChild.serial);
      const created = assembly(draft, by, d.parent);
      if (created.length === 0) return [];
      const replaced: ProductionChange[] = view
        .linksTo(parentKey)
        .filter((l) => l.kind === 'contained-in' && l.status === 'active' && l.fromKey === oldKey)
        .map((l) => ({
          op: 'putLink',
          link: {
            ...l,
            status: 'replaced',
            lastEventId: id,
            replacement: { by, reason: d.reason, note: d.note ?? null, eventId: id },
          },
        }));
      return [...replaced, ...created];
    }
    default: {
      const unreachable: never = e;
      return unreachable;
    }
  }
}

/** A `contained-in` link of its own (its id carries the event), so history is never overwritten. */
function assembly(
  draft: Draft,
  child: GenealogyNode,
  parent: { readonly itemId: ItemId; readonly serial: Serial },
): ProductionChange[] {
  const to = serialNode(parent.itemId, parent.serial);
  const fromKey = nodeKey(child);
  const toKey = nodeKey(to);
  const id = linkIdOf('contained-in', fromKey, toKey, draft.eventId);
  if (draft.link(id)) return [];
  const link: GenealogyLink = {
    id,
    kind: 'contained-in',
    from: child,
    to,
    fromKey,
    toKey,
    quantity: 1,
    eventId: draft.eventId,
    lastEventId: draft.eventId,
    status: 'active',
    replacement: null,
    shipment: null,
  };
  return [{ op: 'putLink', link }];
}

function inventoryEventChanges(
  view: GenealogyChangeView,
  id: EventId,
  e: InventoryEvent,
): ProductionChange[] {
  const draft = new Draft(view, id);
  switch (e.type) {
    case 'StockReceived': {
      const d = e.data;
      draft.packedOn(goodsNode(d.itemId, d.lot, d.serial), d.positionId, d.quantity);
      return draft.changes(NO_JOB);
    }
    case 'StockMoved': {
      const d = e.data;
      draft.packedOn(goodsNode(d.itemId, d.lot, d.serial), d.to, d.quantity);
      return draft.changes(NO_JOB);
    }
    case 'StockAdjusted': {
      const d = e.data;
      if (d.delta > 0) draft.packedOn(goodsNode(d.itemId, d.lot, d.serial), d.positionId, d.delta);
      return draft.changes(NO_JOB);
    }
    case 'StockShipped': {
      const d = e.data;
      const goods = goodsNode(d.itemId, d.lot, d.serial);
      if (goods) {
        draft.add('shipped-in', goods, shipmentNode(id), d.quantity, {
          from: d.from,
          containers: containersAround(view, d.from),
          listId: d.listId ?? null,
          lineNo: d.lineNo ?? null,
        });
      }
      return draft.changes(NO_JOB);
    }
    case 'ContainerMoved': {
      const d = e.data;
      // Goods in the container are already linked to the containers around it; they enter
      // those around the destination that were not around it before.
      const before = new Set(containersAround(view, d.from));
      const entered = containersAround(view, d.to).filter(
        (c) => !before.has(c) && c !== d.containerId,
      );
      if (entered.length === 0) return [];
      for (const { node, quantity } of tracedContents(view, d.containerId)) {
        for (const c of entered) draft.add('packed-on', node, containerNode(c), quantity);
      }
      return draft.changes(NO_JOB);
    }
    case 'MovementReversed': {
      const d = e.data;
      const undone = view.trace(d.movementId);
      const jobId = undone?.jobId ?? d.producedBy ?? null;
      for (const linkId of undone?.linkIds ?? []) {
        const link = draft.link(linkId);
        if (link) draft.add(link.kind, link.from, link.to, -d.quantity);
      }
      // The event names the job whose production it undoes; an older one leaves it to the trace.
      const producedBy = d.producedBy ?? (undone && undone.produced > 0 ? undone.jobId : null);
      if (producedBy !== null) {
        const job = draft.job(producedBy);
        if (job) draft.jobs.set(job.id, { ...job, produced: roundQty(job.produced - d.quantity) });
      }
      // The goods go back where they came from: onto its containers again, if any.
      draft.packedOn(goodsNode(d.itemId, d.lot, d.serial), d.to, d.quantity);
      return draft.changes({ jobId, produced: 0 });
    }
    case 'ItemDefined':
    case 'PositionDefined':
    case 'PositionRetired':
      return [];
    default: {
      const unreachable: never = e;
      return unreachable;
    }
  }
}

// ─── Stock: the inventory effect of consuming and producing ─────────────────────────────────

/** A production event as stored: the log gives it its id. */
export type IdentifiedProductionEvent = ProductionEvent & { readonly id: EventId };

/**
 * The inventory changes of a production event, in the inventory's own primitives: a
 * consumption takes stock from a position to PRODUCTION, a production puts stock from
 * PRODUCTION on a position; both are movements (`consumption`, `production`) that
 * `reverseMovement` can undo. Other events: none. To wire into `changesOf` at integration;
 * until then every fold applies these next to `changesOf`.
 */
export function productionStockChangesOf(event: LoggedProductionEvent): StateChange[] {
  if (!isProductionEvent(event)) return [];
  const e = event as ProductionEvent;
  const id = asEventId(event.id);
  switch (e.type) {
    case 'StockConsumed': {
      const d = e.data;
      return [
        stock(d.itemId, d.from, d.lot, d.serial, -d.quantity),
        movement(id, 'consumption', d, d.from, PRODUCTION),
      ];
    }
    case 'StockProduced': {
      const d = e.data;
      const changes: StateChange[] = [
        stock(d.itemId, d.to, d.lot, d.serial, d.quantity),
        movement(id, 'production', d, PRODUCTION, d.to),
      ];
      if (d.lot !== undefined) {
        changes.push({
          op: 'putLot',
          lot: { itemId: d.itemId, lot: d.lot, expiresOn: d.expiresOn ?? null },
        });
      }
      return changes;
    }
    case 'ProductionJobCreated':
    case 'ProductionJobStarted':
    case 'ProductionJobCompleted':
    case 'SerialAssembled':
    case 'AssemblyReplaced':
      return [];
    default: {
      const unreachable: never = e;
      return unreachable;
    }
  }
}

const stock = (
  itemId: ItemId,
  positionId: PositionId,
  lot: Lot | undefined,
  serial: Serial | undefined,
  delta: number,
): StateChange => ({
  op: 'addStock',
  itemId,
  positionId,
  lot: lot ?? null,
  serial: serial ?? null,
  delta,
});

const movement = (
  id: EventId,
  type: 'consumption' | 'production',
  d: {
    readonly itemId: ItemId;
    readonly quantity: number;
    readonly lot?: Lot | undefined;
    readonly serial?: Serial | undefined;
  },
  from: PositionId,
  to: PositionId,
): StateChange => ({
  op: 'putMovement',
  movement: {
    id,
    type,
    itemId: d.itemId,
    from,
    to,
    quantity: d.quantity,
    lot: d.lot ?? null,
    serial: d.serial ?? null,
    reversedQuantity: 0,
    reversedBy: null,
  },
});
