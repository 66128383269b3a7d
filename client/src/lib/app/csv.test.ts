import { describe, expect, it } from 'vitest';
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
});
