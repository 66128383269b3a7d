import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { inProcessQueue } from './queue/in-process.js';
import type { JobQueue } from './queue/port.js';
import type { JobHandler, RunnerEvent } from './runner.js';
import {
  JobInterruptedError,
  PoisonJobError,
  ServerUnreachableError,
  backoffMs,
  startRunner,
} from './runner.js';

async function until(check: () => boolean, what: string, ms = 5000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const handler = (
  run: (p: { n: number }, attempt: number, signal: AbortSignal) => Promise<void>,
): JobHandler<{ n: number }> => ({
  kind: 'count',
  payload: z.object({ n: z.number().int() }),
  run: (p, ctx) => run(p, ctx.attempt, ctx.signal),
});

async function setup(h: JobHandler<{ n: number }>, options: { maxAttempts?: number } = {}) {
  const queue = inProcessQueue();
  const events: RunnerEvent[] = [];
  const runner = await startRunner({
    queue,
    handlers: [h],
    baseBackoffMs: 10,
    maxBackoffMs: 40,
    onEvent: (e) => events.push(e),
    ...options,
  });
  return { queue, events, runner };
}

describe('job runner', () => {
  it('runs a job by its kind and acknowledges it after the handler succeeded', async () => {
    const seen: number[] = [];
    const { queue, events, runner } = await setup(
      handler(async (p) => {
        await sleep(5);
        seen.push(p.n);
      }),
    );
    await queue.enqueue({ id: 'j1', kind: 'count', payload: { n: 7 } });
    await until(() => events.length === 1, 'done');
    expect(seen).toEqual([7]);
    expect(events[0]).toMatchObject({ type: 'done', job: { id: 'j1' } });
    await runner.drain();
  });

  it('dead-letters what it cannot run: no envelope, an unknown kind, a payload its schema refuses', async () => {
    let runs = 0;
    const { queue, runner } = await setup(
      handler(() => {
        runs++;
        return Promise.resolve();
      }),
    );
    await queue.enqueue({ id: 'j1', kind: 'count', payload: { n: 'seven' } });
    await queue.enqueue({ id: 'j2', kind: 'print-label', payload: {} });
    await until(() => runs === 0 && true, 'nothing');
    let letters: Awaited<ReturnType<JobQueue['deadLetters']>> = [];
    await until(() => {
      void queue.deadLetters().then((l) => (letters = l));
      return letters.length === 2;
    }, 'two dead letters');
    expect(letters.map((l) => l.reason)).toEqual([
      expect.stringMatching(/^invalid count payload/),
      'no worker knows the job kind "print-label"',
    ]);
    expect(runs).toBe(0);
    await runner.drain();
  });

  it('a PoisonJobError is never retried; the handler hears why it was given up', async () => {
    let runs = 0;
    const told: string[] = [];
    const { queue, events, runner } = await setup({
      ...handler(() => {
        runs++;
        return Promise.reject(new PoisonJobError('row 3: unknown item code X'));
      }),
      onDead: (p, reason, _error, problem) => {
        told.push(`${p.n}: ${reason}`);
        expect(problem).toBeNull(); // poison: its own words are the reason
        return Promise.resolve();
      },
    });
    await queue.enqueue({ id: 'j1', kind: 'count', payload: { n: 1 } });
    await until(() => events.some((e) => e.type === 'dead'), 'the dead letter');
    await sleep(100);
    expect(runs).toBe(1);
    expect((await queue.deadLetters())[0]).toMatchObject({ reason: 'row 3: unknown item code X' });
    expect(told).toEqual(['1: row 3: unknown item code X']);
    await runner.drain();
  });

  it('a sync server that cannot be reached uses up no attempts: the job waits for it, then runs', async () => {
    let runs = 0;
    const { queue, events, runner } = await setup(
      handler(() =>
        ++runs <= 6
          ? Promise.reject(new ServerUnreachableError('the sync server did not answer'))
          : Promise.resolve(),
      ),
      { maxAttempts: 3 },
    );
    await queue.enqueue({ id: 'j1', kind: 'count', payload: { n: 1 } });
    await until(() => events.some((e) => e.type === 'done'), 'done after the outage');
    expect(runs).toBe(7); // twice maxAttempts, and not given up
    expect(events.filter((e) => e.type === 'dead')).toEqual([]);
    expect(await queue.deadLetters()).toEqual([]);
    // Waiting, it is retried at most every maxBackoffMs (40 ms here).
    expect(
      events.filter((e) => e.type === 'retry').map((e) => e.type === 'retry' && e.delayMs),
    ).toEqual([10, 20, 40, 40, 40, 40]);
    await runner.drain();
  });

  it('retries a failing job with growing delays, then dead-letters it after maxAttempts', async () => {
    const at: number[] = [];
    const told: string[] = [];
    const problems: unknown[] = [];
    const { queue, events, runner } = await setup(
      {
        ...handler(() => {
          at.push(performance.now());
          return Promise.reject(new Error('sync server unavailable'));
        }),
        // A failing onDead does not keep the dead letter from being written.
        onDead: (_p, reason, _error, problem) => {
          told.push(reason);
          problems.push(problem);
          return Promise.reject(new Error('the server is still down'));
        },
      },
      { maxAttempts: 4 },
    );
    await queue.enqueue({ id: 'j1', kind: 'count', payload: { n: 1 } });
    await until(() => events.some((e) => e.type === 'dead'), 'giving up');
    expect(at).toHaveLength(4);
    expect(
      events.filter((e) => e.type === 'retry').map((e) => e.type === 'retry' && e.delayMs),
    ).toEqual([10, 20, 40]);
    expect((await queue.deadLetters())[0]?.reason).toBe(
      'gave up after 4 attempts; last error: sync server unavailable',
    );
    expect(told).toEqual(['gave up after 4 attempts; last error: sync server unavailable']);
    // …and as a code and values, for the asker to say in its user's language.
    expect(problems).toEqual([
      { code: 'GAVE_UP', values: { attempts: 4, detail: 'sync server unavailable' } },
    ]);
    expect(backoffMs(10, 1000, 60_000)).toBe(60_000);
    await runner.drain();
  });

  it('a job that succeeds on a retry is done once', async () => {
    let runs = 0;
    const { queue, events, runner } = await setup(
      handler(() => (++runs < 3 ? Promise.reject(new Error('flaky')) : Promise.resolve())),
    );
    await queue.enqueue({ id: 'j1', kind: 'count', payload: { n: 1 } });
    await until(() => events.some((e) => e.type === 'done'), 'done');
    expect(runs).toBe(3);
    expect(await queue.deadLetters()).toEqual([]);
    await runner.drain();
  });

  it('reports working() while a long job runs', async () => {
    const queue = inProcessQueue();
    let working = 0;
    const counting: JobQueue = {
      ...queue,
      consume: (h, opts) =>
        queue.consume(
          (d) =>
            h({
              ...d,
              job: d.job,
              attempt: d.attempt,
              working: () => void working++,
              ack: () => d.ack(),
              nak: (ms) => d.nak(ms),
              term: (r) => d.term(r),
            }),
          opts,
        ),
    };
    const events: RunnerEvent[] = [];
    const runner = await startRunner({
      queue: counting,
      // The job ends only once the runner has said "working" 4 times while it ran: no timing
      // to race on a loaded machine (a 120 ms job saw 3 heartbeats of 20 ms in a busy CI run).
      handlers: [handler(() => until(() => working >= 4, 'heartbeats while the job runs', 20_000))],
      heartbeatMs: 20,
      onEvent: (e) => events.push(e),
    });
    await queue.enqueue({ id: 'j1', kind: 'count', payload: { n: 1 } });
    await until(() => events.length === 1, 'done', 25_000);
    expect(events[0]?.type).toBe('done');
    expect(working).toBeGreaterThanOrEqual(4);
    await runner.drain();
  });

  it('drain: running jobs are asked to stop at a checkpoint and handed back; another worker finishes them', async () => {
    const done: number[] = [];
    const queue = inProcessQueue();
    const longJob = handler(async (p, _attempt, signal) => {
      for (let step = 0; step < 50; step++) {
        if (signal.aborted) throw new JobInterruptedError('draining');
        await sleep(10);
      }
      done.push(p.n);
    });
    const events: RunnerEvent[] = [];
    const first = await startRunner({
      queue,
      handlers: [longJob],
      drainTimeoutMs: 30,
      onEvent: (e) => events.push(e),
    });
    await queue.enqueue({ id: 'j1', kind: 'count', payload: { n: 1 } });
    await sleep(50);
    await first.drain();
    expect(events.map((e) => e.type)).toEqual(['interrupted']);
    expect(done).toEqual([]);
    const second = await startRunner({ queue, handlers: [longJob] });
    await until(() => done.length === 1, 'the second worker to finish it', 3000);
    await second.drain();
  });
});
