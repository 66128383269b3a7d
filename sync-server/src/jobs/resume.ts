import { jobProblem, jobProblemText } from '@floorsync/domain';
import { PRINT_LABELS } from '@floorsync/workers';
import type { JobRow, Storage } from '../storage/port.js';
import type { JobSink } from './routes.js';
import { jobMessage, jobView } from './routes.js';

/** What a print job says when the restart could not send it again. */
export const PRINT_LOST_AT_RESTART_PROBLEM = jobProblem('LOST_AT_RESTART', {});
export const PRINT_LOST_AT_RESTART = jobProblemText(PRINT_LOST_AT_RESTART_PROBLEM);

/**
 * The jobs queued or running when this process starts: read before it takes requests, so
 * that a job a device asks for meanwhile (a print while the runner starts) is not taken for
 * one the restart lost.
 */
export function unfinishedJobs(storage: Storage): Promise<JobRow[]> {
  return storage.read((tx) =>
    tx
      .queuedJobs()
      .map((j) => jobView(tx, j))
      .filter((j) => j.state === 'queued' || j.state === 'running'),
  );
}

/**
 * The embedded server's start: jobs that were queued or running when it stopped, which the
 * in-process queue forgot. A job that resumes from its client's lastMutationID (bulk
 * adjustments, count applies) is queued again. A print job cannot be: its labels travel only
 * in the queue's message. It is marked failed with a reason the device shows, instead of
 * staying "queued" forever (queued again in the shape of the others, it went straight to the
 * dead letters). Returns what it did.
 */
export async function resumeJobs(
  storage: Storage,
  queue: JobSink,
  unfinished: readonly JobRow[],
): Promise<{ readonly queued: number; readonly failed: number }> {
  const lost = unfinished.filter((j) => j.kind === PRINT_LABELS).map((j) => j.id);
  if (lost.length > 0)
    await storage.write((tx) => {
      for (const id of lost)
        if (tx.job(id)?.status === 'queued')
          tx.updateJob(id, {
            status: 'failed',
            error: PRINT_LOST_AT_RESTART,
            problem: PRINT_LOST_AT_RESTART_PROBLEM,
          });
    });
  let queued = 0;
  for (const j of unfinished)
    if (j.kind !== PRINT_LABELS) {
      await queue.enqueue(jobMessage(j));
      queued++;
    }
  return { queued, failed: lost.length };
}
