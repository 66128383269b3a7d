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
