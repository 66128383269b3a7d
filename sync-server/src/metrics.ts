/**
 * A handful of Prometheus metrics, rendered in the text exposition format at `/metrics`.
 * Kept dependency-free: counters, gauges and one latency histogram.
 */
const BUCKETS_MS = [1, 2, 5, 10, 20, 50, 100, 250, 500, 1000, 2500, 5000];

export class Metrics {
  private readonly counters = new Map<string, number>();
  private readonly gauges = new Map<string, () => number>();
  private readonly hist = new Map<string, { buckets: number[]; sum: number; count: number }>();

  inc(name: string, labels: Record<string, string> = {}, by = 1): void {
    const key = series(name, labels);
    this.counters.set(key, (this.counters.get(key) ?? 0) + by);
  }
  gauge(name: string, read: () => number): void {
    this.gauges.set(name, read);
  }
  observeMs(name: string, ms: number): void {
    let h = this.hist.get(name);
    if (!h) this.hist.set(name, (h = { buckets: BUCKETS_MS.map(() => 0), sum: 0, count: 0 }));
    BUCKETS_MS.forEach((b, i) => {
      if (ms <= b) h.buckets[i] = (h.buckets[i] ?? 0) + 1;
    });
    h.sum += ms;
    h.count++;
  }
  render(extra: Record<string, number> = {}): string {
    const lines: string[] = [];
    for (const [k, v] of this.counters) lines.push(`${k} ${v}`);
    for (const [k, read] of this.gauges) lines.push(`${k} ${read()}`);
    for (const [k, v] of Object.entries(extra)) lines.push(`${k} ${v}`);
    for (const [name, h] of this.hist) {
      BUCKETS_MS.forEach((b, i) => lines.push(`${name}_bucket{le="${b / 1000}"} ${h.buckets[i]}`));
      lines.push(
        `${name}_bucket{le="+Inf"} ${h.count}`,
        `${name}_sum ${h.sum / 1000}`,
        `${name}_count ${h.count}`,
      );
    }
    return lines.join('\n') + '\n';
  }
}

const series = (name: string, labels: Record<string, string>) => {
  const l = Object.entries(labels);
  return l.length === 0 ? name : `${name}{${l.map(([k, v]) => `${k}="${v}"`).join(',')}}`;
};
