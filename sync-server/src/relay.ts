import type { Bus, BusEvent } from './bus/port.js';
import type { Logger } from './log.js';
import type { Storage } from './storage/port.js';

/**
 * The outbox relay: copies the committed log to the bus's event stream, in seq order, each
 * event under its own id (the stream drops an id it has seen, so re-sending is harmless).
 *
 * - It reads the log, not the push path: an event reaches the stream even if the process
 *   that committed it died right after, or NATS was down when it committed.
 * - It sends only what is durable (`storage.durable()` first): the stream never holds an
 *   event a power cut could take out of the log.
 * - How far it got is kept in the store (`progress('relay')`), saved at most every
 *   `saveEveryMs` and when it catches up; after a crash it re-sends at most that much, which
 *   the stream's two-minute deduplication drops.
 * - When the bus fails (NATS down), it retries the same events with a growing pause (up to
 *   `maxBackoffMs`) and catches up when the bus is back, without losing or doubling any.
 * - With several server processes on one store, one of them relays: it holds a lease in the
 *   store (`acquireLease('relay')`), renewed as it works; another takes over when it lapses.
 */
export interface RelayOptions {
  readonly storage: Storage;
  readonly bus: Bus;
  readonly log: Logger;
  /** Wall-clock ms, for the lease. */
  readonly now: () => number;
  /** This process, as the lease names it. */
  readonly holder: string;
  /** Events per read and per append. Default 1000. */
  readonly batch?: number;
  /** Look for new events at least this often when not woken. Default 1000. */
  readonly idleMs?: number;
  readonly saveEveryMs?: number;
  readonly maxBackoffMs?: number;
  /** Lease lifetime. Default 15 s (renewed every third of it). */
  readonly leaseMs?: number;
}

export interface RelayStatus {
  /** Holds the lease: this process is the one relaying. */
  readonly leader: boolean;
  /** The newest seq in the stream (as far as this process knows). */
  readonly relayedTo: number;
  readonly failing: boolean;
  readonly published: number;
}

export const RELAY = 'relay';

export class OutboxRelay {
  private running = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private woken = false;
  private cursor = 0;
  private leader = false;
  private failing = false;
  private published = 0;
  private readonly batch: number;
  private readonly idleMs: number;
  private readonly saveEveryMs: number;
  private readonly maxBackoffMs: number;
  private readonly leaseMs: number;

  constructor(private readonly o: RelayOptions) {
    this.batch = o.batch ?? 1000;
    this.idleMs = o.idleMs ?? 1000;
    this.saveEveryMs = o.saveEveryMs ?? 1000;
    this.maxBackoffMs = o.maxBackoffMs ?? 5000;
    this.leaseMs = o.leaseMs ?? 15_000;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run().catch((error: unknown) => {
      this.o.log.log('error', 'relay stopped', { error: String(error) });
    });
  }

  /** Something was committed: look now rather than at the next idle tick. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  status(): RelayStatus {
    return {
      leader: this.leader,
      relayedTo: this.cursor,
      failing: this.failing,
      published: this.published,
    };
  }

  /** Finishes the append in progress, saves how far it got, and lets the lease go. */
  async stop(): Promise<void> {
    this.running = false;
    this.wakeUp?.();
    await this.loop;
  }

  private pause(ms: number): Promise<void> {
    if (this.woken || !this.running) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.wakeUp = null;
        resolve();
      };
      const timer = setTimeout(finish, ms);
      timer.unref();
      this.wakeUp = () => {
        this.woken = false;
        finish();
      };
    });
  }

  private async run(): Promise<void> {
    const { storage, bus, log } = this.o;
    let leaseAt = -Infinity;
    let savedAt = -Infinity;
    let saved = 0;
    let backoff = 0;
    /** Look at the stream's end before sending (at start, after a failure). */
    let resync = true;
    const save = async () => {
      if (saved === this.cursor) return;
      const to = this.cursor;
      // Never backwards: a process that lost the lease mid-append may still save.
      await storage.write((tx) => tx.setProgress(RELAY, Math.max(tx.progress(RELAY), to)));
      saved = to;
      savedAt = performance.now();
    };

    while (this.running) {
      try {
        if (performance.now() - leaseAt >= this.leaseMs / 3) {
          const had = this.leader;
          this.leader = await storage.write((tx) =>
            tx.acquireLease(RELAY, this.o.holder, this.o.now(), this.leaseMs),
          );
          leaseAt = performance.now();
          if (this.leader && !had) {
            // (Re)gained: another process may have relayed meanwhile.
            this.cursor = saved = await storage.read((tx) => tx.progress(RELAY));
            resync = true;
            log.log('info', 'relaying the log to the bus', { from: this.cursor });
          }
        }
        if (!this.leader) {
          await this.pause(this.leaseMs / 3);
          continue;
        }
        if (resync) {
          // Go on after what the stream already holds: what was stored before a crash or an
          // outage (its acknowledgement lost) is not sent again, even past the stream's
          // two-minute deduplication window. Never beyond the log's own head.
          // Only when the stream's last event is this log's event at that seq: a stream left
          // from another database (a restore, a reset) says nothing about this log.
          const stored = await bus.lastEvent();
          if (stored && stored.seq > this.cursor) {
            const mine = await storage.read((tx) => tx.eventsAfter(stored.seq - 1, 1)[0]);
            if (mine?.seq === stored.seq && mine.id === stored.id) this.cursor = stored.seq;
            else
              log.log(
                'warn',
                'the event stream holds events this log does not: was the database restored? (deploy/nats/README.md)',
                { stream: stored.seq, relayedTo: this.cursor },
              );
          }
          resync = false;
        }

        const events = await storage.read((tx) => tx.eventsAfter(this.cursor, this.batch));
        if (events.length === 0) {
          await save();
          await this.pause(this.idleMs);
          continue;
        }
        await storage.durable();
        const out: BusEvent[] = events.map((e) => ({
          seq: e.seq,
          id: e.id,
          type: e.type,
          json: JSON.stringify(e),
        }));
        await bus.appendEvents(out);
        this.cursor = out[out.length - 1]?.seq ?? this.cursor;
        this.published += out.length;
        if (this.failing) log.log('info', 'relay recovered', { relayedTo: this.cursor });
        this.failing = false;
        backoff = 0;
        if (events.length < this.batch || performance.now() - savedAt >= this.saveEveryMs)
          await save();
      } catch (error) {
        if (!this.failing)
          log.log('warn', 'relay failed (bus or store unavailable); retrying', {
            relayedTo: this.cursor,
            error: error instanceof Error ? error.message : String(error),
          });
        this.failing = true;
        resync = true;
        backoff = Math.min(this.maxBackoffMs, backoff === 0 ? 100 : backoff * 2);
        this.woken = false;
        await this.pause(backoff);
      }
    }
    await save().catch(() => undefined);
    // Hand the lease on at once (it lapses now), rather than leave a gap of `leaseMs`.
    if (this.leader)
      await storage
        .write((tx) => tx.acquireLease(RELAY, this.o.holder, this.o.now(), 0))
        .catch(() => undefined);
    this.leader = false;
  }
}
