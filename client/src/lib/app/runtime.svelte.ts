import type { PublicUser } from '@floorsync/domain';
import { openReplica } from '$lib/sync/db.js';
import type { OutcomeRow, ReplicaDB } from '$lib/sync/db.js';
import { SyncEngine } from '$lib/sync/engine.js';
import type { SyncProgress } from '$lib/sync/engine.js';
import { listenForPokes, pokeNeedsSync } from '$lib/sync/pokes.js';
import { SyncScheduler } from '$lib/sync/scheduler.js';
import type { SyncState } from '$lib/sync/scheduler.js';
import { ApiError, api } from './api.js';
import type { Dropped, StoredSession } from './session.js';
import { dropStoredToken, loadSession, saveSession } from './session.js';

/**
 * The app's one runtime: the replica, the sync engine, the scheduler and the poke listener,
 * wired to the browser (online/offline, focus, visibility, Web Locks, other tabs), with the
 * state screens render as Svelte 5 runes. Created once by the root layout.
 */
class Runtime {
  ready = $state(false);
  bootError = $state<string | null>(null);
  user = $state<PublicUser | null>(null);
  /** True while a token is held; false after sign-out or a 401 (the user stays known). */
  signedIn = $state(false);
  /** The server said the user's account is deactivated: signing in again cannot help. */
  deactivated = $state(false);
  sync = $state<SyncState>({
    status: 'idle',
    lastSyncedAt: null,
    message: null,
    retryAt: null,
    progress: null,
  });
  online = $state(typeof navigator === 'undefined' ? true : navigator.onLine);
  pending = $state(0);
  /** Bumped on every change of the replica: screens derive from `engine` reading this. */
  version = $state(0);
  outcomes = $state<OutcomeRow[]>([]);
  persisted = $state<boolean | null>(null);

  engine: SyncEngine | null = null;
  db: ReplicaDB | null = null;
  private token: string | null = null;
  private scheduler: SyncScheduler | null = null;
  private pokes: AbortController | null = null;
  private channel: BroadcastChannel | null = null;

  async boot(): Promise<void> {
    if (this.engine) return;
    try {
      // The app was updated in another tab, which upgrades the database: this tab's code is
      // for a schema that is gone. Its connection is closed (the upgrade proceeds) and it
      // reloads onto the new version; its queued scans are in the database and stay.
      this.db = openReplica(undefined, { onVersionChange: () => location.reload() });
      const stored = await loadSession(this.db);
      if (stored) {
        this.user = stored.user;
        this.token = stored.token;
        this.signedIn = stored.token !== null;
        this.deactivated = stored.token === null && stored.deactivated === true;
      }
      this.engine = await SyncEngine.open({
        db: this.db,
        baseUrl: '',
        token: () => this.token,
        user: () => (this.user ? { id: this.user.id, role: this.user.role } : null),
        onChange: () => this.changed(),
        appVersion: __APP_VERSION__,
      });
      const withLock = locks();
      this.scheduler = new SyncScheduler({
        sync: (onProgress: (p: SyncProgress) => void) =>
          this.engine ? this.engine.sync(onProgress) : Promise.resolve(),
        push: async (onProgress: (p: SyncProgress) => void) => {
          await this.engine?.push((p) => onProgress({ phase: 'push', ...p }));
        },
        ...(withLock ? { withLock } : {}),
        lastSyncedAt: readLastSynced(),
        deactivated: this.deactivated,
        onState: (s) => {
          this.sync = s;
          if (s.status === 'signed-out')
            void this.dropToken(s.message?.key === 'sync.message.deactivated');
          if (s.status === 'idle') void this.loadOutcomes();
        },
      });
      this.sync = this.scheduler.current; // the last sync kept from before a restart
      this.listen();
      this.changed();
      await this.loadOutcomes();
      void navigator.storage
        ?.persist?.()
        .then((p) => (this.persisted = p))
        .catch(() => (this.persisted = false));
      this.ready = true;
      if (this.signedIn) this.startSyncing();
    } catch (e) {
      this.bootError = e instanceof Error ? e.message : String(e);
    }
  }

  get clientGroupID(): string | null {
    return this.engine?.clientGroupID ?? null;
  }
  get deviceSecret(): string | null {
    return this.engine?.deviceSecret ?? null;
  }
  get authToken(): string | null {
    return this.token;
  }

  async login(username: string, password: string): Promise<void> {
    const res = await api<{ token: string; user: PublicUser }>(null, '/api/auth/login', {
      json: {
        username,
        password,
        clientGroupID: this.clientGroupID ?? undefined,
        deviceSecret: this.deviceSecret ?? undefined,
      },
    });
    this.token = res.token;
    this.user = res.user;
    this.signedIn = true;
    this.deactivated = false;
    if (this.db) await saveSession(this.db, { token: res.token, user: res.user });
    this.channel?.postMessage('session');
    this.startSyncing();
  }

  /** Signs out. Queued scans stay on the device and are sent by the next sign-in. */
  async logout(): Promise<void> {
    const token = this.token;
    const dropped = this.dropToken(false, true);
    this.stopPokes();
    // Also the token another tab signed in with that this one had not taken yet: signed out
    // here is signed out on this device.
    const r = await dropped;
    const other = r && r.kind !== 'newer' ? r.other : undefined;
    for (const t of [token, other])
      if (t) await api(t, '/api/auth/logout', { method: 'POST' }).catch(() => undefined);
  }

  /** Queues a command (one Dexie transaction), then asks for a sync. */
  async mutate(name: string, args: Record<string, unknown>) {
    if (!this.engine) throw new Error('not ready');
    const r = await this.engine.mutate(name, args);
    this.queued();
    return r;
  }

  /** Queues a scan unless the device already refuses it (see `SyncEngine.scan`). */
  async scan(name: string, args: Record<string, unknown>) {
    if (!this.engine) throw new Error('not ready');
    const r = await this.engine.scan(name, args);
    if (r.queued) this.queued();
    return r;
  }

  /** Queues several scans all or none (see `SyncEngine.scanAll`). */
  async scanAll(commands: readonly { name: string; args: Record<string, unknown> }[]) {
    if (!this.engine) throw new Error('not ready');
    const r = await this.engine.scanAll(commands);
    if (r.queued && r.ids.length > 0) this.queued();
    return r;
  }

  private queued(): void {
    this.channel?.postMessage('queue');
    // Sent when the scanning pauses (or every few seconds of a burst): a sync's work never
    // sits between two scans of a wedge scanner.
    this.scheduler?.noteActivity();
    void this.scheduler?.request();
  }

  requestSync(): void {
    void this.scheduler?.request();
  }

  async dismissOutcome(key: string): Promise<void> {
    await this.db?.outcomes.delete(key);
    await this.loadOutcomes();
  }

  private changed(): void {
    // Mutations left the queue (confirmed by a pull, here or in another tab): what the server
    // said of them was stored at their push — read first, then shown together, so that a
    // screen never shows a refused scan as done, not even for a moment.
    if ((this.engine?.pending ?? 0) < this.pending) {
      void this.loadOutcomes()
        .catch(() => undefined)
        .finally(() => this.show());
      return;
    }
    this.show();
  }

  private show(): void {
    this.pending = this.engine?.pending ?? 0;
    this.version++;
  }

  private async loadOutcomes(): Promise<void> {
    if (!this.db) return;
    this.outcomes = (await this.db.outcomes.toArray()).sort((a, b) => b.mutationID - a.mutationID);
  }

  private async dropToken(deactivated = false, signOut = false): Promise<Dropped | null> {
    const refused = this.token;
    this.token = null;
    this.signedIn = false;
    this.deactivated = deactivated;
    if (!this.user || !this.db) return null;
    try {
      // A plain copy: IndexedDB cannot store the reactive proxy (DataCloneError).
      const user = $state.snapshot(this.user);
      const r = await dropStoredToken(this.db, refused, user, deactivated, signOut);
      // Another tab signed in since this one last looked (the 401 was for the old token).
      if (r.kind === 'newer') this.follow(r.session);
      else {
        if (!this.signedIn && r.deactivated && !deactivated) {
          // Said before, by another tab: this one says so too.
          this.deactivated = true;
          this.scheduler?.signedOutElsewhere(true);
        }
        if (r.kind === 'dropped') this.channel?.postMessage('session');
      }
      return r;
    } catch {
      return null; // the database closed (an upgrade reloads this tab)
    }
  }

  /**
   * What another tab did to the session the tabs share — signed in (this one syncs with its
   * token), signed out, or was told the account is deactivated — this one does too, at once.
   */
  private follow(stored: StoredSession): void {
    const before = this.token;
    const wasDeactivated = this.deactivated;
    this.user = stored.user;
    this.token = stored.token;
    this.signedIn = stored.token !== null;
    this.deactivated = stored.token === null && stored.deactivated === true;
    if (this.signedIn) {
      if (this.token === before) return;
      this.stopPokes(); // listening with the old token
      this.startSyncing();
      return;
    }
    if (before !== null) this.stopPokes();
    if (before !== null || this.deactivated !== wasDeactivated)
      this.scheduler?.signedOutElsewhere(this.deactivated);
  }

  private startSyncing(): void {
    this.scheduler?.signedIn(); // a run of the old session signs nothing out
    this.requestSync();
    if (this.pokes) return;
    this.pokes = new AbortController();
    void listenForPokes({
      baseUrl: '',
      token: () => this.token,
      onPoke: (head) => {
        const e = this.engine;
        if (!e || pokeNeedsSync(head, e.pullCookie, e.pending)) this.requestSync();
      },
      signal: this.pokes.signal,
    });
  }

  private stopPokes(): void {
    this.pokes?.abort();
    this.pokes = null;
  }

  private listen(): void {
    addEventListener('online', () => {
      this.online = true;
      this.requestSync();
    });
    addEventListener('offline', () => (this.online = false));
    addEventListener('focus', () => this.requestSync());
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.requestSync();
    });
    // Other tabs of this installation share the replica: re-read it when they change it.
    if (typeof BroadcastChannel !== 'undefined') {
      this.channel = new BroadcastChannel('floorsync');
      this.channel.onmessage = (e: MessageEvent) => {
        if (e.data === 'session') {
          if (this.db)
            void loadSession(this.db)
              .then((stored) => stored && this.follow(stored))
              .catch(() => undefined);
          return;
        }
        void this.engine?.refresh(e.data === 'queue' ? 'queue' : 'replica');
        // Its sync is this device's last one too (taken as seen here: not told back).
        const at = readLastSynced();
        if (e.data !== 'queue' && at !== null && this.scheduler) {
          this.scheduler.syncedElsewhere(at);
          last = this.scheduler.current.lastSyncedAt;
        }
      };
    }
    // The tab that synced tells the others (after each run that pulled or pushed), and keeps
    // the time for the badge after a restart.
    let last = this.sync.lastSyncedAt;
    $effect.root(() => {
      $effect(() => {
        const at = this.sync.lastSyncedAt;
        if (at !== last) {
          last = at;
          if (at !== null) writeLastSynced(at);
          this.channel?.postMessage('replica');
        }
      });
    });
  }
}

/** When this device last synced (any tab), kept for the badge across restarts. */
const LAST_SYNCED_KEY = 'floorsync.lastSyncedAt';

function readLastSynced(): string | null {
  try {
    const at = typeof localStorage !== 'undefined' ? localStorage.getItem(LAST_SYNCED_KEY) : null;
    return at !== null && !Number.isNaN(Date.parse(at)) ? at : null;
  } catch {
    return null; // storage blocked: the badge says "never" until this tab syncs
  }
}

function writeLastSynced(at: string): void {
  try {
    localStorage.setItem(LAST_SYNCED_KEY, at);
  } catch {
    // storage blocked or full: only the badge's "last synced" after a restart is lost
  }
}

/** One tab syncs at a time: the others skip their turn while the lock is held. */
function locks(): ((fn: () => Promise<void>) => Promise<boolean>) | undefined {
  if (typeof navigator === 'undefined' || !('locks' in navigator)) return undefined;
  return (fn) =>
    navigator.locks.request('floorsync-sync', { ifAvailable: true }, async (lock) => {
      if (!lock) return false;
      await fn();
      return true;
    });
}

export const runtime = new Runtime();
export { ApiError };
