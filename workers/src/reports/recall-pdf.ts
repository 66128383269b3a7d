import type { RecallReport } from '@floorsync/domain';

/**
 * The recall report as a PDF for the recall letter's annex: A4 landscape, one row per shipment
 * (what left, from where, on which pallet, how the lot got into it), as many pages as needed.
 * Helvetica: characters outside Windows-1252 print as `?` (the CSV keeps them exactly).
 */
export async function recallPdf(
  report: RecallReport,
  o: { readonly title: string; readonly generatedAt: string },
): Promise<Uint8Array> {
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
      head: 'Shipment',
      width: 110,
      of: (r: RecallReport['rows'][number]) => r.shipmentId.slice(0, 18),
    },
    { head: 'Item', width: 80, of: (r: RecallReport['rows'][number]) => r.sku },
    {
      head: 'Lot / serial',
      width: 90,
      of: (r: RecallReport['rows'][number]) => r.serial ?? r.lot ?? '',
    },
    { head: 'Qty', width: 40, of: (r: RecallReport['rows'][number]) => String(r.quantity) },
    { head: 'From', width: 70, of: (r: RecallReport['rows'][number]) => r.fromCode },
    {
      head: 'Containers',
      width: 90,
      of: (r: RecallReport['rows'][number]) => r.containerCodes.join(' > '),
    },
    {
      head: 'How',
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
    page.drawText(safe(o.title), { x: M, y, size: 14, font: bold });
    y -= 18;
    page.drawText(
      safe(
        `${report.rows.length} shipment(s) · generated ${o.generatedAt}${report.truncated ? ' · INCOMPLETE: depth limit reached' : ''}`,
      ),
      { x: M, y, size: 9, font, color: rgb(0.3, 0.3, 0.3) },
    );
    y -= 20;
    let x = M;
    for (const c of columns) {
      page.drawText(c.head, { x, y, size: 9, font: bold });
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
  if (report.rows.length === 0)
    page.drawText('No shipment contains this lot.', { x: M, y, size: 10, font });
  return doc.save();
}
