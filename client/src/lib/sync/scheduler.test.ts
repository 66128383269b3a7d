import { describe, expect, it } from 'vitest';
import { AuthRequiredError, DeviceRefusedError, RetryableError } from './engine.js';
import type { SyncState } from './scheduler.js';
import { SyncScheduler, backoffDelay } from './scheduler.js';
import { parseFrame } from './pokes.js';

/** A clock and timers under the test's control. */
function fakeTime() {
  let now = Date.parse('2026-11-25T08:00:00Z');
  const timers: { at: number; fn: () => void }[] = [];
  return {
    now: () => new Date(now),
    setTimer: (fn: () => void, ms: number) => {
      const t = { at: now + ms, fn };
      timers.push(t);
      return t;
    },
    clearTimer: (t: unknown) => {
      const i = timers.indexOf(t as (typeof timers)[number]);
      if (i >= 0) timers.splice(i, 1);
    },
    /** Advances to the next timer and fires it. */
    next: () => {
      timers.sort((a, b) => a.at - b.at);
      const t = timers.shift();
      if (!t) throw new Error('no timer');
      now = t.at;
      t.fn();
      return t.at;
    },
    /** Moves the clock on by `ms`, firing the timers that fall due on the way. */
    advance: (ms: number) => {
      const end = now + ms;
      for (;;) {
        timers.sort((a, b) => a.at - b.at);
        const t = timers[0];
        if (!t || t.at > end) break;
        timers.shift();
        now = t.at;
        t.fn();
      }
      now = end;
    },
    pending: () => timers.length,
  };
}

describe('backoff with jitter', () => {
  it('doubles up to the cap and is never 0', () => {
    expect([0, 1, 2, 3, 10].map((a) => backoffDelay(a, 1000, 60_000, 1))).toEqual([
      1000, 2000, 4000, 8000, 60_000,
    ]);
    expect([0, 1, 2].map((a) => backoffDelay(a, 1000, 60_000, 0))).toEqual([500, 1000, 2000]);
  });
});

describe('SyncScheduler', () => {
  it('reports offline with a retry time, backs off, and recovers without dropping anything', async () => {
    const time = fakeTime();
    const states: SyncState[] = [];
    let calls = 0;
    const s = new SyncScheduler({
      sync: () => (++calls <= 2 ? Promise.reject(new RetryableError('down')) : Promise.resolve()),
      onState: (st) => states.push(st),
      ...time,
      random: () => 1,
    });
    await s.request();
    expect(s.current).toMatchObject({ status: 'offline', retryAt: '2026-11-25T08:00:01.000Z' });
    expect(s.current.message).toEqual({ key: 'sync.message.offline' });
    time.next(); // the retry timer fires and starts a run
    await s.settled();
    expect(s.current.retryAt).toBe('2026-11-25T08:00:03.000Z'); // 1 s, then 2 s
    time.next();
    await s.settled();
    expect(s.current).toMatchObject({
      status: 'idle',
      message: null,
      lastSyncedAt: '2026-11-25T08:00:03.000Z',
    });
    expect(calls).toBe(3);
    // A retry stays "offline", saying why, until the server answers it: the badge's words do
    // not come and go with every attempt, moving the screen under the operator's finger.
    expect(states.map((x) => x.status)).toEqual(['syncing', 'offline', 'offline', 'idle']);
    const offline = { key: 'sync.message.offline' };
    expect(states.map((x) => x.message)).toEqual([null, offline, offline, null]);
  });

  it('a retry becomes "syncing" when the server answers it (a batch sent, a page pulled), not before', async () => {
    const time = fakeTime();
    const states: SyncState[] = [];
    let calls = 0;
    const s = new SyncScheduler({
      sync: (onProgress) => {
        if (++calls === 1) return Promise.reject(new RetryableError('down'));
        onProgress({ phase: 'push', sent: 0, total: 120 }); // before any answer
        expect(s.current).toMatchObject({ status: 'offline', progress: null });
        onProgress({ phase: 'push', sent: 50, total: 120 }); // the first batch answered
        expect(s.current).toMatchObject({
          status: 'syncing',
          message: null,
          progress: { phase: 'push', sent: 50 },
        });
        onProgress({ phase: 'pull', pages: 1, events: 3, entries: 0, resetting: false });
        return Promise.resolve();
      },
      onState: (st) => states.push(st),
      ...time,
      random: () => 1,
    });
    await s.request();
    expect(s.current.status).toBe('offline');
    time.next();
    await s.settled();
    expect(s.current).toMatchObject({ status: 'idle', message: null, progress: null });
    expect(states.map((x) => x.status)).toEqual([
      'syncing',
      'offline',
      'syncing',
      'syncing',
      'idle',
    ]);
    // A retry the server answers with a pull page first (nothing to push): the same.
    const pulls = new SyncScheduler({
      sync: (onProgress) => {
        if (++calls === 3) return Promise.reject(new RetryableError('down'));
        onProgress({ phase: 'pull', pages: 1, events: 1, entries: 0, resetting: false });
        expect(pulls.current).toMatchObject({ status: 'syncing', message: null });
        return Promise.resolve();
      },
      onState: () => {},
      ...time,
      random: () => 1,
    });
    await pulls.request();
    time.next();
    await pulls.settled();
    expect(pulls.current.status).toBe('idle');
  });

  it('a failure that is not the network says what it was, and is retried', async () => {
    const time = fakeTime();
    const s = new SyncScheduler({
      sync: () =>
        Promise.reject(new Error('the server refused it (400): mutations.0.id: expected int')),
      onState: () => {},
      ...time,
      random: () => 1,
    });
    await s.request();
    expect(s.current).toMatchObject({
      status: 'offline',
      message: {
        key: 'sync.message.failed',
        detail: 'the server refused it (400): mutations.0.id: expected int',
      },
    });
    expect(time.pending()).toBe(1);
  });

  it('a 401 waits for sign-in; a refused device stops; neither retries by itself', async () => {
    const time = fakeTime();
    const auth = new SyncScheduler({
      sync: () => Promise.reject(new AuthRequiredError('x')),
      onState: () => {},
      ...time,
    });
    await auth.request();
    expect(auth.current).toMatchObject({
      status: 'signed-out',
      message: { key: 'sync.message.signedOut' },
    });
    expect(time.pending()).toBe(0);
    // A deactivated account is signed out too, but told that signing in again will not do.
    const gone = new SyncScheduler({
      sync: () => Promise.reject(new AuthRequiredError('x', 'USER_DEACTIVATED')),
      onState: () => {},
      ...time,
    });
    await gone.request();
    expect(gone.current).toMatchObject({
      status: 'signed-out',
      message: { key: 'sync.message.deactivated' },
    });
    expect(time.pending()).toBe(0);
    // The runs after it (a scan, the screen on again) fail for want of a token: still told
    // why; a run that gets through (someone signed in) ends it.
    let outcome: () => Promise<void> = () => Promise.reject(new AuthRequiredError('not signed in'));
    const after = new SyncScheduler({ sync: () => outcome(), onState: () => {}, ...time });
    outcome = () => Promise.reject(new AuthRequiredError('x', 'USER_DEACTIVATED'));
    await after.request();
    outcome = () => Promise.reject(new AuthRequiredError('not signed in'));
    await after.request();
    expect(after.current.message).toEqual({ key: 'sync.message.deactivated' });
    outcome = () => Promise.resolve();
    await after.request();
    expect(after.current).toMatchObject({ status: 'idle', message: null });
    outcome = () => Promise.reject(new AuthRequiredError('the session expired'));
    await after.request();
    expect(after.current.message).toEqual({ key: 'sync.message.signedOut' });
    // Told before an app restart: the restarted app's runs without a token still say so.
    const restarted = new SyncScheduler({
      sync: () => Promise.reject(new AuthRequiredError('not signed in')),
      onState: () => {},
      deactivated: true,
      ...time,
    });
    await restarted.request();
    expect(restarted.current.message).toEqual({ key: 'sync.message.deactivated' });
    // Another tab was told (the tabs share the session): this one says so without a run, and
    // keeps saying so through its own token-less runs, until one gets through.
    outcome = () => Promise.reject(new AuthRequiredError('not signed in'));
    const states: string[] = [];
    const tab = new SyncScheduler({
      sync: () => outcome(),
      onState: (st) => states.push(`${st.status} ${st.message?.key ?? ''}`),
      ...time,
    });
    tab.signedOutElsewhere(true);
    expect(states).toEqual(['signed-out sync.message.deactivated']);
    await tab.request();
    expect(tab.current.message).toEqual({ key: 'sync.message.deactivated' });
    outcome = () => Promise.resolve();
    await tab.request();
    expect(tab.current).toMatchObject({ status: 'idle', message: null });
    tab.signedOutElsewhere(false);
    expect(tab.current).toMatchObject({
      status: 'signed-out',
      message: { key: 'sync.message.signedOut' },
    });
    const refused = new SyncScheduler({
      sync: () => Promise.reject(new DeviceRefusedError('revoked', 'DEVICE_REVOKED')),
      onState: () => {},
      ...time,
    });
    await refused.request();
    expect(refused.current).toMatchObject({
      status: 'refused',
      message: { key: 'sync.message.refused', detail: 'revoked', reason: 'DEVICE_REVOKED' },
    });
  });

  it('a stale 401 (the app signed in again meanwhile) runs again at once; a sign-out elsewhere during a run is not ended by it', async () => {
    const time = fakeTime();
    const answers: (() => Promise<void>)[] = [
      () => Promise.reject(new AuthRequiredError('x', null, true)),
      () => Promise.resolve(),
    ];
    let runs = 0;
    const seen: string[] = [];
    const s = new SyncScheduler({
      sync: () => {
        runs++;
        return (answers.shift() ?? (() => Promise.resolve()))();
      },
      onState: (st) => seen.push(st.status),
      ...time,
    });
    await s.request();
    expect(runs).toBe(2);
    expect(s.current).toMatchObject({ status: 'idle', message: null });
    // The stale answer changed nothing on the badge: syncing (twice over), then done.
    expect(seen).toEqual(['syncing', 'syncing', 'idle']);

    // Another tab signs out while this tab's run (with the old token) is out: it succeeds,
    // yet this tab is signed out, and says why.
    let release: () => void = () => {};
    const held = new SyncScheduler({
      sync: () => new Promise<void>((r) => (release = r)),
      onState: () => {},
      ...time,
    });
    const run = held.request();
    held.signedOutElsewhere(true);
    release();
    await run;
    expect(held.current).toMatchObject({
      status: 'signed-out',
      message: { key: 'sync.message.deactivated' },
    });
    expect(held.current.lastSyncedAt).not.toBeNull();
  });

  it('signed out, the runs without a token keep the badge as it is; a sign-in meanwhile outranks what a run of the old session says', async () => {
    const time = fakeTime();
    const seen: string[] = [];
    let answer: () => Promise<void> = () => Promise.reject(new AuthRequiredError('expired'));
    const s = new SyncScheduler({
      sync: () => answer(),
      onState: (st) => seen.push(`${st.status} ${st.message?.key ?? '-'}`),
      ...time,
    });
    await s.request();
    answer = () => Promise.reject(new AuthRequiredError('not signed in'));
    await s.request(); // the screen on again, a tap: no token, no flicker through "syncing"
    await s.request();
    expect(seen).toEqual([
      'syncing -',
      'signed-out sync.message.signedOut',
      'signed-out sync.message.signedOut',
      'signed-out sync.message.signedOut',
    ]);

    // Signed in; a run of the new session shows itself syncing.
    seen.length = 0;
    s.signedIn();
    answer = () => Promise.resolve();
    await s.request();
    expect(seen).toEqual(['syncing -', 'idle -']);

    // Another tab signs out, then in again, while this tab's run (old token) is out: the run
    // ends as a success, not as a sign-out (which would drop the new token device-wide).
    let release: () => void = () => {};
    answer = () => new Promise<void>((r) => (release = r));
    const run = s.request();
    s.signedOutElsewhere(false);
    s.signedIn();
    void s.request(); // what signing in asks for
    answer = () => Promise.resolve();
    release();
    await run;
    await s.settled();
    expect(s.current).toMatchObject({ status: 'idle', message: null });

    // A run that fails for want of a token while the app signs in: run again, not signed out.
    let calls = 0;
    answer = () => {
      calls++;
      if (calls === 1) {
        s.signedIn(); // signing in lands while this run is out
        return Promise.reject(new AuthRequiredError('not signed in'));
      }
      return Promise.resolve();
    };
    await s.request();
    expect(calls).toBe(2);
    expect(s.current).toMatchObject({ status: 'idle', message: null });

    // Signed out, and another tab holds the sync lock: still signed out, said the same.
    const locked = new SyncScheduler({
      sync: () => Promise.reject(new AuthRequiredError('expired')),
      withLock: () => Promise.resolve(false),
      onState: () => {},
      ...time,
    });
    locked.signedOutElsewhere(true);
    await locked.request();
    expect(locked.current).toMatchObject({
      status: 'signed-out',
      message: { key: 'sync.message.deactivated' },
    });
  });

  it('coalesces requests while a sync runs into one more run', async () => {
    const time = fakeTime();
    let calls = 0;
    let release: () => void = () => {};
    const s = new SyncScheduler({
      sync: () => {
        calls++;
        return calls === 1 ? new Promise<void>((r) => (release = r)) : Promise.resolve();
      },
      onState: () => {},
      ...time,
    });
    const first = s.request();
    void s.request();
    void s.request();
    release();
    await first;
    expect(calls).toBe(2);
  });

  it('when another tab holds the lock, this tab does not sync and does not claim it did', async () => {
    const time = fakeTime();
    let calls = 0;
    const s = new SyncScheduler({
      sync: () => {
        calls++;
        return Promise.resolve();
      },
      withLock: () => Promise.resolve(false),
      onState: () => {},
      ...time,
    });
    await s.request();
    expect(calls).toBe(0);
    expect(s.current).toMatchObject({ status: 'idle', lastSyncedAt: null });
    // It looks again soon (3 s, not the 30 s idle interval): the syncing tab may be closed.
    const start = time.now().getTime();
    expect(time.next() - start).toBe(3000);
    s.stop();
  });

  it('says when the device last synced across a restart, and takes a later sync from another tab', async () => {
    const time = fakeTime();
    const states: SyncState[] = [];
    const before = '2026-11-25T07:40:00.000Z';
    const s = new SyncScheduler({
      sync: () => Promise.reject(new RetryableError('offline')),
      lastSyncedAt: before,
      onState: (st) => states.push(st),
      ...time,
    });
    expect(s.current.lastSyncedAt).toBe(before);
    await s.request();
    // Offline after a restart: the last sync is still the one before it, not "never".
    expect(s.current).toMatchObject({ status: 'offline', lastSyncedAt: before });
    s.syncedElsewhere('2026-11-25T07:30:00.000Z'); // older: ignored
    expect(s.current.lastSyncedAt).toBe(before);
    s.syncedElsewhere('not a time');
    expect(s.current.lastSyncedAt).toBe(before);
    s.syncedElsewhere('2026-11-25T07:59:00.000Z');
    expect(s.current.lastSyncedAt).toBe('2026-11-25T07:59:00.000Z');
    expect(states.at(-1)?.lastSyncedAt).toBe('2026-11-25T07:59:00.000Z');
    s.stop();
  });
});

describe('SSE frames', () => {
  it('reads event, data and id; skips heartbeats', () => {
    expect(parseFrame('event: poke\ndata: {"head":42}\nid: 42')).toEqual({
      event: 'poke',
      data: '{"head":42}',
      id: '42',
    });
    expect(parseFrame(': heartbeat')).toEqual({ event: null, data: null, id: null });
  });
});

describe('SyncScheduler while the operator scans', () => {
  const scheduler = (time: ReturnType<typeof fakeTime>, runs: number[]) =>
    new SyncScheduler({
      sync: () => {
        runs.push(time.now().getTime());
        return Promise.resolve();
      },
      onState: () => undefined,
      ...time,
      intervalMs: 60_000,
    });

  it('a burst of scans is synced once it pauses, not between two scans', async () => {
    const time = fakeTime();
    const runs: number[] = [];
    const s = scheduler(time, runs);
    const t0 = time.now().getTime();
    for (let i = 0; i < 10; i++) {
      s.noteActivity();
      await s.request();
      time.advance(100); // the next code 100 ms later
    }
    expect(runs).toEqual([]); // nothing ran between the scans
    time.advance(200); // 250 ms after the last scan
    await s.settled();
    expect(runs).toEqual([t0 + 900 + 250]);
  });

  it('a burst that does not pause is still synced every few seconds', async () => {
    const time = fakeTime();
    const runs: number[] = [];
    const s = scheduler(time, runs);
    const t0 = time.now().getTime();
    for (let i = 0; i < 100; i++) {
      s.noteActivity();
      await s.request();
      await s.settled();
      time.advance(100);
    }
    // 10 s of scans, one every 100 ms: a sync about every 3 s (the first scan's request waits).
    expect(runs.length).toBeGreaterThanOrEqual(3);
    expect(runs[0]).toBe(t0 + 3000);
    for (let i = 1; i < runs.length; i++) expect(runs[i]! - runs[i - 1]!).toBeLessThanOrEqual(3100);
  });

  it('a burst that does not pause only pushes every few seconds; the pull waits for the pause', async () => {
    const time = fakeTime();
    const runs: [string, number][] = [];
    const states: SyncState[] = [];
    const at = () => time.now().getTime();
    const s = new SyncScheduler({
      sync: () => {
        runs.push(['sync', at()]);
        return Promise.resolve();
      },
      push: () => {
        runs.push(['push', at()]);
        return Promise.resolve();
      },
      onState: (st) => states.push(st),
      ...time,
      intervalMs: 60_000,
    });
    await s.request(); // signed in: a full sync
    const before = states.at(-1)?.lastSyncedAt;
    expect(before).not.toBeNull();
    runs.length = 0;
    states.length = 0;
    const t0 = at();
    for (let i = 0; i < 70; i++) {
      s.noteActivity();
      await s.request();
      await s.settled();
      time.advance(100);
    }
    // 7 s of scans, one every 100 ms: sent twice (3 s apart), never pulled in between.
    expect(runs).toEqual([
      ['push', t0 + 3000],
      ['push', t0 + 6000],
    ]);
    // A push alone does not claim the replica is up to date.
    expect(states.every((st) => st.lastSyncedAt === before)).toBe(true);
    time.advance(150); // 250 ms after the last scan: the owed pull
    await s.settled();
    expect(runs.at(-1)).toEqual(['sync', t0 + 6900 + 250]);
    expect(states.at(-1)?.lastSyncedAt).toBe(new Date(t0 + 6900 + 250).toISOString());
  });

  it('a burst that never pauses still pulls every intervalMs', async () => {
    const time = fakeTime();
    const runs: [string, number][] = [];
    const at = () => time.now().getTime();
    const s = new SyncScheduler({
      sync: () => {
        runs.push(['sync', at()]);
        return Promise.resolve();
      },
      push: () => {
        runs.push(['push', at()]);
        return Promise.resolve();
      },
      onState: () => undefined,
      ...time,
      intervalMs: 10_000,
    });
    await s.request();
    const t0 = at();
    for (let i = 0; i < 250; i++) {
      s.noteActivity();
      await s.request();
      await s.settled();
      time.advance(100);
    }
    // 25 s of scans: pushed every 3 s, and a full sync once 10 s passed since the last one.
    const full = runs.filter(([k]) => k === 'sync').map(([, t]) => t - t0);
    expect(full.length).toBe(3);
    expect(full[0]).toBe(0);
    for (let i = 1; i < full.length; i++) {
      expect(full[i]! - full[i - 1]!).toBeGreaterThanOrEqual(10_000);
      expect(full[i]! - full[i - 1]!).toBeLessThanOrEqual(13_100);
    }
    expect(runs.filter(([k]) => k === 'push').length).toBeGreaterThanOrEqual(5);
  });

  it('without scans, a request syncs at once', async () => {
    const time = fakeTime();
    const runs: number[] = [];
    const s = scheduler(time, runs);
    await s.request();
    expect(runs).toEqual([time.now().getTime()]);
  });
});
