import { GROUP_SEPARATOR } from '@floorsync/domain';
import type { PDFDocument, PDFFont, PDFPage } from 'pdf-lib';
import type { Barcode, BarcodeElement, Layout } from './layout.js';
import { layoutLabel } from './layout.js';
import type { Label, LabelSize } from './model.js';
import { DPI, LABEL_SIZES } from './model.js';

/**
 * Labels as a PDF for office printers, from the same layout as the ZPL (dots at 203 dpi, here
 * converted to points). Texts are PDF text (searchable, crisp at any resolution); barcodes
 * are PNGs rendered by bwip-js and embedded at their exact size.
 *
 * Sheets: `label` (default) gives one label per page, the page the label's size — for a label
 * printer driven by an office driver, or "actual size" on plain paper. `a4` puts as many
 * labels as fit on portrait A4 pages, in a grid centred on the page (100×50 mm: 2 × 5, the
 * common A4 label sheet; 4×6": 2 × 1), left to right, top to bottom; print at 100 %.
 *
 * Fonts: Helvetica Bold, which covers Western European text (WinAnsi); a character it cannot
 * draw is printed as `?`. Pass `font` (TrueType/OpenType bytes, e.g. Noto Sans or Liberation
 * Sans) to print any script: it is embedded, subset to the characters used.
 */

export interface PdfOptions {
  readonly size: LabelSize;
  readonly sheet?: 'label' | 'a4';
  readonly font?: Uint8Array;
}

/**
 * pdf-lib, fontkit and bwip-js take half a second to load: loaded on the first PDF, not by
 * every process that imports the workers package (the sync server does).
 */
const libraries = async () => {
  const [pdf, fontkit, bwip] = await Promise.all([
    import('pdf-lib'),
    import('@pdf-lib/fontkit'),
    import('bwip-js'),
  ]);
  return { pdf, fontkit: fontkit.default, toBuffer: bwip.toBuffer };
};

/** Points per printer dot. */
const PT = 72 / DPI;
const A4 = { width: 595.28, height: 841.89 } as const;
/** Barcode image pixels per printer dot: 406 ppi, sharp on 300 and 600 dpi office printers. */
export const PIXELS_PER_DOT = 2;
/** Quiet zone each side of a Code 128 symbol, in modules, included in the image. */
const QUIET_ZONE = 10;

/**
 * What bwip-js is asked to draw: GS1-128 from the human-readable form (bwip-js inserts the
 * FNC1s itself and checks the data against GS1's rules, a second opinion on ours) — except
 * when a value contains a parenthesis, which that form cannot carry: then Code 128 with the
 * FNC1s written out.
 */
export function bwipSymbol(barcode: Barcode): {
  readonly bcid: 'gs1-128' | 'code128';
  readonly text: string;
  readonly parsefnc: boolean;
} {
  if (barcode.symbology === 'code128') {
    return { bcid: 'code128', text: barcode.data, parsefnc: false };
  }
  const { elements, humanReadable, data } = barcode.gs1;
  if (!elements.some((e) => /[()]/.test(e.value))) {
    return { bcid: 'gs1-128', text: humanReadable, parsefnc: false };
  }
  return {
    bcid: 'code128',
    text: `^FNC1${data.split(GROUP_SEPARATOR).join('^FNC1')}`,
    parsefnc: true,
  };
}

/** The barcode as a PNG, white background and quiet zones included; `module` and `height` in dots. */
export async function barcodePng(
  barcode: Barcode,
  module: number,
  height: number,
): Promise<Buffer> {
  const { toBuffer } = await libraries();
  const scale = module * PIXELS_PER_DOT;
  return toBuffer({
    ...bwipSymbol(barcode),
    scaleX: scale,
    scaleY: scale,
    // bwip-js takes the bar height in millimetres of a 72 dpi drawing, then scales it.
    height: (height * PIXELS_PER_DOT * 25.4) / (72 * scale),
    includetext: false,
    backgroundcolor: 'FFFFFF',
    paddingwidth: QUIET_ZONE,
  });
}

/** Replaces what the font cannot draw with `?` (only the standard font has gaps). */
function drawable(font: PDFFont): (text: string) => string {
  const set = new Set(font.getCharacterSet());
  return (text) => [...text].map((ch) => (set.has(ch.codePointAt(0) ?? 0) ? ch : '?')).join('');
}

async function drawLabel(
  doc: PDFDocument,
  page: PDFPage,
  font: PDFFont,
  layout: Layout,
  originX: number,
  originTop: number,
): Promise<void> {
  // PDF space has its origin at the bottom left; the layout's is the top left.
  const top = (yDots: number) => originTop - yDots * PT;
  const clean = drawable(font);
  for (const e of layout.elements) {
    if (e.kind === 'text') {
      const text = clean(e.text);
      const box = e.width * PT;
      let size = e.height * PT;
      const natural = font.widthOfTextAtSize(text, size);
      if (natural > box) size = (size * box) / natural;
      const width = font.widthOfTextAtSize(text, size);
      const x = originX + e.x * PT + (e.align === 'center' ? (box - width) / 2 : 0);
      // ZPL's ^FO is the top of the character cell; a baseline sits about 0.8 of it lower.
      page.drawText(text, { x, y: top(e.y + e.height * 0.8), size, font });
    } else {
      await drawBarcode(doc, page, e, originX, top, layout.widthDots);
    }
  }
}

async function drawBarcode(
  doc: PDFDocument,
  page: PDFPage,
  e: BarcodeElement,
  originX: number,
  top: (yDots: number) => number,
  labelWidthDots: number,
): Promise<void> {
  const png = await barcodePng(e.barcode, e.module, e.height);
  const image = await doc.embedPng(png);
  const width = (image.width / PIXELS_PER_DOT) * PT;
  const height = (image.height / PIXELS_PER_DOT) * PT;
  page.drawImage(image, {
    x: originX + (labelWidthDots * PT - width) / 2,
    y: top(e.y) - height,
    width,
    height,
  });
}

/** Renders labels to a PDF. Throws `LabelError` for a label that cannot be drawn. */
export async function renderPdf(
  labels: readonly Label[],
  options: PdfOptions,
): Promise<Uint8Array> {
  const layouts = labels.map((l) => layoutLabel(l, options.size));
  const { pdf, fontkit } = await libraries();
  const doc = await pdf.PDFDocument.create();
  doc.setTitle(`Labels (${labels.length})`);
  doc.setCreator('Floorsync');
  doc.setProducer('Floorsync');
  // Fixed dates: the same labels give the same PDF.
  doc.setCreationDate(new Date(0));
  doc.setModificationDate(new Date(0));
  let font: PDFFont;
  if (options.font) {
    doc.registerFontkit(fontkit);
    font = await doc.embedFont(options.font, { subset: true });
  } else {
    font = await doc.embedFont(pdf.StandardFonts.HelveticaBold);
  }

  const { widthDots, heightDots } = LABEL_SIZES[options.size];
  const w = widthDots * PT;
  const h = heightDots * PT;
  if ((options.sheet ?? 'label') === 'label') {
    for (const layout of layouts) {
      const page = doc.addPage([w, h]);
      await drawLabel(doc, page, font, layout, 0, h);
    }
  } else {
    const cols = Math.max(1, Math.floor(A4.width / w));
    const rows = Math.max(1, Math.floor(A4.height / h));
    const left = (A4.width - cols * w) / 2;
    const top = A4.height - (A4.height - rows * h) / 2;
    let page: PDFPage | null = null;
    for (const [i, layout] of layouts.entries()) {
      const slot = i % (cols * rows);
      if (slot === 0) page = doc.addPage([A4.width, A4.height]);
      const col = slot % cols;
      const row = Math.floor(slot / cols);
      await drawLabel(doc, page as PDFPage, font, layout, left + col * w, top - row * h);
    }
  }
  return doc.save({ useObjectStreams: false });
}
