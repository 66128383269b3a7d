import type { JobEnvelope, JobProblem } from '@floorsync/domain';
import { JobEnvelope as JobEnvelopeSchema, jobProblem, jobProblemText } from '@floorsync/domain';
import type { z } from 'zod';
import type { Delivery, JobQueue, JobSubscription } from './queue/port.js';

/**
 * The job runner: takes jobs from the queue, at most `concurrency` at a time, runs the handler
 * registered for their kind, and settles each delivery:
 *
 * - success → ack (only now: the job's effects were committed by the sync server);
 * - `PoisonJobError`, an unknown kind or a payload its schema refuses → term, with a dead
 *   letter saying why (running it again cannot help);
 * - any other error → nak with exponential backoff (1 s, 2 s, 4 s … at most `maxBackoffMs`),
 *   and a dead letter once `maxAttempts` deliveries have failed — except a
 *   `ServerUnreachableError` (the sync server down or restarting): the job waits for it,
 *   retried at most every `maxBackoffMs`, however long that takes, and is never given up for it;
 * - a long job reports `working()` every `heartbeatMs`, so the queue does not hand it to
 *   another worker meanwhile;
 * - `drain()` takes no new jobs, asks running ones to stop at their next checkpoint
 *   (`signal`) after `drainTimeoutMs`, and naks them at once so another worker resumes them.
 */
export interface JobContext {
  readonly jobId: string;
  /** 1 on the first delivery. */
  readonly attempt: number;
  /** Aborted when the worker is draining: stop at the next checkpoint (throw `signal.reason`). */
  readonly signal: AbortSignal;
}

export interface JobHandler<P = unknown> {
  readonly kind: string;
  readonly payload: z.ZodType<P>;
  run(payload: P, context: JobContext): Promise<void>;
  /**
   * The job is given up on (poison, or out of attempts): tell whoever follows it, e.g. mark
   * it failed with the reason so a supervisor sees why. Best effort: the dead letter is kept
   * whatever this does. `error` is what the last attempt threw (for a handler that says more
   * than the reason's words: a problem code its asker shows in the user's language);
   * `problem`, the reason as a code and values when the runner gave up after its attempts
   * (`GAVE_UP`), null when the job was poison.
   */
  onDead?(payload: P, reason: string, error: unknown, problem: JobProblem | null): Promise<void>;
}

/** Running the job again cannot succeed (bad data, a refused precondition). */
export class PoisonJobError extends Error {
  override readonly name = 'PoisonJobError';
}

/**
 * The sync server could not be reached, or answered that it cannot serve now (no answer, a
 * proxy's page, 502/503/504): nothing the job did wrong, and no reason to give it up.
 */
export class ServerUnreachableError extends Error {
  override readonly name = 'ServerUnreachableError';
}

/** The worker is draining: the job stopped at a checkpoint and is handed back. */
export class JobInterruptedError extends Error {
  override readonly name = 'JobInterruptedError';
}

export interface RunnerOptions {
  readonly queue: JobQueue;
  readonly handlers: readonly JobHandler<unknown>[];
  readonly concurrency?: number;
  readonly maxAttempts?: number;
  /** The first retry's delay; doubled for each attempt after. Default 1000. */
  readonly baseBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly heartbeatMs?: number;
  readonly drainTimeoutMs?: number;
  readonly onEvent?: (e: RunnerEvent) => void;
}

export type RunnerEvent =
  | { readonly type: 'done'; readonly job: JobEnvelope; readonly ms: number }
  | {
      readonly type: 'retry';
      readonly job: JobEnvelope;
      readonly attempt: number;
      readonly error: string;
      readonly delayMs: number;
    }
  | {
      readonly type: 'dead';
      readonly job: unknown;
      readonly jobId: string | null;
      readonly reason: string;
    }
  | { readonly type: 'interrupted'; readonly job: JobEnvelope };

export interface Runner {
  drain(): Promise<void>;
}

export const backoffMs = (attempt: number, base: number, max: number): number =>
  Math.min(max, base * 2 ** Math.max(0, attempt - 1));

export async function startRunner(o: RunnerOptions): Promise<Runner> {
  const byKind = new Map(o.handlers.map((h) => [h.kind, h]));
  const maxAttempts = o.maxAttempts ?? 8;
  const maxBackoffMs = o.maxBackoffMs ?? 60_000;
  const heartbeatMs = o.heartbeatMs ?? 3000;
  const drainTimeoutMs = o.drainTimeoutMs ?? 20_000;
  const stop = new AbortController();
  const emit = (e: RunnerEvent) => o.onEvent?.(e);

  const dead = async (d: Delivery, reason: string) => {
    await d.term(reason);
    const id = (d.job as { id?: unknown } | null)?.id;
    emit({ type: 'dead', job: d.job, jobId: typeof id === 'string' ? id : null, reason });
  };

  const handle = async (d: Delivery): Promise<void> => {
    const envelope = JobEnvelopeSchema.safeParse(d.job);
    if (!envelope.success) return dead(d, `not a job envelope: ${envelope.error.message}`);
    const job = envelope.data;
    const handler = byKind.get(job.kind);
    if (!handler) return dead(d, `no worker knows the job kind "${job.kind}"`);
    const payload = handler.payload.safeParse(job.payload);
    if (!payload.success) return dead(d, `invalid ${job.kind} payload: ${payload.error.message}`);
    const heartbeat = setInterval(() => d.working(), heartbeatMs);
    const t0 = performance.now();
    try {
      await handler.run(payload.data, { jobId: job.id, attempt: d.attempt, signal: stop.signal });
      await d.ack();
      emit({ type: 'done', job, ms: performance.now() - t0 });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (error instanceof PoisonJobError) {
        await handler.onDead?.(payload.data, message, error, null).catch(() => undefined);
        return dead(d, message);
      }
      if (error instanceof JobInterruptedError || stop.signal.aborted) {
        d.nak(0);
        emit({ type: 'interrupted', job });
        return;
      }
      if (d.attempt >= maxAttempts && !(error instanceof ServerUnreachableError)) {
        // The error's words bounded: the asker keeps 1,000 characters of a reason.
        const problem = jobProblem('GAVE_UP', {
          attempts: d.attempt,
          detail: message.length > 900 ? `${message.slice(0, 899)}…` : message,
        });
        const reason = jobProblemText(problem);
        await handler.onDead?.(payload.data, reason, error, problem).catch(() => undefined);
        return dead(d, reason);
      }
      const delayMs = backoffMs(d.attempt, o.baseBackoffMs ?? 1000, maxBackoffMs);
      d.nak(delayMs);
      emit({ type: 'retry', job, attempt: d.attempt, error: message, delayMs });
    } finally {
      clearInterval(heartbeat);
    }
  };

  const sub: JobSubscription = await o.queue.consume(handle, {
    concurrency: o.concurrency ?? 4,
  });
  return {
    async drain() {
      const timer = setTimeout(
        () => stop.abort(new JobInterruptedError('the worker is shutting down')),
        drainTimeoutMs,
      );
      try {
        await sub.drain();
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
