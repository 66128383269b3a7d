import { describe, expect, it } from 'vitest';
import { A, L, P, Q, S, eventId, warehouse } from '../testing/factories.js';
import { evolve, initialState, viewOf } from '../inventory/state.js';
import { BULK_ADJUST_MAX_ROWS, parseCsv, validateBulkAdjust } from './bulk-adjust.js';

const view = viewOf(
  warehouse().reduce((s, e, i) => evolve(s, { ...e, id: eventId(`w${i}`) }), initialState()),
);
const check = (csv: string) => validateBulkAdjust(parseCsv(csv), view);

describe('parseCsv', () => {
  it('reads quoted fields with separators, doubled quotes and line breaks; CRLF; a BOM', () => {
    expect(parseCsv('\uFEFFa,b,c\r\n1,"x, y","say ""hi"""\r\n2,"two\nlines",\n')).toEqual([
      ['a', 'b', 'c'],
      ['1', 'x, y', 'say "hi"'],
      ['2', 'two\nlines', ''],
    ]);
  });
  it('takes ; as the separator when the header has more of them (spreadsheets in many locales)', () => {
    expect(parseCsv('item;position;delta;reason\nA;P;2,5;found')).toEqual([
      ['item', 'position', 'delta', 'reason'],
      ['A', 'P', '2,5', 'found'],
    ]);
  });
  it('refuses a file that ends inside a quoted field', () => {
    expect(() => parseCsv('a,b\n1,"open')).toThrow(/inside a quoted field/);
  });
});

describe('validateBulkAdjust', () => {
  it('turns good rows into adjustStock arguments, whatever the column order and case', () => {
    const r = check(
      [
        'Reason,Item,Position,Delta,Lot,Note',
        'found,A,P,3,,shelf recount',
        'damaged,4006381333931,Q,-1.5,,',
        'expired,L,P,"-2,25",L-7,',
      ].join('\n'),
    );
    expect(r.errors).toEqual([]);
    expect(r.rows).toBe(3);
    expect(r.valid).toEqual([
      {
        line: 2,
        args: { itemId: A, positionId: P, delta: 3, reason: 'found', note: 'shelf recount' },
      },
      { line: 3, args: { itemId: A, positionId: Q, delta: -1.5, reason: 'damaged' } },
      { line: 4, args: { itemId: L, positionId: P, delta: -2.25, reason: 'expired', lot: 'L-7' } },
    ]);
  });

  it('says which line and column is wrong and why; good rows stay valid', () => {
    const r = check(
      [
        'item,position,delta,reason,serial',
        'NOPE,P,1,found,',
        'A,Z9,1,found,',
        'A,P,abc,found,',
        'A,P,0,found,',
        'A,P,NaN,found,',
        'A,P,1,stolen,',
        'L,P,1,found,',
        'S,P,2,found,SN-1',
        'A,P,1,found,SN-2',
        '',
        'A,P,-4,lost,',
      ].join('\n'),
    );
    expect(r.rows).toBe(10); // the blank line is not a row
    expect(r.valid.map((v) => v.line)).toEqual([12]);
    expect(r.errors.map((e) => [e.line, e.column, e.code])).toEqual([
      [2, 'item', 'UNKNOWN_ITEM'],
      [3, 'position', 'UNKNOWN_POSITION'],
      [4, 'delta', 'NOT_A_QUANTITY'],
      [5, 'delta', 'ZERO'],
      [6, 'delta', 'NOT_A_QUANTITY'],
      [7, 'reason', 'NOT_ONE_OF'],
      [8, 'lot', 'LOT_REQUIRED'],
      [9, 'delta', 'SERIAL_DELTA'],
      [10, 'serial', 'NOT_TRACKED'],
    ]);
    expect(r.errors[0]?.values).toEqual({ code: 'NOPE' });
    expect(r.errors[0]?.message).toBe('unknown item "NOPE" (neither a SKU nor a barcode)');
    // A schema's refusal as a code and values, said in any language: the value as the file
    // has it and the codes allowed (the file's vocabulary).
    expect(r.errors[3]).toMatchObject({ values: {}, message: 'must not be 0' });
    expect(r.errors[5]?.values).toEqual({
      value: 'stolen',
      allowed: expect.stringMatching(/^count-correction, .*damaged/),
    });
    expect(r.errors[5]?.message).toMatch(/^"stolen" is not one of: count-correction/);
  });

  it('refuses a file without the required columns, or without rows, as a whole', () => {
    expect(check('item,position,quantity\nA,P,1').errors).toEqual([
      {
        line: 1,
        column: null,
        code: 'MISSING_COLUMNS',
        values: {
          missing: 'delta, reason',
          required: 'item, position, delta, reason',
          optional: 'lot, serial, note',
        },
        message: expect.stringMatching(/^missing columns: delta, reason/),
      },
    ]);
    expect(check('item,position,delta,reason\n\n').errors[0]?.message).toBe(
      'the file has no rows below its header',
    );
    expect(check('').errors[0]?.line).toBe(1);
  });

  it(`refuses more than ${BULK_ADJUST_MAX_ROWS} rows whole`, () => {
    const big = [['item', 'position', 'delta', 'reason']];
    for (let i = 0; i <= BULK_ADJUST_MAX_ROWS; i++) big.push(['A', 'P', '1', 'found']);
    const r = validateBulkAdjust(big, view);
    expect(r.valid).toEqual([]);
    expect(r.errors[0]?.message).toMatch(/at most 100000 per file/);
    expect(r.errors[0]).toMatchObject({
      code: 'TOO_MANY_ROWS',
      values: { rows: BULK_ADJUST_MAX_ROWS + 1, max: BULK_ADJUST_MAX_ROWS },
    });
  });

  it('a serial row adjusts one unit of a serial-tracked item', () => {
    expect(check('item,position,delta,reason,serial\nS,P,-1,lost,SN-1').valid).toEqual([
      { line: 2, args: { itemId: S, positionId: P, delta: -1, reason: 'lost', serial: 'SN-1' } },
    ]);
  });
});
