import type { JobEnvelope } from '@floorsync/domain';
import { jobProblem, jobProblemText } from '@floorsync/domain';
import { JobInterruptedError, SyncApi, applyCountSessionJob } from '@floorsync/workers';
import { afterEach, describe, expect, it } from 'vitest';
import type { TestServer } from './harness.js';
import type { Device } from './harness.js';
import { quantityAt, warehouseWithOperators } from './harness.js';
import ExcelJS from 'exceljs';
import { worksheetName } from '../src/counting/routes.js';

/**
 * Counting sessions end to end on the server (scenarios 19–22 of SCENARIOS.md): counts pushed
 * by operators' devices through the sync protocol, the supervisor's review and approval as
 * commands, the live reads of `/api/count-sessions`, and the apply job run by the workers'
 * handler against the real HTTP server — stopped midway and resumed.
 */
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const C1 = '0192f0c8-0000-7000-8000-00000000c001';

interface SessionView {
  session: {
    status: string;
    lines: number;
    planned: number;
    applied: number;
    raced: number;
    disagreements: number;
  };
  coverage: { percent: number; positions: { left: string[] } };
  openCounts: { positionId: string; userId: string }[];
  job: { status: string | null; done: number; error: string | null };
}
interface Review {
  review: {
    line: {
      lineNo: number;
      status: string;
      applyState: string;
      applied: { raced: boolean; delta: number } | null;
    };
    raced: boolean;
    stock: number;
    keepDelta: number | null;
    keepCounted: number | null;
  }[];
}

async function setup() {
  const enqueued: JobEnvelope[] = [];
  const w = await warehouseWithOperators({
    jobs: {
      enqueue: (job) => {
        enqueued.push(job);
        return Promise.resolve();
      },
    },
  });
  server = w.server;
  const idOf = async (d: Device) => {
    const res = await w.server.request('/api/auth/me', { token: d.token });
    return ((await res.json()) as { user: { id: string } }).user.id;
  };
  const get = async <T>(path: string, token = w.supervisor.token): Promise<T> => {
    const res = await w.server.request(path, { token });
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as T;
  };
  const ok = async (d: Device, name: string, args: Record<string, unknown>) => {
    const r = await d.pushOk([d.mutation(name, args)]);
    expect(r.results[0], JSON.stringify(r.results[0])).toMatchObject({ status: 'applied' });
    return r.results[0]!;
  };
  const plan = async (positionIds: string[], mode: 'blind' | 'open' = 'blind') => {
    await ok(w.supervisor, 'planCountSession', { sessionId: C1, code: 'C-1', positionIds, mode });
    await ok(w.supervisor, 'assignCountSession', {
      sessionId: C1,
      userIds: [await idOf(w.op1), await idOf(w.op2)],
    });
    await ok(w.supervisor, 'startCountSession', { sessionId: C1 });
  };
  /** The apply job as the workers run it, against this server over real HTTP. */
  const runApply = async (signal = new AbortController().signal) => {
    const base = await w.server.listen();
    const api = new SyncApi({ base, username: 'sup', password: 'sup-password' });
    await applyCountSessionJob(api, { batch: 7 }).run(
      { jobId: C1 },
      { jobId: C1, attempt: 1, signal },
    );
  };
  return { ...w, enqueued, get, ok, plan, runApply, idOf };
}

describe('counting sessions over the sync protocol', () => {
  it('scenario 19: 100 in stock, 95 counted offline, 10 shipped meanwhile → applied as a delta: 85, and the race is shown', async () => {
    const w = await setup();
    await w.ok(w.supervisor, 'receiveStock', { itemId: 'A', positionId: 'P', quantity: 100 });
    await w.plan(['P']);
    // op1 counts 95 while offline: its device held 100. It has not pushed yet.
    const count = w.op1.mutation('recordCount', {
      sessionId: C1,
      positionId: 'P',
      itemId: 'A',
      counted: 95,
      expected: 100,
    });
    // Meanwhile another device ships 10 from P.
    await w.ok(w.op2, 'shipStock', { itemId: 'A', from: 'P', quantity: 10 });
    // op1 comes back online.
    const pushed = await w.op1.pushOk([count]);
    expect(pushed.results[0]?.status).toBe('applied');

    await w.ok(w.supervisor, 'closeCountSession', { sessionId: C1 });
    // The review shows the race before anything is applied: stock 90 now; keeping the
    // difference (−5) gives 85, keeping the count gives 95.
    const before = await w.get<Review>(`/api/count-sessions/${C1}/lines`);
    expect(before.review).toMatchObject([
      {
        line: { lineNo: 1, status: 'counted' },
        raced: true,
        stock: 90,
        keepDelta: 85,
        keepCounted: 95,
      },
    ]);
    await w.ok(w.supervisor, 'approveCountSession', { sessionId: C1, reason: 'lost' });

    const started = await w.server.request(`/api/count-sessions/${C1}/apply`, {
      method: 'POST',
      token: w.supervisor.token,
      json: {},
    });
    expect(started.status, await started.clone().text()).toBe(202);
    expect(w.enqueued).toEqual([
      expect.objectContaining({ kind: 'apply-count-session', payload: { jobId: C1 } }),
    ]);
    await w.runApply();

    expect(await quantityAt(w.server, w.supervisor.token, 'A', 'P')).toBe(85);
    const after = await w.get<SessionView>(`/api/count-sessions/${C1}`);
    expect(after.session).toMatchObject({ status: 'applied', applied: 1, raced: 1 });
    expect(after.job).toMatchObject({ status: 'queued', done: 1 });
    // The supervisor sees the race as a conflict to decide (keep delta / keep counted).
    const conflicts = await w.get<{ kind: string; status: string; key: string }[]>(
      '/api/conflicts?status=open',
    );
    expect(conflicts.filter((c) => c.kind === 'count-raced-movement')).toEqual([
      expect.objectContaining({ key: `count-raced-movement/${C1}/1`, status: 'open' }),
    ]);
    // Deciding for the count corrects stock to 95 and settles the conflict in the same write.
    await w.ok(w.supervisor, 'decideCountRace', {
      sessionId: C1,
      lineNo: 1,
      choice: 'keep-counted',
    });
    expect(await quantityAt(w.server, w.supervisor.token, 'A', 'P')).toBe(95);
    const settled = await w.get<{ kind: string }[]>('/api/conflicts?status=open');
    expect(settled.filter((c) => c.kind === 'count-raced-movement')).toEqual([]);
  });

  it('scenario 20: counts of 8 and 9 by two people block approval until one is accepted; 8 and 8 is no conflict', async () => {
    const w = await setup();
    await w.ok(w.supervisor, 'receiveStock', { itemId: 'A', positionId: 'P', quantity: 10 });
    await w.ok(w.supervisor, 'receiveStock', { itemId: 'A', positionId: 'Q', quantity: 10 });
    await w.plan(['P', 'Q']);
    const count = (d: Device, positionId: string, counted: number) =>
      w.ok(d, 'recordCount', { sessionId: C1, positionId, itemId: 'A', counted, expected: 10 });
    await count(w.op1, 'P', 8);
    const disagreeing = await count(w.op2, 'P', 9);
    expect(disagreeing.conflicts).toHaveLength(1);
    await count(w.op1, 'Q', 8);
    const agreeing = await count(w.op2, 'Q', 8);
    expect(agreeing.conflicts ?? []).toEqual([]);

    await w.ok(w.supervisor, 'closeCountSession', { sessionId: C1 });
    const refused = await w.supervisor.pushOk([
      w.supervisor.mutation('approveCountSession', { sessionId: C1, reason: 'lost' }),
    ]);
    expect(refused.results[0]).toMatchObject({
      status: 'rejected',
      error: { code: 'COUNT_UNRESOLVED' },
    });
    const open = await w.get<{ kind: string; key: string }[]>('/api/conflicts?status=open');
    expect(open.filter((c) => c.kind === 'count-disagreement')).toHaveLength(1);

    await w.ok(w.supervisor, 'acceptCount', {
      sessionId: C1,
      lineNo: 1,
      countedBy: await w.idOf(w.op2),
    });
    // Accepting settles the disagreement conflict in the same write.
    const after = await w.get<{ kind: string }[]>('/api/conflicts?status=open');
    expect(after.filter((c) => c.kind === 'count-disagreement')).toEqual([]);
    await w.ok(w.supervisor, 'approveCountSession', { sessionId: C1, reason: 'lost' });
    await w.server.request(`/api/count-sessions/${C1}/apply`, {
      method: 'POST',
      token: w.supervisor.token,
      json: {},
    });
    await w.runApply();
    expect(await quantityAt(w.server, w.supervisor.token, 'A', 'P')).toBe(9);
    expect(await quantityAt(w.server, w.supervisor.token, 'A', 'Q')).toBe(8);
  });

  it('scenario 21: serials {s1,s2,s3} expected, {s2,s3,s4} counted → s1 leaves, s4 arrives, s2 and s3 stay untouched', async () => {
    const w = await setup();
    for (const serial of ['s1', 's2', 's3'])
      await w.ok(w.supervisor, 'receiveStock', {
        itemId: 'S',
        positionId: 'P',
        quantity: 1,
        serial,
      });
    await w.plan(['P'], 'open');
    await w.ok(w.op1, 'recordCount', {
      sessionId: C1,
      positionId: 'P',
      itemId: 'S',
      serials: ['s2', 's3', 's4'],
      expectedSerials: ['s1', 's2', 's3'],
    });
    await w.ok(w.supervisor, 'closeCountSession', { sessionId: C1 });
    await w.ok(w.supervisor, 'approveCountSession', { sessionId: C1, reason: 'misplaced' });
    const events = await w.get<{ seq: number }[]>('/api/events?after=0&limit=1000');
    const head = Math.max(...events.map((e) => e.seq));
    await w.server.request(`/api/count-sessions/${C1}/apply`, {
      method: 'POST',
      token: w.supervisor.token,
      json: {},
    });
    await w.runApply();
    const stock = await w.get<{ serial: string; quantity: number }[]>('/api/stock?itemId=S');
    expect(stock.map((l) => [l.serial, l.quantity]).sort()).toEqual([
      ['s2', 1],
      ['s3', 1],
      ['s4', 1],
    ]);
    // Exactly two adjustments: −1 for s1 and +1 for s4.
    const applied = await w.get<{ type: string; data: { serial?: string; delta: number } }[]>(
      `/api/events?after=${head}&limit=1000`,
    );
    const adjustments = applied
      .filter((e) => e.type === 'StockAdjusted')
      .map((e) => [e.data.serial, e.data.delta])
      .sort();
    expect(adjustments).toEqual([
      ['s1', -1],
      ['s4', 1],
    ]);
  });

  it('scenario 22 (in process): an apply stopped midway resumes where it stopped; every line applied once', async () => {
    const w = await setup();
    // 3 positions × 3 items … as 30 lines: A at P, Q, R (none tracking) and lots of L.
    const positions = ['P', 'Q', 'R'];
    await w.plan(positions, 'open');
    const counts: unknown[] = [];
    let expectedTotal = 0;
    for (const positionId of positions)
      for (let lot = 1; lot <= 10; lot++) {
        const counted = lot;
        expectedTotal += counted;
        counts.push(
          w.op1.mutation('recordCount', {
            sessionId: C1,
            positionId,
            itemId: 'L',
            lot: `LOT-${lot}`,
            counted,
            expected: 0,
          }),
        );
      }
    const pushed = await w.op1.pushOk(counts);
    expect(pushed.results.every((r) => r.status === 'applied')).toBe(true);
    await w.ok(w.supervisor, 'closeCountSession', { sessionId: C1 });
    await w.ok(w.supervisor, 'approveCountSession', { sessionId: C1, reason: 'found' });
    await w.server.request(`/api/count-sessions/${C1}/apply`, {
      method: 'POST',
      token: w.supervisor.token,
      json: {},
    });
    // Stopped after the first batch (7 lines): the signal is aborted as the job starts its second.
    const stop = new AbortController();
    const base = await w.server.listen();
    const api = new SyncApi({ base, username: 'sup', password: 'sup-password' });
    const session = await api.session(`job-${C1}`);
    const push = session.push.bind(session);
    let pushes = 0;
    session.push = async (m) => {
      const r = await push(m);
      if (++pushes === 1) stop.abort();
      return r;
    };
    const handler = applyCountSessionJob(
      { session: () => Promise.resolve(session) } as unknown as SyncApi,
      {
        batch: 7,
      },
    );
    await expect(
      handler.run({ jobId: C1 }, { jobId: C1, attempt: 1, signal: stop.signal }),
    ).rejects.toBeInstanceOf(JobInterruptedError);
    const midway = await w.get<SessionView>(`/api/count-sessions/${C1}`);
    expect(midway.session).toMatchObject({ status: 'applying', applied: 7, planned: 30 });
    expect(midway.job.done).toBe(7);
    // The worker gives up (out of attempts): the board shows why, as a code and values it
    // says in its user's language; a supervisor starts it again.
    const problem = jobProblem('GAVE_UP', { attempts: 5, detail: 'the server answered 500' });
    await handler.onDead?.({ jobId: C1 }, jobProblemText(problem), new Error('500'), problem);
    expect((await w.get<SessionView>(`/api/count-sessions/${C1}`)).job).toMatchObject({
      status: 'failed',
      error: 'gave up after 5 attempts; last error: the server answered 500',
      problem,
    });
    const restarted = await w.server.request(`/api/count-sessions/${C1}/apply`, {
      method: 'POST',
      token: w.supervisor.token,
      json: {},
    });
    expect(restarted.status).toBe(202);

    await w.runApply();
    const done = await w.get<SessionView>(`/api/count-sessions/${C1}`);
    expect(done.session).toMatchObject({ status: 'applied', applied: 30, planned: 30 });
    const stock = await w.get<{ quantity: number }[]>('/api/stock?itemId=L');
    expect(stock.reduce((s, l) => s + l.quantity, 0)).toBe(expectedTotal);
    // Run again after the end: nothing more is applied.
    await w.runApply();
    const again = await w.get<{ quantity: number }[]>('/api/stock?itemId=L');
    expect(again.reduce((s, l) => s + l.quantity, 0)).toBe(expectedTotal);
    // A late give-up report (a second copy's) cannot mark the applied session's job failed.
    const jobBefore = (await w.get<SessionView>(`/api/count-sessions/${C1}`)).job;
    const late = await w.server.request(`/api/count-sessions/${C1}/apply/fail`, {
      method: 'POST',
      token: w.supervisor.token,
      json: { reason: 'a late copy gave up' },
    });
    expect(late.status).toBe(409);
    expect(await late.json()).toMatchObject({ code: 'JOB_NOT_RUNNING' });
    expect((await w.get<SessionView>(`/api/count-sessions/${C1}`)).job).toEqual(jobBefore);
  });

  it('operators see only their sessions and their own counts; blind sessions show no expected quantity', async () => {
    const w = await setup();
    await w.ok(w.supervisor, 'receiveStock', { itemId: 'A', positionId: 'P', quantity: 10 });
    await w.plan(['P', 'Q']);
    await w.ok(w.op1, 'recordCount', {
      sessionId: C1,
      positionId: 'P',
      itemId: 'A',
      counted: 7,
      expected: 10,
    });
    await w.ok(w.op2, 'recordCount', {
      sessionId: C1,
      positionId: 'P',
      itemId: 'A',
      counted: 7,
      expected: 10,
    });
    const list = await w.get<{ id: string }[]>('/api/count-sessions', w.op1.token);
    expect(list.map((s) => s.id)).toEqual([C1]);
    const mine = await w.get<{
      lines: { mine: { counted: number } | null; expected: number | null }[];
    }>(`/api/count-sessions/${C1}`, w.op1.token);
    expect(mine.lines).toEqual([
      expect.objectContaining({ mine: { counted: 7, serials: null }, expected: null }),
    ]);
    expect(mine).not.toHaveProperty('coverage');
    // The supervisor's board: coverage live (P counted, Q left), nothing in progress.
    const board = await w.get<SessionView>(`/api/count-sessions/${C1}`);
    expect(board.coverage.positions.left).toEqual(['Q']);
    // Review lines are the supervisor's.
    const res = await w.server.request(`/api/count-sessions/${C1}/lines`, { token: w.op1.token });
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
  });

  it('force-release: a position a dead device left in progress is freed by the supervisor', async () => {
    const w = await setup();
    await w.plan(['P']);
    await w.ok(w.op1, 'startPositionCount', { sessionId: C1, positionId: 'P' });
    const busy = await w.get<SessionView>(`/api/count-sessions/${C1}`);
    expect(busy.openCounts).toEqual([
      expect.objectContaining({ positionId: 'P', userId: await w.idOf(w.op1) }),
    ]);
    await w.ok(w.supervisor, 'releasePositionCount', {
      sessionId: C1,
      positionId: 'P',
      userId: await w.idOf(w.op1),
      note: 'scanner battery died',
    });
    const free = await w.get<SessionView>(`/api/count-sessions/${C1}`);
    expect(free.openCounts).toEqual([]);
  });

  it('apply is refused before approval, with a problem document; an unknown session is 404', async () => {
    const w = await setup();
    await w.plan(['P']);
    const early = await w.server.request(`/api/count-sessions/${C1}/apply`, {
      method: 'POST',
      token: w.supervisor.token,
      json: {},
    });
    expect(early.status).toBe(409);
    expect(await early.json()).toMatchObject({ code: 'NOT_APPROVED' });
    expect(w.enqueued).toEqual([]);
    const missing = await w.server.request('/api/count-sessions/nope', {
      token: w.supervisor.token,
    });
    expect(missing.status).toBe(404);
  });

  it('devices get live sessions in their snapshot and lose them once applied', async () => {
    const w = await setup();
    await w.plan(['P']);
    const first = await w.op1.pull(null);
    const keys = first.patch.flatMap((p) => (p.key ? [p.key] : []));
    expect(keys).toContain(`s/count-session/${encodeURIComponent(C1)}`);
    await w.ok(w.op1, 'recordCount', {
      sessionId: C1,
      positionId: 'P',
      itemId: 'A',
      counted: 1,
      expected: 0,
    });
    await w.ok(w.supervisor, 'closeCountSession', { sessionId: C1 });
    await w.ok(w.supervisor, 'approveCountSession', { sessionId: C1, reason: 'found' });
    await w.server.request(`/api/count-sessions/${C1}/apply`, {
      method: 'POST',
      token: w.supervisor.token,
      json: {},
    });
    await w.runApply();
    const again = await w.op2.pull(null);
    expect(again.patch.some((p) => p.key?.startsWith('s/count-'))).toBe(false);
  });
});

describe('count sheets', () => {
  it('a session whose code Excel would refuse as a sheet name still downloads as XLSX (and CSV)', async () => {
    const w = await setup();
    await w.ok(w.supervisor, 'planCountSession', {
      sessionId: C1,
      code: "'INV/2025:A*[1]'",
      positionIds: ['P'],
      mode: 'open',
    });
    for (const format of ['xlsx', 'csv']) {
      const res = await w.server.request(`/api/count-sessions/${C1}/sheet?format=${format}`, {
        token: w.supervisor.token,
      });
      expect(res.status, `${format}: ${await res.clone().text()}`).toBe(200);
    }
    const xlsx = await w.server.request(`/api/count-sessions/${C1}/sheet?format=xlsx`, {
      token: w.supervisor.token,
    });
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(await xlsx.arrayBuffer());
    expect(book.worksheets.map((s) => s.name)).toEqual(['INV-2025-A--1-']);
  });

  it('worksheet names follow the rules of Excel', () => {
    expect(worksheetName('C-1')).toBe('C-1');
    expect(worksheetName('x'.repeat(64))).toBe('x'.repeat(31));
    expect(worksheetName("'quoted'")).toBe('quoted');
    expect(worksheetName('History')).toBe('count');
    expect(worksheetName("''")).toBe('count');
  });
});
