import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { InventoryState } from '../inventory/state.js';
import { initialState, viewOf } from '../inventory/state.js';
import type { LoggedEvent } from '../projection.js';
import { foldEvent, replayViewOf } from '../projection.js';
import type { ConflictDraft } from '../shared/decision.js';
import type { ItemId, PositionId } from '../shared/ids.js';
import { asUserId } from '../shared/ids.js';
import { roundQty } from '../shared/quantity.js';
import type { Role } from '../shared/roles.js';
import type { ReplayDecision } from '../sync/decide.js';
import { decideMutation } from '../sync/decide.js';
import { A, L, P, Q, R, S, warehouse } from '../testing/index.js';
import { disagreementKey, raceKey, settledConflictKeys } from './changes.js';
import type { CountSessionId, CountingCommand } from './commands.js';
import { asCountSessionId, countingCommandArgs, isCountingCommandName } from './commands.js';
import type { RejectionCode } from '../shared/decision.js';
import { conflictKindForRejection } from '../shared/decision.js';
import type { CountingDecideView, CountingDecision } from './decide.js';
import { decideCountingCommand } from './decide.js';
import {
  applyCountMutations,
  countApplyProgress,
  countCoverage,
  operatorLine,
  recountsFor,
  reviewLines,
} from './queries.js';
import type { CountRecord, CountSession, CountingState } from './state.js';
import { countingViewOf, evolveCounting, initialCountingState, linesOf } from './state.js';

const ana = 'u-ana';
const ben = 'u-ben';
const cat = 'u-cat';
const sam = 'u-sam'; // the supervisor

/** A counting decision, or the replay's for the other commands (inventory, lists). */
type Outcome = CountingDecision | ReplayDecision;

interface RunOptions {
  readonly user?: string;
  readonly role?: Role;
  readonly mode?: 'record' | 'strict';
}

/**
 * A floor in miniature: the replay as it will run once counting is integrated — counting
 * commands go to `decideCountingCommand`, the others to `decideMutation`; every event is
 * folded into inventory (`foldEvent`) and counting (`evolveCounting`). A client's mutations
 * are numbered like the protocol's, so a job's resend is a duplicate.
 */
class Floor {
  inventory: InventoryState = initialState();
  counting: CountingState = initialCountingState();
  readonly log: LoggedEvent[] = [];
  /** Conflicts of accepted decisions, in order. */
  readonly conflicts: ConflictDraft[] = [];
  private readonly lastMutation = new Map<string, number>();

  constructor() {
    for (const e of warehouse()) this.append(e);
  }

  private append(e: { readonly type: string; readonly data: unknown }): string {
    const logged = { ...e, id: `e${this.log.length + 1}` };
    this.log.push(logged);
    this.inventory = foldEvent(this.inventory, logged);
    this.counting = evolveCounting(this.counting, logged);
    return logged.id;
  }

  get view(): CountingDecideView {
    return { ...viewOf(this.inventory), ...countingViewOf(this.counting) };
  }

  run(name: string, args: Record<string, unknown>, o: RunOptions = {}): Outcome {
    const actor = {
      userId: asUserId(o.user ?? (o.role === 'supervisor' ? sam : ana)),
      role: o.role ?? 'operator',
    };
    const mode = o.mode ?? 'record';
    let outcome: Outcome;
    if (isCountingCommandName(name)) {
      const parsed = countingCommandArgs[name].safeParse(args);
      outcome = parsed.success
        ? decideCountingCommand(this.view, { name, args: parsed.data } as CountingCommand, {
            actor,
            mode,
          })
        : {
            kind: 'rejected',
            code: 'VALIDATION_FAILED',
            message: parsed.error.issues.map((i) => i.message).join('; '),
          };
    } else {
      outcome = decideMutation(replayViewOf(this.inventory), { name, args }, { actor, mode });
    }
    if (outcome.kind === 'accepted') {
      for (const e of outcome.events) this.append(e);
      this.conflicts.push(...outcome.conflicts);
    }
    return outcome;
  }

  /** A mutation of a client, with the protocol's dedupe: an id already seen has no effect. */
  push(client: string, id: number, name: string, args: Record<string, unknown>, o: RunOptions) {
    const last = this.lastMutation.get(client) ?? 0;
    if (id <= last) return 'duplicate' as const;
    if (id > last + 1) return 'gap' as const;
    this.lastMutation.set(client, id);
    return this.run(name, args, o).kind;
  }

  lastMutationID(client: string): number {
    return this.lastMutation.get(client) ?? 0;
  }

  ok(name: string, args: Record<string, unknown>, o: RunOptions = {}) {
    const r = this.run(name, args, o);
    if (r.kind === 'rejected') throw new Error(`${name} rejected: ${r.code} ${r.message}`);
    return r;
  }

  /** Runs a supervisor's command and expects it accepted. */
  sup(name: string, args: Record<string, unknown>) {
    return this.ok(name, args, { role: 'supervisor' });
  }

  rejects(
    code: RejectionCode,
    name: string,
    args: Record<string, unknown>,
    o: RunOptions = { role: 'supervisor' },
  ): string {
    const r = this.run(name, args, o);
    expect(r).toMatchObject({ kind: 'rejected', code });
    return r.kind === 'rejected' ? r.message : '';
  }

  session(id: CountSessionId = C1): CountSession {
    const s = this.counting.sessions.get(id);
    if (!s) throw new Error(`no session ${id}`);
    return s;
  }

  line(lineNo: number, id: CountSessionId = C1): CountRecord {
    const r = countingViewOf(this.counting).countRecord(id, lineNo);
    if (!r) throw new Error(`no line ${lineNo}`);
    return r;
  }

  qty(item: ItemId, position: PositionId, lot?: string): number {
    let sum = 0;
    for (const l of viewOf(this.inventory).linesAt(position))
      if (l.itemId === item && (lot === undefined || l.lot === lot)) sum += l.quantity;
    return roundQty(sum);
  }

  serialsAt(item: ItemId, position: PositionId): string[] {
    return viewOf(this.inventory)
      .linesAt(position)
      .filter((l) => l.itemId === item && l.serial !== null && l.quantity > 0)
      .map((l) => l.serial as string)
      .sort();
  }

  eventsOf(type: string) {
    return this.log.filter((e) => e.type === type);
  }
}

const C1 = asCountSessionId('0192f0c8-0000-7000-8000-00000000c001');
const C2 = asCountSessionId('0192f0c8-0000-7000-8000-00000000c002');

/** A session over positions (or items), started. */
function counting(
  floor: Floor,
  scope: { positionIds: string[] } | { itemIds: string[] },
  extra: Record<string, unknown> = {},
  code = 'C-12',
  sessionId: CountSessionId = C1,
): void {
  floor.sup('planCountSession', { sessionId, code, mode: 'blind', ...scope, ...extra });
  floor.sup('startCountSession', { sessionId });
}

const count = (
  floor: Floor,
  user: string,
  positionId: string,
  itemId: string,
  counted: number,
  expected: number,
  extra: Record<string, unknown> = {},
) =>
  floor.ok(
    'recordCount',
    { sessionId: C1, positionId, itemId, counted, expected, ...extra },
    { user },
  );

const countSerials = (
  floor: Floor,
  user: string,
  positionId: string,
  serials: string[],
  expectedSerials: string[],
) =>
  floor.ok(
    'recordCount',
    { sessionId: C1, positionId, itemId: S, serials, expectedSerials },
    { user },
  );

/** Close, approve (one reason for the session) and apply every line, in order. */
function closeApproveApply(floor: Floor, reason = 'unexplained') {
  floor.sup('closeCountSession', { sessionId: C1 });
  floor.sup('approveCountSession', { sessionId: C1, reason });
  for (let lineNo = 1; lineNo <= floor.session().planned; lineNo++)
    floor.sup('applyCountRecord', { sessionId: C1, lineNo });
}

// ─── Acceptance scenarios ───────────────────────────────────────────────────────────────────

describe('scenario 19: a count raced by a move', () => {
  /** System 100; Ana counts 95 offline; Ben ships 10 and syncs first; Ana's count syncs. */
  function raced(): Floor {
    const floor = new Floor();
    floor.ok('receiveStock', { itemId: A, positionId: P, quantity: 100 });
    counting(floor, { positionIds: [P] });
    floor.ok('shipStock', { itemId: A, from: P, quantity: 10 }, { user: ben });
    count(floor, ana, P, A, 95, 100);
    floor.ok('finishPositionCount', { sessionId: C1, positionId: P }, { user: ana });
    return floor;
  }

  it('applies the count as a delta to current stock: final 85, and the race is visible', () => {
    const floor = raced();
    expect(floor.conflicts).toEqual([]); // recording the count contradicts nothing
    floor.sup('closeCountSession', { sessionId: C1 });
    // Visible before the apply, on the review board: both outcomes side by side.
    expect(reviewLines(floor.counting, C1, viewOf(floor.inventory))[0]).toMatchObject({
      stock: 90,
      raced: true,
      keepDelta: 85,
      keepCounted: 95,
    });
    floor.sup('approveCountSession', { sessionId: C1, reason: 'lost' });
    const applied = floor.sup('applyCountRecord', { sessionId: C1, lineNo: 1 });
    expect(applied.events).toEqual([
      {
        type: 'StockAdjusted',
        data: {
          itemId: A,
          positionId: P,
          delta: -5,
          reason: 'count-correction',
          note: 'count C-12 line 1: lost',
        },
      },
      {
        type: 'CountRecordApplied',
        data: {
          sessionId: C1,
          lineNo: 1,
          choice: 'keep-delta',
          raced: true,
          stockBefore: 90,
          delta: -5,
        },
      },
    ]);
    expect(floor.qty(A, P)).toBe(85);
    expect(applied.kind === 'accepted' && applied.conflicts).toEqual([
      expect.objectContaining({
        kind: 'count-raced-movement',
        key: raceKey(C1, 1),
        message:
          'line 1 of C-12 (A at P) moved after it was counted: expected 100, counted 95, 90 there at apply; the difference was applied (85), keeping the count would give 95',
        detail: expect.objectContaining({
          text: {
            code: 'COUNT_RACED',
            values: {
              line: 1,
              session: 'C-12',
              pair: 'A @ P',
              expected: 100,
              counted: 95,
              there: 90,
              applied: 85,
              keep: 95,
            },
          },
        }),
      }),
    ]);
    expect(floor.session()).toMatchObject({ status: 'applied', applied: 1, raced: 1 });
    expect(floor.line(1).applied).toMatchObject({ raced: true, stockBefore: 90, delta: -5 });
  });

  it('the supervisor decides keep-counted afterwards: stock is corrected, as an event', () => {
    const floor = raced();
    closeApproveApply(floor);
    const decided = floor.sup('decideCountRace', {
      sessionId: C1,
      lineNo: 1,
      choice: 'keep-counted',
      note: 'Ben shipped before Ana counted',
    });
    expect(decided.events.map((e) => [e.type, (e.data as { delta?: number }).delta])).toEqual([
      ['StockAdjusted', 10],
      ['CountRaceDecided', undefined],
    ]);
    expect(floor.qty(A, P)).toBe(95);
    expect(settledConflictKeys(floor.view, { id: 'x', ...decided.events[1]! })).toEqual([
      raceKey(C1, 1),
    ]);
    expect(floor.line(1)).toMatchObject({
      race: { choice: 'keep-counted', decidedBy: sam },
      applied: { choice: 'keep-counted', delta: 5 },
    });
    // Changing one's mind goes back by the same difference; deciding it twice is stale.
    floor.sup('decideCountRace', { sessionId: C1, lineNo: 1, choice: 'keep-delta' });
    expect(floor.qty(A, P)).toBe(85);
    floor.rejects('STALE_INTENT', 'decideCountRace', {
      sessionId: C1,
      lineNo: 1,
      choice: 'keep-delta',
    });
  });

  it('decided before the apply, the choice is applied and nothing is left to flag', () => {
    const floor = raced();
    floor.sup('closeCountSession', { sessionId: C1 });
    floor.sup('decideCountRace', { sessionId: C1, lineNo: 1, choice: 'keep-counted' });
    expect(floor.qty(A, P)).toBe(90); // no stock change before the apply
    floor.sup('approveCountSession', { sessionId: C1, reason: 'lost' });
    const applied = floor.sup('applyCountRecord', { sessionId: C1, lineNo: 1 });
    expect(floor.qty(A, P)).toBe(95);
    expect(applied.kind === 'accepted' && applied.conflicts).toEqual([]);
    expect(floor.line(1).applied).toMatchObject({ choice: 'keep-counted', raced: true });
  });

  it('without a race the count just corrects stock, and no conflict is opened', () => {
    const floor = new Floor();
    floor.ok('receiveStock', { itemId: A, positionId: P, quantity: 100 });
    counting(floor, { positionIds: [P] });
    count(floor, ana, P, A, 95, 100);
    closeApproveApply(floor);
    expect(floor.qty(A, P)).toBe(95);
    expect(floor.conflicts).toEqual([]);
    expect(floor.session()).toMatchObject({ status: 'applied', raced: 0 });
  });

  it('movements the device had seen are no race (its own offline receipt before counting)', () => {
    const floor = new Floor();
    floor.ok('receiveStock', { itemId: A, positionId: P, quantity: 100 });
    counting(floor, { positionIds: [P] });
    floor.ok('receiveStock', { itemId: A, positionId: P, quantity: 5 }); // Ana's own, queued first
    count(floor, ana, P, A, 103, 105);
    closeApproveApply(floor);
    expect(floor.qty(A, P)).toBe(103);
    expect(floor.conflicts).toEqual([]);
  });
});

describe('scenario 20: two operators count the same pair', () => {
  it('8 and 9: a disagreement that blocks the apply until resolved', () => {
    const floor = new Floor();
    floor.ok('receiveStock', { itemId: A, positionId: P, quantity: 10 });
    counting(floor, { positionIds: [P] });
    count(floor, ana, P, A, 8, 10);
    const second = count(floor, ben, P, A, 9, 10);
    expect(second.kind === 'accepted' && second.conflicts).toEqual([
      expect.objectContaining({
        kind: 'count-disagreement',
        message: 'A at P in C-12: counted 8 by u-ana, 9 by u-ben',
        detail: expect.objectContaining({
          text: {
            code: 'COUNTS_DISAGREE',
            values: { pair: 'A @ P', session: 'C-12', counts: '8 (u-ana), 9 (u-ben)' },
          },
        }),
      }),
    ]);
    expect(floor.line(1).status).toBe('disagreement');
    floor.sup('closeCountSession', { sessionId: C1 });
    const message = floor.rejects('COUNT_UNRESOLVED', 'approveCountSession', {
      sessionId: C1,
      reason: 'lost',
    });
    expect(message).toBe(
      'counting session C-12 cannot be approved: 1 line has disagreeing counts (accept one count per line to resolve)',
    );
    expect(conflictKindForRejection('COUNT_UNRESOLVED')).toBe('stale-intent');
    // The supervisor takes Ben's count as the truth; then the session can be approved and applied.
    const accepted = floor.sup('acceptCount', { sessionId: C1, lineNo: 1, countedBy: ben });
    expect(settledConflictKeys(floor.view, { id: 'x', ...accepted.events[0]! })).toEqual([
      disagreementKey(C1, { itemId: A, positionId: P, lot: null }),
    ]);
    expect(floor.line(1)).toMatchObject({ status: 'counted', accepted: { countedBy: ben } });
    floor.sup('approveCountSession', { sessionId: C1, reason: 'lost' });
    floor.sup('applyCountRecord', { sessionId: C1, lineNo: 1 });
    expect(floor.qty(A, P)).toBe(9);
  });

  it('8 and 8 is no conflict', () => {
    const floor = new Floor();
    floor.ok('receiveStock', { itemId: A, positionId: P, quantity: 10 });
    counting(floor, { positionIds: [P] });
    count(floor, ana, P, A, 8, 10);
    count(floor, ben, P, A, 8, 10);
    expect(floor.conflicts).toEqual([]);
    expect(floor.line(1)).toMatchObject({ status: 'counted' });
    closeApproveApply(floor);
    expect(floor.qty(A, P)).toBe(8);
  });

  it('a new count that contradicts an accepted one re-opens the disagreement', () => {
    const floor = new Floor();
    counting(floor, { positionIds: [P] });
    count(floor, ana, P, A, 8, 10);
    count(floor, ben, P, A, 9, 10);
    floor.sup('acceptCount', { sessionId: C1, lineNo: 1, countedBy: ben });
    count(floor, cat, P, A, 9, 10); // agrees with what was accepted
    expect(floor.line(1).status).toBe('counted');
    count(floor, cat, P, A, 7, 10); // Cat recounts: 7
    expect(floor.line(1)).toMatchObject({ status: 'disagreement', accepted: null });
    expect(floor.session().disagreements).toBe(1);
  });
});

describe('scenario 21: a serial count', () => {
  it('{s1,s2,s3} expected, {s2,s3,s4} counted: −1 for s1, +1 for s4, nothing for s2 and s3', () => {
    const floor = new Floor();
    for (const serial of ['s1', 's2', 's3'])
      floor.ok('receiveStock', { itemId: S, positionId: P, quantity: 1, serial });
    counting(floor, { positionIds: [P] });
    countSerials(floor, ana, P, ['s4', 's2', 's3'], ['s1', 's2', 's3']);
    expect(floor.line(1)).toMatchObject({ serialized: true, lot: null });
    floor.sup('closeCountSession', { sessionId: C1 });
    floor.sup('approveCountSession', { sessionId: C1, reason: 'misplaced' });
    const applied = floor.sup('applyCountRecord', { sessionId: C1, lineNo: 1 });
    expect(
      applied.events
        .filter((e) => e.type === 'StockAdjusted')
        .map((e) => [(e.data as { serial: string }).serial, (e.data as { delta: number }).delta]),
    ).toEqual([
      ['s1', -1],
      ['s4', 1],
    ]);
    expect(floor.serialsAt(S, P)).toEqual(['s2', 's3', 's4']);
    expect(floor.conflicts).toEqual([]);
  });

  it('the same serials in another order are the same count (no disagreement)', () => {
    const floor = new Floor();
    counting(floor, { positionIds: [P] });
    countSerials(floor, ana, P, ['s2', 's1'], []);
    countSerials(floor, ben, P, ['s1', 's2'], []);
    expect(floor.line(1).status).toBe('counted');
    countSerials(floor, cat, P, ['s1'], []);
    expect(floor.line(1).status).toBe('disagreement');
    expect(floor.conflicts.at(-1)?.message).toBe(
      'S at P in C-12: counted {s1, s2} by u-ana, {s1, s2} by u-ben, {s1} by u-cat',
    );
    expect(floor.conflicts.at(-1)?.detail['text']).toMatchObject({
      values: { counts: '{s1, s2} (u-ana), {s1, s2} (u-ben), {s1} (u-cat)' },
    });
  });

  it('a found serial recorded elsewhere is applied and flagged, like an adjustment', () => {
    const floor = new Floor();
    floor.ok('receiveStock', { itemId: S, positionId: Q, quantity: 1, serial: 's9' });
    counting(floor, { positionIds: [P] });
    countSerials(floor, ana, P, ['s9'], []);
    closeApproveApply(floor, 'found');
    expect(floor.conflicts.map((c) => c.kind)).toEqual(['serial-elsewhere']);
    expect(floor.serialsAt(S, P)).toEqual(['s9']);
  });
});

describe('scenario 22 at domain level: the apply job resumes after a crash', () => {
  it('1,000 lines, killed midway and restarted: every line applied exactly once', () => {
    const floor = new Floor();
    const n = 1000;
    const lots = Array.from({ length: n }, (_, i) => `LOT-${i + 1}`);
    lots.forEach((lot, i) =>
      floor.ok('receiveStock', { itemId: L, positionId: P, quantity: i + 1, lot }),
    );
    counting(floor, { positionIds: [P] });
    // Every lot counted one more than expected.
    lots.forEach((lot, i) => count(floor, ana, P, L, i + 2, i + 1, { lot }));
    floor.sup('closeCountSession', { sessionId: C1 });
    floor.sup('approveCountSession', { sessionId: C1, reason: 'found' });
    expect(countApplyProgress(floor.session())).toMatchObject({ planned: n, percent: 0 });

    const client = 'job-c12';
    const pushPage = (from: number, limit: number, crashAfter = Infinity) => {
      let sent = 0;
      for (const m of applyCountMutations(floor.session(), from, limit)) {
        if (sent++ >= crashAfter) return 'crashed';
        floor.push(client, m.id, m.name, m.args, { role: 'supervisor' });
      }
      return 'done';
    };
    // The worker runs pages of 100 and is killed 37 mutations into its fifth page.
    for (let from = 1; from <= 400; from += 100) pushPage(from, 100);
    expect(pushPage(401, 100, 37)).toBe('crashed');
    expect(floor.lastMutationID(client)).toBe(437);
    expect(countApplyProgress(floor.session())).toMatchObject({ applied: 437, percent: 43 });
    // A redelivered job first re-sends the page it had (duplicates: no effect) …
    pushPage(401, 100);
    // … or resumes after the server's lastMutationID.
    for (let from = floor.lastMutationID(client) + 1; from <= n; from += 100) pushPage(from, 100);

    const applied = floor
      .eventsOf('CountRecordApplied')
      .map((e) => (e.data as { lineNo: number }).lineNo);
    expect(applied).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(floor.eventsOf('StockAdjusted')).toHaveLength(n);
    lots.forEach((lot, i) => expect(floor.qty(L, P, lot)).toBe(i + 2));
    expect(floor.session()).toMatchObject({ status: 'applied', applied: n });
    expect(countApplyProgress(floor.session())).toMatchObject({ remaining: 0, percent: 100 });
    // Another path (a supervisor's button, a second job) cannot apply a line twice.
    expect(floor.rejects('STALE_INTENT', 'applyCountRecord', { sessionId: C1, lineNo: 5 })).toBe(
      'counting session C-12 is already applied',
    );
  }, 60_000); // a correctness check, not a speed one: CI's parallel tasks made it pass 5 s

  it('a line already applied is a stale intent while the session is still applying', () => {
    const floor = new Floor();
    counting(floor, { positionIds: [P, Q] });
    count(floor, ana, P, A, 1, 0);
    count(floor, ana, Q, A, 1, 0);
    floor.sup('closeCountSession', { sessionId: C1 });
    floor.sup('approveCountSession', { sessionId: C1, reason: 'found' });
    floor.sup('applyCountRecord', { sessionId: C1, lineNo: 1 });
    expect(floor.rejects('STALE_INTENT', 'applyCountRecord', { sessionId: C1, lineNo: 1 })).toBe(
      'line 1 of C-12 (A at P) is already applied',
    );
    expect(floor.qty(A, P)).toBe(1);
  });

  it('isolates a failing line: the others apply, the failure is recorded, skipping it finishes', () => {
    const floor = new Floor();
    floor.ok('receiveStock', { itemId: A, positionId: P, quantity: 10 });
    counting(floor, { positionIds: [P, Q, R] });
    count(floor, ana, P, A, 9, 10);
    count(floor, ana, R, A, 5, 0); // found 5 at R …
    count(floor, ana, Q, A, 2, 0);
    floor.sup('closeCountSession', { sessionId: C1 });
    floor.sup('retirePosition', { positionId: R }); // … and R (empty on the books) is retired
    floor.sup('approveCountSession', { sessionId: C1, reason: 'found' });
    for (const lineNo of [1, 2, 3]) floor.sup('applyCountRecord', { sessionId: C1, lineNo });
    expect([floor.qty(A, P), floor.qty(A, Q), floor.qty(A, R)]).toEqual([9, 2, 0]);
    expect(floor.line(2)).toMatchObject({
      applyState: 'failed',
      failure: { code: 'POSITION_RETIRED', message: 'position R is retired and receives nothing' },
    });
    expect(floor.conflicts.at(-1)).toMatchObject({
      kind: 'stale-intent',
      message:
        'line 2 of C-12 (A at R) was not applied: position R is retired and receives nothing (retry it, or skip it)',
      detail: {
        code: 'POSITION_RETIRED',
        text: {
          code: 'COUNT_NOT_APPLIED',
          values: {
            line: 2,
            session: 'C-12',
            pair: 'A @ R',
            reason: 'position R is retired and receives nothing',
          },
        },
      },
    });
    expect(floor.session()).toMatchObject({ status: 'applying', applied: 2, failed: 1 });
    expect(countApplyProgress(floor.session())).toMatchObject({ remaining: 1, percent: 66 });
    floor.sup('skipCountRecord', { sessionId: C1, lineNo: 2, note: 'R was scrapped' });
    expect(floor.session()).toMatchObject({ status: 'applied', failed: 0, skipped: 1 });
  });
});

// ─── Counts ─────────────────────────────────────────────────────────────────────────────────

describe('recounts', () => {
  it('a later recount by the same person supersedes theirs', () => {
    const floor = new Floor();
    floor.ok('receiveStock', { itemId: A, positionId: P, quantity: 10 });
    counting(floor, { positionIds: [P] });
    count(floor, ana, P, A, 8, 10);
    count(floor, ana, P, A, 9, 10);
    expect(floor.conflicts).toEqual([]);
    expect(floor.line(1).counts.map((c) => [c.countedBy, c.counted, c.superseded])).toEqual([
      [ana, 8, true],
      [ana, 9, false],
    ]);
    expect(floor.line(1).status).toBe('counted');
    // It also settles a disagreement that was only with their own earlier count's value.
    count(floor, ben, P, A, 7, 10);
    expect(floor.line(1).status).toBe('disagreement');
    count(floor, ana, P, A, 7, 10);
    expect(floor.line(1)).toMatchObject({ status: 'counted' });
    expect(floor.session()).toMatchObject({ lines: 1, disagreements: 0 });
    closeApproveApply(floor);
    expect(floor.qty(A, P)).toBe(7);
  });

  it('a variance above the threshold routes to a recount by someone else', () => {
    const floor = new Floor();
    floor.ok('receiveStock', { itemId: A, positionId: P, quantity: 10 });
    floor.ok('receiveStock', { itemId: A, positionId: Q, quantity: 10 });
    counting(floor, { positionIds: [P, Q] }, { recountAbove: { quantity: 2 } });
    count(floor, ana, P, A, 5, 10); // 5 off: large
    count(floor, ana, Q, A, 9, 10); // 1 off: fine
    expect(floor.line(1)).toMatchObject({ status: 'recount', recountExcept: ana });
    expect(floor.line(2).status).toBe('counted');
    expect(recountsFor(floor.counting, asUserId(ben)).map((r) => r.lineNo)).toEqual([1]);
    expect(recountsFor(floor.counting, asUserId(ana))).toEqual([]);
    expect(operatorLine(floor.session(), floor.line(1), asUserId(ben)).recountByMe).toBe(true);
    // Ana recounting does not do: it is someone else's recount.
    count(floor, ana, P, A, 5, 10);
    expect(floor.line(1).status).toBe('recount');
    floor.sup('closeCountSession', { sessionId: C1 });
    expect(
      floor.rejects('COUNT_UNRESOLVED', 'approveCountSession', { sessionId: C1, reason: 'lost' }),
    ).toBe(
      'counting session C-12 cannot be approved: 1 line needs a recount by someone else (accept one count per line to resolve)',
    );
    // Ben's recount (arriving in review, from an offline handheld) confirms it.
    count(floor, ben, P, A, 5, 10);
    expect(floor.line(1).status).toBe('counted');
    floor.sup('approveCountSession', { sessionId: C1, reason: 'lost' });
  });

  it('a recount that disagrees is a disagreement; a percentage threshold works alike', () => {
    const floor = new Floor();
    counting(floor, { positionIds: [P] }, { recountAbove: { percent: 10 } });
    count(floor, ana, P, A, 88, 100); // 12 % off
    expect(floor.line(1).status).toBe('recount');
    count(floor, ben, P, A, 91, 100);
    expect(floor.line(1).status).toBe('disagreement');
    expect(floor.conflicts.map((c) => c.kind)).toEqual(['count-disagreement']);
  });

  it('a supervisor can accept a count and waive the recount', () => {
    const floor = new Floor();
    counting(floor, { positionIds: [P] }, { recountAbove: { quantity: 0 } });
    count(floor, ana, P, A, 3, 4);
    expect(floor.line(1).status).toBe('recount');
    floor.sup('acceptCount', { sessionId: C1, lineNo: 1, countedBy: ana, note: 'I saw it' });
    expect(floor.session()).toMatchObject({ recounts: 0, variances: 1 });
    expect(
      floor.rejects('UNKNOWN_COUNT_LINE', 'acceptCount', {
        sessionId: C1,
        lineNo: 1,
        countedBy: ben,
      }),
    ).toBe('line 1 of C-12 has no count by u-ben');
    floor.rejects('STALE_INTENT', 'acceptCount', { sessionId: C1, lineNo: 1, countedBy: ana });
  });
});

describe('position confirmed empty', () => {
  it('is a count of zero for everything the device expected there', () => {
    const floor = new Floor();
    floor.ok('receiveStock', { itemId: A, positionId: P, quantity: 10 });
    floor.ok('receiveStock', { itemId: L, positionId: P, quantity: 4, lot: 'L1' });
    floor.ok('receiveStock', { itemId: S, positionId: P, quantity: 1, serial: 's1' });
    counting(floor, { positionIds: [P, Q] });
    const r = floor.ok(
      'confirmPositionEmpty',
      {
        sessionId: C1,
        positionId: P,
        expected: [
          { itemId: A, quantity: 10 },
          { itemId: L, lot: 'L1', quantity: 4 },
          { itemId: S, serials: ['s1'] },
        ],
      },
      { user: ana },
    );
    expect(r.events.map((e) => e.type)).toEqual([
      'CountRecorded',
      'CountRecorded',
      'CountRecorded',
      'PositionCountFinished',
    ]);
    expect(r.events[3]?.data).toEqual({
      sessionId: C1,
      positionId: P,
      countedBy: ana,
      empty: true,
    });
    expect(linesOf(floor.counting, C1).map((l) => [l.itemId, l.lot, l.counts[0]?.counted])).toEqual(
      [
        [A, null, 0],
        [L, 'L1', 0],
        [S, null, 0],
      ],
    );
    // Q expected nothing: confirming it empty counts the position, adds no line.
    floor.ok('confirmPositionEmpty', { sessionId: C1, positionId: Q, expected: [] }, { user: ana });
    expect(floor.session()).toMatchObject({ lines: 3, positionsCounted: 2 });
    closeApproveApply(floor, 'lost');
    expect([floor.qty(A, P), floor.qty(L, P), floor.serialsAt(S, P)]).toEqual([0, 0, []]);
  });
});

describe('force-release of a count a dead device left open', () => {
  it('an open position count blocks the close until a supervisor releases it', () => {
    const floor = new Floor();
    counting(floor, { positionIds: [P, Q] });
    floor.ok('startPositionCount', { sessionId: C1, positionId: P }, { user: ana });
    floor.ok('startPositionCount', { sessionId: C1, positionId: Q }, { user: ben });
    floor.ok('finishPositionCount', { sessionId: C1, positionId: Q }, { user: ben });
    expect(floor.session().openCounts).toBe(1);
    // Ana's handheld died with P open.
    expect(floor.rejects('COUNT_OPEN', 'closeCountSession', { sessionId: C1 })).toBe(
      'counting session C-12 still has 1 position count in progress: wait for them to finish, or release those a dead device left open',
    );
    floor.rejects(
      'FORBIDDEN',
      'releasePositionCount',
      { sessionId: C1, positionId: P, userId: ana },
      { role: 'operator', user: ben },
    );
    const released = floor.sup('releasePositionCount', {
      sessionId: C1,
      positionId: P,
      userId: ana,
      note: 'handheld dead',
    });
    expect(released.events).toEqual([
      {
        type: 'PositionCountReleased',
        data: { sessionId: C1, positionId: P, userId: ana, releasedBy: sam, note: 'handheld dead' },
      },
    ]);
    expect(floor.session().openCounts).toBe(0);
    expect(
      floor.rejects('STALE_INTENT', 'releasePositionCount', {
        sessionId: C1,
        positionId: P,
        userId: ana,
      }),
    ).toBe('P is not being counted by u-ana in C-12');
    floor.sup('closeCountSession', { sessionId: C1 });
    expect(floor.session().status).toBe('review');
  });
});

// ─── Session life ───────────────────────────────────────────────────────────────────────────

describe('the session life cycle', () => {
  it('planned → counting → review → applying → applied, as intents refused when stale', () => {
    const floor = new Floor();
    floor.sup('planCountSession', { sessionId: C1, code: 'C-12', mode: 'open', positionIds: [P] });
    expect(floor.session().status).toBe('planned');
    expect(floor.rejects('STALE_INTENT', 'closeCountSession', { sessionId: C1 })).toBe(
      'counting session C-12 has not started',
    );
    floor.sup('assignCountSession', { sessionId: C1, userIds: [ana, ben] });
    floor.sup('startCountSession', { sessionId: C1 });
    expect(floor.rejects('STALE_INTENT', 'startCountSession', { sessionId: C1 })).toBe(
      'counting session C-12 has already started',
    );
    count(floor, ana, P, A, 1, 0);
    expect(
      floor.rejects('STALE_INTENT', 'approveCountSession', { sessionId: C1, reason: 'found' }),
    ).toBe('counting session C-12 is still counting: close it for review first');
    floor.sup('closeCountSession', { sessionId: C1 });
    // SYNC-PROTOCOL.md's example, word for word.
    expect(floor.rejects('STALE_INTENT', 'closeCountSession', { sessionId: C1 })).toBe(
      'counting session C-12 is closed',
    );
    floor.rejects('STALE_INTENT', 'applyCountRecord', { sessionId: C1, lineNo: 1 });
    floor.sup('approveCountSession', { sessionId: C1, reason: 'found', note: 'annual count' });
    expect(floor.session()).toMatchObject({
      status: 'applying',
      planned: 1,
      approvedBy: sam,
      reason: 'found',
      approvalNote: 'annual count',
    });
    expect(floor.rejects('STALE_INTENT', 'cancelCountSession', { sessionId: C1 })).toBe(
      'counting session C-12 is approved: it can no longer be cancelled',
    );
    floor.sup('applyCountRecord', { sessionId: C1, lineNo: 1 });
    expect(floor.session().status).toBe('applied');
  });

  it('approving a session with nothing counted applies it at once', () => {
    const floor = new Floor();
    counting(floor, { positionIds: [P] });
    floor.sup('closeCountSession', { sessionId: C1 });
    floor.sup('approveCountSession', { sessionId: C1 });
    expect(floor.session()).toMatchObject({ status: 'applied', planned: 0 });
  });

  it('a cancelled session keeps late counts and applies nothing', () => {
    const floor = new Floor();
    counting(floor, { positionIds: [P] });
    floor.sup('cancelCountSession', { sessionId: C1, note: 'wrong zone' });
    expect(floor.session()).toMatchObject({ status: 'cancelled', cancelNote: 'wrong zone' });
    count(floor, ana, P, A, 3, 0); // an offline device catching up
    expect(floor.line(1).counts[0]?.late).toBe(true);
    expect(floor.conflicts).toEqual([]);
    expect(floor.rejects('STALE_INTENT', 'cancelCountSession', { sessionId: C1 })).toBe(
      'counting session C-12 is already cancelled',
    );
  });

  it('needs a supervisor for every intent; operators report counts', () => {
    const floor = new Floor();
    const asOperator = { role: 'operator' as const };
    expect(
      floor.rejects(
        'FORBIDDEN',
        'planCountSession',
        { sessionId: C1, code: 'C-1', mode: 'blind', positionIds: [P] },
        asOperator,
      ),
    ).toBe('planCountSession needs the supervisor role; you are operator');
    counting(floor, { positionIds: [P] });
    for (const [name, args] of [
      ['closeCountSession', { sessionId: C1 }],
      ['approveCountSession', { sessionId: C1 }],
      ['applyCountRecord', { sessionId: C1, lineNo: 1 }],
      ['acceptCount', { sessionId: C1, lineNo: 1, countedBy: ana }],
      ['decideCountRace', { sessionId: C1, lineNo: 1, choice: 'keep-delta' }],
    ] as const) {
      floor.rejects('FORBIDDEN', name, args, asOperator);
    }
  });
});

describe('facts and the session state', () => {
  it('a count checked strictly (online, before confirming) needs a counting session', () => {
    const floor = new Floor();
    counting(floor, { positionIds: [P] });
    floor.sup('closeCountSession', { sessionId: C1 });
    const strict = { user: ana, role: 'operator' as const, mode: 'strict' as const };
    const args = { sessionId: C1, positionId: P, itemId: A, counted: 1, expected: 0 };
    expect(floor.rejects('STALE_INTENT', 'recordCount', args, strict)).toBe(
      'counting session C-12 is closed',
    );
    // Replayed from an offline queue it is a fact: recorded, and part of the review.
    floor.ok('recordCount', args, { user: ana });
    expect(floor.line(1).counts[0]?.late).toBe(false);
  });

  it('a count after approval is kept as late, flagged when it differs, and never applied', () => {
    const floor = new Floor();
    floor.ok('receiveStock', { itemId: A, positionId: P, quantity: 10 });
    counting(floor, { positionIds: [P, Q] });
    count(floor, ana, P, A, 8, 10);
    floor.sup('closeCountSession', { sessionId: C1 });
    floor.sup('approveCountSession', { sessionId: C1, reason: 'lost' });
    count(floor, ben, P, A, 8, 10); // agrees: nothing to say
    expect(floor.conflicts).toEqual([]);
    count(floor, cat, P, A, 6, 10);
    count(floor, cat, Q, A, 2, 0);
    expect(floor.conflicts.map((c) => c.message)).toEqual([
      'A at P in C-12: 6 counted by u-cat after approval, 8 approved; the late count is kept, not applied',
      'A at Q in C-12: 2 counted by u-cat after approval, nothing counted before; the late count is kept, not applied',
    ]);
    expect(floor.conflicts.map((c) => c.detail['text'])).toEqual([
      {
        code: 'LATE_COUNT',
        values: { pair: 'A @ P', session: 'C-12', counted: 6, by: cat, approved: 8 },
      },
      { code: 'LATE_FIRST_COUNT', values: { pair: 'A @ Q', session: 'C-12', counted: 2, by: cat } },
    ]);
    expect(floor.line(1).counts.map((c) => [c.countedBy, c.late])).toEqual([
      [ana, false],
      [ben, true],
      [cat, true],
    ]);
    expect(floor.line(1).status).toBe('counted');
    expect(floor.rejects('STALE_INTENT', 'applyCountRecord', { sessionId: C1, lineNo: 2 })).toBe(
      'line 2 of C-12 (A at Q) was counted after approval and is not applied',
    );
    floor.sup('applyCountRecord', { sessionId: C1, lineNo: 1 });
    expect(floor.qty(A, P)).toBe(8);
    expect(floor.session().status).toBe('applied');
  });

  it('refuses what is outside the scope, unknown, or against the item’s tracking', () => {
    const floor = new Floor();
    counting(floor, { positionIds: [P] });
    const op = { role: 'operator' as const };
    const rc = (extra: Record<string, unknown>) => ({
      sessionId: C1,
      positionId: P,
      itemId: A,
      counted: 1,
      expected: 0,
      ...extra,
    });
    expect(floor.rejects('COUNT_OUT_OF_SCOPE', 'recordCount', rc({ positionId: Q }), op)).toBe(
      'Q is not in the scope of counting session C-12',
    );
    expect(floor.rejects('UNKNOWN_COUNT_SESSION', 'recordCount', rc({ sessionId: C2 }), op)).toBe(
      `unknown counting session ${C2}`,
    );
    floor.rejects('UNKNOWN_ITEM', 'recordCount', rc({ itemId: 'item-X' }), op);
    floor.rejects(
      'VIRTUAL_POSITION',
      'startPositionCount',
      { sessionId: C1, positionId: '@outside' },
      op,
    );
    expect(floor.rejects('SERIAL_REQUIRED', 'recordCount', rc({ itemId: S }), op)).toBe(
      'S is serialized: count it as the set of serials found',
    );
    floor.rejects('LOT_REQUIRED', 'recordCount', rc({ itemId: L }), op);
    floor.rejects('LOT_NOT_ALLOWED', 'recordCount', rc({ lot: 'L1' }), op);
    floor.rejects(
      'SERIAL_NOT_ALLOWED',
      'recordCount',
      { sessionId: C1, positionId: P, itemId: A, serials: ['x'], expectedSerials: [] },
      op,
    );
    floor.rejects(
      'LOT_NOT_ALLOWED',
      'recordCount',
      { sessionId: C1, positionId: P, itemId: S, lot: 'L1', serials: ['x'], expectedSerials: [] },
      op,
    );
    expect(conflictKindForRejection('COUNT_OUT_OF_SCOPE')).toBe('invalid-command');
    expect(conflictKindForRejection('UNKNOWN_COUNT_SESSION')).toBe('unknown-code');
    expect(conflictKindForRejection('UNKNOWN_ITEM')).toBe('unknown-code');
    expect(floor.session().lines).toBe(0);
  });

  it('an items scope counts its items wherever they are, and nothing else', () => {
    const floor = new Floor();
    counting(floor, { itemIds: [A] });
    count(floor, ana, Q, A, 1, 0);
    expect(
      floor.rejects('COUNT_OUT_OF_SCOPE', 'recordCount', {
        sessionId: C1,
        positionId: Q,
        itemId: L,
        lot: 'L1',
        counted: 1,
        expected: 0,
      }),
    ).toBe('L is not in the scope of counting session C-12');
  });
});

describe('planning', () => {
  it('records the session; refuses a taken code or id and unknown or unfit positions', () => {
    const floor = new Floor();
    const planned = floor.sup('planCountSession', {
      sessionId: C1,
      code: 'C-12',
      mode: 'blind',
      positionIds: [P, Q],
      recountAbove: { quantity: 3 },
      note: 'zone Z',
    });
    expect(planned.events).toEqual([
      {
        type: 'CountSessionPlanned',
        data: {
          sessionId: C1,
          code: 'C-12',
          scope: { kind: 'positions', ids: [P, Q] },
          mode: 'blind',
          recountAbove: { quantity: 3, percent: null },
          note: 'zone Z',
        },
      },
    ]);
    const plan = (extra: Record<string, unknown>) => ({
      sessionId: C2,
      code: 'C-13',
      mode: 'open',
      positionIds: [P],
      ...extra,
    });
    expect(floor.rejects('DUPLICATE_CODE', 'planCountSession', plan({ code: 'C-12' }))).toBe(
      'a counting session with code C-12 already exists',
    );
    floor.rejects('STALE_INTENT', 'planCountSession', plan({ sessionId: C1 }));
    floor.rejects('UNKNOWN_POSITION', 'planCountSession', plan({ positionIds: ['pos-X'] }));
    floor.rejects('VIRTUAL_POSITION', 'planCountSession', plan({ positionIds: ['@site'] }));
    floor.rejects('UNKNOWN_ITEM', 'planCountSession', {
      ...plan({ positionIds: undefined }),
      itemIds: ['item-X'],
    });
  });
});

describe('reason codes on approval', () => {
  /** Three lines: P and Q with a variance, R without. */
  function withVariances(): Floor {
    const floor = new Floor();
    for (const p of [P, Q, R]) floor.ok('receiveStock', { itemId: A, positionId: p, quantity: 5 });
    counting(floor, { positionIds: [P, Q, R] });
    count(floor, ana, P, A, 4, 5);
    count(floor, ana, Q, A, 7, 5);
    count(floor, ana, R, A, 5, 5);
    floor.sup('closeCountSession', { sessionId: C1 });
    return floor;
  }

  it('are required for every line with a variance', () => {
    const floor = withVariances();
    expect(floor.session().variances).toBe(2);
    expect(floor.rejects('REASON_REQUIRED', 'approveCountSession', { sessionId: C1 })).toBe(
      '2 lines of C-12 with a variance have no reason code: give one for the session or one per line',
    );
    expect(
      floor.rejects('REASON_REQUIRED', 'approveCountSession', {
        sessionId: C1,
        reasons: [
          { lineNo: 1, reason: 'damaged' },
          { lineNo: 3, reason: 'found' }, // no variance: does not count
        ],
      }),
    ).toBe(
      '1 line of C-12 with a variance has no reason code: give one for the session or one per line',
    );
    expect(conflictKindForRejection('REASON_REQUIRED')).toBe('invalid-command');
  });

  it('one per line, or one for the session, travel on the adjustments', () => {
    const floor = withVariances();
    floor.sup('approveCountSession', {
      sessionId: C1,
      reason: 'unexplained',
      reasons: [{ lineNo: 1, reason: 'damaged' }],
    });
    expect([floor.line(1).reason, floor.line(2).reason]).toEqual(['damaged', null]);
    for (const lineNo of [1, 2, 3]) floor.sup('applyCountRecord', { sessionId: C1, lineNo });
    expect(floor.eventsOf('StockAdjusted').map((e) => (e.data as { note: string }).note)).toEqual([
      'count C-12 line 1: damaged',
      'count C-12 line 2: unexplained',
    ]);
    expect([floor.qty(A, P), floor.qty(A, Q), floor.qty(A, R)]).toEqual([4, 7, 5]);
  });

  it('per-line reasons alone will do when they cover every variance', () => {
    const floor = withVariances();
    floor.rejects('UNKNOWN_COUNT_LINE', 'approveCountSession', {
      sessionId: C1,
      reasons: [{ lineNo: 9, reason: 'lost' }],
    });
    floor.sup('approveCountSession', {
      sessionId: C1,
      reasons: [
        { lineNo: 1, reason: 'damaged' },
        { lineNo: 2, reason: 'receiving-error' },
      ],
    });
    expect(floor.session().status).toBe('applying');
  });
});

describe('coverage', () => {
  it('of a positions scope: positions and pairs counted and left, live with stock', () => {
    const floor = new Floor();
    floor.ok('receiveStock', { itemId: A, positionId: P, quantity: 10 });
    floor.ok('receiveStock', { itemId: L, positionId: Q, quantity: 3, lot: 'L1' });
    floor.ok('receiveStock', { itemId: L, positionId: Q, quantity: 2, lot: 'L2' });
    counting(floor, { positionIds: [P, Q, R] });
    const coverage = () => countCoverage(floor.counting, C1, viewOf(floor.inventory));
    expect(coverage()).toEqual({
      positions: { total: 3, counted: 0, inProgress: 0, left: [P, Q, R] },
      pairs: { expected: 3, counted: 0, unexpected: 0, left: expect.any(Array) },
      percent: 0,
    });
    floor.ok('startPositionCount', { sessionId: C1, positionId: Q }, { user: ben });
    count(floor, ana, P, A, 10, 10);
    count(floor, ben, Q, L, 3, 3, { lot: 'L1' });
    floor.ok('confirmPositionEmpty', { sessionId: C1, positionId: R, expected: [] }, { user: ana });
    expect(coverage()).toMatchObject({
      positions: { total: 3, counted: 3, inProgress: 1, left: [] },
      pairs: {
        expected: 3,
        counted: 2,
        unexpected: 0,
        left: [{ itemId: L, positionId: Q, lot: 'L2' }],
      },
      percent: 100,
    });
    // Live: a receipt of a new pair is left to count; shipping the uncounted lot away is not.
    floor.ok(
      'receiveStock',
      { itemId: S, positionId: R, quantity: 1, serial: 's1' },
      { user: cat },
    );
    floor.ok('shipStock', { itemId: L, from: Q, quantity: 2, lot: 'L2' }, { user: cat });
    expect(coverage()?.pairs).toEqual({
      expected: 3,
      counted: 2,
      unexpected: 0,
      left: [{ itemId: S, positionId: R, lot: null }],
    });
  });

  it('of an items scope: pairs wherever the items are', () => {
    const floor = new Floor();
    floor.ok('receiveStock', { itemId: A, positionId: P, quantity: 1 });
    floor.ok('receiveStock', { itemId: A, positionId: Q, quantity: 1 });
    floor.ok('receiveStock', { itemId: L, positionId: Q, quantity: 1, lot: 'L1' });
    counting(floor, { itemIds: [A] });
    count(floor, ana, Q, A, 1, 1);
    count(floor, ana, R, A, 2, 0); // found where the books had none
    expect(countCoverage(floor.counting, C1, viewOf(floor.inventory))).toMatchObject({
      positions: { total: null, counted: 2 },
      pairs: {
        expected: 2,
        counted: 1,
        unexpected: 1,
        left: [{ itemId: A, positionId: P, lot: null }],
      },
      percent: 50,
    });
  });
});

describe('blind mode', () => {
  it('the operator’s line shows their own count and, in blind mode, no expected quantity', () => {
    const floor = new Floor();
    counting(floor, { positionIds: [P] });
    count(floor, ana, P, A, 8, 10);
    count(floor, ben, P, A, 8, 10);
    const mine = operatorLine(floor.session(), floor.line(1), asUserId(ben));
    expect(mine).toMatchObject({ mine: { counted: 8 }, expected: null });
    const open: CountSession = { ...floor.session(), mode: 'open' };
    expect(operatorLine(open, floor.line(1), asUserId(ben)).expected).toBe(10);
    expect(operatorLine(open, floor.line(1), asUserId(cat)).mine).toBeNull();
  });
});

// ─── Property ───────────────────────────────────────────────────────────────────────────────

const PAIRS = [
  { itemId: A, positionId: P },
  { itemId: A, positionId: Q },
  { itemId: A, positionId: R },
  { itemId: L, positionId: P, lot: 'L1' },
  { itemId: L, positionId: P, lot: 'L2' },
] as const;

const pairPlan = fc.record({
  initial: fc.integer({ min: 0, max: 30 }),
  /** `null`: not counted. */
  counted: fc.option(fc.integer({ min: 0, max: 30 }), { nil: null }),
  /** Counted by two people (agreeing), in either order of arrival. */
  twice: fc.boolean(),
  /** Movements the counting device had not seen: some before the count syncs, some after. */
  unseen: fc.array(
    fc.integer({ min: -8, max: 8 }).filter((n) => n !== 0),
    { maxLength: 3 },
  ),
  later: fc.array(
    fc.integer({ min: -8, max: 8 }).filter((n) => n !== 0),
    { maxLength: 3 },
  ),
  keepCounted: fc.boolean(),
});

describe('property: applying non-disagreeing counts', () => {
  it('leaves stock = counted + movements the count did not see (keep-delta), or = counted (keep-counted)', () => {
    fc.assert(
      fc.property(fc.array(pairPlan, { minLength: 5, maxLength: 5 }), (plans) => {
        const floor = new Floor();
        const moveArgs = (i: number, n: number) => {
          const p = PAIRS[i]!;
          const lot = 'lot' in p ? { lot: p.lot } : {};
          return n > 0
            ? ['receiveStock', { itemId: p.itemId, positionId: p.positionId, quantity: n, ...lot }]
            : ['shipStock', { itemId: p.itemId, from: p.positionId, quantity: -n, ...lot }];
        };
        const move = (i: number, n: number) => {
          const [name, args] = moveArgs(i, n) as [string, Record<string, unknown>];
          floor.ok(name, args, { user: cat });
        };
        plans.forEach((plan, i) => plan.initial > 0 && move(i, plan.initial));
        counting(floor, { positionIds: [P, Q, R] });
        // Each device saw the initial stock; other devices' movements sync before its count.
        plans.forEach((plan, i) => {
          const p = PAIRS[i]!;
          plan.unseen.forEach((n) => move(i, n));
          if (plan.counted === null) return;
          const lot = 'lot' in p ? { lot: p.lot } : {};
          for (const user of plan.twice ? [ana, ben] : [ana])
            count(floor, user, p.positionId, p.itemId, plan.counted, plan.initial, lot);
        });
        floor.sup('closeCountSession', { sessionId: C1 });
        for (const line of linesOf(floor.counting, C1)) {
          const i = PAIRS.findIndex(
            (p) =>
              p.itemId === line.itemId &&
              p.positionId === line.positionId &&
              ('lot' in p ? p.lot : null) === line.lot,
          );
          if (plans[i]?.keepCounted)
            floor.sup('decideCountRace', {
              sessionId: C1,
              lineNo: line.lineNo,
              choice: 'keep-counted',
            });
        }
        floor.sup('approveCountSession', { sessionId: C1, reason: 'unexplained' });
        // Movements after approval, while the job runs: half before each line's apply.
        plans.forEach((plan, i) => plan.later.slice(0, 1).forEach((n) => move(i, n)));
        for (let lineNo = 1; lineNo <= floor.session().planned; lineNo++)
          floor.sup('applyCountRecord', { sessionId: C1, lineNo });
        plans.forEach((plan, i) => plan.later.slice(1).forEach((n) => move(i, n)));

        expect(floor.conflicts.filter((c) => c.kind === 'count-disagreement')).toEqual([]);
        plans.forEach((plan, i) => {
          const p = PAIRS[i]!;
          const sum = (ns: readonly number[]) => ns.reduce((s, n) => s + n, 0);
          const unseen = sum(plan.unseen) + sum(plan.later.slice(0, 1));
          const after = sum(plan.later.slice(1));
          const expected =
            plan.counted === null
              ? plan.initial + unseen + after
              : plan.keepCounted
                ? plan.counted + after
                : plan.counted + unseen + after;
          expect(floor.qty(p.itemId, p.positionId, 'lot' in p ? p.lot : undefined)).toBe(expected);
        });
        expect(floor.session()).toMatchObject({ status: 'applied' });
      }),
      { numRuns: 150 },
    );
  });
});
