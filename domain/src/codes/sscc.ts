import type { Gs1Element } from './gs1.js';
import { GROUP_SEPARATOR, parseGs1 } from './gs1.js';
import { gs1CheckDigit, hasValidCheckDigit } from './gtin.js';

/**
 * The codes a label carries: SSCC-18 (a logistic unit's — pallet's, parcel's — serial shipping
 * container code) and GS1 element strings for barcodes.
 *
 * Pure and total: errors are values, as in `gs1.ts`, whose parser is the one judge of what a
 * valid element string is — the encoder below builds a string and has that parser read it back.
 */

export type CodeResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

const fail = <T>(error: string): CodeResult<T> => ({ ok: false, error });
const DIGITS = /^\d+$/;

export const SSCC_LENGTH = 18;

export interface SsccParts {
  /** 0–9, chosen freely by the company that allocates the SSCC (often a site or a line). */
  readonly extensionDigit: number;
  /** The GS1 Company Prefix: 4 to 12 digits, as GS1 assigned it (leading zeros matter). */
  readonly companyPrefix: string;
  /**
   * The unit's number within the prefix: digits, at most `16 − prefix length` of them; shorter
   * ones are padded with leading zeros (42 in a 9-digit field is `000000042`), as when they
   * come from a counter.
   */
  readonly serialReference: string;
}

/**
 * Builds an SSCC: extension digit + company prefix + serial reference (17 digits together),
 * then the GS1 mod-10 check digit (the same as a GTIN's).
 */
export function makeSscc(parts: SsccParts): CodeResult<string> {
  const { extensionDigit, companyPrefix, serialReference } = parts;
  if (!Number.isInteger(extensionDigit) || extensionDigit < 0 || extensionDigit > 9) {
    return fail(`the SSCC extension digit must be 0–9, got ${extensionDigit}`);
  }
  if (!DIGITS.test(companyPrefix) || companyPrefix.length < 4 || companyPrefix.length > 12) {
    return fail(`a GS1 company prefix is 4 to 12 digits, got "${companyPrefix}"`);
  }
  const room = 16 - companyPrefix.length;
  if (!DIGITS.test(serialReference)) {
    return fail(`the SSCC serial reference must be digits, got "${serialReference}"`);
  }
  const serial = serialReference.replace(/^0+(?=\d)/, '');
  if (serial.length > room) {
    return fail(
      `serial reference ${serialReference} does not fit: with a ${companyPrefix.length}-digit ` +
        `company prefix it has ${room} digits`,
    );
  }
  const body = `${extensionDigit}${companyPrefix}${serial.padStart(room, '0')}`;
  return { ok: true, value: body + String(gs1CheckDigit(body)) };
}

/** Why `sscc` is not a valid SSCC-18, or null. */
export function ssccProblem(sscc: string): string | null {
  if (!DIGITS.test(sscc) || sscc.length !== SSCC_LENGTH) {
    return `an SSCC is ${SSCC_LENGTH} digits, got "${sscc}"`;
  }
  if (!hasValidCheckDigit(sscc)) {
    const expected = gs1CheckDigit(sscc.slice(0, -1));
    return `SSCC ${sscc} has a wrong check digit (expected ${expected}, got ${sscc.at(-1)})`;
  }
  return null;
}

export const isValidSscc = (sscc: string): boolean => ssccProblem(sscc) === null;

/**
 * AIs whose data length is predefined by their first two digits (GS1 General Specifications,
 * figure 7.8.5-2): only these may be followed by another element without an FNC1. Note that
 * "fixed length" is not enough — (422) ORIGIN is always 3 digits, yet needs a separator,
 * because a reader cannot know that from the table.
 */
const PREDEFINED_LENGTH = new Set([
  '00', '01', '02', '03', '04', '11', '12', '13', '14', '15', '16', '17', '18', '19', '20',
  '31', '32', '33', '34', '35', '36', '41',
]); // prettier-ignore

/** True when an element with this AI must be followed by FNC1 (GS) unless it is the last one. */
export const needsSeparator = (ai: string): boolean => !PREDEFINED_LENGTH.has(ai.slice(0, 2));

export interface Gs1ElementInput {
  readonly ai: string;
  readonly value: string;
}

export interface Gs1Encoded {
  /** The elements as the parser read them back (with titles). */
  readonly elements: readonly Gs1Element[];
  /** The human-readable interpretation printed under the barcode: `(00)106141411234567897`. */
  readonly humanReadable: string;
  /**
   * The element string a scanner transmits: AIs and data, GS (U+001D) after every element
   * that needs a separator except the last. The symbol's leading FNC1 — which makes a Code
   * 128 a GS1-128 — is not part of it: each symbology's renderer adds it.
   */
  readonly data: string;
}

/**
 * Encodes GS1 elements, in the order given (GS1 does not prescribe one; putting the
 * predefined-length AIs first saves separators). Every value is checked as a scanner's
 * reading of the result would be — lengths, digits, check digits, dates, character set 82 —
 * by parsing the encoded string back; the same AI twice is refused.
 */
export function encodeGs1(elements: readonly Gs1ElementInput[]): CodeResult<Gs1Encoded> {
  if (elements.length === 0) return fail('a GS1 barcode needs at least one element');
  const seen = new Set<string>();
  for (const e of elements) {
    if (!/^\d{2,4}$/.test(e.ai)) return fail(`"${e.ai}" is not an application identifier`);
    if (seen.has(e.ai)) return fail(`(${e.ai}) appears twice`);
    seen.add(e.ai);
    if (e.value.length === 0) return fail(`(${e.ai}) is empty`);
  }
  const data = elements
    .map((e, i) =>
      i < elements.length - 1 && needsSeparator(e.ai)
        ? e.ai + e.value + GROUP_SEPARATOR
        : e.ai + e.value,
    )
    .join('');
  const parsed = parseGs1(data);
  if (!parsed.ok) return fail(parsed.error);
  const back = parsed.value.elements;
  const same =
    back.length === elements.length &&
    back.every((b, i) => b.ai === elements[i]?.ai && b.value === elements[i]?.value);
  if (!same) return fail(`the elements do not read back as given from "${data}"`);
  return {
    ok: true,
    value: {
      elements: back,
      humanReadable: elements.map((e) => `(${e.ai})${e.value}`).join(''),
      data,
    },
  };
}

/**
 * GS1's association rules (General Specifications 4.14) for the AIs labels here use: which
 * elements need another one beside them on the same unit, and which pairs exclude each other.
 * Checked over everything on one label, whatever barcode each element is in.
 */
const REQUIRES: Readonly<Record<string, readonly string[]>> = {
  '02': ['00'], // the content of a logistic unit: only on one
  '37': ['02'], // a count of contained trade items
  '10': ['01', '02'],
  '21': ['01'],
  '11': ['01', '02'],
  '15': ['01', '02'],
  '17': ['01', '02'],
};
const EXCLUDES: readonly (readonly [string, string])[] = [['01', '02']];

/** Why these AIs cannot stand together on one label, or null. */
export function gs1AssociationProblem(ais: readonly string[]): string | null {
  const present = new Set(ais);
  for (const [a, b] of EXCLUDES) {
    if (present.has(a) && present.has(b)) return `(${a}) and (${b}) cannot be on the same unit`;
  }
  for (const ai of ais) {
    const needs = REQUIRES[ai];
    if (needs && !needs.some((n) => present.has(n))) {
      return `(${ai}) needs ${needs.map((n) => `(${n})`).join(' or ')} beside it`;
    }
  }
  if (present.has('02') && !present.has('37')) return '(02) needs (37) beside it';
  return null;
}

/** An ISO date (`YYYY-MM-DD`) as a GS1 date field (`YYMMDD`), or null if it is not a date. */
export function gs1Date(isoDate: string): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDate);
  if (!m) return null;
  const [, year = '', month = '', day = ''] = m;
  const y = Number(year);
  const mo = Number(month);
  const d = Number(day);
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1];
  if (days === undefined || d < 1 || d > days) return null;
  return year.slice(2) + month + day;
}
