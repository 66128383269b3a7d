import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { parseCommand } from '../sync/decide.js';
import { A, P, Q } from '../testing/index.js';
import { LIST_MAX_LINES, assignListArgs, closeListArgs, createListArgs } from './commands.js';

/** Issues as the replay words them (`path: message`), so messages are checked as a device sees them. */
const problems = (schema: z.ZodType, args: unknown): string[] => {
  const parsed = schema.safeParse(args);
  if (parsed.success) return [];
  return parsed.error.issues.map((i) =>
    i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message,
  );
};

const LIST = '0192f0c8-0000-7000-8000-000000000001';
const valid = {
  listId: LIST,
  type: 'receipt',
  code: 'R-1001',
  lines: [{ lineNo: 1, itemId: A, quantity: 10, suggestedPositionId: P }],
};

describe('createList args', () => {
  it('accept a full list', () => {
    expect(
      problems(createListArgs, {
        ...valid,
        partner: 'ACME',
        references: ['PO-77', 'ASN-9'],
        dueOn: '2026-12-01',
        lines: [
          { lineNo: 1, itemId: A, quantity: 10, suggestedPositionId: P },
          { lineNo: 2, itemId: A, quantity: 0.5, lot: 'L1' },
        ],
      }),
    ).toEqual([]);
  });

  it('refuse an empty list', () => {
    expect(problems(createListArgs, { ...valid, lines: [] })).toEqual([
      'lines: a list needs at least one line',
    ]);
  });

  it('refuse duplicate line numbers, naming the line', () => {
    expect(
      problems(createListArgs, {
        ...valid,
        lines: [
          { lineNo: 1, itemId: A, quantity: 1 },
          { lineNo: 2, itemId: A, quantity: 1 },
          { lineNo: 1, itemId: A, quantity: 1 },
        ],
      }),
    ).toEqual(['lines.2.lineNo: line numbers must be unique: 1 appears twice']);
  });

  it('refuse quantities of 0 or less, and line numbers below 1', () => {
    expect(
      problems(createListArgs, {
        ...valid,
        lines: [
          { lineNo: 1, itemId: A, quantity: 0 },
          { lineNo: 2, itemId: A, quantity: -3 },
          { lineNo: 0, itemId: A, quantity: 1 },
          { lineNo: 1.5, itemId: A, quantity: 1 },
        ],
      }),
    ).toEqual([
      'lines.0.quantity: quantity must be greater than 0',
      'lines.1.quantity: quantity must be greater than 0',
      'lines.2.lineNo: lineNo must be at least 1',
      'lines.3.lineNo: lineNo must be a whole number',
    ]);
  });

  it('refuse a list id that is not a UUID, an unknown type, an unknown field', () => {
    expect(problems(createListArgs, { ...valid, listId: 'list-1' })).toEqual([
      'listId: listId must be a UUID',
    ]);
    expect(problems(createListArgs, { ...valid, type: 'return' })).toEqual([
      'type: type must be one of: receipt, shipment, transfer',
    ]);
    expect(problems(createListArgs, { ...valid, priority: 1 })).toHaveLength(1);
    expect(problems(createListArgs, { ...valid, dueOn: '1 Dec' })).toHaveLength(1);
  });

  it('refuse suggestions that do not fit the list type', () => {
    expect(
      problems(createListArgs, {
        ...valid,
        lines: [{ lineNo: 1, itemId: A, quantity: 1, suggestedFromId: P }],
      }),
    ).toEqual([
      'lines.0.suggestedFromId: a receipt comes from outside: suggestedFromId is for shipment and transfer lines',
    ]);
    expect(
      problems(createListArgs, {
        ...valid,
        type: 'shipment',
        lines: [{ lineNo: 1, itemId: A, quantity: 1, suggestedPositionId: P }],
      }),
    ).toEqual([
      'lines.0.suggestedPositionId: a shipment leaves the site: give where to pick as suggestedFromId',
    ]);
    expect(
      problems(createListArgs, {
        ...valid,
        type: 'transfer',
        lines: [{ lineNo: 1, itemId: A, quantity: 1, suggestedFromId: Q, suggestedPositionId: Q }],
      }),
    ).toEqual([
      'lines.0.suggestedPositionId: suggested source and destination are the same position',
    ]);
  });

  it('refuse a serial line of more than 1, and a serial planned twice', () => {
    expect(
      problems(createListArgs, {
        ...valid,
        lines: [
          { lineNo: 1, itemId: A, quantity: 2, serial: 'SN1' },
          { lineNo: 2, itemId: A, quantity: 1, serial: 'SN2' },
          { lineNo: 3, itemId: A, quantity: 1, serial: 'SN2' },
        ],
      }),
    ).toEqual([
      'lines.0.quantity: a line with serial SN1 plans exactly 1, not 2',
      'lines.2.serial: serial SN2 is already planned on line 2',
    ]);
  });

  it(`refuse more than ${LIST_MAX_LINES} lines`, () => {
    const lines = Array.from({ length: LIST_MAX_LINES + 1 }, (_, i) => ({
      lineNo: i + 1,
      itemId: A,
      quantity: 1,
    }));
    expect(problems(createListArgs, { ...valid, lines })).toEqual([
      `lines: a list has at most ${LIST_MAX_LINES} lines`,
    ]);
    expect(problems(createListArgs, { ...valid, lines: lines.slice(1) })).toEqual([]);
  });
});

describe('assignList and closeList args', () => {
  it('take a user or null, and an optional note', () => {
    expect(problems(assignListArgs, { listId: LIST, userId: 'u-1' })).toEqual([]);
    expect(problems(assignListArgs, { listId: LIST, userId: null })).toEqual([]);
    expect(problems(assignListArgs, { listId: LIST })).toHaveLength(1);
    expect(problems(closeListArgs, { listId: LIST })).toEqual([]);
    expect(problems(closeListArgs, { listId: LIST, note: 'short' })).toEqual([]);
    expect(problems(closeListArgs, { listId: LIST, force: true })).toHaveLength(1);
  });
});

describe('confirming a line is the existing movement commands', () => {
  it('receiveStock, moveStock and shipStock already carry listId and lineNo', () => {
    for (const [name, args] of [
      ['receiveStock', { itemId: A, positionId: P, quantity: 1 }],
      ['moveStock', { itemId: A, from: P, to: Q, quantity: 1 }],
      ['shipStock', { itemId: A, from: P, quantity: 1 }],
    ] as const) {
      expect(parseCommand(name, { ...args, listId: LIST, lineNo: 1 }).ok).toBe(true);
    }
  });
});
