import type { Bench } from '../../scripts/bench-kit.js';
import { asUserId, decideMutation, foldEvent, initialState, replayViewOf } from '../src/index.js';

/**
 * The decider runs inside every push, on the server and on the device: parse + role + rules.
 * A mid-size site: 2,000 items, 500 bins, 20,000 stock lines; a mix of moves, receipts,
 * shipments and adjustments as devices send them.
 */
function setup() {
  let state = initialState();
  let n = 0;
  const fold = (e: { type: string; data: unknown }) =>
    (state = foldEvent(state, { ...e, id: `e${++n}` }));
  const items = Array.from({ length: 2000 }, (_, i) => `item-${i}`);
  const bins = Array.from({ length: 500 }, (_, i) => `bin-${i}`);
  for (const [i, id] of items.entries()) {
    fold({
      type: 'ItemDefined',
      data: {
        itemId: id,
        sku: `SKU-${i}`,
        name: `Item ${i}`,
        tracking: 'none',
        barcodes: [],
        uom: 'pcs',
      },
    });
  }
  for (const [i, id] of bins.entries()) {
    fold({
      type: 'PositionDefined',
      data: {
        positionId: id,
        code: `B-${i}`,
        parentId: '@site',
        kind: 'bin',
        fixed: true,
        disposable: false,
      },
    });
  }
  for (let i = 0; i < 20_000; i++) {
    fold({
      type: 'StockReceived',
      data: {
        itemId: items[i % items.length],
        positionId: bins[(i * 7) % bins.length],
        quantity: 1000,
      },
    });
  }
  // Deterministic pseudo-random mix (no Math.random: runs are comparable).
  let seed = 42;
  const rnd = (k: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % k;
  const mutations: { name: string; args: Record<string, unknown> }[] = [];
  for (let i = 0; i < 100_000; i++) {
    const s = rnd(20_000);
    const itemId = items[s % items.length];
    const from = bins[(s * 7) % bins.length];
    const to = bins[rnd(bins.length)];
    const kind = rnd(20);
    if (kind < 10)
      mutations.push({
        name: 'moveStock',
        args: {
          itemId,
          from,
          to: to === from ? bins[(rnd(499) + 1 + bins.indexOf(from!)) % 500] : to,
          quantity: 1,
        },
      });
    else if (kind < 15)
      mutations.push({ name: 'receiveStock', args: { itemId, positionId: to, quantity: 3 } });
    else if (kind < 18) mutations.push({ name: 'shipStock', args: { itemId, from, quantity: 1 } });
    else
      mutations.push({
        name: 'adjustStock',
        args: { itemId, positionId: from, delta: -1, reason: 'damaged' },
      });
  }
  return { state, mutations, next: () => `x${++n}` };
}

const ctx = {
  actor: { userId: asUserId('bench'), role: 'operator' as const },
  mode: 'record' as const,
};

export const benches: Bench[] = [
  {
    name: 'domain.decide_per_s',
    run() {
      const { state, mutations, next } = setup();
      const view = replayViewOf(state);
      for (const m of mutations.slice(0, 10_000)) decideMutation(view, m, ctx); // warm-up
      let accepted = 0;
      const t0 = process.hrtime.bigint();
      for (const m of mutations) if (decideMutation(view, m, ctx).kind === 'accepted') accepted++;
      const decideS = Number(process.hrtime.bigint() - t0) / 1e9;
      if (accepted < mutations.length * 0.9)
        throw new Error(`bench mix is wrong: only ${accepted} accepted`);
      // The same mix with every accepted decision folded into state, as the replay does.
      // The view reads the live state, which the fold updates in place.
      let s = state;
      const t1 = process.hrtime.bigint();
      for (const m of mutations) {
        const d = decideMutation(view, m, ctx);
        if (d.kind === 'accepted') for (const e of d.events) s = foldEvent(s, { ...e, id: next() });
      }
      const foldS = Number(process.hrtime.bigint() - t1) / 1e9;
      return Promise.resolve({
        'domain.decide_per_s': { value: mutations.length / decideS, unit: 'commands/s' },
        'domain.decide_evolve_per_s': { value: mutations.length / foldS, unit: 'commands/s' },
      });
    },
  },
];
