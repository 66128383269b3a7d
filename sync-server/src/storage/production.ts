import type { ProductionJob } from '@floorsync/domain';

/**
 * Is the job a snapshot entry (`s/job/<id>`, the `ProductionJob` record)? Created and running
 * jobs are: a device decides `consumeForJob`/`produceForJob` against them offline. A completed
 * job is history (read over the API): a tombstone from the seq it was completed, so a year of
 * completed jobs never reaches a new device's snapshot.
 */
export const isLiveJob = (job: Pick<ProductionJob, 'status'>): boolean =>
  job.status === 'created' || job.status === 'running';
