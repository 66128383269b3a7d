import type {
  CountRecord,
  CountSession,
  CountingState,
  InventoryState,
  Item,
  ListLine,
  ListsState,
  MovementList,
  Position,
  ProductionJob,
  StockLine,
} from '@floorsync/domain';
import { LIST_TYPES, currentCounts, hasVariance, linesOf } from '@floorsync/domain';
import type { Prng } from './prng.js';

/**
 * What people on the floor do, decided from what their device shows (the overlay: confirmed
 * state plus their own pending scans) — so scans are mostly sensible and sometimes stale, the
 * way they are when several offline devices work the same stock.
 */
export interface Command {
  readonly name: string;
  readonly args: Record<string, unknown>;
}

export interface FloorContext {
  readonly prng: Prng;
  readonly state: InventoryState;
  readonly counting: CountingState;
  readonly lists: ListsState;
  /** Live production jobs (created or running), as the device has them. */
  readonly jobs: ReadonlyMap<string, ProductionJob>;
  /**
   * What the floor does: 1, the first workload (stock, containers, counting, reversals); 2
   * adds movement lists (a supervisor creates, assigns and closes receipt, shipment and
   * transfer lists; operators confirm their lines); 3 adds production jobs (a supervisor
   * creates, starts and completes them; operators consume components, produce the product
   * and assemble serials). Seeds keep their runs within a version.
   */
  readonly workload: 1 | 2 | 3;
  readonly userId: string;
  /** Operators' user ids (whom a supervisor assigns counts to). */
  readonly operators: readonly string[];
  /** Fresh ids and codes (seeded). */
  readonly newId: () => string;
  readonly serial: () => string;
  readonly code: (prefix: string) => string;
}

export const LOTS = ['L1', 'L2', 'L3'] as const;
const ADJUST_REASONS = ['damaged', 'lost', 'found', 'sample', 'scrap', 'other'] as const;

const stockPositions = (s: InventoryState): Position[] =>
  [...s.positions.values()].filter((p) => !p.virtual && !p.retired && p.kind !== 'site');
const bins = (s: InventoryState): Position[] =>
  stockPositions(s).filter((p) => p.kind === 'bin' || p.kind === 'zone');
const containers = (s: InventoryState): Position[] =>
  stockPositions(s).filter((p) => p.kind === 'container');
const items = (s: InventoryState): Item[] => [...s.items.values()];
const positiveLines = (s: InventoryState): StockLine[] =>
  [...s.stock.values()].filter((l) => l.quantity > 0);
const anyLines = (s: InventoryState): StockLine[] => [...s.stock.values()];

const lineRef = (l: StockLine) => ({
  ...(l.lot !== null ? { lot: l.lot } : {}),
  ...(l.serial !== null ? { serial: l.serial } : {}),
});

/** Quantity to take from a line: mostly what is there or less; sometimes more (stale view). */
function takeFrom(c: FloorContext, l: StockLine): number {
  if (l.serial !== null) return 1;
  const have = Math.max(1, Math.floor(l.quantity));
  return c.prng.chance(0.1) ? have + c.prng.int(1, 5) : c.prng.int(1, have);
}

/** A line to take from: a positive one usually, any line the device knows sometimes. */
function sourceLine(c: FloorContext): StockLine | undefined {
  const positive = positiveLines(c.state);
  const pool = positive.length > 0 && c.prng.chance(0.9) ? positive : anyLines(c.state);
  return pool.length > 0 ? c.prng.pick(pool) : undefined;
}

export function receive(c: FloorContext): Command | undefined {
  const all = items(c.state);
  const to = stockPositions(c.state);
  if (all.length === 0 || to.length === 0) return undefined;
  const item = c.prng.pick(all);
  const positionId = c.prng.pick(to).id;
  switch (item.tracking) {
    case 'serial': {
      // Mostly a new serial; sometimes one already in stock (a mis-scan, or a return).
      const known = anyLines(c.state).filter((l) => l.itemId === item.id && l.serial !== null);
      const serial =
        known.length > 0 && c.prng.chance(0.08)
          ? (c.prng.pick(known).serial as string)
          : c.serial();
      return { name: 'receiveStock', args: { itemId: item.id, positionId, quantity: 1, serial } };
    }
    case 'lot':
      return {
        name: 'receiveStock',
        args: {
          itemId: item.id,
          positionId,
          quantity: c.prng.int(1, 24),
          lot: c.prng.pick(LOTS),
          ...(c.prng.chance(0.5) ? { expiresOn: '2027-06-30' } : {}),
        },
      };
    case 'none':
      return {
        name: 'receiveStock',
        args: { itemId: item.id, positionId, quantity: c.prng.int(1, 40) },
      };
  }
}

export function move(c: FloorContext): Command | undefined {
  const l = sourceLine(c);
  if (!l) return undefined;
  const targets = stockPositions(c.state).filter((p) => p.id !== l.positionId);
  if (targets.length === 0) return undefined;
  return {
    name: 'moveStock',
    args: {
      itemId: l.itemId,
      from: l.positionId,
      to: c.prng.pick(targets).id,
      quantity: takeFrom(c, l),
      ...lineRef(l),
    },
  };
}

export function moveContainer(c: FloorContext): Command | undefined {
  const mobile = containers(c.state);
  if (mobile.length === 0) return undefined;
  const container = c.prng.pick(mobile);
  // Into a bin mostly; into another container (nesting, a cycle now and then) sometimes.
  const pool = c.prng.chance(0.8) ? bins(c.state) : mobile;
  const targets = pool.filter((p) => p.id !== container.parentId);
  if (targets.length === 0) return undefined;
  return {
    name: 'moveContainer',
    args: { containerId: container.id, to: c.prng.pick(targets).id },
  };
}

export function ship(c: FloorContext): Command | undefined {
  const l = sourceLine(c);
  if (!l) return undefined;
  return {
    name: 'shipStock',
    args: { itemId: l.itemId, from: l.positionId, quantity: takeFrom(c, l), ...lineRef(l) },
  };
}

export function adjust(c: FloorContext): Command | undefined {
  const l = sourceLine(c);
  if (!l) return undefined;
  const up = c.prng.chance(0.4);
  const size = l.serial !== null ? 1 : c.prng.int(1, 3);
  return {
    name: 'adjustStock',
    args: {
      itemId: l.itemId,
      positionId: l.positionId,
      delta: up ? size : -size,
      reason: c.prng.pick(ADJUST_REASONS),
      ...lineRef(l),
    },
  };
}

/** Sessions this device can count in now. */
const countable = (c: FloorContext): CountSession[] =>
  [...c.counting.sessions.values()].filter(
    (s) => s.status === 'counting' || (s.status === 'review' && c.prng.chance(0.2)),
  );

/**
 * Counts one position of a live session, as an operator does it: start it, one count per
 * item (and lot) the device holds there — mostly right, sometimes off, sometimes an item it
 * did not expect — then finish it; or confirm it empty.
 */
export function countPosition(c: FloorContext): Command[] {
  const sessions = countable(c);
  if (sessions.length === 0) return [];
  const s = c.prng.pick(sessions);
  const scope = [...(c.counting.scopes.get(s.id) ?? [])];
  if (scope.length === 0) return [];
  const positionId = c.prng.pick(scope);
  const sessionId = s.id as string;
  const here = anyLines(c.state).filter((l) => l.positionId === positionId && l.quantity !== 0);
  const out: Command[] = [{ name: 'startPositionCount', args: { sessionId, positionId } }];
  if (here.length === 0 || c.prng.chance(0.08)) {
    // Nothing here (or the operator says so): confirm it empty with what the device expected.
    const expected = new Map<
      string,
      { itemId: string; lot?: string; quantity?: number; serials?: string[] }
    >();
    for (const l of here) {
      const key = `${l.itemId}/${l.lot ?? ''}`;
      const e = expected.get(key) ?? {
        itemId: l.itemId,
        ...(l.lot !== null ? { lot: l.lot } : {}),
      };
      if (l.serial !== null) e.serials = [...(e.serials ?? []), l.serial];
      else e.quantity = (e.quantity ?? 0) + l.quantity;
      expected.set(key, e);
    }
    out.push({
      name: 'confirmPositionEmpty',
      args: { sessionId, positionId, expected: [...expected.values()] },
    });
    return out;
  }
  const byPair = new Map<string, StockLine[]>();
  for (const l of here) {
    const key = `${l.itemId}/${l.lot ?? ''}`;
    byPair.set(key, [...(byPair.get(key) ?? []), l]);
  }
  for (const lines of byPair.values()) {
    const first = lines[0] as StockLine;
    const lot = first.lot !== null ? { lot: first.lot } : {};
    if (first.serial !== null) {
      const expectedSerials = lines.filter((l) => l.quantity > 0).map((l) => l.serial as string);
      let serials = [...expectedSerials];
      if (c.prng.chance(0.2) && serials.length > 0) serials = serials.slice(1); // one missing
      if (c.prng.chance(0.1)) serials.push(c.serial()); // one nobody knew of
      out.push({
        name: 'recordCount',
        args: { sessionId, positionId, itemId: first.itemId, ...lot, serials, expectedSerials },
      });
    } else {
      const expected = lines.reduce((sum, l) => sum + l.quantity, 0);
      const off = c.prng.chance(0.25) ? c.prng.int(-3, 3) : 0;
      out.push({
        name: 'recordCount',
        args: {
          sessionId,
          positionId,
          itemId: first.itemId,
          ...lot,
          counted: Math.max(0, expected + off),
          expected,
        },
      });
    }
  }
  out.push({ name: 'finishPositionCount', args: { sessionId, positionId } });
  return out;
}

/** One floor scan (or a position's count) for an operator. */
export function operatorWork(c: FloorContext): Command[] {
  const kind = c.prng.weighted({
    receive: 20,
    move: 25,
    container: 7,
    ship: 14,
    adjust: 7,
    count: countable(c).length > 0 ? 30 : 0,
    // Last, and 0 in workload 1: a weight of 0 draws nothing, so workload-1 seeds run as before.
    list: c.workload >= 2 && workableLines(c).length > 0 ? 14 : 0,
    job: c.workload >= 3 && runningJobs(c).length > 0 ? 12 : 0,
  });
  switch (kind) {
    case 'receive':
      return opt(receive(c));
    case 'move':
      return opt(move(c));
    case 'container':
      return opt(moveContainer(c));
    case 'ship':
      return opt(ship(c));
    case 'adjust':
      return opt(adjust(c));
    case 'count':
      return countPosition(c);
    case 'list':
      return opt(confirmLine(c));
    case 'job':
      return opt(jobFloorWork(c));
  }
}

const opt = (c: Command | undefined): Command[] => (c ? [c] : []);

const lines = (c: FloorContext, s: CountSession): CountRecord[] => linesOf(c.counting, s.id);

/**
 * What a supervisor does next with counting sessions (plan, assign and start one; close it
 * once counted; settle disagreements and approve; apply it line by line; cancel one now and
 * then), or master data and reversals — decided from their device's view.
 */
export function supervisorWork(c: FloorContext): Command[] {
  const live = [...c.counting.sessions.values()];
  const kind = c.prng.weighted({
    counting: live.length > 0 ? 60 : 0,
    plan: live.length < 2 ? 15 : 1,
    define: 5,
    reverse: 4,
    floor: 25,
    list: c.workload >= 2 ? 8 : 0,
    job: c.workload >= 3 ? 8 : 0,
  });
  switch (kind) {
    case 'counting':
      return sessionWork(c, c.prng.pick(live));
    case 'plan': {
      const scopeFrom = bins(c.state);
      if (scopeFrom.length === 0) return [];
      const positionIds = c.prng
        .shuffle(scopeFrom)
        .slice(0, c.prng.int(1, 3))
        .map((p) => p.id as string);
      const sessionId = c.newId(); // UUID-shaped, as the session id schema wants
      const cmds: Command[] = [
        {
          name: 'planCountSession',
          args: {
            sessionId,
            code: c.code('C'),
            positionIds,
            mode: c.prng.chance(0.5) ? 'blind' : 'open',
            ...(c.prng.chance(0.3) ? { recountAbove: { quantity: 4 } } : {}),
          },
        },
      ];
      if (c.prng.chance(0.7) && c.operators.length > 0)
        cmds.push({
          name: 'assignCountSession',
          args: { sessionId, userIds: c.prng.shuffle(c.operators).slice(0, c.prng.int(1, 2)) },
        });
      if (c.prng.chance(0.7)) cmds.push({ name: 'startCountSession', args: { sessionId } });
      return cmds;
    }
    case 'define': {
      if (c.prng.chance(0.6)) {
        const code = c.code('T');
        const parents = bins(c.state);
        return [
          {
            name: 'definePosition',
            args: {
              positionId: code,
              code,
              kind: 'container',
              ...(parents.length > 0 ? { parentId: c.prng.pick(parents).id } : {}),
              disposable: c.prng.chance(0.5),
            },
          },
        ];
      }
      const code = c.code('I');
      return [
        {
          name: 'defineItem',
          args: {
            itemId: code,
            sku: code,
            name: `Item ${code}`,
            tracking: c.prng.pick(['none', 'none', 'lot', 'serial'] as const),
          },
        },
      ];
    }
    case 'reverse': {
      const movements = [...c.state.movements.values()].filter(
        (m) =>
          m.reversedBy === null &&
          m.type !== 'reversal' &&
          m.type !== 'container-move' &&
          !m.id.startsWith('local:'),
      );
      if (movements.length === 0) return [];
      const m = c.prng.pick(movements);
      return [{ name: 'reverseMovement', args: { eventId: m.id, note: 'sim: wrong scan' } }];
    }
    case 'floor':
      return operatorWork(c);
    case 'list':
      return opt(listWork(c));
    case 'job':
      return opt(jobWork(c));
  }
}

// ─── production jobs (workload 3) ────────────────────────────────────────────────────────────

const runningJobs = (c: FloorContext): ProductionJob[] =>
  [...c.jobs.values()].filter((j) => j.status === 'running');

/** A supervisor creates a job (mostly while few are live), starts one, or completes one. */
function jobWork(c: FloorContext): Command | undefined {
  const live = [...c.jobs.values()];
  const created = live.filter((j) => j.status === 'created');
  const running = runningJobs(c);
  const kind = c.prng.weighted({
    create: live.length < 3 ? 5 : 0.5,
    start: created.length > 0 ? 4 : 0,
    complete: running.length > 0 ? 1.5 : 0,
  });
  if (kind === 'start')
    return { name: 'startProductionJob', args: { jobId: c.prng.pick(created).id } };
  if (kind === 'complete')
    return {
      name: 'completeProductionJob',
      args: { jobId: c.prng.pick(running).id, note: 'sim: shift over' },
    };
  const all = items(c.state);
  if (all.length === 0) return undefined;
  const product = c.prng.pick(all);
  return {
    name: 'createProductionJob',
    args: {
      jobId: c.newId(),
      code: c.code('J'),
      itemId: product.id,
      ...(c.prng.chance(0.7) ? { quantity: product.tracking === 'serial' ? 2 : 20 } : {}),
    },
  };
}

/**
 * An operator works on a running job: consumes a component from a stock line (mostly what
 * is there or less, sometimes more: a stale view), produces the product into a bin (a new
 * serial, or a lot), or builds one serial into another.
 */
function jobFloorWork(c: FloorContext): Command | undefined {
  const job = c.prng.pick(runningJobs(c));
  const kind = c.prng.weighted({ consume: 5, produce: 4, assemble: 1 });
  if (kind === 'consume') {
    const l = sourceLine(c);
    if (!l || l.itemId === job.itemId) return undefined;
    return {
      name: 'consumeForJob',
      args: {
        jobId: job.id,
        itemId: l.itemId,
        from: l.positionId,
        quantity: takeFrom(c, l),
        ...lineRef(l),
      },
    };
  }
  if (kind === 'assemble') {
    const serials = positiveLines(c.state).filter((l) => l.serial !== null);
    if (serials.length < 2) return undefined;
    const [parent, child] = c.prng.shuffle(serials) as [StockLine, StockLine];
    return {
      name: 'assembleSerial',
      args: {
        parent: { itemId: parent.itemId, serial: parent.serial },
        child: { itemId: child.itemId, serial: child.serial },
      },
    };
  }
  const item = c.state.items.get(job.itemId);
  const to = bins(c.state);
  if (!item || to.length === 0) return undefined;
  return {
    name: 'produceForJob',
    args: {
      jobId: job.id,
      itemId: item.id,
      to: c.prng.pick(to).id,
      quantity: item.tracking === 'serial' ? 1 : c.prng.int(1, 10),
      ...(item.tracking === 'lot' ? { lot: c.prng.pick(LOTS) } : {}),
      ...(item.tracking === 'serial' ? { serial: c.serial() } : {}),
    },
  };
}

// ─── movement lists (workload 2) ─────────────────────────────────────────────────────────────

const liveLists = (c: FloorContext): MovementList[] =>
  [...c.lists.lists.values()].filter((l) => l.status !== 'closed');

/** Lines an operator may work on: of live lists assigned to them or to nobody, not done. */
function workableLines(c: FloorContext): { list: MovementList; line: ListLine }[] {
  const out: { list: MovementList; line: ListLine }[] = [];
  for (const list of liveLists(c)) {
    if (list.assignee !== null && list.assignee !== c.userId) continue;
    for (const line of list.lines)
      if (line.status === 'open' || line.status === 'partial') out.push({ list, line });
  }
  return out;
}

/** A supervisor plans a list (mostly while few are live), assigns one, or closes one. */
function listWork(c: FloorContext): Command | undefined {
  const live = liveLists(c);
  const kind = c.prng.weighted({
    create: live.length < 3 ? 6 : 1,
    assign: live.length > 0 ? 2 : 0,
    close: live.length > 0 ? 1 : 0,
  });
  if (kind === 'assign') {
    const list = c.prng.pick(live);
    const userId = c.prng.chance(0.2) ? null : c.prng.pick(c.operators);
    return { name: 'assignList', args: { listId: list.id, userId } };
  }
  if (kind === 'close') {
    const list = c.prng.pick(live);
    return { name: 'closeList', args: { listId: list.id, note: 'sim: done for today' } };
  }
  const type = c.prng.pick(LIST_TYPES);
  const all = items(c.state);
  const where = bins(c.state);
  if (all.length === 0 || where.length < 2) return undefined;
  const lines = Array.from({ length: c.prng.int(1, 3) }, (_, i) => {
    const item = c.prng.pick(all);
    const stocked = positiveLines(c.state).filter((l) => l.itemId === item.id);
    const from =
      stocked.length > 0 && c.prng.chance(0.8)
        ? c.prng.pick(stocked).positionId
        : c.prng.pick(where).id;
    const to = c.prng.pick(where.filter((p) => p.id !== from)).id;
    return {
      lineNo: i + 1,
      itemId: item.id,
      quantity: item.tracking === 'serial' ? 1 : c.prng.int(1, 12),
      ...(item.tracking === 'lot' && c.prng.chance(0.5) ? { lot: c.prng.pick(LOTS) } : {}),
      ...(type !== 'shipment' && c.prng.chance(0.8) ? { suggestedPositionId: to } : {}),
      ...(type !== 'receipt' && c.prng.chance(0.8) ? { suggestedFromId: from } : {}),
    };
  });
  return {
    name: 'createList',
    args: { listId: c.newId(), type, code: c.code('LS'), lines },
  };
}

/**
 * An operator confirms (part of) a line with the list's confirming command: mostly what is
 * left of it, from or to where the line suggests; sometimes more, less, or another position.
 */
function confirmLine(c: FloorContext): Command | undefined {
  const work = workableLines(c);
  if (work.length === 0) return undefined;
  const { list, line } = c.prng.pick(work);
  const item = c.state.items.get(line.itemId);
  if (!item) return undefined;
  const left = Math.max(1, line.planned - line.confirmed);
  const quantity =
    item.tracking === 'serial' ? 1 : c.prng.chance(0.8) ? left : c.prng.int(1, left + 3);
  const ref = { listId: list.id, lineNo: line.lineNo };
  // No position at all: a reset snapshot in pages (restore mode) has brought the lists (keys
  // `s/list/…`) but not yet the positions (`s/position/…`).
  const somewhere = () => {
    const all = stockPositions(c.state);
    return all.length > 0 ? c.prng.pick(all).id : undefined;
  };
  const to =
    line.suggestedPositionId !== null && c.prng.chance(0.85)
      ? line.suggestedPositionId
      : somewhere();
  if (to === undefined) return undefined;
  if (list.type === 'receipt') {
    const lot = item.tracking === 'lot' ? (line.lot ?? c.prng.pick(LOTS)) : null;
    const serial = item.tracking === 'serial' ? (line.serial ?? c.serial()) : null;
    return {
      name: 'receiveStock',
      args: {
        itemId: item.id,
        positionId: to,
        quantity,
        ...(lot !== null ? { lot } : {}),
        ...(serial !== null ? { serial } : {}),
        ...ref,
      },
    };
  }
  // Shipment and transfer: taken from a line of the item the device shows (where the list
  // suggests, mostly), with its lot and serial.
  const stocked = positiveLines(c.state).filter(
    (l) =>
      l.itemId === item.id &&
      (line.lot === null || l.lot === line.lot) &&
      (line.serial === null || l.serial === line.serial),
  );
  const suggested = stocked.filter((l) => l.positionId === line.suggestedFromId);
  const pool = suggested.length > 0 && c.prng.chance(0.85) ? suggested : stocked;
  if (pool.length === 0) return undefined;
  const from = c.prng.pick(pool);
  const take = from.serial !== null ? 1 : quantity;
  if (list.type === 'shipment')
    return {
      name: 'shipStock',
      args: { itemId: item.id, from: from.positionId, quantity: take, ...lineRef(from), ...ref },
    };
  if (to === from.positionId) return undefined;
  return {
    name: 'moveStock',
    args: {
      itemId: item.id,
      from: from.positionId,
      to,
      quantity: take,
      ...lineRef(from),
      ...ref,
    },
  };
}

function sessionWork(c: FloorContext, s: CountSession): Command[] {
  const sessionId = s.id as string;
  if (c.prng.chance(0.04) && s.status !== 'applying')
    return [{ name: 'cancelCountSession', args: { sessionId, note: 'sim: recount later' } }];
  switch (s.status) {
    case 'planned': {
      const out: Command[] = [];
      if (s.assignees.length === 0 && c.operators.length > 0)
        out.push({
          name: 'assignCountSession',
          args: { sessionId, userIds: [c.prng.pick(c.operators)] },
        });
      out.push({ name: 'startCountSession', args: { sessionId } });
      return out;
    }
    case 'counting':
      // Close once something was counted (or after a while anyway); meanwhile count too.
      if (s.positionsCounted > 0 && c.prng.chance(0.35))
        return [{ name: 'closeCountSession', args: { sessionId } }];
      return c.prng.chance(0.5) ? countPosition(c) : [];
    case 'review': {
      const out: Command[] = [];
      for (const p of c.counting.positions.values()) {
        if (p.sessionId !== s.id) continue;
        for (const o of p.open)
          out.push({
            name: 'releasePositionCount',
            args: { sessionId, positionId: p.positionId, userId: o.userId },
          });
      }
      for (const r of lines(c, s)) {
        if (r.status === 'counted') continue;
        const counts = currentCounts(r);
        if (counts.length === 0) continue;
        out.push({
          name: 'acceptCount',
          args: { sessionId, lineNo: r.lineNo, countedBy: c.prng.pick(counts).countedBy },
        });
      }
      const variance = lines(c, s).some(hasVariance);
      out.push({
        name: 'approveCountSession',
        args: { sessionId, ...(variance || c.prng.chance(0.5) ? { reason: 'unexplained' } : {}) },
      });
      return out;
    }
    case 'applying': {
      const out: Command[] = [];
      for (const r of lines(c, s)) {
        if (r.lineNo > s.planned) continue;
        if (r.applyState === 'pending' || (r.applyState === 'failed' && c.prng.chance(0.5)))
          out.push({ name: 'applyCountRecord', args: { sessionId, lineNo: r.lineNo } });
        else if (r.applyState === 'failed')
          out.push({
            name: 'skipCountRecord',
            args: { sessionId, lineNo: r.lineNo, note: 'sim: not applicable' },
          });
        if (r.applied?.raced && r.race === null && c.prng.chance(0.5))
          out.push({
            name: 'decideCountRace',
            args: { sessionId, lineNo: r.lineNo, choice: 'keep-counted' },
          });
        if (out.length >= 4) break;
      }
      return out;
    }
    case 'applied':
    case 'cancelled':
      return [];
  }
}

/** A conflict as the admin's console listed it: what `adminWork` decides from. */
export interface ListedConflict {
  readonly id: string;
  readonly kind: string;
  readonly key: string;
  readonly detail: Readonly<Record<string, unknown>>;
  readonly mutation: { readonly name: string; readonly args: Record<string, unknown> } | null;
}

/**
 * What an admin does with a conflict the console listed — perhaps a while ago: the list may
 * be stale, and the conflict already resolved (in another tab, or by a resolution whose answer
 * was lost), so a resolution may be refused. Negative stock is mostly compensated back to zero,
 * a serial in two places taken out of one of them (as the device shows it), a refused or
 * conflicted mutation sometimes re-applied as it was; otherwise accepted or dismissed.
 */
export function adminWork(c: FloorContext, listed: readonly ListedConflict[]): Command[] {
  if (listed.length === 0) return [];
  const cf = c.prng.pick(listed);
  const resolve = (action: string, args?: Record<string, unknown>): Command => ({
    name: 'resolveConflict',
    args: { conflictId: cf.id, action, note: `sim: ${action}`, ...(args ? { args } : {}) },
  });
  const compensate = (args: Record<string, unknown>) =>
    resolve('compensate', {
      name: 'adjustStock',
      args: { ...args, reason: 'conflict-resolution' },
    });
  const { itemId, serial, positionId, lot } = cf.detail;
  if (cf.kind === 'serial-elsewhere' && typeof itemId === 'string' && typeof serial === 'string') {
    const where = positiveLines(c.state).filter((l) => l.itemId === itemId && l.serial === serial);
    if (where.length > 1 && c.prng.chance(0.8)) {
      const l = c.prng.pick(where);
      return [compensate({ itemId, positionId: l.positionId, delta: -1, serial })];
    }
  }
  if (
    cf.kind === 'negative-stock' &&
    typeof itemId === 'string' &&
    typeof positionId === 'string'
  ) {
    const line = anyLines(c.state).find(
      (l) =>
        l.itemId === itemId &&
        l.positionId === positionId &&
        l.lot === (typeof lot === 'string' ? lot : null) &&
        l.serial === null,
    );
    if (line && line.quantity < 0 && c.prng.chance(0.7)) {
      return [
        compensate({
          itemId,
          positionId,
          delta: -line.quantity,
          ...(line.lot !== null ? { lot: line.lot } : {}),
        }),
      ];
    }
  }
  if (cf.mutation && c.prng.chance(0.3)) return [resolve('reapply', cf.mutation.args)];
  return [resolve(c.prng.pick(['accept', 'dismiss']))];
}
