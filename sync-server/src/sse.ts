import type { SSEStreamingApi } from 'hono/streaming';

/**
 * Connected SSE clients of this instance. A poke carries no data — only the head — so a
 * lost one costs latency, never data; clients also pull on reconnect, focus and a timer.
 */
export class SseHub {
  private readonly streams = new Set<SSEStreamingApi>();
  private closing: (() => void)[] = [];

  get size(): number {
    return this.streams.size;
  }

  add(stream: SSEStreamingApi): void {
    this.streams.add(stream);
  }

  remove(stream: SSEStreamingApi): void {
    this.streams.delete(stream);
  }

  poke(head: number): void {
    for (const s of this.streams) {
      s.writeSSE({ event: 'poke', data: JSON.stringify({ head }), id: String(head) }).catch(() =>
        this.streams.delete(s),
      );
    }
  }

  heartbeat(): void {
    for (const s of this.streams) s.write(': heartbeat\n\n').catch(() => this.streams.delete(s));
  }

  /** Resolves when the hub closes (server shutdown): keeps a stream's handler alive until then. */
  untilClosed(): Promise<void> {
    return new Promise((resolve) => this.closing.push(resolve));
  }

  close(): void {
    for (const s of this.streams) void s.close();
    this.streams.clear();
    for (const r of this.closing) r();
    this.closing = [];
  }
}
