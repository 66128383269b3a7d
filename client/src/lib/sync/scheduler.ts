import {
  AuthRequiredError,
  ClientStateLostError,
  DeviceRefusedError,
  RetryableError,
  UpdateRequiredError,
} from './engine.js';
import type { SyncProgress } from './engine.js';

/**
 * When to sync: on a poke, on reconnect, on focus and on a timer — coalesced, one run at a
 * time, one tab at a time (Web Locks), with exponential backoff and jitter after failures.
 * The state it reports is what the operator's sync badge shows.
 *
 * Failures never drop queued work: a retryable one reschedules; a 401 waits for sign-in; a
 * refused device or an outdated build stops until a person acts.
 */
export type SyncStatus =
  'idle' | 'syncing' | 'offline' | 'signed-out' | 'refused' | 'update-required';

/**
 * A status sentence for the operator: a catalog key (`sync.message.*`), rendered in the
 * app's language by the badge, and `detail`, the server's own words where there are some.
 */
export interface SyncMessage {
  readonly key: `sync.message.${'signedOut' | 'deactivated' | 'refused' | 'queueLost' | 'updateRequired' | 'offline' | 'failed'}`;
  readonly detail?: string;
  /** A refusal's reason (`FORBIDDEN_REASONS`): the badge says it in the app's language. */
  readonly reason?: string;
}

export interface SyncState {
  readonly status: SyncStatus;
  readonly lastSyncedAt: string | null;
  /**
   * What the operator should know when something is wrong, as a message key of the catalogs
   * (`sync.message.*`). A retry stays `offline` with its failure's message until the server
   * answers it (a batch sent, a page pulled): only then is it `syncing`.
   */
  readonly message: SyncMessage | null;
  /** When the next automatic attempt is due (after a failure). */
  readonly retryAt: string | null;
  readonly progress: SyncProgress | null;
}

export interface SchedulerDeps {
  readonly sync: (onProgress: (p: SyncProgress) => void) => Promise<void>;
  /**
   * Only sends the queue (no pull). When given, a sync that a burst of scans forces (see
   * `maxDeferMs`) runs this instead of `sync`: the scans reach the server, and the pull —
   * the replica's writes, deleting confirmed outbox rows, which share the device's one core
   * and its IndexedDB with the next scans — follows once the scanning pauses (or after
   * `intervalMs` of a burst that never pauses).
   */
  readonly push?: (onProgress: (p: SyncProgress) => void) => Promise<void>;
  /**
   * Runs `fn` holding the device-wide sync lock; resolves false without running it when
   * another tab holds it (browsers: `navigator.locks.request(name, { ifAvailable: true })`).
   */
  readonly withLock?: (fn: () => Promise<void>) => Promise<boolean>;
  readonly onState: (s: SyncState) => void;
  /**
   * When this device last synced, as kept from before (an app restart): the badge says so
   * rather than "never" while the device is offline.
   */
  readonly lastSyncedAt?: string | null;
  /**
   * The server said this account is deactivated before (an app restart since): the runs that
   * fail for want of a token keep saying so, until one gets through.
   */
  readonly deactivated?: boolean;
  readonly now?: () => Date;
  readonly random?: () => number;
  readonly setTimer?: (fn: () => void, ms: number) => unknown;
  readonly clearTimer?: (t: unknown) => void;
  /** Backoff: first delay and cap (ms). Defaults 1 s and 60 s. */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Periodic sync while idle (ms). Default 30 s. */
  readonly intervalMs?: number;
  /**
   * When another tab held the sync lock, try again this soon (ms), so a tab takes over
   * quickly when the syncing one is closed. Default 3 s.
   */
  readonly lockRetryMs?: number;
  /**
   * While the operator scans in a burst (a wedge scanner, a pallet of cartons), a sync waits
   * until no scan came for this long (ms), so that the sync's work does not delay the next
   * scan's confirmation; 0 never waits. Default 250 ms.
   */
  readonly quietMs?: number;
  /** …but never longer than this (ms) in a row: queued scans still leave. Default 3 s. */
  readonly maxDeferMs?: number;
}

export function backoffDelay(attempt: number, base: number, max: number, random: number): number {
  const ceiling = Math.min(max, base * 2 ** attempt);
  return Math.round(ceiling / 2 + (ceiling / 2) * random); // "equal jitter": never 0, never synchronized
}

export class SyncScheduler {
  /** The server said this account is deactivated; until a run gets through. */
  private deactivated = false;
  /** Sign-outs in other tabs so far: a run that began before one does not end it. */
  private signOuts = 0;
  /** Sign-ins so far (`signedIn`): a run that began before one does not sign it out. */
  private signIns = 0;
  /**
   * Why the last run failed, when the next one runs on its state (offline, failed, signed out):
   * the run goes on saying so — the badge keeps its status and line — until the server answers,
   * or a sign-in. "Syncing" and back with every attempt moved the screen under the operator's
   * finger.
   */
  private retrying: SyncMessage | null = null;
  /** The run was refused a token the app has since replaced: run again at once. */
  private rerun = false;
  private state: SyncState = {
    status: 'idle',
    lastSyncedAt: null,
    message: null,
    retryAt: null,
    progress: null,
  };
  private running: Promise<void> | null = null;
  private again = false;
  private failures = 0;
  private timer: unknown = null;
  private stopped = false;
  private lastActivity = -Infinity;
  private deferredSince: number | null = null;
  private deferTimer: unknown = null;
  /** The run about to start was forced by a burst that has not paused (push only). */
  private burst = false;
  /** When the last full sync (push and pull) ran. */
  private pulledAt = -Infinity;
  private readonly d: Required<Omit<SchedulerDeps, 'withLock' | 'push'>> &
    Pick<SchedulerDeps, 'withLock' | 'push'>;

  constructor(deps: SchedulerDeps) {
    this.d = {
      now: () => new Date(),
      random: Math.random,
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (t) => clearTimeout(t as ReturnType<typeof setTimeout>),
      baseDelayMs: 1000,
      maxDelayMs: 60_000,
      intervalMs: 30_000,
      lockRetryMs: 3000,
      quietMs: 250,
      maxDeferMs: 3000,
      lastSyncedAt: null,
      deactivated: false,
      ...deps,
    };
    this.state = { ...this.state, lastSyncedAt: this.d.lastSyncedAt };
    this.deactivated = this.d.deactivated;
  }

  /**
   * Another tab of this device synced at `at` (it holds the sync lock; this one skips its
   * turns): the device's last sync is that one when later than this tab's own.
   */
  syncedElsewhere(at: string): void {
    const mine = this.state.lastSyncedAt;
    if (mine !== null && Date.parse(mine) >= Date.parse(at)) return;
    if (Number.isNaN(Date.parse(at))) return;
    this.set({ lastSyncedAt: at });
  }

  /**
   * Another tab of this device signed out, or was told the account is deactivated (the tabs
   * share the session): this one says so at once, as if its own run had been answered 401.
   * Signing in (here or there) calls `request()`, whose run ends it.
   */
  signedOutElsewhere(deactivated: boolean): void {
    this.signOuts++;
    this.deactivated = deactivated;
    this.retrying = this.signedOutMessage();
    this.set({ status: 'signed-out', message: this.retrying, retryAt: null, progress: null });
  }

  /**
   * The app holds a new token (signed in, here or in another tab): what a run that began with
   * the old session says of it (a 401, a sign-out elsewhere) no longer counts, and the next run
   * shows itself syncing. Call `request()` after it.
   */
  signedIn(): void {
    this.signIns++;
    this.retrying = null;
  }

  get current(): SyncState {
    return this.state;
  }

  /** The operator just scanned: syncs wait for a pause (see `quietMs`). */
  noteActivity(): void {
    this.lastActivity = this.d.now().getTime();
  }

  /**
   * Something happened (poke, online, focus, a scan): sync soon — at once, or when the
   * operator's scanning pauses. Coalesces while running.
   */
  request(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const wait = this.quietWait();
    if (wait > 0) {
      this.defer(wait);
      return this.running ?? Promise.resolve();
    }
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.loop().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** Resolves when no sync is running. */
  settled(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.d.clearTimer(this.timer);
    if (this.deferTimer !== null) this.d.clearTimer(this.deferTimer);
  }

  /** How long a sync should still wait for the scanning to pause (0: go now). */
  private quietWait(): number {
    const now = this.d.now().getTime();
    const since = now - this.lastActivity;
    if (since >= this.d.quietMs) {
      this.deferredSince = null;
      this.burst = false;
      return 0;
    }
    this.deferredSince ??= now;
    if (now - this.deferredSince >= this.d.maxDeferMs) {
      this.deferredSince = null;
      this.burst = true;
      return 0;
    }
    return this.d.quietMs - since;
  }

  private defer(ms: number): void {
    if (this.deferTimer !== null) this.d.clearTimer(this.deferTimer);
    this.deferTimer = this.d.setTimer(() => {
      this.deferTimer = null;
      void this.request();
    }, ms);
  }

  /** What a signed-out badge says: deactivated if the server said so, else "sign in again". */
  private signedOutMessage(): SyncMessage {
    return { key: this.deactivated ? 'sync.message.deactivated' : 'sync.message.signedOut' };
  }

  private set(patch: Partial<SyncState>): void {
    this.state = { ...this.state, ...patch };
    this.d.onState(this.state);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer !== null) this.d.clearTimer(this.timer);
    this.timer = this.d.setTimer(() => {
      this.timer = null;
      void this.request();
    }, ms);
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      this.rerun = false;
      await this.runOnce();
      if (this.rerun) continue; // a stale 401: at once, with the new token
      if (this.again && this.quietWait() > 0) {
        // More came in while syncing, but the operator is scanning: later (request() again).
        this.again = false;
        this.defer(this.quietWait());
      }
    } while (!this.stopped && (this.rerun || (this.again && this.state.status === 'idle')));
  }

  private async runOnce(): Promise<void> {
    // A burst that never pauses still pulls every `intervalMs` (others' changes, the queue's
    // confirmations), like an idle device.
    const pushOnly =
      this.burst &&
      this.d.push !== undefined &&
      this.d.now().getTime() - this.pulledAt < this.d.intervalMs;
    this.burst = false;
    if (!pushOnly) this.pulledAt = this.d.now().getTime();
    const signOuts = this.signOuts;
    const signIns = this.signIns;
    if (this.retrying === null) this.set({ status: 'syncing', message: null, retryAt: null });
    try {
      const push = this.d.push;
      const onProgress = (progress: SyncProgress) => {
        // A batch sent, or a page pulled: the server answers. (A push's first report, of
        // nothing sent yet, comes before any answer.)
        const answered = progress.phase === 'pull' || progress.sent > 0;
        if (this.retrying !== null && !answered) return;
        if (this.retrying !== null) {
          this.retrying = null;
          this.set({ status: 'syncing', message: null, retryAt: null, progress });
        } else this.set({ progress });
      };
      const run = () => (pushOnly && push ? push(onProgress) : this.d.sync(onProgress));
      const ran = this.d.withLock ? await this.d.withLock(run) : (await run(), true);
      // Signed out, and another tab holds the lock: nothing was tried here, still signed out.
      if (!ran && this.state.status === 'signed-out' && this.signIns === signIns) return;
      this.failures = 0;
      this.retrying = null;
      // Another tab signed out while this run was out (with the token it had): still out —
      // unless the app signed in again since.
      const out = this.signOuts !== signOuts && this.signIns === signIns;
      if (out) {
        this.retrying = this.signedOutMessage();
        this.set({
          status: 'signed-out',
          message: this.retrying,
          progress: null,
          ...(ran && !pushOnly ? { lastSyncedAt: this.d.now().toISOString() } : {}),
        });
        return; // signing in calls request()
      }
      this.deactivated = false;
      this.set({
        status: 'idle',
        message: null,
        progress: null,
        // Only a pull brings the replica up to date (and tells the other tabs to re-read it).
        ...(ran && !pushOnly ? { lastSyncedAt: this.d.now().toISOString() } : {}),
      });
      this.schedule(ran ? this.d.intervalMs : this.d.lockRetryMs);
      // The pull is owed: it runs once the scanning pauses (or as the next forced run's push).
      if (pushOnly) this.defer(Math.max(1, this.quietWait()));
    } catch (error) {
      this.fail(error, this.signIns !== signIns);
    }
  }

  private fail(error: unknown, signedInSince: boolean): void {
    if (error instanceof AuthRequiredError && (error.stale || signedInSince)) {
      // Refused a token the app has since replaced (signed in again meanwhile), or none while
      // it signed in: not the new session's answer. The loop runs again at once, with the new
      // token; the badge stays as it was.
      this.rerun = true;
      return;
    }
    this.retrying = null;
    if (error instanceof AuthRequiredError) {
      // Told once (the session's 401), kept: the runs after it fail for want of a token, and
      // must not turn "deactivated" back into "sign in again". A run that gets through ends it.
      if (error.code === 'USER_DEACTIVATED') this.deactivated = true;
      this.retrying = this.signedOutMessage();
      this.set({ status: 'signed-out', message: this.retrying, progress: null });
      return; // signing in calls request()
    }
    if (error instanceof DeviceRefusedError) {
      this.set({
        status: 'refused',
        message: {
          key: 'sync.message.refused',
          detail: error.message,
          ...(error.reason !== null ? { reason: error.reason } : {}),
        },
        progress: null,
      });
      return;
    }
    if (error instanceof ClientStateLostError) {
      this.set({
        status: 'refused',
        message: { key: 'sync.message.queueLost', detail: error.message },
        progress: null,
      });
      return;
    }
    if (error instanceof UpdateRequiredError) {
      this.set({
        status: 'update-required',
        message: { key: 'sync.message.updateRequired' },
        progress: null,
      });
      return;
    }
    const delay = backoffDelay(
      this.failures++,
      this.d.baseDelayMs,
      this.d.maxDelayMs,
      this.d.random(),
    );
    const retryAt = new Date(this.d.now().getTime() + delay).toISOString();
    const offline = error instanceof RetryableError;
    // A failure that is not the network's says what it was (the server's words), for the
    // operator to pass on: retrying will not cure a refusal an app update must fix.
    const message: SyncMessage = offline
      ? { key: 'sync.message.offline' }
      : {
          key: 'sync.message.failed',
          detail: (error instanceof Error ? error.message : String(error)).slice(0, 300),
        };
    this.retrying = message;
    this.set({ status: 'offline', message, retryAt, progress: null });
    this.schedule(delay);
  }
}
