import { describe, expect, it } from 'vitest';
import {
  A,
  C,
  L,
  P,
  Q,
  R,
  S,
  ZONE,
  adjustStock,
  eventId,
  given,
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
} from '../testing/index.js';
import { asPositionId } from '../shared/ids.js';
import { contentsOf, pathLabel, stockLines, totalQuantity } from './queries.js';
import { viewOf } from './state.js';

const qtyAt = (state: Parameters<typeof viewOf>[0], item: typeof A, position: typeof P) =>
  totalQuantity(stockLines(viewOf(state), { itemId: item, positionId: position }));

describe('scenario 12: receipts', () => {
  it('a receipt of 4 A to P puts 4 on P', () => {
    const outcome = given(...warehouse())
      .when(receiveStock(A, P, 4), { role: 'operator' })
      .then({ type: 'StockReceived', data: { itemId: A, positionId: P, quantity: 4 } });
    expect(qtyAt(outcome.state, A, P)).toBe(4);
  });

  it('a second receipt of 3 merges into one line of 7', () => {
    const outcome = given(...warehouse(), received(A, P, 4)).when(receiveStock(A, P, 3), {
      role: 'operator',
    });
    const lines = stockLines(viewOf(outcome.state), { itemId: A, positionId: P });
    expect(lines).toEqual([{ itemId: A, positionId: P, lot: null, serial: null, quantity: 7 }]);
  });

  it('decimal quantities add up without float drift', () => {
    const outcome = given(...warehouse(), received(A, P, 0.1)).when(receiveStock(A, P, 0.2));
    expect(qtyAt(outcome.state, A, P)).toBe(0.3);
  });

  it('a lot-tracked item needs a lot, and the expiry is kept with the lot', () => {
    given(...warehouse())
      .when(receiveStock(L, P, 5))
      .thenRejects('LOT_REQUIRED');
    const outcome = given(...warehouse()).when(
      receiveStock(L, P, 5, { lot: 'L1', expiresOn: '2027-03-31' }),
    );
    expect(viewOf(outcome.state).lotsWithCode(lot('L1'))).toEqual([
      { itemId: L, lot: 'L1', expiresOn: '2027-03-31' },
    ]);
  });

  it('a plain item refuses lot and serial; an expiry without a lot is refused', () => {
    given(...warehouse())
      .when(receiveStock(A, P, 1, { lot: 'X' }))
      .thenRejects('LOT_NOT_ALLOWED');
    given(...warehouse())
      .when(receiveStock(A, P, 1, { serial: 'X' }))
      .thenRejects('SERIAL_NOT_ALLOWED');
    given(...warehouse())
      .when(receiveStock(A, P, 1, { expiresOn: '2027-01-01' }))
      .thenRejects('VALIDATION_FAILED');
  });

  it('unknown item or position is refused as an unknown code; virtual endpoints hold nothing', () => {
    given(...warehouse())
      .when(receiveStock('nope', P, 1))
      .thenRejects('UNKNOWN_ITEM');
    given(...warehouse())
      .when(receiveStock(A, 'nope', 1))
      .thenRejects('UNKNOWN_POSITION');
    given(...warehouse())
      .when(receiveStock(A, '@outside', 1))
      .thenRejects('VIRTUAL_POSITION');
  });

  it('a retired position receives nothing', () => {
    given(...warehouse(), { type: 'PositionRetired', data: { positionId: R, reason: 'manual' } })
      .when(receiveStock(A, R, 1))
      .thenRejects('POSITION_RETIRED');
  });
});

describe('scenario 13: serials', () => {
  it('receiving a serialized item without a serial is rejected', () => {
    given(...warehouse())
      .when(receiveStock(S, P, 1))
      .thenRejects('SERIAL_REQUIRED');
  });

  it('a serial line holds exactly 1', () => {
    given(...warehouse())
      .when(receiveStock(S, P, 2, { serial: 'SN1' }))
      .thenRejects('SERIAL_QUANTITY');
  });

  it('a serial already in stock elsewhere cannot be received again when checked before the scan', () => {
    given(...warehouse(), received(S, P, 1, { serial: serial('SN1') }))
      .when(receiveStock(S, Q, 1, { serial: 'SN1' }), { mode: 'strict' })
      .thenRejects('SERIAL_ELSEWHERE');
  });

  it('the same receipt scanned offline is recorded with a serial-elsewhere conflict', () => {
    const outcome = given(...warehouse(), received(S, P, 1, { serial: serial('SN1') }))
      .when(receiveStock(S, Q, 1, { serial: 'SN1' }), { mode: 'record' })
      .thenConflicts('serial-elsewhere', {
        type: 'StockReceived',
        data: { itemId: S, positionId: Q, quantity: 1, serial: serial('SN1') },
      });
    // Both facts are kept: the serial shows in two places until an admin resolves it.
    expect(
      viewOf(outcome.state)
        .linesWithSerial(serial('SN1'))
        .map((l) => l.positionId)
        .sort(),
    ).toEqual([P, Q]);
  });

  it('moving a serial from where it is not recorded is a serial-elsewhere conflict offline, refused online', () => {
    const base = given(...warehouse(), received(S, P, 1, { serial: serial('SN1') }));
    base
      .when(moveStock(S, Q, R, 1, { serial: 'SN1' }), { mode: 'strict' })
      .thenRejects('SERIAL_ELSEWHERE');
    base
      .when(moveStock(S, Q, R, 1, { serial: 'SN1' }), { mode: 'record' })
      .thenConflicts('serial-elsewhere');
  });

  it('moving a serial where it is recorded is clean', () => {
    const outcome = given(...warehouse(), received(S, P, 1, { serial: serial('SN1') }))
      .when(moveStock(S, P, Q, 1, { serial: 'SN1' }))
      .then({
        type: 'StockMoved',
        data: { itemId: S, from: P, to: Q, quantity: 1, serial: serial('SN1') },
      });
    expect(viewOf(outcome.state).linesWithSerial(serial('SN1'))).toEqual([
      { itemId: S, positionId: Q, lot: null, serial: 'SN1', quantity: 1 },
    ]);
  });
});

describe('scenario 14: transfers and adjustments', () => {
  it('a transfer with source = destination is rejected', () => {
    given(...warehouse(), received(A, P, 5))
      .when(moveStock(A, P, P, 1))
      .thenRejects('SAME_POSITION');
  });

  it('a transfer moves quantity between lines', () => {
    const outcome = given(...warehouse(), received(A, P, 5))
      .when(moveStock(A, P, Q, 2), { role: 'operator' })
      .then({ type: 'StockMoved', data: { itemId: A, from: P, to: Q, quantity: 2 } });
    expect([qtyAt(outcome.state, A, P), qtyAt(outcome.state, A, Q)]).toEqual([3, 2]);
  });

  it('an adjustment needs a reason code', () => {
    given(...warehouse(), received(A, P, 5))
      .when(adjustStock(A, P, -1, undefined))
      .thenRejects('VALIDATION_FAILED');
    const bad = given(...warehouse(), received(A, P, 5)).when({
      name: 'adjustStock',
      args: { itemId: A, positionId: P, delta: -1, reason: 'because' },
    });
    bad.thenRejects('VALIDATION_FAILED');
    expect(bad.decision.kind === 'rejected' && bad.decision.message).toContain(
      'reason must be one of',
    );
  });

  it('an adjustment with a reason changes stock by its signed delta', () => {
    const outcome = given(...warehouse(), received(A, P, 5))
      .when(adjustStock(A, P, -2, 'damaged'), { role: 'operator' })
      .then({
        type: 'StockAdjusted',
        data: { itemId: A, positionId: P, delta: -2, reason: 'damaged' },
      });
    expect(qtyAt(outcome.state, A, P)).toBe(3);
  });

  it('an adjustment of 0 is invalid', () => {
    given(...warehouse())
      .when(adjustStock(A, P, 0, 'found'))
      .thenRejects('VALIDATION_FAILED');
  });

  it('taking more than there is: refused when strict, recorded with negative-stock when a fact', () => {
    const base = given(...warehouse(), received(A, P, 10));
    base.when(moveStock(A, P, Q, 12), { mode: 'strict' }).thenRejects('INSUFFICIENT_STOCK');
    const outcome = base
      .when(moveStock(A, P, Q, 12), { mode: 'record' })
      .thenConflicts('negative-stock');
    expect(qtyAt(outcome.state, A, P)).toBe(-2);
    const conflict =
      outcome.decision.kind === 'accepted' ? outcome.decision.conflicts[0] : undefined;
    expect(conflict?.key).toBe(`negative-stock/${A}/${P}/`);
    expect(conflict?.detail).toMatchObject({ available: 10, requested: 12, resulting: -2 });
  });
});

describe('scenario 15: containers', () => {
  const nested = () => [
    ...warehouse(),
    positionDefined(asPositionId('pos-T'), 'T', 'container', C),
    received(A, C, 4),
    received(L, asPositionId('pos-T'), 2, { lot: lot('L9') }),
    positionDefined(asPositionId('pos-B'), 'B', 'container', asPositionId('pos-T')),
    received(A, asPositionId('pos-B'), 3),
  ];

  it('moving pallet C from P to Q moves everything inside it, at any depth', () => {
    const outcome = given(...nested())
      .when(moveContainer(C, Q), { role: 'operator' })
      .then({ type: 'ContainerMoved', data: { containerId: C, from: P, to: Q } });
    const view = viewOf(outcome.state);
    const underQ = contentsOf(view, Q);
    expect(underQ.positions.map((p) => [p.position.code, p.depth])).toEqual([
      ['C', 1],
      ['T', 2],
      ['B', 3],
    ]);
    expect(totalQuantity(underQ.lines.filter((l) => l.itemId === A))).toBe(4 + 3);
    expect(totalQuantity(underQ.lines.filter((l) => l.itemId === L))).toBe(2);
    expect(contentsOf(view, P).lines).toEqual([]);
    expect(pathLabel(view, asPositionId('pos-T'))).toBe('Z / Q / C / T');
    expect(pathLabel(view, asPositionId('pos-B'))).toBe('Z / Q / C / T / B');
    expect(qtyAt(outcome.state, A, asPositionId('pos-B'))).toBe(3); // the box's own stock stays in it
  });

  it('moving a fixed position is rejected', () => {
    given(...nested())
      .when(moveContainer(P, Q))
      .thenRejects('FIXED_POSITION');
    given(...nested())
      .when(moveContainer(ZONE, Q))
      .thenRejects('FIXED_POSITION');
  });

  it('a container cannot go into itself or where it already is', () => {
    given(...nested())
      .when(moveContainer(C, 'pos-T'))
      .thenRejects('CONTAINER_CYCLE');
    given(...nested())
      .when(moveContainer(C, C))
      .thenRejects('CONTAINER_CYCLE');
    given(...nested())
      .when(moveContainer(C, P))
      .thenRejects('SAME_POSITION');
    given(...nested())
      .when(moveContainer(C, '@outside'))
      .thenRejects('VIRTUAL_POSITION');
  });

  it('a disposable container is retired once emptied', () => {
    const tote = asPositionId('pos-D');
    given(
      ...warehouse(),
      positionDefined(tote, 'D', 'container', P, { disposable: true }),
      received(A, tote, 3),
    )
      .when(moveStock(A, tote, Q, 3))
      .then(
        { type: 'StockMoved', data: { itemId: A, from: tote, to: Q, quantity: 3 } },
        { type: 'PositionRetired', data: { positionId: tote, reason: 'disposable-empty' } },
      );
    given(
      ...warehouse(),
      positionDefined(tote, 'D', 'container', P, { disposable: true }),
      received(A, tote, 3),
    )
      .when(moveStock(A, tote, Q, 2))
      .then({ type: 'StockMoved', data: { itemId: A, from: tote, to: Q, quantity: 2 } });
  });
});

describe('scenario 16: reversals', () => {
  const receipt = { ...received(A, P, 4), id: 'rcpt-1' };

  it('reversing a receipt of 4 brings stock back to 0 and marks the original reversed', () => {
    const outcome = given(...warehouse(), receipt)
      .when(reverseMovement('rcpt-1'), { role: 'supervisor' })
      .then({
        type: 'MovementReversed',
        data: {
          movementId: eventId('rcpt-1'),
          itemId: A,
          from: P,
          to: asPositionId('@outside'),
          quantity: 4,
        },
      });
    const view = viewOf(outcome.state);
    expect(stockLines(view, { itemId: A })).toEqual([]);
    expect(view.movement(eventId('rcpt-1'))).toMatchObject({
      reversedQuantity: 4,
      reversedBy: 'e10',
    });
  });

  it('a second reversal of the same movement is rejected', () => {
    const first = given(...warehouse(), receipt).when(reverseMovement('rcpt-1'));
    const reversal = first.decision.kind === 'accepted' ? first.decision.events[0] : undefined;
    if (!reversal) throw new Error('first reversal was not accepted');
    given(...warehouse(), receipt, { ...reversal, id: 'rev-1' })
      .when(reverseMovement('rcpt-1'))
      .thenRejects('ALREADY_REVERSED');
  });

  it('a reversal larger than the original is rejected; a partial one is allowed', () => {
    given(...warehouse(), receipt)
      .when(reverseMovement('rcpt-1', 5))
      .thenRejects('REVERSAL_EXCEEDS');
    const outcome = given(...warehouse(), receipt).when(reverseMovement('rcpt-1', 1));
    expect(qtyAt(outcome.state, A, P)).toBe(3);
  });

  it('reversals cannot be reversed, unknown movements are unknown, and goods already gone cannot be un-received', () => {
    given(...warehouse())
      .when(reverseMovement('nope'))
      .thenRejects('UNKNOWN_MOVEMENT');
    const shipped = { ...shipEvent(), id: 'ship-1' };
    given(...warehouse(), receipt, shipped)
      .when(reverseMovement('rcpt-1'))
      .thenRejects('INSUFFICIENT_STOCK');
  });

  it('a shipped serial found and recorded again cannot have its shipment reversed (sim seed 350)', () => {
    const sn = serial('SN1');
    const shipped = {
      type: 'StockShipped' as const,
      data: { itemId: S, from: P, quantity: 1, serial: sn },
      id: 'ship-sn',
    };
    const found = {
      type: 'StockAdjusted' as const,
      data: { itemId: S, positionId: P, delta: 1, reason: 'found' as const, serial: sn },
    };
    const base = [...warehouse(), received(S, P, 1, { serial: sn }), shipped] as const;
    // Without the serial back in stock, the shipment reverses as before.
    const undone = given(...base).when(reverseMovement('ship-sn'));
    expect(totalQuantity(stockLines(viewOf(undone.state), { itemId: S }))).toBe(1);
    given(...base, found)
      .when(reverseMovement('ship-sn'))
      .thenRejects('SERIAL_ELSEWHERE');
  });

  it('reversing a serial transfer takes it from where it went, which is not "elsewhere"', () => {
    const sn = serial('SN1');
    const move = {
      type: 'StockMoved' as const,
      data: { itemId: S, from: P, to: Q, quantity: 1, serial: sn },
      id: 'mv-sn',
    };
    const outcome = given(...warehouse(), received(S, P, 1, { serial: sn }), move).when(
      reverseMovement('mv-sn'),
    );
    expect(stockLines(viewOf(outcome.state), { itemId: S }).map((l) => l.positionId)).toEqual([P]);
  });

  it('reversing a transfer moves the goods back', () => {
    const move = {
      type: 'StockMoved' as const,
      data: { itemId: A, from: P, to: Q, quantity: 3 },
      id: 'mv-1',
    };
    const outcome = given(...warehouse(), receipt, move).when(reverseMovement('mv-1'));
    expect([qtyAt(outcome.state, A, P), qtyAt(outcome.state, A, Q)]).toEqual([4, 0]);
  });
});

const shipEvent = () => ({
  type: 'StockShipped' as const,
  data: { itemId: A, from: P, quantity: 4 },
});

describe('scenario 17: shipments', () => {
  it('shipping exactly the quantity on hand removes the line from stock views', () => {
    const outcome = given(...warehouse(), received(A, P, 4), received(A, Q, 1))
      .when(shipStock(A, P, 4), { role: 'operator' })
      .then({ type: 'StockShipped', data: { itemId: A, from: P, quantity: 4 } });
    expect(stockLines(viewOf(outcome.state), { itemId: A }).map((l) => l.positionId)).toEqual([Q]);
    expect(viewOf(outcome.state).linesAt(P)).toEqual([]);
  });
});

describe('master data', () => {
  it('defines items with normalized barcodes; SKU and barcode are unique', () => {
    given()
      .when({
        name: 'defineItem',
        args: {
          itemId: 'i1',
          sku: 'X-1',
          name: 'Bolt',
          tracking: 'none',
          barcodes: ['4006381333931'],
        },
      })
      .then({
        type: 'ItemDefined',
        data: {
          itemId: 'i1',
          sku: 'X-1',
          name: 'Bolt',
          tracking: 'none',
          barcodes: ['04006381333931'],
          uom: 'pcs',
        },
      } as never);
    given(...warehouse())
      .when({ name: 'defineItem', args: { itemId: 'i2', sku: 'A', name: 'Dup', tracking: 'none' } })
      .thenRejects('DUPLICATE_SKU');
    given(...warehouse())
      .when({
        name: 'defineItem',
        args: {
          itemId: 'i2',
          sku: 'B',
          name: 'Dup',
          tracking: 'none',
          barcodes: ['04006381333931'],
        },
      })
      .thenRejects('DUPLICATE_BARCODE');
    given()
      .when({
        name: 'defineItem',
        args: {
          itemId: 'i1',
          sku: 'X',
          name: 'Bad',
          tracking: 'none',
          barcodes: ['4006381333932'],
        },
      })
      .thenRejects('INVALID_BARCODE');
  });

  it('tracking cannot change while the item has stock', () => {
    given(...warehouse(), received(A, P, 1))
      .when({ name: 'defineItem', args: { itemId: A, sku: 'A', name: 'A', tracking: 'lot' } })
      .thenRejects('TRACKING_LOCKED');
    given(itemDefined(A, 'A', 'none'))
      .when({
        name: 'defineItem',
        args: { itemId: A, sku: 'A', name: 'A renamed', tracking: 'lot' },
      })
      .then({
        type: 'ItemDefined',
        data: { itemId: A, sku: 'A', name: 'A renamed', tracking: 'lot', barcodes: [], uom: 'pcs' },
      });
  });

  it('defines positions under the site root by default; codes are unique; parents must exist', () => {
    given()
      .when({ name: 'definePosition', args: { positionId: 'p1', code: 'WH1', kind: 'warehouse' } })
      .then({
        type: 'PositionDefined',
        data: {
          positionId: 'p1',
          code: 'WH1',
          parentId: '@site',
          kind: 'warehouse',
          fixed: true,
          disposable: false,
        },
      } as never);
    given(...warehouse())
      .when({ name: 'definePosition', args: { positionId: 'p2', code: 'P', kind: 'bin' } })
      .thenRejects('DUPLICATE_CODE');
    given()
      .when({
        name: 'definePosition',
        args: { positionId: 'p2', code: 'X', kind: 'bin', parentId: 'ghost' },
      })
      .thenRejects('UNKNOWN_POSITION');
    given(...warehouse())
      .when({
        name: 'definePosition',
        args: { positionId: P, code: 'P', kind: 'bin', parentId: Q },
      })
      .thenRejects('PARENT_CHANGE');
  });

  it('a position is retired only when empty', () => {
    given(...warehouse(), received(A, R, 1))
      .when({ name: 'retirePosition', args: { positionId: R } })
      .thenRejects('POSITION_NOT_EMPTY');
    given(...warehouse())
      .when({ name: 'retirePosition', args: { positionId: P } })
      .thenRejects('POSITION_NOT_EMPTY'); // pallet C stands on P
    given(...warehouse())
      .when({ name: 'retirePosition', args: { positionId: R } })
      .then({ type: 'PositionRetired', data: { positionId: R, reason: 'manual' } });
  });
});
