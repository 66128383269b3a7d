import type { Gs1Problem } from './gs1-problem.js';
import { gs1Problem, gs1ProblemText } from './gs1-problem.js';
import { gs1CheckDigit, hasValidCheckDigit } from './gtin.js';

/**
 * GS1 element strings (GS1-128, GS1 DataMatrix, GS1 QR, DataBar, DotCode) as a scanner
 * delivers them: an optional AIM symbology identifier, application identifiers (AIs) with
 * their data, variable-length fields ended by FNC1, transmitted as GS (U+001D). Also the
 * human-readable form `(01)09506000134352(17)261231`.
 *
 * Pure and total: every input gives a value or a readable error, never an exception.
 */

export const GROUP_SEPARATOR = '\u001d';

type Format = 'n' | 'an' | 'date' | 'decimal';
interface AiSpec {
  readonly title: string;
  /** Data length when fixed; otherwise `max` applies and FNC1 ends the field. */
  readonly fixed?: number;
  readonly max?: number;
  readonly format: Format;
  readonly checkDigit?: boolean;
}

const fixedN = (title: string, fixed: number, checkDigit = false): AiSpec => ({
  title,
  fixed,
  format: 'n',
  checkDigit,
});
const date = (title: string): AiSpec => ({ title, fixed: 6, format: 'date' });
const varAn = (title: string, max: number): AiSpec => ({ title, max, format: 'an' });
const varN = (title: string, max: number): AiSpec => ({ title, max, format: 'n' });

/** The AIs a warehouse meets. AI codes are prefix-free, so the longest match is the only match. */
const AIS: Readonly<Record<string, AiSpec>> = {
  '00': fixedN('SSCC', 18, true),
  '01': fixedN('GTIN', 14, true),
  '02': fixedN('CONTENT', 14, true),
  '10': varAn('BATCH/LOT', 20),
  '11': date('PROD DATE'),
  '12': date('DUE DATE'),
  '13': date('PACK DATE'),
  '15': date('BEST BEFORE'),
  '16': date('SELL BY'),
  '17': date('USE BY OR EXPIRY'),
  '20': fixedN('VARIANT', 2),
  '21': varAn('SERIAL', 20),
  '22': varAn('CPV', 20),
  '30': varN('VAR. COUNT', 8),
  '37': varN('COUNT', 8),
  '240': varAn('ADDITIONAL ID', 30),
  '241': varAn('CUST. PART No.', 30),
  '250': varAn('SECONDARY SERIAL', 30),
  '251': varAn('REF. TO SOURCE', 30),
  '254': varAn('GLN EXTENSION COMPONENT', 20),
  '400': varAn('ORDER NUMBER', 30),
  '401': varAn('GINC', 30),
  '402': fixedN('GSIN', 17, true),
  '403': varAn('ROUTE', 30),
  '410': fixedN('SHIP TO LOC', 13, true),
  '411': fixedN('BILL TO', 13, true),
  '412': fixedN('PURCHASE FROM', 13, true),
  '413': fixedN('SHIP FOR LOC', 13, true),
  '414': fixedN('LOC No.', 13, true),
  '415': fixedN('PAY TO', 13, true),
  '420': varAn('SHIP TO POST', 20),
  '422': fixedN('ORIGIN', 3),
  '7003': fixedN('EXPIRY TIME', 10),
  '90': varAn('INTERNAL', 30),
  ...Object.fromEntries(
    ['91', '92', '93', '94', '95', '96', '97', '98', '99'].map((ai) => [ai, varAn('INTERNAL', 90)]),
  ),
  // Trade measures: the fourth digit is the number of decimals.
  ...Object.fromEntries(
    [0, 1, 2, 3, 4, 5].flatMap((d) => [
      [`310${d}`, { title: 'NET WEIGHT (kg)', fixed: 6, format: 'decimal' } satisfies AiSpec],
      [`330${d}`, { title: 'GROSS WEIGHT (kg)', fixed: 6, format: 'decimal' } satisfies AiSpec],
    ]),
  ),
};

/** AIM symbology identifiers that announce GS1 data. */
const GS1_SYMBOLOGIES: Readonly<Record<string, Gs1Symbology>> = {
  ']C1': 'gs1-128',
  ']e0': 'gs1-databar',
  ']d2': 'gs1-datamatrix',
  ']Q3': 'gs1-qr',
  ']J1': 'gs1-dotcode',
};

export type Gs1Symbology = 'gs1-128' | 'gs1-databar' | 'gs1-datamatrix' | 'gs1-qr' | 'gs1-dotcode';

export interface Gs1Element {
  readonly ai: string;
  readonly title: string;
  readonly value: string;
}

export interface Gs1Data {
  /** From the AIM prefix, when the scanner sent one. */
  readonly symbology: Gs1Symbology | null;
  readonly elements: readonly Gs1Element[];
  readonly gtin?: string;
  readonly containedGtin?: string;
  readonly sscc?: string;
  readonly lot?: string;
  readonly serial?: string;
  /** ISO dates (`YYYY-MM-DD`). */
  readonly expiresOn?: string;
  readonly bestBefore?: string;
  readonly producedOn?: string;
  /** AI 30 / 37. */
  readonly count?: number;
  /** AI 310n, kilograms. */
  readonly netWeightKg?: number;
}

export interface Gs1Options {
  /**
   * What a keyboard-wedge scanner types in place of FNC1/GS (e.g. `'~'`, `'|'`, `'<GS>'`).
   * GS itself is always accepted. A substitute must not occur inside the data.
   */
  readonly separators?: readonly string[];
  /**
   * The current year, for the century of YYMMDD dates (GS1 General Specifications: a year
   * more than 50 ahead belongs to the previous century). Without it, dates are 20YY.
   */
  readonly referenceYear?: number;
}

export type Gs1Result =
  | { readonly ok: true; readonly value: Gs1Data }
  | {
      readonly ok: false;
      /** What is wrong, in English (logs, tests): `problem`'s text. */
      readonly error: string;
      /** What is wrong, as a code and values: a screen says it in its user's language. */
      readonly problem: Gs1Problem;
      /** A GTIN, SSCC or GLN whose check digit is wrong (a misread, not a setup problem). */
      readonly badCheckDigit?: string;
    };

const fail = (problem: Gs1Problem, badCheckDigit?: string): Gs1Result => {
  const error = gs1ProblemText(problem);
  return badCheckDigit === undefined
    ? { ok: false, error, problem }
    : { ok: false, error, problem, badCheckDigit };
};
/** The value of an AI whose check digit is wrong, when that is the problem. */
const wrongCheckDigit = (spec: AiSpec, value: string): string | undefined =>
  spec.checkDigit && DIGITS.test(value) && !hasValidCheckDigit(value) ? value : undefined;
const DIGITS = /^\d+$/;
/** GS1 AI encodable character set 82 (ISO 646 subset), used by alphanumeric AIs. */
const CSET82 = /^[!"%&'()*+,\-./0-9:;<=>?A-Z_a-z]+$/;

/** Splits an AIM symbology identifier off the front, if there is one. */
export function splitSymbology(input: string): {
  readonly aim: string | null;
  readonly rest: string;
} {
  if (input.length >= 3 && input[0] === ']')
    return { aim: input.slice(0, 3), rest: input.slice(3) };
  return { aim: null, rest: input };
}

export const isGs1Symbology = (aim: string | null): boolean =>
  aim !== null && aim in GS1_SYMBOLOGIES;

function matchAi(s: string, at: number): string | null {
  for (const len of [2, 3, 4]) {
    const candidate = s.slice(at, at + len);
    if (candidate.length === len && AIS[candidate]) return candidate;
  }
  return null;
}

function parseDate(yymmdd: string, referenceYear: number | undefined): string | null {
  if (!/^\d{6}$/.test(yymmdd)) return null;
  const yy = Number(yymmdd.slice(0, 2));
  const mm = Number(yymmdd.slice(2, 4));
  const dd = Number(yymmdd.slice(4, 6));
  if (mm < 1 || mm > 12) return null;
  let century = 2000;
  if (referenceYear !== undefined) {
    const refCentury = Math.floor(referenceYear / 100) * 100;
    const diff = yy - (referenceYear % 100);
    century = diff >= 51 ? refCentury - 100 : diff <= -50 ? refCentury + 100 : refCentury;
  }
  const year = century + yy;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mm - 1] ?? 31;
  // Day 00 means "the last day of the month" (GS1 General Specifications 7.12).
  const day = dd === 0 ? monthDays : dd;
  if (day > monthDays) return null;
  return `${year}-${String(mm).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

function validate(ai: string, spec: AiSpec, value: string, options: Gs1Options): Gs1Problem | null {
  const { title } = spec;
  if (value.length === 0) return gs1Problem('EMPTY_VALUE', { ai, title });
  switch (spec.format) {
    case 'n':
    case 'decimal':
      if (!DIGITS.test(value)) return gs1Problem('NOT_DIGITS', { ai, title, value });
      if (spec.checkDigit && !hasValidCheckDigit(value)) {
        const expected = gs1CheckDigit(value.slice(0, -1));
        return gs1Problem('CHECK_DIGIT', { ai, title, value, expected, got: Number(value.at(-1)) });
      }
      return null;
    case 'date':
      return parseDate(value, options.referenceYear) === null
        ? gs1Problem('BAD_DATE', { ai, title, value })
        : null;
    case 'an':
      return CSET82.test(value) ? null : gs1Problem('BAD_CHARACTERS', { ai, title, value });
    default: {
      const unreachable: never = spec.format;
      return unreachable;
    }
  }
}

function collect(
  symbology: Gs1Symbology | null,
  elements: Gs1Element[],
  options: Gs1Options,
): Gs1Result {
  const byAi = new Map<string, string>();
  for (const e of elements) {
    const seen = byAi.get(e.ai);
    if (seen !== undefined && seen !== e.value)
      return fail(gs1Problem('CONFLICTING', { ai: e.ai, title: e.title }));
    byAi.set(e.ai, e.value);
  }
  const date = (ai: string) => {
    const v = byAi.get(ai);
    return v === undefined ? undefined : (parseDate(v, options.referenceYear) ?? undefined);
  };
  const count = byAi.get('37') ?? byAi.get('30');
  const weight = elements.find((e) => e.ai.startsWith('310'));
  const value: Gs1Data = {
    symbology,
    elements,
    ...opt('gtin', byAi.get('01')),
    ...opt('containedGtin', byAi.get('02')),
    ...opt('sscc', byAi.get('00')),
    ...opt('lot', byAi.get('10')),
    ...opt('serial', byAi.get('21')),
    ...opt('expiresOn', date('17')),
    ...opt('bestBefore', date('15')),
    ...opt('producedOn', date('11')),
    ...opt('count', count === undefined ? undefined : Number(count)),
    ...opt('netWeightKg', weight ? Number(weight.value) / 10 ** Number(weight.ai[3]) : undefined),
  };
  return { ok: true, value };
}

const opt = <K extends string, V>(key: K, v: V | undefined): { [P in K]?: V } =>
  (v === undefined ? {} : { [key]: v }) as { [P in K]?: V };

function parseHumanReadable(
  s: string,
  symbology: Gs1Symbology | null,
  options: Gs1Options,
): Gs1Result {
  const elements: Gs1Element[] = [];
  const re = /\((\d{2,4})\)([^(]*)/gy;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(s)) !== null) {
    const ai = m[1] ?? '';
    const value = (m[2] ?? '').trim();
    const spec = AIS[ai];
    if (!spec) return fail(gs1Problem('UNKNOWN_AI', { ai }));
    const { title } = spec;
    if (spec.fixed !== undefined && value.length !== spec.fixed) {
      return fail(gs1Problem('WRONG_LENGTH', { ai, title, length: spec.fixed, got: value.length }));
    }
    if (spec.max !== undefined && value.length > spec.max) {
      return fail(gs1Problem('TOO_LONG', { ai, title, max: spec.max }));
    }
    const problem = validate(ai, spec, value, options);
    if (problem) return fail(problem, wrongCheckDigit(spec, value));
    elements.push({ ai, title: spec.title, value });
    end = re.lastIndex;
  }
  if (end !== s.length || elements.length === 0)
    return fail(gs1Problem('NOT_ELEMENT_STRING', { text: s }));
  return collect(symbology, elements, options);
}

/**
 * Puts GS back where a keyboard-wedge scanner typed a configured substitute for it (`'~'`,
 * `'<GS>'`, …). Empty substitutes are ignored. Applied to any code, so a substitute must be
 * something that never occurs in the site's own codes.
 */
export function restoreGroupSeparators(code: string, substitutes: readonly string[]): string {
  let s = code;
  for (const sub of substitutes) if (sub.length > 0) s = s.split(sub).join(GROUP_SEPARATOR);
  return s;
}

/**
 * Parses a scanned GS1 element string. Accepts an AIM prefix (`]C1`, `]d2`, `]Q3`, `]e0`,
 * `]J1`), a leading FNC1, GS or a configured substitute as separator, and the bracketed
 * human-readable form.
 */
export function parseGs1(input: string, options: Gs1Options = {}): Gs1Result {
  // Trailing CR/LF (what a scanner ends a read with) cut by a loop: the regex `/[\r\n]+$/`
  // backtracks quadratically over a long run of them that does not end the input.
  let end = input.length;
  while (end > 0 && (input[end - 1] === '\r' || input[end - 1] === '\n')) end--;
  let s = input.slice(0, end);
  const { aim, rest } = splitSymbology(s);
  let symbology: Gs1Symbology | null = null;
  if (aim !== null) {
    const known = GS1_SYMBOLOGIES[aim];
    if (!known) return fail(gs1Problem('NOT_GS1_SYMBOLOGY', { aim }));
    symbology = known;
    s = rest;
  }
  if (s.startsWith('(')) return parseHumanReadable(s, symbology, options);
  s = restoreGroupSeparators(s, options.separators ?? []);
  while (s.startsWith(GROUP_SEPARATOR)) s = s.slice(1);
  if (s.length === 0) return fail(gs1Problem('EMPTY', {}));

  const elements: Gs1Element[] = [];
  let i = 0;
  while (i < s.length) {
    const ai = matchAi(s, i);
    if (ai === null) {
      const previous = elements.at(-1);
      const at = s.slice(i, i + 4);
      return fail(
        previous
          ? gs1Problem('UNKNOWN_AI_AFTER', { at, ai: previous.ai, title: previous.title })
          : gs1Problem('UNKNOWN_AI_AT', { at }),
      );
    }
    const spec = AIS[ai] as AiSpec;
    i += ai.length;
    let value: string;
    if (spec.fixed !== undefined) {
      value = s.slice(i, i + spec.fixed);
      if (value.length < spec.fixed || value.includes(GROUP_SEPARATOR)) {
        const got = value.split(GROUP_SEPARATOR)[0]?.length ?? 0;
        return fail(gs1Problem('WRONG_LENGTH', { ai, title: spec.title, length: spec.fixed, got }));
      }
      i += spec.fixed;
      if (s[i] === GROUP_SEPARATOR) i++; // FNC1 after a fixed field is allowed, not required
    } else {
      const stop = s.indexOf(GROUP_SEPARATOR, i);
      value = stop === -1 ? s.slice(i) : s.slice(i, stop);
      i = stop === -1 ? s.length : stop + 1;
      if (spec.max !== undefined && value.length > spec.max) {
        return fail(
          gs1Problem('SEPARATOR_LOST', {
            ai,
            title: spec.title,
            length: value.length,
            max: spec.max,
          }),
        );
      }
    }
    const problem = validate(ai, spec, value, options);
    if (problem) return fail(problem, wrongCheckDigit(spec, value));
    elements.push({ ai, title: spec.title, value });
  }
  return collect(symbology, elements, options);
}
