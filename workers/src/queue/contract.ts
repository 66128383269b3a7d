import type { JobEnvelope } from '@floorsync/domain';
import { afterEach, describe, expect, it } from 'vitest';
import type { Delivery, JobQueue } from './port.js';

/**
 * What every job queue adapter must do (`port.ts`): the in-process queue, and NATS JetStream
 * on a real nats-server. `open()` gives a queue on fresh streams; `peer(q)` another worker
 * process's connection to the same queue (the in-process queue: itself).
 */
export interface QueueFixture {
  open(): Promise<JobQueue>;
  peer(q: JobQueue): Promise<JobQueue>;
}

let n = 0;
const job = (kind = 'test-job', payload: unknown = { n: ++n }): JobEnvelope => ({
  id: `job-${process.pid}-${++n}`,
  kind,
  payload,
});

async function until(check: () => boolean, what: string, ms = 8000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function queueContract(name: string, fixture: QueueFixture): void {
  describe(`job queue contract: ${name}`, () => {
    const cleanup: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const c of cleanup.splice(0).reverse()) await c();
    });
    const open = async () => {
      const q = await fixture.open();
      cleanup.push(() => q.close());
      return q;
    };
    const consume = async (
      q: JobQueue,
      handler: (d: Delivery) => Promise<void>,
      concurrency = 4,
    ) => {
      const sub = await q.consume(handler, { concurrency });
      cleanup.push(() => sub.drain());
      return sub;
    };

    it('hands an enqueued job to a worker once; acknowledged, it is gone', async () => {
      const q = await open();
      const j = job();
      await q.enqueue(j);
      const seen: Delivery[] = [];
      await consume(q, async (d) => {
        seen.push(d);
        await d.ack();
      });
      await until(() => seen.length === 1, 'the job');
      expect(seen[0]?.job).toEqual(j);
      expect(seen[0]?.attempt).toBe(1);
      await sleep(300);
      expect(seen).toHaveLength(1);
    });

    it('stores a job id once: enqueueing it again does not run it twice', async () => {
      const q = await open();
      const j = job();
      await q.enqueue(j);
      await q.enqueue(j);
      const seen: unknown[] = [];
      await consume(q, async (d) => {
        seen.push(d.job);
        await d.ack();
      });
      await until(() => seen.length >= 1, 'the job');
      await sleep(300);
      expect(seen).toHaveLength(1);
    });

    it('a nak brings the job back after the delay, as attempt 2', async () => {
      const q = await open();
      await q.enqueue(job());
      const attempts: { attempt: number; at: number }[] = [];
      await consume(q, async (d) => {
        attempts.push({ attempt: d.attempt, at: Date.now() });
        if (d.attempt === 1) d.nak(300);
        else await d.ack();
      });
      await until(() => attempts.length === 2, 'the second attempt');
      expect(attempts.map((a) => a.attempt)).toEqual([1, 2]);
      expect((attempts[1]?.at ?? 0) - (attempts[0]?.at ?? 0)).toBeGreaterThanOrEqual(250);
    });

    it('term keeps a dead letter with the reason, and the job never comes back', async () => {
      const q = await open();
      const j = job('poison-job');
      await q.enqueue(j);
      let runs = 0;
      await consume(q, async (d) => {
        runs++;
        await d.term('payload is not a bulk adjustment');
      });
      await until(() => runs === 1, 'the run');
      let letters: Awaited<ReturnType<JobQueue['deadLetters']>> = [];
      const poll = setInterval(() => void q.deadLetters().then((l) => (letters = l)), 50);
      try {
        await until(() => letters.length > 0, 'the dead letter');
      } finally {
        clearInterval(poll);
      }
      expect(letters.at(-1)).toMatchObject({
        job: j,
        reason: 'payload is not a bulk adjustment',
        attempts: 1,
      });
      await sleep(300);
      expect(runs).toBe(1);
    });

    it('runs at most `concurrency` jobs at a time', async () => {
      const q = await open();
      for (let i = 0; i < 9; i++) await q.enqueue(job());
      let now = 0;
      let max = 0;
      let done = 0;
      await consume(
        q,
        async (d) => {
          now++;
          max = Math.max(max, now);
          await sleep(60);
          now--;
          done++;
          await d.ack();
        },
        3,
      );
      await until(() => done === 9, 'all 9');
      expect(max).toBe(3);
    });

    it('a worker at its limit holds no other job: a second worker runs it meanwhile', async () => {
      const q = await open();
      const other = await fixture.peer(q);
      if (other !== q) cleanup.push(() => other.close());
      const started: { who: string; at: number }[] = [];
      const slow = (who: string) => async (d: Delivery) => {
        started.push({ who, at: Date.now() });
        await sleep(1500);
        await d.ack();
      };
      await consume(q, slow('a'), 2);
      await q.enqueue(job());
      await q.enqueue(job());
      await until(() => started.length === 2, 'a to start two jobs');
      await consume(other, slow('b'), 1);
      await sleep(300); // b is waiting for work
      await q.enqueue(job());
      await until(() => started.length === 3, 'the third job to start', 1000);
      expect(started.map((s) => s.who)).toEqual(['a', 'a', 'b']);
    });

    it('workers share the queue: each job runs once in all; a drained worker leaves the rest to the others', async () => {
      const q = await open();
      const other = await fixture.peer(q);
      if (other !== q) cleanup.push(() => other.close());
      const ids = Array.from({ length: 30 }, () => job());
      for (const j of ids) await q.enqueue(j);
      const ran: string[] = [];
      const handler = (who: string) => async (d: Delivery) => {
        await sleep(15);
        ran.push(`${(d.job as JobEnvelope).id}@${who}`);
        await d.ack();
      };
      const a = await consume(q, handler('a'), 2);
      await until(() => ran.length >= 4, 'a to start');
      await a.drain(); // finishes what it has started, takes nothing more
      const afterDrain = ran.length;
      await sleep(200);
      expect(ran.length).toBe(afterDrain);
      await consume(other, handler('b'), 2);
      await until(() => ran.length >= 30, 'the rest on b');
      await sleep(200);
      const jobIds = ran.map((r) => r.split('@')[0]);
      expect(new Set(jobIds).size).toBe(30);
      expect(jobIds).toHaveLength(30);
      expect(ran.some((r) => r.endsWith('@b'))).toBe(true);
    });
  });
}
