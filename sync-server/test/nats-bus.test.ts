import { STREAMS } from '@floorsync/domain';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll } from 'vitest';
import { busContract } from '../src/bus/contract.js';
import { natsBus } from '../src/bus/nats.js';
import { silentLogger } from '../src/log.js';
import type { NatsServer } from '../../scripts/nats-server.js';
import { startNatsServer } from '../../scripts/nats-server.js';

// The same contract against a real nats-server with JetStream; each test starts from an
// empty event stream, and `peer` is a second connection, as another instance would hold.
let nats: NatsServer;
beforeAll(async () => {
  nats = await startNatsServer();
});
afterAll(async () => {
  await nats.dispose();
});

const connectBus = (name: string) => natsBus({ url: nats.url, name, log: silentLogger });

busContract('NATS JetStream', {
  async open() {
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(STREAMS.events).catch(() => false); // a fresh stream per test
    await nc.close();
    return connectBus('contract-a');
  },
  peer: () => connectBus('contract-b'),
});
