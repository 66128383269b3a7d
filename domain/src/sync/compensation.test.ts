import { describe, expect, it } from 'vitest';
import type { InventoryState } from '../inventory/state.js';
import { viewOf } from '../inventory/state.js';
import type { ConflictKind } from '../shared/decision.js';
import { asConflictId, asPositionId, asSerial } from '../shared/ids.js';
import type { GivenEvent, Mutation } from '../testing/index.js';
import {
  A,
  L,
  P,
  Q,
  S,
  adjustStock,
  given,
  lot,
  positionDefined,
  received,
  serial,
  shipStock,
  receiveStock,
  warehouse,
} from '../testing/index.js';
import type { SuggestedCompensation } from './compensation.js';
import { suggestCompensation } from './compensation.js';
import type { DomainEvent } from './decide.js';

/** Decides `m` in record mode on `events`: the conflict it opens and the events after it. */
function record(events: readonly GivenEvent[], m: Mutation) {
  const o = given(...events).when(m, { mode: 'record' });
  if (o.decision.kind !== 'accepted') throw new Error(`refused: ${o.decision.message}`);
  const [conflict] = o.decision.conflicts;
  if (!conflict) throw new Error('no conflict');
  return { conflict, events: [...events, ...o.decision.events] as DomainEvent[] };
}

const stateOf = (events: readonly GivenEvent[]): InventoryState => given(...events).state;

/** The suggestion as the admin would queue it: a `compensate` resolution, decided as the server does. */
function resolveWith(
  events: readonly GivenEvent[],
  conflict: { kind: ConflictKind; detail: Readonly<Record<string, unknown>> },
  command: { name: string; args: unknown },
) {
  const id = asConflictId('cf-1');
  return given(...events)
    .withConflicts({
      id,
      kind: conflict.kind,
      status: 'open',
      mutation: null,
      detail: conflict.detail,
    })
    .when({
      name: 'resolveConflict',
      args: { conflictId: id, action: 'compensate', note: 'recounted', args: command },
    });
}
const suggested = (s: SuggestedCompensation | null) => {
  if (!s) throw new Error('no suggestion');
  return { name: s.name, args: s.args };
};

describe('suggestCompensation: negative stock', () => {
  /** P held 10; two devices, offline, shipped 8 and 6 from it. */
  const opened = () => {
    const first = given(...warehouse(), received(A, P, 10)).when(shipStock(A, P, 8));
    if (first.decision.kind !== 'accepted') throw new Error('refused');
    return record(
      [...warehouse(), received(A, P, 10), ...first.decision.events],
      shipStock(A, P, 6),
    );
  };

  it('brings the line back to zero, and applying it does', () => {
    const { conflict, events } = opened();
    expect(conflict.kind).toBe('negative-stock');
    const s = suggestCompensation(conflict, viewOf(stateOf(events)));
    expect(s).toEqual({
      name: 'adjustStock',
      args: { itemId: A, positionId: P, delta: 4, reason: 'conflict-resolution' },
      now: -4,
    });
    const o = resolveWith(events, conflict, suggested(s));
    expect(o.decision.kind).toBe('accepted');
    expect(viewOf(o.state).quantity(A, P, null, null)).toBe(0);
  });

  it('starts from the stock now, not from when the conflict opened', () => {
    const { conflict, events } = opened();
    const later = [...events, received(A, P, 1)];
    expect(conflict.detail['resulting']).toBe(-4);
    expect(suggestCompensation(conflict, viewOf(stateOf(later)))?.args.delta).toBe(3);
  });

  it('suggests nothing when the line is no longer negative', () => {
    const { conflict, events } = opened();
    expect(suggestCompensation(conflict, viewOf(stateOf([...events, received(A, P, 4)])))).toBe(
      null,
    );
  });

  it('keeps the lot of a lot line', () => {
    const L1 = lot('L1');
    const { conflict, events } = record(
      [...warehouse(), received(L, Q, 2, { lot: L1 })],
      shipStock(L, Q, 5, { lot: 'L1' }),
    );
    const s = suggestCompensation(conflict, viewOf(stateOf(events)));
    expect(s?.args).toMatchObject({ itemId: L, positionId: Q, lot: 'L1', delta: 3 });
    const o = resolveWith(events, conflict, suggested(s));
    expect(o.decision.kind).toBe('accepted');
    expect(viewOf(o.state).quantity(L, Q, L1, null)).toBe(0);
  });
});

describe('suggestCompensation: a serial in two places', () => {
  const SN = serial('SN-1');
  const serialAt = (state: InventoryState) =>
    viewOf(state)
      .linesWithSerial(asSerial('SN-1'))
      .filter((l) => l.quantity > 0)
      .map((l) => l.positionId);

  it('received again elsewhere: taken out of where it was recorded before', () => {
    const { conflict, events } = record(
      [...warehouse(), received(S, P, 1, { serial: SN })],
      receiveStock(S, Q, 1, { serial: 'SN-1' }),
    );
    expect(conflict.kind).toBe('serial-elsewhere');
    const s = suggestCompensation(conflict, viewOf(stateOf(events)));
    expect(s?.args).toEqual({
      itemId: S,
      positionId: P,
      serial: 'SN-1',
      delta: -1,
      reason: 'conflict-resolution',
    });
    const o = resolveWith(events, conflict, suggested(s));
    expect(o.decision.kind).toBe('accepted');
    expect(serialAt(o.state)).toEqual([Q]);
  });

  it('shipped from a place it was not recorded at: the record that still holds it loses it', () => {
    const { conflict, events } = record(
      [...warehouse(), received(S, P, 1, { serial: SN })],
      shipStock(S, Q, 1, { serial: 'SN-1' }),
    );
    expect(conflict.detail['expectedAt']).toBe(Q);
    const s = suggestCompensation(conflict, viewOf(stateOf(events)));
    expect(s?.args).toMatchObject({ positionId: P, serial: 'SN-1', delta: -1 });
    const o = resolveWith(events, conflict, suggested(s));
    expect(o.decision.kind).toBe('accepted');
    expect(serialAt(o.state)).toEqual([]);
  });

  it('suggests nothing once the serial is in one place again', () => {
    const { conflict, events } = record(
      [...warehouse(), received(S, P, 1, { serial: SN })],
      receiveStock(S, Q, 1, { serial: 'SN-1' }),
    );
    const fixed = given(...events).when(adjustStock(S, P, -1, 'lost', { serial: 'SN-1' }));
    expect(serialAt(fixed.state)).toEqual([Q]);
    expect(suggestCompensation(conflict, viewOf(fixed.state))).toBe(null);
  });

  it('suggests nothing when the older place no longer holds it (which record is wrong is not known)', () => {
    const R = asPositionId('pos-R');
    const { conflict, events } = record(
      [...warehouse(), received(S, P, 1, { serial: SN })],
      receiveStock(S, Q, 1, { serial: 'SN-1' }),
    );
    // P's unit was written off, and the serial turned up at R too: in Q and R now.
    const off = given(...events).when(adjustStock(S, P, -1, 'lost', { serial: 'SN-1' }));
    if (off.decision.kind !== 'accepted') throw new Error('refused');
    const both = given(...events, ...off.decision.events, received(S, R, 1, { serial: SN })).state;
    expect(serialAt(both).sort()).toEqual([Q, R].sort());
    expect(suggestCompensation(conflict, viewOf(both))).toBe(null);
  });

  it('suggests nothing for a serial in three places: one adjustment would be refused', () => {
    const R = asPositionId('pos-R');
    const twice = record(
      [...warehouse(), received(S, P, 1, { serial: SN })],
      receiveStock(S, Q, 1, { serial: 'SN-1' }),
    );
    const thrice = given(...twice.events).when(receiveStock(S, R, 1, { serial: 'SN-1' }), {
      mode: 'record',
    });
    if (thrice.decision.kind !== 'accepted') throw new Error('refused');
    const events = [...twice.events, ...thrice.decision.events];
    expect(serialAt(stateOf(events)).length).toBe(3);
    expect(suggestCompensation(twice.conflict, viewOf(stateOf(events)))).toBe(null);
    // What it would have suggested (out of the older place) is refused by the server.
    resolveWith(
      events,
      twice.conflict,
      adjustStock(S, P, -1, 'conflict-resolution', { serial: 'SN-1' }),
    ).thenRejects('SERIAL_ELSEWHERE');
  });
});

describe('suggestCompensation: negative stock on a retired tote', () => {
  it('suggests nothing: the server does not put stock into a retired position', () => {
    const T = asPositionId('pos-T');
    const start = [
      ...warehouse(),
      positionDefined(T, 'T', 'container', P, { disposable: true }),
      received(A, T, 2),
    ];
    const emptied = given(...start).when(shipStock(A, T, 2));
    if (emptied.decision.kind !== 'accepted') throw new Error('refused');
    const before = [...start, ...emptied.decision.events];
    expect(viewOf(stateOf(before)).position(T)?.retired).toBe(true);
    const { conflict, events } = record(before, shipStock(A, T, 3));
    expect(conflict.kind).toBe('negative-stock');
    expect(suggestCompensation(conflict, viewOf(stateOf(events)))).toBe(null);
    resolveWith(events, conflict, adjustStock(A, T, 3, 'conflict-resolution')).thenRejects(
      'POSITION_RETIRED',
    );
  });
});

describe('suggestCompensation: what it does not suggest', () => {
  const view = viewOf(stateOf(warehouse()));
  it.each([
    ['another kind', { kind: 'unknown-code', detail: { itemId: A } }],
    ['no item', { kind: 'negative-stock', detail: { positionId: P } }],
    ['no position', { kind: 'negative-stock', detail: { itemId: A } }],
    ['no serial', { kind: 'serial-elsewhere', detail: { itemId: S } }],
    [
      'an item the device does not know',
      { kind: 'negative-stock', detail: { itemId: 'x', positionId: P } },
    ],
  ])('%s', (_, conflict) => {
    expect(suggestCompensation(conflict, view)).toBe(null);
  });
});
