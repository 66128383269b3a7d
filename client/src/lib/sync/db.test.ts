import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { openReplica } from './db.js';

/** Opens `name` at `version` as a newer app would (an upgrade elsewhere): resolves when open. */
const upgradeElsewhere = (name: string, version: number) =>
  new Promise<IDBDatabase>((resolve, reject) => {
    const req = indexedDB.open(name, version);
    req.onupgradeneeded = () => undefined;
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('open failed'));
    req.onblocked = () => reject(new Error('blocked: the old tab kept the database open'));
  });

describe('the replica when another tab upgrades it', () => {
  it('closes its connection (the upgrade is not blocked) and tells the app, which reloads', async () => {
    const name = `replica-versionchange-${Date.now()}`;
    let told = 0;
    const db = openReplica(name, { onVersionChange: () => told++ });
    await db.outbox.count(); // opened
    const newer = await upgradeElsewhere(name, db.verno * 10 + 10);
    expect(told).toBe(1);
    expect(db.isOpen()).toBe(false);
    await expect(db.outbox.count()).rejects.toMatchObject({ name: 'DatabaseClosedError' });
    newer.close();
  });

  it('without a listener, Dexie closes it anyway: the upgrade is not blocked', async () => {
    const name = `replica-versionchange-default-${Date.now()}`;
    const db = openReplica(name);
    await db.outbox.count();
    const newer = await upgradeElsewhere(name, db.verno * 10 + 10);
    expect(db.isOpen()).toBe(false);
    newer.close();
  });
});
