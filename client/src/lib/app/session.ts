import type { PublicUser } from '@floorsync/domain';
import type { ReplicaDB } from '$lib/sync/db.js';

/**
 * The signed-in session, kept in the replica's IndexedDB (not `localStorage`, which browsers
 * write lazily: a handheld killed right after sign-in could forget who was scanning). A
 * handheld restarted offline still knows who scans. The token is only ever sent in an
 * Authorization header, never in a URL. After a 401 the token is dropped but the user is
 * kept: the login screen offers them first, and the queue waits untouched.
 */
export interface StoredSession {
  readonly token: string | null;
  readonly user: PublicUser;
  /** Signed out because an admin deactivated the account (kept until the next sign-in). */
  readonly deactivated?: boolean;
}

const KEY = 'session';

export async function loadSession(db: ReplicaDB): Promise<StoredSession | null> {
  const s = (await db.meta.get(KEY))?.value as StoredSession | undefined;
  return s && typeof s.user?.id === 'string' ? s : null;
}

export async function saveSession(db: ReplicaDB, s: StoredSession | null): Promise<void> {
  if (s === null) await db.meta.delete(KEY);
  else await db.meta.put({ key: KEY, value: s });
}

/** What became of the stored session when a tab let its token go (see `dropStoredToken`). */
export type Dropped =
  | { readonly kind: 'dropped' }
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'newer'; readonly session: StoredSession };

/**
 * Lets `refused` go — the token this tab signed out with, or the one a 401 answered (null when
 * it had none) — in one transaction, since the tabs of a device share the session. Another tab
 * may have signed in since this one last looked: its newer token is kept, not overwritten, and
 * returned for this tab to take. `unchanged` when the stored session already said signed out
 * (and why), so that a signed-out tab's token-less runs write nothing and tell no one.
 */
export async function dropStoredToken(
  db: ReplicaDB,
  refused: string | null,
  user: PublicUser,
  deactivated: boolean,
): Promise<Dropped> {
  return db.transaction('rw', db.meta, async () => {
    const stored = await loadSession(db);
    if (stored && stored.token !== null && stored.token !== refused)
      return { kind: 'newer', session: stored };
    if (
      stored &&
      stored.token === null &&
      stored.user.id === user.id &&
      (stored.deactivated === true) === deactivated
    )
      return { kind: 'unchanged' };
    await saveSession(db, { token: null, user, ...(deactivated ? { deactivated } : {}) });
    return { kind: 'dropped' };
  });
}
