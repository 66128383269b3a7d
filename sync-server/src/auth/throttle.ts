/**
 * Failed-login throttling, per username from one address, per username, and per client
 * address. Only failures count, and they leak away (a key's free budget over `windowMs`); a
 * success clears the username's records. Beyond `free` failures of a username from one address
 * (`userFree` of a username from anywhere, `addressFree` of an address) each further attempt
 * must wait an exponentially growing delay (capped).
 *
 * The strict budget is per username *and* address: someone guessing from one machine cannot
 * lock the admin (or the workers' fixed `worker` account) out everywhere with a wrong guess
 * every few minutes. A username still has a budget over all addresses, larger, so guessing
 * from many machines is throttled too.
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
  /** Free failures of one username from one address. Default 5. */
  readonly free?: number;
  /** Free failures of one username from all addresses. Default 30. */
  readonly userFree?: number;
  /** Free failures from one address (over all usernames). Default 50. */
  readonly addressFree?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** A key's free failures leak away over this time (one every `windowMs / free`). Default 15 min. */
  readonly windowMs?: number;
  /** Sign-ins of one username checked at once (the rest wait their turn). Default 2. */
  readonly inFlight?: number;
  /** Sign-ins from one address checked at once. Default 8. */
  readonly addressInFlight?: number;
  /** Sign-ins that may wait for one key; beyond, `enter` refuses. Default 1000. */
  readonly maxWaiting?: number;
}

/** Too many sign-ins are waiting for one key: answer 429 at once. */
export class ThrottleBusyError extends Error {}

const ADDRESS = 'addr:';
const USER = 'user:';

/**
 * The throttle's keys of a sign-in, in the order turns are taken: the username (case-folded)
 * from this address, the address, the username. The username's turns come last: a machine
 * sending a thousand sign-ins of `admin` at once waits in its own queues (refused at once
 * past `maxWaiting`) and holds at most two of the username's turns, so others still get in.
 */
export const throttleKeys = (username: string, address: string): [string, string, string] => [
  `pair:${username.toLowerCase()}@${address}`,
  `${ADDRESS}${address}`,
  `${USER}${username.toLowerCase()}`,
];

export class LoginThrottle {
  private readonly failures = new Map<string, { count: number; last: number }>();
  private readonly free: number;
  private readonly userFree: number;
  private readonly addressFree: number;
  private readonly base: number;
  private readonly max: number;
  private readonly window: number;
  private readonly inFlight: number;
  private readonly addressInFlight: number;
  private readonly maxWaiting: number;
  /** Per key: sign-ins being checked, and those waiting their turn (in order). */
  private readonly slots = new Map<string, { busy: number; waiting: (() => void)[] }>();

  constructor(options: ThrottleOptions = {}) {
    this.free = options.free ?? 5;
    this.userFree = options.userFree ?? 30;
    this.addressFree = options.addressFree ?? 50;
    this.base = options.baseDelayMs ?? 1000;
    this.max = options.maxDelayMs ?? 15 * 60_000;
    this.window = options.windowMs ?? 15 * 60_000;
    this.inFlight = options.inFlight ?? 2;
    this.addressInFlight = options.addressInFlight ?? 8;
    this.maxWaiting = options.maxWaiting ?? 1000;
  }

  /**
   * Takes a turn to check a sign-in (its keys in order: the username, then the address — so
   * no two sign-ins wait for each other in a cycle); returns the function that gives it back.
   * Failures are counted when a check ends, so without turns a burst of guesses sent at once
   * would all be checked before the first failure counted. With them, at most `inFlight` of one
   * username run at once, and each later one sees the failures before it (`retryAfter` after
   * `enter`): a burst gets no more guesses than a sequence. Honest sign-ins at once (a shift
   * starting behind one NAT) only wait a moment.
   */
  async enter(keys: readonly string[]): Promise<() => void> {
    const held: string[] = [];
    try {
      for (const key of keys) {
        await this.take(key);
        held.push(key);
      }
    } catch (e) {
      for (const key of held) this.give(key);
      throw e;
    }
    let given = false;
    return () => {
      if (given) return;
      given = true;
      for (const key of held) this.give(key);
    };
  }

  private async take(key: string): Promise<void> {
    let s = this.slots.get(key);
    if (!s) this.slots.set(key, (s = { busy: 0, waiting: [] }));
    const limit = key.startsWith(ADDRESS) ? this.addressInFlight : this.inFlight;
    if (s.busy < limit) {
      s.busy++;
      return;
    }
    if (s.waiting.length >= this.maxWaiting) throw new ThrottleBusyError(key);
    const slot = s;
    await new Promise<void>((resolve) => slot.waiting.push(resolve)); // the turn is handed over
  }

  private give(key: string): void {
    const s = this.slots.get(key);
    if (!s) return;
    const next = s.waiting.shift();
    if (next) next();
    else if (--s.busy <= 0) this.slots.delete(key);
  }

  private freeOf(key: string): number {
    if (key.startsWith(ADDRESS)) return this.addressFree;
    return key.startsWith(USER) ? this.userFree : this.free;
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

  /** A sign-in passed: its username's records go (not its address's). */
  succeed(keys: readonly string[]): void {
    for (const key of keys) if (!key.startsWith(ADDRESS)) this.failures.delete(key);
  }
}
