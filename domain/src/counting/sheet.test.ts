import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { InventoryEvent } from '../inventory/events.js';
import type { InventoryState } from '../inventory/state.js';
import { initialState, viewOf } from '../inventory/state.js';
import { parseCsv } from '../jobs/bulk-adjust.js';
import type { RowError } from '../jobs/row-error.js';
import { foldEvent, replayViewOf } from '../projection.js';
import { asUserId } from '../shared/ids.js';
import type { Role } from '../shared/roles.js';
import type { ReplayDecision } from '../sync/decide.js';
import { decideMutation } from '../sync/decide.js';
import { A, L, P, Q, R, S, lot, received, serial, warehouse } from '../testing/index.js';
import type { CountMode, CountSessionId } from './commands.js';
import { asCountSessionId } from './commands.js';
import type { CountSheetCommand } from './sheet.js';
import { COUNT_SHEET_COLUMNS, countSheetOf, readCountSheet } from './sheet.js';
import type { CountingState } from './state.js';
import { countingViewOf, evolveCounting, initialCountingState, linesOf } from './state.js';

const C1 = asCountSessionId('0192f0c8-0000-7000-8000-00000000c001');

/**
 * A floor in miniature, as `decide.test.ts` runs one: every command goes through the replay's
 * `decideMutation` against inventory plus counting sessions; accepted events are folded into
 * both.
 */
class Floor {
  inventory: InventoryState = initialState();
  counting: CountingState = initialCountingState();
  private n = 0;

  constructor(stock: readonly InventoryEvent[]) {
    for (const e of [...warehouse(), ...stock]) this.append(e);
  }

  private append(e: { readonly type: string; readonly data: unknown }): void {
    const logged = { ...e, id: `e${++this.n}` };
    this.inventory = foldEvent(this.inventory, logged);
    this.counting = evolveCounting(this.counting, logged);
  }

  get view() {
    return replayViewOf(
      this.inventory,
      new Map(),
      undefined,
      undefined,
      countingViewOf(this.counting),
    );
  }

  run(
    name: string,
    args: unknown,
    user = 'u-ana',
    role: Role = user === 'u-sam' ? 'supervisor' : 'operator',
  ): ReplayDecision {
    const outcome = decideMutation(
      this.view,
      { name, args },
      { actor: { userId: asUserId(user), role }, mode: 'record' },
    );
    if (outcome.kind === 'accepted') for (const e of outcome.events) this.append(e);
    return outcome;
  }

  ok(name: string, args: unknown, user?: string): void {
    const r = this.run(name, args, user);
    if (r.kind === 'rejected') throw new Error(`${name} rejected: ${r.code} ${r.message}`);
  }

  /** A session over positions or items, started. */
  plan(scope: { positionIds: string[] } | { itemIds: string[] }, mode: CountMode = 'blind') {
    this.ok('planCountSession', { sessionId: C1, code: 'C-12', mode, ...scope }, 'u-sam');
    this.ok('startCountSession', { sessionId: C1 }, 'u-sam');
  }

  sheet(id: CountSessionId = C1) {
    const session = this.counting.sessions.get(id);
    if (!session) throw new Error(`no session ${id}`);
    return countSheetOf(
      viewOf(this.inventory),
      session,
      [...(this.counting.scopes.get(id) ?? [])],
      linesOf(this.counting, id),
    );
  }

  read(table: readonly (readonly string[])[], withLines = false) {
    const session = this.counting.sessions.get(C1);
    if (!session) throw new Error('no session');
    return readCountSheet(
      table,
      viewOf(this.inventory),
      session,
      (id) => this.counting.scopes.get(C1)?.has(id) ?? false,
      withLines ? linesOf(this.counting, C1) : [],
    );
  }
}

/** A: 10 at P; L: lot L1 4 at P, lot L2 2.5 at Q; S: s1 (lot B7), s2 at P, s3 at Q. R is empty. */
const stock = (): InventoryEvent[] => [
  received(A, P, 10),
  received(L, P, 4, { lot: lot('L1') }),
  received(L, Q, 2.5, { lot: lot('L2') }),
  received(S, P, 1, { serial: serial('s1'), lot: lot('B7') }),
  received(S, P, 1, { serial: serial('s2') }),
  received(S, Q, 1, { serial: serial('s3') }),
];

/** The sheet's rows with `counted` set by position, item, lot/serial key. */
function fill(
  sheet: { header: string[]; rows: string[][] },
  counted: Record<string, string>,
): string[][] {
  const c = sheet.header.indexOf('counted');
  return [
    sheet.header,
    ...sheet.rows.map((r) => {
      const key = [r[1], r[2], r[5] || r[4]].filter(Boolean).join('/');
      const v = counted[key];
      return v === undefined ? r : r.map((cell, i) => (i === c ? v : cell));
    }),
  ];
}

const table = (...lines: string[]) => parseCsv(lines.join('\n'));

describe('exporting a counting sheet', () => {
  it('open mode: every pair to count with its expected quantity, one row per serial, empty positions', () => {
    const floor = new Floor(stock());
    floor.plan({ positionIds: [R, Q, P] }, 'open');
    const sheet = floor.sheet();
    expect(sheet.header).toEqual([...COUNT_SHEET_COLUMNS]);
    expect(sheet.header).toEqual([
      'session',
      'position',
      'item',
      'description',
      'lot',
      'serial',
      'expected',
      'counted',
    ]);
    expect(sheet.rows).toEqual([
      ['C-12', 'P', 'A', 'Item A', '', '', '10', ''],
      ['C-12', 'P', 'L', 'Item L', 'L1', '', '4', ''],
      ['C-12', 'P', 'S', 'Item S', 'B7', 's1', '1', ''],
      ['C-12', 'P', 'S', 'Item S', '', 's2', '1', ''],
      ['C-12', 'Q', 'L', 'Item L', 'L2', '', '2.5', ''],
      ['C-12', 'Q', 'S', 'Item S', '', 's3', '1', ''],
      // R holds nothing: a row without an item, to write 0 on ("confirmed empty").
      ['C-12', 'R', '', '', '', '', '0', ''],
    ]);
  });

  it('blind mode: the expected column stays empty', () => {
    const floor = new Floor(stock());
    floor.plan({ positionIds: [P, Q, R] }, 'blind');
    const sheet = floor.sheet();
    expect(sheet.rows).toHaveLength(7);
    expect(sheet.rows.map((r) => r[6])).toEqual(['', '', '', '', '', '', '']);
    expect(sheet.rows.map((r) => r.slice(1, 6))).toEqual([
      ['P', 'A', 'Item A', '', ''],
      ['P', 'L', 'Item L', 'L1', ''],
      ['P', 'S', 'Item S', 'B7', 's1'],
      ['P', 'S', 'Item S', '', 's2'],
      ['Q', 'L', 'Item L', 'L2', ''],
      ['Q', 'S', 'Item S', '', 's3'],
      ['R', '', '', '', ''],
    ]);
  });

  it('items scope: every stock line of the items, wherever it is; no empty-position rows', () => {
    const floor = new Floor(stock());
    floor.plan({ itemIds: [S, L] }, 'open');
    expect(floor.sheet().rows.map((r) => r.slice(1))).toEqual([
      ['P', 'L', 'Item L', 'L1', '', '4', ''],
      ['P', 'S', 'Item S', 'B7', 's1', '1', ''],
      ['P', 'S', 'Item S', '', 's2', '1', ''],
      ['Q', 'L', 'Item L', 'L2', '', '2.5', ''],
      ['Q', 'S', 'Item S', '', 's3', '1', ''],
    ]);
  });

  it('a sheet printed again shows what is counted, and the pairs counted that hold no stock', () => {
    const floor = new Floor(stock());
    floor.plan({ positionIds: [P, R] }, 'blind');
    floor.ok('recordCount', { sessionId: C1, positionId: P, itemId: A, counted: 9, expected: 10 });
    // Found at R: goods nobody booked there.
    floor.ok('recordCount', { sessionId: C1, positionId: R, itemId: A, counted: 3, expected: 0 });
    floor.ok('recordCount', {
      sessionId: C1,
      positionId: P,
      itemId: S,
      serials: ['s1', 's9'],
      expectedSerials: ['s1', 's2'],
    });
    expect(floor.sheet().rows.map((r) => r.slice(1))).toEqual([
      ['P', 'A', 'Item A', '', '', '', '9'],
      ['P', 'L', 'Item L', 'L1', '', '', ''],
      ['P', 'S', 'Item S', 'B7', 's1', '', '1'],
      ['P', 'S', 'Item S', '', 's2', '', '0'],
      ['P', 'S', 'Item S', '', 's9', '', '1'],
      ['R', 'A', 'Item A', '', '', '', '3'],
    ]);
  });

  it('a line waiting for a recount prints uncounted (a blind recount stays blind)', () => {
    const floor = new Floor(stock());
    floor.ok(
      'planCountSession',
      {
        sessionId: C1,
        code: 'C-12',
        mode: 'blind',
        positionIds: [P],
        recountAbove: { quantity: 1 },
      },
      'u-sam',
    );
    floor.ok('startCountSession', { sessionId: C1 }, 'u-sam');
    floor.ok('recordCount', { sessionId: C1, positionId: P, itemId: A, counted: 2, expected: 10 });
    expect(floor.sheet().rows[0]).toEqual(['C-12', 'P', 'A', 'Item A', '', '', '', '']);
  });
});

describe('reading a filled sheet back', () => {
  it('round trip: export, fill in, import: the counts a handheld would have sent, all accepted', () => {
    const floor = new Floor(stock());
    floor.plan({ positionIds: [P, Q, R] }, 'blind');
    const filled = fill(floor.sheet(), {
      'P/A': '9',
      'P/L/L1': '4',
      'P/S/s1': '1',
      'P/S/s2': '0',
      'Q/L/L2': '2,5',
      'Q/S/s3': '1',
      R: '0',
    });
    // A serial found that was not on the sheet: a row added by hand.
    filled.push(['C-12', 'P', 'S', '', '', 's9', '', '1']);
    const r = floor.read(filled);
    expect(r.errors).toEqual([]);
    expect(r.rows).toBe(8);
    expect(r.uncounted).toBe(0);
    expect(r.commands).toEqual<CountSheetCommand[]>([
      {
        line: 2,
        name: 'recordCount',
        args: { sessionId: C1, positionId: P, itemId: A, counted: 9, expected: 10 },
      },
      {
        line: 3,
        name: 'recordCount',
        args: { sessionId: C1, positionId: P, itemId: L, lot: lot('L1'), counted: 4, expected: 4 },
      },
      {
        line: 4,
        name: 'recordCount',
        args: {
          sessionId: C1,
          positionId: P,
          itemId: S,
          serials: [serial('s1'), serial('s9')],
          expectedSerials: [serial('s1'), serial('s2')],
        },
      },
      {
        line: 6,
        name: 'recordCount',
        args: {
          sessionId: C1,
          positionId: Q,
          itemId: L,
          lot: lot('L2'),
          counted: 2.5,
          expected: 2.5,
        },
      },
      {
        line: 7,
        name: 'recordCount',
        args: {
          sessionId: C1,
          positionId: Q,
          itemId: S,
          serials: [serial('s3')],
          expectedSerials: [serial('s3')],
        },
      },
      {
        line: 8,
        name: 'confirmPositionEmpty',
        args: { sessionId: C1, positionId: R, expected: [] },
      },
    ]);

    for (const c of r.commands) floor.ok(c.name, c.args);
    const lines = linesOf(floor.counting, C1);
    expect(lines).toHaveLength(5);
    expect(floor.counting.sessions.get(C1)).toMatchObject({ lines: 5, variances: 2 });
    expect(countingViewOf(floor.counting).countPosition(C1, R)).toMatchObject({
      counted: true,
      empty: true,
    });

    // Printed again, the sheet shows those counts; read back as it is, it sends nothing.
    const again = floor.sheet();
    expect(again.rows.map((row) => row[7])).toEqual(['9', '4', '1', '0', '1', '2.5', '1', '']);
    const reread = floor.read([again.header, ...again.rows], true);
    expect(reread).toMatchObject({ errors: [], commands: [], unchanged: 7, uncounted: 1 });
    // Without the lines it would count everything again.
    expect(floor.read([again.header, ...again.rows]).commands).toHaveLength(5);
  });

  it('a CSV with ; and decimal commas, columns in any order and case, a barcode for the item', () => {
    const floor = new Floor(stock());
    floor.plan({ positionIds: [P] });
    const r = floor.read(
      table(
        'Counted;Item;Position;LOT',
        '7,5;4006381333931;P;',
        ';L;P;L1',
        '  ;S;P;', // a blank cell: not counted yet
      ),
    );
    expect(r.errors).toEqual([]);
    expect(r).toMatchObject({ rows: 3, uncounted: 2, unchanged: 0 });
    expect(r.commands).toEqual([
      {
        line: 2,
        name: 'recordCount',
        args: { sessionId: C1, positionId: P, itemId: A, counted: 7.5, expected: 10 },
      },
    ]);
  });

  it('expected is the stock at import: a paper sheet carries no device state', () => {
    const floor = new Floor(stock());
    floor.plan({ positionIds: [P] }, 'open');
    const sheet = floor.sheet();
    expect(sheet.rows[0]?.[6]).toBe('10');
    // Two more arrive after printing: the count is judged against 12.
    floor.ok('receiveStock', { itemId: A, positionId: P, quantity: 2 });
    const r = floor.read(fill(sheet, { 'P/A': '12' }));
    expect(r.commands[0]?.args).toMatchObject({ counted: 12, expected: 12 });
  });

  it('an empty row in an items scope confirms none of the scope items there (the others untouched)', () => {
    const floor = new Floor(stock());
    floor.plan({ itemIds: [S] });
    const r = floor.read(table('position,item,counted', 'P,,0'));
    expect(r.errors).toEqual([]);
    expect(r.commands).toEqual([
      {
        line: 2,
        name: 'confirmPositionEmpty',
        args: {
          sessionId: C1,
          positionId: P,
          expected: [{ itemId: S, serials: [serial('s1'), serial('s2')] }],
        },
      },
    ]);
    for (const c of r.commands) floor.ok(c.name, c.args);
    expect(linesOf(floor.counting, C1)).toMatchObject([
      { positionId: P, itemId: S, counts: [{ counted: 0, expected: 2 }] },
    ]);
  });

  it('confirming a position with stock empty expects what it holds now', () => {
    const floor = new Floor(stock());
    floor.plan({ positionIds: [Q] });
    const r = floor.read(table('position,item,counted', 'Q,,0'));
    expect(r.commands[0]?.args).toEqual({
      sessionId: C1,
      positionId: Q,
      expected: [
        { itemId: L, lot: lot('L2'), quantity: 2.5 },
        { itemId: S, serials: [serial('s3')] },
      ],
    });
    for (const c of r.commands) floor.ok(c.name, c.args);
  });
});

describe('errors in a sheet', () => {
  /** What a test states of an error: all of it but the values (the code's text names them). */
  const described = (errors: readonly RowError[]) =>
    errors.map(({ line, column, code, message }) => ({ line, column, code, message }));
  const floor = new Floor(stock());
  floor.plan({ positionIds: [P, Q] });

  it('every bad cell by line and column; then nothing is imported', () => {
    const r = floor.read(
      table(
        'session,position,item,lot,serial,counted',
        'C-12,P,A,,,5', // fine
        'C-12,X,A,,,1', // unknown position
        'C-12,P,NOPE,,,1', // unknown item
        'C-12,R,A,,,1', // out of scope
        'C-12,P,L,L1,,lots', // bad quantity
        'C-12,P,A,,,-2', // negative: the schema says no (and it is the pair of line 2 again)
        'C-99,Q,A,,,1', // another session's sheet
        'C-12,,A,,,1', // no position
        'C-12,Q,L,,,1', // lot-tracked without a lot
        'C-12,Q,A,B1,,1', // untracked with a lot
        'C-12,Q,S,,,1', // serialized without a serial
        'C-12,Q,S,,s3,2', // a serial counted 2
        'C-12,@SITE,A,,,1', // a virtual endpoint
        'C-12,Q,A,,x1,1', // a serial on an untracked item
        'C-12,Q,L,L2,,3,5', // a stray cell is ignored
      ),
    );
    expect(r.commands).toEqual([]);
    expect(described(r.errors)).toEqual([
      { line: 3, column: 'position', code: 'UNKNOWN_POSITION', message: 'unknown position "X"' },
      {
        line: 4,
        column: 'item',
        code: 'UNKNOWN_ITEM',
        message: 'unknown item "NOPE" (neither a SKU nor a barcode)',
      },
      {
        line: 5,
        column: 'position',
        code: 'POSITION_OUT_OF_SCOPE',
        message: 'R is not in the scope of counting session C-12',
      },
      { line: 6, column: 'counted', code: 'NOT_A_QUANTITY', message: '"lots" is not a quantity' },
      { line: 7, column: 'item', code: 'COUNTED_TWICE', message: 'A @ P is counted on line 2 too' },
      {
        line: 8,
        column: 'session',
        code: 'OTHER_SESSION',
        message: 'the row is of counting session "C-99", not C-12',
      },
      { line: 9, column: 'position', code: 'NO_POSITION', message: 'no position code' },
      {
        line: 10,
        column: 'lot',
        code: 'LOT_REQUIRED',
        message: 'item L is tracked by lot: the row needs a lot',
      },
      {
        line: 11,
        column: 'lot',
        code: 'NOT_LOT_TRACKED',
        message: 'A is not lot-tracked: leave lot empty',
      },
      {
        line: 12,
        column: 'serial',
        code: 'SERIAL_ROWS',
        message: 'S is serialized: one row per serial, counted 1 or 0',
      },
      {
        line: 13,
        column: 'counted',
        code: 'SERIAL_COUNT',
        message: 'a serial is counted 1 (found) or 0 (not found)',
      },
      {
        line: 14,
        column: 'position',
        code: 'VIRTUAL_POSITION',
        message: '@SITE is a virtual endpoint and holds no stock',
      },
      {
        line: 15,
        column: 'serial',
        code: 'NOT_SERIALIZED',
        message: 'A is not serialized: leave serial empty',
      },
    ]);
  });

  it('a value the command schema refuses becomes a row error', () => {
    const r = floor.read(table('position,item,counted', 'P,A,-2', 'Q,L,1'));
    expect(described(r.errors)).toContainEqual({
      line: 2,
      column: 'counted',
      code: 'TOO_SMALL',
      message: 'must be at least 0',
    });
    const long = 'x'.repeat(65);
    expect(floor.read(table('position,item,lot,counted', `Q,L,${long},1`)).errors).toMatchObject([
      {
        line: 2,
        column: 'lot',
        code: 'TOO_LONG',
        values: { max: 64 },
        message: 'longer than 64 characters',
      },
    ]);
  });

  it('a missing required column refuses the file', () => {
    expect(floor.read(table('position,item,expected', 'P,A,10'))).toMatchObject({
      rows: 1,
      commands: [],
      uncounted: 0,
      unchanged: 0,
      errors: [
        {
          line: 1,
          column: null,
          code: 'MISSING_COLUMNS',
          message:
            'missing columns: counted (the first row must name the columns position, item, counted; optional: session, description, lot, serial, expected)',
        },
      ],
    });
  });

  it('a pair on two counted rows names both lines; uncounted duplicates are fine', () => {
    const r = floor.read(
      table('position,item,lot,counted', 'P,L,L1,1', 'P,A,,', 'P,A,,', 'P,L,L1,2'),
    );
    expect(described(r.errors)).toEqual([
      {
        line: 5,
        column: 'item',
        code: 'COUNTED_TWICE',
        message: 'L / L1 @ P is counted on line 2 too',
      },
    ]);
    expect(r.uncounted).toBe(2);
  });

  it('serials: counted all or none, each once, every one held there on the sheet', () => {
    const r = floor.read(
      table(
        'position,item,serial,counted',
        'P,S,s1,1',
        'P,S,s2,', // left blank while s1 is counted
        'Q,S,s4,1', // s3 is at Q but not on the sheet
        'Q,S,s4,0', // twice
      ),
    );
    expect(described(r.errors)).toEqual([
      {
        line: 3,
        column: 'counted',
        code: 'SERIAL_NOT_COUNTED',
        message:
          'serial s2 of S @ P is not counted while other serials of the pair are: write 1 (found) or 0 (not found)',
      },
      {
        line: 4,
        column: 'serial',
        code: 'SERIAL_NOT_ON_SHEET',
        message:
          'serial s3 of S @ Q is there now but not on the sheet (moved in since it was printed?): add a row for it, counted 1 if it is there, 0 if not',
      },
      {
        line: 5,
        column: 'serial',
        code: 'SERIAL_TWICE',
        message: 'serial s4 of S @ Q is on line 4 too',
      },
    ]);
    // A row outside the scope is that error alone (its pair is not judged).
    expect(described(floor.read(table('position,item,serial,counted', 'R,S,s9,1')).errors)).toEqual(
      [
        {
          line: 2,
          column: 'position',
          code: 'POSITION_OUT_OF_SCOPE',
          message: 'R is not in the scope of counting session C-12',
        },
      ],
    );
    // A pair with every row blank is simply not counted yet.
    expect(floor.read(table('position,item,serial,counted', 'P,S,s1,', 'P,S,s2,'))).toMatchObject({
      errors: [],
      commands: [],
      uncounted: 2,
    });
  });

  it('a row without an item confirms the position empty: only with 0, once, and nothing else counted there', () => {
    const r = floor.read(
      table('position,item,counted', 'P,,1', 'Q,,0', 'Q,A,1', 'Q,,0', 'R,,0', 'P,,'),
    );
    expect(described(r.errors)).toEqual([
      {
        line: 2,
        column: 'counted',
        code: 'EMPTY_NOT_ZERO',
        message:
          'a row without an item confirms its position empty: counted must be 0 (or name the item)',
      },
      {
        line: 3,
        column: 'item',
        code: 'EMPTY_BUT_COUNTED',
        message: 'Q is confirmed empty here, yet A is counted there on line 4: keep one of them',
      },
      {
        line: 5,
        column: 'position',
        code: 'EMPTY_TWICE',
        message: 'Q is confirmed empty on line 3 too',
      },
      {
        line: 6,
        column: 'position',
        code: 'POSITION_OUT_OF_SCOPE',
        message: 'R is not in the scope of counting session C-12',
      },
    ]);
    expect(r.uncounted).toBe(1);
  });

  it('an items scope refuses other items, at any position', () => {
    const f = new Floor(stock());
    f.plan({ itemIds: [L] });
    expect(
      described(f.read(table('position,item,lot,counted', 'R,L,L1,1', 'P,A,,1')).errors),
    ).toEqual([
      {
        line: 3,
        column: 'item',
        code: 'ITEM_OUT_OF_SCOPE',
        message: 'A is not in the scope of counting session C-12',
      },
    ]);
  });
});

describe('property: a filled sheet reads back as its counts', () => {
  it('any quantities, either mode: one recordCount per pair, expected the stock now, all accepted', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<CountMode>('blind', 'open'),
        fc.integer({ min: 1, max: 500 }).map((n) => n / 4),
        fc.integer({ min: 1, max: 500 }).map((n) => n / 8),
        fc.array(fc.option(fc.integer({ min: 0, max: 100_000 }).map((n) => n / 100)), {
          minLength: 2,
          maxLength: 2,
        }),
        fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
        fc.boolean(),
        (mode, a, l, counts, found, comma) => {
          const floor = new Floor([
            received(A, P, a),
            received(L, Q, l, { lot: lot('L1') }),
            received(S, P, 1, { serial: serial('s1') }),
            received(S, P, 1, { serial: serial('s2') }),
            received(S, Q, 1, { serial: serial('s3') }),
          ]);
          floor.plan({ positionIds: [P, Q, R] }, mode);
          const sheet = floor.sheet();
          const shown = (n: number) => (comma ? String(n).replace('.', ',') : String(n));
          const [countA, countL] = counts;
          const filled = fill(sheet, {
            ...(countA != null ? { 'P/A': shown(countA) } : {}),
            ...(countL != null ? { 'Q/L/L1': shown(countL) } : {}),
            'P/S/s1': found[0] ? '1' : '0',
            'P/S/s2': found[1] ? '1' : '0',
            'Q/S/s3': found[2] ? '1' : '0',
          });
          const r = floor.read(filled);
          expect(r.errors).toEqual([]);
          const byPair = new Map(
            r.commands.map((c) => [
              `${c.args.positionId}/${'itemId' in c.args ? c.args.itemId : ''}`,
              c,
            ]),
          );
          expect(byPair.get(`${P}/${A}`)?.args).toEqual(
            countA != null
              ? { sessionId: C1, positionId: P, itemId: A, counted: countA, expected: a }
              : undefined,
          );
          expect(byPair.get(`${Q}/${L}`)?.args).toEqual(
            countL != null
              ? { sessionId: C1, positionId: Q, itemId: L, lot: 'L1', counted: countL, expected: l }
              : undefined,
          );
          expect(byPair.get(`${P}/${S}`)?.args).toMatchObject({
            serials: ['s1', 's2'].filter((_, i) => found[i]),
            expectedSerials: ['s1', 's2'],
          });
          expect(r.uncounted).toBe((countA == null ? 1 : 0) + (countL == null ? 1 : 0) + 1);
          for (const c of r.commands) floor.ok(c.name, c.args);
          expect(linesOf(floor.counting, C1)).toHaveLength(r.commands.length);
          // Read back once recorded, the printed-again sheet has nothing new.
          const again = floor.sheet();
          expect(floor.read([again.header, ...again.rows], true).commands).toEqual([]);
        },
      ),
      { numRuns: 60 },
    );
  });
});
