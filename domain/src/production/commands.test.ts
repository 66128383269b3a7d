import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  PRODUCTION_PHYSICAL_FACTS,
  assembleSerialArgs,
  completeProductionJobArgs,
  consumeForJobArgs,
  createProductionJobArgs,
  isProductionCommandName,
  produceForJobArgs,
  productionCommandArgs,
  replaceAssemblyArgs,
  startProductionJobArgs,
} from './commands.js';

/** Issues as the replay words them (`path: message`), so messages are checked as a device sees them. */
const problems = (schema: z.ZodType, args: unknown): string[] => {
  const parsed = schema.safeParse(args);
  if (parsed.success) return [];
  return parsed.error.issues.map((i) =>
    i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message,
  );
};

const J = '0192f0c8-0000-7000-8000-000000000001';
const unit = (serial: string, itemId = 'item-S') => ({ itemId, serial });

describe('job commands', () => {
  it('accept a full job, and one with only what is needed', () => {
    expect(
      problems(createProductionJobArgs, {
        jobId: J,
        code: 'J-1',
        itemId: 'item-PUMP',
        quantity: 12,
        note: 'rush',
      }),
    ).toEqual([]);
    expect(problems(createProductionJobArgs, { jobId: J, code: 'J-1', itemId: 'x' })).toEqual([]);
    expect(problems(startProductionJobArgs, { jobId: J })).toEqual([]);
    expect(problems(completeProductionJobArgs, { jobId: J, note: 'all done' })).toEqual([]);
  });

  it('name each bad field in plain words', () => {
    expect(
      problems(createProductionJobArgs, {
        jobId: 'job-1',
        code: '   ',
        itemId: 'item-PUMP',
        quantity: 0,
        priority: 'high',
      }),
    ).toEqual([
      'jobId: jobId must be a UUID',
      'code: code must not be empty',
      'quantity: quantity must be greater than 0',
      'Unrecognized key: "priority"',
    ]);
    expect(
      problems(createProductionJobArgs, { jobId: J, code: 'x'.repeat(65), itemId: 'a' }),
    ).toEqual(['code: code must be at most 64 characters']);
    expect(problems(startProductionJobArgs, {})).toEqual(['jobId: jobId must be a UUID']);
    expect(problems(completeProductionJobArgs, { jobId: J, note: 'n'.repeat(501) })).toEqual([
      'note: note must be at most 500 characters',
    ]);
  });
});

describe('consumeForJob and produceForJob', () => {
  it('accept what a scan gives', () => {
    expect(
      problems(consumeForJobArgs, { jobId: J, itemId: 'a', from: 'p', quantity: 2.5, lot: 'L1' }),
    ).toEqual([]);
    expect(
      problems(produceForJobArgs, {
        jobId: J,
        itemId: 'a',
        to: 'p',
        quantity: 1,
        lot: 'B-7',
        expiresOn: '2027-01-31',
      }),
    ).toEqual([]);
  });

  it('refuse missing positions, NaN or negative quantities, empty lots, bad dates', () => {
    expect(
      problems(consumeForJobArgs, { jobId: J, itemId: 'a', quantity: Number.NaN, lot: ' ' }),
    ).toEqual([
      'from: Invalid input: expected string, received undefined',
      'quantity: quantity must be a number',
      'lot: Too small: expected string to have >=1 characters',
    ]);
    expect(
      problems(produceForJobArgs, {
        jobId: J,
        itemId: 'a',
        to: 'p',
        quantity: -1,
        expiresOn: '31.12.2026',
      }),
    ).toEqual(['quantity: quantity must be greater than 0', 'expiresOn: Invalid ISO date']);
    expect(
      problems(consumeForJobArgs, { jobId: J, itemId: 'a', from: 'p', quantity: 1, to: 'q' }),
    ).toEqual(['Unrecognized key: "to"']);
  });
});

describe('assembly commands', () => {
  it('refuse a serial assembled into itself', () => {
    expect(problems(assembleSerialArgs, { parent: unit('P1'), child: unit('P1') })).toEqual([
      'child: a serial cannot be assembled into itself',
    ]);
    // The same serial text of two items is two units.
    expect(
      problems(assembleSerialArgs, { parent: unit('X', 'item-PUMP'), child: unit('X') }),
    ).toEqual([]);
  });

  it('say which part of a unit is missing', () => {
    expect(problems(assembleSerialArgs, { parent: { itemId: 'a' }, child: 'S7' })).toEqual([
      'parent.serial: Invalid input: expected string, received undefined',
      'child: Invalid input: expected object, received string',
    ]);
  });

  it('a replacement needs a known reason and a different new child', () => {
    const base = { parent: unit('P1', 'item-PUMP'), oldChild: unit('S7'), newChild: unit('S8') };
    expect(problems(replaceAssemblyArgs, { ...base, reason: 'defective' })).toEqual([]);
    expect(problems(replaceAssemblyArgs, { ...base, reason: 'broken' })).toEqual([
      'reason: reason must be one of: defective, damaged, upgrade, rework, other',
    ]);
    expect(problems(replaceAssemblyArgs, base)).toEqual([
      'reason: reason must be one of: defective, damaged, upgrade, rework, other',
    ]);
    expect(
      problems(replaceAssemblyArgs, { ...base, newChild: unit('S7'), reason: 'rework' }),
    ).toEqual(['newChild: the new child is the old one: nothing would be replaced']);
    expect(
      problems(replaceAssemblyArgs, {
        ...base,
        newChild: unit('P1', 'item-PUMP'),
        reason: 'rework',
      }),
    ).toEqual(['newChild: a serial cannot be assembled into itself']);
  });
});

describe('the command table', () => {
  it('names commands imperatively and marks the physical facts', () => {
    expect(Object.keys(productionCommandArgs)).toEqual([
      'createProductionJob',
      'startProductionJob',
      'completeProductionJob',
      'consumeForJob',
      'produceForJob',
      'assembleSerial',
      'replaceAssembly',
    ]);
    expect(isProductionCommandName('consumeForJob')).toBe(true);
    expect(isProductionCommandName('moveStock')).toBe(false);
    expect(isProductionCommandName('toString')).toBe(false);
    expect([...PRODUCTION_PHYSICAL_FACTS]).toEqual(['consumeForJob', 'produceForJob']);
  });
});
