import type { Hono, MiddlewareHandler } from 'hono';
import type {
  CountSessionId,
  CountSessionStatus,
  CountingState,
  JobProblem,
  Role,
  UserId,
} from '@floorsync/domain';
import {
  COUNT_SESSION_STATUSES,
  countSheetOf,
  csvCell,
  readCountSheet,
  countApplyProgress,
  countCoverage,
  countingStateOf,
  openCountsOf,
  operatorLine,
  reviewLines,
  roleAllows,
} from '@floorsync/domain';
import { APPLY_COUNT_SESSION } from '@floorsync/workers';
import ExcelJS from 'exceljs';
import type { Env } from '../app.js';
import { readBytes, readJsonOr } from '../app.js';
import { MAX_UPLOAD_BYTES, tableOf } from '../jobs/files.js';
import { HttpProblem, badRequest, conflict, notFound } from '../http/problem.js';
import type { Logger } from '../log.js';
import type { JobRow, ReadTx, Storage } from '../storage/port.js';
import type { JobSink } from '../jobs/routes.js';
import { failureProblem, jobClient, jobMessage } from '../jobs/routes.js';

/** Lines per page of `/lines` at most. */
const MAX_PAGE = 1000;

/** Row problems a sheet check reports at most (like the other imports). */
const KEPT_ERRORS = 1000;

/**
 * One session as the queries read it: the store's rows, as a state (`countingStateOf`). A
 * session has at most a few thousand lines; the supervisor's board reads them at once.
 */
export function sessionState(tx: ReadTx, id: CountSessionId): CountingState | undefined {
  const session = tx.countSession(id);
  if (!session) return undefined;
  return countingStateOf(
    [{ ...session, scopeIds: tx.countScope(id) }],
    tx.countLines(id, 1, Math.max(1, session.lines)),
    tx.countPositions(id),
  );
}

/** How far the apply job of a session got: its client's last mutation is its last line. */
export interface ApplyJobView {
  readonly status: JobRow['status'] | null;
  readonly startedAt: string | null;
  readonly error: string | null;
  /** Why it failed, as a code and values (`GAVE_UP`), when the worker said. */
  readonly problem?: JobProblem;
  /** Lines the job has pushed (applied, or recorded as failed). */
  readonly done: number;
}

const applyJobOf = (tx: ReadTx, id: string): ApplyJobView => {
  const job = tx.job(id);
  const done = tx.lastMutationID(jobClient(id))?.lastMutationID ?? 0;
  return job && job.kind === APPLY_COUNT_SESSION
    ? {
        status: job.status,
        startedAt: job.startedAt,
        error: job.error,
        ...(job.problem ? { problem: job.problem } : {}),
        done,
      }
    : { status: null, startedAt: null, error: null, done };
};

/**
 * Counting sessions over HTTP (DOMAIN.md "Counting"). Everything a session does is a command
 * pushed through the sync protocol (devices count offline; supervisors plan and approve from
 * theirs); these routes are the reads a board needs live — coverage, the review with races as
 * stock stands now, the apply's progress — and the start of the apply job.
 *
 * Operators see the sessions assigned to them, their own counts only, and no expected
 * quantities in a blind session.
 */
export function countingRoutes(
  app: Hono<Env>,
  o: {
    readonly storage: Storage;
    readonly clock: () => Date;
    readonly requireRole: (role: Role) => MiddlewareHandler<Env>;
    readonly jobs: JobSink | undefined;
    readonly log: Logger;
  },
): void {
  const { storage } = o;

  app.get('/api/count-sessions', o.requireRole('operator'), async (c) => {
    const q = c.req.query();
    const status = q['status']?.split(',').filter((x) => x !== '');
    if (status?.some((x) => !(COUNT_SESSION_STATUSES as readonly string[]).includes(x)))
      throw badRequest(`status must be one or more of ${COUNT_SESSION_STATUSES.join(', ')}`);
    const s = c.get('session');
    const supervisor = roleAllows(s.user.role, 'supervisor');
    const rows = await storage.read((tx) =>
      tx.countSessions({
        ...(status ? { status: status as CountSessionStatus[] } : {}),
        ...(!supervisor || q['mine'] === '1' ? { assignee: s.user.id } : {}),
        limit: 1000,
      }),
    );
    return c.json(rows.map((r) => ({ ...r, progress: countApplyProgress(r) })));
  });

  app.get('/api/count-sessions/:id', o.requireRole('operator'), async (c) => {
    const s = c.get('session');
    const id = c.req.param('id') as CountSessionId;
    const supervisor = roleAllows(s.user.role, 'supervisor');
    const answer = await storage.read((tx) => {
      const state = sessionState(tx, id);
      const session = state?.sessions.get(id);
      if (!state || !session) return undefined;
      if (!supervisor && !session.assignees.includes(s.user.id as UserId)) return undefined;
      const scopeIds = [...(state.scopes.get(id) ?? [])];
      const lines = [...state.records.values()];
      if (!supervisor)
        return {
          session,
          scopeIds,
          positions: [...state.positions.values()],
          lines: lines.map((l) => operatorLine(session, l, s.user.id as UserId)),
        };
      return {
        session,
        scopeIds,
        positions: [...state.positions.values()],
        coverage: countCoverage(state, id, tx),
        openCounts: openCountsOf(state, id),
        progress: countApplyProgress(session),
        job: applyJobOf(tx, id),
      };
    });
    if (!answer) throw notFound('no such counting session');
    return c.json(answer);
  });

  // The review: every line with what applying it would do as stock stands now (live races).
  app.get('/api/count-sessions/:id/lines', o.requireRole('supervisor'), async (c) => {
    const id = c.req.param('id') as CountSessionId;
    const from = Number(c.req.query('from') ?? 1);
    const limit = Number(c.req.query('limit') ?? 200);
    if (!Number.isSafeInteger(from) || from < 1) throw badRequest('from must be a line number ≥ 1');
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE)
      throw badRequest(`limit must be a whole number from 1 to ${MAX_PAGE}`);
    const page = await storage.read((tx) => {
      const session = tx.countSession(id);
      if (!session) return undefined;
      const state = countingStateOf(
        [{ ...session, scopeIds: [] }],
        tx.countLines(id, from, limit),
        [],
      );
      return { lines: session.lines, review: reviewLines(state, id, tx) };
    });
    if (!page) throw notFound('no such counting session');
    return c.json(page);
  });

  /**
   * The counting sheet, for counting on paper: a row per pair to count (expected empty in a
   * blind session), as CSV or XLSX. Filled in, it comes back through the POST below.
   */
  app.get('/api/count-sessions/:id/sheet', o.requireRole('supervisor'), async (c) => {
    const id = c.req.param('id') as CountSessionId;
    const format = c.req.query('format') ?? 'csv';
    if (format !== 'csv' && format !== 'xlsx') throw badRequest('format must be csv or xlsx');
    const sheet = await storage.read((tx) => {
      const session = tx.countSession(id);
      if (!session) return undefined;
      const sheet = countSheetOf(
        tx,
        session,
        tx.countScope(id),
        tx.countLines(id, 1, Math.max(1, session.lines)),
      );
      return { ...sheet, code: session.code };
    });
    if (!sheet) throw notFound('no such counting session');
    const name = `count-${encodeURIComponent(sheet.code)}`;
    if (format === 'csv')
      return c.body(
        [sheet.header, ...sheet.rows].map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n',
        200,
        {
          'content-type': 'text/csv; charset=utf-8',
          'content-disposition': `attachment; filename="${name}.csv"`,
        },
      );
    const workbook = new ExcelJS.Workbook();
    const ws = workbook.addWorksheet(worksheetName(sheet.code));
    ws.addRow(sheet.header);
    ws.getRow(1).font = { bold: true };
    // Text cells throughout: codes such as 0012 must not turn into numbers.
    for (const row of sheet.rows) ws.addRow(row);
    ws.columns.forEach((col, i) => {
      col.width = i === 3 ? 30 : 14;
    });
    const bytes = await workbook.xlsx.writeBuffer();
    return c.body(new Uint8Array(bytes), 200, {
      'content-type': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      'content-disposition': `attachment; filename="${name}.xlsx"`,
    });
  });

  /**
   * A filled-in counting sheet (CSV or XLSX), checked: the counts it holds as commands for the
   * supervisor's device to queue (so they are recorded like any count, offline-safe), or the
   * problems of its rows. Nothing is recorded here; a sheet with any problem gives no commands.
   */
  app.post('/api/count-sessions/:id/sheet', o.requireRole('supervisor'), async (c) => {
    const id = c.req.param('id') as CountSessionId;
    const bytes = await readBytes(
      c,
      MAX_UPLOAD_BYTES,
      `a file may be at most ${MAX_UPLOAD_BYTES / 1024 / 1024} MB; split it into several`,
    );
    if (bytes.length === 0) throw badRequest('the file is empty', 'EMPTY_FILE');
    const table = await tableOf(bytes);
    const report = await storage.read((tx) => {
      const session = tx.countSession(id);
      if (!session) return undefined;
      return readCountSheet(
        table,
        tx,
        session,
        (member) => tx.inCountScope(id, member),
        tx.countLines(id, 1, Math.max(1, session.lines)),
      );
    });
    if (!report) throw notFound('no such counting session');
    return c.json({
      ...report,
      errorCount: report.errors.length,
      errors: report.errors.slice(0, KEPT_ERRORS),
    });
  });

  const applyJob = (id: string) => storage.read((tx) => applyJobOf(tx, id));

  /**
   * Starts (or resumes) the apply of an approved session as a worker job. The job pushes
   * `applyCountRecord` for line k as mutation k of its own client, so a job killed midway and
   * started again continues after the last line the server applied: every line once.
   */
  app.post('/api/count-sessions/:id/apply', o.requireRole('supervisor'), async (c) => {
    const id = c.req.param('id') as CountSessionId;
    if (!o.jobs)
      throw new HttpProblem(
        503,
        'NO_WORKERS',
        'Service unavailable',
        'this server runs no job queue',
      );
    const prepared = await storage.write((tx) => {
      const session = tx.countSession(id);
      if (!session) return undefined;
      if (session.status !== 'applying' && session.status !== 'applied')
        throw conflict(
          'NOT_APPROVED',
          `counting session ${session.code} is ${session.status}: approve it before applying`,
        );
      if (session.status === 'applied') return { session, job: null };
      const now = o.clock().toISOString();
      const existing = tx.job(id);
      if (!existing) {
        const job: JobRow = {
          id,
          kind: APPLY_COUNT_SESSION,
          status: 'queued',
          createdBy: c.get('session').user.id,
          createdAt: now,
          fileName: null,
          rows: session.planned,
          total: session.planned,
          errors: [],
          startedAt: now,
          error: null,
        };
        tx.createJob(job, []);
        return { session, job, previous: null };
      }
      // Started again (after a failure, or to nudge a queue that lost it): a new start time is
      // a new message id, which the queue does not drop as a duplicate.
      tx.updateJob(id, { status: 'queued', error: null, startedAt: now });
      return { session, job: tx.job(id) ?? existing, previous: existing };
    });
    if (!prepared) throw notFound('no such counting session');
    if (prepared.job === null) return c.json(await applyJob(id), 200);
    try {
      await o.jobs.enqueue(jobMessage(prepared.job));
    } catch (error) {
      // Why, in the log; the answer says what to do (it does not carry the queue's internals).
      o.log.log('warn', 'the job queue did not take a job', { job: id, error: String(error) });
      const previous = 'previous' in prepared ? prepared.previous : null;
      await storage.write((tx) =>
        tx.updateJob(
          id,
          previous
            ? {
                status: previous.status,
                error: previous.error,
                startedAt: previous.startedAt,
                // The problem goes with its error: set again, or the error alone would drop it.
                ...(previous.problem ? { problem: previous.problem } : {}),
              }
            : { status: 'failed', error: 'the job queue did not take the job' },
        ),
      );
      throw new HttpProblem(
        503,
        'QUEUE_UNAVAILABLE',
        'Service unavailable',
        'the job queue did not take the job; start it again in a moment',
      );
    }
    return c.json(await applyJob(id), 202);
  });

  // What the apply job reads to resume: the plan's size and how far its client got.
  app.get('/api/count-sessions/:id/apply', o.requireRole('supervisor'), async (c) => {
    const id = c.req.param('id') as CountSessionId;
    const answer = await storage.read((tx) => {
      const session = tx.countSession(id);
      return (
        session && {
          sessionStatus: session.status,
          planned: session.planned,
          ...applyJobOf(tx, id),
        }
      );
    });
    if (!answer) throw notFound('no such counting session');
    return c.json(answer);
  });

  // A worker gave the job up (poison, or out of attempts): the reason, for the board.
  app.post('/api/count-sessions/:id/apply/fail', o.requireRole('supervisor'), async (c) => {
    const id = c.req.param('id');
    const body = ((await readJsonOr(c, {})) ?? {}) as { reason?: unknown; problem?: unknown };
    if (typeof body.reason !== 'string' || body.reason.trim() === '')
      throw badRequest('reason must be a non-empty string');
    const reason = body.reason.slice(0, 1000);
    const problem = failureProblem(body.problem);
    // Only an apply still under way can fail: a late report of a second copy (or anybody's)
    // must not mark an applied session's job failed (as `/api/jobs/:id/fail`).
    const outcome = await storage.write((tx) => {
      const job = tx.job(id);
      if (!job || job.kind !== APPLY_COUNT_SESSION) return 'none' as const;
      const status = tx.countSession(id as CountSessionId)?.status;
      if (job.status !== 'queued' || status !== 'applying') return status ?? job.status;
      tx.updateJob(id, { status: 'failed', error: reason, ...(problem ? { problem } : {}) });
      return 'failed' as const;
    });
    if (outcome === 'none') throw notFound('no apply job for this session');
    if (outcome !== 'failed')
      throw conflict('JOB_NOT_RUNNING', `the apply is not under way (the session is ${outcome})`);
    return c.json(await applyJob(id));
  });
}

/**
 * A session's code as a worksheet name: Excel's rules (at most 31 characters, none of
 * `* ? : \\ / [ ]`, no apostrophe first or last, not "History") — a code such as `INV/2025`
 * is a valid session code, and ExcelJS throws on such a name.
 */
export function worksheetName(code: string): string {
  const name = code
    .replace(/[*?:\\/[\]]/g, '-')
    .slice(0, 31)
    .replace(/^'+|'+$/g, '');
  return name === '' || name.toLowerCase() === 'history' ? 'count' : name;
}
