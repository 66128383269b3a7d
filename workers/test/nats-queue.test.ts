import { STREAMS } from '@floorsync/domain';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll } from 'vitest';
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
