/**
 * Failed-login throttling, per username and per client address. Only failures count, and they
 * leak away (a key's free budget over `windowMs`); a success clears the username's record.
 * Beyond `free` failures of a username (`addressFree` of an address) each further attempt must
 * wait an exponentially growing delay (capped).
 *
 * An address gets a far larger budget than a username: one address is often many people (a
 * floor's handhelds behind one NAT; every client, when the server cannot see addresses), and
 * a few mistyped passwords must not lock the whole floor out. It still stops one machine from
 * spraying guesses over many usernames.
 *
 * In-memory, per server instance: behind a load balancer an attacker gets at most N × the
 * budget, which still ends online guessing.
 */
export interface ThrottleOptions {
  /** Free failures of one username. Default 5. */
  readonly free?: number;
  /** Free failures from one address (over all usernames). Default 50. */
  readonly addressFree?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** A key's free failures leak away over this time (one every `windowMs / free`). Default 15 min. */
  readonly windowMs?: number;
}

const ADDRESS = 'addr:';

/** The throttle's keys of a sign-in: the username (case-folded) first, then the address. */
export const throttleKeys = (username: string, address: string): [string, string] => [
  `user:${username.toLowerCase()}`,
  `${ADDRESS}${address}`,
];

export class LoginThrottle {
  private readonly failures = new Map<string, { count: number; last: number }>();
  private readonly free: number;
  private readonly addressFree: number;
  private readonly base: number;
  private readonly max: number;
  private readonly window: number;

  constructor(options: ThrottleOptions = {}) {
    this.free = options.free ?? 5;
    this.addressFree = options.addressFree ?? 50;
    this.base = options.baseDelayMs ?? 1000;
    this.max = options.maxDelayMs ?? 15 * 60_000;
    this.window = options.windowMs ?? 15 * 60_000;
  }

  private freeOf(key: string): number {
    return key.startsWith(ADDRESS) ? this.addressFree : this.free;
  }

  /**
   * A key's failures as of `now`: they leak away, one every `window / free` ms after the last
   * (a key's whole free budget in `window`), so a slow trickle of typos never adds up to a
   * lockout, and a spray stops counting against an address a while after it ends.
   */
  private current(key: string, now: number): { count: number; last: number } | undefined {
    const f = this.failures.get(key);
    if (!f) return undefined;
    const leaked = Math.floor(Math.max(0, now - f.last) / (this.window / this.freeOf(key)));
    if (f.count - leaked <= 0) {
      this.failures.delete(key);
      return undefined;
    }
    return { count: f.count - leaked, last: f.last };
  }

  /** Milliseconds the caller must still wait before trying any of these keys; 0 = go ahead. */
  retryAfter(keys: readonly string[], now: number): number {
    let wait = 0;
    for (const key of keys) {
      const f = this.current(key, now);
      const free = this.freeOf(key);
      if (!f || f.count < free) continue;
      const delay = Math.min(this.max, this.base * 2 ** (f.count - free));
      wait = Math.max(wait, f.last + delay - now);
    }
    return Math.max(0, wait);
  }

  fail(keys: readonly string[], now: number): void {
    for (const key of keys) {
      const count = (this.current(key, now)?.count ?? 0) + 1;
      this.failures.delete(key); // re-inserted last: the map stays in order of last failure
      this.failures.set(key, { count, last: now });
    }
    // Bounded memory under a spray: the keys that failed longest ago go first.
    if (this.failures.size > 100_000) {
      let drop = this.failures.size - 90_000;
      for (const key of this.failures.keys()) {
        if (drop-- <= 0) break;
        this.failures.delete(key);
      }
    }
  }

  succeed(key: string): void {
    this.failures.delete(key);
  }
}
