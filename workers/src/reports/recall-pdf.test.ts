import type { EventId, ItemId, Lot, PositionId, RecallReport } from '@floorsync/domain';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { describe, expect, it } from 'vitest';
import { recallPdf } from './recall-pdf.js';

const report = (rows: number): RecallReport => ({
  itemId: 'item-7' as ItemId,
  lot: 'L-26' as Lot,
  truncated: false,
  rows: Array.from({ length: rows }, (_, i) => ({
    shipmentId: `ship-${i}` as EventId,
    itemId: 'item-7' as ItemId,
    sku: 'GLUE-2K',
    lot: 'L-26' as Lot,
    serial: null,
    quantity: 3,
    from: 'dock' as PositionId,
    fromCode: 'DOCK',
    containers: [],
    containerCodes: ['PAL-0001'],
    listId: null,
    lineNo: null,
    path: [],
    pathLabels: ['GLUE-2K lot L-26'],
  })),
});

async function text(pdf: Uint8Array): Promise<string> {
  const doc = await getDocument({ data: pdf.slice(), isEvalSupported: false, verbosity: 0 })
    .promise;
  return (await (await doc.getPage(1)).getTextContent()).items
    .map((i) => ('str' in i ? i.str : ''))
    .join(' ');
}

describe('the recall PDF', () => {
  const at = '2026-11-28T15:00:00.000Z';

  it('names the item by what it is given (its SKU), in English by default', async () => {
    const t = await text(
      await recallPdf(report(2), { lot: 'L-26', item: 'GLUE-2K', generatedAt: at }),
    );
    expect(t).toContain('Recall: lot L-26 of GLUE-2K');
    expect(t).toContain(`2 shipments · generated ${at}`);
    for (const head of ['Shipment', 'Item', 'Lot / serial', 'Qty', 'From', 'Containers', 'How'])
      expect(t).toContain(head);
    expect(t).toContain('PAL-0001');
  });

  it('in German for a German letter: title, summary, headings, the empty case', async () => {
    const one = await text(
      await recallPdf(report(1), { lot: 'L-26', item: 'GLUE-2K', generatedAt: at, lang: 'de' }),
    );
    expect(one).toContain('Rückruf: Charge L-26 von GLUE-2K');
    expect(one).toContain(`1 Sendung · erstellt ${at}`);
    for (const head of ['Sendung', 'Artikel', 'Charge / Serie', 'Menge', 'Von', 'Behälter', 'Weg'])
      expect(one).toContain(head);
    expect(one).not.toContain('Shipment');
    const none = await text(
      await recallPdf(report(0), { lot: 'L-26', item: 'GLUE-2K', generatedAt: at, lang: 'de' }),
    );
    expect(none).toContain('Keine Sendung enthält diese Charge.');
    expect(none).toContain('0 Sendungen');
  });
});
