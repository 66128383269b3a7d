import type { JobEnvelope } from '@floorsync/domain';

/**
 * The job queue: each job goes to one worker, at least once. A job's id is its message id, so
 * enqueueing the same job twice (a retried upload, a crashed submitter) stores it once. Jobs
 * must be idempotent: they act through the sync protocol with deterministic mutation ids, so a
 * redelivered job finds its work already applied.
 *
 * Adapters: `in-process.ts` (the embedded default) and `nats.ts` (a JetStream work queue
 * shared by every worker process). Both pass `contract.ts`.
 */
export interface JobQueue {
  /** Stores the job until a worker acknowledges it. */
  enqueue(job: JobEnvelope): Promise<void>;
  /**
   * Hands jobs to `handler`, at most `concurrency` at a time. The handler settles each
   * delivery exactly once: `ack` (done), `nak(delayMs)` (try again later), or `term(reason)`
   * (never again: the queue keeps a dead letter with the reason). A delivery not settled in
   * time because its worker died comes again.
   */
  consume(
    handler: (delivery: Delivery) => Promise<void>,
    options: { readonly concurrency: number },
  ): Promise<JobSubscription>;
  /** Dead letters, newest last (for operators and tests). */
  deadLetters(limit?: number): Promise<DeadLetter[]>;
  close(): Promise<void>;
}

export interface Delivery {
  /** The raw job: parse `payload` before trusting it. */
  readonly job: unknown;
  /** 1 on the first delivery, 2 on the next, … */
  readonly attempt: number;
  /** Tells the queue the job is still being worked on (long jobs). */
  working(): void;
  ack(): Promise<void>;
  nak(delayMs: number): void;
  term(reason: string): Promise<void>;
}

export interface DeadLetter {
  readonly job: unknown;
  readonly reason: string;
  readonly attempts: number;
  readonly at: string;
}

export interface JobSubscription {
  /** Takes no new jobs; resolves when the handlers in progress have finished. */
  drain(): Promise<void>;
}
