import { describe, expect, it } from 'vitest';
import { GROUP_SEPARATOR, parseGs1 } from './gs1.js';
import type { CodeResult, Gs1ElementInput, Gs1Encoded } from './sscc.js';
import {
  encodeGs1,
  gs1AssociationProblem,
  gs1Date,
  isValidSscc,
  makeSscc,
  needsSeparator,
  ssccProblem,
} from './sscc.js';

const GS = GROUP_SEPARATOR;

function ok<T>(r: CodeResult<T>): T {
  if (!r.ok) throw new Error(`expected success, got: ${r.error}`);
  return r.value;
}
function err<T>(r: CodeResult<T>): string {
  if (r.ok) throw new Error(`expected an error, got ${JSON.stringify(r.value)}`);
  return r.error;
}
const encode = (...elements: Gs1ElementInput[]): Gs1Encoded => ok(encodeGs1(elements));

describe('makeSscc', () => {
  it("builds GS1's example SSCC (00) 1 0614141 123456789 7", () => {
    expect(
      ok(makeSscc({ extensionDigit: 1, companyPrefix: '0614141', serialReference: '123456789' })),
    ).toBe('106141411234567897');
  });

  it("builds the GS1 Logistic Label Guideline's SSCC (00) 3 7610425 002123456 9", () => {
    expect(
      ok(makeSscc({ extensionDigit: 3, companyPrefix: '7610425', serialReference: '002123456' })),
    ).toBe('376104250021234569');
  });

  it('pads a short serial reference with leading zeros, as a counter gives it', () => {
    const sscc = ok(
      makeSscc({ extensionDigit: 0, companyPrefix: '0614141', serialReference: '1' }),
    );
    expect(sscc).toBe('006141410000000012');
    expect(sscc).toHaveLength(18);
  });

  it('fits the serial reference to the company prefix length (4 to 12 digits)', () => {
    const long = ok(
      makeSscc({ extensionDigit: 9, companyPrefix: '4012', serialReference: '123456789012' }),
    );
    expect(long).toBe('940121234567890120');
    const short = ok(
      makeSscc({ extensionDigit: 0, companyPrefix: '401234567890', serialReference: '0042' }),
    );
    expect(short).toBe('040123456789000421');
    expect(isValidSscc(long) && isValidSscc(short)).toBe(true);
  });

  it('refuses a serial reference that does not fit, saying how many digits there are', () => {
    const e = err(
      makeSscc({ extensionDigit: 1, companyPrefix: '0614141', serialReference: '1234567890' }),
    );
    expect(e).toContain('9 digits');
  });

  it('refuses a bad extension digit, prefix or serial reference', () => {
    const base = { extensionDigit: 1, companyPrefix: '0614141', serialReference: '1' };
    expect(err(makeSscc({ ...base, extensionDigit: 10 }))).toContain('extension digit');
    expect(err(makeSscc({ ...base, extensionDigit: 1.5 }))).toContain('extension digit');
    expect(err(makeSscc({ ...base, companyPrefix: '123' }))).toContain('company prefix');
    expect(err(makeSscc({ ...base, companyPrefix: '1234567890123' }))).toContain('company prefix');
    expect(err(makeSscc({ ...base, companyPrefix: '06141A1' }))).toContain('company prefix');
    expect(err(makeSscc({ ...base, serialReference: '12-3' }))).toContain('digits');
    expect(err(makeSscc({ ...base, serialReference: '' }))).toContain('digits');
  });

  it('what it builds, the GS1 parser reads back as a valid (00)', () => {
    for (let n = 0; n < 200; n += 7) {
      const sscc = ok(
        makeSscc({ extensionDigit: n % 10, companyPrefix: '0614141', serialReference: String(n) }),
      );
      const parsed = parseGs1(`00${sscc}`);
      expect(parsed.ok && parsed.value.sscc).toBe(sscc);
    }
  });
});

describe('ssccProblem', () => {
  it('accepts valid SSCCs', () => {
    expect(ssccProblem('106141411234567897')).toBeNull();
    expect(ssccProblem('376104250021234569')).toBeNull();
  });

  it('names the right check digit of a wrong one', () => {
    expect(ssccProblem('106141411234567890')).toBe(
      'SSCC 106141411234567890 has a wrong check digit (expected 7, got 0)',
    );
  });

  it('refuses anything but 18 digits', () => {
    expect(ssccProblem('10614141123456789')).toContain('18 digits');
    expect(ssccProblem('1061414112345678970')).toContain('18 digits');
    expect(ssccProblem('10614141123456789X')).toContain('18 digits');
    expect(ssccProblem('')).toContain('18 digits');
  });
});

describe('encodeGs1', () => {
  it('an SSCC alone: (00) and 18 digits, no separator', () => {
    const e = encode({ ai: '00', value: '106141411234567897' });
    expect(e.humanReadable).toBe('(00)106141411234567897');
    expect(e.data).toBe('00106141411234567897');
    expect(e.elements).toEqual([{ ai: '00', title: 'SSCC', value: '106141411234567897' }]);
  });

  it('GS after a variable-length field that is not last; none after predefined-length ones', () => {
    const e = encode(
      { ai: '01', value: '09506000134352' },
      { ai: '17', value: '261231' },
      { ai: '10', value: 'LOT-A' },
      { ai: '21', value: 'SN9' },
    );
    expect(e.humanReadable).toBe('(01)09506000134352(17)261231(10)LOT-A(21)SN9');
    // The acceptance scenario's string in gs1.test.ts, exactly.
    expect(e.data).toBe(`0109506000134352` + `17261231` + `10LOT-A` + GS + `21SN9`);
  });

  it('keeps the order given: a predefined-length AI after a variable one still needs the GS', () => {
    const e = encode(
      { ai: '02', value: '09506000134352' },
      { ai: '37', value: '12' },
      { ai: '10', value: 'L1' },
      { ai: '17', value: '270101' },
    );
    expect(e.data).toBe(`0209506000134352` + `3712` + GS + `10L1` + GS + `17270101`);
    expect(e.humanReadable).toBe('(02)09506000134352(37)12(10)L1(17)270101');
  });

  it('a fixed-length AI outside the predefined table (422) is followed by a GS', () => {
    expect(needsSeparator('422')).toBe(true);
    expect(needsSeparator('3103')).toBe(false);
    expect(needsSeparator('00')).toBe(false);
    const e = encode(
      { ai: '01', value: '09506000134352' },
      { ai: '422', value: '276' },
      {
        ai: '10',
        value: 'X',
      },
    );
    expect(e.data).toBe(`0109506000134352` + `422276` + GS + `10X`);
  });

  it('round-trips through the GS1 parser: data, human-readable and scanner form agree', () => {
    const inputs: Gs1ElementInput[][] = [
      [{ ai: '00', value: '376104250021234569' }],
      [
        { ai: '01', value: '04006381333931' },
        { ai: '21', value: 'A(1)/B' },
      ],
      [
        { ai: '02', value: '09506000134352' },
        { ai: '37', value: '48' },
        { ai: '17', value: '261231' },
        { ai: '10', value: `!"%&'*+,-./:;<=>?_` },
      ],
      [
        { ai: '10', value: 'L'.repeat(20) },
        { ai: '3103', value: '001500' },
        { ai: '21', value: '123' },
      ],
    ];
    for (const elements of inputs) {
      const e = encode(...elements);
      const fromData = parseGs1(e.data);
      const fromAim = parseGs1(`]C1${e.data}`);
      expect(
        fromData.ok && fromData.value.elements.map(({ ai, value }) => ({ ai, value })),
      ).toEqual(elements);
      expect(fromAim.ok && fromAim.value.symbology).toBe('gs1-128');
      expect(fromAim.ok && fromAim.value.elements).toEqual(e.elements);
      if (!elements.some((x) => x.value.includes('('))) {
        const fromHri = parseGs1(e.humanReadable);
        expect(fromHri.ok && fromHri.value.elements).toEqual(e.elements);
      }
    }
  });

  it("refuses what a scanner's parser would refuse, with the parser's words", () => {
    expect(err(encodeGs1([{ ai: '00', value: '106141411234567890' }]))).toContain('expected 7');
    expect(err(encodeGs1([{ ai: '01', value: '0950600013435' }]))).toContain('needs 14');
    expect(err(encodeGs1([{ ai: '17', value: '261301' }]))).toContain('YYMMDD');
    expect(err(encodeGs1([{ ai: '10', value: 'LOT A' }]))).toContain('(10)');
    expect(err(encodeGs1([{ ai: '21', value: 'S'.repeat(21) }]))).toContain('more than 20');
    expect(err(encodeGs1([{ ai: '37', value: '12A' }]))).toContain('digits only');
    expect(err(encodeGs1([{ ai: '10', value: 'Müller' }]))).toContain('(10)');
    expect(err(encodeGs1([{ ai: '10', value: `A${GS}B` }]))).toContain('(10)');
  });

  it('refuses no elements, an empty value, the same AI twice and unknown AIs', () => {
    expect(err(encodeGs1([]))).toContain('at least one');
    expect(err(encodeGs1([{ ai: '10', value: '' }]))).toContain('empty');
    expect(
      err(
        encodeGs1([
          { ai: '10', value: 'A' },
          { ai: '10', value: 'A' },
        ]),
      ),
    ).toContain('twice');
    expect(err(encodeGs1([{ ai: '89', value: '1' }]))).toContain('unknown application identifier');
    expect(err(encodeGs1([{ ai: 'x1', value: '1' }]))).toContain('not an application identifier');
  });
});

describe('gs1AssociationProblem', () => {
  it('accepts the usual label contents', () => {
    expect(gs1AssociationProblem(['00'])).toBeNull();
    expect(gs1AssociationProblem(['00', '02', '37', '10', '17'])).toBeNull();
    expect(gs1AssociationProblem(['01', '21'])).toBeNull();
    expect(gs1AssociationProblem(['01', '10', '17'])).toBeNull();
  });

  it('refuses (01) with (02), and elements without the key they qualify', () => {
    expect(gs1AssociationProblem(['00', '01', '02', '37'])).toContain('(01) and (02)');
    expect(gs1AssociationProblem(['21'])).toBe('(21) needs (01) beside it');
    expect(gs1AssociationProblem(['00', '37'])).toBe('(37) needs (02) beside it');
    expect(gs1AssociationProblem(['02', '37'])).toBe('(02) needs (00) beside it');
    expect(gs1AssociationProblem(['00', '02'])).toBe('(02) needs (37) beside it');
    expect(gs1AssociationProblem(['10'])).toBe('(10) needs (01) or (02) beside it');
  });
});

describe('gs1Date', () => {
  it('turns an ISO date into YYMMDD', () => {
    expect(gs1Date('2026-12-31')).toBe('261231');
    expect(gs1Date('2028-02-29')).toBe('280229');
  });

  it('refuses what is not a date', () => {
    expect(gs1Date('2026-02-29')).toBeNull();
    expect(gs1Date('2026-13-01')).toBeNull();
    expect(gs1Date('2026-00-10')).toBeNull();
    expect(gs1Date('2026-1-1')).toBeNull();
    expect(gs1Date('261231')).toBeNull();
  });
});
