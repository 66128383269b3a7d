import { bulkAdjustRowSchema } from '@floorsync/domain';
import { z } from 'zod';
import type { JobHandler } from '../runner.js';
import { JobInterruptedError, PoisonJobError } from '../runner.js';
import type { SyncApi } from '../sync-api.js';

export const BULK_ADJUST = 'bulk-adjust';
export const bulkAdjustPayload = z.object({ jobId: z.string().min(1).max(128) });

interface JobInfo {
  readonly id: string;
  readonly state: string;
  readonly total: number;
  readonly done: number;
}

/**
 * Applies a checked bulk-adjustment plan (stored with the job by the server) through the sync
 * protocol: row k of the plan is mutation k of the job's own client, pushed in batches. Run
 * again after a crash, it starts after the client's `lastMutationID` (the job's `done`), and
 * anything pushed twice anyway comes back `duplicate`: every row is applied exactly once.
 * Progress needs no reporting of its own: the server derives it from that same number.
 */
export function bulkAdjustJob(
  api: SyncApi,
  options: { readonly batch?: number } = {},
): JobHandler<z.infer<typeof bulkAdjustPayload>> {
  const batch = options.batch ?? 100;
  return {
    kind: BULK_ADJUST,
    payload: bulkAdjustPayload,
    async run({ jobId }, { signal }) {
      const client = `job-${jobId}`;
      const session = await api.session(client);
      const info = () => session.get<JobInfo>(`/api/jobs/${encodeURIComponent(jobId)}`);
      let job = await info();
      if (job.state === 'validated') throw new PoisonJobError(`job ${jobId} was not started`);
      if (job.state === 'cancelled' || job.state === 'failed')
        throw new PoisonJobError(`job ${jobId} is ${job.state}`);
      let next = job.done + 1;
      while (next <= job.total) {
        if (signal.aborted) throw new JobInterruptedError(`stopped before row ${next}`);
        const page = z
          .array(bulkAdjustRowSchema)
          .safeParse(
            await session.get<unknown>(
              `/api/jobs/${encodeURIComponent(jobId)}/plan?offset=${next - 1}&limit=${batch}`,
            ),
          );
        // A plan the schema refuses will not get better by trying again.
        if (!page.success)
          throw new PoisonJobError(
            `job ${jobId}: plan rows from ${next} are not valid: ${page.error.message}`,
          );
        const rows = page.data;
        if (rows.length === 0)
          throw new PoisonJobError(`job ${jobId}: the plan ends at row ${next - 1}`);
        const res = await session.push(
          rows.map((r, i) => ({
            id: next + i,
            name: 'adjustStock',
            args: { ...r.args, note: r.args.note ?? `bulk adjustment ${jobId}, line ${r.line}` },
          })),
        );
        if (res.results.some((r) => r.status === 'gap')) {
          // Our numbering is ahead of the server's (a stale `done`): start from its count.
          job = await info();
          next = job.done + 1;
          continue;
        }
        next += rows.length;
      }
    },
    async onDead({ jobId }, reason, _error, problem) {
      const session = await api.session(`job-${jobId}`);
      await session.post(`/api/jobs/${encodeURIComponent(jobId)}/fail`, {
        reason,
        ...(problem ? { problem } : {}),
      });
    },
  };
}
