import { decide as decideInventory } from '../inventory/decide.js';
import type { InventoryEvent } from '../inventory/events.js';
import type { InventoryView, Item } from '../inventory/state.js';
import type {
  ConflictDraft,
  Decision,
  DraftEvent,
  FactMode,
  RejectionCode,
} from '../shared/decision.js';
import type { ItemId } from '../shared/ids.js';
import { qtyEquals, roundQty } from '../shared/quantity.js';
import type { Actor, Role } from '../shared/roles.js';
import { roleAllows } from '../shared/roles.js';
import type {
  JobId,
  ProductionCommand,
  ProductionCommandArgs,
  ProductionCommandName,
  SerialRef,
} from './commands.js';
import type { ProductionEvent } from './events.js';
import type { GenealogyLinks, ProductionJob, ProductionView } from './state.js';
import { nodeKey, serialNode } from './state.js';

// ─── Rejections ─────────────────────────────────────────────────────────────────────────────

/**
 * The rejection codes this module brought to `REJECTION_CODES` (their conflict kinds are in
 * `conflictKindForRejection` with every other code's).
 */
export const PRODUCTION_REJECTION_CODES = [
  'UNKNOWN_JOB',
  'JOB_NOT_RUNNING',
  'JOB_MISMATCH',
  'SERIAL_ASSEMBLED',
  'NOT_ASSEMBLED',
  'ASSEMBLY_CYCLE',
] as const satisfies readonly RejectionCode[];
export type ProductionRejectionCode = RejectionCode;

/** What a production decision may append: its own events, and inventory ones (a tote retired). */
export type ProductionDecisionEvent = ProductionEvent | InventoryEvent;

export type ProductionDecision<E extends DraftEvent = ProductionDecisionEvent> = Decision<E>;

/** Short-circuits a decider; always caught in `decideProductionCommand`, so callers see values. */
class Rejection extends Error {
  constructor(
    readonly code: ProductionRejectionCode,
    message: string,
  ) {
    super(message);
  }
}
const refuse = (code: ProductionRejectionCode, message: string): never => {
  throw new Rejection(code, message);
};

/** Drops `undefined` members so events carry no `"lot": undefined` noise. */
const compact = <T extends object>(o: T): T => {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as T;
};

// ─── The deciders ───────────────────────────────────────────────────────────────────────────

/** What the production deciders read: inventory, jobs and the assembly links. */
export type ProductionDecideView = InventoryView & ProductionView & GenealogyLinks;

export interface ProductionContext {
  readonly actor: Actor;
  /** How stock contradictions of a consumption or production are treated (see `FactMode`). */
  readonly mode: FactMode;
}

/** The least role per command: supervisors run jobs, operators work in them. */
export const PRODUCTION_ROLES: Readonly<Record<ProductionCommandName, Role>> = {
  createProductionJob: 'supervisor',
  startProductionJob: 'supervisor',
  completeProductionJob: 'supervisor',
  consumeForJob: 'operator',
  produceForJob: 'operator',
  assembleSerial: 'operator',
  replaceAssembly: 'operator',
};

type Decided = {
  readonly events: readonly ProductionDecisionEvent[];
  readonly conflicts: readonly ConflictDraft[];
};
type Decider<N extends ProductionCommandName> = (
  view: ProductionDecideView,
  args: ProductionCommandArgs<N>,
  ctx: ProductionContext,
) => Decided;

const only = (...events: ProductionDecisionEvent[]): Decided => ({ events, conflicts: [] });

function needJob(view: ProductionView, id: JobId): ProductionJob {
  return view.productionJob(id) ?? refuse('UNKNOWN_JOB', `unknown production job ${id}`);
}

function needItem(view: InventoryView, id: ItemId): Item {
  return view.item(id) ?? refuse('UNKNOWN_ITEM', `unknown item ${id}`);
}

/**
 * "Job must be RUNNING". A job not started yet is a wrong command; a completed one means the
 * device worked offline while the job was closed — a stale intent, recorded as a rejection with
 * its payload so a supervisor can re-apply it to another job (DOMAIN.md, "Sync and conflicts").
 */
function runningJob(view: ProductionView, id: JobId, what: 'consumed' | 'produced') {
  const job = needJob(view, id);
  switch (job.status) {
    case 'running':
      return job;
    case 'created':
      return refuse(
        'JOB_NOT_RUNNING',
        `job ${job.code} has not been started: nothing can be ${what} for it yet`,
      );
    case 'completed':
      return refuse(
        'STALE_INTENT',
        `job ${job.code} was completed meanwhile: nothing can be ${what} for it any more`,
      );
    default: {
      const unreachable: never = job.status;
      return unreachable;
    }
  }
}

const createProductionJob: Decider<'createProductionJob'> = (view, a) => {
  if (view.productionJob(a.jobId))
    refuse('STALE_INTENT', `production job ${a.jobId} already exists`);
  if (view.productionJobByCode(a.code))
    refuse('DUPLICATE_CODE', `a production job with code ${a.code} already exists`);
  const item = needItem(view, a.itemId);
  if (
    a.quantity !== undefined &&
    item.tracking === 'serial' &&
    !qtyEquals(a.quantity, Math.round(a.quantity))
  ) {
    refuse('SERIAL_QUANTITY', `${item.sku} is serialized: plan whole units, not ${a.quantity}`);
  }
  return only({
    type: 'ProductionJobCreated',
    data: compact({
      jobId: a.jobId,
      code: a.code,
      itemId: a.itemId,
      quantity: a.quantity === undefined ? undefined : roundQty(a.quantity),
      note: a.note || undefined,
    }),
  });
};

const startProductionJob: Decider<'startProductionJob'> = (view, a) => {
  const job = needJob(view, a.jobId);
  if (job.status !== 'created') refuse('STALE_INTENT', `job ${job.code} is already ${job.status}`);
  return only({ type: 'ProductionJobStarted', data: { jobId: job.id } });
};

const completeProductionJob: Decider<'completeProductionJob'> = (view, a) => {
  const job = needJob(view, a.jobId);
  if (job.status === 'created')
    refuse('JOB_NOT_RUNNING', `job ${job.code} was never started: start it before completing it`);
  if (job.status === 'completed') refuse('STALE_INTENT', `job ${job.code} is already completed`);
  return only({
    type: 'ProductionJobCompleted',
    data: compact({ jobId: job.id, note: a.note || undefined }),
  });
};

/*
 * Consuming and producing are stock movements with the inventory's own rules — tracking (lot
 * required, one unit per serial), real and unretired positions, negative stock and serials
 * elsewhere as conflicts in `record` mode and refusals in `strict` mode, a disposable container
 * retired once emptied. So they are decided *by the inventory decider*, as the movement they
 * equal at their position (a consumption takes stock away like a shipment, a production brings
 * it like a receipt), and the event is then recorded as what it is. One rule, not a copy.
 */

const consumeForJob: Decider<'consumeForJob'> = (view, a, ctx) => {
  const job = runningJob(view, a.jobId, 'consumed');
  const { jobId: _jobId, ...taking } = a;
  const stock = decideInventory(view, { name: 'shipStock', args: taking }, ctx);
  if (stock.kind === 'rejected') return refuse(stock.code, stock.message);
  const [taken, ...rest] = stock.events;
  if (taken?.type !== 'StockShipped') throw new Error('shipStock decided without StockShipped');
  const d = taken.data;
  return {
    events: [
      {
        type: 'StockConsumed',
        data: compact({
          jobId: job.id,
          itemId: d.itemId,
          from: d.from,
          quantity: d.quantity,
          lot: d.lot,
          serial: d.serial,
        }),
      },
      ...rest,
    ],
    conflicts: stock.conflicts,
  };
};

const produceForJob: Decider<'produceForJob'> = (view, a, ctx) => {
  const job = runningJob(view, a.jobId, 'produced');
  const item = needItem(view, a.itemId);
  if (item.id !== job.itemId) {
    const product = view.item(job.itemId)?.sku ?? job.itemId;
    refuse('JOB_MISMATCH', `job ${job.code} makes ${product}, not ${item.sku}`);
  }
  const { jobId: _jobId, to, ...bringing } = a;
  const stock = decideInventory(
    view,
    { name: 'receiveStock', args: { ...bringing, positionId: to } },
    ctx,
  );
  if (stock.kind === 'rejected') return refuse(stock.code, stock.message);
  const [made, ...rest] = stock.events;
  if (made?.type !== 'StockReceived') throw new Error('receiveStock decided without StockReceived');
  const d = made.data;
  return {
    events: [
      {
        type: 'StockProduced',
        data: compact({
          jobId: job.id,
          itemId: d.itemId,
          to: d.positionId,
          quantity: d.quantity,
          lot: d.lot,
          serial: d.serial,
          expiresOn: d.expiresOn,
        }),
      },
      ...rest,
    ],
    conflicts: stock.conflicts,
  };
};

// ─── Assembly ───────────────────────────────────────────────────────────────────────────────

const label = (view: InventoryView, ref: SerialRef) =>
  `serial ${ref.serial} of ${view.item(ref.itemId)?.sku ?? ref.itemId}`;

/** Both ends of an assembly are serials of serialized items. */
function serialItem(view: InventoryView, ref: SerialRef): Item {
  const item = needItem(view, ref.itemId);
  if (item.tracking !== 'serial')
    refuse('SERIAL_NOT_ALLOWED', `${item.sku} is not serialized: only serials are assembled`);
  return item;
}

/** The serial `ref` is assembled into now, if any (a serial is in one parent at a time). */
function parentOf(view: GenealogyLinks, ref: SerialRef): SerialRef | undefined {
  const link = view
    .linksFrom(nodeKey(serialNode(ref.itemId, ref.serial)))
    .find((l) => l.kind === 'contained-in' && l.status === 'active');
  return link?.to.kind === 'serial'
    ? { itemId: link.to.itemId, serial: link.to.serial }
    : undefined;
}

const same = (a: SerialRef, b: SerialRef) => a.itemId === b.itemId && a.serial === b.serial;

/** `child` may go into `parent`: it is in no parent, and `parent` is not inside `child`. */
function assemblable(view: ProductionDecideView, parent: SerialRef, child: SerialRef): void {
  serialItem(view, parent);
  serialItem(view, child);
  const current = parentOf(view, child);
  if (current && same(current, parent))
    refuse(
      'STALE_INTENT',
      `${label(view, child)} is already assembled into ${label(view, parent)}`,
    );
  if (current) {
    refuse(
      'SERIAL_ASSEMBLED',
      `${label(view, child)} is assembled into ${label(view, current)}: replace it there first`,
    );
  }
  // Walk up from the parent: a serial has at most one parent, so this is a chain.
  const seen = new Set<string>();
  for (let up: SerialRef | undefined = parent; up; up = parentOf(view, up)) {
    const key = nodeKey(serialNode(up.itemId, up.serial));
    if (seen.has(key)) break; // a corrupt cycle in the log must not hang a decision
    seen.add(key);
    if (same(up, child)) {
      refuse(
        'ASSEMBLY_CYCLE',
        `${label(view, parent)} is inside ${label(view, child)}: a serial cannot contain what contains it`,
      );
    }
  }
}

const assembleSerial: Decider<'assembleSerial'> = (view, a) => {
  assemblable(view, a.parent, a.child);
  return only({ type: 'SerialAssembled', data: { parent: a.parent, child: a.child } });
};

const replaceAssembly: Decider<'replaceAssembly'> = (view, a) => {
  const current = parentOf(view, a.oldChild);
  if (!current || !same(current, a.parent)) {
    refuse(
      'NOT_ASSEMBLED',
      `${label(view, a.oldChild)} is not assembled into ${label(view, a.parent)}`,
    );
  }
  assemblable(view, a.parent, a.newChild);
  return only({
    type: 'AssemblyReplaced',
    data: compact({
      parent: a.parent,
      oldChild: a.oldChild,
      newChild: a.newChild,
      reason: a.reason,
      note: a.note || undefined,
    }),
  });
};

const deciders: { readonly [N in ProductionCommandName]: Decider<N> } = {
  createProductionJob,
  startProductionJob,
  completeProductionJob,
  consumeForJob,
  produceForJob,
  assembleSerial,
  replaceAssembly,
};

/**
 * Decides a production command (args already parsed) against current state: role, then the
 * command's rules. Pure; never throws for a business reason. At integration, the replay sends
 * the commands of `productionCommandArgs` here with its mode for `PRODUCTION_PHYSICAL_FACTS`
 * and `strict` for the others.
 */
export function decideProductionCommand(
  view: ProductionDecideView,
  command: ProductionCommand,
  ctx: ProductionContext,
): ProductionDecision {
  const required = PRODUCTION_ROLES[command.name];
  if (!roleAllows(ctx.actor.role, required)) {
    return {
      kind: 'rejected',
      code: 'FORBIDDEN',
      message: `${command.name} needs the ${required} role; you are ${ctx.actor.role}`,
    };
  }
  try {
    const decider: Decider<ProductionCommandName> = deciders[command.name];
    const { events, conflicts } = decider(view, command.args, ctx);
    return { kind: 'accepted', events, conflicts };
  } catch (e) {
    if (e instanceof Rejection) return { kind: 'rejected', code: e.code, message: e.message };
    throw e;
  }
}
