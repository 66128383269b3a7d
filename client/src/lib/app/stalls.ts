/**
 * Which jobs have stalled, from what the jobs screen polls: a job waiting or running whose
 * applied count (`done`) has not moved for `afterMs`. Its queue entry may be gone — NATS lost
 * its storage, or the server running jobs in-process was restarted in a way that lost it — and
 * a supervisor may queue it again. For a job that was only slow, that is a second copy running
 * beside it (on NATS, once its two minutes of deduplication are over): each row is still
 * applied once — a copy resumes after the rows its client has applied, and rows sent twice
 * are answered "duplicate" (sync-server jobs/routes.ts, `jobMessage`).
 *
 * A waiting job is not stalled while another job moved within the interval: the queue is
 * alive and busy, and it waits its turn (queued again, it would only wait twice).
 */
export interface JobProgress {
  readonly id: string;
  readonly state: string;
  readonly done: number;
}

const ACTIVE = new Set(['queued', 'running']);

export class StallWatch {
  private readonly last = new Map<string, { state: string; done: number; since: number }>();
  constructor(private readonly afterMs = 120_000) {}

  /** Notes a poll's answer at `now` (ms); returns the ids of the jobs stalled since. */
  observe(jobs: readonly JobProgress[], now: number): Set<string> {
    const stalled = new Set<string>();
    const present = new Set<string>();
    let queueMoving = false;
    for (const j of jobs) {
      present.add(j.id);
      const before = this.last.get(j.id);
      const moved = !before || before.state !== j.state || before.done !== j.done;
      const since = moved ? now : before.since;
      this.last.set(j.id, { state: j.state, done: j.done, since });
      if (j.state === 'running' && now - since < this.afterMs) queueMoving = true;
    }
    for (const j of jobs) {
      const since = this.last.get(j.id)?.since ?? now;
      if (!ACTIVE.has(j.state) || now - since < this.afterMs) continue;
      if (j.state === 'queued' && queueMoving) continue;
      stalled.add(j.id);
    }
    for (const id of this.last.keys()) if (!present.has(id)) this.last.delete(id);
    return stalled;
  }

  /** A job queued again starts its wait afresh. */
  restarted(id: string, now: number): void {
    const before = this.last.get(id);
    if (before) this.last.set(id, { ...before, since: now });
  }
}
