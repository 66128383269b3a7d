import { describe, expect, it } from 'vitest';
import { stockLines, totalQuantity } from '../inventory/queries.js';
import { viewOf } from '../inventory/state.js';
import { asConflictId } from '../shared/ids.js';
import {
  A,
  P,
  Q,
  R,
  S,
  adjustStock,
  given,
  moveStock,
  receiveStock,
  received,
  serial,
  warehouse,
} from '../testing/index.js';
import type { ConflictRecord } from './decide.js';
import { COMMANDS, COMMAND_ROLES, decideAtScan, parseCommand, rejectionEvent } from './decide.js';
import { assessDeviceTime } from './time.js';

describe('roles are part of the decision (scenario 25)', () => {
  it('an operator cannot define items, reverse movements or resolve conflicts', () => {
    const spec = given(...warehouse(), { ...received(A, P, 4), id: 'r1' });
    spec
      .when(
        { name: 'defineItem', args: { itemId: 'i9', sku: 'N', name: 'New', tracking: 'none' } },
        { role: 'operator' },
      )
      .thenRejects('FORBIDDEN');
    spec
      .when({ name: 'reverseMovement', args: { eventId: 'r1' } }, { role: 'operator' })
      .thenRejects('FORBIDDEN');
    spec
      .when(
        { name: 'resolveConflict', args: { conflictId: 'cf-1', action: 'dismiss', note: 'n' } },
        { role: 'supervisor' },
      )
      .thenRejects('FORBIDDEN');
  });

  it('role is checked before args, so a forbidden command never reveals validation details', () => {
    given()
      .when({ name: 'defineItem', args: { nonsense: true } }, { role: 'operator' })
      .thenRejects('FORBIDDEN');
  });

  it('every command has a role', () => {
    expect(Object.keys(COMMAND_ROLES).sort()).toEqual(Object.keys(COMMANDS).sort());
  });
});

describe('per-mutation validation (scenario 26)', () => {
  it.each([
    ['a negative quantity', moveStock(A, P, Q, -1)],
    ['a zero quantity', receiveStock(A, P, 0)],
    ['NaN', receiveStock(A, P, Number.NaN)],
    ['Infinity', receiveStock(A, P, Number.POSITIVE_INFINITY)],
    [
      'a string quantity',
      { name: 'receiveStock', args: { itemId: A, positionId: P, quantity: '5' } },
    ],
    ['a missing field', { name: 'moveStock', args: { itemId: A, from: P, quantity: 1 } }],
    [
      'an unexpected field',
      { name: 'receiveStock', args: { itemId: A, positionId: P, quantity: 1, price: 3 } },
    ],
    ['an absurd quantity', receiveStock(A, P, 1e12)],
  ])('%s is a VALIDATION_FAILED rejection with a readable message', (_what, mutation) => {
    const outcome = given(...warehouse())
      .when(mutation)
      .thenRejects('VALIDATION_FAILED');
    expect(outcome.decision.kind === 'rejected' && outcome.decision.message).toMatch(
      /^(receiveStock|moveStock): /,
    );
  });

  it('an unknown command name is UNKNOWN_COMMAND, including prototype names', () => {
    given().when({ name: 'teleportStock', args: {} }).thenRejects('UNKNOWN_COMMAND');
    given().when({ name: '__proto__', args: {} }).thenRejects('UNKNOWN_COMMAND');
    given().when({ name: 'toString', args: {} }).thenRejects('UNKNOWN_COMMAND');
  });

  it('the message quotes at most 64 characters of a name (any string may arrive as one)', () => {
    const long = parseCommand('x'.repeat(5000), {});
    expect(long).toEqual({
      ok: false,
      code: 'UNKNOWN_COMMAND',
      message: `unknown command "${'x'.repeat(64)}…"`,
    });
    expect(parseCommand('teleportStock', {})).toMatchObject({
      message: 'unknown command "teleportStock"',
    });
  });

  it('parseCommand gives typed commands', () => {
    const parsed = parseCommand('moveStock', { itemId: 'a', from: 'p', to: 'q', quantity: 2 });
    expect(parsed).toEqual({
      ok: true,
      command: { name: 'moveStock', args: { itemId: 'a', from: 'p', to: 'q', quantity: 2 } },
    });
  });

  it('a rejection is recorded with the full mutation and the conflict kind it opens', () => {
    const mutation = {
      clientID: 'c1',
      id: 17,
      name: 'adjustStock',
      args: { itemId: A },
      timestamp: 1,
    };
    expect(rejectionEvent(mutation, { code: 'FORBIDDEN', message: 'no' })).toEqual({
      type: 'MutationRejected',
      data: { mutation, code: 'FORBIDDEN', message: 'no', conflictKind: 'forbidden' },
    });
    expect(rejectionEvent(mutation, { code: 'UNKNOWN_ITEM', message: '?' }).data).toMatchObject({
      conflictKind: 'unknown-code',
    });
  });
});

describe('intents are always strict, facts follow the mode', () => {
  it('a physical fact that contradicts state is recorded in record mode (scenario 5: two devices, last units)', () => {
    // P holds 10 A. Device 1 moved 8 to Q, device 2 moved 6 to R; both replayed in order.
    const afterFirst = given(...warehouse(), received(A, P, 10)).when(moveStock(A, P, Q, 8), {
      role: 'operator',
    });
    afterFirst.then({ type: 'StockMoved', data: { itemId: A, from: P, to: Q, quantity: 8 } });
    const first = afterFirst.decision.kind === 'accepted' ? afterFirst.decision.events : [];
    const second = given(...warehouse(), received(A, P, 10), ...first)
      .when(moveStock(A, P, 'pos-R', 6), { role: 'operator' })
      .thenConflicts('negative-stock');
    // Both recorded: P at −4 (flagged by the conflict), Q +8, R +6.
    const at = (position: typeof P | 'pos-R') =>
      totalQuantity(
        stockLines(viewOf(second.state), { itemId: A, positionId: position as typeof P }),
      );
    expect([at(P), at(Q), at('pos-R')]).toEqual([-4, 8, 6]);
    const conflict = second.decision.kind === 'accepted' ? second.decision.conflicts[0] : undefined;
    expect(conflict).toMatchObject({
      kind: 'negative-stock',
      detail: {
        available: 2,
        requested: 6,
        resulting: -4,
        // What it says, for the console to say it in the admin's language: codes and numbers.
        text: {
          code: 'STOCK_BELOW_ZERO',
          values: { position: 'P', sku: 'A', available: 2, taken: 6, resulting: -4 },
        },
      },
    });
  });

  it('a reversal (an intent) is refused when stock has gone, even in record mode', () => {
    given(
      ...warehouse(),
      { ...received(A, P, 4), id: 'r1' },
      { type: 'StockShipped', data: { itemId: A, from: P, quantity: 3 } },
    )
      .when({ name: 'reverseMovement', args: { eventId: 'r1' } }, { mode: 'record' })
      .thenRejects('INSUFFICIENT_STOCK');
  });
});

describe('decideAtScan (scenario 13: a serial in stock cannot be received again)', () => {
  const inStock = [...warehouse(), received(S, P, 1, { serial: serial('SN1') })];
  const record = { mode: 'record' } as const;

  it('a receipt of a serial the device holds in stock is refused at the scan', () => {
    const receipt = given(...inStock).when(receiveStock(S, Q, 1, { serial: 'SN1' }), record);
    // The replay records it (the server, for a device that could not know)…
    expect(receipt.decision).toMatchObject({
      kind: 'accepted',
      conflicts: [
        {
          kind: 'serial-elsewhere',
          detail: {
            text: { code: 'SERIAL_IN_STOCK', values: { serial: 'SN1', sku: 'S', where: 'P' } },
          },
        },
      ],
    });
    // …a device that knows refuses it before anything is queued.
    expect(decideAtScan('receiveStock', receipt.decision)).toEqual({
      kind: 'rejected',
      code: 'SERIAL_ELSEWHERE',
      message: 'serial SN1 of S is already in stock at P',
    });
  });

  it('leaves every other decision as it is: a new serial, and other facts with their conflicts', () => {
    const fresh = given(...inStock).when(receiveStock(S, Q, 1, { serial: 'SN2' }), record);
    expect(decideAtScan('receiveStock', fresh.decision)).toBe(fresh.decision);
    // Moving the serial from where it is not recorded: a physical fact, kept with its conflict.
    const move = given(...inStock).when(moveStock(S, Q, R, 1, { serial: 'SN1' }), record);
    expect(move.decision).toMatchObject({
      conflicts: [
        {
          kind: 'serial-elsewhere',
          message: 'serial SN1 of S is not at Q (recorded at P)',
          detail: {
            text: {
              code: 'SERIAL_NOT_AT',
              values: { serial: 'SN1', sku: 'S', position: 'Q', recordedAt: 'P' },
            },
          },
        },
      ],
    });
    expect(decideAtScan('moveStock', move.decision)).toBe(move.decision);
    const refused = given(...inStock).when(receiveStock(S, Q, 1), record);
    expect(decideAtScan('receiveStock', refused.decision)).toBe(refused.decision);
  });
});

describe('resolveConflict', () => {
  const cf = asConflictId('cf-1');
  const negative: ConflictRecord = {
    id: cf,
    kind: 'negative-stock',
    status: 'open',
    mutation: null,
    detail: { itemId: A, positionId: P, lot: null },
  };
  const base = () =>
    given(...warehouse(), received(A, P, 10), {
      type: 'StockMoved',
      data: { itemId: A, from: P, to: Q, quantity: 14 },
    });

  it('compensate: a compensating adjustment clears the negative line, and both are events', () => {
    const outcome = base()
      .withConflicts(negative)
      .when({
        name: 'resolveConflict',
        args: {
          conflictId: cf,
          action: 'compensate',
          note: 'recounted: P was empty',
          args: adjustStock(A, P, 4, 'conflict-resolution'),
        },
      })
      .then(
        {
          type: 'ConflictResolved',
          data: {
            conflictId: cf,
            action: 'compensate',
            note: 'recounted: P was empty',
            command: {
              name: 'adjustStock',
              args: { itemId: A, positionId: P, delta: 4, reason: 'conflict-resolution' },
            },
          },
        },
        {
          type: 'StockAdjusted',
          data: { itemId: A, positionId: P, delta: 4, reason: 'conflict-resolution' },
        } as never,
      );
    expect(outcome.state.stock.size).toBe(1); // only Q's line is left; P is back at 0
  });

  it('accept and dismiss record only the resolution; a note is mandatory', () => {
    base()
      .withConflicts(negative)
      .when({ name: 'resolveConflict', args: { conflictId: cf, action: 'accept', note: 'ok' } })
      .then({
        type: 'ConflictResolved',
        data: { conflictId: cf, action: 'accept', note: 'ok' },
      });
    base()
      .withConflicts(negative)
      .when({ name: 'resolveConflict', args: { conflictId: cf, action: 'dismiss', note: ' ' } })
      .thenRejects('VALIDATION_FAILED');
  });

  it('a resolved conflict cannot be resolved again; an unknown one is unknown', () => {
    base()
      .withConflicts({ ...negative, status: 'resolved' })
      .when({ name: 'resolveConflict', args: { conflictId: cf, action: 'accept', note: 'again' } })
      .thenRejects('STALE_INTENT');
    base()
      .when({ name: 'resolveConflict', args: { conflictId: cf, action: 'accept', note: 'x' } })
      .thenRejects('UNKNOWN_CONFLICT');
  });

  it('reapply: the original mutation runs again with corrected args (an unknown item mapped)', () => {
    const unknown: ConflictRecord = {
      id: cf,
      kind: 'unknown-code',
      status: 'open',
      mutation: {
        clientID: 'c1',
        id: 3,
        name: 'receiveStock',
        args: { itemId: 'ghost', positionId: P, quantity: 2 },
      },
      detail: {},
    };
    base()
      .withConflicts(unknown)
      .when({
        name: 'resolveConflict',
        args: {
          conflictId: cf,
          action: 'reapply',
          note: 'was item A',
          args: { itemId: A, positionId: P, quantity: 2 },
        },
      })
      .then(
        {
          type: 'ConflictResolved',
          data: {
            conflictId: cf,
            action: 'reapply',
            note: 'was item A',
            command: { name: 'receiveStock', args: { itemId: A, positionId: P, quantity: 2 } },
          },
        },
        { type: 'StockReceived', data: { itemId: A, positionId: P, quantity: 2 } } as never,
      );
  });

  it('a serial still in two places cannot be accepted or dismissed: compensate it first', () => {
    const doubled: ConflictRecord = {
      id: cf,
      kind: 'serial-elsewhere',
      status: 'open',
      mutation: null,
      detail: { itemId: S, serial: 'SN1', recordedAt: [P] },
    };
    // Received at P, then scanned in at Q by an offline device: recorded in both places.
    const twice = () =>
      given(
        ...warehouse(),
        received(S, P, 1, { serial: serial('SN1') }),
        received(S, Q, 1, { serial: serial('SN1') }),
      ).withConflicts(doubled);
    for (const action of ['accept', 'dismiss'] as const)
      twice()
        .when({ name: 'resolveConflict', args: { conflictId: cf, action, note: 'seen' } })
        .thenRejects('SERIAL_ELSEWHERE');
    // Taking it out where it is not settles it, and with it the conflict.
    twice()
      .when({
        name: 'resolveConflict',
        args: {
          conflictId: cf,
          action: 'compensate',
          note: 'it is at Q',
          args: adjustStock(S, P, -1, 'conflict-resolution', { serial: 'SN1' }),
        },
      })
      .then(
        {
          type: 'ConflictResolved',
          data: {
            conflictId: cf,
            action: 'compensate',
            note: 'it is at Q',
            command: {
              name: 'adjustStock',
              args: {
                itemId: S,
                positionId: P,
                delta: -1,
                reason: 'conflict-resolution',
                serial: 'SN1',
              },
            },
          },
        },
        {
          type: 'StockAdjusted',
          data: {
            itemId: S,
            positionId: P,
            delta: -1,
            reason: 'conflict-resolution',
            serial: serial('SN1'),
          },
        } as never,
      );
    // A compensation that leaves it in two places is refused too: it must end in one place.
    given(
      ...warehouse(),
      received(S, P, 1, { serial: serial('SN1') }),
      received(S, Q, 1, { serial: serial('SN1') }),
      received(S, R, 1, { serial: serial('SN1') }),
    )
      .withConflicts(doubled)
      .when({
        name: 'resolveConflict',
        args: {
          conflictId: cf,
          action: 'compensate',
          note: 'it is at Q',
          args: adjustStock(S, P, -1, 'conflict-resolution', { serial: 'SN1' }),
        },
      })
      .thenRejects('SERIAL_ELSEWHERE');
    // Once it is in one place (settled on the floor), accepting is fine.
    given(...warehouse(), received(S, Q, 1, { serial: serial('SN1') }))
      .withConflicts(doubled)
      .when({ name: 'resolveConflict', args: { conflictId: cf, action: 'accept', note: 'ok' } })
      .then({ type: 'ConflictResolved', data: { conflictId: cf, action: 'accept', note: 'ok' } });
  });

  it('a compensation that is itself invalid rejects the resolution', () => {
    base()
      .withConflicts(negative)
      .when({
        name: 'resolveConflict',
        args: {
          conflictId: cf,
          action: 'compensate',
          note: 'x',
          args: { name: 'adjustStock', args: { itemId: A } },
        },
      })
      .thenRejects('VALIDATION_FAILED');
    base()
      .withConflicts(negative)
      .when({ name: 'resolveConflict', args: { conflictId: cf, action: 'compensate', note: 'x' } })
      .thenRejects('VALIDATION_FAILED');
  });
});

describe('device time (scenario 11: clock skew)', () => {
  const recordedAt = '2026-11-25T21:40:00.000Z';

  it('a clock 3 hours fast is kept as occurredAt and flagged implausible', () => {
    expect(assessDeviceTime({ occurredAt: '2026-11-26T00:40:00.000Z' }, recordedAt)).toEqual({
      occurredAt: '2026-11-26T00:40:00.000Z',
      implausible: true,
    });
  });

  it('a scan made offline two hours ago is plausible', () => {
    expect(
      assessDeviceTime({ timestamp: Date.parse('2026-11-25T19:40:00.000Z') }, recordedAt),
    ).toEqual({
      occurredAt: '2026-11-25T19:40:00.000Z',
      implausible: false,
    });
  });

  it('a Replicache page-relative timestamp is not plausible epoch time: recordedAt is kept, flagged', () => {
    // SYNC-PROTOCOL.md: device time is recorded "when it is plausible epoch time and flags it
    // otherwise".
    for (const timestamp of [12345.67, 0, -1, Number.NaN])
      expect(assessDeviceTime({ timestamp }, recordedAt)).toEqual({
        occurredAt: recordedAt,
        implausible: true,
      });
  });

  it('no device time at all: recordedAt stands, unflagged (nothing was claimed)', () => {
    expect(assessDeviceTime({}, recordedAt)).toEqual({
      occurredAt: recordedAt,
      implausible: false,
    });
  });

  it('garbage occurredAt is flagged; a months-old one too', () => {
    expect(assessDeviceTime({ occurredAt: 'yesterday' }, recordedAt)).toEqual({
      occurredAt: recordedAt,
      implausible: true,
    });
    expect(assessDeviceTime({ occurredAt: '2026-01-01T00:00:00Z' }, recordedAt).implausible).toBe(
      true,
    );
  });
});
