import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { A, P, Q } from '../testing/index.js';
import {
  COUNTING_FACTS,
  VARIANCE_REASONS,
  approveCountSessionArgs,
  assignCountSessionArgs,
  confirmPositionEmptyArgs,
  countingCommandArgs,
  decideCountRaceArgs,
  planCountSessionArgs,
  recordCountArgs,
  skipCountRecordArgs,
} from './commands.js';
import { COUNTING_ROLES } from './decide.js';

/** Issues as the replay words them (`path: message`), so messages are checked as a device sees them. */
const problems = (schema: z.ZodType, args: unknown): string[] => {
  const parsed = schema.safeParse(args);
  if (parsed.success) return [];
  return parsed.error.issues.map((i) =>
    i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message,
  );
};

const SESSION = '0192f0c8-0000-7000-8000-00000000c001';
const count = { sessionId: SESSION, positionId: P, itemId: A };

describe('planCountSession args', () => {
  it('accept a positions scope or an items scope', () => {
    const base = { sessionId: SESSION, code: 'C-12', mode: 'blind' };
    expect(problems(planCountSessionArgs, { ...base, positionIds: [P, Q] })).toEqual([]);
    expect(
      problems(planCountSessionArgs, {
        ...base,
        itemIds: [A],
        recountAbove: { quantity: 2, percent: 10 },
        note: 'year end',
      }),
    ).toEqual([]);
  });

  it('refuse a bad id, an empty code, an unknown mode and an empty scope, all at once', () => {
    expect(
      problems(planCountSessionArgs, {
        sessionId: 'C-12',
        code: ' ',
        mode: 'dark',
        positionIds: [],
      }),
    ).toEqual([
      'sessionId: sessionId must be a UUID',
      'code: code must not be empty',
      'positionIds: positionIds must name at least one position',
      'mode: mode must be one of: blind, open',
    ]);
  });

  it('want exactly one scope, listed once, and a sane threshold', () => {
    const base = { sessionId: SESSION, code: 'C-12', mode: 'open' };
    const one = ['the scope is positionIds or itemIds: give exactly one of them'];
    expect(problems(planCountSessionArgs, base)).toEqual(one);
    expect(problems(planCountSessionArgs, { ...base, positionIds: [P], itemIds: [A] })).toEqual(
      one,
    );
    expect(
      problems(planCountSessionArgs, {
        ...base,
        positionIds: [P, Q, P],
        recountAbove: { quantity: -1, pct: 3 },
      }),
    ).toEqual([
      'recountAbove.quantity: quantity must be 0 or more',
      'recountAbove: Unrecognized key: "pct"',
      'positionIds.2: pos-P appears twice',
    ]);
  });
});

describe('recordCount args', () => {
  it('accept a quantity with what the device held, or serials with the serials expected', () => {
    expect(problems(recordCountArgs, { ...count, counted: 0, expected: -4 })).toEqual([]);
    expect(problems(recordCountArgs, { ...count, counted: 2.5, expected: 3, lot: 'L1' })).toEqual(
      [],
    );
    expect(problems(recordCountArgs, { ...count, serials: ['s2'], expectedSerials: [] })).toEqual(
      [],
    );
  });

  it('say what is missing', () => {
    expect(problems(recordCountArgs, count)).toEqual([
      'counted: how many were counted is required (or serials, for a serialized item)',
      'expected: the quantity the device held when counting is required',
    ]);
  });

  it('refuse negative, NaN and infinite quantities, and non-numbers', () => {
    expect(problems(recordCountArgs, { ...count, counted: -1, expected: 'x' })).toEqual([
      'counted: counted must be 0 or more',
      'expected: expected must be a number',
    ]);
    expect(problems(recordCountArgs, { ...count, counted: NaN, expected: Infinity })).toEqual([
      'counted: counted must be a number',
      'expected: expected must be a number',
    ]);
    expect(problems(recordCountArgs, { ...count, counted: 2e9, expected: 0 })).toEqual([
      'counted: counted must be at most 1000000000',
    ]);
  });

  it('refuse mixing a quantity and serials, half a serial count, a serial twice', () => {
    expect(problems(recordCountArgs, { ...count, counted: 1, serials: ['a', 'a'] })).toEqual([
      'expectedSerials: the serials the device expected are required (an empty list when none)',
      'counted: a serial count lists serials, not a quantity',
      'serials.1: a appears twice',
    ]);
    expect(problems(recordCountArgs, { ...count, expectedSerials: ['a'] })).toEqual([
      'serials: the serials found are required (an empty list when none)',
    ]);
  });

  it('refuse unknown fields', () => {
    expect(problems(recordCountArgs, { ...count, counted: 1, expected: 1, extra: 1 })).toEqual([
      'Unrecognized key: "extra"',
    ]);
  });
});

describe('other commands’ args', () => {
  it('confirmPositionEmpty: a quantity or serials per expected pair, each pair once', () => {
    expect(
      problems(confirmPositionEmptyArgs, {
        sessionId: SESSION,
        positionId: P,
        expected: [
          { itemId: A },
          { itemId: A, quantity: 1 },
          { itemId: 'item-L', lot: 'L1', quantity: 2 },
        ],
      }),
    ).toEqual([
      'expected.0: give the quantity the device expected, or its serials for a serialized item',
      'expected.1: item-A appears twice',
    ]);
    expect(
      problems(confirmPositionEmptyArgs, { sessionId: SESSION, positionId: P, expected: [] }),
    ).toEqual([]);
  });

  it('approveCountSession: known reason codes, whole line numbers, one reason per line', () => {
    expect(
      problems(approveCountSessionArgs, {
        sessionId: SESSION,
        reason: 'because',
        reasons: [
          { lineNo: 0, reason: 'lost' },
          { lineNo: 1.5, reason: 'lost' },
        ],
      }),
    ).toEqual([
      `reason: reason must be one of: ${VARIANCE_REASONS.join(', ')}`,
      'reasons.0.lineNo: lineNo must be at least 1',
      'reasons.1.lineNo: lineNo must be a whole number',
    ]);
    expect(
      problems(approveCountSessionArgs, {
        sessionId: SESSION,
        reasons: [
          { lineNo: 2, reason: 'lost' },
          { lineNo: 2, reason: 'found' },
        ],
      }),
    ).toEqual(['reasons.1.lineNo: line 2 has two reasons']);
  });

  it('decideCountRace, skipCountRecord, assignCountSession', () => {
    expect(
      problems(decideCountRaceArgs, { sessionId: SESSION, lineNo: 1, choice: 'both' }),
    ).toEqual(['choice: choice must be one of: keep-delta, keep-counted']);
    expect(problems(skipCountRecordArgs, { sessionId: SESSION, lineNo: 1, note: ' ' })).toEqual([
      'note: say why the line is skipped',
    ]);
    expect(problems(assignCountSessionArgs, { sessionId: SESSION, userIds: ['u', 'u'] })).toEqual([
      'userIds.1: u appears twice',
    ]);
  });
});

describe('the command table', () => {
  it('gives every command a role; floor facts are an operator’s, intents a supervisor’s', () => {
    for (const name of Object.keys(countingCommandArgs) as (keyof typeof countingCommandArgs)[]) {
      expect(COUNTING_ROLES[name]).toBe(COUNTING_FACTS.has(name) ? 'operator' : 'supervisor');
    }
  });
});
