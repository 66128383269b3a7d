import type { JobEnvelope, JobProblem } from '@floorsync/domain';
import { JOB_PROBLEMS, jobProblemSchema, validateBulkAdjust } from '@floorsync/domain';
import type { Hono, MiddlewareHandler } from 'hono';
import type { Env } from '../app.js';
import { readBytes, readJsonOr } from '../app.js';
import { HttpProblem, badRequest, conflict, notFound } from '../http/problem.js';
import type { Logger } from '../log.js';
import type { JobRow, ReadTx, Storage } from '../storage/port.js';
import { MAX_UPLOAD_BYTES, tableOf } from './files.js';

/** Where jobs go to be run (the workers' queue); absent: nothing can be started here. */
export interface JobSink {
  enqueue(job: JobEnvelope): Promise<void>;
}

/**
 * A start of a job as the queue carries it. Its id is the job's and the start's time: the
 * queue keeps a message id once for a while (two minutes on NATS, even after it was done), so
 * a job started again after it failed needs a new one. Starting a queued or running job again
 * sends the same id: dropped while the in-process queue holds the job or within NATS's two
 * minutes; later (the jobs screen offers it after two minutes without progress, for a message
 * NATS may have lost) it is a second copy. Two copies may run side by side: each row is still
 * applied once (row k is the job client's mutation k; a copy resumes after the client's
 * `lastMutationID`, and rows sent twice are answered "duplicate").
 */
export const jobMessage = (job: JobRow): JobEnvelope => ({
  id: `${job.id}:${job.startedAt ?? ''}`,
  kind: job.kind,
  payload: { jobId: job.id },
});

/** The client (and client group) a job pushes as: its mutation ids are its plan's rows. */
export const jobClient = (jobId: string): string => `job-${jobId}`;

/** A job as the API shows it: its record, and how far it got (from the log). */
export interface JobView extends JobRow {
  /** Plan rows applied (or recorded as rejected) so far. */
  readonly done: number;
  readonly state: 'validated' | 'queued' | 'running' | 'completed' | 'cancelled' | 'failed';
}

/**
 * A worker's failure report's `problem` (additive: a worker of this version sends one, e.g.
 * `GAVE_UP`), checked on its own: one this server does not know, or without the values its text
 * names, is dropped — the report's English `reason` still fails the job. Values its text does
 * not name are not kept.
 */
export function failureProblem(raw: unknown): JobProblem | undefined {
  if (raw === undefined) return undefined;
  const parsed = jobProblemSchema.safeParse(raw);
  if (!parsed.success) return undefined;
  const { code, values } = parsed.data;
  const kept: Record<string, string | number> = {};
  for (const name of JOB_PROBLEMS[code].values) {
    const v = values[name];
    if (v === undefined) return undefined;
    kept[name] = v;
  }
  return { code, values: kept };
}

export function jobView(tx: ReadTx, job: JobRow): JobView {
  const done = tx.lastMutationID(jobClient(job.id))?.lastMutationID ?? 0;
  // Every row applied is done, whatever else was recorded: a second copy of the job (queued
  // again) that gave up after the first had finished must not show the job as failed.
  const state =
    job.status === 'failed' && job.total > 0 && done >= job.total
      ? 'completed'
      : job.status !== 'queued'
        ? job.status
        : done >= job.total
          ? 'completed'
          : done > 0
            ? 'running'
            : 'queued';
  return { ...job, done, state };
}

const KEPT_ERRORS = 1000;

/**
 * The jobs API (supervisors and admins): upload a bulk-adjustment file and get its check
 * report; start it (all rows valid, or `applyValidRows`); follow its progress. The plan is
 * stored with the job, so what runs is exactly what was checked, whatever changes meanwhile.
 */
export function jobRoutes(
  app: Hono<Env>,
  o: {
    readonly storage: Storage;
    readonly clock: () => Date;
    readonly newId: () => string;
    readonly requireRole: (role: 'supervisor') => MiddlewareHandler<Env>;
    readonly jobs: JobSink | undefined;
    readonly log: Logger;
  },
): void {
  const { storage } = o;
  // These routes are the bulk adjustments' (progress read from the log; start and fail): other
  // kinds of jobs (printing) have their own routes and are not theirs to start or list.
  const find = async (id: string) => {
    const view = await storage.read((tx) => {
      const job = tx.job(id);
      return job && job.kind === 'bulk-adjust' ? jobView(tx, job) : undefined;
    });
    if (!view) throw notFound(`no job ${id}`);
    return view;
  };

  app.post('/api/jobs/bulk-adjust', o.requireRole('supervisor'), async (c) => {
    const fileName = (c.req.query('fileName') ?? '').slice(0, 200) || null;
    const bytes = await readBytes(
      c,
      MAX_UPLOAD_BYTES,
      `a file may be at most ${MAX_UPLOAD_BYTES / 1024 / 1024} MB; split it into several`,
    );
    if (bytes.length === 0) throw badRequest('the file is empty', 'EMPTY_FILE');
    const table = await tableOf(bytes);
    const id = o.newId();
    // Checked against a read of the master data, outside the write lock (a big file takes a
    // while); the replay decides each row again when it is applied.
    const report = await storage.read((tx) => validateBulkAdjust(table, tx));
    const view = await storage.write((tx) => {
      const job: JobRow = {
        id,
        kind: 'bulk-adjust',
        status: 'validated',
        createdBy: c.get('session').user.id,
        createdAt: o.clock().toISOString(),
        fileName,
        rows: report.rows,
        total: report.valid.length,
        errors: report.errors.slice(0, KEPT_ERRORS),
        startedAt: null,
        error: null,
      };
      tx.createJob(job, report.valid);
      return jobView(tx, job);
    });
    return c.json({ ...view, errorCount: view.rows - view.total }, 201);
  });

  // A worker gave the job up (poison, or out of attempts): the reason, for the jobs screen.
  app.post('/api/jobs/:id/fail', o.requireRole('supervisor'), async (c) => {
    const id = c.req.param('id');
    const body = ((await readJsonOr(c, {})) ?? {}) as { reason?: unknown; problem?: unknown };
    if (typeof body.reason !== 'string' || body.reason.trim() === '')
      throw badRequest('reason must be a non-empty string');
    const job = await find(id);
    if (job.status !== 'queued' || job.state === 'completed')
      throw conflict('JOB_NOT_RUNNING', `the job is ${job.state}`);
    const problem = failureProblem(body.problem);
    await storage.write((tx) =>
      tx.updateJob(id, {
        status: 'failed',
        error: (body.reason as string).slice(0, 1000),
        ...(problem ? { problem } : {}),
      }),
    );
    return c.json(await find(id));
  });

  app.get('/api/jobs', o.requireRole('supervisor'), async (c) =>
    c.json(await storage.read((tx) => tx.jobs(50, 'bulk-adjust').map((j) => jobView(tx, j)))),
  );

  app.get('/api/jobs/:id', o.requireRole('supervisor'), async (c) =>
    c.json(await find(c.req.param('id'))),
  );

  app.get('/api/jobs/:id/plan', o.requireRole('supervisor'), async (c) => {
    const id = c.req.param('id');
    const offset = Number(c.req.query('offset') ?? 0);
    const limit = Number(c.req.query('limit') ?? 100);
    if (!Number.isSafeInteger(offset) || offset < 0)
      throw badRequest('offset must be an integer ≥ 0');
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000)
      throw badRequest('limit must be an integer from 1 to 1000');
    await find(id);
    return c.json(await storage.read((tx) => tx.jobPlan(id, offset, limit)));
  });

  app.post('/api/jobs/:id/start', o.requireRole('supervisor'), async (c) => {
    const id = c.req.param('id');
    const body = ((await readJsonOr(c, {})) ?? {}) as { applyValidRows?: unknown };
    const applyValidRows = body.applyValidRows === true;
    if (!o.jobs)
      throw new HttpProblem(
        503,
        'NO_WORKERS',
        'Service unavailable',
        'this server runs no job queue',
      );
    const job = await find(id);
    if (job.status === 'cancelled') throw conflict('JOB_ENDED', 'the job was cancelled');
    if (job.status === 'failed') {
      // Started again after its cause was fixed: it resumes after the rows already applied.
      // A new start time is a new message id: the queue would drop the old one for a while.
      await storage.write((tx) =>
        tx.updateJob(id, { status: 'queued', error: null, startedAt: o.clock().toISOString() }),
      );
    } else if (job.status === 'validated') {
      if (job.total === 0)
        throw conflict(
          'NOTHING_TO_APPLY',
          'no row of the file is valid: fix the file and upload it again',
        );
      const invalid = job.rows - job.total;
      if (invalid > 0 && !applyValidRows)
        throw conflict(
          'INVALID_ROWS',
          `${invalid} of ${job.rows} rows are invalid: fix the file and upload it again, or start with "applyValidRows": true to apply the ${job.total} valid rows only`,
        );
      await storage.write((tx) =>
        tx.updateJob(id, { status: 'queued', startedAt: o.clock().toISOString() }),
      );
    }
    // Queued again if it already was (see `jobMessage`: the same message id): after a restart
    // of the embedded queue, or a message NATS lost, the job resumes where its client's
    // lastMutationID is.
    try {
      await o.jobs.enqueue(jobMessage(await find(id)));
    } catch (error) {
      // Why, in the log; the answer says what to do (it does not carry the queue's internals).
      o.log.log('warn', 'the job queue did not take a job', { job: id, error: String(error) });
      // Not queued: as it was, so that starting it again is the remedy.
      if (job.status === 'validated' || job.status === 'failed')
        await storage.write((tx) =>
          tx.updateJob(
            id,
            job.status === 'validated'
              ? { status: 'validated', startedAt: null }
              : {
                  status: 'failed',
                  error: job.error,
                  startedAt: job.startedAt,
                  // The problem goes with its error: set again, or the error alone would drop it.
                  ...(job.problem ? { problem: job.problem } : {}),
                },
          ),
        );
      throw new HttpProblem(
        503,
        'QUEUE_UNAVAILABLE',
        'Service unavailable',
        'the job queue did not take the job; start it again in a moment',
      );
    }
    return c.json(await find(id), 202);
  });
}
