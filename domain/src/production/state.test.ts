import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { InventoryState } from '../inventory/state.js';
import { PRODUCTION, initialState, viewOf } from '../inventory/state.js';
import type { LoggedEvent } from '../projection.js';
import { foldEvent } from '../projection.js';
import { asEventId, asItemId, asLot, asPositionId, asSerial } from '../shared/ids.js';
import { roundQty } from '../shared/quantity.js';
import { A, C, L, P, Q, R, S, itemDefined, positionDefined, warehouse } from '../testing/index.js';
import { genealogyChangesOf, productionStockChangesOf } from './changes.js';
import { asJobId } from './commands.js';
import { describeNode, descendants, jobLinks, recallReport } from './queries.js';
import type { GenealogyNode, ProductionState } from './state.js';
import {
  cloneProductionState,
  evolveProduction,
  initialProductionState,
  jobNode,
  lotNode,
  nodeKey,
  productionViewOf,
  serialNode,
} from './state.js';

const PUMP = asItemId('item-PUMP');
const J = asJobId('0192f0c8-0000-7000-8000-000000000001');
const T = asPositionId('pos-T');
const D = asPositionId('pos-D');

type Draft = Omit<LoggedEvent, 'id'>;

interface Folded {
  readonly inventory: InventoryState;
  readonly production: ProductionState;
  readonly log: readonly LoggedEvent[];
}

/** Folds a log the way the server will: genealogy from the state before each event, then stock. */
function fold(events: readonly Draft[]): Folded {
  let inventory = initialState();
  const production = initialProductionState();
  const log: LoggedEvent[] = [];
  for (const e of [...warehouse(), itemDefined(PUMP, 'PUMP', 'serial'), ...events]) {
    const logged = { ...e, id: `e${log.length + 1}` };
    log.push(logged);
    evolveProduction(production, viewOf(inventory), logged);
    inventory = foldEvent(inventory, logged); // production stock included
  }
  return { inventory, production, log };
}

const words = (f: Folded, nodes: readonly { readonly node: GenealogyNode }[]) =>
  nodes.map((n) =>
    describeNode(n.node, { ...viewOf(f.inventory), ...productionViewOf(f.production) }),
  );
const whereWent = (f: Folded, node: GenealogyNode) =>
  words(f, descendants(productionViewOf(f.production), node).nodes);
const idOf = (f: Folded, type: string) => f.log.findLast((e) => e.type === type)?.id;

const ev = (type: string, data: Record<string, unknown>): Draft => ({ type, data });
const receivedLot = (lot: string, positionId: string, quantity = 5) =>
  ev('StockReceived', { itemId: L, positionId, quantity, lot });
const shippedLot = (lot: string, from: string, quantity = 5) =>
  ev('StockShipped', { itemId: L, from, quantity, lot });
const movedLot = (lot: string, from: string, to: string, quantity = 5) =>
  ev('StockMoved', { itemId: L, from, to, quantity, lot });
const containerMoved = (containerId: string, from: string, to: string) =>
  ev('ContainerMoved', { containerId, from, to });
const job = [
  ev('ProductionJobCreated', { jobId: J, code: 'J', itemId: PUMP }),
  ev('ProductionJobStarted', { jobId: J }),
];

const L2 = lotNode(L, asLot('L2'));

describe('containers and shipments in the graph', () => {
  it('goods on a tote put on a pallet were on both; their shipment says so', () => {
    const f = fold([
      positionDefined(T, 'T', 'container', Q),
      receivedLot('L2', T),
      containerMoved(T, Q, C),
      shippedLot('L2', T),
    ]);
    const shipment = idOf(f, 'StockShipped');
    expect(whereWent(f, L2)).toEqual(['container C', 'container T', `shipment ${shipment}`]);
    const [link] = productionViewOf(f.production).linksTo(`shipment:${shipment}`);
    expect(link).toMatchObject({
      kind: 'shipped-in',
      quantity: 5,
      shipment: { from: T, containers: [T, C], listId: null, lineNo: null },
    });
  });

  it('a reused pallet does not join goods that were never on it together', () => {
    const f = fold([
      receivedLot('LA', C),
      movedLot('LA', C, Q),
      receivedLot('LB', C),
      shippedLot('LB', C),
    ]);
    expect(whereWent(f, lotNode(L, asLot('LA')))).toEqual(['container C']);
    expect(whereWent(f, lotNode(L, asLot('LB')))).toEqual([
      'container C',
      `shipment ${idOf(f, 'StockShipped')}`,
    ]);
    const report = recallReport(productionViewOf(f.production), { itemId: L, lot: asLot('LA') });
    expect(report.rows).toEqual([]);
  });

  it('moving a container links what is in it, at any depth, to the containers it enters', () => {
    const f = fold([
      positionDefined(T, 'T', 'container', C),
      positionDefined(D, 'D', 'container', R),
      receivedLot('L2', T, 3),
      ev('StockReceived', { itemId: S, positionId: C, quantity: 1, serial: 'SN1' }),
      ev('StockReceived', { itemId: A, positionId: C, quantity: 9 }),
      containerMoved(C, P, D),
      // The tote moves off C, within D: it enters no container it was not already around.
      containerMoved(T, C, D),
    ]);
    expect(whereWent(f, L2)).toEqual(['container C', 'container D', 'container T']);
    expect(whereWent(f, serialNode(S, asSerial('SN1')))).toEqual(['container C', 'container D']);
    const links = productionViewOf(f.production).linksFrom(nodeKey(L2));
    expect(links.map((l) => [l.toKey, l.quantity])).toEqual([
      ['container:pos-T', 3],
      ['container:pos-C', 3],
      ['container:pos-D', 3],
    ]);
    expect(f.production.traces.has(asEventId(idOf(f, 'ContainerMoved') ?? ''))).toBe(false);
  });

  it('a reversed shipment did not happen: the recall no longer names it', () => {
    const base = [receivedLot('L2', P), shippedLot('L2', P, 2)];
    const shipped = fold(base);
    const id = idOf(shipped, 'StockShipped');
    expect(
      recallReport(productionViewOf(shipped.production), { itemId: L, lot: asLot('L2') }).rows,
    ).toHaveLength(1);
    const reversed = fold([
      ...base,
      ev('MovementReversed', {
        movementId: id,
        itemId: L,
        from: '@outside',
        to: P,
        quantity: 2,
        lot: 'L2',
      }),
    ]);
    const view = productionViewOf(reversed.production);
    expect(view.linksTo(`shipment:${id}`)[0]).toMatchObject({ quantity: 0, status: 'reversed' });
    expect(recallReport(view, { itemId: L, lot: asLot('L2') }).rows).toEqual([]);
  });
});

describe('the fold', () => {
  const log = [
    ...job,
    receivedLot('L2', P),
    ev('StockConsumed', { jobId: J, itemId: L, from: P, quantity: 2, lot: 'L2' }),
    ev('StockConsumed', { jobId: J, itemId: A, from: P, quantity: 1 }),
    ev('StockProduced', { jobId: J, itemId: PUMP, to: C, quantity: 1, serial: 'P1' }),
    ev('SerialAssembled', {
      parent: { itemId: PUMP, serial: 'P1' },
      child: { itemId: S, serial: 'S7' },
    }),
    ev('ProductionJobCompleted', { jobId: J }),
  ];

  it('links a job’s traced inputs and outputs; untracked goods have no node', () => {
    const f = fold(log);
    const { inputs, outputs } = jobLinks(productionViewOf(f.production), J);
    expect(inputs.map((l) => [l.fromKey, l.quantity])).toEqual([[nodeKey(L2), 2]]);
    expect(outputs.map((l) => [l.toKey, l.kind])).toEqual([
      [nodeKey(serialNode(PUMP, asSerial('P1'))), 'produced'],
    ]);
    expect(f.production.jobs.get(J)).toMatchObject({ status: 'completed', produced: 1 });
    // The produced pump landed on pallet C.
    expect(whereWent(f, jobNode(J))).toEqual(['PUMP serial P1', 'container C']);
  });

  it('folding the log again changes nothing: every event is counted once', () => {
    const f = fold(log);
    const once = cloneProductionState(f.production);
    for (const e of f.log) evolveProduction(f.production, viewOf(f.inventory), e);
    expect(f.production).toEqual(once);
  });

  it('the copy is independent', () => {
    const f = fold(log);
    const copy = cloneProductionState(f.production);
    evolveProduction(copy, viewOf(f.inventory), {
      id: 'x1',
      type: 'StockConsumed',
      data: { jobId: J, itemId: L, from: P, quantity: 1, lot: 'L9' },
    });
    expect(copy.links.size).toBe(f.production.links.size + 1);
    expect(f.production.from.get(nodeKey(lotNode(L, asLot('L9'))))).toBeUndefined();
  });

  it('ignores events that are none of its business, and a second creation of a job', () => {
    const f = fold(job);
    const view = { ...productionViewOf(f.production), ...viewOf(f.inventory) };
    for (const e of [
      { id: 'x1', type: 'MutationRejected', data: {} },
      { id: 'x2', type: 'ListClosed', data: { listId: 'l' } },
      { id: 'x3', type: 'StockMoved', data: { itemId: A, from: P, to: Q, quantity: 1 } },
      { id: 'x4', type: 'ProductionJobCreated', data: { jobId: J, code: 'K', itemId: A } },
      { id: 'x5', type: 'ProductionJobStarted', data: { jobId: J } },
    ]) {
      expect(genealogyChangesOf(view, e)).toEqual([]);
    }
  });
});

describe('productionStockChangesOf', () => {
  it('spells consumption and production in the inventory’s primitives', () => {
    const lot = asLot('L2');
    expect(
      productionStockChangesOf({
        id: 'e1',
        type: 'StockConsumed',
        data: { jobId: J, itemId: L, from: P, quantity: 2, lot },
      }),
    ).toEqual([
      { op: 'addStock', itemId: L, positionId: P, lot, serial: null, delta: -2 },
      {
        op: 'putMovement',
        movement: {
          id: 'e1',
          type: 'consumption',
          itemId: L,
          from: P,
          to: PRODUCTION,
          quantity: 2,
          lot,
          serial: null,
          reversedQuantity: 0,
          reversedBy: null,
        },
      },
    ]);
    expect(
      productionStockChangesOf({
        id: 'e2',
        type: 'StockProduced',
        data: { jobId: J, itemId: L, to: Q, quantity: 3, lot, expiresOn: '2027-01-31' },
      }),
    ).toEqual([
      { op: 'addStock', itemId: L, positionId: Q, lot, serial: null, delta: 3 },
      {
        op: 'putMovement',
        movement: expect.objectContaining({ type: 'production', from: PRODUCTION, to: Q }),
      },
      { op: 'putLot', lot: { itemId: L, lot, expiresOn: '2027-01-31' } },
    ]);
  });

  it('has nothing to say about other events', () => {
    for (const [type, data] of [
      ['ProductionJobStarted', { jobId: J }],
      ['StockMoved', { itemId: A, from: P, to: Q, quantity: 1 }],
      ['ListClosed', {}],
    ] as const) {
      expect(productionStockChangesOf({ id: 'e1', type, data })).toEqual([]);
    }
  });
});

// ─── Property: links and counters are sums of what happened ────────────────────────────────

type Op =
  | { readonly kind: 'consume'; readonly lot: number; readonly quantity: number }
  | { readonly kind: 'produce'; readonly lot: number; readonly quantity: number }
  | { readonly kind: 'reverse'; readonly pick: number; readonly share: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('consume' as const),
    lot: fc.integer({ min: 0, max: 2 }),
    quantity: fc.constantFrom(1, 2, 0.5, 1.25),
  }),
  fc.record({
    kind: fc.constant('produce' as const),
    lot: fc.integer({ min: 0, max: 2 }),
    quantity: fc.constantFrom(1, 3, 0.1),
  }),
  fc.record({
    kind: fc.constant('reverse' as const),
    pick: fc.nat(),
    share: fc.constantFrom(0.5, 1),
  }),
);

const PL = asItemId('item-PL');

describe('folding production (property)', () => {
  it('each link holds its movements minus their reversals; the job counts what it made', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        const events: Draft[] = [
          itemDefined(PL, 'PL', 'lot'),
          ev('ProductionJobCreated', { jobId: J, code: 'J', itemId: PL }),
          ev('ProductionJobStarted', { jobId: J }),
        ];
        const base = warehouse().length + 1; // + PUMP
        const moves: { id: string; type: Op['kind']; lot: number; quantity: number }[] = [];
        const expected = new Map<string, number>();
        let produced = 0;
        const bump = (key: string, q: number) =>
          expected.set(key, roundQty((expected.get(key) ?? 0) + q));
        const consumedKey = (lot: number) =>
          `consumed-into|${nodeKey(lotNode(L, asLot(`C${lot}`)))}`;
        const producedKey = (lot: number) => `produced|${nodeKey(lotNode(PL, asLot(`M${lot}`)))}`;
        for (const o of ops) {
          const id = `e${base + events.length + 1}`;
          if (o.kind === 'consume') {
            events.push(
              ev('StockConsumed', {
                jobId: J,
                itemId: L,
                from: P,
                quantity: o.quantity,
                lot: `C${o.lot}`,
              }),
            );
            moves.push({ id, type: 'consume', lot: o.lot, quantity: o.quantity });
            bump(consumedKey(o.lot), o.quantity);
          } else if (o.kind === 'produce') {
            events.push(
              ev('StockProduced', {
                jobId: J,
                itemId: PL,
                to: Q,
                quantity: o.quantity,
                lot: `M${o.lot}`,
              }),
            );
            moves.push({ id, type: 'produce', lot: o.lot, quantity: o.quantity });
            bump(producedKey(o.lot), o.quantity);
            produced = roundQty(produced + o.quantity);
          } else {
            const m = moves.splice(o.pick % Math.max(moves.length, 1), 1)[0];
            if (!m) continue;
            const q = roundQty(m.quantity * o.share);
            const consumed = m.type === 'consume';
            events.push(
              ev('MovementReversed', {
                movementId: m.id,
                itemId: consumed ? L : PL,
                from: consumed ? PRODUCTION : Q,
                to: consumed ? P : PRODUCTION,
                quantity: q,
                lot: consumed ? `C${m.lot}` : `M${m.lot}`,
              }),
            );
            bump(consumed ? consumedKey(m.lot) : producedKey(m.lot), -q);
            if (!consumed) produced = roundQty(produced - q);
          }
        }
        const f = fold(events);
        const view = productionViewOf(f.production);
        const actual = new Map<string, number>();
        const { inputs, outputs } = jobLinks(view, J);
        for (const l of [
          ...view.linksTo(nodeKey(jobNode(J))),
          ...view.linksFrom(nodeKey(jobNode(J))),
        ]) {
          const end = l.kind === 'consumed-into' ? l.fromKey : l.toKey;
          actual.set(`${l.kind}|${end}`, l.quantity);
          expect(l.status).toBe(l.quantity > 0 ? 'active' : 'reversed');
        }
        expect(actual).toEqual(expected);
        expect(inputs.length + outputs.length).toBe(
          [...expected.values()].filter((q) => q > 0).length,
        );
        expect(f.production.jobs.get(J)?.produced).toBe(produced);
        // Stock agrees: what the inventory holds of each consumed lot on P is minus its net.
        for (const [key, q] of expected) {
          if (!key.startsWith('consumed-into')) continue;
          const lot = asLot(key.slice(key.lastIndexOf(':') + 1));
          expect(viewOf(f.inventory).quantity(L, P, lot, null)).toBe(q === 0 ? 0 : -q);
        }
      }),
      { numRuns: 200 },
    );
  });
});
