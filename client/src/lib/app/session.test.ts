import 'fake-indexeddb/auto';
import type { PublicUser } from '@floorsync/domain';
import { describe, expect, it } from 'vitest';
import { openReplica } from '../sync/db.js';
import { dropStoredToken, loadSession, saveSession } from './session.js';

const omar: PublicUser = { id: 'u-op', username: 'omar', name: 'Omar Operator', role: 'operator' };
let n = 0;
const replica = () => openReplica(`session-${Date.now()}-${n++}`);

/** Two tabs of one device share the stored session; each lets go only of its own token. */
describe('the stored session when a tab lets its token go', () => {
  it('a sign-out or a 401 drops the token, keeps the user, and says why', async () => {
    const db = replica();
    await saveSession(db, { token: 't1', user: omar });
    expect(await dropStoredToken(db, 't1', omar, false)).toEqual({
      kind: 'dropped',
      deactivated: false,
    });
    expect(await loadSession(db)).toEqual({ token: null, user: omar });
    // Told of a deactivation afterwards (a token-less run keeps saying so): written once.
    expect(await dropStoredToken(db, null, omar, true)).toEqual({
      kind: 'dropped',
      deactivated: true,
    });
    expect(await loadSession(db)).toEqual({ token: null, user: omar, deactivated: true });
    // The runs after it write nothing (and so tell the other tabs nothing).
    expect(await dropStoredToken(db, null, omar, true)).toEqual({
      kind: 'unchanged',
      deactivated: true,
    });
    // A tab that was not told does not take it back: only a sign-in ends it.
    expect(await dropStoredToken(db, null, omar, false)).toEqual({
      kind: 'unchanged',
      deactivated: true,
    });
    expect(await loadSession(db)).toEqual({ token: null, user: omar, deactivated: true });
    await saveSession(db, { token: 't2', user: omar });
    expect(await dropStoredToken(db, 't2', omar, false)).toMatchObject({ deactivated: false });
    expect(await loadSession(db)).toEqual({ token: null, user: omar });
  });

  it('another tab signed in since: its newer token is kept and handed over, not overwritten', async () => {
    const db = replica();
    // This tab still holds t1 (expired); the other tab signed in again and stored t2.
    await saveSession(db, { token: 't2', user: omar });
    const r = await dropStoredToken(db, 't1', omar, false);
    expect(r).toEqual({ kind: 'newer', session: { token: 't2', user: omar } });
    expect(await loadSession(db)).toEqual({ token: 't2', user: omar });
    // A tab with no token at all whose run failed for want of one: takes t2 as well.
    expect(await dropStoredToken(db, null, omar, false)).toMatchObject({ kind: 'newer' });
  });

  it('a sign-out signs the device out, whichever token is stored, and names the other to revoke', async () => {
    const db = replica();
    await saveSession(db, { token: 't2', user: omar });
    expect(await dropStoredToken(db, 't1', omar, false, true)).toEqual({
      kind: 'dropped',
      deactivated: false,
      other: 't2',
    });
    expect(await loadSession(db)).toEqual({ token: null, user: omar });
    // Its own token stored: nothing else to revoke.
    await saveSession(db, { token: 't3', user: omar });
    expect(await dropStoredToken(db, 't3', omar, false, true)).toEqual({
      kind: 'dropped',
      deactivated: false,
    });
  });

  it('a device with no stored session (never signed in here) stores the signed-out user', async () => {
    const db = replica();
    expect(await dropStoredToken(db, null, omar, false)).toEqual({
      kind: 'dropped',
      deactivated: false,
    });
    expect(await loadSession(db)).toEqual({ token: null, user: omar });
  });
});
