/**
 * What this device booked on production jobs while the app is open, newest first: the
 * Production screen lists a job's bookings with their sync state. Kept here, beside the
 * screen, so that going to Scan (where a refused booking's reason is) and back keeps the list;
 * a reload starts it afresh (the bookings themselves are in the outbox and the log).
 */
export interface Booking {
  /** The queued mutation's id. */
  readonly id: number;
  readonly jobId: string;
  /** Who booked it: a handheld passed on to the next shift shows them only their own. */
  readonly userId: string;
  /** What was booked, in words (`describeCommand`). */
  readonly text: string;
}

/** At most this many per job. */
const SHOWN = 20;

class Booked {
  all = $state<Booking[]>([]);

  add(b: Booking): void {
    const same = (x: Booking) => x.jobId === b.jobId && x.userId === b.userId;
    const mine = [b, ...this.all.filter(same)].slice(0, SHOWN);
    this.all = [...mine, ...this.all.filter((x) => !same(x))];
  }

  of(jobId: string, userId: string): Booking[] {
    return this.all.filter((b) => b.jobId === jobId && b.userId === userId);
  }
}

export const booked = new Booked();
