import 'fake-indexeddb/auto';
import { Dexie } from 'dexie';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import type { Role } from '@floorsync/domain';
import { afterEach, describe, expect, it } from 'vitest';
import { openReplica } from '../../client/src/lib/sync/db.js';
import type { ReplicaDB } from '../../client/src/lib/sync/db.js';
import { RetryableError, SyncEngine } from '../../client/src/lib/sync/engine.js';
import type { SimDevice, Tab } from './device.js';
import { Prng, idGenerator } from './prng.js';
import { ADMIN_PASSWORD, SIM_BASE, SimServer } from './server.js';

/**
 * What the simulator found: findings 1 and 2 as the smallest directed scenario that shows
 * them, the later ones as their seeds, run with the workload they were found with (README.md
 * has each). Findings 1 and 2 are fixed in the engine (a page is written only onto the replica
 * it was asked for — a compare-and-set on the stored cursor — and only an answer to what was
 * asked is applied); these are their regression tests.
 */
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function world() {
  Dexie.dependencies.indexedDB = new IDBFactory();
  Dexie.dependencies.IDBKeyRange = IDBKeyRange;
  const clock = { ms: Date.parse('2026-11-25T06:00:00Z') };
  const server = await SimServer.create({
    clock: () => new Date(clock.ms),
    newId: idGenerator(new Prng(1), () => clock.ms),
    onPoke: () => {},
  });
  cleanups.push(() => server.dispose());
  const admin = await server.login('admin', ADMIN_PASSWORD);
  for (const [username, role] of [
    ['sup1', 'supervisor'],
    ['op1', 'operator'],
  ] as const)
    await server.json('/api/users', admin.token, {
      method: 'POST',
      body: JSON.stringify({ username, password: `${username}-password`, name: username, role }),
    });
  const sup = await server.login('sup1', 'sup1-password');
  let id = 0;
  /** Another device's scans, straight to the server. */
  const push = async (...mutations: { name: string; args: Record<string, unknown> }[]) =>
    server.json('/sync/push', sup.token, {
      method: 'POST',
      body: JSON.stringify({
        pushVersion: 1,
        clientGroupID: 'g-other',
        mutations: mutations.map((m) => ({ clientID: 'c-other', id: ++id, ...m })),
      }),
    });
  await push(
    { name: 'definePosition', args: { positionId: 'B1', code: 'B1', kind: 'bin' } },
    { name: 'definePosition', args: { positionId: 'B3', code: 'B3', kind: 'bin' } },
    { name: 'defineItem', args: { itemId: 'A', sku: 'A', name: 'A', tracking: 'none' } },
    { name: 'defineItem', args: { itemId: 'B', sku: 'B', name: 'B', tracking: 'none' } },
    { name: 'receiveStock', args: { itemId: 'A', positionId: 'B1', quantity: 40 } },
  );

  /**
   * The network of the handheld: `dropAnswer(n)` loses the answer to the n-th pull from now;
   * `replay(answer)` answers the next pull with an earlier answer (a replaying proxy).
   */
  let pulls = 0;
  let dropAt = -1;
  let replayed: string | null = null;
  const answers: string[] = [];
  const fetchFn: typeof fetch = async (input, init) => {
    const url = input instanceof Request ? input.url : input instanceof URL ? input.href : input;
    if (!url.endsWith('/sync/pull')) return server.deliver(url, init);
    pulls++;
    if (replayed !== null) {
      const text = replayed;
      replayed = null;
      return new Response(text, { status: 200, headers: { 'content-type': 'application/json' } });
    }
    const res = await server.deliver(url, init);
    if (pulls === dropAt) throw new TypeError('connection reset after the server answered');
    const text = await res.text();
    answers.push(text);
    return new Response(text, { status: res.status, headers: res.headers });
  };
  const dropAnswer = (n: number) => {
    dropAt = pulls + n;
  };
  const replay = (answer: string) => {
    replayed = answer;
  };

  const name = 'handheld';
  const session = { token: null as string | null, user: null as { id: string; role: Role } | null };
  /** A tab of the handheld: its own Dexie connection and engine on the shared database. */
  const tab = async (): Promise<{ db: ReplicaDB; engine: SyncEngine }> => {
    const db = openReplica(name);
    cleanups.push(() => db.close());
    const engine = await SyncEngine.open({
      db,
      baseUrl: SIM_BASE,
      fetch: fetchFn,
      token: () => session.token,
      user: () => session.user,
      now: () => new Date(clock.ms),
      pullLimit: 1,
    });
    return { db, engine };
  };
  const signIn = async (engine: SyncEngine) => {
    const r = await server.login('op1', 'op1-password', engine.clientGroupID);
    session.token = r.token;
    session.user = r.user;
  };
  const stockAt = async (item: string, position: string) =>
    (
      await server.json<{ quantity: number }[]>(
        `/api/stock?itemId=${item}&positionId=${position}`,
        admin.token,
      )
    ).reduce((s, l) => s + l.quantity, 0);
  return { server, push, tab, signIn, dropAnswer, replay, answers, stockAt };
}

/** The call failed as a lost answer makes it fail (false: it did something else). */
const rejectsRetryable = (p: Promise<unknown>): Promise<boolean> =>
  p.then(
    () => false,
    (e: unknown) => e instanceof RetryableError,
  );

const qty = (engine: SyncEngine, item: string, position: string) =>
  engine.confirmedView.quantity(item as never, position as never, null, null);

describe('findings of the simulator', () => {
  // Finding 1 (README; `npm run soak -- --seeds 20` fails seeds 1, 2, 4, 6, 7, 8, 14, 17, 19
  // with it, e.g. `--seed 2 --steps 121`; seed 14 ends with wrong stock): every tab pulls from
  // its own in-memory cookie and writes the shared replica without checking where the
  // persisted cursor is. A tab that missed another tab's pull (that tab's sync failed midway,
  // so nothing was broadcast) pulls from further back: the cursor goes backwards, and entries
  // the other tab had brought further are written back to older values. If that pull is cut
  // short too, the other tab carries on from its own cookie and never rewrites them: the
  // replica on disk is wrong for good, and every tab that re-reads it (a restart) shows it.
  it('a stale tab’s interrupted pull leaves the shared replica behind the server for good', async () => {
    const w = await world();
    const a = await w.tab();
    const b = await w.tab();
    await w.signIn(a.engine);
    await a.engine.sync();
    await b.engine.refresh('replica'); // both tabs at the head, A@B1 = 40
    const head0 = a.engine.pullCookie as number;

    await w.push(
      { name: 'receiveStock', args: { itemId: 'A', positionId: 'B1', quantity: 1 } },
      { name: 'receiveStock', args: { itemId: 'A', positionId: 'B1', quantity: 2 } },
      { name: 'receiveStock', args: { itemId: 'B', positionId: 'B3', quantity: 4 } },
    );
    // Tab A pulls one page at a time; the answer to its third page is lost: A is at head0 + 2
    // (A@B1 = 43 written), and its sync failed, so it tells the other tab nothing.
    w.dropAnswer(3);
    expect(await rejectsRetryable(a.engine.pull())).toBe(true);
    expect(a.engine.pullCookie).toBe(head0 + 2);
    // Tab B still thinks it is at head0. Its first page (A@B1 = 41) is written over A's 43,
    // with the cursor at head0 + 1; the answer to its second page is lost.
    w.dropAnswer(2);
    // (Since the fix, B's first page finds the cursor moved on: B reads the replica again
    // and pulls from A's position, so its pull may even succeed.)
    await b.engine.pull().catch((e: unknown) => {
      if (!(e instanceof RetryableError)) throw e;
    });
    const cursor = await b.db.cursor.get('pull');
    // Tab A carries on from its own cookie: only B@B3 changes after it.
    await a.engine.pull();
    expect(a.engine.pullCookie).toBe(head0 + 3);
    expect(qty(a.engine, 'A', 'B1')).toBe(43);
    // The app restarts: the replica on disk says 41, and nothing will ever correct it.
    const c = await w.tab();
    expect(cursor?.cookie).toBeGreaterThanOrEqual(head0 + 2); // the persisted cursor never goes back
    expect(qty(c.engine, 'A', 'B1')).toBe(await w.stockAt('A', 'B1'));
  });

  // Finding 2 (README; `npm run soak -- --seed 16 --steps 5 --hostile-proxy
  // --refresh-before-sync` shows a replayed reset page moving a tab back): an answer replayed by the network is ignored when it is
  // behind the tab's numeric cookie (engine.ts `isStaleAgainst`), but a tab that has no
  // cookie yet (a second tab opened on a new handheld before the first one's reset was
  // announced) takes any page as its answer: an old events page, applied without a `clear`
  // onto nothing, is written over the shared replica's entries with the head as cursor.
  it('a replayed events page in answer to a tab’s reset request overwrites the shared replica', async () => {
    const w = await world();
    const a = await w.tab();
    const b = await w.tab(); // opened at once: no cookie, it has heard of nothing
    await w.signIn(a.engine);
    await a.engine.pull(); // the reset, page by page
    await w.push({ name: 'receiveStock', args: { itemId: 'A', positionId: 'B1', quantity: 1 } });
    await a.engine.pull(); // an events page: A@B1 40 → 41
    const eventsPage = w.answers.at(-1) as string;
    expect(b.engine.pullCookie).toBeNull();
    expect(qty(a.engine, 'A', 'B1')).toBe(41);
    w.replay(eventsPage); // tab B's reset request gets that page back
    await b.engine.pull();
    const c = await w.tab(); // the app restarts
    expect(qty(c.engine, 'A', 'B1')).toBe(await w.stockAt('A', 'B1'));
  });
});

// Findings 1 and 2 as the seeds that found them (the directed scenarios above show the
// mechanism; these are the runs themselves, with the workload they were found with).
describe('findings 1 and 2: the seeds', () => {
  for (const [seed, steps] of [
    [2, 121],
    [14, 300],
  ] as const)
    it(`finding 1, seed ${seed}, 4 devices, ${steps} steps: the shared replica never goes back`, async () => {
      const { runSeed } = await import('./sim.js');
      const r = await runSeed({ seed, devices: 4, steps, workload: 1 });
      expect(r.violations).toEqual([]);
      expect(r.stats.mutations).toBeGreaterThan(0);
    });

  it('finding 2, seed 16, 5 steps, a hostile proxy: an answer to another request is not applied', async () => {
    const { runSeed } = await import('./sim.js');
    const r = await runSeed({
      seed: 16,
      devices: 4,
      steps: 5,
      workload: 1,
      hostileProxy: true,
      refreshBeforeSync: true,
    });
    expect(r.violations).toEqual([]);
    expect(r.stats.faults['staleReplay'] ?? 0).toBeGreaterThan(0);
  });
});

// Finding 3 (README; `npm run soak -- --seed 350 --devices 4 --steps 67`): a supervisor
// reversed a serial's shipment after an operator, offline, had found the serial and adjusted
// it back in (+1 at the same bin). The reversal put the serial into stock a second time, with
// no conflict: reversals did not check where a serial already is. Fixed in the domain
// (`reverseMovement` refuses with SERIAL_ELSEWHERE); its directed test is in
// domain/src/inventory/decide.test.ts. Here the seed itself, at its shortest and in full.
describe('finding 3: a reversed shipment of a serial already found again', () => {
  for (const steps of [67, 300])
    it(`seed 350, 4 devices, ${steps} steps: no serial in two places`, async () => {
      const { runSeed } = await import('./sim.js');
      const r = await runSeed({ seed: 350, devices: 4, steps, workload: 1 });
      expect(r.violations).toEqual([]);
      expect(r.stats.mutations).toBeGreaterThan(0);
    });
});

// Finding 4 (README; `npm run soak -- --seed 4`): the first device to join mid-run — the
// admin's, in the reconciliation — bootstrapped from a snapshot in pages while a counting
// session was live. Snapshot keys sort count-line < count-position < count-session, so a line
// and a position came on a page before their session, and the engine dropped them as lines of
// no live session: the device then held the session without its lines and never followed its
// counts. Fixed in the client (`counting-replica.ts` keeps lines and positions whose session
// has not come yet); its directed test is in client/src/lib/sync/engine.test.ts.
describe('finding 4: a device bootstrapping in pages during a count', () => {
  for (const seed of [4, 8])
    it(`seed ${seed}, 4 devices, 300 steps and the reconciliation: the admin's device holds every count`, async () => {
      const { runSeed } = await import('./sim.js');
      const r = await runSeed({ seed, devices: 4, steps: 300, workload: 1 });
      expect(r.violations).toEqual([]);
      expect(r.traceTail.join('\n')).toMatch(/d4/); // the admin's device took part
      expect(r.stats.eventTypes['ConflictResolved'] ?? 0).toBeGreaterThan(0);
    });
});

// Finding 5 (README; `npm run soak -- --seed 20`): the admin compensated a serial conflict by
// taking the serial out of one place while it was in two more (B4 once, T1 twice): the
// conflict was resolved, and the serial stayed in stock three times with nothing open. Fixed
// in the domain: a resolution of a serial-elsewhere conflict — accept, dismiss, or a
// compensation or re-application that would not leave the serial in one place — is refused
// (SERIAL_ELSEWHERE); directed tests in domain/src/sync/decide.test.ts.
describe('finding 5: a compensation that leaves a serial in two places', () => {
  it('seed 20, 4 devices, 300 steps and the reconciliation: no serial in two places', async () => {
    const { runSeed } = await import('./sim.js');
    const r = await runSeed({ seed: 20, devices: 4, steps: 300, workload: 1 });
    expect(r.violations).toEqual([]);
    expect(r.stats.eventTypes['ConflictResolved'] ?? 0).toBeGreaterThan(0);
  });
});

// Finding 6 (README; `npm run soak -- --seed 90214`, workload 3): a supervisor reversed a
// job's production. The server lowered the job's `produced` count (its fold finds the job in
// its trace of the movement); devices kept the old count: a device folds jobs from production
// events only, and one that signed in after the production has no trace of it to find the
// job by. Fixed in the domain: the reversal names the job (`producedBy`), and devices fold it
// (`changesJobs` in client/src/lib/sync/production-replica.ts). Directed tests in
// domain/src/production/decide.test.ts and client/src/lib/sync/engine.test.ts.
describe('finding 6: a reversed production and the job on the devices', () => {
  for (const seed of [90214, 90089])
    it(`seed ${seed}, 4 devices, 300 steps, workload 3: every device's job count is the server's`, async () => {
      const { runSeed } = await import('./sim.js');
      const r = await runSeed({ seed, devices: 4, steps: 300, workload: 3 });
      expect(r.violations).toEqual([]);
      expect(r.stats.eventTypes['MovementReversed'] ?? 0).toBeGreaterThan(0);
      expect(r.stats.eventTypes['StockProduced'] ?? 0).toBeGreaterThan(0);
    });
});

// Finding 7 (README; found as `npm run soak -- --seed 95012 --steps 202`): a harness fault, not
// a product one. A tab's pull had prefetched its next page; that request drew "floor work
// meanwhile" on d1/t2 (four count scans) and was then abandoned by the engine (the page before
// it could not be applied), so the sync ended while the floor work went on. The scheduler
// closed d1/t2, and the rest of the work was queued on its closed database. In a browser a
// closed tab's code stops; the simulator now stops a closed tab's work and syncs, and an error
// in a tab closed meanwhile is not the product's.
//
// The seed was trace-exact: since pull pages end before a mutation the limit would cut, seed
// 95012 no longer gets there, and the soak's situation report
// (`closedTabWork`) has not yet named a seed that does — so the fix is checked directly: floor
// work whose tab closes after its first scan.
describe('finding 7: floor work in a tab closed while it runs', () => {
  it('directed: a tab closed after the first scan of its floor work scans nothing more, and nothing fails', async () => {
    const { Simulation } = await import('./sim.js');
    const lines: string[] = [];
    const closedLine = (l: string) => /was closed: \w+ and what follows are not scanned/.test(l);
    const sim = new Simulation({ seed: 7, devices: 3, steps: 150, onTrace: (l) => lines.push(l) });
    try {
      await sim.setUp();
      // A while of the ordinary run first, so that counts are open (a count is several scans).
      for (let n = 1; n <= 150; n++) await sim.step(n);
      const inside = sim as unknown as {
        devices: SimDevice[];
        floorWork(d: SimDevice, t: Tab): Promise<void>;
      };
      const d = inside.devices[1] as SimDevice;
      // Floor work is one command or several (a count is several): try until it is several.
      for (let attempt = 0; attempt < 60 && !lines.some(closedLine); attempt++) {
        const t = await d.openTab();
        let commands = 0;
        for (const m of ['scan', 'mutate'] as const) {
          const original = t.engine[m].bind(t.engine) as (...args: unknown[]) => Promise<unknown>;
          t.engine[m] = (async (...args: unknown[]) => {
            const nth = ++commands;
            try {
              return await original(...args);
            } finally {
              if (nth === 1) d.closeTab(t); // the scheduler closes it meanwhile
            }
          }) as never;
        }
        await inside.floorWork(d, t);
        expect(commands).toBeLessThanOrEqual(1); // nothing after the close reached the engine
      }
      expect(lines.some(closedLine)).toBe(true);
      // And the run ends as every run does: quiescence, then every invariant.
      await sim.quiesce();
      await sim.check();
      const r = sim.result();
      expect(r.violations).toEqual([]);
      expect(r.stats.situations.closedTabWork).toBe(1);
    } finally {
      await sim.tearDown();
    }
  });
});
