import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ConflictDraft, FactMode } from '../shared/decision.js';
import { asEventId, asUserId } from '../shared/ids.js';
import { roundQty } from '../shared/quantity.js';
import { foldEvent, replayViewOf } from '../projection.js';
import type { DomainEvent } from '../sync/decide.js';
import { decideMutation } from '../sync/decide.js';
import type { Mutation } from '../testing/index.js';
import {
  A,
  C,
  L,
  P,
  Q,
  R,
  S,
  moveContainer,
  moveStock,
  receiveStock,
  reverseMovement,
  shipStock,
  warehouse,
} from '../testing/index.js';
import type { InventoryEvent } from './events.js';
import { isInventoryEvent } from '../projection.js';
import type { InventoryState } from './state.js';
import type { EntryKind } from './state.js';
import {
  OUTSIDE,
  SITE,
  changesOf,
  cloneState,
  entriesOf,
  entryOf,
  initialState,
  putEntry,
} from './state.js';

/**
 * Properties of the fold: whatever commands devices throw at it, stock equals the sum of the
 * movements recorded, and a serial is never in two places (or below zero) unless a conflict
 * says so.
 */

const bins = [P, Q, R, C];
const lots = ['L1', 'L2'];
const serials = ['S1', 'S2', 'S3'];

const quantity = fc.oneof(fc.integer({ min: 1, max: 20 }), fc.constantFrom(0.5, 1.25, 2.001));
const plainOrLot = fc.oneof(
  fc.record({ item: fc.constant(A), extra: fc.constant({}) }),
  fc.record({ item: fc.constant(L), extra: fc.constantFrom(...lots).map((lot) => ({ lot })) }),
);
const serialItem = fc.record({
  item: fc.constant(S),
  extra: fc.constantFrom(...serials).map((serial) => ({ serial })),
});

/** A command as a device could push it; `reverse` picks a past event by index. */
const command: fc.Arbitrary<Mutation | { reverse: number }> = fc.oneof(
  fc
    .tuple(plainOrLot, fc.constantFrom(...bins), quantity)
    .map(([t, at, q]) => receiveStock(t.item, at, q, t.extra)),
  fc
    .tuple(plainOrLot, fc.constantFrom(...bins), fc.constantFrom(...bins), quantity)
    .map(([t, a, b, q]) => moveStock(t.item, a, b, q, t.extra)),
  fc
    .tuple(plainOrLot, fc.constantFrom(...bins), quantity)
    .map(([t, at, q]) => shipStock(t.item, at, q, t.extra)),
  fc
    .tuple(
      plainOrLot,
      fc.constantFrom(...bins),
      fc.integer({ min: -15, max: 15 }).filter((d) => d !== 0),
    )
    .map(([t, at, d]) => ({
      name: 'adjustStock',
      args: { itemId: t.item, positionId: at, delta: d, reason: 'count-correction', ...t.extra },
    })),
  fc
    .tuple(serialItem, fc.constantFrom(...bins))
    .map(([t, at]) => receiveStock(t.item, at, 1, t.extra)),
  fc
    .tuple(serialItem, fc.constantFrom(...bins), fc.constantFrom(...bins))
    .map(([t, a, b]) => moveStock(t.item, a, b, 1, t.extra)),
  fc
    .tuple(serialItem, fc.constantFrom(...bins))
    .map(([t, at]) => shipStock(t.item, at, 1, t.extra)),
  fc.constantFrom(Q, R).map((to) => moveContainer(C, to)),
  fc.nat(200).map((reverse) => ({ reverse })),
);

interface Run {
  readonly state: InventoryState;
  readonly events: (DomainEvent & { id: string })[];
  readonly conflicts: ConflictDraft[];
}

function run(commands: readonly (Mutation | { reverse: number })[], mode: FactMode): Run {
  let state = initialState();
  const events: (DomainEvent & { id: string })[] = [];
  let n = 0;
  const append = (e: DomainEvent) => {
    const logged = { ...e, id: `e${++n}` };
    events.push(logged);
    state = foldEvent(state, logged);
  };
  for (const e of warehouse()) append(e);
  const conflicts: ConflictDraft[] = [];
  for (const c of commands) {
    const mutation =
      'reverse' in c ? reverseMovement(events[c.reverse % events.length]?.id ?? 'none') : c;
    const d = decideMutation(replayViewOf(state), mutation, {
      actor: { userId: asUserId('u'), role: 'supervisor' },
      mode,
    });
    if (d.kind === 'rejected') continue;
    conflicts.push(...d.conflicts);
    for (const e of d.events) append(e);
  }
  return { state, events, conflicts };
}

/** An independent ledger from the log: each event's stock effect, written out plainly. */
function ledger(events: readonly DomainEvent[]): Map<string, number> {
  const out = new Map<string, number>();
  const add = (
    item: string,
    pos: string,
    lot: string | undefined,
    serial: string | undefined,
    q: number,
  ) => {
    if (pos === OUTSIDE || pos === SITE || pos === '@production') return;
    const key = `${item}|${pos}|${lot ?? ''}|${serial ?? ''}`;
    out.set(key, roundQty((out.get(key) ?? 0) + q));
  };
  for (const e of events) {
    switch (e.type) {
      case 'StockReceived':
        add(e.data.itemId, e.data.positionId, e.data.lot, e.data.serial, e.data.quantity);
        break;
      case 'StockMoved':
        add(e.data.itemId, e.data.from, e.data.lot, e.data.serial, -e.data.quantity);
        add(e.data.itemId, e.data.to, e.data.lot, e.data.serial, e.data.quantity);
        break;
      case 'StockShipped':
        add(e.data.itemId, e.data.from, e.data.lot, e.data.serial, -e.data.quantity);
        break;
      case 'StockAdjusted':
        add(e.data.itemId, e.data.positionId, e.data.lot, e.data.serial, e.data.delta);
        break;
      case 'MovementReversed':
        add(e.data.itemId, e.data.from, e.data.lot, e.data.serial, -e.data.quantity);
        add(e.data.itemId, e.data.to, e.data.lot, e.data.serial, e.data.quantity);
        break;
      default:
        break;
    }
  }
  for (const [k, v] of out) if (Math.abs(v) < 1e-6) out.delete(k);
  return out;
}

const stockOf = (state: InventoryState) =>
  new Map(
    [...state.stock.values()].map((l) => [
      `${l.itemId}|${l.positionId}|${l.lot ?? ''}|${l.serial ?? ''}`,
      l.quantity,
    ]),
  );

const commands = fc.array(command, { minLength: 1, maxLength: 60 });

const changesOfLogged = (e: DomainEvent & { id: string }) =>
  isInventoryEvent(e) ? changesOf({ ...(e as InventoryEvent), id: asEventId(e.id) }) : [];

describe('folding evolve', () => {
  it('keeps stock equal to the sum of the movements in the log', () => {
    fc.assert(
      fc.property(commands, fc.constantFrom<FactMode>('record', 'strict'), (cmds, mode) => {
        const { state, events } = run(cmds, mode);
        expect(stockOf(state)).toEqual(ledger(events));
      }),
      { numRuns: 300 },
    );
  });

  it('never puts a serial in two places, or below zero, without a conflict saying so', () => {
    fc.assert(
      fc.property(commands, (cmds) => {
        const { state, conflicts } = run(cmds, 'record');
        for (const s of serials) {
          const lines = [...state.stock.values()].filter((l) => l.serial === s);
          const wrong =
            lines.filter((l) => l.quantity > 0).length > 1 || lines.some((l) => l.quantity < 0);
          if (wrong) {
            expect(
              conflicts.some((c) => c.kind === 'serial-elsewhere' && c.detail['serial'] === s),
            ).toBe(true);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('in strict mode nothing goes negative and no serial is in two places', () => {
    fc.assert(
      fc.property(commands, (cmds) => {
        const { state, conflicts } = run(cmds, 'strict');
        expect(conflicts).toEqual([]);
        for (const l of state.stock.values()) expect(l.quantity).toBeGreaterThan(0);
        for (const s of serials) {
          expect(
            [...state.stock.values()].filter((l) => l.serial === s).length,
          ).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('folding in two halves through a clone equals folding at once (rebase is safe)', () => {
    fc.assert(
      fc.property(commands, fc.nat(), (cmds, cut) => {
        const { state, events } = run(cmds, 'record');
        const k = cut % (events.length + 1);
        let first = initialState();
        for (const e of events.slice(0, k)) first = foldEvent(first, e);
        let second = cloneState(first);
        for (const e of events.slice(k)) second = foldEvent(second, e);
        expect(stockOf(second)).toEqual(stockOf(state));
        expect(second.positions).toEqual(state.positions);
        // The clone is independent: the first half is untouched by the second.
        expect(stockOf(first)).toEqual(ledger(events.slice(0, k)));
      }),
      { numRuns: 200 },
    );
  });

  it('putting back the entries a suffix of the log changed restores the state, indexes included', () => {
    fc.assert(
      fc.property(commands, fc.nat(), (cmds, cut) => {
        const { events } = run(cmds, 'record');
        const k = cut % (events.length + 1);
        let state = initialState();
        for (const e of events.slice(0, k)) state = foldEvent(state, e);
        const before = cloneState(state);
        // A savepoint: remember each entry as it was before its first change, then undo.
        const saved = new Map<string, [EntryKind, string, unknown]>();
        for (const e of events.slice(k)) {
          for (const change of changesOfLogged(e)) {
            for (const [kind, key] of entriesOf(change)) {
              const id = `${kind}\u0000${key}`;
              if (!saved.has(id)) saved.set(id, [kind, key, entryOf(state, kind, key)]);
            }
          }
          state = foldEvent(state, e);
        }
        for (const [kind, key, value] of [...saved.values()].reverse())
          putEntry(state, kind, key, value as never);
        expect(state).toEqual(before);
      }),
      { numRuns: 200 },
    );
  });

  it('a replica given only the changed entries, in any order, equals the state it copies', () => {
    fc.assert(
      fc.property(commands, fc.nat(), (cmds, cut) => {
        const { state, events } = run(cmds, 'record');
        const k = cut % (events.length + 1);
        let replica = initialState();
        for (const e of events.slice(0, k)) replica = foldEvent(replica, e);
        const touched = new Map<string, [EntryKind, string]>();
        for (const e of events.slice(k))
          for (const change of changesOfLogged(e))
            for (const [kind, key] of entriesOf(change))
              touched.set(`${kind}\u0000${key}`, [kind, key]);
        for (const [kind, key] of [...touched.values()].reverse())
          putEntry(replica, kind, key, entryOf(state, kind, key) as never);
        expect(replica).toEqual(state);
      }),
      { numRuns: 200 },
    );
  });
});
