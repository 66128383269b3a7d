import { describe, expect, it } from 'vitest';
import { LoginThrottle, ThrottleBusyError, throttleKeys } from './throttle.js';

const MIN = 60_000;

describe('LoginThrottle', () => {
  it('a username gets 5 free failures from one address, then waits 1 s, 2 s, 4 s …', () => {
    const t = new LoginThrottle();
    const keys = throttleKeys('Olga', 'a');
    for (let i = 0; i < 5; i++) {
      expect(t.retryAfter(keys, 0)).toBe(0);
      t.fail(keys, 0);
    }
    expect(t.retryAfter(keys, 0)).toBe(1000);
    t.fail(keys, 1000);
    expect(t.retryAfter(keys, 1000)).toBe(2000);
    // Case-folded: the same username however it is typed.
    expect(t.retryAfter(throttleKeys('OLGA', 'a'), 1000)).toBe(2000);
    // From another machine, Olga (or the admin, or the workers' account) still gets in: a
    // guesser on one machine cannot lock a username out everywhere.
    expect(t.retryAfter(throttleKeys('olga', 'b'), 1000)).toBe(0);
  });

  it('guessing one username from many addresses is throttled after 30 failures in all', () => {
    const t = new LoginThrottle();
    for (let i = 0; i < 30; i++) {
      expect(t.retryAfter(throttleKeys('admin', `10.0.0.${i}`), 0)).toBe(0);
      t.fail(throttleKeys('admin', `10.0.0.${i}`), 0);
    }
    expect(t.retryAfter(throttleKeys('admin', '10.9.9.9'), 0)).toBe(1000);
    // A success (the admin, from their own machine, once the wait is over) clears the username.
    t.succeed(throttleKeys('admin', '10.9.9.9'));
    expect(t.retryAfter(throttleKeys('admin', '10.9.9.8'), 0)).toBe(0);
  });

  it('failures leak away: a slow trickle of typos never adds up to a lockout', () => {
    const t = new LoginThrottle(); // 5 per 15 min: one leaks every 3 min
    const keys = throttleKeys('olga', 'a');
    for (let i = 0; i < 100; i++) {
      expect(t.retryAfter(keys, i * 3 * MIN)).toBe(0);
      t.fail(keys, i * 3 * MIN);
    }
    // Five quick ones on top still throttle.
    for (let i = 0; i < 5; i++) t.fail(keys, 300 * MIN);
    expect(t.retryAfter(keys, 300 * MIN)).toBeGreaterThan(0);
    // And a quarter of an hour later they are gone.
    expect(t.retryAfter(keys, 316 * MIN)).toBe(0);
  });

  it('an address gets 50 free failures over all usernames; a success clears only the username', () => {
    const t = new LoginThrottle();
    for (let i = 0; i < 50; i++) t.fail(throttleKeys(`user${i}`, 'nat'), 0);
    expect(t.retryAfter(throttleKeys('someone-else', 'nat'), 0)).toBe(1000);
    expect(t.retryAfter(throttleKeys('someone-else', 'other'), 0)).toBe(0);
    t.succeed(throttleKeys('user1', 'nat'));
    expect(t.retryAfter(throttleKeys('user1', 'other'), 0)).toBe(0);
    expect(t.retryAfter(throttleKeys('user1', 'nat'), 0)).toBe(1000);
  });

  it('memory stays bounded under a spray: the keys that failed longest ago are dropped first', () => {
    const t = new LoginThrottle();
    for (let i = 0; i < 5; i++) t.fail(throttleKeys('olga', 'a'), 1);
    for (let i = 0; i < 60_000; i++) t.fail(throttleKeys(`spray${i}`, `10.0.${i}`), 2);
    // Over 100,000 keys: the oldest went, the newest failures are still counted.
    expect(t.retryAfter(throttleKeys('olga', 'a'), 2)).toBe(0);
    for (let i = 0; i < 5; i++) t.fail(throttleKeys('late', 'b'), 3);
    expect(t.retryAfter(throttleKeys('late', 'b'), 3)).toBeGreaterThan(0);
  });
});

describe('turns (enter): a burst is counted as it goes', () => {
  it('at most inFlight sign-ins of one key at a time; the others wait in order', async () => {
    const t = new LoginThrottle({ inFlight: 2, addressInFlight: 3 });
    const keys = throttleKeys('op', '10.0.0.1');
    const order: number[] = [];
    const leaves = await Promise.all([t.enter(keys), t.enter(keys)]);
    const third = t.enter(keys).then((leave) => {
      order.push(3);
      return leave;
    });
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([]); // waits for a turn
    leaves[0]?.();
    leaves[0]?.(); // giving a turn back twice gives it once
    const leave3 = await third;
    expect(order).toEqual([3]);
    // Another username from the same address is not held up by op's turns (3 per address).
    const other = await t.enter(throttleKeys('sup', '10.0.0.1'));
    for (const leave of [leaves[1], leave3, other]) leave?.();
    // All given back: a fresh pair of turns at once.
    const again = await Promise.all([t.enter(keys), t.enter(keys)]);
    for (const leave of again) leave();
  });

  it('a flood of sign-ins of one username from one machine waits in its own queue: others still get a turn', async () => {
    const t = new LoginThrottle({ maxWaiting: 5 });
    const flood = throttleKeys('admin', '10.6.6.6');
    const held = await Promise.all([t.enter(flood), t.enter(flood)]);
    const waiting = Array.from({ length: 5 }, () => t.enter(flood));
    await expect(t.enter(flood)).rejects.toBeInstanceOf(ThrottleBusyError);
    // The admin from their own machine: not refused, and in once a flood turn is given back.
    const own = t.enter(throttleKeys('admin', '10.0.0.9'));
    held[0]?.();
    (await own)();
    held[1]?.();
    for (const w of waiting) (await w)();
  });

  it('refuses at once beyond maxWaiting for one key', async () => {
    const t = new LoginThrottle({ inFlight: 1, maxWaiting: 2 });
    const keys = throttleKeys('op', '10.0.0.1');
    const first = await t.enter(keys);
    const waiting = [t.enter(keys), t.enter(keys)];
    await expect(t.enter(keys)).rejects.toBeInstanceOf(ThrottleBusyError);
    first();
    for (const w of waiting) (await w)();
  });
});
