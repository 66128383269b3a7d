import { describe, expect, it } from 'vitest';
import { asEventId, asItemId, evolve, initialState, viewOf } from '@floorsync/domain';
import type { InventoryEvent } from '@floorsync/domain';
import {
  A,
  C,
  L,
  P,
  Q,
  S,
  itemDefined,
  received,
  serial,
  warehouse,
} from '@floorsync/domain/testing';
import { de } from '../i18n/de.js';
import { en } from '../i18n/en.js';
import { calendarDateText, datesWritten, format } from '../i18n/format.js';
import type { Advance, FlowState } from './flows.js';
import {
  FLOW_KINDS,
  advance,
  next,
  parseQuantity,
  promptOf,
  start,
  withQuantity,
} from './flows.js';

const GS = '\u001d';
const viewWith = (...extra: InventoryEvent[]) => {
  let state = initialState();
  [...warehouse(), ...extra].forEach(
    (e, i) => (state = evolve(state, { ...e, id: asEventId(`e${i}`) })),
  );
  return viewOf(state);
};
const view = viewWith(received(S, Q, 1, { serial: serial('SN-1') }));

/** Feeds inputs in order; every one must be accepted. */
function feed(state: FlowState, ...inputs: string[]): Advance {
  let r: Advance = { ok: true, state };
  for (const input of inputs) {
    r = advance(r.state, input, view);
    if (!r.ok) throw new Error(`"${input}" refused: ${r.error.key}`);
  }
  return r;
}

describe('scanner flows', () => {
  it('receive: position, item, quantity → receiveStock; the position stays for the next item', () => {
    const s = start('receive');
    expect(s.step).toBe('position');
    const r = feed(s, 'P', '4006381333931', '12');
    expect(r.ok && r.command).toEqual({
      name: 'receiveStock',
      args: { itemId: A, positionId: P, quantity: 12 },
    });
    const again = next(r.state);
    expect(again.step).toBe('item');
    expect(again.values.position?.id).toBe(P);
  });

  it('Enter on an empty quantity means 1; scanning the item again counts one more', () => {
    const one = feed(start('receive'), 'P', 'A', '');
    expect(one.ok && one.command?.args).toMatchObject({ quantity: 1 });
    const counted = feed(start('receive'), 'P', 'A', 'A', 'A');
    expect(counted.state.values.quantity).toBe(3);
    // Empty input at the quantity step takes what was counted: three scans of the item are 3.
    const done = advance(counted.state, '', view);
    expect(done.ok && done.command?.args).toMatchObject({ quantity: 3 });
    // A typed number replaces the count.
    const typed = advance(counted.state, '5', view);
    expect(typed.ok && typed.command?.args).toMatchObject({ quantity: 5 });
  });

  it('a barcode scanned at the quantity step is never taken for a quantity', () => {
    // The item's own EAN-13 again counts one more, as its SKU does.
    const counted = feed(start('receive'), 'P', 'A', '4006381333931');
    expect(counted.state.values.quantity).toBe(2);
    expect(counted.state.step).toBe('quantity');
    const atItem = feed(start('receive'), 'P', 'A');
    for (const code of [
      '09506000134352', // another item's barcode (L's GTIN-14)
      '4012345000054', // an EAN-13 of no item here: beyond any quantity anyway
      '0109506000134352' + '17261231', // L's GS1 data from a scanner that strips the AIM prefix
    ]) {
      const r = advance(atItem.state, code, view);
      expect(r.ok, code).toBe(false);
      if (!r.ok) expect(r.error).toEqual({ key: 'flow.error.codeNotQuantity', params: { code } });
    }
    // A's own GS1 data, AIM prefix stripped: one more, like its EAN.
    const own = advance(atItem.state, '0104006381333931' + '17261231', view);
    expect(own.ok && own.state.values.quantity).toBe(2);
    // A registered EAN-8 is its item's code: 96,385,074 would pass every quantity limit.
    const withEan8 = viewWith(itemDefined(asItemId('item-E8'), 'E8', 'none', ['96385074']));
    expect(advance(atItem.state, '96385074', withEan8)).toMatchObject({
      ok: false,
      error: { key: 'flow.error.codeNotQuantity' },
    });
    // At an adjustment's change, even the item's own barcode is refused.
    const atDelta = feed(start('adjust'), 'P', 'A').state;
    expect(atDelta.step).toBe('delta');
    expect(advance(atDelta, '4006381333931', view)).toMatchObject({
      ok: false,
      error: { key: 'flow.error.codeNotQuantity' },
    });
    // Numbers that are no registered barcode stay quantities: short ones, and 8 digits even
    // with a valid GTIN-8 check digit (12,345,670 may be what was counted).
    for (const [typed, quantity] of [
      ['100', 100],
      ['12345678', 12_345_678],
      ['12345670', 12_345_670],
      ['96385074', 96_385_074],
    ] as const) {
      expect(advance(atItem.state, typed, view), typed).toMatchObject({
        ok: true,
        command: { args: { quantity } },
      });
    }
    // Past the largest quantity the server takes: said at the step, not as a refusal later.
    expect(advance(atItem.state, '2000000000', view)).toMatchObject({
      ok: false,
      error: { key: 'flow.error.quantityTooLarge', params: { max: 1e9 } },
    });
  });

  it('a GS1 code fills lot, expiry and count: no questions left', () => {
    const r = feed(start('receive'), 'Q', `]C101095060001343521025-L7${GS}17270630${GS}3712`);
    expect(r.ok && r.command).toEqual({
      name: 'receiveStock',
      args: { itemId: L, positionId: Q, quantity: 12, lot: '25-L7', expiresOn: '2027-06-30' },
    });
  });

  it('a lot-tracked item without a lot in its code asks for the lot', () => {
    const r = feed(start('receive'), 'Q', 'L');
    expect(r.state.step).toBe('lot');
    const done = feed(r.state, 'LOT-9', '4');
    expect(done.ok && done.command?.args).toMatchObject({ lot: 'LOT-9', quantity: 4 });
  });

  it('an item given by a document (a list line) counts from its first scan: one scan is 1, not 2', () => {
    const item = view.item(A);
    const s = start('receive', item ? { item } : {});
    const at = feed(s, 'P');
    expect(at.state.step).toBe('quantity');
    expect(promptOf(at.state)).toEqual({ key: 'flow.ask.quantity', params: { n: 1 } });
    const once = feed(at.state, '4006381333931');
    expect(once.state.values.quantity).toBe(1);
    const twice = feed(once.state, 'A');
    expect(twice.state.values.quantity).toBe(2);
    // The prompt says what Enter takes.
    expect(promptOf(twice.state)).toEqual({ key: 'flow.ask.quantity', params: { n: 2 } });
    const done = advance(twice.state, '', view);
    expect(done.ok && done.command?.args).toMatchObject({ quantity: 2 });
  });

  it('scanned again at the quantity step: a box of another lot or best-before is refused; a GS1 count counts', () => {
    const first = feed(start('receive'), 'Q', `]C101095060001343521025-L7${GS}17270630`);
    expect(first.state.step).toBe('quantity');
    expect(first.state.values).toMatchObject({ lot: '25-L7', expiresOn: '2027-06-30' });
    const otherLot = advance(first.state, `]C101095060001343521025-L8${GS}17270630`, view);
    expect(otherLot).toMatchObject({
      ok: false,
      error: { key: 'flow.error.otherLot', params: { lot: '25-L8', expected: '25-L7' } },
    });
    const otherDate = advance(first.state, `]C101095060001343521025-L7${GS}17270701`, view);
    expect(otherDate).toMatchObject({
      ok: false,
      error: {
        key: 'flow.error.otherExpiry',
        params: { date: '2027-07-01', expected: '2027-06-30' },
        dates: ['date', 'expected'],
      },
    });
    // The dates are written as the user's language does; a lot or code never is.
    if (otherDate.ok) throw new Error('accepted');
    const german = datesWritten(otherDate.error.params, otherDate.error.dates, (iso) =>
      calendarDateText(iso, 'de', 'de-DE'),
    );
    expect(format(de['flow.error.otherExpiry'], german, 'de')).toContain('1.7.2027');
    expect(datesWritten({ lot: '2027-06-30' }, undefined, () => 'x')).toEqual({
      lot: '2027-06-30',
    });
    // The same lot again, once as a single box and once as a case of 12.
    const more = feed(first.state, `]C101095060001343521025-L7${GS}17270630`);
    expect(more.state.values.quantity).toBe(2);
    const acase = feed(more.state, `]C101095060001343521025-L7${GS}17270630${GS}3712`);
    expect(acase.state.values.quantity).toBe(14);
    for (const key of ['flow.error.otherLot', 'flow.error.otherExpiry'])
      expect(en).toHaveProperty([key]);
  });

  it('GS1 data sent as plain digits, scanned to count on, is read for its lot, date and count too', () => {
    const first = feed(start('receive'), 'Q', `]C101095060001343521025-L7${GS}17270630`);
    // The same box's data without the AIM prefix: another lot is refused, a case of 12 counts 12.
    expect(advance(first.state, `0109506000134352${'17270630'}10999`, view)).toMatchObject({
      ok: false,
      error: { key: 'flow.error.otherLot', params: { lot: '999', expected: '25-L7' } },
    });
    const acase = feed(first.state, `0109506000134352${'17270630'}3712${GS}1025-L7`);
    expect(acase.state.values.quantity).toBe(13);
  });

  it('a GS1 scan of the item at the lot step counts it and takes its best-before and count', () => {
    const item = view.item(L);
    const atLot = feed(start('receive', item ? { item } : {}), 'Q');
    expect(atLot.state.step).toBe('lot');
    const r = feed(atLot.state, `]C101095060001343521025-L7${GS}17270630`);
    expect(r.state.values).toMatchObject({
      lot: '25-L7',
      expiresOn: '2027-06-30',
      itemScanned: true,
    });
    expect(feed(r.state, 'L').state.values.quantity).toBe(2);
    const counted = feed(atLot.state, `]C101095060001343521025-L7${GS}3712`);
    expect(counted.ok && counted.command?.args).toMatchObject({ lot: '25-L7', quantity: 12 });
  });

  it('a quantity the screen has (Lists\' "All n") is taken as it is, never asked about', () => {
    const at = feed(start('receive'), 'P', 'A');
    expect(withQuantity(at.state, 12.375)).toMatchObject({
      ok: true,
      command: { args: { quantity: 12.375 } },
    });
    expect(withQuantity(at.state, 0)).toMatchObject({
      ok: false,
      error: { key: 'flow.error.quantityPositive' },
    });
    expect(withQuantity(start('receive'), 3)).toMatchObject({ ok: true, ignored: true });
  });

  it('at the lot or serial step: a position label or another item is refused, not taken for a lot', () => {
    const atLot = feed(start('receive'), 'Q', 'L');
    expect(atLot.state.step).toBe('lot');
    expect(advance(atLot.state, 'P', view)).toMatchObject({
      ok: false,
      error: { key: 'flow.error.positionNot_lot', params: { code: 'P' } },
    });
    expect(advance(atLot.state, '4006381333931', view)).toMatchObject({
      ok: false,
      error: { key: 'flow.error.otherItem', params: { code: '4006381333931', sku: 'A' } },
    });
    const atSerial = feed(start('receive'), 'R', 'S');
    expect(advance(atSerial.state, 'P', view)).toMatchObject({
      ok: false,
      error: { key: 'flow.error.positionNot_serial' },
    });
    // A serial known here is taken as scanned.
    expect(feed(atSerial.state, 'SN-1').state.values.serial).toBe('SN-1');
    // GS1 data is no name: a GTIN not known here, or a malformed code.
    for (const state of [atLot.state, atSerial.state]) {
      expect(advance(state, '(01)04012345000016(10)X', view)).toMatchObject({
        ok: false,
        error: { key: 'flow.error.unknown' },
      });
      expect(advance(state, '(01)0950600013435', view)).toMatchObject({
        ok: false,
        error: {
          key: 'flow.error.gs1.WRONG_LENGTH',
          params: { ai: '01', title: 'GTIN', length: 14, got: 13 },
        },
      });
    }
    // A scanner's symbology prefix is not part of a known serial's name.
    expect(feed(atSerial.state, ']C0SN-1').state.values.serial).toBe('SN-1');
    for (const key of [
      'flow.error.positionNot_lot',
      'flow.error.positionNot_serial',
      'flow.error.otherItem',
    ])
      expect(en).toHaveProperty([key]);
  });

  it('an empty Enter answers only the quantity prompt; elsewhere it is ignored (a wedge sending Enter twice)', () => {
    for (const state of [
      start('receive'),
      feed(start('receive'), 'P').state,
      feed(start('adjust'), 'P', 'A').state,
    ]) {
      const r = advance(state, '  ', view);
      expect(r).toEqual({ ok: true, state, ignored: true });
    }
  });

  it('reads typed quantities: comma or point; 1,000 and 1.000 (a thousand, or one?) are asked again', () => {
    expect(parseQuantity('1,5', false)).toBe(1.5);
    expect(parseQuantity('2.25', false)).toBe(2.25);
    expect(parseQuantity('0,125', false)).toBe(0.125);
    expect(parseQuantity('2,1250', false)).toBe(2.125);
    expect(parseQuantity('1000', false)).toBe(1000);
    expect(parseQuantity('-3', true)).toBe(-3);
    expect(parseQuantity('-3', false)).toBeNull();
    for (const text of ['1,000', '1.000', '12,500', '-2.500'])
      expect(parseQuantity(text, true), text).toBe('ambiguous');
    const at = feed(start('receive'), 'P', 'A');
    expect(advance(at.state, '1,000', view)).toMatchObject({
      ok: false,
      error: { key: 'flow.error.ambiguousNumber', params: { text: '1,000' } },
    });
    expect(en).toHaveProperty(['flow.error.ambiguousNumber']);
  });

  it('a serialized item asks for the serial and never for a quantity', () => {
    const r = feed(start('receive'), 'R', 'S', 'SN-2');
    expect(r.ok && r.command).toEqual({
      name: 'receiveStock',
      args: { itemId: S, positionId: 'pos-R', quantity: 1, serial: 'SN-2' },
    });
  });

  it('move: from, item, quantity, to; ship: from, item, quantity', () => {
    const m = feed(start('move'), 'P', 'A', '3', 'Q');
    expect(m.ok && m.command).toEqual({
      name: 'moveStock',
      args: { itemId: A, from: P, to: Q, quantity: 3 },
    });
    const s = feed(start('ship'), 'Q', 'SN-1');
    expect(s.ok && s.command).toEqual({
      name: 'shipStock',
      args: { itemId: S, from: Q, quantity: 1, serial: 'SN-1' },
    });
  });

  it('move a pallet: only containers move, and not onto where they are', () => {
    const fixed = advance(start('container'), 'P', view);
    expect(fixed.ok).toBe(false);
    expect(!fixed.ok && fixed.error).toEqual({ key: 'flow.error.fixed', params: { code: 'P' } });
    const r = feed(start('container'), 'C', 'Q');
    expect(r.ok && r.command).toEqual({ name: 'moveContainer', args: { containerId: C, to: Q } });
    const same = advance(feed(start('move'), 'P', 'A', '1').state, 'P', view);
    expect(same.ok).toBe(false);
  });

  it('adjust: a signed change and a reason', () => {
    const r = feed(start('adjust'), 'P', 'A', '-2', 'damaged');
    expect(r.ok && r.command).toEqual({
      name: 'adjustStock',
      args: { itemId: A, positionId: P, delta: -2, reason: 'damaged' },
    });
    expect(advance(feed(start('adjust'), 'P', 'A').state, '0', view).ok).toBe(false);
    expect(advance(feed(start('adjust'), 'P', 'A', '1').state, 'because', view).ok).toBe(false);
  });

  it('refuses what cannot be right, in words the operator can act on, and stays on the step', () => {
    const s = start('receive');
    const cases: [FlowState, string, string][] = [
      [s, 'A', 'flow.error.expectedPosition'],
      [s, 'NOPE', 'flow.error.expectedPosition'],
      [feed(s, 'P').state, 'Q', 'flow.error.expectedItem'],
      [feed(s, 'P').state, 'UNKNOWN-42', 'flow.error.unknown'],
      [feed(s, 'P').state, '4006381333932', 'flow.error.checkDigit'],
      [feed(s, 'P').state, `]C1011234567890123${GS}`, 'flow.error.gs1.WRONG_LENGTH'],
      [
        feed(s, 'P').state,
        `]C1010950600013435210${'A'.repeat(21)}`,
        'flow.error.gs1.SEPARATOR_LOST',
      ],
      [feed(s, 'P', 'A').state, 'twelve', 'flow.error.notANumber'],
      [feed(s, 'P', 'A').state, '-3', 'flow.error.quantityPositive'],
    ];
    for (const [state, input, key] of cases) {
      const r = advance(state, input, view);
      expect(r.ok, input).toBe(false);
      if (!r.ok) {
        expect(r.error.key, input).toBe(key);
        expect(r.state).toBe(state);
        expect(en).toHaveProperty([key]);
      }
    }
  });

  it('every step of every flow has a prompt in the catalog', () => {
    for (const kind of FLOW_KINDS) {
      expect(en).toHaveProperty([`flow.kind.${kind}`]);
      let r: Advance = { ok: true, state: start(kind) };
      const inputs = {
        position: 'P',
        from: 'P',
        to: 'R',
        container: 'C',
        item: 'L',
        lot: 'X',
        serial: 'Y',
        quantity: '1',
        delta: '1',
        reason: 'other',
      } as const;
      while (r.ok && r.state.step !== null && !r.command) {
        expect(en).toHaveProperty([`flow.ask.${r.state.step}`]);
        r = advance(r.state, inputs[r.state.step], view);
      }
      expect(r.ok).toBe(true);
    }
  });
});
