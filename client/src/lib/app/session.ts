import type { PublicUser } from '@floorsync/domain';

/**
 * The signed-in session, kept in `localStorage` so a handheld restarted offline still knows
 * who is scanning (the token is only ever sent in an Authorization header, never in a URL).
 * After a 401 the token is dropped but the user is kept: the login screen offers them first,
 * and the queue waits untouched.
 */
export interface StoredSession {
  readonly token: string | null;
  readonly user: PublicUser;
}

const KEY = 'floorsync.session';

export function loadSession(storage: Storage = localStorage): StoredSession | null {
  try {
    const raw = storage.getItem(KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as StoredSession;
    return typeof s.user?.id === 'string' ? s : null;
  } catch {
    return null;
  }
}

export function saveSession(s: StoredSession | null, storage: Storage = localStorage): void {
  if (s === null) storage.removeItem(KEY);
  else storage.setItem(KEY, JSON.stringify(s));
}
