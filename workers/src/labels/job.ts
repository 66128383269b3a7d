import type { JobProblem } from '@floorsync/domain';
import { jobProblem } from '@floorsync/domain';
import { z } from 'zod';
import type { JobHandler } from '../runner.js';
import { JobInterruptedError, PoisonJobError } from '../runner.js';
import { LabelError, labelSchema, labelSizeSchema } from './model.js';
import type { PrinterStatus, SendOptions } from './printer.js';
import { PrinterError, describeStatus, sendToPrinter, statusFlags } from './printer.js';
import { renderZpl } from './zpl.js';

/**
 * The job kind. Integration adds it where job kinds are listed (it matches `JOB_KIND` in
 * `domain/src/sync/bus.ts`: one subject token).
 */
export const PRINT_LABELS = 'print-labels';

export const printLabelsPayload = z.object({
  /**
   * Where to print. The server fills this in from its configured printers: a client names a
   * printer, it never supplies an address (a worker would connect wherever it was told).
   */
  printer: z.object({
    host: z.string().trim().min(1).max(253),
    port: z.number().int().min(1).max(65_535).default(9100),
    /** False for printers that do not answer `~HS`: the job then reports "sent", no status. */
    hostStatus: z.boolean().default(true),
  }),
  size: labelSizeSchema.default('4x6'),
  labels: z.array(labelSchema).min(1).max(500),
  /** The asker's record of this job (the server's job id), handed back in the report. */
  ref: z.string().max(128).optional(),
});
export type PrintLabelsPayload = z.infer<typeof printLabelsPayload>;

/** What became of a print job, for whoever asked for it (a device waiting, a jobs screen). */
export type PrintReport =
  | {
      readonly ok: true;
      readonly payload: PrintLabelsPayload;
      readonly jobId: string;
      /** Null when the printer was not asked (`hostStatus: false`). */
      readonly status: PrinterStatus | null;
    }
  | {
      readonly ok: false;
      readonly payload: PrintLabelsPayload;
      /** In English, with the details (for logs and the API). */
      readonly reason: string;
      /**
       * What went wrong, for the asker to say in its user's language (`printer`: the address
       * the job had — the asker names it); absent when no problem code fits.
       */
      readonly problem?: JobProblem;
    };

/** A print job that cannot succeed, with its problem. */
class PrintFailedError extends PoisonJobError {
  constructor(
    message: string,
    readonly problem: JobProblem,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The problem of a print job given up on with `error`: the printer's own report, the label
 * that cannot be drawn, the connection cut (some labels may be out), a printer that took it all
 * and did not say how it is, or one never reached (attempt after attempt). Null for others.
 */
export function printProblemOf(error: unknown, payload: PrintLabelsPayload): JobProblem | null {
  if (error instanceof PrintFailedError) return error.problem;
  // Given up at once (poison), the printer's error is the cause; after attempts, itself.
  const e = error instanceof PoisonJobError ? error.cause : error;
  if (!(e instanceof PrinterError)) return null;
  const printer = `${payload.printer.host}:${payload.printer.port}`;
  if (e.retryable) return jobProblem('PRINTER_UNREACHABLE', { printer });
  return jobProblem(e.written ? 'PRINTER_SILENT' : 'PRINTER_CUT_OFF', { printer });
}

export interface PrintLabelsOptions {
  readonly send?: Omit<SendOptions, 'hostStatus'>;
  /** Told the outcome: on success, and once the job is given up on. Best effort. */
  readonly report?: (report: PrintReport) => Promise<void>;
  /**
   * Claims the job `ref` from the asker before every delivery is printed: false, nothing is
   * printed. The asker says no for a job it has an outcome for — a delivery again whose
   * acknowledgement was lost after the labels came out, or a job it gave up on because the
   * queue did not confirm it (the operator was told to print again) turning up after all — and
   * once it has said yes, it no longer gives up on the job. Throwing (the asker cannot be
   * reached) retries the job later rather than print blind.
   */
  readonly claim?: (ref: string) => Promise<boolean>;
}

/**
 * Renders the labels as ZPL and sends them to the printer in one connection, with `~HS` after
 * them; succeeds when the printer reports nothing in the way.
 *
 * - Labels that cannot be drawn (GS1 rules, too long for the label): poison.
 * - The printer refuses the connection or is unreachable: a plain error, retried with the
 *   runner's backoff (nothing was sent).
 * - The connection drops (or stalls) while the job is written: poison. Each label is a whole
 *   format, so those that got through print; sending the job again could print them twice.
 *   The message says to check the printer.
 * - Delivered (again: its acknowledgement was lost, or it was given up and the dead letter not
 *   written; or late, after the asker gave up on it) for a job the asker already has an
 *   outcome for: nothing is printed.
 * - The printer took the job and reports paper out, head open, pause…: poison, with its
 *   status in the message. Not retried: the labels wait in the printer and come out once it
 *   is fixed; sending them again would print them twice.
 * - The printer took the job and did not answer, or answered nonsense: poison too, for the
 *   same reason.
 */
export function printLabelsJob(options: PrintLabelsOptions = {}): JobHandler<PrintLabelsPayload> {
  return {
    kind: PRINT_LABELS,
    payload: printLabelsPayload,
    async run(payload, { jobId, signal }) {
      // Printed at an earlier delivery, or given up on by the asker: not printed.
      if (payload.ref !== undefined && options.claim && !(await options.claim(payload.ref))) return;
      let zpl: string;
      try {
        zpl = renderZpl(payload.labels, payload.size);
      } catch (error) {
        if (error instanceof LabelError)
          throw new PrintFailedError(
            error.message,
            jobProblem('LABEL_UNDRAWABLE', { detail: error.message }),
            { cause: error },
          );
        throw error;
      }
      if (signal.aborted) throw new JobInterruptedError('stopped before printing');
      const { host, port, hostStatus } = payload.printer;
      let outcome;
      try {
        outcome = await sendToPrinter({ host, port }, zpl, { ...options.send, hostStatus });
      } catch (error) {
        if (error instanceof PrinterError && !error.retryable) {
          throw new PoisonJobError(error.message, { cause: error });
        }
        throw error;
      }
      if (!outcome.ok) {
        throw new PrintFailedError(
          `printer ${host}:${port} took ${payload.labels.length} label(s) but reports ` +
            `${describeStatus(outcome.status)}: they print once that is fixed — do not send ` +
            `them again (~HS: ${outcome.status.raw.join(' | ')})`,
          jobProblem('PRINTER_STATUS', {
            printer: `${host}:${port}`,
            labels: payload.labels.length,
            problems: statusFlags(outcome.status).join(','),
          }),
        );
      }
      // The labels are out: a failing report must not make the runner print them again.
      await options.report?.({ ok: true, payload, jobId, status: outcome.status }).catch(() => {});
    },
    async onDead(payload, reason, error, gaveUp) {
      // The printer's own problem first; else, out of attempts, that.
      const problem = printProblemOf(error, payload) ?? gaveUp;
      await options.report?.({ ok: false, payload, reason, ...(problem ? { problem } : {}) });
    },
  };
}
