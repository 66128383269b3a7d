import type { SSEStreamingApi } from 'hono/streaming';

/**
 * Connected SSE clients of this instance. A poke carries no data — only the head — so a
 * lost one costs latency, never data; clients also pull on reconnect, focus and a timer.
 *
 * Pokes are coalesced: a round of pokes at most once every `intervalMs`, carrying the newest
 * head. The first round after a quiet interval goes to every stream at once; commits within
 * the interval after it share the next round, sent when it ends and spread over the interval
 * in slices. A stream is never sent a head it already has or an older one (the poke at
 * connect counts). Without this, every push
 * wrote to every open stream: with 100 devices listening, a single-scan push cost 100 writes,
 * and measured throughput fell from about 4,500 to 350 pushes/s — and every device pulled
 * after each push, which costs a floor far more than its pushes do.
 */
/** A send of pokes is spread over this many slices of the interval. */
const SLICES = 10;
/**
 * At most this many streams are poked at once after a quiet interval; a floor with more
 * devices has its first round spread too. Poking 520 streams at once brought 520 pulls (and
 * as many new connections) in one turn of the event loop: pushes arriving then waited a
 * third of a second to be read (measured, `npm run bench -- load`).
 */
const BURST = 50;
/**
 * A spread send pokes at most this many streams a slice. Each poked device pulls at once, so a
 * slice is a burst of pulls the event loop serves back to back: a push arriving then waits
 * for all of them. Slices of 47 (520 streams in 11) held pushes up to 25 ms; slices of 10
 * keep that near 5 ms (measured, `npm run bench -- load`).
 */
const SLICE_MAX = 10;
/**
 * Every poked device pulls, so a round costs a pull per stream: rounds are at least this
 * many ms apart per open stream (500 devices: 500 ms), which holds an instance near 1,000
 * pulls a second however large the floor. Below 250 streams the configured interval rules.
 */
const MS_PER_STREAM = 1;

export class SseHub {
  /** Open streams, each with the newest head it was sent. */
  private readonly streams = new Map<SSEStreamingApi, number>();
  /** The streams' handlers waiting for the hub to close (each removed when its stream ends). */
  private readonly closing = new Set<() => void>();
  /** The newest head told to this hub, and the newest sent to the streams. */
  private latest = -1;
  private sent = -1;
  private sentAt = -Infinity;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Slices of a send still to go. */
  private readonly pending = new Set<ReturnType<typeof setTimeout>>();
  private closed = false;
  /** Rounds sent: each starts with another slice, so that no device is always poked last. */
  private rounds = 0;

  constructor(private readonly intervalMs = 250) {}

  /** The interval between rounds now: the configured one, longer on a large floor. */
  private get interval(): number {
    return Math.max(this.intervalMs, this.streams.size * MS_PER_STREAM);
  }

  get size(): number {
    return this.streams.size;
  }

  /** A stream opened, and was sent `head` (the poke at connect). */
  add(stream: SSEStreamingApi, head: number): void {
    this.streams.set(stream, head);
  }

  remove(stream: SSEStreamingApi): void {
    this.streams.delete(stream);
  }

  /**
   * A commit made `head` the newest seq: every stream hears of it (or of a newer head)
   * within two intervals — one to wait out, one to spread over.
   */
  poke(head: number): void {
    if (this.closed) return; // a poke published just before shutdown
    if (head > this.latest) this.latest = head;
    if (this.latest <= this.sent || this.timer !== null) return;
    const wait = this.sentAt + this.interval - performance.now();
    if (wait <= 0) this.send(false);
    else {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.send(true);
      }, wait);
      this.timer.unref();
    }
  }

  /**
   * Pokes every stream. Under load (`spread`, a send held back by the interval) the streams
   * are poked in slices across the interval: every device pulls when poked, and poking 100
   * streams at once brought 100 pulls at once, with pushes queued behind them. The first poke
   * after a quiet interval goes to all at once — up to `BURST` streams; beyond, it is spread
   * as well, its first slice at once.
   */
  private send(spread: boolean): void {
    const head = this.latest;
    this.sent = head;
    this.sentAt = performance.now();
    const streams = [...this.streams.keys()];
    const interval = this.interval;
    const slices =
      spread || streams.length > BURST
        ? Math.min(streams.length, Math.max(SLICES, Math.ceil(streams.length / SLICE_MAX)))
        : 1;
    const first = this.rounds++ % slices;
    const parts = Array.from({ length: slices }, (): SSEStreamingApi[] => []);
    streams.forEach((s, i) => parts[(i + first) % slices]?.push(s));
    for (let j = 0; j < slices; j++) {
      const part = parts[j] ?? [];
      if (j === 0) this.write(part, head);
      else {
        const t = setTimeout(
          () => {
            this.pending.delete(t);
            this.write(part, this.latest);
          },
          (j * interval) / slices,
        );
        t.unref();
        this.pending.add(t);
      }
    }
  }

  /** Pokes `streams` with `head`, except those already sent it or a newer one. */
  private write(streams: readonly SSEStreamingApi[], head: number): void {
    const data = JSON.stringify({ head });
    for (const s of streams) {
      const sent = this.streams.get(s);
      if (sent === undefined || sent >= head) continue; // gone meanwhile, or knows it
      this.streams.set(s, head);
      s.writeSSE({ event: 'poke', data, id: String(head) }).catch(() => this.streams.delete(s));
    }
  }

  heartbeat(): void {
    for (const s of this.streams.keys())
      s.write(': heartbeat\n\n').catch(() => this.streams.delete(s));
  }

  /**
   * Resolves when the hub closes (server shutdown): keeps a stream's handler alive until then.
   * `done()` when the stream ended first: the hub lets go of it (a device reconnecting all day
   * would otherwise leave one waiting handler behind for each connection).
   */
  untilClosed(): { readonly closed: Promise<void>; done(): void } {
    let resolve!: () => void;
    const closed = new Promise<void>((r) => (resolve = r));
    this.closing.add(resolve);
    return { closed, done: () => this.closing.delete(resolve) };
  }

  /** Stream handlers waiting for the hub to close (for tests). */
  get waiting(): number {
    return this.closing.size;
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    for (const t of this.pending) clearTimeout(t);
    this.pending.clear();
    for (const s of this.streams.keys()) void s.close();
    this.streams.clear();
    for (const r of this.closing) r();
    this.closing.clear();
  }
}
