import { STREAMS, jobSubject } from '@floorsync/domain';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsServer } from '../../scripts/nats-server.js';
import { startNatsServer } from '../../scripts/nats-server.js';
import { queueContract } from '../src/queue/contract.js';
import { natsQueue } from '../src/queue/nats.js';

// The same contract on a real nats-server; each test starts from empty streams.
let nats: NatsServer;
beforeAll(async () => {
  nats = await startNatsServer();
});
afterAll(async () => {
  await nats.dispose();
});

queueContract('NATS JetStream', {
  async open() {
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    for (const s of [STREAMS.jobs, STREAMS.deadJobs])
      await jsm.streams.delete(s).catch(() => false);
    await nc.close();
    return natsQueue({ url: nats.url, name: 'worker-a' });
  },
  peer: () => natsQueue({ url: nats.url, name: 'worker-b' }),
});

describe('NATS JetStream: enqueueing while the server restarts', () => {
  it('a publish without an acknowledgement is sent again under its id: a copy stored before is kept once, run once', async () => {
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    for (const s of [STREAMS.jobs, STREAMS.deadJobs])
      await jsm.streams.delete(s).catch(() => false);
    await nc.close();
    const q = await natsQueue({ url: nats.url, name: 'worker-a' });
    const job = { id: 'job-restart-1', kind: 'test-job', payload: { n: 1 } };
    try {
      // An earlier publish of the job that the stream stored but whose ack never came back.
      const earlier = await connect({ servers: nats.url });
      const first = await jetstream(earlier).publish(jobSubject(job.kind), JSON.stringify(job), {
        msgID: job.id,
      });
      await earlier.close();
      expect(first.duplicate).toBe(false);
      // NATS goes away for a moment: the first try gets no answer (it times out after 3 s); a
      // later one, once NATS is back, is taken as the same job.
      await nats.stop();
      const tried = Date.now();
      const enqueued = q.enqueue(job);
      await new Promise((r) => setTimeout(r, 1000));
      await nats.start();
      await enqueued;
      expect(Date.now() - tried).toBeGreaterThanOrEqual(3000); // not the first try
      const check = await connect({ servers: nats.url });
      const info = await (await jetstreamManager(check)).streams.info(STREAMS.jobs);
      await check.close();
      expect(info.state.messages).toBe(1);
      const seen: unknown[] = [];
      const sub = await q.consume(
        async (d) => {
          seen.push(d.job);
          await d.ack();
        },
        { concurrency: 2 },
      );
      const end = Date.now() + 8000;
      while (seen.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 500));
      await sub.drain();
      expect(seen).toEqual([job]);
    } finally {
      await q.close();
    }
  }, 30_000);
});
