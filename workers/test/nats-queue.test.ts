import { STREAMS } from '@floorsync/domain';
import { jetstreamManager } from '@nats-io/jetstream';
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
  it('a publish whose acknowledgement was lost is sent again under its id: stored and run once', async () => {
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    for (const s of [STREAMS.jobs, STREAMS.deadJobs])
      await jsm.streams.delete(s).catch(() => false);
    await nc.close();
    const q = await natsQueue({ url: nats.url, name: 'worker-a' });
    try {
      await nats.stop();
      // The first publish waits in the client's buffer and times out (3 s); the server is back
      // before the second, which the stream takes as the same job.
      const enqueued = q.enqueue({ id: 'job-restart-1', kind: 'test-job', payload: { n: 1 } });
      await new Promise((r) => setTimeout(r, 3500));
      await nats.start();
      await enqueued;
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
      expect(seen).toEqual([{ id: 'job-restart-1', kind: 'test-job', payload: { n: 1 } }]);
    } finally {
      await q.close();
    }
  }, 30_000);
});
