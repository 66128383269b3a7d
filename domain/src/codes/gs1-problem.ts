/**
 * Why a GS1 element string does not parse, as a code and the values its text names (as a job's
 * problem, `jobs/job-problem.ts`): a handheld says it in its operator's language (the client's
 * catalogs have a `flow.error.gs1.<CODE>` text with exactly these `{value}` placeholders: a test
 * checks), while the parse result's `error` stays the English text for logs and tests. Values
 * are AIs, GS1's own data titles (`BATCH/LOT`: GS1 prints them in English on every label),
 * lengths and what was scanned — never words of a language.
 *
 * Most of these reach a person setting a scanner up, not the operator: a lost group separator
 * (`SEPARATOR_LOST`) says which scanner setting is wrong.
 */
export const GS1_PROBLEMS = {
  /** Nothing but separators or line ends. */
  EMPTY: { values: [], text: 'the barcode is empty' },
  /** An AIM symbology identifier of a symbology that carries no GS1 data. */
  NOT_GS1_SYMBOLOGY: { values: ['aim'], text: 'not a GS1 barcode (symbology {aim})' },
  /** Bracketed (human-readable) text that is not `(AI)value…` throughout. */
  NOT_ELEMENT_STRING: { values: ['text'], text: '"{text}" is not a GS1 element string' },
  /** A bracketed AI this parser does not know. */
  UNKNOWN_AI: { values: ['ai'], text: 'unknown application identifier ({ai})' },
  /** Digits where an AI should start, matching none, at the start of the code. */
  UNKNOWN_AI_AT: { values: ['at'], text: 'unknown application identifier at "{at}"' },
  /** As `UNKNOWN_AI_AT`, after an element that parsed (often: a separator missing after it). */
  UNKNOWN_AI_AFTER: {
    values: ['at', 'ai', 'title'],
    text: 'unknown application identifier at "{at}" after ({ai}) {title}',
  },
  /** A fixed-length field of the wrong length. */
  WRONG_LENGTH: {
    values: ['ai', 'title', 'length', 'got'],
    text: '({ai}) {title} needs {length} characters, got {got}',
  },
  /** A bracketed variable-length field over its maximum. */
  TOO_LONG: {
    values: ['ai', 'title', 'max'],
    text: '({ai}) {title} is longer than {max} characters',
  },
  /** A variable-length field over its maximum: the FNC1 that should end it was not sent. */
  SEPARATOR_LOST: {
    values: ['ai', 'title', 'length', 'max'],
    text: '({ai}) {title} is {length} characters, more than {max}: the group separator (FNC1) after it was probably lost — configure the scanner to send it',
  },
  /** An AI with no data. */
  EMPTY_VALUE: { values: ['ai', 'title'], text: '({ai}) {title} is empty' },
  /** A numeric field with other characters. */
  NOT_DIGITS: {
    values: ['ai', 'title', 'value'],
    text: '({ai}) {title} must be digits only, got "{value}"',
  },
  /** A GTIN, SSCC or GLN whose check digit is wrong (a misread). */
  CHECK_DIGIT: {
    values: ['ai', 'title', 'value', 'expected', 'got'],
    text: '({ai}) {title} {value} has a wrong check digit (expected {expected}, got {got})',
  },
  /** A date field that is no YYMMDD date. */
  BAD_DATE: {
    values: ['ai', 'title', 'value'],
    text: '({ai}) {title} "{value}" is not a valid YYMMDD date',
  },
  /** An alphanumeric field with characters outside GS1's set 82. */
  BAD_CHARACTERS: {
    values: ['ai', 'title', 'value'],
    text: '({ai}) {title} "{value}" contains characters a GS1 barcode cannot carry',
  },
  /** One AI twice, with two values. */
  CONFLICTING: {
    values: ['ai', 'title'],
    text: '({ai}) {title} appears twice with different values',
  },
} as const satisfies Record<string, { readonly values: readonly string[]; readonly text: string }>;

export type Gs1ProblemCode = keyof typeof GS1_PROBLEMS;
export const GS1_PROBLEM_CODES = Object.keys(GS1_PROBLEMS) as Gs1ProblemCode[];

export interface Gs1Problem {
  readonly code: Gs1ProblemCode;
  readonly values: Readonly<Record<string, string | number>>;
}

/** The values a problem's text names, by name. */
export type Gs1ProblemValues<K extends Gs1ProblemCode> = {
  readonly [V in (typeof GS1_PROBLEMS)[K]['values'][number]]: string | number;
};

/** A GS1 problem with its values. */
export function gs1Problem<K extends Gs1ProblemCode>(
  code: K,
  values: Gs1ProblemValues<K>,
): Gs1Problem {
  return { code, values };
}

/** The English text of a problem (the parse result's `error`): its values put in its text. */
export function gs1ProblemText(p: Gs1Problem): string {
  return GS1_PROBLEMS[p.code].text.replace(/\{(\w+)\}/g, (m, name: string) =>
    name in p.values ? String(p.values[name]) : m,
  );
}
