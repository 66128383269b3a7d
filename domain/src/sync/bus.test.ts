import { describe, expect, it } from 'vitest';
import { eventSubject, jobSubject, natsConnectOptions } from './bus.js';

describe('bus names', () => {
  it('NATS_URL: servers without credentials, credentials apart', () => {
    expect(natsConnectOptions('nats://127.0.0.1:4222')).toEqual({
      servers: ['nats://127.0.0.1:4222'],
    });
    expect(natsConnectOptions('nats://alice:s%40cret@nats-1:4222, nats://nats-2:4222')).toEqual({
      servers: ['nats://nats-1:4222', 'nats://nats-2:4222'],
      user: 'alice',
      pass: 's@cret',
    });
    expect(natsConnectOptions('tls://t0ken@nats.example:4222')).toEqual({
      servers: ['tls://nats.example:4222'],
      token: 't0ken',
    });
    expect(natsConnectOptions('nats-host:4222')).toEqual({ servers: ['nats-host:4222'] });
    // Raw '@' or '/' in a password: nothing of it is left in the address.
    expect(natsConnectOptions('nats://alice:p@ss@nats-1:4222')).toEqual({
      servers: ['nats://nats-1:4222'],
      user: 'alice',
      pass: 'p@ss',
    });
    expect(natsConnectOptions('nats://alice:a/b@nats-1:4222')).toEqual({
      servers: ['nats://nats-1:4222'],
      user: 'alice',
      pass: 'a/b',
    });
    // A stray '%': said, without the value.
    expect(() => natsConnectOptions('nats://alice:100%@nats-1:4222')).toThrow(/^NATS_URL: /);
    try {
      natsConnectOptions('nats://alice:100%@nats-1:4222');
    } catch (e) {
      expect(String(e)).not.toContain('100%');
    }
  });

  it('subjects take only plain tokens', () => {
    expect(eventSubject('StockReceived')).toBe('floorsync.events.StockReceived');
    expect(() => eventSubject('a.b')).toThrow();
    expect(jobSubject('bulk-adjust')).toBe('floorsync.jobs.bulk-adjust');
    expect(jobSubject('bulk-adjust', true)).toBe('floorsync.jobs-dead.bulk-adjust');
    expect(() => jobSubject('Bulk Adjust')).toThrow();
  });
});
