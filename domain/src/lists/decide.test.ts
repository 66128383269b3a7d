import { conflictKindForRejection } from '../shared/decision.js';
import { describe, expect, it } from 'vitest';
import { stockLines, totalQuantity } from '../inventory/queries.js';
import type { InventoryState } from '../inventory/state.js';
import { initialState, viewOf } from '../inventory/state.js';
import type { LoggedEvent } from '../projection.js';
import { foldEvent, replayViewOf } from '../projection.js';
import type { ItemId, PositionId } from '../shared/ids.js';
import { asUserId } from '../shared/ids.js';
import type { Role } from '../shared/roles.js';
import type { ReplayView } from '../sync/decide.js';
import { decideMutation, parseCommand } from '../sync/decide.js';
import { inventoryCommandArgs } from '../inventory/commands.js';
import { A, L, P, Q, R, S, warehouse } from '../testing/index.js';
import type { ListId } from './commands.js';
import { asListId } from './commands.js';
import type { RejectionCode } from '../shared/decision.js';
import type { ListConfirmationCheck, ListWarning } from './decide.js';
import { checkListConfirmation, checkListedCommand } from './decide.js';
import { listProgress } from './queries.js';
import type { ListsState, MovementList } from './state.js';
import { evolveLists, initialListsState, listsViewOf } from './state.js';

/**
 * A floor in miniature: the replay as it will run once lists are integrated — list commands
 * go to `decideListCommand`; a movement naming a list line is checked with
 * `checkListedCommand` before the inventory decider; every event is folded into both
 * inventory and lists.
 */
class Floor {
  inventory: InventoryState = initialState();
  lists: ListsState = initialListsState();
  readonly log: LoggedEvent[] = [];

  constructor() {
    for (const e of warehouse()) this.append(e);
  }

  private append(e: { readonly type: string; readonly data: unknown }): string {
    const logged = { ...e, id: `e${this.log.length + 1}` };
    this.log.push(logged);
    this.inventory = foldEvent(this.inventory, logged);
    this.lists = evolveLists(this.lists, logged);
    return logged.id;
  }

  get view(): ReplayView {
    return replayViewOf(this.inventory, new Map(), listsViewOf(this.lists));
  }

  /** Runs one mutation; returns the decision, the ids of the events it appended and warnings. */
  run(name: string, args: Record<string, unknown>, role: Role = 'operator') {
    const actor = { userId: asUserId('u-spec'), role };
    let warnings: readonly ListWarning[] = [];
    const parsed = parseCommand(name, args);
    const check =
      parsed.ok && Object.hasOwn(inventoryCommandArgs, name)
        ? checkListedCommand(this.view, parsed.command as Parameters<typeof checkListedCommand>[1])
        : null;
    if (check?.kind === 'accepted') warnings = check.warnings;
    // The replay itself: list commands to the lists' decider, listed movements checked first.
    const outcome = decideMutation(this.view, { name, args }, { actor, mode: 'record' });
    const ids = outcome.kind === 'accepted' ? outcome.events.map((e) => this.append(e)) : [];
    return { outcome, ids, warnings };
  }

  ok(name: string, args: Record<string, unknown>, role: Role = 'operator') {
    const r = this.run(name, args, role);
    if (r.outcome.kind === 'rejected') {
      throw new Error(`${name} rejected: ${r.outcome.code} ${r.outcome.message}`);
    }
    return r;
  }

  rejects(
    code: RejectionCode,
    name: string,
    args: Record<string, unknown>,
    role: Role = 'supervisor',
  ) {
    const r = this.run(name, args, role);
    expect(r.outcome).toMatchObject({ kind: 'rejected', code });
    return r.outcome.kind === 'rejected' ? r.outcome.message : '';
  }

  list(id: ListId): MovementList {
    const list = this.lists.lists.get(id);
    if (!list) throw new Error(`no list ${id}`);
    return list;
  }

  line(id: ListId, lineNo: number) {
    const line = this.list(id).lines.find((l) => l.lineNo === lineNo);
    if (!line) throw new Error(`no line ${lineNo}`);
    return line;
  }

  qty(item: ItemId, position: PositionId): number {
    return totalQuantity(
      stockLines(viewOf(this.inventory), { itemId: item, positionId: position }),
    );
  }
}

const R1 = asListId('0192f0c8-0000-7000-8000-000000000001');
const R2 = asListId('0192f0c8-0000-7000-8000-000000000002');
const SH = asListId('0192f0c8-0000-7000-8000-000000000003');
const TR = asListId('0192f0c8-0000-7000-8000-000000000004');

const receiptList = (listId: ListId, code: string, lines: Record<string, unknown>[]) => ({
  listId,
  type: 'receipt',
  code,
  partner: 'ACME',
  lines,
});

/** A receipt list R-1001: line 1 plans 10 A (suggested P), line 2 plans 5 L. */
function withReceiptList(): Floor {
  const floor = new Floor();
  floor.ok(
    'createList',
    receiptList(R1, 'R-1001', [
      { lineNo: 1, itemId: A, quantity: 10, suggestedPositionId: P },
      { lineNo: 2, itemId: L, quantity: 5 },
    ]),
    'supervisor',
  );
  return floor;
}

const receive = (
  floor: Floor,
  listId: ListId,
  lineNo: number,
  itemId: ItemId,
  positionId: PositionId,
  quantity: number,
  extra: Record<string, unknown> = {},
) => floor.ok('receiveStock', { itemId, positionId, quantity, listId, lineNo, ...extra });

describe('scenario 18: a receipt list confirmed by scans', () => {
  it('10 A confirmed as 6 to P and 4 to Q completes the line', () => {
    const floor = withReceiptList();
    receive(floor, R1, 1, A, P, 6);
    expect(floor.line(R1, 1)).toMatchObject({ confirmed: 6, status: 'partial' });
    receive(floor, R1, 1, A, Q, 4);
    const line = floor.line(R1, 1);
    expect(line).toMatchObject({ planned: 10, confirmed: 10, status: 'done' });
    expect(line.confirmations.map((c) => [c.positionId, c.quantity])).toEqual([
      [P, 6],
      [Q, 4],
    ]);
    expect([floor.qty(A, P), floor.qty(A, Q)]).toEqual([6, 4]);
    // Line 2 is untouched, so the list is in progress, not completed.
    expect(floor.list(R1).status).toBe('in-progress');
    receive(floor, R1, 2, L, R, 5, { lot: 'L1' });
    expect(floor.list(R1).status).toBe('completed');
  });

  it('a partial confirmation of 4 leaves 6 open', () => {
    const floor = withReceiptList();
    receive(floor, R1, 1, A, P, 4);
    expect(floor.line(R1, 1)).toMatchObject({ confirmed: 4, status: 'partial' });
    expect(listProgress(floor.list(R1))).toMatchObject({
      planned: 15,
      confirmed: 4,
      open: 11, // 6 on line 1, 5 on line 2
      percent: 26,
    });
    const line1 = floor.line(R1, 1);
    expect(line1.planned - line1.confirmed).toBe(6);
  });

  it('closing the list cancels untouched lines and moves no stock', () => {
    const floor = withReceiptList();
    receive(floor, R1, 1, A, P, 6);
    receive(floor, R1, 1, A, Q, 4);
    const stockBefore = [...floor.inventory.stock.values()];
    const closed = floor.ok('closeList', { listId: R1, note: 'supplier short' }, 'supervisor');
    expect(closed.outcome).toEqual({
      kind: 'accepted',
      events: [{ type: 'ListClosed', data: { listId: R1, note: 'supplier short' } }],
      conflicts: [],
    });
    expect([...floor.inventory.stock.values()]).toEqual(stockBefore);
    expect(floor.list(R1)).toMatchObject({ status: 'closed', closeNote: 'supplier short' });
    expect(floor.list(R1).lines.map((l) => [l.lineNo, l.status])).toEqual([
      [1, 'done'],
      [2, 'cancelled'],
    ]);
    expect(listProgress(floor.list(R1)).open).toBe(0);
  });

  it('closing keeps a partly confirmed line partial (short), not cancelled', () => {
    const floor = withReceiptList();
    receive(floor, R1, 1, A, P, 4);
    floor.ok('closeList', { listId: R1 }, 'supervisor');
    expect(floor.list(R1).lines.map((l) => l.status)).toEqual(['partial', 'cancelled']);
  });
});

describe('reversing a confirmation', () => {
  it('re-opens its quantity on the line', () => {
    const floor = withReceiptList();
    receive(floor, R1, 1, A, P, 6);
    const [toQ] = receive(floor, R1, 1, A, Q, 4).ids;
    floor.ok('reverseMovement', { eventId: toQ }, 'supervisor');
    const line = floor.line(R1, 1);
    expect(line).toMatchObject({ confirmed: 6, status: 'partial' });
    expect(line.confirmations[1]).toMatchObject({ eventId: toQ, quantity: 4, reversed: 4 });
    expect(line.confirmations[1]?.reversedBy).toBe(floor.log.at(-1)?.id);
    expect(floor.qty(A, Q)).toBe(0);
    expect(listProgress(floor.list(R1)).open).toBe(9); // 4 on line 1, 5 on line 2
  });

  it('a partial reversal re-opens only what it undid; a completed list goes back in progress', () => {
    const floor = new Floor();
    floor.ok(
      'createList',
      receiptList(R2, 'R-2', [{ lineNo: 1, itemId: A, quantity: 10 }]),
      'supervisor',
    );
    const [all] = receive(floor, R2, 1, A, P, 10).ids;
    expect(floor.list(R2).status).toBe('completed');
    floor.ok('reverseMovement', { eventId: all, quantity: 3 }, 'supervisor');
    expect(floor.line(R2, 1)).toMatchObject({ confirmed: 7, status: 'partial' });
    expect(floor.list(R2).status).toBe('in-progress');
  });

  it('reversing the only confirmation of a closed list cancels the line', () => {
    const floor = withReceiptList();
    const [id] = receive(floor, R1, 1, A, P, 4).ids;
    floor.ok('closeList', { listId: R1 }, 'supervisor');
    floor.ok('reverseMovement', { eventId: id }, 'supervisor');
    expect(floor.line(R1, 1).status).toBe('cancelled');
  });
});

describe('over-delivery', () => {
  it('is recorded, flagged on the line and warned about — never refused', () => {
    const floor = withReceiptList();
    receive(floor, R1, 1, A, P, 8);
    const r = receive(floor, R1, 1, A, Q, 4);
    expect(r.warnings.map((w) => w.code)).toEqual(['OVER_DELIVERY', 'POSITION_DEVIATION']);
    expect(r.warnings[0]?.message).toBe(
      'line 1 of R-1001: 10 planned, 12 confirmed with this one (2 over)',
    );
    expect(floor.line(R1, 1)).toMatchObject({ confirmed: 12, status: 'over' });
    expect(floor.qty(A, Q)).toBe(4);
    expect(listProgress(floor.list(R1))).toMatchObject({ confirmed: 12, open: 5, percent: 66 });
  });
});

describe('deviations from the suggested position', () => {
  it('are kept with both the suggested and the actual position', () => {
    const floor = withReceiptList();
    const r = receive(floor, R1, 1, A, Q, 10);
    expect(r.warnings.map((w) => w.code)).toEqual(['POSITION_DEVIATION']);
    expect(floor.line(R1, 1).confirmations[0]).toMatchObject({
      positionId: Q,
      suggestedPositionId: P,
      deviation: true,
    });
    expect(floor.line(R1, 1).status).toBe('done');
  });

  it('following the suggestion, or a line without one, is no deviation', () => {
    const floor = withReceiptList();
    receive(floor, R1, 1, A, P, 5);
    receive(floor, R1, 2, L, Q, 5, { lot: 'L1' });
    expect(floor.line(R1, 1).confirmations[0]?.deviation).toBe(false);
    expect(floor.line(R1, 2).confirmations[0]?.deviation).toBe(false);
  });

  it('on a transfer, both the source and the destination are compared', () => {
    const floor = new Floor();
    floor.ok('receiveStock', { itemId: A, positionId: P, quantity: 10 });
    floor.ok('receiveStock', { itemId: A, positionId: R, quantity: 10 });
    floor.ok(
      'createList',
      {
        listId: TR,
        type: 'transfer',
        code: 'T-1',
        lines: [{ lineNo: 1, itemId: A, quantity: 6, suggestedFromId: P, suggestedPositionId: Q }],
      },
      'supervisor',
    );
    floor.ok('moveStock', { itemId: A, from: P, to: Q, quantity: 2, listId: TR, lineNo: 1 });
    const r = floor.ok('moveStock', {
      itemId: A,
      from: R,
      to: Q,
      quantity: 4,
      listId: TR,
      lineNo: 1,
    });
    expect(r.warnings.map((w) => w.code)).toEqual(['POSITION_DEVIATION']);
    expect(floor.line(TR, 1).confirmations.map((c) => [c.from, c.to, c.deviation])).toEqual([
      [P, Q, false],
      [R, Q, true],
    ]);
    expect(floor.line(TR, 1).status).toBe('done');
  });

  it('on a shipment, the pick position is compared with suggestedFromId', () => {
    const floor = new Floor();
    floor.ok('receiveStock', { itemId: A, positionId: P, quantity: 10 });
    floor.ok('receiveStock', { itemId: A, positionId: Q, quantity: 10 });
    floor.ok(
      'createList',
      {
        listId: SH,
        type: 'shipment',
        code: 'S-1',
        lines: [{ lineNo: 1, itemId: A, quantity: 5, suggestedFromId: P }],
      },
      'supervisor',
    );
    floor.ok('shipStock', { itemId: A, from: Q, quantity: 5, listId: SH, lineNo: 1 });
    expect(floor.line(SH, 1).confirmations[0]).toMatchObject({
      positionId: Q,
      suggestedFromId: P,
      deviation: true,
    });
    expect([floor.qty(A, P), floor.qty(A, Q)]).toEqual([10, 5]);
  });
});

describe('a line split across lots and serials', () => {
  it('sums confirmations of different lots', () => {
    const floor = withReceiptList();
    receive(floor, R1, 2, L, P, 3, { lot: 'L1' });
    receive(floor, R1, 2, L, P, 2, { lot: 'L2' });
    const line = floor.line(R1, 2);
    expect(line).toMatchObject({ confirmed: 5, status: 'done' });
    expect(line.confirmations.map((c) => c.lot)).toEqual(['L1', 'L2']);
  });

  it('sums serials, one unit each', () => {
    const floor = new Floor();
    floor.ok(
      'createList',
      receiptList(R2, 'R-2', [{ lineNo: 1, itemId: S, quantity: 3 }]),
      'supervisor',
    );
    for (const sn of ['SN1', 'SN2', 'SN3']) receive(floor, R2, 1, S, P, 1, { serial: sn });
    const line = floor.line(R2, 1);
    expect(line).toMatchObject({ confirmed: 3, status: 'done' });
    expect(line.confirmations.map((c) => c.serial)).toEqual(['SN1', 'SN2', 'SN3']);
  });

  it('another lot than the one prescribed is counted, with a warning', () => {
    const floor = new Floor();
    floor.ok(
      'createList',
      receiptList(R2, 'R-2', [{ lineNo: 1, itemId: L, quantity: 5, lot: 'L1' }]),
      'supervisor',
    );
    const r = receive(floor, R2, 1, L, P, 5, { lot: 'L2' });
    expect(r.warnings.map((w) => [w.code, w.message])).toEqual([
      ['LOT_MISMATCH', 'line 1 of R-2 prescribes lot L1, got L2'],
    ]);
    expect(floor.line(R2, 1).status).toBe('done');
  });

  it('another serial than the one prescribed is counted, with a warning', () => {
    const floor = new Floor();
    floor.ok(
      'createList',
      receiptList(R2, 'R-2', [{ lineNo: 1, itemId: S, quantity: 1, serial: 'SN1' }]),
      'supervisor',
    );
    const r = receive(floor, R2, 1, S, P, 1, { serial: 'SN9' });
    expect(r.warnings.map((w) => w.code)).toEqual(['SERIAL_MISMATCH']);
  });
});

describe('createList', () => {
  it('records the list as given, with quantities rounded and no undefined members', () => {
    const floor = new Floor();
    const r = floor.ok(
      'createList',
      {
        listId: R1,
        type: 'receipt',
        code: 'R-1001',
        references: ['PO-77'],
        dueOn: '2026-12-01',
        lines: [{ lineNo: 1, itemId: A, quantity: 1.0000001 }],
      },
      'supervisor',
    );
    expect(r.outcome).toEqual({
      kind: 'accepted',
      events: [
        {
          type: 'ListCreated',
          data: {
            listId: R1,
            type: 'receipt',
            code: 'R-1001',
            references: ['PO-77'],
            dueOn: '2026-12-01',
            lines: [{ lineNo: 1, itemId: A, quantity: 1 }],
          },
        },
      ],
      conflicts: [],
    });
    expect(floor.list(R1)).toMatchObject({ status: 'open', assignee: null, partner: null });
  });

  it('rejects a code already used by a list of the same type, with a clear message', () => {
    const floor = withReceiptList();
    const message = floor.rejects(
      'DUPLICATE_CODE',
      'createList',
      receiptList(R2, 'R-1001', [{ lineNo: 1, itemId: A, quantity: 1 }]),
    );
    expect(message).toBe('a receipt list with code R-1001 already exists');
    // Codes are unique per type: a shipment may be called R-1001 too.
    floor.ok(
      'createList',
      {
        listId: SH,
        type: 'shipment',
        code: 'R-1001',
        lines: [{ lineNo: 1, itemId: A, quantity: 1 }],
      },
      'supervisor',
    );
  });

  it('rejects a list id that already exists', () => {
    withReceiptList().rejects(
      'STALE_INTENT',
      'createList',
      receiptList(R1, 'R-9', [{ lineNo: 1, itemId: A, quantity: 1 }]),
    );
  });

  it('rejects unknown items and positions, and lots or serials the item does not track', () => {
    const floor = new Floor();
    const line = (l: Record<string, unknown>) =>
      receiptList(R2, 'R-2', [{ lineNo: 3, itemId: A, quantity: 1, ...l }]);
    expect(floor.rejects('UNKNOWN_ITEM', 'createList', line({ itemId: 'item-X' }))).toBe(
      'line 3: unknown item item-X',
    );
    floor.rejects('UNKNOWN_POSITION', 'createList', line({ suggestedPositionId: 'pos-X' }));
    floor.rejects('VIRTUAL_POSITION', 'createList', line({ suggestedPositionId: '@outside' }));
    floor.rejects('LOT_NOT_ALLOWED', 'createList', line({ lot: 'L1' }));
    floor.rejects('SERIAL_NOT_ALLOWED', 'createList', line({ itemId: L, serial: 'SN1' }));
    floor.rejects('SERIAL_QUANTITY', 'createList', line({ itemId: S, quantity: 1.5 }));
    expect(floor.lists.lists.size).toBe(0);
  });

  it('needs a supervisor', () => {
    const floor = new Floor();
    const message = floor.rejects(
      'FORBIDDEN',
      'createList',
      receiptList(R1, 'R-1', [{ lineNo: 1, itemId: A, quantity: 1 }]),
      'operator',
    );
    expect(message).toBe('createList needs the supervisor role; you are operator');
    withReceiptList().rejects('FORBIDDEN', 'closeList', { listId: R1 }, 'operator');
    withReceiptList().rejects('FORBIDDEN', 'assignList', { listId: R1, userId: 'u-1' }, 'operator');
  });
});

describe('assignList and closeList', () => {
  it('assigns and unassigns', () => {
    const floor = withReceiptList();
    floor.ok('assignList', { listId: R1, userId: 'u-ana' }, 'supervisor');
    expect(floor.list(R1).assignee).toBe('u-ana');
    floor.ok('assignList', { listId: R1, userId: null }, 'supervisor');
    expect(floor.list(R1).assignee).toBeNull();
  });

  it('closing a closed list is a stale intent', () => {
    const floor = withReceiptList();
    floor.ok('closeList', { listId: R1 }, 'supervisor');
    const message = floor.rejects('STALE_INTENT', 'closeList', { listId: R1 });
    expect(message).toBe('list R-1001 is already closed');
    expect(conflictKindForRejection('STALE_INTENT')).toBe('stale-intent');
    floor.rejects('STALE_INTENT', 'assignList', { listId: R1, userId: 'u-ana' });
  });

  it('an unknown list is an unknown code', () => {
    const floor = new Floor();
    expect(floor.rejects('UNKNOWN_LIST', 'closeList', { listId: R2 })).toBe(`unknown list ${R2}`);
    floor.rejects('UNKNOWN_LIST', 'assignList', { listId: R2, userId: null });
    expect(conflictKindForRejection('UNKNOWN_LIST')).toBe('unknown-code');
  });
});

describe('confirming a line: the check the replay runs', () => {
  it('a scan whose list reference does not fit: refused when checked, recorded without the list when it happened', () => {
    const floor = withReceiptList();
    const rcv = (extra: Record<string, unknown>) => ({
      itemId: A,
      positionId: P,
      quantity: 1,
      ...extra,
    });
    const strict = (name: string, args: Record<string, unknown>) =>
      decideMutation(
        floor.view,
        { name, args },
        { actor: { userId: asUserId('u-1'), role: 'operator' }, mode: 'strict' },
      );
    expect(strict('receiveStock', rcv({ listId: R2, lineNo: 1 }))).toMatchObject({
      kind: 'rejected',
      code: 'UNKNOWN_LIST',
    });
    expect(strict('receiveStock', rcv({ listId: R1, lineNo: 9 }))).toMatchObject({
      code: 'UNKNOWN_LIST_LINE',
      message: 'list R-1001 has no line 9',
    });
    expect(strict('receiveStock', rcv({ listId: R1, lineNo: 2 }))).toMatchObject({
      code: 'LIST_MISMATCH',
      message: `line 2 of R-1001 is for item ${L}, not ${A}`,
    });
    expect(
      strict('shipStock', { itemId: A, from: P, quantity: 1, listId: R1, lineNo: 1 }),
    ).toMatchObject({
      code: 'LIST_MISMATCH',
      message: 'R-1001 is a receipt list: confirm its lines with receiveStock, not shipStock',
    });

    // Replayed facts (record mode): the goods moved; the reference is flagged, not followed.
    for (const [extra, kind] of [
      [{ listId: R2, lineNo: 1 }, 'unknown-code'],
      [{ listId: R1, lineNo: 9 }, 'unknown-code'],
      [{ listId: R1, lineNo: 2 }, 'invalid-command'],
    ] as const) {
      const r = floor.run('receiveStock', rcv(extra));
      expect(r.outcome).toMatchObject({ kind: 'accepted' });
      if (r.outcome.kind !== 'accepted') throw new Error('accepted');
      expect(r.outcome.conflicts.map((c) => c.kind)).toEqual([kind]);
      expect(r.outcome.events[0]?.data).not.toHaveProperty('listId');
    }
    expect(floor.qty(A, P)).toBe(3);
    expect(floor.line(R1, 1).confirmations).toEqual([]);
    expect(floor.line(R1, 2).confirmations).toEqual([]);
    // Half a reference is malformed, in either mode.
    floor.rejects('VALIDATION_FAILED', 'receiveStock', rcv({ listId: R1 }));
    floor.rejects('VALIDATION_FAILED', 'receiveStock', rcv({ lineNo: 1 }));
    expect(conflictKindForRejection('LIST_MISMATCH')).toBe('invalid-command');
  });

  it('a scan for a list closed meanwhile: the goods are received, the list stays as closed, a conflict says why', () => {
    const floor = withReceiptList();
    floor.ok('closeList', { listId: R1 }, 'supervisor');
    const r = floor.run('receiveStock', {
      itemId: A,
      positionId: P,
      quantity: 4,
      listId: R1,
      lineNo: 1,
    });
    if (r.outcome.kind !== 'accepted') throw new Error('accepted');
    expect(r.outcome.conflicts).toMatchObject([
      {
        kind: 'stale-intent',
        message: 'list R-1001 is closed: the movement is recorded without the list line',
        detail: {
          code: 'STALE_INTENT',
          text: { code: 'LIST_LINE_DROPPED', values: { reason: 'list R-1001 is closed' } },
        },
      },
    ]);
    expect(floor.qty(A, P)).toBe(4);
    expect(floor.line(R1, 1)).toMatchObject({ confirmed: 0, status: 'cancelled' });
  });

  it('movements without a list reference are not the lists module’s business', () => {
    const floor = withReceiptList();
    const parsed = parseCommand('receiveStock', { itemId: A, positionId: P, quantity: 1 });
    if (!parsed.ok || parsed.command.name === 'resolveConflict') throw new Error('parse');
    expect(
      checkListedCommand(floor.view, parsed.command as Parameters<typeof checkListedCommand>[1]),
    ).toBeNull();
  });

  it('works on any ListsView (the port the server will back with its tables)', () => {
    const floor = withReceiptList();
    const check: ListConfirmationCheck = checkListConfirmation(floor.view, {
      type: 'receipt',
      listId: R1,
      lineNo: 1,
      itemId: A,
      quantity: 10,
      lot: null,
      serial: null,
      from: '@outside' as PositionId,
      to: P,
    });
    expect(check).toEqual({ kind: 'accepted', warnings: [] });
  });
});
