import type { RecallReport } from '@floorsync/domain';

/** The languages a recall PDF is written in. */
export const RECALL_PDF_LANGS = ['en', 'de'] as const;
export type RecallPdfLang = (typeof RECALL_PDF_LANGS)[number];

/** The PDF's words, by language (the CSV's columns are a file format: English, always). */
const TEXTS: Readonly<
  Record<
    RecallPdfLang,
    {
      readonly title: (lot: string, item: string) => string;
      readonly summary: (n: number, at: string) => string;
      readonly incomplete: string;
      readonly none: string;
      readonly heads: readonly [string, string, string, string, string, string, string];
    }
  >
> = {
  en: {
    title: (lot, item) => `Recall: lot ${lot} of ${item}`,
    summary: (n, at) => `${n} ${n === 1 ? 'shipment' : 'shipments'} · generated ${at}`,
    incomplete: 'INCOMPLETE: depth limit reached',
    none: 'No shipment contains this lot.',
    heads: ['Shipment', 'Item', 'Lot / serial', 'Qty', 'From', 'Containers', 'How'],
  },
  de: {
    title: (lot, item) => `Rückruf: Charge ${lot} von ${item}`,
    summary: (n, at) => `${n} ${n === 1 ? 'Sendung' : 'Sendungen'} · erstellt ${at}`,
    incomplete: 'UNVOLLSTÄNDIG: Suchtiefe erreicht',
    none: 'Keine Sendung enthält diese Charge.',
    heads: ['Sendung', 'Artikel', 'Charge / Serie', 'Menge', 'Von', 'Behälter', 'Weg'],
  },
};

/**
 * The recall report as a PDF for the recall letter's annex: A4 landscape, one row per shipment
 * (what left, from where, on which pallet, how the lot got into it), as many pages as needed,
 * in `lang` (English by default). `item` names the item (its SKU). Helvetica: characters
 * outside Windows-1252 print as `?` (the CSV keeps them exactly).
 */
export async function recallPdf(
  report: RecallReport,
  o: {
    readonly lot: string;
    readonly item: string;
    readonly generatedAt: string;
    readonly lang?: RecallPdfLang;
  },
): Promise<Uint8Array> {
  const words = TEXTS[o.lang ?? 'en'];
  const [shipment, item, lotOrSerial, qty, from, containers, how] = words.heads;
  const { PDFDocument, StandardFonts, rgb } = await import('pdf-lib');
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const bold = await doc.embedFont(StandardFonts.HelveticaBold);
  // What Helvetica (WinAnsi, the same set in both weights) cannot draw, as `?`: a control
  // character in a lot or item id (Latin-1, so "< 256" let it through) made pdf-lib throw.
  const drawable = new Set(font.getCharacterSet());
  const safe = (s: string) =>
    [...s].map((c) => (drawable.has(c.codePointAt(0) ?? 0) ? c : '?')).join('');
  const W = 842;
  const H = 595;
  const M = 36;
  const columns = [
    {
      head: shipment,
      width: 110,
      of: (r: RecallReport['rows'][number]) => r.shipmentId.slice(0, 18),
    },
    { head: item, width: 80, of: (r: RecallReport['rows'][number]) => r.sku },
    {
      head: lotOrSerial,
      width: 90,
      of: (r: RecallReport['rows'][number]) => r.serial ?? r.lot ?? '',
    },
    { head: qty, width: 40, of: (r: RecallReport['rows'][number]) => String(r.quantity) },
    { head: from, width: 70, of: (r: RecallReport['rows'][number]) => r.fromCode },
    {
      head: containers,
      width: 90,
      of: (r: RecallReport['rows'][number]) => r.containerCodes.join(' > '),
    },
    {
      head: how,
      width: W - 2 * M - 480,
      of: (r: RecallReport['rows'][number]) => r.pathLabels.join(' > '),
    },
  ];
  const fit = (text: string, width: number, size: number) => {
    let t = safe(text);
    while (t.length > 1 && font.widthOfTextAtSize(t, size) > width - 4) t = `${t.slice(0, -2)}…`;
    return t;
  };
  let page = doc.addPage([W, H]);
  let y = H - M;
  const header = () => {
    page.drawText(safe(words.title(o.lot, o.item)), { x: M, y, size: 14, font: bold });
    y -= 18;
    page.drawText(
      safe(
        `${words.summary(report.rows.length, o.generatedAt)}${report.truncated ? ` · ${words.incomplete}` : ''}`,
      ),
      { x: M, y, size: 9, font, color: rgb(0.3, 0.3, 0.3) },
    );
    y -= 20;
    let x = M;
    for (const c of columns) {
      page.drawText(safe(c.head), { x, y, size: 9, font: bold });
      x += c.width;
    }
    y -= 4;
    page.drawLine({ start: { x: M, y }, end: { x: W - M, y }, thickness: 0.5 });
    y -= 12;
  };
  header();
  for (const r of report.rows) {
    if (y < M) {
      page = doc.addPage([W, H]);
      y = H - M;
      header();
    }
    let x = M;
    for (const c of columns) {
      page.drawText(fit(c.of(r), c.width, 8), { x, y, size: 8, font });
      x += c.width;
    }
    y -= 12;
  }
  if (report.rows.length === 0) page.drawText(safe(words.none), { x: M, y, size: 10, font });
  return doc.save();
}
