import { describe, expect, it } from 'vitest';
import type { InventoryEvent } from '../inventory/events.js';
import type { InventoryView } from '../inventory/state.js';
import { initialState, viewOf } from '../inventory/state.js';
import { foldEvent } from '../projection.js';
import { asPositionId } from '../shared/ids.js';
import {
  A,
  C,
  L,
  P,
  Q,
  R,
  S,
  lot,
  positionDefined,
  received,
  serial,
  warehouse,
} from '../testing/factories.js';
import type { Resolution } from './resolve.js';
import { resolveScan } from './resolve.js';

const GS = '\u001d';
const GTIN_L = '09506000134352';
const EAN_A = '4006381333931';
const SSCC = '106141411234567897';
const PALLET = asPositionId('pos-SSCC');
/** The acceptance scenario's GS1-128 label for item L. */
const LABEL_L = `]C1` + `01${GTIN_L}` + `17261231` + `10LOT-A` + GS + `21SN9`;

function viewFrom(events: readonly InventoryEvent[]): InventoryView {
  const state = events.reduce(
    (s, e, i) => foldEvent(s, { ...e, id: 'e' + (i + 1) }),
    initialState(),
  );
  return viewOf(state);
}

function scene(): InventoryView {
  return viewFrom([
    ...warehouse(),
    positionDefined(PALLET, SSCC, 'container', R),
    received(A, P, 10),
    received(L, Q, 5, { lot: lot('LOT-A'), expiresOn: '2026-12-31' }),
    received(L, R, 3, { lot: lot('LOT-NOEXP') }),
    received(S, P, 1, { serial: serial('SN-100') }),
  ]);
}

function expectKind<K extends Resolution['kind']>(
  r: Resolution,
  kind: K,
): Extract<Resolution, { kind: K }> {
  expect(r.kind, JSON.stringify(r)).toBe(kind);
  return r as Extract<Resolution, { kind: K }>;
}

describe('resolveScan — positions', () => {
  it('a position code resolves to the position', () => {
    const r = expectKind(resolveScan(scene(), 'Q'), 'position');
    expect(r.position.id).toBe(Q);
    expect(r.position.code).toBe('Q');
  });

  it('a container code resolves to the container', () => {
    const r = expectKind(resolveScan(scene(), 'C'), 'position');
    expect(r.position.id).toBe(C);
    expect(r.position.kind).toBe('container');
  });

  it('a GS1 SSCC label resolves to the pallet whose code is that SSCC', () => {
    const r = expectKind(resolveScan(scene(), `]C100${SSCC}`), 'position');
    expect(r.position.id).toBe(PALLET);
  });

  it('an SSCC without AIM prefix (00 + 18 digits) resolves to the pallet too', () => {
    const r = expectKind(resolveScan(scene(), `00${SSCC}`), 'position');
    expect(r.position.id).toBe(PALLET);
  });

  it('an unknown SSCC is unknown, naming it', () => {
    const r = expectKind(resolveScan(scene(), `]C100376123450000010008`), 'unknown');
    expect(r.message).toContain('376123450000010008');
    expect(r.gs1?.sscc).toBe('376123450000010008');
  });
});

describe('resolveScan — items', () => {
  it('an EAN-13 scanned plain resolves item A', () => {
    const r = expectKind(resolveScan(scene(), EAN_A), 'item');
    expect(r.item.id).toBe(A);
    expect(r.lot).toBeUndefined();
    expect(r.gs1).toBeUndefined();
  });

  it('the GTIN-14 form of the same EAN resolves item A too', () => {
    expect(expectKind(resolveScan(scene(), '0' + EAN_A), 'item').item.id).toBe(A);
  });

  it('an EAN-13 with its ]E0 AIM prefix stripped resolves item A', () => {
    const r = expectKind(resolveScan(scene(), `]E0${EAN_A}`), 'item');
    expect(r.item.id).toBe(A);
  });

  it('the GS1-128 acceptance label resolves item L and carries lot, expiry and serial', () => {
    const r = expectKind(resolveScan(scene(), LABEL_L), 'item');
    expect(r.item.id).toBe(L);
    expect(r.lot).toBe('LOT-A');
    expect(r.expiresOn).toBe('2026-12-31');
    expect(r.serial).toBe('SN9');
    expect(r.quantity).toBeUndefined();
    expect(r.gs1?.gtin).toBe(GTIN_L);
    expect(r.gs1?.symbology).toBe('gs1-128');
  });

  it('the plain GTIN-14 of item L (no GS1 data) resolves item L without lot', () => {
    const r = expectKind(resolveScan(scene(), GTIN_L), 'item');
    expect(r.item.id).toBe(L);
    expect(r.lot).toBeUndefined();
  });

  it('a GS1 DataMatrix with a substitute separator resolves item L', () => {
    const raw = `]d2` + `01${GTIN_L}` + `10LOT-A|21SN9`;
    const r = expectKind(resolveScan(scene(), raw, { separators: ['|'] }), 'item');
    expect(r.item.id).toBe(L);
    expect(r.lot).toBe('LOT-A');
    expect(r.serial).toBe('SN9');
  });

  it('GS1 data without AIM prefix but with a GS is parsed as GS1', () => {
    const r = expectKind(resolveScan(scene(), `01${GTIN_L}` + `10LOT-A` + GS + `21SN9`), 'item');
    expect(r.item.id).toBe(L);
    expect(r.serial).toBe('SN9');
  });

  it('GS1 data without AIM prefix or GS, starting with 01, still parses', () => {
    const r = expectKind(resolveScan(scene(), `01${GTIN_L}` + `17261231` + `10LOT-A`), 'item');
    expect(r.item.id).toBe(L);
    expect(r.expiresOn).toBe('2026-12-31');
    expect(r.lot).toBe('LOT-A');
  });

  it('a content label (02 + 37) resolves the contained GTIN with the count as quantity', () => {
    const r = expectKind(
      resolveScan(scene(), `]C1` + `02${GTIN_L}` + `3712` + GS + `10LOT-A`),
      'item',
    );
    expect(r.item.id).toBe(L);
    expect(r.quantity).toBe(12);
    expect(r.lot).toBe('LOT-A');
  });

  it('a human-readable GS1 string resolves too', () => {
    const r = expectKind(resolveScan(scene(), `(01)${GTIN_L}(10)LOT-A`), 'item');
    expect(r.item.id).toBe(L);
    expect(r.lot).toBe('LOT-A');
  });

  it('a SKU resolves its item', () => {
    expect(expectKind(resolveScan(scene(), 'S'), 'item').item.id).toBe(S);
    expect(expectKind(resolveScan(scene(), 'L'), 'item').item.id).toBe(L);
  });

  it('passes referenceYear on to the GS1 parser', () => {
    const raw = `]C1` + `01${GTIN_L}` + `17991231`;
    expect(expectKind(resolveScan(scene(), raw), 'item').expiresOn).toBe('2099-12-31');
    expect(expectKind(resolveScan(scene(), raw, { referenceYear: 2026 }), 'item').expiresOn).toBe(
      '1999-12-31',
    );
  });
});

describe('resolveScan — serials and lots', () => {
  it('a serial in stock resolves to serial with its lines', () => {
    const r = expectKind(resolveScan(scene(), 'SN-100'), 'serial');
    expect(r.item.id).toBe(S);
    expect(r.serial).toBe('SN-100');
    expect(r.lines).toEqual([
      { itemId: S, positionId: P, lot: null, serial: 'SN-100', quantity: 1 },
    ]);
  });

  it('a shipped serial (no stock left) is not resolved as a serial', () => {
    const view = viewFrom([
      ...warehouse(),
      received(S, P, 1, { serial: serial('SN-100') }),
      { type: 'StockShipped', data: { itemId: S, from: P, quantity: 1, serial: serial('SN-100') } },
    ]);
    const r = resolveScan(view, 'SN-100');
    expect(r.kind).toBe('unknown');
  });

  it('a received lot resolves to lot with its expiry', () => {
    const r = expectKind(resolveScan(scene(), 'LOT-A'), 'lot');
    expect(r.item.id).toBe(L);
    expect(r.lot).toBe('LOT-A');
    expect(r.expiresOn).toBe('2026-12-31');
  });

  it('a lot received without expiry resolves with expiresOn null', () => {
    const r = expectKind(resolveScan(scene(), 'LOT-NOEXP'), 'lot');
    expect(r.item.id).toBe(L);
    expect(r.expiresOn).toBeNull();
  });
});

describe('resolveScan — invalid and unknown codes', () => {
  it('nothing scanned (blank, or only whitespace) is invalid for that reason', () => {
    for (const raw of ['', ' \t\n ']) {
      const r = expectKind(resolveScan(scene(), raw), 'invalid');
      expect(r.reason).toBe('empty');
    }
  });

  it('a 13-digit code with a wrong check digit is invalid, with a readable message', () => {
    const r = expectKind(resolveScan(scene(), '4006381333932'), 'invalid');
    expect(r.code).toBe('4006381333932');
    expect(r.reason).toBe('check-digit');
    expect(r.message).toContain('4006381333932');
    expect(r.message).toMatch(/check digit/);
  });

  it('a 12-digit UPC-A with a wrong check digit is invalid; behind ]E0 too', () => {
    expect(resolveScan(scene(), '036000291450').kind).toBe('invalid');
    const r = expectKind(resolveScan(scene(), `]E0${'4006381333932'}`), 'invalid');
    expect(r.message).toMatch(/check digit/);
    expect(r.code).toBe('4006381333932'); // the GTIN, without the AIM prefix
  });

  it('an unmapped valid EAN-13 is unknown', () => {
    const r = expectKind(resolveScan(scene(), '4012345000054'), 'unknown');
    expect(r.code).toBe('4012345000054');
    expect(r.message).toContain('4012345000054');
  });

  it('an unmapped GTIN in a GS1 code is unknown, naming the GTIN and keeping the data', () => {
    const r = expectKind(resolveScan(scene(), `]C1` + `0104012345000054` + `10X`), 'unknown');
    expect(r.message).toContain('GTIN 04012345000054 is not mapped');
    expect(r.gs1?.lot).toBe('X');
  });

  it('a GS1 code with neither GTIN nor SSCC is unknown', () => {
    const r = expectKind(resolveScan(scene(), `]C1` + `10LOT-A`), 'unknown');
    expect(r.message).toMatch(/no GTIN or SSCC/);
  });

  it('a GS1 code with a wrong check digit is invalid with the parser message', () => {
    const r = expectKind(resolveScan(scene(), `]C1` + `0109506000134353` + `10X`), 'invalid');
    // A misread, as for a plain GTIN: the reason and the key whose digit is wrong.
    expect(r.reason).toBe('check-digit');
    expect(r.code).toBe('09506000134353');
    expect(r.message).toContain('expected 2');
  });

  it('a GS1 code that lost its separator is invalid, telling the operator why', () => {
    const r = expectKind(
      resolveScan(scene(), `]C1` + `01${GTIN_L}` + `10LOT-ABCDEFGHIJKL` + `21SN123456`),
      'invalid',
    );
    expect(r.message).toMatch(/separator/i);
    expect(r.reason).toBe('gs1'); // a setup problem: the parser's words
    // …and as a code and values, for the handheld to say in its operator's language.
    expect(r.problem).toEqual({
      code: 'SEPARATOR_LOST',
      values: { ai: '10', title: 'BATCH/LOT', length: 26, max: 20 },
    });
  });

  it('GS1 data without AIM prefix that lost its separator is invalid, telling the operator why', () => {
    // A scanner set to strip the AIM prefix and dropping GS: the code is neither a serial nor a lot,
    // so the operator should learn that the separator was lost (Resolution 'invalid' covers this).
    const raw = `01${GTIN_L}` + `10LOT-ABCDEFGHIJKL` + `21SN123456`;
    const r = expectKind(resolveScan(scene(), raw), 'invalid');
    expect(r.message).toMatch(/separator/i);
  });

  it('GS1 data without AIM prefix with a wrong GTIN check digit is invalid', () => {
    const r = expectKind(resolveScan(scene(), `0109506000134353` + `17261231`), 'invalid');
    expect(r.message).toMatch(/check digit/);
  });

  it('a non-GS1 prefixed code that names nothing is unknown, not a GS1 error', () => {
    const r = expectKind(resolveScan(scene(), ']C0HELLO'), 'unknown');
    expect(r.message).toContain('HELLO');
  });

  it('an unknown text is unknown', () => {
    const r = expectKind(resolveScan(scene(), 'NOPE'), 'unknown');
    expect(r.message).toBe('NOPE is not a known position, item, serial or lot');
  });

  it('an empty scan is invalid', () => {
    expect(expectKind(resolveScan(scene(), ''), 'invalid').message).toBe('nothing was scanned');
    expect(resolveScan(scene(), '\r\n').kind).toBe('invalid');
    expect(resolveScan(scene(), '   ').kind).toBe('invalid');
  });
});

describe('resolveScan — wedge scanner noise', () => {
  it('ignores trailing CR/LF on a plain code', () => {
    expect(expectKind(resolveScan(scene(), `${EAN_A}\r\n`), 'item').item.id).toBe(A);
    expect(expectKind(resolveScan(scene(), 'P\n'), 'position').position.id).toBe(P);
    expect(expectKind(resolveScan(scene(), 'SN-100\r'), 'serial').serial).toBe('SN-100');
  });

  it('ignores trailing CR/LF on a GS1 code, reporting the cleaned code', () => {
    const r = expectKind(resolveScan(scene(), `${LABEL_L}\r\n`), 'item');
    expect(r.serial).toBe('SN9');
    const u = expectKind(resolveScan(scene(), `]C1` + `0104012345000054\r\n`), 'unknown');
    expect(u.code).toBe(`]C1` + `0104012345000054`);
  });

  it('ignores a trailing tab and surrounding spaces', () => {
    expect(expectKind(resolveScan(scene(), ` ${EAN_A}\t`), 'item').item.id).toBe(A);
  });
});

describe('resolveScan — barcodes as stored', () => {
  it('the EAN-13 the factory was given is stored as GTIN-14, so both forms resolve item A', () => {
    const view = viewFrom(warehouse());
    expect(view.itemByBarcode('0' + EAN_A)?.id).toBe(A);
    expect(view.itemByBarcode(EAN_A)).toBeUndefined();
    expect(expectKind(resolveScan(view, EAN_A), 'item').item.id).toBe(A);
    expect(expectKind(resolveScan(view, '0' + EAN_A), 'item').item.id).toBe(A);
  });
});

describe('pallet labels (SSCC + contained GTIN)', () => {
  it('an unknown pallet whose label names its contents resolves to that item, carrying the SSCC', () => {
    const r = resolveScan(viewFrom(warehouse()), `]C100${SSCC}02${GTIN_L}${GS}3712`);
    expect(r).toMatchObject({ kind: 'item', item: { sku: 'L' }, sscc: SSCC, quantity: 12 });
  });

  it('a known pallet resolves to the pallet even when the label names its contents', () => {
    const r = resolveScan(scene(), `]C100${SSCC}02${GTIN_L}${GS}3712`);
    expect(r).toMatchObject({ kind: 'position', position: { id: PALLET } });
  });
});
