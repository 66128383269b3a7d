import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { GROUP_SEPARATOR, parseGs1 } from '@floorsync/domain';
import {
  BinaryBitmap,
  Code128Reader,
  DecodeHintType,
  HybridBinarizer,
  RGBLuminanceSource,
} from '@zxing/library';
import { OPS, getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';
import type { PDFPageProxy } from 'pdfjs-dist/types/src/display/api.js';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import type { Barcode, BarcodeElement } from './layout.js';
import { barcodeText, gs1Barcode, layoutLabel } from './layout.js';
import type { Label, LabelSize } from './model.js';
import { labelSchema } from './model.js';
import { barcodePng, bwipSymbol, renderPdf } from './pdf.js';

/**
 * The PDF is read back as a person's printer and scanner would see it: pdf.js extracts each
 * page's text and its images (the barcodes, as embedded), and ZXing decodes every barcode
 * from its pixels, FNC1s included (as `]C1` and GS, what a scanner transmits).
 */

const GS = GROUP_SEPARATOR;
const label = (l: unknown): Label => labelSchema.parse(l);

const item = label({
  kind: 'item',
  sku: 'SKU-1001',
  name: 'Schraube M8 verzinkt, Müller & Söhne',
  gtin: '09506000134352',
});
const container = label({
  kind: 'container',
  sscc: '106141411234567897',
  code: '106141411234567897',
  contents: {
    description: 'Screws M8',
    gtin: '09506000134352',
    count: 48,
    lot: 'L-2026-01',
    expiry: '2026-12-31',
  },
});
const serial = label({ kind: 'serial', sku: 'PUMP-7', serial: 'SN9', gtin: '09506000134352' });
const position = label({ kind: 'position', code: 'A-01-02-03', name: 'Gang A' });

interface PageImage {
  readonly width: number;
  readonly height: number;
  /** RGB, 3 bytes a pixel (what pdf.js gives for these images). */
  readonly rgb: Uint8Array;
}

async function open(pdf: Uint8Array) {
  return getDocument({ data: pdf.slice(), isEvalSupported: false, verbosity: 0 }).promise;
}

/** The page's text, one string per line, runs of spaces as one. */
async function pageLines(page: PDFPageProxy): Promise<string[]> {
  const content = await page.getTextContent();
  const lines: string[] = [];
  let line = '';
  for (const item of content.items) {
    if (!('str' in item)) continue;
    line += item.str;
    if (item.hasEOL) {
      lines.push(line);
      line = '';
    }
  }
  if (line !== '') lines.push(line);
  return lines.map((l) => l.replace(/\s+/g, ' ').trim()).filter((l) => l !== '');
}

/** The images the page paints, in painting order, as pdf.js decodes them. */
async function pageImages(page: PDFPageProxy): Promise<PageImage[]> {
  const ops = await page.getOperatorList();
  const images: PageImage[] = [];
  for (const [k, fn] of ops.fnArray.entries()) {
    if (fn !== OPS.paintImageXObject) continue;
    const name = (ops.argsArray[k] as [string])[0];
    type Decoded = { width: number; height: number; kind: number; data: Uint8Array };
    const img = await new Promise<Decoded>((resolve) => {
      page.objs.get(name, (data: unknown) => resolve(data as Decoded));
    });
    expect(img.kind).toBe(2); // RGB_24BPP
    images.push({ width: img.width, height: img.height, rgb: img.data });
  }
  return images;
}

/** Decodes a Code 128 / GS1-128 from pixels, as a scanner would transmit it. */
function decode(width: number, height: number, luminance: (i: number) => number): string {
  const lum = new Uint8ClampedArray(width * height);
  for (let i = 0; i < lum.length; i++) lum[i] = luminance(i);
  const bitmap = new BinaryBitmap(new HybridBinarizer(new RGBLuminanceSource(lum, width, height)));
  const hints = new Map<DecodeHintType, unknown>([[DecodeHintType.ASSUME_GS1, true]]);
  return new Code128Reader().decode(bitmap, hints).getText();
}

const decodeImage = (img: PageImage) => decode(img.width, img.height, (i) => img.rgb[i * 3] ?? 255);

function decodePng(png: Buffer): { text: string; png: PNG } {
  const image = PNG.sync.read(png);
  return { text: decode(image.width, image.height, (i) => image.data[i * 4] ?? 255), png: image };
}

/** What a scanner sends for a barcode: `]C1` + element string for GS1, the data otherwise. */
const scanned = (b: Barcode) => (b.symbology === 'gs1-128' ? `]C1${b.gs1.data}` : b.data);

const barcodesOf = (l: Label, size: LabelSize) =>
  layoutLabel(l, size).elements.filter((e): e is BarcodeElement => e.kind === 'barcode');
const textsOf = (l: Label, size: LabelSize) =>
  layoutLabel(l, size).elements.flatMap((e) => (e.kind === 'text' ? [e.text] : []));

// Drawing and decoding barcodes is CPU work: 1–2 s alone, over 30 s on a machine shared with a
// soak and a parallel CI run (seen once). A generous bound, not a speed check.
describe('PDF labels', { timeout: 120_000 }, () => {
  it.each(['4x6', '100x50'] as LabelSize[])(
    '%s: one page per label, the page the label size, with its text and barcodes',
    async (size) => {
      const labels = [item, container, serial];
      const doc = await open(await renderPdf(labels, { size }));
      expect(doc.numPages).toBe(3);
      for (const [index, l] of labels.entries()) {
        const page = await doc.getPage(index + 1);
        const [, , w, h] = page.view;
        const mm = (pt: number | undefined) => Math.round(((pt ?? 0) * 25.4) / 72);
        expect([mm(w), mm(h)]).toEqual(size === '4x6' ? [102, 152] : [100, 50]);

        expect(await pageLines(page)).toEqual(textsOf(l, size).map((t) => t.replace(/\s+/g, ' ')));
        const images = await pageImages(page);
        expect(images.map(decodeImage)).toEqual(barcodesOf(l, size).map((b) => scanned(b.barcode)));
      }
    },
  );

  it('the item label: GS1-128 (01) with its human-readable text', async () => {
    const page = await (await open(await renderPdf([item], { size: '100x50' }))).getPage(1);
    expect(await pageLines(page)).toEqual([
      'Schraube M8 verzinkt, Müller &',
      'Söhne',
      'SKU SKU-1001',
      '(01)09506000134352',
    ]);
    expect((await pageImages(page)).map(decodeImage)).toEqual([']C10109506000134352']);
  });

  it('the container label: SSCC (00) lowest, the content (02)(37)(10)(17) above, GS where GS1 wants it', async () => {
    const page = await (await open(await renderPdf([container], { size: '4x6' }))).getPage(1);
    expect(await pageLines(page)).toEqual([
      'SSCC 106141411234567897',
      'Screws M8',
      'Qty 48 Lot L-2026-01 Exp 2026-12-31',
      '(02)09506000134352(37)48(10)L-2026-01(17)261231',
      '(00)106141411234567897',
    ]);
    const [content, sscc] = (await pageImages(page)).map(decodeImage);
    expect(content).toBe(
      `]C1` + `0209506000134352` + `3748` + GS + `10L-2026-01` + GS + `17261231`,
    );
    expect(sscc).toBe(`]C1` + `00106141411234567897`);
    const parsed = parseGs1(sscc ?? '');
    expect(parsed.ok && parsed.value).toMatchObject({
      symbology: 'gs1-128',
      sscc: '106141411234567897',
    });
  });

  it('the serial label: (01)(21), and the serial alone when there is no GTIN', async () => {
    const plain = label({ kind: 'serial', sku: 'PUMP-7', serial: 'SN 0001/A' });
    const doc = await open(await renderPdf([serial, plain], { size: '100x50' }));
    const first = await doc.getPage(1);
    expect(await pageLines(first)).toEqual(['S/N SN9', 'SKU PUMP-7', '(01)09506000134352(21)SN9']);
    expect((await pageImages(first)).map(decodeImage)).toEqual([']C1010950600013435221SN9']);
    const second = await doc.getPage(2);
    expect(await pageLines(second)).toEqual(['S/N SN 0001/A', 'SKU PUMP-7']);
    expect((await pageImages(second)).map(decodeImage)).toEqual(['SN 0001/A']);
  });

  it('the image in the PDF is exactly the PNG bwip-js drew, and both decode the same', async () => {
    for (const l of [item, container, serial, position]) {
      const elements = barcodesOf(l, '4x6');
      const page = await (await open(await renderPdf([l], { size: '4x6' }))).getPage(1);
      const images = await pageImages(page);
      expect(images).toHaveLength(elements.length);
      for (const [k, e] of elements.entries()) {
        const { text, png } = decodePng(await barcodePng(e.barcode, e.module, e.height));
        const img = images[k] as PageImage;
        expect([img.width, img.height]).toEqual([png.width, png.height]);
        let differing = 0;
        for (let i = 0; i < png.width * png.height; i++) {
          for (let c = 0; c < 3; c++) if (img.rgb[i * 3 + c] !== png.data[i * 4 + c]) differing++;
        }
        expect(differing).toBe(0);
        expect(text).toBe(scanned(e.barcode));
        expect(decodeImage(img)).toBe(text);
      }
    }
  });

  it('bwip-js draws GS1-128 from the bracketed form, which it checks too', () => {
    const b = gs1Barcode([
      { ai: '01', value: '09506000134352' },
      { ai: '10', value: 'LOT-A' },
    ]);
    expect(bwipSymbol(b)).toEqual({
      bcid: 'gs1-128',
      text: '(01)09506000134352(10)LOT-A',
      parsefnc: false,
    });
    expect(bwipSymbol({ symbology: 'code128', data: 'A^1' })).toEqual({
      bcid: 'code128',
      text: 'A^1',
      parsefnc: false,
    });
  });

  it('a lot with parentheses, which the bracketed form cannot carry, still encodes right', async () => {
    const b = gs1Barcode([
      { ai: '01', value: '09506000134352' },
      { ai: '10', value: 'A(1)' },
      { ai: '21', value: 'X' },
    ]);
    expect(bwipSymbol(b)).toMatchObject({ bcid: 'code128', parsefnc: true });
    expect(decodePng(await barcodePng(b, 3, 120)).text).toBe(
      `]C1` + `0109506000134352` + `10A(1)` + GS + `21X`,
    );
    expect(barcodeText(b)).toBe('(01)09506000134352(10)A(1)(21)X');
  });

  it('A4 sheets: 100×50 labels 2 × 5 a page, left to right, top to bottom', async () => {
    const labels = Array.from({ length: 12 }, (_, i) =>
      label({ kind: 'position', code: `A-${String(i + 1).padStart(2, '0')}` }),
    );
    const doc = await open(await renderPdf(labels, { size: '100x50', sheet: 'a4' }));
    expect(doc.numPages).toBe(2);
    const first = await doc.getPage(1);
    expect(first.view.map(Math.round)).toEqual([0, 0, 595, 842]);
    const content = await first.getTextContent();
    const placed = content.items
      .filter((t) => 'str' in t && t.str.startsWith('A-'))
      .map((t) =>
        'str' in t ? { s: t.str, x: t.transform[4] as number, y: t.transform[5] as number } : null,
      )
      .filter((t) => t !== null);
    expect(placed.map((t) => t.s)).toEqual(
      labels.slice(0, 10).map((l) => (l.kind === 'position' ? l.code : '')),
    );
    // Row by row: the second label is right of the first, the third below it.
    expect(placed[1]!.x).toBeGreaterThan(placed[0]!.x);
    expect(placed[2]!.y).toBeLessThan(placed[0]!.y);
    expect((await pageImages(first)).map(decodeImage)).toEqual(placed.map((t) => t.s));
    // One row: pdf.js reads the two labels side by side as one line.
    expect(await pageLines(await doc.getPage(2))).toEqual(['A-11 A-12']);
  });

  it('text beyond Western European: "?" with the standard font; exact with an embedded font', async () => {
    const polish = label({ kind: 'position', code: 'P-1', name: 'Łódź Żółć' });
    const standard = await (await open(await renderPdf([polish], { size: '100x50' }))).getPage(1);
    expect(await pageLines(standard)).toEqual(['P-1', '?ód? ?ó??']);

    const require = createRequire(import.meta.url);
    const fonts = path.join(
      path.dirname(require.resolve('pdfjs-dist/package.json')),
      'standard_fonts',
    );
    const font = readFileSync(path.join(fonts, 'LiberationSans-Bold.ttf'));
    const embedded = await (
      await open(await renderPdf([polish], { size: '100x50', font }))
    ).getPage(1);
    expect(await pageLines(embedded)).toEqual(['P-1', 'Łódź Żółć']);
    expect((await pageImages(embedded)).map(decodeImage)).toEqual(['P-1']);
  });

  it('the same labels give the same PDF', async () => {
    const a = await renderPdf([item, container], { size: '100x50' });
    const b = await renderPdf([item, container], { size: '100x50' });
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  });
});
