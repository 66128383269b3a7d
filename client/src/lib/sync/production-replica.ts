import type {
  GenealogyChangeView,
  InventoryView,
  JobId,
  ProductionJob,
  ReplayProductionView,
} from '@floorsync/domain';
import { genealogyChangesOf, isProductionEvent, jobKey } from '@floorsync/domain';

/**
 * Production jobs on the device: the live ones (created, running) as the server's snapshot
 * entries have them (`s/job/<id>`), folded forward from pulled production events with the
 * domain's own `genealogyChangesOf`, so a consumption or a production scanned offline is
 * decided with the server's rules (the job must be running, the product must match). A completed
 * job leaves the device, as it leaves the snapshot. The genealogy graph itself stays on the
 * server: the device decides no assembly (those commands are queued and decided there).
 */
export type JobsState = ReadonlyMap<JobId, ProductionJob>;

export const isJobEntryKey = (key: string): boolean => key.startsWith('s/job/');
const isLive = (j: ProductionJob) => j.status === 'created' || j.status === 'running';

/** The live jobs in these snapshot entries (tombstones skipped). */
export function jobsFromEntries(entries: Iterable<readonly [string, unknown]>): JobsState {
  const out = new Map<JobId, ProductionJob>();
  for (const [key, value] of entries) {
    if (!isJobEntryKey(key) || value === null || value === undefined) continue;
    const job = value as ProductionJob;
    if (isLive(job)) out.set(job.id, job);
  }
  return out;
}

/** The jobs with snapshot entries applied (`null`: gone); `entries` is emptied. */
export function withJobEntries(jobs: JobsState, entries: Map<string, unknown>): JobsState {
  if (entries.size === 0) return jobs;
  const next = new Map(jobs);
  for (const [key, value] of entries) {
    const job = value as ProductionJob | null;
    if (job && isLive(job)) next.set(job.id, job);
    else next.delete(decodeURIComponent(key.slice('s/job/'.length)) as JobId);
  }
  entries.clear();
  return next;
}

/**
 * The production view the replay reads: these jobs, and no links nor traces (see above). A
 * reversal decided on the device names no job; the server's names it (`producedBy`).
 */
export function productionViewOfJobs(jobs: JobsState): ReplayProductionView {
  return {
    productionJob: (id) => jobs.get(id),
    productionJobByCode: (code) => {
      for (const j of jobs.values()) if (j.code === code) return j;
      return undefined;
    },
    linksFrom: () => [],
    linksTo: () => [],
    trace: () => undefined,
  };
}

/**
 * Whether an event can change a job: a production event, or the reversal of a job's
 * production (it names the job: `producedBy`). Checked first, so the rest of a pull costs the
 * jobs nothing.
 */
export function changesJobs(event: { readonly type: string; readonly data: unknown }): boolean {
  if (isProductionEvent(event)) return true;
  return (
    event.type === 'MovementReversed' &&
    (event.data as { readonly producedBy?: unknown }).producedBy !== undefined
  );
}

/**
 * Folds one event (pulled, or the device's own pending one): the jobs afterwards and the
 * snapshot entries it changed (`null`: gone). Only events that `changesJobs` change jobs here.
 */
export function foldJobEvent(
  jobs: JobsState,
  event: { readonly id: string; readonly type: string; readonly data: unknown },
  inventory: Pick<InventoryView, 'position' | 'children' | 'linesAt'>,
): { readonly jobs: JobsState; readonly touched: ReadonlyMap<string, unknown> } {
  if (!changesJobs(event)) return { jobs, touched: new Map() };
  const view: GenealogyChangeView = {
    ...productionViewOfJobs(jobs),
    link: () => undefined,
    position: (id) => inventory.position(id),
    children: (id) => inventory.children(id),
    linesAt: (id) => inventory.linesAt(id),
  };
  const touched = new Map<string, unknown>();
  let next: Map<JobId, ProductionJob> | null = null;
  for (const c of genealogyChangesOf(view, event)) {
    if (c.op !== 'putJob') continue;
    next ??= new Map(jobs);
    if (isLive(c.job)) {
      next.set(c.job.id, c.job);
      touched.set(jobKey(c.job.id), c.job);
    } else {
      next.delete(c.job.id);
      touched.set(jobKey(c.job.id), null);
    }
  }
  return { jobs: next ?? jobs, touched };
}
