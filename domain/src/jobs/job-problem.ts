import { z } from 'zod';

/**
 * Why a job failed — a print job, first — as a code and the values its text names, like a
 * file row's problem (`row-error.ts`): a screen says it in its own language (the client's
 * catalogs have a `jobProblem.<CODE>` text with exactly these `{value}` placeholders: a test
 * checks), while the job's `error` stays the English text for logs and the API. Values are
 * names, numbers and codes, never words of a language — except `detail`, a refusal's own
 * (English) explanation.
 *
 * The ones that say "do not send them again" matter most: a label printer holds what it took
 * and prints it once it can, so printing again on a failure it reported prints twice.
 */
export const JOB_PROBLEMS = {
  /** The printer took the job and reports why it does not print (`problems`: `PRINTER_PROBLEMS`, comma-separated). */
  PRINTER_STATUS: {
    values: ['printer', 'labels', 'problems'],
    text: 'printer {printer} took {labels} label(s) but reports {problems}: they print once that is fixed — do not send them again',
  },
  /** Refused, unreachable or no connection in time, attempt after attempt: nothing was sent. */
  PRINTER_UNREACHABLE: {
    values: ['printer'],
    text: 'printer {printer} could not be reached: nothing was sent to it',
  },
  /** The connection went while the job was written: the labels that got through print. */
  PRINTER_CUT_OFF: {
    values: ['printer'],
    text: 'the connection to printer {printer} was lost while sending — some labels may have printed: check the printer before printing them again',
  },
  /** Every byte was written, and the printer did not say how it is. */
  PRINTER_SILENT: {
    values: ['printer'],
    text: 'printer {printer} took the job but did not report its status — check whether the labels printed before printing them again',
  },
  /** The label cannot be drawn (GS1 rules, too long for the label). */
  LABEL_UNDRAWABLE: { values: ['detail'], text: 'the label cannot be drawn: {detail}' },
  /** The job queue did not confirm the job: it was given up on, nothing printed. */
  QUEUE_REFUSED: { values: [], text: 'the job queue did not take it' },
  /**
   * A worker tried the job as often as it may (`attempts`) and it failed each time; `detail`:
   * the last attempt's error, as the worker had it (English). A supervisor can queue it again.
   */
  GAVE_UP: {
    values: ['attempts', 'detail'],
    text: 'gave up after {attempts} attempts; last error: {detail}',
  },
  /** The embedded server restarted while the job was queued: it cannot be sent again. */
  LOST_AT_RESTART: {
    values: [],
    text: 'the server restarted before the labels were reported printed; check the printer and print them again',
  },
} as const satisfies Record<string, { readonly values: readonly string[]; readonly text: string }>;

export type JobProblemCode = keyof typeof JOB_PROBLEMS;
export const JOB_PROBLEM_CODES = Object.keys(JOB_PROBLEMS) as JobProblemCode[];

/** What a label printer's host status can report that keeps it from printing. */
export const PRINTER_PROBLEMS = [
  'paper-out',
  'head-open',
  'ribbon-out',
  'paused',
  'too-hot',
  'config-lost',
] as const;
export type PrinterProblem = (typeof PRINTER_PROBLEMS)[number];

/** The English words of a printer problem (the client's catalogs have `printerProblem.<code>`). */
export const PRINTER_PROBLEM_TEXT: Readonly<Record<PrinterProblem, string>> = {
  'paper-out': 'paper out',
  'head-open': 'head open',
  'ribbon-out': 'ribbon out',
  paused: 'paused',
  'too-hot': 'print head too hot',
  'config-lost': 'configuration lost (corrupt RAM)',
};

export interface JobProblem {
  readonly code: JobProblemCode;
  readonly values: Readonly<Record<string, string | number>>;
}

/** A job problem on the wire (a worker's report) and in the store. */
export const jobProblemSchema = z.strictObject({
  code: z.enum(JOB_PROBLEM_CODES as [JobProblemCode, ...JobProblemCode[]]),
  values: z.record(z.string().max(64), z.union([z.string().max(1000), z.number()])),
});

/** The values a problem's text names, by name. */
export type JobProblemValues<K extends JobProblemCode> = {
  readonly [V in (typeof JOB_PROBLEMS)[K]['values'][number]]: string | number;
};

/** A job problem with its values. */
export function jobProblem<K extends JobProblemCode>(
  code: K,
  values: JobProblemValues<K>,
): JobProblem {
  return { code, values };
}

/** The English text of a problem (the job's `error`): its values put in its text. */
export function jobProblemText(p: JobProblem): string {
  const values: Readonly<Record<string, string | number>> = p.values;
  return JOB_PROBLEMS[p.code].text.replace(/\{(\w+)\}/g, (m, name: string) => {
    if (!(name in values)) return m;
    if (p.code === 'PRINTER_STATUS' && name === 'problems')
      return printerProblemsText(values[name]);
    return String(values[name]);
  });
}

/** `paper-out,paused` in English words: "paper out, paused". */
function printerProblemsText(v: string | number | undefined): string {
  return String(v ?? '')
    .split(',')
    .filter((c) => c !== '')
    .map((c) => PRINTER_PROBLEM_TEXT[c as PrinterProblem] ?? c)
    .join(', ');
}
