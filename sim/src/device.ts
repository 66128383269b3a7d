import type { Role } from '@floorsync/domain';
import type { ReplicaDB } from '../../client/src/lib/sync/db.js';
import { openReplica } from '../../client/src/lib/sync/db.js';
import { SyncEngine } from '../../client/src/lib/sync/engine.js';
import type { Link } from './network.js';
import { SIM_BASE } from './server.js';

/**
 * A handheld (an installation of the app): one IndexedDB database shared by its open tabs,
 * each tab a `SyncEngine` of its own over its own Dexie connection — exactly as the engine
 * tests make a second tab. The session (token, user) belongs to the installation.
 */
export interface Tab {
  readonly id: number;
  readonly db: ReplicaDB;
  readonly engine: SyncEngine;
  /** Messages from other tabs not yet handled (BroadcastChannel: 'queue' or 'replica'). */
  readonly inbox: Set<'queue' | 'replica'>;
  /** The last numeric cookie this tab held (never to go back). */
  lastCookie: number | null;
  /**
   * Closed by the user. A real tab's code stops with it; here, work begun in it (floor work
   * run while a request that the engine then abandoned was in flight) may still be awaited
   * elsewhere, and must stop too — see `Simulation.floorWork`.
   */
  closed: boolean;
}

export interface DeviceOptions {
  readonly index: number;
  readonly name: string;
  readonly role: Role;
  readonly username: string;
  readonly fetch: (link: Link) => typeof fetch;
  readonly now: () => Date;
  readonly newId: () => string;
  readonly batchSize: number;
  readonly pullLimit: number | undefined;
  /** Told of every cookie a tab moves to (for the monotonicity check). */
  readonly onCookie: (device: SimDevice, tab: Tab, before: number | null, after: number) => void;
}

export class SimDevice {
  readonly link: Link = { online: true };
  readonly session: {
    token: string | null;
    user: { id: string; role: Role } | null;
  } = { token: null, user: null };
  username: string;
  tabs: Tab[] = [];
  /** The last 401 is not answered by a sign-in yet. */
  needsSignIn = false;
  clientGroupID = '';
  /** The installation's secret (kept with the replica, as the app keeps it): sent at sign-in. */
  deviceSecret = '';
  clientID = '';
  private nextTab = 1;
  private readonly transport: typeof fetch;

  constructor(readonly o: DeviceOptions) {
    this.username = o.username;
    this.transport = o.fetch(this.link);
  }

  get name(): string {
    return this.o.name;
  }
  get role(): Role {
    return this.o.role;
  }

  /** Opens a tab (or the app after it was closed): a new connection and engine on the database. */
  async openTab(): Promise<Tab> {
    const db = openReplica(this.o.name);
    const holder: { tab?: Tab } = {};
    const engine = await SyncEngine.open({
      db,
      baseUrl: SIM_BASE,
      fetch: this.transport,
      token: () => this.session.token,
      user: () => this.session.user,
      now: this.o.now,
      newId: this.o.newId,
      batchSize: this.o.batchSize,
      ...(this.o.pullLimit !== undefined ? { pullLimit: this.o.pullLimit } : {}),
      onChange: () => {
        const tab = holder.tab;
        if (!tab) return;
        const c = tab.engine.pullCookie;
        if (typeof c !== 'number') return;
        this.o.onCookie(this, tab, tab.lastCookie, c);
        tab.lastCookie = c;
      },
    });
    const cookie = engine.pullCookie;
    const tab: Tab = {
      id: this.nextTab++,
      db,
      engine,
      inbox: new Set(),
      lastCookie: typeof cookie === 'number' ? cookie : null,
      closed: false,
    };
    holder.tab = tab;
    this.clientGroupID = engine.clientGroupID;
    this.deviceSecret = engine.deviceSecret;
    this.clientID = engine.clientID;
    this.tabs.push(tab);
    return tab;
  }

  closeTab(tab: Tab): void {
    tab.closed = true;
    tab.db.close();
    this.tabs = this.tabs.filter((t) => t !== tab);
  }

  closeAll(): void {
    for (const t of [...this.tabs]) this.closeTab(t);
  }

  /** Tells the other tabs (BroadcastChannel): they re-read the queue or the whole replica. */
  broadcast(from: Tab, what: 'queue' | 'replica'): void {
    for (const t of this.tabs) if (t !== from) t.inbox.add(what);
  }
}
