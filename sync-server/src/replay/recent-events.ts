import { eventKey } from '@floorsync/domain';
import type { StoredEvent } from '../storage/port.js';

/** A committed event as a pull sends it: its patch operation, serialized once. */
export interface SerializedEvent {
  readonly seq: number;
  /** `{"op":"put","key":"e/…","value":{…the event…}}` */
  readonly op: string;
  readonly clientID: string;
  readonly mutationID: number;
}

/** The patch operation of an event, exactly as `JSON.stringify` of the pull answer writes it. */
export const serializeEvent = (e: StoredEvent): SerializedEvent => ({
  seq: e.seq,
  op: JSON.stringify({ op: 'put', key: eventKey(e.seq), value: e }),
  clientID: e.meta.clientID,
  mutationID: e.meta.mutationID,
});

/**
 * The newest committed events, serialized, for pulls. Every device is poked after a commit
 * and pulls the same few events, so without this each of them read the events from the store,
 * parsed their JSON and wrote it again: measured, 100 listening devices made pulls cost a
 * floor twenty times what its pushes cost.
 *
 * It knows a range of seqs `(from, to]` completely: every committed event in it is here, in
 * order. Committed events never change, so nothing is ever invalidated; a range is only ever
 * added from one consistent read of the store (`add`), and the oldest entries are dropped
 * beyond `capacity`. One process's cache; correct with any number of server instances.
 */
export class RecentEvents {
  private entries: SerializedEvent[] = [];
  private from = 0;
  private to = 0;

  constructor(private readonly capacity = 20_000) {}

  /**
   * The events with `after < seq <= upTo` (at most the first `max` of them), if all are
   * known; else null.
   */
  slice(after: number, upTo: number, max = Infinity): SerializedEvent[] | null {
    if (upTo <= after) return [];
    if (after < this.from || upTo > this.to || this.entries.length === 0) return null;
    const start = this.firstAfter(after);
    return this.entries.slice(start, Math.min(this.firstAfter(upTo), start + max));
  }

  /**
   * Tells the cache that `events` (ascending) are every committed event with
   * `after < seq <= upTo`.
   */
  add(after: number, upTo: number, events: readonly SerializedEvent[]): void {
    if (upTo <= after) return;
    if (this.entries.length === 0 || after > this.to || upTo < this.from) {
      // Nothing known yet, or apart from what is known: keep the newer of the two ranges.
      if (this.entries.length > 0 && upTo < this.from) return;
      this.entries = [...events];
      this.from = after;
      this.to = upTo;
    } else {
      // Overlapping or touching: the union is known completely.
      const older = events.filter((e) => e.seq <= this.from);
      if (older.length > 0) this.entries = [...older, ...this.entries];
      for (const e of events) if (e.seq > this.to) this.entries.push(e); // the usual case
      this.from = Math.min(this.from, after);
      this.to = Math.max(this.to, upTo);
    }
    // Trimmed in steps of a tenth, not per event: a copy of the array once in a while.
    const excess = this.entries.length - this.capacity;
    if (excess > 0) {
      const drop = Math.max(excess, Math.ceil(this.capacity / 10));
      this.from = this.entries[drop - 1]?.seq ?? this.from;
      this.entries = this.entries.slice(drop);
    }
  }

  /** Index of the first entry with seq > `seq`. */
  private firstAfter(seq: number): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.entries[mid]?.seq ?? Infinity) <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
