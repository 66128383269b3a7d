import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * A real server process on a real file, killed with SIGKILL again and again while a device
 * pushes. After each restart the device re-sends what was not acknowledged (as the client
 * does). In the end every acknowledged mutation is in the log exactly once, stock equals the
 * number of distinct mutations, and the file passes SQLite's integrity check.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'floorsync-crash-'));
const root = path.resolve(import.meta.dirname, '..');
let child: ChildProcess | undefined;

afterAll(() => {
  child?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function start(): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: root,
      env: {
        ...process.env,
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: dir,
        ADMIN_PASSWORD: 'crash-test-password',
        DEMO: '',
        STORAGE: 'sqlite', // whatever the environment has (ARANGO_URL for its tests, say)
        NATS_URL: '',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = p;
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 20_000);
    p.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      const m = out.match(/"url":"(http:\/\/127\.0\.0\.1:\d+)"/);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    p.stderr?.on('data', (b: Buffer) => (out += b.toString()));
    p.on(
      'exit',
      (code) => code !== null && code !== 0 && reject(new Error(`server exited ${code}: ${out}`)),
    );
  });
}

const kill = () =>
  new Promise<void>((resolve) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });

describe('crash safety', () => {
  it('SIGKILL mid-push, repeatedly: every acknowledged mutation exactly once, file consistent', async () => {
    const group = 'g-crash';
    const clientID = 'c-crash';
    let base = await start();
    const post = async (url: string, body: unknown, token?: string) =>
      fetch(`${base}${url}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify(body),
      });
    const login = async () =>
      (
        (await (
          await post('/api/auth/login', {
            username: 'admin',
            password: 'crash-test-password',
            clientGroupID: group,
          })
        ).json()) as { token: string }
      ).token;
    let token = await login();
    const setup = await post(
      '/sync/push',
      {
        pushVersion: 1,
        clientGroupID: group,
        mutations: [
          {
            clientID: 'c-setup',
            id: 1,
            name: 'definePosition',
            args: { positionId: 'P', code: 'P', kind: 'bin' },
          },
          {
            clientID: 'c-setup',
            id: 2,
            name: 'defineItem',
            args: { itemId: 'A', sku: 'A', name: 'A', tracking: 'none' },
          },
        ],
      },
      token,
    );
    expect(setup.status).toBe(200);

    const acknowledged = new Set<number>();
    let next = 1; // first mutation id not yet acknowledged
    const total = 1500;
    let kills = 0;
    let batchNo = 0;
    let resent = false;
    let committedButUnacknowledged = 0;
    while (next <= total) {
      const batch = Array.from({ length: Math.min(100, total - next + 1) }, (_, i) => ({
        clientID,
        id: next + i,
        name: 'receiveStock',
        args: { itemId: 'A', positionId: 'P', quantity: 1 },
        timestamp: Date.now(),
      }));
      // Every third batch, kill the server while the push is in flight.
      const killer =
        kills < 6 && batchNo++ % 3 === 1
          ? setTimeout(() => void kill(), 5 + Math.floor(Math.random() * 40))
          : undefined;
      let res: Response | undefined;
      try {
        res = await post(
          '/sync/push',
          { pushVersion: 1, clientGroupID: group, mutations: batch },
          token,
        );
      } catch {
        res = undefined; // connection died: the outcome is unknown, the batch will be re-sent
      }
      if (killer) {
        clearTimeout(killer);
        await kill();
        kills++;
        base = await start();
        token = await login();
        resent = true;
        continue;
      }
      expect(res?.status).toBe(200);
      const body = (await res?.json()) as { results: { id: number; status: string }[] };
      for (const r of body.results) {
        expect(['applied', 'duplicate']).toContain(r.status);
        if (resent && r.status === 'duplicate') committedButUnacknowledged++;
        acknowledged.add(r.id);
      }
      resent = false;
      next = Math.max(...body.results.map((r) => r.id)) + 1;
    }
    expect(kills).toBe(6);
    console.info(
      `crash test: ${kills} kills; ${committedButUnacknowledged} mutations were committed before a kill and re-sent as duplicates`,
    );
    expect(acknowledged.size).toBe(total);

    const stock = (await (
      await fetch(`${base}/api/stock?itemId=A&positionId=P`, {
        headers: { authorization: `Bearer ${token}` },
      })
    ).json()) as { quantity: number }[];
    expect(stock[0]?.quantity).toBe(total);
    await kill();

    const db = new Database(path.join(dir, 'floorsync.db'), { readonly: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const perMutation = db
        .prepare(
          'SELECT mutation_id, COUNT(*) AS n FROM events WHERE client_id = ? GROUP BY mutation_id HAVING n <> 1',
        )
        .all(clientID);
      expect(perMutation).toEqual([]);
      const ids = db
        .prepare(
          'SELECT COUNT(DISTINCT mutation_id) AS n, MAX(mutation_id) AS m FROM events WHERE client_id = ?',
        )
        .get(clientID) as { n: number; m: number };
      expect(ids).toEqual({ n: total, m: total });
      const seqs = db.prepare('SELECT seq FROM events ORDER BY seq').pluck().all() as number[];
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
      const lmid = db
        .prepare('SELECT last_mutation_id FROM clients WHERE client_id = ?')
        .pluck()
        .get(clientID);
      expect(lmid).toBe(total);
    } finally {
      db.close();
    }
  }, 120_000);
});
