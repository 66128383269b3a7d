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
  | {
      readonly kind: 'dropped' | 'unchanged';
      /** Whether the stored session now says the account is deactivated. */
      readonly deactivated: boolean;
      /** A sign-out's: another tab's newer token, dropped too (revoke it as well). */
      readonly other?: string;
    }
  | { readonly kind: 'newer'; readonly session: StoredSession };

/**
 * Lets `refused` go — the token this tab signed out with, or the one a 401 answered (null when
 * it had none) — in one transaction, since the tabs of a device share the session. Another tab
 * may have signed in since this one last looked: its newer token is kept, not overwritten, and
 * returned for this tab to take — unless this is a sign-out (`signOut`), which signs the
 * device out whichever token is stored. "Deactivated" stays said until a sign-in (a tab that
 * was not told keeps it). `unchanged` when the stored session already said all that, so that a
 * signed-out tab's token-less runs write nothing and tell no one.
 */
export async function dropStoredToken(
  db: ReplicaDB,
  refused: string | null,
  user: PublicUser,
  deactivated: boolean,
  signOut = false,
): Promise<Dropped> {
  return db.transaction('rw', db.meta, async (): Promise<Dropped> => {
    const stored = await loadSession(db);
    const other = stored && stored.token !== null && stored.token !== refused ? stored.token : null;
    if (stored && other !== null && !signOut) return { kind: 'newer', session: stored };
    const same = stored !== null && stored.token === null && stored.user.id === user.id;
    const d = deactivated || (same && stored.deactivated === true);
    if (same && (stored.deactivated === true) === d) return { kind: 'unchanged', deactivated: d };
    await saveSession(db, { token: null, user, ...(d ? { deactivated: true } : {}) });
    return { kind: 'dropped', deactivated: d, ...(other !== null ? { other } : {}) };
  });
}
