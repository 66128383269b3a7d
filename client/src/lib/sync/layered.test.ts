import { describe, expect, it } from 'vitest';
import { asEventId, cloneState, evolve, initialState, viewOf } from '@floorsync/domain';
import type { InventoryEvent } from '@floorsync/domain';
import { A, L, P, Q, R, received, warehouse } from '@floorsync/domain/testing';
import { LayeredMap, flatten, overlayState } from './layered.js';

/** A small deterministic PRNG, so a failure can be replayed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

describe('layered (copy-on-write) maps and states', () => {
  it('behave like a copied Map under random operations, leave the base alone until flattened', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const r = rng(seed);
      const base = new Map<number, string>();
      for (let i = 0; i < 20; i++) base.set(i, `b${i}`);
      const before = [...base];
      const model = new Map(base);
      const layered = new LayeredMap(base);
      for (let step = 0; step < 200; step++) {
        const k = Math.floor(r() * 30);
        const op = r();
        if (op < 0.4) {
          layered.set(k, `v${step}`);
          model.set(k, `v${step}`);
        } else if (op < 0.7) {
          expect(layered.delete(k)).toBe(model.delete(k));
        } else {
          expect(layered.get(k)).toBe(model.get(k));
          expect(layered.has(k)).toBe(model.has(k));
        }
        expect(layered.size).toBe(model.size);
      }
      expect(new Map(layered)).toEqual(model);
      expect([...layered.keys()].sort((a, b) => a - b)).toEqual(
        [...model.keys()].sort((a, b) => a - b),
      );
      expect([...base]).toEqual(before);
      layered.flatten();
      expect(new Map(base)).toEqual(model);
    }
  });

  it('index Sets are copied when first read, so mutating them never reaches the base', () => {
    const base = new Map([['p', new Set(['a'])]]);
    const layered = new LayeredMap(base, (s) => new Set(s));
    layered.get('p')?.add('b');
    expect([...(base.get('p') ?? [])]).toEqual(['a']);
    expect([...(layered.get('p') ?? [])]).toEqual(['a', 'b']);
  });

  it('an overlay state decides and folds like a real copy, and flattens into the base', () => {
    let state = initialState();
    const events: InventoryEvent[] = [
      ...warehouse(),
      received(A, P, 10),
      received(L, Q, 3, { lot: 'X' as never }),
    ];
    events.forEach((e, i) => (state = evolve(state, { ...e, id: asEventId(`e${i}`) })));
    const copy = cloneState(state);
    const overlay = overlayState(state);
    const more: InventoryEvent[] = [
      { type: 'StockMoved', data: { itemId: A, from: P, to: R, quantity: 10 } },
      received(A, Q, 2),
    ];
    more.forEach((e, i) => {
      evolve(overlay, { ...e, id: asEventId(`m${i}`) });
      evolve(copy, { ...e, id: asEventId(`m${i}`) });
    });
    const look = (s: typeof state) => {
      const v = viewOf(s);
      return [v.linesAt(P), v.linesAt(Q), v.linesAt(R), v.linesOfItem(A), [...s.stock.values()]];
    };
    expect(look(overlay)).toEqual(look(copy));
    expect(viewOf(state).quantity(A, P, null, null)).toBe(10); // the base is untouched
    const merged = flatten(overlay);
    expect(merged.stock).toBe(state.stock);
    expect(look(state)).toEqual(look(copy));
  });
});
