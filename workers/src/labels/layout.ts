import type { Gs1ElementInput, Gs1Encoded } from '@floorsync/domain';
import { encodeGs1, gs1AssociationProblem, gs1Date } from '@floorsync/domain';
import type { Code128Plan } from './code128.js';
import { planCode128 } from './code128.js';
import type { Label, LabelSize } from './model.js';
import { LABEL_SIZES, LabelError } from './model.js';

/**
 * One layout per label and size, in printer dots (203 dpi, origin top left), drawn by both
 * renderers: ZPL places fields at these dots, the PDF converts them to points. Texts are
 * broken into lines here, so both print the same lines.
 *
 * Layout: a column of blocks from the top margin — texts of four sizes, barcodes — with the
 * room left shared among the barcodes (between a minimum and a maximum height). A label whose
 * blocks do not fit is refused (`LabelError`), never clipped.
 */

export type Barcode =
  | { readonly symbology: 'gs1-128'; readonly gs1: Gs1Encoded }
  | { readonly symbology: 'code128'; readonly data: string };

export interface TextElement {
  readonly kind: 'text';
  readonly x: number;
  readonly y: number;
  /** Character height in dots (ZPL's ^A0 height; the PDF's font size). */
  readonly height: number;
  /** The box the line is drawn in, from x. */
  readonly width: number;
  readonly align: 'left' | 'center';
  readonly text: string;
}

export interface BarcodeElement {
  readonly kind: 'barcode';
  /** Left edge of the bars (ZPL's ^FO), centred on the label from the Code 128 plan. */
  readonly x: number;
  readonly y: number;
  readonly height: number;
  /** Narrowest bar, in dots (ZPL's ^BY). */
  readonly module: number;
  readonly barcode: Barcode;
  readonly plan: Code128Plan;
}

export type LayoutElement = TextElement | BarcodeElement;

export interface Layout {
  readonly size: LabelSize;
  readonly widthDots: number;
  readonly heightDots: number;
  readonly elements: readonly LayoutElement[];
}

type TextClass = 'xl' | 'l' | 'm' | 's';
type Block =
  | {
      readonly kind: 'text';
      readonly cls: TextClass;
      readonly text: string;
      readonly maxLines: number;
      readonly align?: 'left' | 'center';
      /** Never cut: a smaller font instead (a barcode's human-readable text). */
      readonly shrink?: boolean;
    }
  | { readonly kind: 'barcode'; readonly barcode: Barcode };

interface Metrics {
  readonly margin: number;
  readonly gap: number;
  readonly text: Readonly<Record<TextClass, number>>;
  readonly barcodeMin: number;
  readonly barcodeMax: number;
}

const METRICS: Readonly<Record<LabelSize, Metrics>> = {
  '4x6': {
    margin: 40,
    gap: 20,
    text: { xl: 110, l: 70, m: 48, s: 34 },
    // GS1 logistic labels: an SSCC symbol 32 mm high (256 dots) where there is room.
    barcodeMin: 120,
    barcodeMax: 260,
  },
  '100x50': {
    margin: 20,
    gap: 8,
    text: { xl: 64, l: 44, m: 32, s: 24 },
    barcodeMin: 56,
    barcodeMax: 140,
  },
};

/**
 * The narrowest bar, in dots: 4 dots (0.5 mm) meets GS1's 0.495 mm minimum for SSCCs on
 * logistic labels; longer codes drop to 3 or 2 dots (0.25 mm, the general GS1-128 minimum)
 * to fit. Code 128 needs a quiet zone of 10 modules each side.
 */
const MODULES = [4, 3, 2] as const;
const QUIET_ZONE = 10;
/** GS1-128: at most 48 data characters (AIs, data and separating FNC1s) in one symbol. */
const GS1_128_MAX_DATA = 48;
/**
 * A conservative average character width for line breaking, as a share of the height: the
 * printer's font 0 (CG Triumvirate Bold Condensed) is narrower, Helvetica Bold in the PDF a
 * little wider on capitals, where the PDF renderer shrinks a line to its box if it must.
 */
const CHAR_WIDTH = 0.55;
/** The smallest text printed, in dots (2.5 mm). */
const MIN_TEXT = 20;

export function gs1Barcode(elements: readonly Gs1ElementInput[]): Barcode {
  const encoded = encodeGs1(elements);
  if (!encoded.ok) throw new LabelError(encoded.error);
  if (encoded.value.data.length > GS1_128_MAX_DATA) {
    throw new LabelError(
      `${encoded.value.humanReadable} is ${encoded.value.data.length} characters, ` +
        `more than the ${GS1_128_MAX_DATA} one GS1-128 symbol carries`,
    );
  }
  return { symbology: 'gs1-128', gs1: encoded.value };
}

/** The text of a barcode as printed under it. */
export const barcodeText = (b: Barcode): string =>
  b.symbology === 'gs1-128' ? b.gs1.humanReadable : b.data;

/** The blocks of each kind of label, top to bottom. */
function blocks(label: Label): Block[] {
  const t = (cls: TextClass, text: string, maxLines = 1, align?: 'center'): Block => ({
    kind: 'text',
    cls,
    text,
    maxLines,
    ...(align ? { align } : {}),
  });
  const hri = (b: Barcode): Block => ({
    kind: 'text',
    cls: 's',
    text: barcodeText(b),
    maxLines: 1,
    align: 'center',
    shrink: true,
  });
  switch (label.kind) {
    case 'item': {
      const b: Barcode = label.gtin
        ? gs1Barcode([{ ai: '01', value: label.gtin }])
        : { symbology: 'code128', data: label.sku };
      return [
        t('l', label.name, 2),
        t('m', `SKU ${label.sku}`),
        { kind: 'barcode', barcode: b },
        hri(b),
      ];
    }
    case 'position': {
      const b: Barcode = { symbology: 'code128', data: label.code };
      return [
        t('xl', label.code, 1, 'center'),
        ...(label.name ? [t('m', label.name, 1, 'center')] : []),
        { kind: 'barcode', barcode: b },
      ];
    }
    case 'serial': {
      const b: Barcode = label.gtin
        ? gs1Barcode([
            { ai: '01', value: label.gtin },
            { ai: '21', value: label.serial },
          ])
        : { symbology: 'code128', data: label.serial };
      return [
        t('l', `S/N ${label.serial}`),
        t('m', `SKU ${label.sku}`),
        { kind: 'barcode', barcode: b },
        ...(label.gtin ? [hri(b)] : []),
      ];
    }
    case 'container': {
      const c = label.contents;
      const content: Gs1ElementInput[] = [];
      if (c?.gtin !== undefined) {
        content.push({ ai: '02', value: c.gtin });
        if (c.count !== undefined) content.push({ ai: '37', value: String(c.count) });
        if (c.lot !== undefined) content.push({ ai: '10', value: c.lot });
        if (c.expiry !== undefined) {
          const yymmdd = gs1Date(c.expiry);
          if (yymmdd === null) throw new LabelError(`expiry ${c.expiry} is not a date`);
          content.push({ ai: '17', value: yymmdd });
        }
      }
      const problem = gs1AssociationProblem(['00', ...content.map((e) => e.ai)]);
      if (problem) throw new LabelError(`container label: ${problem}`);
      const details = [
        c?.count !== undefined ? `Qty ${c.count}` : '',
        c?.lot !== undefined ? `Lot ${c.lot}` : '',
        c?.expiry !== undefined ? `Exp ${c.expiry}` : '',
      ].filter((s) => s !== '');
      const ssccBarcode = gs1Barcode([{ ai: '00', value: label.sscc }]);
      const contentBarcode = content.length > 0 ? gs1Barcode(content) : null;
      const codeBarcode: Barcode | null =
        label.code === label.sscc ? null : { symbology: 'code128', data: label.code };
      return [
        t('m', `SSCC ${label.sscc}`),
        ...(codeBarcode ? [t('l', label.code)] : []),
        ...(c?.description !== undefined ? [t('m', c.description, 2)] : []),
        ...(details.length > 0 ? [t('s', details.join('   '))] : []),
        ...(codeBarcode ? [{ kind: 'barcode', barcode: codeBarcode } as const] : []),
        ...(contentBarcode
          ? [{ kind: 'barcode', barcode: contentBarcode } as const, hri(contentBarcode)]
          : []),
        // The SSCC symbol lowest on the label, as GS1 logistic labels have it.
        { kind: 'barcode', barcode: ssccBarcode },
        hri(ssccBarcode),
      ];
    }
    default: {
      const unreachable: never = label;
      return unreachable;
    }
  }
}

/** Breaks `text` into at most `maxLines` lines of `maxChars`, at spaces where it can; `…` ends a cut. */
export function wrap(text: string, maxChars: number, maxLines: number): string[] {
  const chars = [...text];
  const lines: string[] = [];
  let rest = chars;
  while (rest.length > 0 && lines.length < maxLines) {
    if (rest.length <= maxChars) {
      lines.push(rest.join(''));
      break;
    }
    const last = lines.length === maxLines - 1;
    const room = last ? maxChars - 1 : maxChars;
    let cut = last ? room : rest.lastIndexOf(' ', room);
    if (cut <= 0) cut = room;
    lines.push(rest.slice(0, cut).join('').trimEnd() + (last ? '…' : ''));
    rest = rest.slice(cut);
    while (rest[0] === ' ') rest = rest.slice(1);
  }
  return lines;
}

function fitModule(plan: Code128Plan, width: number, margin: number): number {
  for (const m of MODULES) {
    if ((plan.modules + 2 * QUIET_ZONE) * m <= width && plan.modules * m <= width - 2 * margin) {
      return m;
    }
  }
  throw new LabelError(`the barcode ${plan.zplData} is too wide for the label`);
}

export function layoutLabel(label: Label, size: LabelSize): Layout {
  const { widthDots: W, heightDots: H } = LABEL_SIZES[size];
  const m = METRICS[size];
  const inner = W - 2 * m.margin;
  const parts = blocks(label).map((b) => {
    if (b.kind === 'text') {
      if (b.shrink) {
        const length = [...b.text].length;
        const h = Math.min(m.text[b.cls], Math.floor(inner / (length * CHAR_WIDTH)));
        if (h < MIN_TEXT) throw new LabelError(`"${b.text}" is too long for the label`);
        return { ...b, h, lines: [b.text] };
      }
      const h = m.text[b.cls];
      const lines = wrap(b.text, Math.max(4, Math.floor(inner / (h * CHAR_WIDTH))), b.maxLines);
      return { ...b, h, lines };
    }
    const plan =
      b.barcode.symbology === 'gs1-128'
        ? planCode128(b.barcode.gs1.data, true)
        : planCode128(b.barcode.data, false);
    return { ...b, plan, module: fitModule(plan, W, m.margin) };
  });

  const texts = parts.reduce((sum, p) => sum + (p.kind === 'text' ? p.h * p.lines.length : 0), 0);
  const barcodes = parts.filter((p) => p.kind === 'barcode').length;
  const fixed = 2 * m.margin + m.gap * (parts.length - 1) + texts;
  const spare = H - fixed - barcodes * m.barcodeMin;
  if (spare < 0) {
    throw new LabelError(
      `a ${label.kind} label with this content does not fit on ${size}` +
        (size === '4x6' ? '' : ': print it on 4x6'),
    );
  }
  const barHeight = Math.min(
    m.barcodeMax,
    m.barcodeMin + Math.floor(spare / Math.max(1, barcodes)),
  );

  const elements: LayoutElement[] = [];
  let y = m.margin;
  let lastBarcode = 0;
  for (const p of parts) {
    if (p.kind === 'text') {
      for (const line of p.lines) {
        elements.push({
          kind: 'text',
          x: m.margin,
          y,
          height: p.h,
          width: inner,
          align: p.align ?? 'left',
          text: line,
        });
        y += p.h;
      }
    } else {
      const x = Math.floor((W - p.plan.modules * p.module) / 2);
      lastBarcode = elements.length;
      elements.push({
        kind: 'barcode',
        x,
        y,
        height: barHeight,
        module: p.module,
        barcode: p.barcode,
        plan: p.plan,
      });
      y += barHeight;
    }
    y += m.gap;
  }
  // Room left over goes above the last barcode: it and its text sit on the bottom margin.
  const below = H - m.margin - (y - m.gap);
  return {
    size,
    widthDots: W,
    heightDots: H,
    elements: elements.map((e, i) => (i >= lastBarcode ? { ...e, y: e.y + below } : e)),
  };
}
