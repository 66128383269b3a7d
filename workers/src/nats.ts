import { natsConnectOptions } from '@floorsync/domain';
import type { ConsumerConfig, JetStreamManager, StreamConfig } from '@nats-io/jetstream';
import { JetStreamApiCodes, JetStreamApiError, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { connect } from '@nats-io/transport-node';

/** Milliseconds as JetStream writes durations (nanoseconds). */
export const ns = (ms: number): number => ms * 1_000_000;

/**
 * Connecting to NATS and setting up JetStream, once for every Floorsync process (sync
 * servers' bus and job queue, workers): credentials from the URL, reconnects for ever after
 * the first connection, a clear error (without credentials) when NATS is not there at start.
 */
export async function connectNats(
  url: string,
  name: string,
  onStatus?: (s: { type: string; server?: string }) => void,
): Promise<{ nc: NatsConnection; jsm: JetStreamManager }> {
  const options = natsConnectOptions(url);
  let nc: NatsConnection;
  try {
    nc = await connect({
      ...options,
      name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      timeout: 5000,
    });
  } catch (error) {
    throw new Error(
      `cannot reach NATS at ${options.servers.join(',')}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  if (onStatus)
    void (async () => {
      for await (const s of nc.status()) onStatus(s);
    })();
  return { nc, jsm: await jetstreamManager(nc) };
}

/** Creates the stream, or (another process, an earlier version) brings its settings up to date. */
export async function ensureStream(
  jsm: JetStreamManager,
  config: Partial<StreamConfig> & { name: string },
): Promise<void> {
  const existing = await jsm.streams
    .info(config.name)
    .catch(absentWhen(JetStreamApiCodes.StreamNotFound));
  if (existing) await jsm.streams.update(config.name, config);
  else await jsm.streams.add(config);
}

/** Creates the durable consumer, or brings its settings up to date. */
export async function ensureConsumer(
  jsm: JetStreamManager,
  stream: string,
  config: Partial<ConsumerConfig> & { durable_name: string },
): Promise<void> {
  const known = await jsm.consumers
    .info(stream, config.durable_name)
    .catch(absentWhen(JetStreamApiCodes.ConsumerNotFound));
  if (known) await jsm.consumers.update(stream, config.durable_name, config);
  else await jsm.consumers.add(stream, config);
}

/** "Not found" means absent; any other failure (a timeout, a permission) is reported as is. */
const absentWhen =
  (code: number) =>
  (error: unknown): null => {
    if (error instanceof JetStreamApiError && error.code === code) return null;
    throw error;
  };
