import { describe, expect, it } from 'vitest';
import { parseCsv } from '@floorsync/domain';
import { toCsv } from './csv.js';

describe('toCsv (the screens’ CSV downloads)', () => {
  it('quotes what a spreadsheet would split or run: ; for German Excel, formulas, tabs', () => {
    const csv = toCsv(
      ['device', 'note', 'count'],
      [
        ['x;=HYPERLINK("http://evil")', '\t=1+1', 3],
        ['=cmd', null, -2],
        ['plain', undefined, 0],
      ],
    );
    expect(csv).toBe(
      [
        'device,note,count',
        `"x;=HYPERLINK(""http://evil"")",'\t=1+1,3`,
        `'=cmd,,-2`,
        'plain,,0',
        '',
      ].join('\r\n'),
    );
  });

  it('for German Excel: fields split at ;, numbers with a decimal comma, a , in text kept whole', () => {
    const csv = toCsv(
      ['sku', 'position', 'quantity'],
      [
        ['CABLE-3G', 'B-02-01', 250.5],
        ['Mutter, M8', 'A;1', 2000],
      ],
      'de',
    );
    expect(csv).toBe(
      // (A decimal comma is quoted, as every , is: Excel reads "250,5" as the number.)
      ['sku;position;quantity', 'CABLE-3G;B-02-01;"250,5"', '"Mutter, M8";"A;1";2000', ''].join(
        '\r\n',
      ),
    );
    // Read back as the app's imports read it: the same cells.
    expect(parseCsv(csv.trimEnd()).slice(1)).toEqual([
      ['CABLE-3G', 'B-02-01', '250,5'],
      ['Mutter, M8', 'A;1', '2000'],
    ]);
  });
});
