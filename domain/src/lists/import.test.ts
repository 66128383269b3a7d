import { describe, expect, it } from 'vitest';
import { parseCsv } from '../jobs/bulk-adjust.js';
import { initialState, viewOf } from '../inventory/state.js';
import { foldEvent } from '../projection.js';
import { A, L, P, Q, warehouse } from '../testing/index.js';
import type { ListType } from './commands.js';
import { readListsCsv } from './import.js';

const view = (() => {
  let s = initialState();
  warehouse().forEach((e, i) => (s = foldEvent(s, { ...e, id: `w${i}` })));
  return viewOf(s);
})();
const ids = new Map<string, string>();
const listIdOf = (type: ListType, code: string) => {
  const key = `${type}/${code}`;
  if (!ids.has(key))
    ids.set(key, `0192f0c8-0000-7000-8000-${String(ids.size + 1).padStart(12, '0')}`);
  return ids.get(key) as string;
};
const read = (csv: string) =>
  readListsCsv(parseCsv(csv), view, { defaultType: 'receipt', listIdOf });

describe('reading movement lists from an ERP file', () => {
  it('groups rows into lists, with header fields from any row', () => {
    const r = read(
      [
        'List;Line;Item;Quantity;Partner;Due;Reference;Position;Lot',
        'PO-1;1;A;10;ACME;31.12.2026;ORD-7;P;',
        'PO-1;2;L;2,5;;;;Q;L-1',
        'PO-2;1;4006381333931;3;Beta;;;;',
      ].join('\n'),
    );
    expect(r.errors).toEqual([]);
    expect(r.rows).toBe(3);
    expect(r.lists.map((l) => [l.line, l.args.code, l.args.lines.length])).toEqual([
      [2, 'PO-1', 2],
      [4, 'PO-2', 1],
    ]);
    const po1 = r.lists[0]?.args;
    expect(po1).toMatchObject({
      type: 'receipt',
      partner: 'ACME',
      dueOn: '2026-12-31',
      references: ['ORD-7'],
    });
    expect(po1?.lines[1]).toEqual({
      lineNo: 2,
      itemId: L,
      quantity: 2.5,
      lot: 'L-1',
      suggestedPositionId: Q,
    });
    // A barcode names the item too.
    expect(r.lists[1]?.args.lines[0]?.itemId).toBe(A);
    // The id is the document's: the same file read again names the same lists.
    expect(read('list,line,item,quantity\nPO-1,1,A,1').lists[0]?.args.listId).toBe(po1?.listId);
  });

  it('reports every bad cell by line and column, and then imports nothing', () => {
    const r = read(
      [
        'list;line;item;quantity;position;type;partner',
        'PO-1;1;A;ten;P;;ACME',
        'PO-1;x;NOPE;1;Z9;;Other',
        ';3;A;1;;;',
        'PO-2;1;A;1;;return;',
      ].join('\n'),
    );
    expect(r.lists).toEqual([]);
    expect(r.errors.map((e) => [e.line, e.column, e.code])).toEqual([
      [2, 'quantity', 'NOT_A_QUANTITY'],
      [3, 'partner', 'LIST_HEADER_DIFFERS'],
      [3, 'line', 'NOT_A_LINE_NUMBER'],
      [3, 'item', 'UNKNOWN_ITEM'],
      [3, 'position', 'UNKNOWN_POSITION'],
      [4, 'list', 'NO_LIST'],
      [5, 'type', 'NOT_A_LIST_TYPE'],
    ]);
    expect(r.errors[1]?.message).toContain('"ACME" on an earlier row');
    expect(r.errors[1]?.values).toEqual({
      list: 'PO-1',
      column: 'partner',
      earlier: 'ACME',
      value: 'Other',
    });
  });

  it('checks each list with the command’s own rules: duplicate line numbers, quantity ≤ 0', () => {
    const r = read('list;line;item;quantity\nPO-1;1;A;1\nPO-1;1;A;2\nPO-1;2;A;0\n');
    expect(r.lists).toEqual([]);
    expect(r.errors.map((e) => [e.line, e.column])).toEqual([
      [3, 'line'],
      [4, 'quantity'],
    ]);
    expect(r.errors[0]?.message).toMatch(/^list PO-1: .*unique/);
    // A quantity of 0 is a problem a screen says in its language; the list's own rule (unique
    // line numbers) keeps the schema's words.
    expect(r.errors.map((e) => e.code)).toEqual(['LIST_INVALID', 'NOT_POSITIVE']);
    expect(r.errors[1]?.message).toBe('must be greater than 0');
  });

  it('says what is missing from a file without the columns or rows it needs', () => {
    expect(read('code;item;qty\nPO;A;1').errors[0]?.message).toMatch(
      /missing columns: list, line, quantity/,
    );
    expect(read('list;line;item;quantity\n\n').errors[0]?.message).toMatch(/no rows/);
  });

  it('takes the type from a column, so one file can hold receipts and shipments', () => {
    const r = read(
      'type;list;line;item;quantity;from\nshipment;SO-1;1;A;2;P\nreceipt;SO-1;1;A;2;\n',
    );
    expect(r.errors).toEqual([]);
    expect(r.lists.map((l) => [l.args.type, l.args.code])).toEqual([
      ['shipment', 'SO-1'],
      ['receipt', 'SO-1'],
    ]);
    expect(r.lists[0]?.args.lines[0]).toMatchObject({ suggestedFromId: P });
  });
});
