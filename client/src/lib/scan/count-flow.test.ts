import { describe, expect, it } from 'vitest';
import { asEventId, evolve, initialState, recordCountArgs, viewOf } from '@floorsync/domain';
import type { InventoryEvent } from '@floorsync/domain';
import { A, L, P, Q, S, lot, received, serial, warehouse } from '@floorsync/domain/testing';
import { en } from '../i18n/en.js';
import type { CountAdvance, CountFlow } from './count-flow.js';
import {
  advanceCount,
  cancelItem,
  countAfresh,
  emptyPosition,
  finishPosition,
  pendingItem,
  pendingRefusal,
  removeSerial,
  startCount,
} from './count-flow.js';

const viewWith = (...extra: InventoryEvent[]) => {
  let state = initialState();
  [...warehouse(), ...extra].forEach(
    (e, i) => (state = evolve(state, { ...e, id: asEventId(`e${i}`) })),
  );
  return viewOf(state);
};
const view = viewWith(
  received(A, P, 10),
  received(L, P, 4, { lot: lot('L1') }),
  received(S, P, 1, { serial: serial('SN-1') }),
  received(S, P, 1, { serial: serial('SN-2') }),
  received(S, Q, 1, { serial: serial('SN-9') }),
);
const C1 = '0192f0c8-0000-7000-8000-00000000c001';

function feed(state: CountFlow, ...inputs: string[]): { last: CountAdvance; commands: unknown[] } {
  let last: CountAdvance = { ok: true, state, commands: [] };
  const commands: unknown[] = [];
  for (const input of inputs) {
    last = advanceCount(last.state, input, view);
    if (!last.ok) throw new Error(`"${input}" refused: ${last.error.key}`);
    commands.push(...last.commands);
  }
  return { last, commands };
}

describe('counting a position on the scanner', () => {
  it('a barcode scanned at "How many?" is refused, never counted as its digits', () => {
    const at = feed(startCount(C1), 'P', 'A').last.state;
    expect(at.step).toBe('quantity');
    for (const code of ['4006381333931', '4012345000054']) {
      const r = advanceCount(at, code, view);
      expect(r, code).toMatchObject({
        ok: false,
        error: { key: 'flow.error.codeNotQuantity', params: { code } },
      });
    }
    expect(advanceCount(at, '2000000000', view)).toMatchObject({
      ok: false,
      error: { key: 'flow.error.quantityTooLarge' },
    });
    // 0 and ordinary counts still go through.
    expect(advanceCount(at, '0', view)).toMatchObject({ ok: true });
    expect(advanceCount(at, '12345678', view)).toMatchObject({ ok: true });
    expect(advanceCount(at, '12345670', view)).toMatchObject({ ok: true }); // a GTIN-8 digit
  });

  it('position, item, count → startPositionCount and a recordCount carrying what the device held', () => {
    const { last, commands } = feed(startCount(C1), 'P', '4006381333931', '8');
    expect(commands).toEqual([
      { name: 'startPositionCount', args: { sessionId: C1, positionId: P } },
      {
        name: 'recordCount',
        args: { sessionId: C1, positionId: P, itemId: A, counted: 8, expected: 10 },
      },
    ]);
    // The position stays for the next item.
    expect(last.state).toMatchObject({ step: 'item', position: { id: P }, item: null });
    expect(recordCountArgs.safeParse((commands[1] as { args: unknown }).args).success).toBe(true);
  });

  it('0 is a count (none of this item here); a negative or text is not', () => {
    const { commands } = feed(startCount(C1), 'P', 'A', '0');
    expect(commands[1]).toMatchObject({ args: { counted: 0, expected: 10 } });
    const at = feed(startCount(C1), 'P', 'A').last.state;
    for (const bad of ['-1', 'x', '1.1234567']) {
      const r = advanceCount(at, bad, view);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(en[r.error.key as keyof typeof en]).toBeDefined();
    }
  });

  it('a lot-tracked item asks its lot (or takes it from a GS1 code); expected is per lot', () => {
    const typed = feed(startCount(C1), 'P', 'L', 'L1', '3').commands[1];
    expect(typed).toEqual({
      name: 'recordCount',
      args: { sessionId: C1, positionId: P, itemId: L, lot: 'L1', counted: 3, expected: 4 },
    });
    const gs1 = feed(startCount(C1), 'P', '(01)09506000134352(10)L1', '3').commands[1];
    expect(gs1).toEqual(typed);
    const other = feed(startCount(C1), 'P', 'L', 'L9', '2').commands[1];
    expect(other).toMatchObject({ args: { lot: 'L9', counted: 2, expected: 0 } });
  });

  it('a serialized item: serials one by one, Enter ends the set; expected is the device’s set', () => {
    const { commands, last } = feed(startCount(C1), 'P', 'S', 'SN-2', 'SN-4', '');
    expect(commands[1]).toEqual({
      name: 'recordCount',
      args: {
        sessionId: C1,
        positionId: P,
        itemId: S,
        serials: ['SN-2', 'SN-4'],
        expectedSerials: ['SN-1', 'SN-2'],
      },
    });
    expect(last.state.step).toBe('item');
    expect(recordCountArgs.safeParse((commands[1] as { args: unknown }).args).success).toBe(true);
    // The same serial twice is refused, the set stays as it was.
    const at = feed(startCount(C1), 'P', 'S', 'SN-2').last.state;
    const twice = advanceCount(at, 'SN-2', view);
    expect(twice).toMatchObject({ ok: false, error: { key: 'count.error.serialTwice' } });
    expect(twice.state.serials).toEqual(['SN-2']);
  });

  it('scanning another position moves there (a new start); an item first is refused', () => {
    const { commands, last } = feed(startCount(C1), 'P', 'A', '5', 'Q');
    expect(commands).toEqual([
      { name: 'startPositionCount', args: { sessionId: C1, positionId: P } },
      expect.objectContaining({ name: 'recordCount' }),
      { name: 'startPositionCount', args: { sessionId: C1, positionId: Q } },
    ]);
    expect(last.state).toMatchObject({ position: { id: Q }, step: 'item' });
    expect(advanceCount(startCount(C1), 'A', view)).toMatchObject({
      ok: false,
      error: { key: 'flow.error.expectedPosition' },
    });
  });

  it('a half-done item count is never dropped unasked: another position waits until it is entered or cancelled', () => {
    // At each step of an item's count — its quantity, its lot, its serials — a position scan
    // is refused, the state kept, and the message names the item and the way on.
    for (const inputs of [
      ['P', 'A'],
      ['P', 'L'],
      ['P', 'S', 'SN-1'],
    ]) {
      const at = feed(startCount(C1), ...inputs).last.state;
      const item = pendingItem(at);
      expect(item, inputs.join(' ')).not.toBeNull();
      const r = advanceCount(at, 'Q', view);
      expect(r, inputs.join(' ')).toMatchObject({
        ok: false,
        state: at,
        error: { key: 'count.error.itemPendingPosition', params: { code: 'Q', sku: item?.sku } },
      });
      // "Position is empty" and "Finish position" wait the same way.
      expect(pendingRefusal(at)).toEqual({
        key: 'count.error.itemPending',
        params: { sku: item?.sku },
      });
      // Cancelled, the position stays and the next scan may move on.
      const cancelled = cancelItem(at);
      expect(cancelled).toMatchObject({ position: { id: P }, item: null, step: 'item' });
      expect(pendingItem(cancelled)).toBeNull();
      expect(pendingRefusal(cancelled)).toBeNull();
      expect(feed(cancelled, 'Q').commands).toEqual([
        { name: 'startPositionCount', args: { sessionId: C1, positionId: Q } },
      ]);
    }
    // Nothing pending at the position or item step.
    expect(pendingRefusal(startCount(C1))).toBeNull();
    expect(pendingRefusal(feed(startCount(C1), 'P').last.state)).toBeNull();
    for (const key of ['count.error.itemPending', 'count.error.itemPendingPosition'])
      expect(en[key as keyof typeof en]).toContain('{sku}');
  });

  it('a serial set of a pair the operator counted before continues it (a set ended by an Enter too many is not replaced by the next serial)', () => {
    const earlier = {
      serials: (positionId: string, itemId: string) =>
        positionId === P && itemId === S ? ['SN-1', 'SN-2'] : null,
      counted: () => null,
    };
    const at = feed(startCount(C1), 'P').last.state;
    // By the item's code, or by a serial: the set starts with the earlier ones.
    for (const [input, serials] of [
      ['S', ['SN-1', 'SN-2']],
      ['SN-9', ['SN-1', 'SN-2', 'SN-9']],
      ['SN-2', ['SN-1', 'SN-2']],
    ] as const) {
      const r = advanceCount(at, input, view, earlier);
      expect(r, input).toMatchObject({
        ok: true,
        state: { step: 'serials', serials, continued: 2 },
      });
    }
    const r = advanceCount(advanceCount(at, 'SN-9', view, earlier).state, '', view, earlier);
    expect(r.ok && r.commands[0]?.args).toMatchObject({ serials: ['SN-1', 'SN-2', 'SN-9'] });
    // Cancelled, nothing is recorded: the earlier set stands as it was.
    expect(cancelItem(advanceCount(at, 'S', view, earlier).state)).toEqual(at);
    // "Count afresh": from nothing; the new set replaces the earlier one.
    const afresh = countAfresh(advanceCount(at, 'SN-9', view, earlier).state);
    expect(afresh).toMatchObject({ step: 'serials', serials: [] });
    expect(afresh.continued).toBeUndefined();
    expect(feed(afresh, 'SN-9', '').commands[0]).toMatchObject({ args: { serials: ['SN-9'] } });
    // Another item, or no earlier count: a set from nothing.
    expect(advanceCount(at, 'S', view).state).toMatchObject({ serials: [] });
    expect(advanceCount(at, 'S', view).state.continued).toBeUndefined();
  });

  it('a serial scanned by mistake is taken out of the set, one by one; the rest is recorded', () => {
    const at = feed(startCount(C1), 'P', 'S', 'SN-1', 'SN-9', 'SN-2').last.state;
    const out = removeSerial(at, 'SN-9');
    expect(out).toMatchObject({ step: 'serials', serials: ['SN-1', 'SN-2'] });
    // Scanned again, it is back; the set is recorded without it otherwise.
    expect(feed(out, 'SN-9').last.state.serials).toEqual(['SN-1', 'SN-2', 'SN-9']);
    expect(feed(out, '').commands[0]).toMatchObject({
      name: 'recordCount',
      args: { serials: ['SN-1', 'SN-2'], expectedSerials: ['SN-1', 'SN-2'] },
    });
    // All of them out: an empty set (none of the item here), as an Enter at once would be.
    const none = removeSerial(removeSerial(out, 'SN-1'), 'SN-2');
    expect(feed(none, '').commands[0]).toMatchObject({ args: { serials: [] } });
    // A serial not in the set, or another step: nothing changes.
    expect(removeSerial(at, 'SN-7')).toBe(at);
    const quantity = feed(startCount(C1), 'P', 'A').last.state;
    expect(removeSerial(quantity, 'SN-1')).toBe(quantity);
  });

  it('taking one of a continued set’s serials out shrinks what is continued; the set is still replaced whole', () => {
    const earlier = {
      serials: (positionId: string, itemId: string) =>
        positionId === P && itemId === S ? ['SN-1', 'SN-2'] : null,
      counted: () => null,
    };
    const at = advanceCount(feed(startCount(C1), 'P').last.state, 'SN-9', view, earlier).state;
    expect(at).toMatchObject({ serials: ['SN-1', 'SN-2', 'SN-9'], continued: 2 });
    // A new serial out: the earlier ones are all still there.
    expect(removeSerial(at, 'SN-9')).toMatchObject({ serials: ['SN-1', 'SN-2'], continued: 2 });
    // An earlier one out: one fewer continued; both out, the set is no longer a continuation.
    const one = removeSerial(at, 'SN-1');
    expect(one).toMatchObject({ serials: ['SN-2', 'SN-9'], continued: 1 });
    const both = removeSerial(one, 'SN-2');
    expect(both).toMatchObject({ serials: ['SN-9'] });
    expect(both.continued).toBeUndefined();
    expect(advanceCount(one, '', view, earlier)).toMatchObject({
      ok: true,
      commands: [{ args: { serials: ['SN-2', 'SN-9'] } }],
    });
  });

  it('a GS1 code’s count (AI 30) is kept until the lot is known: then the count is complete', () => {
    const expected = {
      name: 'recordCount',
      args: { sessionId: C1, positionId: P, itemId: L, lot: 'L1', counted: 12, expected: 4 },
    };
    // The code names the lot too: complete at once.
    expect(feed(startCount(C1), 'P', '(01)09506000134352(30)12(10)L1').commands[1]).toEqual(
      expected,
    );
    // The count without a lot: the lot is asked; typed or scanned, it completes the count.
    const waiting = feed(startCount(C1), 'P', '(01)09506000134352(30)12').last.state;
    expect(waiting).toMatchObject({ step: 'lot', quantity: 12 });
    expect(feed(waiting, 'L1').commands).toEqual([expected]);
    expect(feed(waiting, '(01)09506000134352(10)L1').commands).toEqual([expected]);
    // At the lot step, the item's code with a lot and its own count: that count.
    const at = feed(startCount(C1), 'P', 'L').last.state;
    expect(feed(at, '(01)09506000134352(30)7(10)L1').commands).toEqual([
      { ...expected, args: { ...expected.args, counted: 7 } },
    ]);
    // Once recorded, nothing is carried to the next item.
    expect(feed(waiting, 'L1').last.state).toEqual(startCount(C1, waiting.position));
  });

  it('a GS1 code’s count for a pair this operator counted before is offered, not recorded over their count', () => {
    const earlier = {
      serials: () => null,
      counted: (positionId: string, itemId: string, lot: string | null) =>
        positionId === P && itemId === L && lot === 'L1' ? 12 : null,
    };
    const at = feed(startCount(C1), 'P').last.state;
    const offered = advanceCount(at, '(01)09506000134352(30)12(10)L1', view, earlier);
    expect(offered).toMatchObject({
      ok: true,
      commands: [],
      state: { step: 'quantity', lot: 'L1', quantity: 12 },
    });
    // Enter takes the label's count; a typed number is the whole count.
    expect(advanceCount(offered.state, '', view, earlier)).toMatchObject({
      ok: true,
      commands: [{ args: { lot: 'L1', counted: 12 } }],
    });
    expect(advanceCount(offered.state, '24', view, earlier)).toMatchObject({
      ok: true,
      commands: [{ args: { lot: 'L1', counted: 24 } }],
    });
    // Another lot, not counted before: recorded at once, as always.
    expect(advanceCount(at, '(01)09506000134352(30)5(10)L2', view, earlier)).toMatchObject({
      ok: true,
      commands: [{ args: { lot: 'L2', counted: 5 } }],
    });
    // The lot asked after the label's count: offered the same way.
    const waiting = advanceCount(at, '(01)09506000134352(30)12', view, earlier).state;
    expect(advanceCount(waiting, 'L1', view, earlier)).toMatchObject({
      ok: true,
      commands: [],
      state: { step: 'quantity', quantity: 12 },
    });
    // Without an offer, an empty Enter at "How many?" is no count.
    const asked = feed(startCount(C1), 'P', 'A').last.state;
    expect(advanceCount(asked, '', view)).toMatchObject({ ok: false });
  });

  it('a new lot or serial is named without the scanner’s symbology prefix', () => {
    const atLot = feed(startCount(C1), 'P', 'L').last.state;
    expect(advanceCount(atLot, ']C0L77', view)).toMatchObject({ ok: true, state: { lot: 'L77' } });
    const atSerial = feed(startCount(C1), 'P', 'S').last.state;
    expect(advanceCount(atSerial, ']C0SN-77', view)).toMatchObject({
      ok: true,
      state: { serials: ['SN-77'] },
    });
  });

  it('GS1 data is no lot or serial: a GTIN not known here, or a malformed code, is refused, not taken as the name', () => {
    for (const inputs of [
      ['P', 'L'],
      ['P', 'S'],
    ]) {
      const at = feed(startCount(C1), ...inputs).last.state;
      expect(advanceCount(at, '(01)04012345000016(10)X', view), inputs[1]).toMatchObject({
        ok: false,
        state: at,
        error: { key: 'flow.error.unknown' },
      });
      expect(advanceCount(at, '(01)0950600013435', view), inputs[1]).toMatchObject({
        ok: false,
        state: at,
        error: { key: 'flow.error.gs1.WRONG_LENGTH' },
      });
    }
    // A long digit string is a name still (a serial number), check digit or not.
    const at = feed(startCount(C1), 'P', 'S').last.state;
    expect(advanceCount(at, '123456789013', view)).toMatchObject({
      ok: true,
      state: { serials: ['123456789013'] },
    });
  });

  it('at the lot step, a bin label or another item is no lot; the item’s own code without a lot is refused', () => {
    const at = feed(startCount(C1), 'P', 'L').last.state;
    expect(at.step).toBe('lot');
    expect(advanceCount(at, 'A', view)).toMatchObject({
      ok: false,
      error: { key: 'flow.error.otherItem', params: { code: 'A' } },
    });
    expect(advanceCount(at, 'L', view)).toMatchObject({
      ok: false,
      error: { key: 'flow.error.no_lot' },
    });
    // A typed lot is still a lot.
    expect(advanceCount(at, 'L7', view)).toMatchObject({
      ok: true,
      state: { lot: 'L7', step: 'quantity' },
    });
  });

  it('"position empty" counts zero of everything the device holds there; finish ends the count', () => {
    const at = feed(startCount(C1), 'P').last.state;
    expect(emptyPosition(at, view)).toEqual({
      name: 'confirmPositionEmpty',
      args: {
        sessionId: C1,
        positionId: P,
        expected: [
          { itemId: A, quantity: 10 },
          { itemId: L, lot: 'L1', quantity: 4 },
          { itemId: S, serials: ['SN-1', 'SN-2'] },
        ],
      },
    });
    expect(finishPosition(at)).toEqual({
      name: 'finishPositionCount',
      args: { sessionId: C1, positionId: P },
    });
    expect(emptyPosition(startCount(C1), view)).toBeNull();
  });

  it('every message key it can give has an English text', () => {
    for (const key of [
      'count.error.notACount',
      'count.error.expectedSerial',
      'count.error.serialTwice',
      'count.error.noItem',
    ])
      expect(en[key as keyof typeof en], key).toBeDefined();
  });
});
