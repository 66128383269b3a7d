import { describe, expect, it } from 'vitest';
import type { Gs1Data, Gs1Options, Gs1Result } from './gs1.js';
import { GROUP_SEPARATOR, parseGs1, restoreGroupSeparators } from './gs1.js';
import type { Gs1ProblemCode } from './gs1-problem.js';
import { GS1_PROBLEM_CODES, GS1_PROBLEMS, gs1ProblemText } from './gs1-problem.js';
import {
  barcodeProblem,
  gs1CheckDigit,
  hasValidCheckDigit,
  looksLikeGtin,
  normalizeBarcode,
} from './gtin.js';

const GS = '\u001d';

/** Parses and insists on success, returning the data (the failure message is shown otherwise). */
function ok(input: string, options?: Gs1Options): Gs1Data {
  const r: Gs1Result = parseGs1(input, options);
  if (!r.ok) throw new Error(`expected ${JSON.stringify(input)} to parse, got error: ${r.error}`);
  return r.value;
}

/** Parses and insists on failure, returning the error message. */
function err(input: string, options?: Gs1Options): string {
  const r: Gs1Result = parseGs1(input, options);
  if (r.ok)
    throw new Error(
      `expected ${JSON.stringify(input)} to be refused, got ${JSON.stringify(r.value)}`,
    );
  expect(r.error.length).toBeGreaterThan(0);
  return r.error;
}

/** The acceptance scenario's element string, without the AIM prefix. */
const BODY = `0109506000134352` + `17261231` + `10LOT-A` + GS + `21SN9`;
const GTIN = '09506000134352';
const SSCC = '106141411234567897';

describe('parseGs1 — acceptance scenario', () => {
  it('GS1-128 ]C1 01 09506000134352 17 261231 10 LOT-A <GS> 21 SN9 gives GTIN, expiry, lot and serial', () => {
    const d = ok(`]C1${BODY}`);
    expect(d.symbology).toBe('gs1-128');
    expect(d.gtin).toBe(GTIN);
    expect(d.expiresOn).toBe('2026-12-31');
    expect(d.lot).toBe('LOT-A');
    expect(d.serial).toBe('SN9');
    expect(d.elements).toEqual([
      { ai: '01', title: 'GTIN', value: GTIN },
      { ai: '17', title: 'USE BY OR EXPIRY', value: '261231' },
      { ai: '10', title: 'BATCH/LOT', value: 'LOT-A' },
      { ai: '21', title: 'SERIAL', value: 'SN9' },
    ]);
  });

  it('exports GROUP_SEPARATOR as U+001D', () => {
    expect(GROUP_SEPARATOR).toBe('\x1d');
    expect(GROUP_SEPARATOR.charCodeAt(0)).toBe(29);
  });

  it('sets only the fields the code carries (no undefined keys)', () => {
    const d = ok(`]C1${BODY}`);
    expect(Object.keys(d).sort()).toEqual([
      'elements',
      'expiresOn',
      'gtin',
      'lot',
      'serial',
      'symbology',
    ]);
    expect('sscc' in d).toBe(false);
    expect('count' in d).toBe(false);
  });

  it('ignores a trailing CR/LF a wedge scanner appends', () => {
    const d = ok(`]C1${BODY}\r\n`);
    expect(d.serial).toBe('SN9');
    expect(ok(`]C1${BODY}\n`).serial).toBe('SN9');
  });

  it('accepts a trailing GS after the last variable-length field', () => {
    const d = ok(`]C1${BODY}${GS}`);
    expect(d.serial).toBe('SN9');
    expect(d.elements).toHaveLength(4);
  });

  it('the same data in another order gives the same fields', () => {
    const d = ok(`]C1` + `10LOT-A` + GS + `17261231` + `0109506000134352` + `21SN9`);
    expect(d).toMatchObject({ gtin: GTIN, expiresOn: '2026-12-31', lot: 'LOT-A', serial: 'SN9' });
  });
});

describe('parseGs1 — check digits', () => {
  it('refuses a GTIN with a wrong check digit, naming the expected digit', () => {
    const e = err(`]C1` + `0109506000134353` + `17261231`);
    expect(e).toContain('(01)');
    expect(e).toContain('09506000134353');
    expect(e).toMatch(/check digit/);
    expect(e).toContain('expected 2');
    expect(e).toContain('got 3');
  });

  it('refuses a non-numeric GTIN', () => {
    const e = err('010950600013435X');
    expect(e).toContain('(01)');
    expect(e).toMatch(/digits only/);
  });

  it('parses an SSCC (AI 00) with a valid check digit', () => {
    const d = ok(`]C100${SSCC}`);
    expect(d.sscc).toBe(SSCC);
    expect(d.gtin).toBeUndefined();
    expect(d.elements).toEqual([{ ai: '00', title: 'SSCC', value: SSCC }]);
  });

  it('refuses an SSCC with a wrong check digit, naming the expected digit', () => {
    const e = err(`]C100106141411234567890`);
    expect(e).toContain('(00) SSCC');
    expect(e).toContain('expected 7');
    expect(e).toContain('got 0');
  });

  it('checks the check digit of AI 02 (contained GTIN) too', () => {
    const e = err('0209506000134350' + '3712');
    expect(e).toContain('(02)');
    expect(e).toContain('expected 2');
  });
});

describe('parseGs1 — more application identifiers', () => {
  it('AI 02 (content) with AI 37 (count) gives containedGtin and count', () => {
    const d = ok(`]C1` + `02${GTIN}` + `3712` + GS + `10L1`);
    expect(d.containedGtin).toBe(GTIN);
    expect(d.gtin).toBeUndefined();
    expect(d.count).toBe(12);
    expect(d.lot).toBe('L1');
  });

  it('AI 30 (variable count) gives count as a number, leading zeros dropped', () => {
    const d = ok(`01${GTIN}` + `30000250`);
    expect(d.count).toBe(250);
    expect(typeof d.count).toBe('number');
  });

  it('AI 37 wins over AI 30 when both are present', () => {
    const d = ok(`30` + `5` + GS + `37` + `7`);
    expect(d.count).toBe(7);
  });

  it('refuses a non-numeric count', () => {
    const e = err(`01${GTIN}` + `3712A`);
    expect(e).toContain('(37)');
    expect(e).toMatch(/digits only/);
  });

  it('refuses a count longer than 8 digits, pointing at the lost separator', () => {
    const e = err(`37` + `123456789`);
    expect(e).toContain('(37)');
    expect(e).toMatch(/separator/);
  });

  it('AI 11 (production date) gives producedOn, AI 15 (best before) gives bestBefore', () => {
    const d = ok(`01${GTIN}` + `11250115` + `15270630`);
    expect(d.producedOn).toBe('2025-01-15');
    expect(d.bestBefore).toBe('2027-06-30');
    expect(d.expiresOn).toBeUndefined();
  });

  it('AI 3103 net weight: the fourth digit is the number of decimals', () => {
    expect(ok(`01${GTIN}` + `3103000525`).netWeightKg).toBe(0.525);
    expect(ok(`01${GTIN}` + `3102001234`).netWeightKg).toBe(12.34);
    expect(ok(`01${GTIN}` + `3100000042`).netWeightKg).toBe(42);
    expect(ok(`01${GTIN}` + `3105123456`).netWeightKg).toBeCloseTo(1.23456, 10);
  });

  it('a weight is a fixed 6-digit field, so more data may follow without a separator', () => {
    const d = ok(`3103001500` + `10LOT-9`);
    expect(d.netWeightKg).toBe(1.5);
    expect(d.lot).toBe('LOT-9');
  });

  it('refuses a non-numeric weight', () => {
    const e = err(`310300150X`);
    expect(e).toContain('(3103)');
  });

  it('matches 3- and 4-digit AIs (400 order number, 7003 expiry time, 422 origin)', () => {
    const d = ok(`400PO-77` + GS + `70032612311230` + `422276`);
    expect(d.elements).toEqual([
      { ai: '400', title: 'ORDER NUMBER', value: 'PO-77' },
      { ai: '7003', title: 'EXPIRY TIME', value: '2612311230' },
      { ai: '422', title: 'ORIGIN', value: '276' },
    ]);
  });

  it('a fixed field may be followed by an optional FNC1/GS', () => {
    const d = ok(`01${GTIN}` + GS + `17261231` + GS + `10X`);
    expect(d).toMatchObject({ gtin: GTIN, expiresOn: '2026-12-31', lot: 'X' });
  });

  it('refuses alphanumeric data outside GS1 character set 82 (space, #)', () => {
    expect(err(`01${GTIN}` + `10LOT A`)).toContain('(10)');
    expect(err(`01${GTIN}` + `21SN#1`)).toMatch(/\(21\).*characters/);
  });

  it('accepts the whole of character set 82 in a lot', () => {
    const d = ok(`10` + `!"%&'()*+,-./:;<=>?_`);
    expect(d.lot).toBe(`!"%&'()*+,-./:;<=>?_`);
  });

  it('refuses an empty variable-length field', () => {
    const e = err(`01${GTIN}` + `10` + GS + `21SN9`);
    expect(e).toContain('(10)');
    expect(e).toMatch(/empty/);
  });
});

describe('parseGs1 — wedge scanners and separators', () => {
  it('accepts "|" configured as the group separator', () => {
    const d = ok(`]C1` + `0109506000134352` + `17261231` + `10LOT-A|21SN9`, { separators: ['|'] });
    expect(d).toMatchObject({ gtin: GTIN, expiresOn: '2026-12-31', lot: 'LOT-A', serial: 'SN9' });
  });

  it('accepts a multi-character substitute such as "<GS>"', () => {
    const d = ok(`]C1` + `0109506000134352` + `17261231` + `10LOT-A<GS>21SN9`, {
      separators: ['<GS>'],
    });
    expect(d.lot).toBe('LOT-A');
    expect(d.serial).toBe('SN9');
  });

  it('still accepts the real GS when a substitute is configured', () => {
    const d = ok(`]C1${BODY}`, { separators: ['~'] });
    expect(d.lot).toBe('LOT-A');
    expect(d.serial).toBe('SN9');
  });

  it('accepts several substitutes at once, and ignores an empty one', () => {
    const d = ok(`10A~21B|240C`, { separators: ['', '~', '|'] });
    expect(d.lot).toBe('A');
    expect(d.serial).toBe('B');
    expect(d.elements.at(-1)).toEqual({ ai: '240', title: 'ADDITIONAL ID', value: 'C' });
  });

  it('restoreGroupSeparators puts GS back for each substitute, leaving other text alone', () => {
    expect(restoreGroupSeparators('10A~21B<GS>22C', ['~', '<GS>', ''])).toBe(
      `10A${GROUP_SEPARATOR}21B${GROUP_SEPARATOR}22C`,
    );
    expect(restoreGroupSeparators('A-01-02', [])).toBe('A-01-02');
    expect(restoreGroupSeparators('A-01-02', ['~'])).toBe('A-01-02');
  });

  it('without the substitute configured, "|" is taken as data and refused', () => {
    const e = err(`0109506000134352` + `10LOT-A|21SN9`);
    expect(e).toContain('(10)');
  });

  it('lost separator: a lot running into 21... beyond 20 characters is refused, mentioning the separator', () => {
    const input = `]C1` + `0109506000134352` + `17261231` + `10LOT-ABCDEFGHIJKL` + `21SN123456`;
    const e = err(input);
    expect(e).toContain('(10)');
    expect(e).toMatch(/separator/i);
    expect(e).toContain('FNC1');
    expect(e).toContain('more than 20');
  });

  it('lost separator on a serial (AI 21, max 20) is refused too', () => {
    const e = err(`21` + 'S'.repeat(15) + `10` + 'L'.repeat(10));
    expect(e).toContain('(21)');
    expect(e).toMatch(/separator/i);
  });

  it('a lot of exactly 20 characters is fine', () => {
    expect(ok(`10${'A'.repeat(20)}`).lot).toBe('A'.repeat(20));
  });

  it('skips a leading GS (FNC1 transmitted as GS)', () => {
    const d = ok(`${GS}${BODY}`);
    expect(d.symbology).toBeNull();
    expect(d).toMatchObject({ gtin: GTIN, lot: 'LOT-A', serial: 'SN9' });
  });

  it('skips a leading GS after the AIM prefix, and a leading substitute', () => {
    expect(ok(`]C1${GS}${BODY}`).gtin).toBe(GTIN);
    expect(ok(`]d2|0109506000134352` + `10LOT-A|21SN9`, { separators: ['|'] }).serial).toBe('SN9');
  });
});

describe('parseGs1 — symbology identifiers', () => {
  it.each([
    [']C1', 'gs1-128'],
    [']d2', 'gs1-datamatrix'],
    [']Q3', 'gs1-qr'],
    [']e0', 'gs1-databar'],
    [']J1', 'gs1-dotcode'],
  ] as const)('%s is GS1 (%s)', (aim, symbology) => {
    const d = ok(`${aim}${BODY}`);
    expect(d.symbology).toBe(symbology);
    expect(d).toMatchObject({ gtin: GTIN, expiresOn: '2026-12-31', lot: 'LOT-A', serial: 'SN9' });
  });

  it('no AIM prefix: symbology null, data still parses', () => {
    const d = ok(BODY);
    expect(d.symbology).toBeNull();
    expect(d.gtin).toBe(GTIN);
  });

  it.each([']E0', ']C0', ']d1', ']Q1', ']A0'])('refuses non-GS1 symbology %s, naming it', (aim) => {
    const e = err(`${aim}4006381333931`);
    expect(e).toMatch(/not a GS1 barcode/);
    expect(e).toContain(aim);
  });

  it('refuses ]E0 even when the data happen to look like AIs', () => {
    expect(err(`]E0${BODY}`)).toContain(']E0');
  });
});

describe('parseGs1 — human-readable form', () => {
  it('parses (01)…(17)…(10)…(21)…', () => {
    const d = ok(`(01)09506000134352(17)261231(10)LOT-A(21)SN9`);
    expect(d).toMatchObject({
      symbology: null,
      gtin: GTIN,
      expiresOn: '2026-12-31',
      lot: 'LOT-A',
      serial: 'SN9',
    });
    expect(d.elements.map((e) => e.ai)).toEqual(['01', '17', '10', '21']);
  });

  it('tolerates spaces between the elements', () => {
    const d = ok(`(01) 09506000134352 (17) 261231 (10) LOT-A`);
    expect(d).toMatchObject({ gtin: GTIN, expiresOn: '2026-12-31', lot: 'LOT-A' });
  });

  it('parses 4-digit AIs in brackets', () => {
    expect(ok(`(01)${GTIN}(3103)000525`).netWeightKg).toBe(0.525);
  });

  it('refuses a wrong check digit in the human-readable form too', () => {
    expect(err(`(01)09506000134353(10)X`)).toContain('expected 2');
  });

  it('refuses a wrong-length fixed field in brackets', () => {
    const e = err(`(01)0950600013435(10)X`);
    expect(e).toContain('(01) GTIN needs 14 characters, got 13');
  });

  it('refuses an over-long variable field in brackets', () => {
    expect(err(`(10)${'A'.repeat(21)}`)).toMatch(/\(10\).*longer than 20/);
  });

  it('refuses an unknown AI in brackets', () => {
    expect(err(`(01)${GTIN}(89)X`)).toContain('unknown application identifier (89)');
  });

  it('refuses text that is not an element string', () => {
    expect(err(`(01`)).toMatch(/not a GS1 element string/);
    expect(err(`()`)).toMatch(/not a GS1 element string/);
    expect(err(`x(01)${GTIN}`)).toBeTruthy();
  });

  it('keeps the symbology when an AIM prefix precedes the bracketed form', () => {
    // The data comes from the ]C1 symbol; Gs1Data.symbology is documented as "from the AIM prefix".
    const d = ok(`]C1(01)${GTIN}(10)LOT-A`);
    expect(d.gtin).toBe(GTIN);
    expect(d.symbology).toBe('gs1-128');
  });
});

describe('parseGs1 — dates (YYMMDD)', () => {
  const expiry = (yymmdd: string, options?: Gs1Options) => ok(`17${yymmdd}`, options).expiresOn;

  it('day 00 means the last day of the month', () => {
    expect(expiry('261200')).toBe('2026-12-31');
    expect(expiry('260400')).toBe('2026-04-30');
    expect(expiry('260100')).toBe('2026-01-31');
  });

  it('day 00 in February honours leap years', () => {
    expect(expiry('240200')).toBe('2024-02-29');
    expect(expiry('250200')).toBe('2025-02-28');
    expect(expiry('000200')).toBe('2000-02-29'); // divisible by 400
  });

  it('29 February exists only in leap years', () => {
    expect(expiry('240229')).toBe('2024-02-29');
    expect(err('17250229')).toMatch(/\(17\).*"250229".*not a valid YYMMDD date/);
  });

  it('2100 is not a leap year (century rule)', () => {
    expect(expiry('000200', { referenceYear: 2080 })).toBe('2100-02-28');
    expect(err('17000229', { referenceYear: 2080 })).toMatch(/not a valid YYMMDD date/);
  });

  it('refuses month 00 and month 13', () => {
    expect(err('17261300')).toMatch(/\(17\) USE BY OR EXPIRY "261300" is not a valid YYMMDD date/);
    expect(err('17260015')).toMatch(/not a valid YYMMDD date/);
  });

  it('refuses day 31 in a 30-day month and day 32', () => {
    expect(err('17260431')).toMatch(/not a valid YYMMDD date/);
    expect(err('17260132')).toMatch(/not a valid YYMMDD date/);
  });

  it('refuses non-numeric dates', () => {
    expect(err('172612AB')).toContain('(17)');
  });

  it('validates every date AI, also those not surfaced (12, 13, 16)', () => {
    expect(err('12261340')).toContain('(12)');
    expect(err('13260230')).toContain('(13)');
    expect(err('16269901')).toContain('(16)');
  });

  it('without referenceYear, every YY is 20YY', () => {
    expect(expiry('991231')).toBe('2099-12-31');
    expect(expiry('000101')).toBe('2000-01-01');
  });

  it('referenceYear: a year more than 50 ahead is in the previous century', () => {
    // 2026: 76 is 50 ahead (stays 2076); 77 is 51 ahead (1977).
    expect(expiry('761231', { referenceYear: 2026 })).toBe('2076-12-31');
    expect(expiry('771231', { referenceYear: 2026 })).toBe('1977-12-31');
    expect(expiry('991231', { referenceYear: 2026 })).toBe('1999-12-31');
    expect(expiry('261231', { referenceYear: 2026 })).toBe('2026-12-31');
    expect(expiry('000101', { referenceYear: 2026 })).toBe('2000-01-01');
  });

  it('referenceYear: a year 50 or more behind is in the next century', () => {
    // 2090: 40 is 50 behind (2140); 41 is 49 behind (2041).
    expect(expiry('400101', { referenceYear: 2090 })).toBe('2140-01-01');
    expect(expiry('410101', { referenceYear: 2090 })).toBe('2041-01-01');
  });

  it('applies the century rule to production and best-before dates too', () => {
    const d = ok(`11990101` + `15270101`, { referenceYear: 2026 });
    expect(d.producedOn).toBe('1999-01-01');
    expect(d.bestBefore).toBe('2027-01-01');
  });
});

describe('parseGs1 — malformed input', () => {
  it('refuses an empty input', () => {
    expect(err('')).toMatch(/empty/);
  });

  it('refuses an AIM prefix with nothing after it, or only separators', () => {
    expect(err(']C1')).toMatch(/empty/);
    expect(err(`]C1${GS}${GS}`)).toMatch(/empty/);
    expect(err('\r\n')).toMatch(/empty/);
  });

  it('refuses an unknown AI, quoting where it is', () => {
    const e = err(`]C1` + `89ABC`);
    expect(e).toContain('unknown application identifier');
    expect(e).toContain('89AB');
  });

  it('an unknown AI after a known element names the previous element', () => {
    const e = err(`01${GTIN}` + `8912`);
    expect(e).toContain('unknown application identifier at "8912"');
    expect(e).toContain('after (01) GTIN');
  });

  it('refuses a truncated GTIN, saying how many digits were there', () => {
    const e = err(`]C1` + `010950600013`);
    expect(e).toBe('(01) GTIN needs 14 characters, got 10');
  });

  it('refuses a fixed field cut short by a GS', () => {
    const e = err(`17` + `2612` + GS + `10X`);
    expect(e).toBe('(17) USE BY OR EXPIRY needs 6 characters, got 4');
  });

  it('refuses an AI with no data at the end', () => {
    expect(err(`01${GTIN}` + `17`)).toBe('(17) USE BY OR EXPIRY needs 6 characters, got 0');
  });

  it('refuses the same AI twice with different values', () => {
    const e = err(`]C1` + `10LOT-A` + GS + `10LOT-B`);
    expect(e).toContain('(10) BATCH/LOT appears twice with different values');
    expect(err(`01${GTIN}` + `0104006381333931`)).toContain('(01) GTIN appears twice');
  });

  it('accepts the same AI twice with the same value', () => {
    const d = ok(`01${GTIN}` + `01${GTIN}` + `10A`);
    expect(d.gtin).toBe(GTIN);
    expect(d.lot).toBe('A');
  });

  it('never throws, whatever it is given', () => {
    const inputs = [
      '',
      ']',
      ']C',
      ']C1',
      '(',
      ')',
      '((',
      '(01)',
      GS,
      '0',
      '01',
      '\u0000',
      '💥',
      ']C1💥',
      `(10)${GS}`,
    ];
    for (const input of inputs) {
      const r = parseGs1(input);
      expect(typeof r.ok).toBe('boolean');
      if (!r.ok) expect(r.error.length).toBeGreaterThan(0);
    }
  });
});

describe('gs1CheckDigit / hasValidCheckDigit', () => {
  it('computes mod-10 check digits of known GS1 keys', () => {
    expect(gs1CheckDigit('400638133393')).toBe(1); // EAN-13 4006381333931
    expect(gs1CheckDigit('0950600013435')).toBe(2); // GTIN-14 09506000134352
    expect(gs1CheckDigit('03600029145')).toBe(2); // UPC-A 036000291452
    expect(gs1CheckDigit('9638507')).toBe(4); // EAN-8 96385074
    expect(gs1CheckDigit('10614141123456789')).toBe(7); // SSCC 106141411234567897
  });

  it('gives 0 when the weighted sum is already a multiple of 10', () => {
    expect(gs1CheckDigit('0000000000000')).toBe(0);
    expect(gs1CheckDigit('1061414112345678')).toBe(0);
  });

  it('leading zeros do not change the check digit (GTIN-13 vs GTIN-14)', () => {
    expect(gs1CheckDigit('0400638133393')).toBe(gs1CheckDigit('400638133393'));
  });

  it('validates complete keys', () => {
    for (const k of [
      '4006381333931',
      '09506000134352',
      '036000291452',
      '96385074',
      SSCC,
      '04006381333931',
    ]) {
      expect(hasValidCheckDigit(k), k).toBe(true);
    }
  });

  it('refuses wrong check digits', () => {
    expect(hasValidCheckDigit('4006381333932')).toBe(false);
    expect(hasValidCheckDigit('09506000134353')).toBe(false);
    expect(hasValidCheckDigit('96385070')).toBe(false);
  });

  it('refuses non-digits and too-short input', () => {
    expect(hasValidCheckDigit('')).toBe(false);
    expect(hasValidCheckDigit('0')).toBe(false);
    expect(hasValidCheckDigit('400638133393A')).toBe(false);
    expect(hasValidCheckDigit(' 4006381333931')).toBe(false);
  });

  it('accepts the shortest key, a data digit plus its check digit', () => {
    expect(hasValidCheckDigit('00')).toBe(true);
    expect(hasValidCheckDigit('17')).toBe(true); // 1×3 = 3 → 7
    expect(hasValidCheckDigit('10')).toBe(false);
  });
});

describe('looksLikeGtin', () => {
  it('is true for 8, 12, 13 and 14 digits only', () => {
    expect(looksLikeGtin('96385074')).toBe(true);
    expect(looksLikeGtin('036000291452')).toBe(true);
    expect(looksLikeGtin('4006381333931')).toBe(true);
    expect(looksLikeGtin('09506000134352')).toBe(true);
    expect(looksLikeGtin('1234567')).toBe(false);
    expect(looksLikeGtin('12345678901')).toBe(false);
    expect(looksLikeGtin('123456789012345')).toBe(false);
    expect(looksLikeGtin('40063813339A1')).toBe(false);
  });
});

describe('normalizeBarcode', () => {
  it('pads a valid EAN-13 to 14 digits with a leading 0', () => {
    expect(normalizeBarcode('4006381333931')).toBe('04006381333931');
  });

  it('pads valid UPC-A and EAN-8 to 14 digits', () => {
    expect(normalizeBarcode('036000291452')).toBe('00036000291452');
    expect(normalizeBarcode('96385074')).toBe('00000096385074');
  });

  it('keeps a valid GTIN-14 as it is', () => {
    expect(normalizeBarcode('09506000134352')).toBe('09506000134352');
  });

  it('is idempotent', () => {
    expect(normalizeBarcode(normalizeBarcode('4006381333931'))).toBe('04006381333931');
  });

  it('keeps a code with an invalid check digit as scanned', () => {
    expect(normalizeBarcode('4006381333932')).toBe('4006381333932');
    expect(normalizeBarcode('96385070')).toBe('96385070');
  });

  it('keeps supplier codes as scanned, trimmed', () => {
    expect(normalizeBarcode('  SUP-123 ')).toBe('SUP-123');
    expect(normalizeBarcode('1234567')).toBe('1234567');
    expect(normalizeBarcode(' 4006381333931\n')).toBe('04006381333931');
  });
});

describe('barcodeProblem', () => {
  it('is null for valid GTINs', () => {
    expect(barcodeProblem('4006381333931')).toBeNull();
    expect(barcodeProblem('09506000134352')).toBeNull();
    expect(barcodeProblem('036000291452')).toBeNull();
  });

  it('names the right check digit of a 12–14 digit code with a wrong one', () => {
    expect(barcodeProblem('4006381333932')).toBe(
      '4006381333932 is not a valid GTIN: its check digit should be 1',
    );
    expect(barcodeProblem('09506000134353')).toContain('should be 2');
    expect(barcodeProblem('036000291450')).toContain('should be 2');
  });

  it('trims before judging', () => {
    expect(barcodeProblem(' 4006381333932 ')).toBe(
      '4006381333932 is not a valid GTIN: its check digit should be 1',
    );
  });

  it('lets 8-digit codes (possibly internal) and non-GTIN codes through', () => {
    expect(barcodeProblem('96385070')).toBeNull();
    expect(barcodeProblem('SUP-123')).toBeNull();
    expect(barcodeProblem('12345')).toBeNull();
    expect(barcodeProblem('123456789012345')).toBeNull();
  });
});

describe('why a code does not parse, as a code and values', () => {
  const long = 'A'.repeat(21);
  const cases: readonly [string, Gs1ProblemCode, Readonly<Record<string, string | number>>][] = [
    [`]C1${GS}`, 'EMPTY', {}],
    [']E04006381333931', 'NOT_GS1_SYMBOLOGY', { aim: ']E0' }],
    ['(abc)', 'NOT_ELEMENT_STRING', { text: '(abc)' }],
    ['(23)1', 'UNKNOWN_AI', { ai: '23' }],
    [']C12345', 'UNKNOWN_AI_AT', { at: '2345' }],
    [']C10109506000134352' + '2345', 'UNKNOWN_AI_AFTER', { at: '2345', ai: '01', title: 'GTIN' }],
    ['(01)123', 'WRONG_LENGTH', { ai: '01', title: 'GTIN', length: 14, got: 3 }],
    [']C101123', 'WRONG_LENGTH', { ai: '01', title: 'GTIN', length: 14, got: 3 }],
    [`(10)${long}`, 'TOO_LONG', { ai: '10', title: 'BATCH/LOT', max: 20 }],
    [`]C110${long}`, 'SEPARATOR_LOST', { ai: '10', title: 'BATCH/LOT', length: 21, max: 20 }],
    ['(10)', 'EMPTY_VALUE', { ai: '10', title: 'BATCH/LOT' }],
    ['(01)0950600013435X', 'NOT_DIGITS', { ai: '01', title: 'GTIN', value: '0950600013435X' }],
    [
      '(01)09506000134353',
      'CHECK_DIGIT',
      { ai: '01', title: 'GTIN', value: '09506000134353', expected: 2, got: 3 },
    ],
    ['(17)261399', 'BAD_DATE', { ai: '17', title: 'USE BY OR EXPIRY', value: '261399' }],
    ['(10)AB#', 'BAD_CHARACTERS', { ai: '10', title: 'BATCH/LOT', value: 'AB#' }],
    ['(10)A(10)B', 'CONFLICTING', { ai: '10', title: 'BATCH/LOT' }],
  ];

  it.each(cases)('%j: %s', (input, code, values) => {
    const r = parseGs1(input);
    if (r.ok) throw new Error(`${JSON.stringify(input)} parsed`);
    expect(r.problem).toEqual({ code, values });
    expect(r.error).toBe(gs1ProblemText(r.problem));
  });

  it('every code is reached, and each text names exactly its values', () => {
    expect(new Set(cases.map((c) => c[1]))).toEqual(new Set(GS1_PROBLEM_CODES));
    for (const code of GS1_PROBLEM_CODES) {
      const named = [...GS1_PROBLEMS[code].text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      expect(named.sort(), code).toEqual([...GS1_PROBLEMS[code].values].sort());
    }
  });
});
