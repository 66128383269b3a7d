import type { SyncApi, SyncSession } from '../sync-api.js';
import type { PrintReport } from './job.js';
import { describeStatus } from './printer.js';

/**
 * Hands a print job's outcome back to the sync server (`POST /api/labels/jobs/:ref/result`),
 * where the device that asked for the labels reads it. One session, kept; a failed report is
 * logged by the caller and lost (the labels are printed or not either way).
 */
export function reportToServer(api: SyncApi): (report: PrintReport) => Promise<void> {
  let session: SyncSession | null = null;
  return async (r) => {
    const ref = r.payload.ref;
    if (!ref) return;
    const body = r.ok
      ? { ok: true, status: r.status ? describeStatus(r.status) : null }
      : { ok: false, reason: r.reason };
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
}
