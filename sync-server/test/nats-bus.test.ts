import { STREAMS } from '@floorsync/domain';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

describe('NATS with credentials', () => {
  it('signs in with the user and password in NATS_URL, and never shows them in an error', async () => {
    const secured = await startNatsServer(['--user', 'floorsync', '--pass', 's3cret-pw']);
    try {
      const bus = await natsBus({
        url: `nats://floorsync:s3cret-pw@127.0.0.1:${secured.port}`,
        name: 'auth-test',
        log: silentLogger,
      });
      const got: unknown[] = [];
      bus.subscribe('floorsync.poke', (p) => got.push(p));
      await new Promise((r) => setTimeout(r, 50));
      await bus.publish('floorsync.poke', { head: 1 });
      for (let i = 0; i < 100 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(got).toEqual([{ head: 1 }]);
      await bus.close();
      const refused = await natsBus({
        url: `nats://floorsync:wrong-pw@127.0.0.1:${secured.port}`,
        name: 'auth-test',
        log: silentLogger,
      }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(refused).toBeInstanceOf(Error);
      expect(String(refused)).toMatch(/cannot reach NATS at nats:\/\/127\.0\.0\.1:\d+/);
      expect(String(refused)).not.toMatch(/wrong-pw|floorsync:/);
    } finally {
      await secured.dispose();
    }
  });
});
