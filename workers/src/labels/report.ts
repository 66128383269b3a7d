import type { SyncApi, SyncSession } from '../sync-api.js';
import type { PrintReport } from './job.js';
import { describeStatus } from './printer.js';

/**
 * Hands a print job's outcome back to the sync server (`POST /api/labels/jobs/:ref/result`),
 * where the device that asked for the labels reads it. One session, kept; a report that fails
 * twice is told to `onFailed` (logged: the device then waits for an answer that never comes,
 * and whoever looks into it needs the line) and lost — the labels are printed or not either way.
 */
export function reportToServer(
  api: SyncApi,
  onFailed: (ref: string, error: unknown) => void = () => {},
): (report: PrintReport) => Promise<void> {
  let session: SyncSession | null = null;
  const send = async (r: PrintReport) => {
    const ref = r.payload.ref;
    if (!ref) return;
    const body = r.ok
      ? { ok: true, status: r.status ? describeStatus(r.status) : null }
      : { ok: false, reason: r.reason, ...(r.problem ? { problem: r.problem } : {}) };
    const path = `/api/labels/jobs/${encodeURIComponent(ref)}/result`;
    session ??= await api.session('labels');
    try {
      await session.post(path, body);
    } catch {
      // The session may have expired: once more with a new one.
      session = await api.session('labels');
      await session.post(path, body);
    }
  };
  return async (r) => {
    try {
      await send(r);
    } catch (error) {
      onFailed(r.payload.ref ?? '', error);
      throw error;
    }
  };
}

/**
 * Claims the print job `ref` at the sync server before its labels are sent
 * (`POST /api/labels/jobs/:ref/claim`): true to print. The server says no for a job it already
 * has an outcome for (printed, or given up on when the queue did not confirm it in time) and
 * from then on gives up on it no more: a claimed job is a worker's. A job it does not know (a
 * server restored from before it) is printed. Throwing (no answer) retries the job later.
 */
export function printJobClaim(api: SyncApi): (ref: string) => Promise<boolean> {
  let session: SyncSession | null = null;
  const ask = async () => {
    session ??= await api.session('labels');
    return session;
  };
  return async (ref) => {
    const path = `/api/labels/jobs/${encodeURIComponent(ref)}/claim`;
    let answer: { print: boolean };
    try {
      answer = await (await ask()).post<{ print: boolean }>(path, {});
    } catch (error) {
      if (isNotFound(error)) return true;
      session = null; // an expired session: once more with a new one
      try {
        answer = await (await ask()).post<{ print: boolean }>(path, {});
      } catch (again) {
        if (isNotFound(again)) return true;
        throw again;
      }
    }
    return answer.print;
  };
}

const isNotFound = (error: unknown): boolean =>
  (error as { status?: unknown } | null)?.status === 404;
