import type { Hono, MiddlewareHandler } from 'hono';
import { z } from 'zod';
import type { JobProblem } from '@floorsync/domain';
import { jobProblem, jobProblemText } from '@floorsync/domain';
import {
  LabelError,
  PRINT_LABELS,
  labelSchema,
  labelSizeSchema,
  renderPdf,
  renderZpl,
} from '@floorsync/workers';
import type { Env } from '../app.js';
import type { JobSink } from '../jobs/routes.js';
import { failureProblem } from '../jobs/routes.js';
import { HttpProblem, notFound } from '../http/problem.js';
import type { Logger } from '../log.js';
import type { Storage } from '../storage/port.js';
import { readJson, validate } from '../app.js';

/**
 * Labels: a PDF for an office printer, at once; or ZPL for a network label printer, as a job a
 * worker sends on TCP 9100, whose outcome (the printer's own status) the device then reads.
 * Printers are configured on the server (`LABEL_PRINTERS`): a device names one, never an
 * address, so nobody can make a worker connect elsewhere.
 */
export interface LabelPrinter {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly size: '4x6' | '100x50';
  /**
   * Asked for its status (`~HS`) after the labels: true unless `/no-status` (a ZPL emulation
   * or print server that does not answer; the outcome is then "sent", not "printed").
   */
  readonly hostStatus?: boolean;
}

/**
 * A worker's words about a printer with its address put back to its name (`dock`). The host
 * is replaced only where it stands as a whole name (with its `:port`, when that is the
 * printer's), so a short host such as `h` does not rewrite other words, and `10.0.4.2` is not
 * found inside `10.0.4.20`.
 */
export function byName(text: string, printer: LabelPrinter | undefined): string {
  if (!printer || printer.host === '') return text;
  const host = printer.host.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const address = new RegExp(
    `(?<![\\w.-])${host}(?::${printer.port}(?!\\d))?(?![\\w-]|\\.\\w)`,
    'gi',
  );
  return text.replace(address, printer.id);
}

/**
 * A worker's problem as devices may see it, or null when it is not one this server knows (a
 * newer worker's code: the English `reason` is kept all the same). Only the values its code
 * names are kept; the printer is named as devices know it (`dock`) — the worker says where it
 * printed (`host:port`), which devices never see — and no other value may name its address.
 */
function problemByName(
  raw: unknown,
  printer: LabelPrinter | undefined,
  printerId: string,
): JobProblem | null {
  const problem = failureProblem(raw);
  if (!problem) return null;
  const named: Record<string, string | number> = {};
  for (const [name, v] of Object.entries(problem.values))
    named[name] = name === 'printer' ? printerId : typeof v === 'string' ? byName(v, printer) : v;
  return { code: problem.code, values: named };
}

/**
 * `LABEL_PRINTERS`: `id=host[:port][/size][/no-status]`, comma-separated, e.g.
 * `dock=10.0.4.20:9100/4x6,office=zebra-2.local/100x50` (port 9100 and size 4x6 by default;
 * `/no-status` for a printer that does not answer `~HS`).
 */
export function parsePrinters(raw: string | undefined): LabelPrinter[] {
  if (!raw?.trim()) return [];
  const printers = raw
    .split(',')
    .filter((entry) => entry.trim() !== '')
    .map((entry) => {
      const m =
        /^\s*([a-z0-9][a-z0-9_-]{0,31})=([A-Za-z0-9.-]{1,253})(?::(\d{1,5}))?(?:\/(4x6|100x50))?(\/no-status)?\s*$/.exec(
          entry,
        );
      if (!m)
        throw new Error(
          `LABEL_PRINTERS: "${entry.trim()}" is not id=host[:port][/size][/no-status] (size 4x6 or 100x50)`,
        );
      const port = m[3] ? Number(m[3]) : 9100;
      if (port < 1 || port > 65_535)
        throw new Error(`LABEL_PRINTERS: bad port in "${entry.trim()}"`);
      return {
        id: m[1] as string,
        host: m[2] as string,
        port,
        size: (m[4] ?? '4x6') as LabelPrinter['size'],
        ...(m[5] ? { hostStatus: false } : {}),
      };
    });
  const ids = printers.map((p) => p.id);
  const twice = ids.find((id, i) => ids.indexOf(id) !== i);
  if (twice) throw new Error(`LABEL_PRINTERS: the printer id "${twice}" is given twice`);
  return printers;
}

const labelsSchema = z
  .array(labelSchema)
  .min(1, 'no labels')
  .max(200, 'at most 200 labels at once');
export const pdfRequest = z.strictObject({
  size: labelSizeSchema.default('4x6'),
  sheet: z.enum(['label', 'a4']).default('label'),
  labels: labelsSchema,
});
export const printRequest = z.strictObject({
  printerId: z.string().min(1).max(32),
  labels: labelsSchema,
});
export const resultRequest = z.strictObject({
  ok: z.boolean(),
  status: z.string().max(500).nullable().optional(),
  reason: z.string().max(2000).optional(),
  /**
   * Why it failed, as a code and values (`jobProblemSchema`; a worker of this version sends
   * it). Checked on its own: one this server does not know is dropped, not the report.
   */
  problem: z.unknown().optional(),
});

const unprintable = (detail: string) =>
  new HttpProblem(422, 'UNPRINTABLE_LABEL', 'The label cannot be drawn', detail);

export function labelRoutes(
  app: Hono<Env>,
  o: {
    readonly storage: Storage;
    readonly clock: () => Date;
    readonly newId: () => string;
    readonly requireRole: (role: 'operator' | 'supervisor') => MiddlewareHandler<Env>;
    readonly jobs: JobSink | undefined;
    readonly printers: readonly LabelPrinter[];
    readonly log: Logger;
  },
): void {
  app.get('/api/labels/printers', o.requireRole('operator'), (c) =>
    c.json(o.printers.map((p) => ({ id: p.id, size: p.size }))),
  );

  app.post('/api/labels/pdf', o.requireRole('operator'), async (c) => {
    const req = validate(pdfRequest, await readJson(c));
    let pdf: Uint8Array;
    try {
      pdf = await renderPdf(req.labels, {
        size: req.size,
        ...(req.sheet === 'a4' ? { sheet: 'a4' } : {}),
      });
    } catch (error) {
      if (error instanceof LabelError) throw unprintable(error.message);
      throw error;
    }
    return c.body(pdf as Uint8Array<ArrayBuffer>, 200, {
      'content-type': 'application/pdf',
      'content-disposition': 'inline; filename="labels.pdf"',
    });
  });

  app.post('/api/labels/print', o.requireRole('operator'), async (c) => {
    const req = validate(printRequest, await readJson(c));
    const printer = o.printers.find((p) => p.id === req.printerId);
    if (!printer) throw notFound(`no printer "${req.printerId}" (see GET /api/labels/printers)`);
    // Drawn here first, so a label that cannot be printed is refused now, not in a worker.
    try {
      renderZpl(req.labels, printer.size);
    } catch (error) {
      if (error instanceof LabelError) throw unprintable(error.message);
      throw error;
    }
    if (!o.jobs)
      throw new HttpProblem(
        503,
        'NO_WORKERS',
        'Service unavailable',
        'no job queue on this server',
      );
    const user = c.get('session').user;
    const id = o.newId();
    const now = o.clock().toISOString();
    await o.storage.write((tx) =>
      tx.createJob(
        {
          id,
          kind: PRINT_LABELS,
          status: 'queued',
          createdBy: user.id,
          createdAt: now,
          fileName: printer.id,
          rows: req.labels.length,
          total: req.labels.length,
          errors: [],
          // Set when a worker claims it (POST …/claim): from then on it is the worker's.
          startedAt: null,
          error: null,
        },
        [],
      ),
    );
    try {
      await o.jobs.enqueue({
        id: `${id}:print`,
        kind: PRINT_LABELS,
        payload: {
          printer: {
            host: printer.host,
            port: printer.port,
            hostStatus: printer.hostStatus ?? true,
          },
          size: printer.size,
          labels: req.labels,
          ref: id,
        },
      });
    } catch (error) {
      // Why, in the log: the job's error is shown to the operator who printed.
      o.log.log('warn', 'the job queue did not take a print job', {
        job: id,
        error: String(error),
      });
      // Given up on, so that a copy the queue stored after all (its acknowledgement lost) is
      // not printed when it turns up — a worker claims a job before it prints, and is told
      // no — after the operator printed again. Unless a worker has claimed it already: then
      // the queue did take it, and the labels are the worker's to print. In one transaction
      // with the claim's, so it is one or the other.
      const taken = await o.storage.write((tx) => {
        const job = tx.job(id);
        if (job && (job.status !== 'queued' || job.startedAt !== null)) return job.status;
        const problem = jobProblem('QUEUE_REFUSED', {});
        tx.updateJob(id, { status: 'failed', error: jobProblemText(problem), problem });
        return null;
      });
      if (taken !== null) return c.json({ id, state: taken, printer: printer.id }, 202);
      throw new HttpProblem(
        503,
        'QUEUE_UNAVAILABLE',
        'Service unavailable',
        'the job queue did not take the labels; try again',
      );
    }
    return c.json({ id, state: 'queued', printer: printer.id }, 202);
  });

  app.get('/api/labels/jobs/:id', o.requireRole('operator'), async (c) => {
    const s = c.get('session');
    const job = await o.storage.read((tx) => tx.job(c.req.param('id')));
    const supervisor = s.user.role === 'supervisor' || s.user.role === 'admin';
    if (!job || job.kind !== PRINT_LABELS || (!supervisor && job.createdBy !== s.user.id))
      throw notFound('no such print job');
    return c.json({
      id: job.id,
      state: job.status,
      printer: job.fileName,
      error: job.error,
      // Why it failed as a code and values (`JOB_PROBLEMS`): the device says it in its language.
      problem: job.problem ?? null,
    });
  });

  // A worker's claim before it prints: yes while the job waits (again after a delivery whose
  // worker died), no once it has an outcome (printed, failed, or given up on by the server).
  app.post('/api/labels/jobs/:id/claim', o.requireRole('supervisor'), async (c) => {
    const id = c.req.param('id');
    const now = o.clock().toISOString();
    const state = await o.storage.write((tx) => {
      const job = tx.job(id);
      if (!job || job.kind !== PRINT_LABELS) return null;
      if (job.status === 'queued') tx.updateJob(id, { startedAt: now });
      return job.status;
    });
    if (state === null) throw notFound('no such print job');
    return c.json({ id, print: state === 'queued', state });
  });

  // The worker's answer: printed (with the printer's status), or given up with the reason.
  app.post('/api/labels/jobs/:id/result', o.requireRole('supervisor'), async (c) => {
    const r = validate(resultRequest, await readJson(c));
    const id = c.req.param('id');
    const found = await o.storage.write((tx) => {
      const job = tx.job(id);
      // Only a job still waiting gets an answer: a settled one stays as it is.
      if (!job || job.kind !== PRINT_LABELS || job.status !== 'queued') return false;
      // The worker says where it printed (host:port); devices see printers by name only.
      const printer = o.printers.find((p) => p.id === job.fileName);
      const problem = r.ok ? null : problemByName(r.problem, printer, job.fileName ?? '');
      tx.updateJob(
        id,
        r.ok
          ? { status: 'completed', error: null }
          : {
              status: 'failed',
              error: byName(r.reason ?? 'failed', printer),
              ...(problem ? { problem } : {}),
            },
      );
      return true;
    });
    if (!found) throw notFound('no print job waiting for an answer with this id');
    return c.json({ id, state: r.ok ? 'completed' : 'failed' });
  });
}
