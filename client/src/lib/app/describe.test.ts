import { asUserId, decide, initialState, readListsCsv, viewOf } from '@floorsync/domain';
import type { DomainEvent } from '@floorsync/domain';
import { foldEvent } from '@floorsync/domain';
import { describe, expect, it } from 'vitest';
import { de } from '../i18n/de.js';
import { en } from '../i18n/en.js';
import { format, numberText } from '../i18n/format.js';
import { InvalidCommandError } from '../sync/engine.js';
import {
  conflictMessage,
  describeCommand,
  failureText,
  jobFailureText,
  rejectionText,
  rowErrorText,
  savedForReview,
} from './describe.js';

const t = (key: string, params?: Readonly<Record<string, string | number>>) =>
  format((en as Record<string, string>)[key] ?? key, params, 'en');

const events: DomainEvent[] = [
  {
    type: 'PositionDefined',
    data: {
      positionId: 'p1',
      code: 'A-01-04',
      parentId: null,
      kind: 'bin',
      fixed: true,
      disposable: false,
    },
  },
  {
    type: 'PositionDefined',
    data: {
      positionId: 'p2',
      code: 'B-02-02',
      parentId: null,
      kind: 'bin',
      fixed: true,
      disposable: false,
    },
  },
  {
    type: 'ItemDefined',
    data: { itemId: 'i1', sku: 'BOLT-M8', name: 'Bolt', tracking: 'lot', barcodes: [], uom: 'pcs' },
  },
] as never;
const view = viewOf(
  events.reduce((s, e, i) => foldEvent(s, { ...e, id: `e${i}` }), initialState()),
);

describe('describeCommand: a refused scan in the operator’s words', () => {
  it('names the command and what it was about, with SKUs and codes from the replica', () => {
    expect(
      describeCommand('receiveStock', { itemId: 'i1', positionId: 'p1', quantity: 7 }, view, t),
    ).toBe('Receive · 7 × BOLT-M8 at A-01-04');
    expect(
      describeCommand(
        'moveStock',
        { itemId: 'i1', from: 'p1', to: 'p2', quantity: 2, lot: 'L1' },
        view,
        t,
      ),
    ).toBe('Move · 2 × BOLT-M8 (Lot L1) from A-01-04 → B-02-02');
  });

  it('shows ids the device does not know, and a bare label without args', () => {
    expect(describeCommand('shipStock', { itemId: 'x9', from: 'p9', quantity: 1 }, view, t)).toBe(
      'Ship · 1 × x9 at p9',
    );
    expect(describeCommand('startCountSession', { sessionId: 's' }, view, t)).toBe(
      'Start counting',
    );
    expect(describeCommand('adjustStock', undefined, undefined, t)).toBe('Adjust stock');
  });

  it('writes the quantity as the screen does (a German decimal comma)', () => {
    const german = (n: number) => numberText(n, 'de');
    expect(
      describeCommand(
        'receiveStock',
        { itemId: 'i1', positionId: 'p1', quantity: 2.5 },
        view,
        t,
        german,
      ),
    ).toBe('Receive · 2,5 × BOLT-M8 at A-01-04');
  });

  it('a command the catalog does not know keeps its name', () => {
    expect(describeCommand('fooBar', {}, view, t)).toBe('fooBar');
    expect(describeCommand('', {}, view, t)).toBe('');
  });
});

describe('savedForReview', () => {
  it('names each kind of conflict once, in the operator’s words, never the admin console’s English', () => {
    // As a decision carries them: with the admin console's message beside the kind.
    const conflicts = [
      { kind: 'negative-stock', message: 'A-01 holds 2 BOLT-M8, 5 taken: -3' },
      { kind: 'negative-stock', message: 'A-02 holds 0 NUT-M8, 1 taken: -1' },
      { kind: 'stale-intent', message: 'list R-1 is closed' },
    ];
    const text = savedForReview(conflicts, t);
    expect(text).toBe('Saved; an admin will review it: Negative stock, Outdated action.');
    expect(text).not.toContain('holds');
  });
});

describe('failureText', () => {
  it('says a command the device refused by its code’s words, other errors by their message', () => {
    const german = (key: string, params?: Readonly<Record<string, string | number>>) =>
      format((de as Record<string, string>)[key] ?? key, params, 'de');
    const refused = new InvalidCommandError('VALIDATION_FAILED', 'code: code must not be empty');
    expect(failureText(refused, german)).toBe(
      'die Eingabe ist ungültig (code: code must not be empty)',
    );
    const unknown = new InvalidCommandError('UNKNOWN_COMMAND', 'no such command: x');
    expect(failureText(unknown, german)).toBe(
      `${de['reject.UNKNOWN_COMMAND']} (no such command: x)`,
    );
    expect(failureText(new Error('QuotaExceededError'), german)).toBe('QuotaExceededError');
    expect(failureText('plain', german)).toBe('plain');
  });
});

describe('jobFailureText', () => {
  const german = (key: string, params?: Readonly<Record<string, string | number>>) =>
    format((de as Record<string, string>)[key] ?? key, params, 'de');

  it('says why a print failed in the user’s language, each printer problem in words', () => {
    const job = {
      error: 'printer dock took 2 label(s) but reports paper out, paused: …',
      problem: {
        code: 'PRINTER_STATUS',
        values: { printer: 'dock', labels: 2, problems: 'paper-out,paused' },
      },
    };
    expect(jobFailureText(job, german)).toBe(
      'Drucker dock hat 2 Etiketten angenommen, meldet aber: Papier leer, angehalten. Sie kommen, sobald das behoben ist: nicht noch einmal drucken.',
    );
    expect(jobFailureText(job, t)).toMatch(
      /^printer dock took 2 labels but reports paper out, paused\./,
    );
    // A printer problem this app does not know is shown by its code, the rest still translated.
    const novel = {
      ...job,
      problem: { ...job.problem, values: { ...job.problem.values, problems: 'smoke' } },
    };
    expect(jobFailureText(novel, german)).toContain('meldet aber: smoke.');
  });

  it('says why a worker gave a job up, the last error as it was', () => {
    const job = {
      error: 'gave up after 8 attempts; last error: the server answered 500',
      problem: { code: 'GAVE_UP', values: { attempts: 8, detail: 'the server answered 500' } },
    };
    expect(jobFailureText(job, german)).toBe(
      'Nach 8 Versuchen aufgegeben. Letzter Fehler: the server answered 500',
    );
    expect(jobFailureText(job, t)).toBe(
      'gave up after 8 attempts. Last error: the server answered 500',
    );
  });

  it('keeps the English error of a job without a problem, or with a code it has no text for', () => {
    expect(jobFailureText({ error: 'paper out', problem: null }, german)).toBe('paper out');
    expect(jobFailureText({ error: 'paper out' }, german)).toBe('paper out');
    expect(
      jobFailureText({ error: 'new', problem: { code: 'FROM_THE_FUTURE', values: {} } }, german),
    ).toBe('new');
  });
});

describe('rowErrorText', () => {
  it('says a file row’s problem in the user’s language from its code and values', () => {
    const e = readListsCsv(
      [
        ['list', 'line', 'item', 'quantity'],
        ['PO-1', '1', 'NOPE', '2'],
      ],
      {
        itemBySku: () => undefined,
        itemByBarcode: () => undefined,
        positionByCode: () => undefined,
      },
      { defaultType: 'receipt', listIdOf: () => 'l1' },
    ).errors[0];
    expect(e?.code).toBe('UNKNOWN_ITEM');
    const german = (key: string, params?: Readonly<Record<string, string | number>>) =>
      format((de as Record<string, string>)[key] ?? key, params, 'de');
    expect(rowErrorText(e!, german)).toBe(
      'Unbekannter Artikel „NOPE“ (weder Artikelnummer noch Barcode)',
    );
    expect(rowErrorText(e!, t)).toBe('Unknown item "NOPE" (neither a SKU nor a barcode)');
  });

  it('keeps the English message of a report without a code, or with a code it has no text for', () => {
    expect(rowErrorText({ message: 'unknown item "X"' }, t)).toBe('unknown item "X"');
    expect(rowErrorText({ code: 'FROM_THE_FUTURE', values: {}, message: 'new problem' }, t)).toBe(
      'new problem',
    );
  });
});

describe('conflictMessage: the admin console says a conflict in the admin’s language', () => {
  const german = (key: string, params?: Readonly<Record<string, string | number>>) =>
    format((de as Record<string, string>)[key] ?? key, params, 'de');
  // A move of 2.5 of a lot nobody recorded at A-01-04, recorded anyway (a floor fact).
  const decision = decide(
    view,
    {
      name: 'moveStock',
      args: { itemId: 'i1', from: 'p1', to: 'p2', quantity: 2.5, lot: 'L1' },
    } as never,
    { actor: { userId: asUserId('u1'), role: 'operator' }, mode: 'record' },
  );
  const conflict = decision.kind === 'accepted' ? decision.conflicts[0] : undefined;

  it('from the domain’s code and values, numbers as the language writes them', () => {
    expect(conflict?.message).toBe('A-01-04 holds 0 BOLT-M8 lot L1, 2.5 taken: -2.5');
    expect(conflictMessage(conflict!, german)).toBe(
      'Auf A-01-04 waren 0 BOLT-M8 Charge L1, 2,5 entnommen: -2,5',
    );
    expect(conflictMessage(conflict!, t)).toBe('A-01-04 held 0 BOLT-M8 lot L1, 2.5 taken: -2.5');
  });

  it('a disagreement’s counts and a refusal inside the text are said in the language too', () => {
    const disagreement = {
      message: 'W at P in C-12: counted 2.5 by u-ana, 2.75 by u-ben',
      detail: {
        counts: [
          { countedBy: 'u-ana', counted: 2.5, serials: null },
          { countedBy: 'u-ben', counted: 2.75, serials: null },
        ],
        text: {
          code: 'COUNTS_DISAGREE',
          values: { pair: 'W @ P', session: 'C-12', counts: '2.5 (u-ana), 2.75 (u-ben)' },
        },
      },
    };
    expect(conflictMessage(disagreement, german, (n) => numberText(n, 'de'))).toBe(
      'W @ P in C-12: die Zählungen weichen ab: 2,5 (u-ana), 2,75 (u-ben)',
    );
    const notApplied = {
      message:
        'line 2 of C-12 (A at R) was not applied: position R is retired (retry it, or skip it)',
      detail: {
        code: 'POSITION_RETIRED',
        text: {
          code: 'COUNT_NOT_APPLIED',
          values: { line: 2, session: 'C-12', pair: 'A @ R', reason: 'position R is retired' },
        },
      },
    };
    expect(conflictMessage(notApplied, german)).toBe(
      `Zeile 2 von C-12 (A @ R) wurde nicht gebucht: ${de['reject.POSITION_RETIRED']} (position R is retired) (erneut versuchen oder überspringen)`,
    );
  });

  it('a refusal’s conflict by its code; else, or for a code it does not know, the English words', () => {
    expect(
      conflictMessage(
        { message: 'from and to are both P', detail: { code: 'SAME_POSITION' } },
        german,
      ),
    ).toBe(`${de['reject.SAME_POSITION']} (from and to are both P)`);
    expect(conflictMessage({ message: 'an older conflict', detail: {} }, german)).toBe(
      'an older conflict',
    );
    expect(
      conflictMessage(
        { message: 'a newer server’s', detail: { text: { code: 'FROM_THE_FUTURE', values: {} } } },
        german,
      ),
    ).toBe('a newer server’s');
  });
});

describe('rejectionText', () => {
  it('the text of the code, with the decider’s detail; the detail alone for an unknown code', () => {
    expect(rejectionText('SAME_POSITION', 'from and to are both P', t)).toBe(
      `${en['reject.SAME_POSITION']} (from and to are both P)`,
    );
    expect(rejectionText('FROM_A_NEWER_SERVER', 'something new', t)).toBe('something new');
    expect(rejectionText(null, 'no code at all', t)).toBe('no code at all');
  });
});
