import { conflictKindForRejection } from '../shared/decision.js';
import { describe, expect, it } from 'vitest';
import { stockLines, totalQuantity } from '../inventory/queries.js';
import type { InventoryState } from '../inventory/state.js';
import { PRODUCTION, initialState, viewOf } from '../inventory/state.js';
import type { LoggedEvent } from '../projection.js';
import { foldEvent, replayViewOf } from '../projection.js';
import type { FactMode } from '../shared/decision.js';
import type { ItemId, PositionId } from '../shared/ids.js';
import { asItemId, asLot, asPositionId, asSerial, asUserId } from '../shared/ids.js';
import type { Role } from '../shared/roles.js';
import type { ReplayDecision } from '../sync/decide.js';
import { decideMutation } from '../sync/decide.js';
import { decide as decideInventory } from '../inventory/decide.js';
import { A, C, L, P, Q, R, S, itemDefined, positionDefined, warehouse } from '../testing/index.js';
import type { ProductionCommand } from './commands.js';
import { asJobId, isProductionCommandName, productionCommandArgs } from './commands.js';
import type {
  ProductionDecideView,
  ProductionDecision,
  ProductionRejectionCode,
} from './decide.js';
import { PRODUCTION_REJECTION_CODES, decideProductionCommand } from './decide.js';
import type { ProductionEvent } from './events.js';
import { isProductionEvent, productionEventData } from './events.js';
import { describeNode, genealogyQueriesOf, recallCsv, recallReport } from './queries.js';
import type { GenealogyChangeView } from './changes.js';
import { genealogyChangesOf } from './changes.js';
import type { GenealogyNode, ProductionState } from './state.js';
import {
  evolveProduction,
  initialProductionState,
  lotNode,
  nodeKey,
  productionViewOf,
  serialNode,
} from './state.js';

/** The product of the scenarios: a serialized pump. */
const PUMP = asItemId('item-PUMP');
const J = asJobId('0192f0c8-0000-7000-8000-000000000001');
const J2 = asJobId('0192f0c8-0000-7000-8000-000000000002');

const L1 = lotNode(L, asLot('L1'));
const S7 = serialNode(S, asSerial('S7'));
const P1 = serialNode(PUMP, asSerial('P1'));

/**
 * A floor in miniature, folding as the server will once production is integrated: each event's
 * genealogy changes are computed from the state before it, then its stock changes applied —
 * `foldEvent` for stock (inventory events, and what consumption and production move).
 * Production commands go to `decideProductionCommand` (args parsed by their schema), the rest
 * to the replay.
 */
class Floor {
  inventory: InventoryState = initialState();
  readonly production: ProductionState = initialProductionState();
  readonly log: LoggedEvent[] = [];

  constructor() {
    for (const e of [...warehouse(), itemDefined(PUMP, 'PUMP', 'serial')]) this.append(e);
  }

  append(e: { readonly type: string; readonly data: unknown }): string {
    const logged = { ...e, id: `e${this.log.length + 1}` };
    this.log.push(logged);
    evolveProduction(this.production, viewOf(this.inventory), logged);
    this.inventory = foldEvent(this.inventory, logged); // production stock included
    return logged.id;
  }

  get view(): ProductionDecideView {
    return { ...replayViewOf(this.inventory), ...productionViewOf(this.production) };
  }

  /** Production commands against `view` (default: now), the others through the replay. */
  decide(
    name: string,
    args: Record<string, unknown>,
    role: Role = 'operator',
    mode: FactMode = 'record',
    view: ProductionDecideView = this.view,
  ): ProductionDecision | ReplayDecision {
    const actor = { userId: asUserId('u-spec'), role };
    if (!isProductionCommandName(name)) {
      const replay = replayViewOf(
        this.inventory,
        new Map(),
        undefined,
        productionViewOf(this.production),
      );
      return decideMutation(replay, { name, args }, { actor, mode });
    }
    const parsed = productionCommandArgs[name].safeParse(args);
    if (!parsed.success) {
      return { kind: 'rejected', code: 'VALIDATION_FAILED', message: parsed.error.message };
    }
    const command = { name, args: parsed.data } as ProductionCommand;
    return decideProductionCommand(view, command, { actor, mode });
  }

  run(name: string, args: Record<string, unknown>, role: Role = 'operator', mode?: FactMode) {
    const outcome = this.decide(name, args, role, mode);
    const ids = outcome.kind === 'accepted' ? outcome.events.map((e) => this.append(e)) : [];
    return { outcome, ids };
  }

  ok(name: string, args: Record<string, unknown>, role: Role = 'operator', mode?: FactMode) {
    const r = this.run(name, args, role, mode);
    if (r.outcome.kind === 'rejected') {
      throw new Error(`${name} rejected: ${r.outcome.code} ${r.outcome.message}`);
    }
    return r;
  }

  rejects(
    code: ProductionRejectionCode,
    name: string,
    args: Record<string, unknown>,
    role: Role = 'operator',
    mode?: FactMode,
  ): string {
    const before = this.log.length;
    const r = this.run(name, args, role, mode);
    expect(r.outcome).toMatchObject({ kind: 'rejected', code });
    expect(this.log.length).toBe(before);
    return r.outcome.kind === 'rejected' ? r.outcome.message : '';
  }

  get queries() {
    return genealogyQueriesOf(productionViewOf(this.production));
  }

  /** Labels of the nodes a traversal reached, in its order. */
  words(nodes: readonly { readonly node: GenealogyNode }[]): string[] {
    const names = { ...viewOf(this.inventory), ...productionViewOf(this.production) };
    return nodes.map((n) => describeNode(n.node, names));
  }

  qty(item: ItemId, position: PositionId): number {
    return totalQuantity(
      stockLines(viewOf(this.inventory), { itemId: item, positionId: position }),
    );
  }

  job(id = J) {
    const job = this.production.jobs.get(id);
    if (!job) throw new Error(`no job ${id}`);
    return job;
  }
}

const sup = 'supervisor' as const;

/** L1 (10) on P, S7 on Q, and job J for PUMP: created, and started unless told otherwise. */
function withJob(started = true): Floor {
  const floor = new Floor();
  floor.ok('receiveStock', { itemId: L, positionId: P, quantity: 10, lot: 'L1' });
  floor.ok('receiveStock', { itemId: S, positionId: Q, quantity: 1, serial: 'S7' });
  floor.ok('createProductionJob', { jobId: J, code: 'J', itemId: PUMP, quantity: 1 }, sup);
  if (started) floor.ok('startProductionJob', { jobId: J }, sup);
  return floor;
}

const consumeL1 = (quantity = 4) => ({ jobId: J, itemId: L, from: P, quantity, lot: 'L1' });
const consumeS7 = { jobId: J, itemId: S, from: Q, quantity: 1, serial: 'S7' };
const produceP1 = { jobId: J, itemId: PUMP, to: R, quantity: 1, serial: 'P1' };

describe('scenario 23: genealogy through a job, a pallet and a shipment', () => {
  it('J consumes L1 and S7 and produces P1; P1 is packed on C and shipped', () => {
    const floor = withJob();
    floor.ok('consumeForJob', consumeL1(4));
    floor.ok('consumeForJob', consumeS7);
    floor.ok('produceForJob', produceP1);

    // "What went into P1": L1 and S7 (through job J).
    const into = floor.queries.ancestors(P1);
    expect(floor.words(into.nodes)).toEqual(['job J', 'L lot L1', 'S serial S7']);
    expect(into.nodes.map((n) => n.depth)).toEqual([1, 2, 2]);
    // "Where did L1 go": P1.
    expect(floor.words(floor.queries.descendants(L1).nodes)).toEqual(['job J', 'PUMP serial P1']);

    floor.ok('moveStock', { itemId: PUMP, from: R, to: C, quantity: 1, serial: 'P1' });
    const [shipment] = floor.ok('shipStock', {
      itemId: PUMP,
      from: C,
      quantity: 1,
      serial: 'P1',
    }).ids;

    // …and, after P1 was packed on pallet C and shipped, C and the shipment.
    const went = floor.queries.descendants(L1);
    expect(floor.words(went.nodes)).toEqual([
      'job J',
      'PUMP serial P1',
      'container C',
      `shipment ${shipment}`,
    ]);
    expect(went.nodes.map((n) => n.depth)).toEqual([1, 2, 3, 3]);
    expect(went.truncated).toBe(false);
    // The shipment, seen from the other end: everything that went into it.
    const shipped = floor.queries.ancestors({ kind: 'shipment', eventId: shipment as never });
    expect(floor.words(shipped.nodes)).toEqual([
      'PUMP serial P1',
      'job J',
      'L lot L1',
      'S serial S7',
    ]);

    // Stock moved with the genealogy: 6 of L1 left on P, S7 and P1 gone.
    expect(floor.qty(L, P)).toBe(6);
    expect(floor.qty(S, Q)).toBe(0);
    expect(floor.qty(PUMP, C)).toBe(0);
    expect(floor.job()).toMatchObject({ status: 'running', produced: 1 });

    // The recall report of L1 names the shipment, the pallet and the way L1 got there.
    const names = { ...viewOf(floor.inventory), ...productionViewOf(floor.production) };
    const report = recallReport(
      productionViewOf(floor.production),
      { itemId: L, lot: asLot('L1') },
      names,
    );
    expect(report.rows).toHaveLength(1);
    expect(report.rows[0]).toMatchObject({
      shipmentId: shipment,
      sku: 'PUMP',
      serial: 'P1',
      lot: null,
      quantity: 1,
      fromCode: 'C',
      containerCodes: ['C'],
      pathLabels: ['L lot L1', 'job J', 'PUMP serial P1'],
    });
    expect(recallCsv(report)).toBe(
      'shipment,list,line,item,lot,serial,quantity,shipped_from,containers,path\r\n' +
        `${shipment},,,PUMP,,P1,1,C,C,L lot L1 > job J > PUMP serial P1\r\n`,
    );
  });

  it('records consumption and production as movements to and from PRODUCTION', () => {
    const floor = withJob();
    const [consumed] = floor.ok('consumeForJob', consumeL1(4)).ids;
    const [produced] = floor.ok('produceForJob', produceP1).ids;
    const view = viewOf(floor.inventory);
    expect(view.movement(consumed as never)).toMatchObject({
      type: 'consumption',
      from: P,
      to: PRODUCTION,
      quantity: 4,
      lot: 'L1',
    });
    expect(view.movement(produced as never)).toMatchObject({
      type: 'production',
      from: PRODUCTION,
      to: R,
      serial: 'P1',
    });
    expect(floor.qty(PUMP, R)).toBe(1);
  });

  it('every production event it records matches its schema (the trust boundary)', () => {
    const floor = withJob();
    floor.ok('consumeForJob', consumeL1());
    floor.ok('produceForJob', produceP1);
    floor.ok('assembleSerial', {
      parent: { itemId: PUMP, serial: 'P1' },
      child: { itemId: S, serial: 'S7' },
    });
    floor.ok('completeProductionJob', { jobId: J, note: 'done' }, sup);
    const production = floor.log.filter((e): e is LoggedEvent & ProductionEvent =>
      isProductionEvent(e),
    );
    expect(production.map((e) => e.type)).toEqual([
      'ProductionJobCreated',
      'ProductionJobStarted',
      'StockConsumed',
      'StockProduced',
      'SerialAssembled',
      'ProductionJobCompleted',
    ]);
    for (const e of production)
      expect(productionEventData[e.type].safeParse(e.data).success).toBe(true);
  });
});

describe('the job: created → running → completed', () => {
  it('goes through its life in order, with the events one would expect', () => {
    const floor = withJob(false);
    expect(floor.job()).toMatchObject({ code: 'J', status: 'created', planned: 1, produced: 0 });
    expect(floor.ok('startProductionJob', { jobId: J }, sup).outcome).toEqual({
      kind: 'accepted',
      events: [{ type: 'ProductionJobStarted', data: { jobId: J } }],
      conflicts: [],
    });
    expect(floor.job().status).toBe('running');
    floor.ok('completeProductionJob', { jobId: J, note: '  ' }, sup);
    expect(floor.job()).toMatchObject({ status: 'completed', completionNote: null });
  });

  it('refuses steps out of order, with plain words', () => {
    const floor = withJob(false);
    expect(floor.rejects('JOB_NOT_RUNNING', 'completeProductionJob', { jobId: J }, sup)).toBe(
      'job J was never started: start it before completing it',
    );
    floor.ok('startProductionJob', { jobId: J }, sup);
    expect(floor.rejects('STALE_INTENT', 'startProductionJob', { jobId: J }, sup)).toBe(
      'job J is already running',
    );
    floor.ok('completeProductionJob', { jobId: J }, sup);
    expect(floor.rejects('STALE_INTENT', 'completeProductionJob', { jobId: J }, sup)).toBe(
      'job J is already completed',
    );
    expect(floor.rejects('STALE_INTENT', 'startProductionJob', { jobId: J }, sup)).toBe(
      'job J is already completed',
    );
    expect(floor.rejects('UNKNOWN_JOB', 'startProductionJob', { jobId: J2 }, sup)).toBe(
      `unknown production job ${J2}`,
    );
  });

  it('is created once per id and per code, for a known item, by a supervisor', () => {
    const floor = withJob(false);
    floor.rejects(
      'STALE_INTENT',
      'createProductionJob',
      { jobId: J, code: 'J9', itemId: PUMP },
      sup,
    );
    expect(
      floor.rejects(
        'DUPLICATE_CODE',
        'createProductionJob',
        { jobId: J2, code: 'J', itemId: A },
        sup,
      ),
    ).toBe('a production job with code J already exists');
    floor.rejects(
      'UNKNOWN_ITEM',
      'createProductionJob',
      { jobId: J2, code: 'K', itemId: 'x' },
      sup,
    );
    expect(
      floor.rejects(
        'SERIAL_QUANTITY',
        'createProductionJob',
        { jobId: J2, code: 'K', itemId: PUMP, quantity: 1.5 },
        sup,
      ),
    ).toBe('PUMP is serialized: plan whole units, not 1.5');
    expect(
      floor.rejects('FORBIDDEN', 'createProductionJob', { jobId: J2, code: 'K', itemId: A }),
    ).toBe('createProductionJob needs the supervisor role; you are operator');
    floor.rejects('FORBIDDEN', 'startProductionJob', { jobId: J });
    floor.rejects('FORBIDDEN', 'completeProductionJob', { jobId: J });
  });
});

describe('"job must be running"', () => {
  it('consuming or producing for a job not started yet is refused and moves nothing', () => {
    const floor = withJob(false);
    expect(floor.rejects('JOB_NOT_RUNNING', 'consumeForJob', consumeL1())).toBe(
      'job J has not been started: nothing can be consumed for it yet',
    );
    expect(floor.rejects('JOB_NOT_RUNNING', 'produceForJob', produceP1)).toBe(
      'job J has not been started: nothing can be produced for it yet',
    );
    expect(floor.qty(L, P)).toBe(10);
    expect(conflictKindForRejection('JOB_NOT_RUNNING')).toBe('invalid-command');
  });

  it('offline consumption for a job completed meanwhile is a stale intent, not a movement', () => {
    const floor = withJob();
    // The device, offline, sees the job running: its scan is fine then.
    const seenOffline = floor.view;
    expect(
      floor.decide('consumeForJob', consumeL1(3), 'operator', 'record', seenOffline).kind,
    ).toBe('accepted');
    // Meanwhile the supervisor completes the job; then the device syncs.
    floor.ok('completeProductionJob', { jobId: J }, sup);
    const message = floor.rejects(
      'STALE_INTENT',
      'consumeForJob',
      consumeL1(3),
      'operator',
      'record',
    );
    expect(message).toBe('job J was completed meanwhile: nothing can be consumed for it any more');
    expect(conflictKindForRejection('STALE_INTENT')).toBe('stale-intent');
    // Nothing changed: no stock left P, no link to the job.
    expect(floor.qty(L, P)).toBe(10);
    expect(floor.queries.descendants(L1).nodes).toEqual([]);
    // The same for producing, and in strict mode (an online scan) too.
    floor.rejects('STALE_INTENT', 'produceForJob', produceP1, 'operator', 'record');
    floor.rejects('STALE_INTENT', 'consumeForJob', consumeL1(3), 'operator', 'strict');
  });

  it('the job is checked before the stock: a stale job wins over a missing lot', () => {
    const floor = withJob();
    floor.ok('completeProductionJob', { jobId: J }, sup);
    floor.rejects('STALE_INTENT', 'consumeForJob', { ...consumeL1(), lot: undefined });
    floor.rejects('UNKNOWN_JOB', 'consumeForJob', { ...consumeL1(), jobId: J2 });
  });
});

describe('consuming and producing follow the inventory’s stock rules', () => {
  it('taking more than is there: a conflict when recorded, a refusal when strict', () => {
    const floor = withJob();
    const strict = floor.rejects(
      'INSUFFICIENT_STOCK',
      'consumeForJob',
      consumeL1(12),
      'operator',
      'strict',
    );
    expect(strict).toBe('only 10 L lot L1 at P, cannot take 12');
    const r = floor.ok('consumeForJob', consumeL1(12), 'operator', 'record');
    expect(r.outcome.kind === 'accepted' && r.outcome.conflicts.map((c) => c.kind)).toEqual([
      'negative-stock',
    ]);
    expect(floor.qty(L, P)).toBe(-2);
    // The fact is in the genealogy too: L1 went into J.
    expect(floor.words(floor.queries.descendants(L1).nodes)).toEqual(['job J']);
  });

  it('tracking: a lot-tracked component needs its lot; a serial is one unit', () => {
    const floor = withJob();
    floor.rejects('LOT_REQUIRED', 'consumeForJob', { ...consumeL1(), lot: undefined });
    floor.rejects('SERIAL_QUANTITY', 'consumeForJob', { ...consumeS7, quantity: 2 });
    floor.rejects('SERIAL_REQUIRED', 'produceForJob', { ...produceP1, serial: undefined });
    floor.rejects('VIRTUAL_POSITION', 'consumeForJob', { ...consumeL1(), from: PRODUCTION });
    floor.rejects('UNKNOWN_POSITION', 'produceForJob', { ...produceP1, to: 'pos-X' });
  });

  it('a job produces its own product', () => {
    const floor = withJob();
    expect(
      floor.rejects('JOB_MISMATCH', 'produceForJob', {
        ...produceP1,
        itemId: A,
        serial: undefined,
      }),
    ).toBe('job J makes PUMP, not A');
    expect(conflictKindForRejection('JOB_MISMATCH')).toBe('invalid-command');
  });

  it('a serial produced while already in stock: a conflict when recorded, a refusal when strict', () => {
    const floor = withJob();
    floor.ok('produceForJob', produceP1);
    floor.rejects(
      'SERIAL_ELSEWHERE',
      'produceForJob',
      { ...produceP1, to: Q },
      'operator',
      'strict',
    );
    const r = floor.ok('produceForJob', { ...produceP1, to: Q }, 'operator', 'record');
    expect(r.outcome.kind === 'accepted' && r.outcome.conflicts.map((c) => c.kind)).toEqual([
      'serial-elsewhere',
    ]);
  });

  it('consuming the last of a disposable tote retires it, in the same decision', () => {
    const floor = new Floor();
    const T = asPositionId('pos-T');
    floor.append(positionDefined(T, 'T', 'container', P, { disposable: true }));
    floor.ok('receiveStock', { itemId: L, positionId: T, quantity: 2, lot: 'L1' });
    floor.ok('createProductionJob', { jobId: J, code: 'J', itemId: PUMP }, sup);
    floor.ok('startProductionJob', { jobId: J }, sup);
    const r = floor.ok('consumeForJob', { ...consumeL1(2), from: T });
    expect(r.outcome.kind === 'accepted' && r.outcome.events.map((e) => e.type)).toEqual([
      'StockConsumed',
      'PositionRetired',
    ]);
    expect(viewOf(floor.inventory).position(T)?.retired).toBe(true);
  });

  it('produced lots keep their expiry, as received ones do', () => {
    const floor = new Floor();
    const LP = asItemId('item-LP');
    floor.append(itemDefined(LP, 'LP', 'lot'));
    floor.ok('createProductionJob', { jobId: J, code: 'J', itemId: LP, quantity: 50 }, sup);
    floor.ok('startProductionJob', { jobId: J }, sup);
    floor.ok('produceForJob', {
      jobId: J,
      itemId: LP,
      to: P,
      quantity: 20,
      lot: 'B-7',
      expiresOn: '2027-01-31',
    });
    expect(viewOf(floor.inventory).lotsWithCode(asLot('B-7'))).toEqual([
      { itemId: LP, lot: 'B-7', expiresOn: '2027-01-31' },
    ]);
    expect(floor.job()).toMatchObject({ planned: 50, produced: 20 });
  });
});

describe('reversing a consumption or a production', () => {
  it('puts the stock back and undoes the link, partly or fully', () => {
    const floor = withJob();
    const [consumed] = floor.ok('consumeForJob', consumeL1(4)).ids;
    floor.ok('reverseMovement', { eventId: consumed, quantity: 1 }, sup);
    expect(floor.qty(L, P)).toBe(7);
    const link = () => productionViewOf(floor.production).linksFrom(nodeKey(L1))[0];
    expect(link()).toMatchObject({ kind: 'consumed-into', quantity: 3, status: 'active' });
    expect(floor.words(floor.queries.descendants(L1).nodes)).toEqual(['job J']);

    const [again] = floor.ok('consumeForJob', consumeL1(2)).ids;
    floor.ok('reverseMovement', { eventId: again }, sup);
    expect(link()).toMatchObject({ quantity: 3, status: 'active' });
  });

  it('a fully reversed consumption is no longer an ancestor; a reversed production lowers the count', () => {
    const floor = withJob();
    const [consumed] = floor.ok('consumeForJob', consumeS7).ids;
    const [produced] = floor.ok('produceForJob', produceP1).ids;
    floor.ok('reverseMovement', { eventId: consumed }, sup);
    expect(floor.qty(S, Q)).toBe(1);
    expect(floor.words(floor.queries.ancestors(P1).nodes)).toEqual(['job J']);
    floor.ok('reverseMovement', { eventId: produced }, sup);
    expect(floor.job().produced).toBe(0);
    expect(floor.qty(PUMP, R)).toBe(0);
    expect(floor.queries.descendants({ kind: 'job', jobId: J }).nodes).toEqual([]);
  });

  it('a reversed production names its job; a reversed consumption names none', () => {
    const floor = withJob();
    const [consumed] = floor.ok('consumeForJob', consumeS7).ids;
    const [produced] = floor.ok('produceForJob', produceP1).ids;
    const data = (r: ReturnType<Floor['ok']>) =>
      r.outcome.kind === 'accepted' ? r.outcome.events[0]?.data : undefined;
    expect(data(floor.ok('reverseMovement', { eventId: consumed }, sup))).not.toHaveProperty(
      'producedBy',
    );
    expect(data(floor.ok('reverseMovement', { eventId: produced }, sup))).toMatchObject({
      movementId: produced,
      producedBy: J,
    });
  });

  it('a device without the production’s trace lowers the count from the event alone', () => {
    const floor = withJob();
    floor.ok('produceForJob', produceP1);
    const [produced] = floor.ok('produceForJob', { ...produceP1, serial: 'P2' }).ids;
    const r = floor.decide('reverseMovement', { eventId: produced }, sup);
    if (r.kind !== 'accepted') throw new Error(`rejected: ${r.code}`);
    const reversal = { ...(r.events[0] as { type: string; data: unknown }), id: 'rev' };
    // What a device has: the job as the snapshot gave it, no links, no traces.
    const deviceView: GenealogyChangeView = {
      productionJob: (id) => floor.production.jobs.get(id),
      productionJobByCode: () => undefined,
      linksFrom: () => [],
      linksTo: () => [],
      link: () => undefined,
      trace: () => undefined,
      ...viewOf(floor.inventory),
    };
    const jobs = genealogyChangesOf(deviceView, reversal).filter((c) => c.op === 'putJob');
    expect(jobs).toEqual([{ op: 'putJob', job: { ...floor.job(), produced: 1 } }]);
    // The server's fold, with the trace, lands on the same count.
    floor.append(reversal);
    expect(floor.job().produced).toBe(1);
  });
});

describe('assembly: serials built into serials', () => {
  const ref = (itemId: string, serial: string) => ({ itemId, serial });
  const pump = (sn: string) => ref(PUMP, sn);
  const part = (sn: string) => ref(S, sn);

  it('links the child into the parent: what went into P1 includes it', () => {
    const floor = new Floor();
    floor.ok('assembleSerial', { parent: pump('P1'), child: part('S7') });
    expect(floor.words(floor.queries.ancestors(P1).nodes)).toEqual(['S serial S7']);
    expect(floor.words(floor.queries.descendants(S7).nodes)).toEqual(['PUMP serial P1']);
  });

  it('a child is in one parent at a time, and never inside itself', () => {
    const floor = new Floor();
    floor.ok('assembleSerial', { parent: pump('P1'), child: part('S7') });
    expect(
      floor.rejects('STALE_INTENT', 'assembleSerial', { parent: pump('P1'), child: part('S7') }),
    ).toBe('serial S7 of S is already assembled into serial P1 of PUMP');
    expect(
      floor.rejects('SERIAL_ASSEMBLED', 'assembleSerial', {
        parent: pump('P2'),
        child: part('S7'),
      }),
    ).toBe('serial S7 of S is assembled into serial P1 of PUMP: replace it there first');
    // P1 → P2 → P3; putting P3 into P1 would close a loop.
    floor.ok('assembleSerial', { parent: pump('P2'), child: pump('P1') });
    floor.ok('assembleSerial', { parent: pump('P3'), child: pump('P2') });
    expect(
      floor.rejects('ASSEMBLY_CYCLE', 'assembleSerial', { parent: pump('P1'), child: pump('P3') }),
    ).toBe(
      'serial P1 of PUMP is inside serial P3 of PUMP: a serial cannot contain what contains it',
    );
    expect(
      floor.rejects('SERIAL_NOT_ALLOWED', 'assembleSerial', {
        parent: pump('P9'),
        child: ref(L, 'X'),
      }),
    ).toBe('L is not serialized: only serials are assembled');
    floor.rejects('UNKNOWN_ITEM', 'assembleSerial', {
      parent: pump('P9'),
      child: ref('item-X', 'X'),
    });
    expect(floor.words(floor.queries.ancestors(serialNode(PUMP, asSerial('P3'))).nodes)).toEqual([
      'PUMP serial P2',
      'PUMP serial P1',
      'S serial S7',
    ]);
  });

  it('replacing keeps the old link, marked, with the reason: history', () => {
    const floor = new Floor();
    const [first] = floor.ok('assembleSerial', { parent: pump('P1'), child: part('S7') }).ids;
    const [swap] = floor.ok('replaceAssembly', {
      parent: pump('P1'),
      oldChild: part('S7'),
      newChild: part('S8'),
      reason: 'defective',
      note: 'bearing noise',
    }).ids;
    const S8 = serialNode(S, asSerial('S8'));
    // Now: S8 is in P1; S7 was, and is free to go elsewhere.
    expect(floor.words(floor.queries.ancestors(P1).nodes)).toEqual(['S serial S8']);
    expect(floor.words(floor.queries.ancestors(P1, { history: true }).nodes)).toEqual([
      'S serial S7',
      'S serial S8',
    ]);
    const history = [...productionViewOf(floor.production).linksTo(nodeKey(P1))].sort((a, b) =>
      a.eventId < b.eventId ? -1 : 1,
    );
    expect(history.map((l) => [l.fromKey, l.status, l.eventId])).toEqual([
      [nodeKey(S7), 'replaced', first],
      [nodeKey(S8), 'active', swap],
    ]);
    expect(history[0]?.replacement).toEqual({
      by: S8,
      reason: 'defective',
      note: 'bearing noise',
      eventId: swap,
    });
    floor.ok('assembleSerial', { parent: pump('P2'), child: part('S7') });

    // Replacing what is not there is refused.
    expect(
      floor.rejects('NOT_ASSEMBLED', 'replaceAssembly', {
        parent: pump('P1'),
        oldChild: part('S7'),
        newChild: part('S9'),
        reason: 'upgrade',
      }),
    ).toBe('serial S7 of S is not assembled into serial P1 of PUMP');
    // The new child must be free.
    floor.rejects('SERIAL_ASSEMBLED', 'replaceAssembly', {
      parent: pump('P1'),
      oldChild: part('S8'),
      newChild: part('S7'),
      reason: 'upgrade',
    });
    expect(conflictKindForRejection('NOT_ASSEMBLED')).toBe('stale-intent');
  });

  it('the same child back into the same parent is a new link: history is never overwritten', () => {
    const floor = new Floor();
    floor.ok('assembleSerial', { parent: pump('P1'), child: part('S7') });
    const swap = { parent: pump('P1'), reason: 'rework' };
    floor.ok('replaceAssembly', { ...swap, oldChild: part('S7'), newChild: part('S8') });
    floor.ok('replaceAssembly', { ...swap, oldChild: part('S8'), newChild: part('S7') });
    const links = productionViewOf(floor.production).linksTo(nodeKey(P1));
    expect(links.map((l) => l.status).sort()).toEqual(['active', 'replaced', 'replaced']);
    expect(floor.words(floor.queries.ancestors(P1).nodes)).toEqual(['S serial S7']);
  });
});

describe('rejection codes', () => {
  it('every new code has a conflict kind, and the shared codes keep theirs', () => {
    for (const code of PRODUCTION_REJECTION_CODES) {
      expect(typeof conflictKindForRejection(code)).toBe('string');
    }
    expect(conflictKindForRejection('UNKNOWN_JOB')).toBe('unknown-code');
    expect(conflictKindForRejection('FORBIDDEN')).toBe('forbidden');
    expect(conflictKindForRejection('SERIAL_ASSEMBLED')).toBe('stale-intent');
  });

  it('an inventory decision is a production decision as it is (types)', () => {
    const floor = new Floor();
    const d: ProductionDecision = decideInventory(
      viewOf(floor.inventory),
      { name: 'receiveStock', args: { itemId: A, positionId: P, quantity: 1 } },
      { actor: { userId: asUserId('u'), role: 'operator' }, mode: 'record' },
    );
    expect(d.kind).toBe('accepted');
  });
});

describe('the genealogy keys of goods', () => {
  it('are per item: the same lot code of two items is two nodes', () => {
    expect(nodeKey(lotNode(L, asLot('X')))).not.toBe(nodeKey(lotNode(A, asLot('X'))));
    expect(nodeKey(L1)).toBe('lot:item-L:L1');
  });
});
