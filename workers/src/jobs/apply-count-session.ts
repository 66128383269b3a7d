import type { CountSession } from '@floorsync/domain';
import { applyCountMutations } from '@floorsync/domain';
import { z } from 'zod';
import type { JobHandler } from '../runner.js';
import { JobInterruptedError, PoisonJobError } from '../runner.js';
import type { SyncApi } from '../sync-api.js';

export const APPLY_COUNT_SESSION = 'apply-count-session';
/** The job's id is the session's. */
export const applyCountSessionPayload = z.object({ jobId: z.string().min(1).max(128) });

interface ApplyInfo {
  readonly sessionStatus: string;
  readonly planned: number;
  readonly status: string | null;
  /** The job client's `lastMutationID`: the last line pushed. */
  readonly done: number;
}

/**
 * Applies an approved counting session: line k is `applyCountRecord` as mutation k of the
 * job's own client (`job-<sessionId>`), pushed in batches. Each line is its own decision on
 * the server: a line the inventory rules refuse is recorded as failed (a conflict for the
 * supervisor, who retries or skips it) and the job goes on — failure is isolated per line.
 * Run again after a crash, the job continues after its client's `lastMutationID`, and
 * anything pushed twice is a `duplicate`: every line is applied exactly once. Progress is the
 * session's own counters.
 */
export function applyCountSessionJob(
  api: SyncApi,
  options: { readonly batch?: number } = {},
): JobHandler<z.infer<typeof applyCountSessionPayload>> {
  const batch = options.batch ?? 100;
  return {
    kind: APPLY_COUNT_SESSION,
    payload: applyCountSessionPayload,
    async run({ jobId }, { signal }) {
      const session = await api.session(`job-${jobId}`);
      const path = `/api/count-sessions/${encodeURIComponent(jobId)}/apply`;
      const info = () => session.get<ApplyInfo>(path);
      let now = await info();
      if (now.sessionStatus !== 'applying' && now.sessionStatus !== 'applied')
        throw new PoisonJobError(`counting session ${jobId} is ${now.sessionStatus}, not approved`);
      const plan = { id: jobId, planned: now.planned } as Pick<CountSession, 'id' | 'planned'>;
      let next = now.done + 1;
      while (next <= now.planned) {
        if (signal.aborted) throw new JobInterruptedError(`stopped before line ${next}`);
        const page = applyCountMutations(plan as CountSession, next, batch);
        const res = await session.push(page);
        if (res.results.some((r) => r.status === 'gap')) {
          // Our numbering is ahead of the server's (a stale `done`): start from its count.
          now = await info();
          next = now.done + 1;
          continue;
        }
        next += page.length;
      }
    },
    async onDead({ jobId }, reason, _error, problem) {
      const session = await api.session(`job-${jobId}`);
      await session.post(`/api/count-sessions/${encodeURIComponent(jobId)}/apply/fail`, {
        reason,
        ...(problem ? { problem } : {}),
      });
    },
  };
}
