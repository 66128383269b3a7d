import { describe, expect, it } from 'vitest';
import { argon2Hasher } from './auth/passwords.js';
import { WORKER_USERNAME, ensureWorkerUser } from './bootstrap.js';
import { openMemoryStorage } from './storage/memory/memory-storage.js';

describe('the worker service account', () => {
  it('a new password signs it out everywhere; the same password (another server starting) leaves its sessions', async () => {
    const storage = openMemoryStorage();
    const hasher = argon2Hasher({ memoryCost: 1024, timeCost: 1 });
    let n = 0;
    const o = { storage, hasher, clock: () => new Date(), newId: () => `id-${++n}` };
    await ensureWorkerUser({ ...o, password: 'first-worker-password' });
    const worker = await storage.read((tx) => tx.userByUsername(WORKER_USERNAME));
    expect(worker).toMatchObject({ role: 'supervisor', active: true });
    const session = (tokenHash: string) => ({
      tokenHash,
      userId: worker!.id,
      clientGroupID: null,
      createdAt: new Date().toISOString(),
      expiresAt: new Date(Date.now() + 3600_000).toISOString(),
      revoked: false,
    });
    await storage.write((tx) => tx.createSession(session('t-1')));
    const revoked = (t: string) => storage.read((tx) => tx.session(t)?.revoked);

    await ensureWorkerUser({ ...o, password: 'first-worker-password' });
    expect(await revoked('t-1')).toBe(false);

    await ensureWorkerUser({ ...o, password: 'rotated-worker-password' });
    expect(await revoked('t-1')).toBe(true);
    const after = await storage.read((tx) => tx.userByUsername(WORKER_USERNAME));
    expect(after?.id).toBe(worker!.id);
    expect(await hasher.verify(after!.passwordHash, 'rotated-worker-password')).toBe(true);
    expect(await storage.read((tx) => tx.users().length)).toBe(1);

    // Two servers starting at once with a new password: the second one's write finds the first
    // one's change and leaves it (and the session a worker took in between) alone.
    const racing = ensureWorkerUser({ ...o, password: 'third-worker-password' });
    const other = ensureWorkerUser({ ...o, password: 'third-worker-password' });
    await Promise.all([racing, other]);
    await storage.write((tx) => tx.createSession(session('t-2')));
    await ensureWorkerUser({ ...o, password: 'third-worker-password' });
    expect(await revoked('t-2')).toBe(false);
    await storage.close();
  });
});
