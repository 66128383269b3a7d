import type { z } from 'zod';
import type { InventoryCommand } from '../inventory/commands.js';
import { inventoryCommandArgs } from '../inventory/commands.js';
import type { InventoryDecision } from '../inventory/decide.js';
import { INVENTORY_ROLES, decide as decideInventory } from '../inventory/decide.js';
import type { InventoryEvent } from '../inventory/events.js';
import { inventoryEventData } from '../inventory/events.js';
import type { InventoryView } from '../inventory/state.js';
import { changesOf } from '../inventory/state.js';
import type { ConflictKind, Decision, FactMode, RejectionCode } from '../shared/decision.js';
import { conflictText } from '../shared/conflict-text.js';
import { accept, conflictKindForRejection, reject } from '../shared/decision.js';
import type { ConflictId, PositionId, Serial } from '../shared/ids.js';
import { asEventId } from '../shared/ids.js';
import type { Actor, Role } from '../shared/roles.js';
import { roleAllows } from '../shared/roles.js';
import type { SyncCommand } from './commands.js';
import { syncCommandArgs } from './commands.js';
import type { RecordedMutation, SyncEvent } from './events.js';
import type { ListCommand } from '../lists/commands.js';
import { listCommandArgs } from '../lists/commands.js';
import { LIST_ROLES, checkListedCommand, decideListCommand } from '../lists/decide.js';
import type { ListEvent } from '../lists/events.js';
import type { ListsView } from '../lists/state.js';
import type { ProductionCommand } from '../production/commands.js';
import { PRODUCTION_PHYSICAL_FACTS, productionCommandArgs } from '../production/commands.js';
import { PRODUCTION_ROLES, decideProductionCommand } from '../production/decide.js';
import { productionStockChangesOf } from '../production/changes.js';
import type { ProductionEvent } from '../production/events.js';
import type { GenealogyLinks, ProductionReadView, ProductionView } from '../production/state.js';
import type { CountingReadView } from '../counting/changes.js';
import type { CountingCommand } from '../counting/commands.js';
import { COUNTING_FACTS, countingCommandArgs } from '../counting/commands.js';
import { COUNTING_ROLES, decideCountingCommand } from '../counting/decide.js';
import type { CountingEvent } from '../counting/events.js';

/** Every command the replay knows: name → args schema. Names are a public API. */
export const COMMANDS = {
  ...inventoryCommandArgs,
  ...listCommandArgs,
  ...productionCommandArgs,
  ...countingCommandArgs,
  ...syncCommandArgs,
} as const;
export type CommandName = keyof typeof COMMANDS;
export type Command =
  InventoryCommand | ListCommand | ProductionCommand | CountingCommand | SyncCommand;
export type DomainEvent = InventoryEvent | ListEvent | ProductionEvent | CountingEvent | SyncEvent;

export const COMMAND_ROLES: Readonly<Record<CommandName, Role>> = {
  ...INVENTORY_ROLES,
  ...LIST_ROLES,
  ...PRODUCTION_ROLES,
  ...COUNTING_ROLES,
  resolveConflict: 'admin',
};

const isProductionCommand = (c: Command): c is ProductionCommand =>
  Object.hasOwn(productionCommandArgs, c.name);

const isListCommand = (c: Command): c is ListCommand => Object.hasOwn(listCommandArgs, c.name);

const isCountingCommand = (c: Command): c is CountingCommand =>
  Object.hasOwn(countingCommandArgs, c.name);

/** Commands that report what happened on the floor (contradictions become conflicts). */
export const PHYSICAL_FACTS: ReadonlySet<CommandName> = new Set<CommandName>([
  ...PRODUCTION_PHYSICAL_FACTS,
  ...COUNTING_FACTS,
  'receiveStock',
  'moveStock',
  'moveContainer',
  'shipStock',
  'adjustStock',
]);

export const isCommandName = (name: string): name is CommandName => Object.hasOwn(COMMANDS, name);

const describeIssues = (error: z.ZodError): string =>
  error.issues
    .slice(0, 5)
    .map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ');

export type ParsedCommand =
  | { readonly ok: true; readonly command: Command }
  | { readonly ok: false; readonly code: RejectionCode; readonly message: string };

/**
 * The message for a name that is no command. Any string may arrive as a name: the message
 * (kept in the rejection and its conflict) quotes at most 64 characters of it.
 */
const unknownCommand = (name: string): string =>
  `unknown command "${name.length > 64 ? `${name.slice(0, 64)}…` : name}"`;

/** Validates a mutation's name and args. Shared by the device (before queueing) and the server. */
export function parseCommand(name: string, args: unknown): ParsedCommand {
  if (!isCommandName(name))
    return { ok: false, code: 'UNKNOWN_COMMAND', message: unknownCommand(name) };
  const parsed = COMMANDS[name].safeParse(args);
  if (!parsed.success) {
    return {
      ok: false,
      code: 'VALIDATION_FAILED',
      message: `${name}: ${describeIssues(parsed.error)}`,
    };
  }
  return { ok: true, command: { name, args: parsed.data } as Command };
}

// ─── Conflicts as the replay sees them ──────────────────────────────────────────────────────

export interface ConflictRecord {
  readonly id: ConflictId;
  readonly kind: ConflictKind;
  readonly status: 'open' | 'resolved';
  /** The mutation that opened it (for `reapply`), when there is one. */
  readonly mutation: RecordedMutation | null;
  /** What it is about (a serial conflict: `itemId` and `serial`). */
  readonly detail: Readonly<Record<string, unknown>>;
}

/**
 * Where a serial conflict's serial is in stock — now, or once `after` (a resolution's own
 * events) has happened — when that is more than one place (or more than one unit): resolving
 * such a conflict would leave a serial in two places with nothing open about it. Empty when the
 * conflict is of another kind or the serial is (or will be) in one place.
 */
function serialStillDoubled(
  view: ReplayView,
  conflict: ConflictRecord,
  after: readonly DomainEvent[] = [],
): string[] {
  if (conflict.kind !== 'serial-elsewhere') return [];
  const { itemId, serial } = conflict.detail;
  if (typeof itemId !== 'string' || typeof serial !== 'string') return [];
  const held = new Map<string, number>();
  for (const l of view.linesWithSerial(serial as Serial))
    if (l.itemId === itemId) held.set(l.positionId, (held.get(l.positionId) ?? 0) + l.quantity);
  for (const e of after) {
    // Inventory events, and what production consumes or makes (a re-applied `produceForJob`).
    const changes =
      e.type in inventoryEventData
        ? changesOf({ ...(e as InventoryEvent), id: asEventId('resolution') })
        : productionStockChangesOf({ ...e, id: 'resolution' });
    for (const c of changes)
      if (c.op === 'addStock' && c.itemId === itemId && c.serial === serial)
        held.set(c.positionId, (held.get(c.positionId) ?? 0) + c.delta);
  }
  const where = [...held].filter(([, q]) => q > 0);
  if (where.length < 2 && where.every(([, q]) => q <= 1)) return [];
  return where.map(([p, q]) => {
    const code = view.position(p as PositionId)?.code ?? p;
    return q > 1 ? `${code} (×${q})` : code;
  });
}

/**
 * What the replay needs besides inventory: lists, production jobs and assembly links, counting
 * sessions, and conflicts for `resolveConflict`.
 */
export interface ReplayView
  extends
    InventoryView,
    ListsView,
    ProductionView,
    GenealogyLinks,
    Pick<ProductionReadView, 'trace'>,
    CountingReadView {
  conflict(id: ConflictId): ConflictRecord | undefined;
}

export interface ReplayContext {
  readonly actor: Actor;
  /**
   * `record` when replaying what devices pushed (the server, the device's own overlay);
   * `strict` for a check before something happens. Intents are always checked strictly.
   */
  readonly mode: FactMode;
}

export type ReplayDecision = Decision<DomainEvent>;

/**
 * An inventory or list command, decided: list commands by the lists' decider; a movement that
 * names a list line is checked against the line first (a difference from the plan is recorded
 * by the fold), then decided as inventory.
 *
 * A reference that does not fit (an unknown list or line, another item, a list closed
 * meanwhile) is refused when checked before the fact (`strict`). Replaying what happened on the
 * floor (`record`), the goods did move: the movement is recorded without the list reference,
 * and a conflict names the reference, so stock is right and a supervisor sees the scan that
 * belongs to no list line. (Half a reference is malformed: refused in both modes.)
 */
function decideCommand(
  view: ReplayView,
  command: InventoryCommand | ListCommand | ProductionCommand | CountingCommand,
  ctx: { readonly actor: Actor; readonly mode: FactMode },
): ReplayDecision {
  if (isListCommand(command)) return decideListCommand(view, command, { actor: ctx.actor });
  if (isCountingCommand(command)) return decideCountingCommand(view, command, ctx);
  if (isProductionCommand(command)) return decideProductionCommand(view, command, ctx);
  const check = checkListedCommand(view, command);
  if (check?.kind === 'rejected') {
    const fact = ctx.mode === 'record' && PHYSICAL_FACTS.has(command.name);
    if (!fact || check.code === 'VALIDATION_FAILED') return reject(check.code, check.message);
    const { listId, lineNo, ...args } = command.args as {
      readonly listId?: string;
      readonly lineNo?: number;
    };
    const bare = decideInventory(view, { name: command.name, args } as InventoryCommand, ctx);
    if (bare.kind === 'rejected') return bare;
    return accept<DomainEvent>(bare.events, [
      ...bare.conflicts,
      {
        kind: conflictKindForRejection(check.code),
        key: `list-line/${listId ?? ''}/${lineNo ?? ''}`,
        message: `${check.message}: the movement is recorded without the list line`,
        detail: {
          listId,
          lineNo,
          code: check.code,
          text: conflictText('LIST_LINE_DROPPED', { reason: check.message }),
        },
      },
    ]);
  }
  const decision: InventoryDecision = decideInventory(view, command, ctx);
  return decision.kind === 'accepted' && command.name === 'reverseMovement'
    ? accept(
        decision.events.map((e) => namingProducingJob(view, e)),
        decision.conflicts,
      )
    : decision;
}

/**
 * A reversal of a job's production names the job (`producedBy`): the job's `produced` count
 * drops with it, and a device folds that from the event alone — it has no trace of a production
 * it did not see.
 */
function namingProducingJob(view: ReplayView, e: InventoryEvent): InventoryEvent {
  if (e.type !== 'MovementReversed') return e;
  const undone = view.trace(e.data.movementId);
  if (!undone || undone.produced <= 0 || undone.jobId === null) return e;
  return { type: e.type, data: { ...e.data, producedBy: undone.jobId } };
}

function decideResolveConflict(
  view: ReplayView,
  args: SyncCommand['args'],
  ctx: ReplayContext,
): ReplayDecision {
  const conflict = view.conflict(args.conflictId);
  if (!conflict) return reject('UNKNOWN_CONFLICT', `no conflict ${args.conflictId}`);
  if (conflict.status !== 'open')
    return reject('STALE_INTENT', `conflict ${conflict.id} is already resolved`);
  const resolved = (command?: { name: string; args: unknown }): SyncEvent => ({
    type: 'ConflictResolved',
    data: {
      conflictId: conflict.id,
      action: args.action,
      note: args.note,
      ...(command ? { command } : {}),
    },
  });
  switch (args.action) {
    case 'accept':
    case 'dismiss': {
      const where = serialStillDoubled(view, conflict);
      if (where.length > 0) {
        return reject(
          'SERIAL_ELSEWHERE',
          `serial ${String(conflict.detail['serial'])} is still in stock at ${where.join(', ')}: ` +
            `${args.action === 'accept' ? 'accepting' : 'dismissing'} would leave it in two places; ` +
            'compensate (take it out where it is not) or move it first',
        );
      }
      return accept([resolved()]);
    }
    case 'compensate':
    case 'reapply': {
      let name: string;
      let commandArgs: unknown;
      if (args.action === 'compensate') {
        const given = args.args?.['name'];
        name = typeof given === 'string' ? given : '';
        commandArgs = args.args?.['args'];
      } else {
        if (!conflict.mutation)
          return reject('VALIDATION_FAILED', `conflict ${conflict.id} has no mutation to re-apply`);
        name = conflict.mutation.name;
        commandArgs = args.args;
      }
      const parsed = parseCommand(name, commandArgs);
      if (!parsed.ok) return reject(parsed.code, `${args.action}: ${parsed.message}`);
      if (parsed.command.name === 'resolveConflict') {
        return reject('VALIDATION_FAILED', `${args.action} cannot run another resolveConflict`);
      }
      // A compensation is the admin's own correction: checked strictly. A re-application is
      // the original floor fact with corrected arguments: recorded like the original.
      const inner = decideCommand(view, parsed.command, {
        actor: ctx.actor,
        mode: args.action === 'compensate' ? 'strict' : 'record',
      });
      if (inner.kind === 'rejected') return reject(inner.code, `${args.action}: ${inner.message}`);
      const still = serialStillDoubled(view, conflict, inner.events);
      if (still.length > 0) {
        return reject(
          'SERIAL_ELSEWHERE',
          `${args.action}: serial ${String(conflict.detail['serial'])} would still be in stock at ${still.join(', ')}; ` +
            'it must be in one place once the conflict is resolved',
        );
      }
      return accept<DomainEvent>(
        [resolved({ name: parsed.command.name, args: parsed.command.args }), ...inner.events],
        inner.conflicts,
      );
    }
    default: {
      const unreachable: never = args.action;
      return unreachable;
    }
  }
}

/**
 * What a device refuses at the scan, before anything is queued, beyond what the replay itself
 * refuses: a receipt of a serial its own replica holds in stock — scenario 13, a serial in
 * stock "cannot be received again" (move it from where it is recorded instead). The server
 * still records the same receipt with a `serial-elsewhere` conflict when the device could not
 * know (it scanned offline, and another device received the serial meanwhile): then the goods
 * did arrive, and both facts are kept for an admin.
 */
export function decideAtScan(name: string, decision: ReplayDecision): ReplayDecision {
  if (name !== 'receiveStock' || decision.kind !== 'accepted') return decision;
  const inStock = decision.conflicts.find((c) => c.kind === 'serial-elsewhere');
  return inStock ? reject('SERIAL_ELSEWHERE', inStock.message) : decision;
}

/**
 * The one replay rule, run by the server for every pushed mutation and by the device for
 * its own queue: unknown command → role → args → the module's decider. Pure.
 *
 * Physical facts are decided in `ctx.mode`; intents (definitions, reversals, resolutions)
 * are always strict — an intent that no longer fits state is refused, never recorded.
 */
export function decideMutation(
  view: ReplayView,
  mutation: { readonly name: string; readonly args: unknown },
  ctx: ReplayContext,
): ReplayDecision {
  if (!isCommandName(mutation.name))
    return reject('UNKNOWN_COMMAND', unknownCommand(mutation.name));
  const required = COMMAND_ROLES[mutation.name];
  if (!roleAllows(ctx.actor.role, required)) {
    return reject(
      'FORBIDDEN',
      `${mutation.name} needs the ${required} role; you are ${ctx.actor.role}`,
    );
  }
  const parsed = parseCommand(mutation.name, mutation.args);
  if (!parsed.ok) return reject(parsed.code, parsed.message);
  const command = parsed.command;
  if (command.name === 'resolveConflict') return decideResolveConflict(view, command.args, ctx);
  const mode: FactMode = PHYSICAL_FACTS.has(command.name) ? ctx.mode : 'strict';
  return decideCommand(view, command, { actor: ctx.actor, mode });
}

/** The event that records a rejected mutation in the log, with its full payload. */
export function rejectionEvent(
  mutation: RecordedMutation,
  decision: { readonly code: RejectionCode; readonly message: string },
): SyncEvent {
  return {
    type: 'MutationRejected',
    data: {
      mutation,
      code: decision.code,
      message: decision.message,
      conflictKind: conflictKindForRejection(decision.code),
    },
  };
}
