import { GROUP_SEPARATOR, parseGs1 } from '@floorsync/domain';
import bwipjs from 'bwip-js';
import { describe, expect, it } from 'vitest';
import { planCode128 } from './code128.js';
import { layoutLabel } from './layout.js';
import type { Label, LabelSize } from './model.js';
import { LabelError, labelSchema } from './model.js';
import { escapeFieldData, renderZpl } from './zpl.js';

const GS = GROUP_SEPARATOR;
const label = (l: unknown): Label => labelSchema.parse(l);

/** Undoes ^FH: `_XX` back to bytes, read as UTF-8 (^CI28). */
function unescapeField(data: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < data.length; i++) {
    if (data[i] === '_') {
      bytes.push(parseInt(data.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(data.charCodeAt(i));
  }
  return new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(bytes));
}

/**
 * What a printer encodes for `^BCN` field data in mode N: start codes and invocation codes as
 * the ZPL II guide lists them; a leading FNC1 gives the `]C1` of GS1-128 and later ones a GS,
 * as a scanner transmits them. Also counts symbol characters (start and check included).
 */
function readBarcodeField(data: string): { text: string; symbols: number } {
  let i = 2;
  let subset = { '>;': 'C', '>:': 'B', '>9': 'A' }[data.slice(0, 2)];
  if (!subset) throw new Error(`no start code in ${data}`);
  let text = '';
  let symbols = 2;
  while (i < data.length) {
    symbols++;
    if (data[i] === '>') {
      const code = data[i + 1];
      i += 2;
      if (code === '8') text += text === '' ? ']C1' : GS;
      else if (code === '5') subset = 'C';
      else if (code === '6') subset = 'B';
      else if (code === '<') text += '>';
      else throw new Error(`unexpected invocation >${code}`);
    } else if (subset === 'C') {
      const pair = data.slice(i, i + 2);
      if (!/^\d\d$/.test(pair)) throw new Error(`subset C needs digit pairs, got "${pair}"`);
      text += pair;
      i += 2;
    } else {
      text += data[i];
      i++;
    }
  }
  return { text, symbols };
}

/** The ^FD contents of the format, text fields and barcode fields apart. */
function fields(zpl: string) {
  const texts: string[] = [];
  const barcodes: string[] = [];
  for (const m of zpl.matchAll(/\^(A0N|BCN)[^^]*(?:\^FB[^^]*)?\^FH\^FD([^^]*)\^FS/g)) {
    (m[1] === 'A0N' ? texts : barcodes).push(unescapeField(m[2] ?? ''));
  }
  return { texts, barcodes };
}

describe('escapeFieldData (^FH)', () => {
  it('writes ^, ~, _ and \\ as hex, so data never starts a command', () => {
    expect(escapeFieldData('^XA~JR_x\\&')).toBe('_5EXA_7EJR_5Fx_5C&');
  });

  it('writes non-ASCII text as its UTF-8 bytes (^CI28)', () => {
    expect(escapeFieldData('Müller')).toBe('M_C3_BCller');
    expect(escapeFieldData('Łódź')).toBe('_C5_81_C3_B3d_C5_BA');
    expect(escapeFieldData('倉庫 €')).toBe('_E5_80_89_E5_BA_AB _E2_82_AC');
    expect(escapeFieldData('📦')).toBe('_F0_9F_93_A6');
    for (const s of ['Müller', 'Łódź', '倉庫 €', '📦 ^~_\\', 'plain ASCII !"#$%&']) {
      expect(unescapeField(escapeFieldData(s))).toBe(s);
    }
  });

  it('leaves printable ASCII as it is', () => {
    const ascii = ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCXYZ[]`abcxyz{|}';
    expect(escapeFieldData(ascii)).toBe(ascii);
  });
});

describe('renderZpl', () => {
  it('pins the format of a position label on 100×50 mm', () => {
    const zpl = renderZpl(
      [label({ kind: 'position', code: 'A-01-02-03', name: 'Gang A' })],
      '100x50',
    );
    expect(zpl).toBe(
      [
        '^XA',
        '^CI28',
        '^PW799',
        '^LL400',
        '^LH0,0',
        '^FO20,20^A0N,64,64^FB759,1,0,C,0^FH^FDA-01-02-03^FS',
        '^FO20,92^A0N,32,32^FB759,1,0,C,0^FH^FDGang A^FS',
        '^FO109,240^BY4,3,140^BCN,140,N,N,N^FH^FD>:A-01-02-03^FS',
        '^PQ1',
        '^XZ',
        '',
      ].join('\n'),
    );
  });

  it('a name with ^, ~ and non-ASCII letters cannot break the format, and prints as given', () => {
    const name = 'Evil ^XZ^XA~JA Müller_Sohn\\& 倉庫';
    const zpl = renderZpl([label({ kind: 'item', sku: 'S^1~', name })], '4x6');
    expect(zpl.match(/\^XA/g)).toHaveLength(1);
    expect(zpl.match(/\^XZ/g)).toHaveLength(1);
    expect(zpl).not.toContain('~');
    expect([...zpl].every((c) => c.charCodeAt(0) < 0x7f)).toBe(true);
    const { texts, barcodes } = fields(zpl);
    expect(texts.join(' ')).toBe(`${name} SKU S^1~ S^1~`);
    expect(readBarcodeField(barcodes[0] ?? '').text).toBe('S^1~');
  });

  it('one format per label, in order, and the same output for the same labels', () => {
    const labels = [
      label({ kind: 'position', code: 'B-1' }),
      label({ kind: 'serial', sku: 'P-7', serial: 'SN9' }),
    ];
    const zpl = renderZpl(labels, '4x6');
    expect(zpl.split('^XZ\n')).toEqual([
      expect.stringMatching(/^\^XA/),
      expect.stringMatching(/^\^XA/),
      '',
    ]);
    expect(zpl.indexOf('>:B-1')).toBeLessThan(zpl.indexOf('>:SN9'));
    expect(renderZpl(labels, '4x6')).toBe(zpl);
  });

  it('GS1 content: ^BC data starts with FNC1 (>8) and reads back as the element string', () => {
    const zpl = renderZpl(
      [
        label({
          kind: 'container',
          sscc: '106141411234567897',
          code: '106141411234567897',
          contents: { gtin: '09506000134352', count: 48, lot: 'L-2026-01', expiry: '2026-12-31' },
        }),
      ],
      '4x6',
    );
    const { texts, barcodes } = fields(zpl);
    expect(barcodes).toEqual([
      '>;>802095060001343523748>810>6L-2026->501>817261231',
      '>;>800106141411234567897',
    ]);
    const read = barcodes.map((b) => readBarcodeField(b).text);
    expect(read).toEqual([
      `]C1` + `0209506000134352` + `3748` + GS + `10L-2026-01` + GS + `17261231`,
      `]C1` + `00106141411234567897`,
    ]);
    // What a scanner would transmit parses to the label's data.
    const content = parseGs1(read[0] ?? '');
    expect(content.ok && content.value).toMatchObject({
      symbology: 'gs1-128',
      containedGtin: '09506000134352',
      count: 48,
      lot: 'L-2026-01',
      expiresOn: '2026-12-31',
    });
    expect(texts).toContain('(02)09506000134352(37)48(10)L-2026-01(17)261231');
    expect(texts).toContain('(00)106141411234567897');
  });
});

describe('Code 128 planning', () => {
  const cases: [string, boolean][] = [
    ['A-01-02-03', false],
    ['12345678', false],
    ['AB>C', false],
    ['X1234567Y', false],
    ['123', false],
    ['a_b^c~d', false],
    ['00106141411234567897', true],
    [`0109506000134352` + `21SN9`, true],
    [`10ABC${GS}21123456`, true],
    [`3712${GS}10123`, true],
  ];

  it.each(cases)('%j reads back from the ZPL data', (data, gs1) => {
    const plan = planCode128(data, gs1);
    const read = readBarcodeField(plan.zplData);
    expect(read.text).toBe(gs1 ? `]C1${data}` : data);
    expect(read.symbols).toBe(plan.symbols);
  });

  it.each(cases)('%j is as narrow as bwip-js makes it', (data, gs1) => {
    const plan = planCode128(data, gs1);
    const text = gs1 ? `^FNC1${data.split(GS).join('^FNC1')}` : data;
    const [raw] = bwipjs.raw('code128', text, { parsefnc: gs1 }) as { sbs: number[] }[];
    expect(plan.modules).toBe(raw?.sbs.reduce((a, b) => a + b, 0));
  });

  it('refuses what Code 128 cannot carry', () => {
    expect(() => planCode128('Müller', false)).toThrow(LabelError);
    expect(() => planCode128(`A${GS}B`, false)).toThrow(/cannot carry/);
    expect(() => planCode128('', false)).toThrow(LabelError);
  });
});

describe('layout', () => {
  const all: Label[] = [
    label({ kind: 'item', sku: 'SKU-1', name: 'Schraube M8', gtin: '4006381333931' }),
    label({ kind: 'item', sku: 'SKU-2', name: 'N'.repeat(200) }),
    label({ kind: 'position', code: 'A-01-02-03', name: 'Gang A' }),
    label({
      kind: 'container',
      sscc: '376104250021234569',
      code: '376104250021234569',
      contents: { description: 'Screws', gtin: '09506000134352', count: 48, lot: 'L1' },
    }),
    label({ kind: 'serial', sku: 'P-7', serial: 'SN-0001', gtin: '09506000134352' }),
    label({ kind: 'serial', sku: 'P-7', serial: 'not GS1: spaces are fine here' }),
  ];

  it.each(['4x6', '100x50'] as LabelSize[])('every kind fits %s, inside the label', (size) => {
    for (const l of all) {
      const layout = layoutLabel(l, size);
      for (const e of layout.elements) {
        expect(e.x).toBeGreaterThanOrEqual(0);
        expect(e.y + e.height).toBeLessThanOrEqual(layout.heightDots);
        if (e.kind === 'barcode') {
          expect(e.x + e.plan.modules * e.module).toBeLessThanOrEqual(layout.widthDots);
        }
      }
    }
  });

  it('a GTIN-13 is printed as GTIN-14 in (01)', () => {
    const zpl = renderZpl([all[0] as Label], '100x50');
    expect(fields(zpl).texts).toContain('(01)04006381333931');
  });

  it('an SSCC gets 0.5 mm bars (4 dots), the GS1 minimum for logistic labels', () => {
    const layout = layoutLabel(all[3] as Label, '100x50');
    const sscc = layout.elements.filter((e) => e.kind === 'barcode').at(-1);
    expect(sscc?.kind === 'barcode' && sscc.module).toBe(4);
  });

  it('refuses, with a reason, what cannot be printed', () => {
    const crowded = label({
      kind: 'container',
      sscc: '106141411234567897',
      code: 'PALLET-0001',
      contents: { description: 'D'.repeat(80), gtin: '09506000134352', count: 1, lot: 'L' },
    });
    expect(() => layoutLabel(crowded, '100x50')).toThrow('does not fit on 100x50: print it on 4x6');
    expect(() => layoutLabel(crowded, '4x6')).not.toThrow();
    expect(() =>
      layoutLabel(
        label({ kind: 'serial', sku: 'P', serial: 'SN 1', gtin: '09506000134352' }),
        '4x6',
      ),
    ).toThrow(/\(21\)/);
    expect(() =>
      layoutLabel(
        label({
          kind: 'container',
          sscc: '106141411234567897',
          code: 'P',
          contents: { count: 3, lot: 'L' },
        }),
        '4x6',
      ),
    ).not.toThrow();
    expect(() => layoutLabel(label({ kind: 'position', code: 'X'.repeat(64) }), '100x50')).toThrow(
      /too wide/,
    );
  });

  it('the label model refuses bad keys before any layout', () => {
    expect(
      labelSchema.safeParse({ kind: 'container', sscc: '106141411234567890', code: 'P' }).success,
    ).toBe(false);
    expect(
      labelSchema.safeParse({ kind: 'item', sku: 'S', name: 'N', gtin: '4006381333932' }).success,
    ).toBe(false);
    expect(labelSchema.safeParse({ kind: 'position', code: 'A\n1' }).success).toBe(false);
    expect(labelSchema.safeParse({ kind: 'shelf', code: 'A' }).success).toBe(false);
  });
});
