import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ADJUSTMENT_REASONS,
  CONFLICT_KINDS,
  FORBIDDEN_REASONS,
  POSITION_KINDS,
  RESOLUTION_ACTIONS,
  ROLES,
  LINE_STATUSES,
  LIST_STATUSES,
  LIST_TYPES,
  REJECTION_CODES,
  ROW_PROBLEMS,
  ROW_PROBLEM_CODES,
  CONFLICT_TEXTS,
  CONFLICT_TEXT_CODES,
  GS1_PROBLEMS,
  GS1_PROBLEM_CODES,
  JOB_PROBLEMS,
  JOB_PROBLEM_CODES,
  PRINTER_PROBLEMS,
  APPLY_STATES,
  COUNT_MODES,
  COUNT_RECORD_STATUSES,
  COUNT_SESSION_STATUSES,
  RACE_CHOICES,
  VARIANCE_REASONS,
  COMMANDS,
  countingEventData,
  productionEventData,
  JOB_STATUSES,
  inventoryEventData,
  listEventData,
  syncEventData,
} from '@floorsync/domain';
import { de } from './de.js';
import { en } from './en.js';
import { calendarDateText, dateText, format, numberText } from './format.js';

/** The params a text reads: plain `{name}` and plural `{name:one|other}` alike, once each. */
const placeholders = (s: string) =>
  [...new Set([...s.matchAll(/\{(\w+)(?::[^{}|]*\|[^{}|]*)?\}/g)].map((m) => m[1]))].sort();

/** Every source file of the app, for the keys it names literally. */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    if (statSync(p).isDirectory()) return sources(p);
    return /\.(ts|svelte)$/.test(f) && !f.endsWith('.test.ts') ? [p] : [];
  });
}

/** Every file under `dir`. */
function readdirRecursive(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? readdirRecursive(p) : [p];
  });
}

describe('message catalogs', () => {
  it('German has exactly the English keys, with the same placeholders', () => {
    expect(Object.keys(de).sort()).toEqual(Object.keys(en).sort());
    for (const [key, text] of Object.entries(en)) {
      expect(placeholders(de[key as keyof typeof de]), key).toEqual(placeholders(text));
      expect(de[key as keyof typeof de].trim(), key).not.toBe('');
    }
  });

  it('has a text for every key the screens build from domain values', () => {
    const keys = new Set(Object.keys(en));
    const need = [
      ...ADJUSTMENT_REASONS.map((r) => `reason.${r}`),
      ...CONFLICT_KINDS.map((k) => `conflict.kind.${k}`),
      ...POSITION_KINDS.map((k) => `kind.${k}`),
      ...RESOLUTION_ACTIONS.flatMap((a) => [`resolution.${a}`, `resolution.${a}.help`]),
      ...ROLES.map((r) => `role.${r}`),
      ...Object.keys(inventoryEventData).map((t) => `event.${t}`),
      ...Object.keys(syncEventData).map((t) => `event.${t}`),
      ...Object.keys(listEventData).map((t) => `event.${t}`),
      ...REJECTION_CODES.map((c) => `reject.${c}`),
      ...FORBIDDEN_REASONS.map((r) => `forbidden.${r}`),
      ...Object.keys(COMMANDS).map((c) => `command.${c}`),
      ...LIST_TYPES.map((x) => `lists.type.${x}`),
      ...LIST_STATUSES.map((x) => `lists.status.${x}`),
      ...LINE_STATUSES.map((x) => `lists.lineStatus.${x}`),
      ...Object.keys(countingEventData).map((t) => `event.${t}`),
      ...Object.keys(productionEventData).map((t) => `event.${t}`),
      ...COUNT_SESSION_STATUSES.map((x) => `count.status.${x}`),
      ...COUNT_MODES.map((x) => `count.mode.${x}`),
      ...COUNT_RECORD_STATUSES.map((x) => `count.lineStatus.${x}`),
      ...APPLY_STATES.map((x) => `count.applyState.${x}`),
      ...RACE_CHOICES.map((x) => `count.choice.${x}`),
      ...VARIANCE_REASONS.map((x) => `count.reasons.${x}`),
      ...['positions', 'items'].map((x) => `count.scope.${x}`),
      'resolution.settled',
      ...JOB_STATUSES.map((x) => `production.status.${x}`),
      ...['idle', 'syncing', 'offline', 'signed-out', 'refused', 'update-required'].map(
        (s) => `sync.status.${s}`,
      ),
      ...[
        'signedOut',
        'deactivated',
        'refused',
        'queueLost',
        'updateRequired',
        'offline',
        'failed',
      ].map((k) => `sync.message.${k}`),
      ...['validated', 'queued', 'running', 'completed', 'cancelled', 'failed'].map(
        (s) => `jobs.state.${s}`,
      ),
    ];
    expect(need.filter((k) => !keys.has(k))).toEqual([]);
  });

  it('says every problem code the server can answer in the user’s language', () => {
    // The server's problem codes, read from its source: `new HttpProblem(status, 'CODE'`,
    // `conflict('CODE'`, `badRequest(detail, 'CODE'` and the helpers' own codes.
    const server = path.resolve(import.meta.dirname, '../../../../sync-server/src');
    const files = readdirRecursive(server).filter((f) => /(?<!\.test)\.ts$/.test(f));
    const codes = new Set<string>();
    const call =
      /(?:HttpProblem\(\s*\d{3}\s*,|\bconflict\(|\bbadRequest\((?:[^()]|\([^()]*\))*?,)\s*'([A-Z][A-Z_]+)'/g;
    for (const file of files)
      for (const m of readFileSync(file, 'utf8').matchAll(call)) codes.add(m[1] ?? '');
    // The reading finds them: the helpers' codes, a multi-line one and a `badRequest` code.
    for (const c of ['UNAUTHORIZED', 'NOT_FOUND', 'NO_WORKERS', 'MALFORMED_JSON'])
      expect(codes, c).toContain(c);
    expect(codes.size).toBeGreaterThan(15);
    const keys = new Set(Object.keys(en));
    expect([...codes].filter((c) => !keys.has(`apiError.${c}`))).toEqual([]);
  });

  it('says every problem of a file row with exactly the values the domain gives it', () => {
    for (const code of ROW_PROBLEM_CODES) {
      const key = `rowError.${code}` as keyof typeof en;
      expect(en[key], key).toBeDefined();
      expect(placeholders(en[key]), key).toEqual([...ROW_PROBLEMS[code].values].sort());
    }
  });

  it('says why a GS1 code does not parse with exactly the values the domain gives it', () => {
    for (const code of GS1_PROBLEM_CODES) {
      const key = `flow.error.gs1.${code}` as keyof typeof en;
      expect(en[key], key).toBeDefined();
      expect(placeholders(en[key]), key).toEqual([...GS1_PROBLEMS[code].values].sort());
    }
  });

  it('says why a job failed with exactly the values the domain gives it, and every printer problem', () => {
    for (const code of JOB_PROBLEM_CODES) {
      const key = `jobProblem.${code}` as keyof typeof en;
      expect(en[key], key).toBeDefined();
      expect(placeholders(en[key]), key).toEqual([...JOB_PROBLEMS[code].values].sort());
    }
    for (const p of PRINTER_PROBLEMS) expect(en, p).toHaveProperty([`printerProblem.${p}`]);
  });

  it('says everything a conflict can say with exactly the values the domain gives it', () => {
    for (const code of CONFLICT_TEXT_CODES) {
      const key = `conflictText.${code}` as keyof typeof en;
      expect(en[key], key).toBeDefined();
      expect(placeholders(en[key]), key).toEqual([...CONFLICT_TEXTS[code]].sort());
    }
  });

  it('has a text for every literal key in the app source', () => {
    const root = path.resolve(import.meta.dirname, '../..');
    const missing: string[] = [];
    for (const file of sources(root)) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\bt\(\s*'([a-z][\w.-]*)'/g)) {
        if (!(m[1]! in en)) missing.push(`${path.relative(root, file)}: ${m[1]}`);
      }
      for (const m of text.matchAll(/key: '([a-z][\w.-]*)'|fail\(state, '([a-z][\w.-]*)'/g)) {
        const k = m[1] ?? m[2];
        if (k && !(k in en)) missing.push(`${path.relative(root, file)}: ${k}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('numbers are written as the language writes them; integers exactly as typed', () => {
    expect(format('{n} kg', { n: 2.5 }, 'de')).toBe('2,5 kg');
    expect(format('{n} kg', { n: 2.5 }, 'en')).toBe('2.5 kg');
    // No grouping: a count of 2000, a line number or a seq reads as it was typed.
    expect(format('{n}', { n: 2000 }, 'de')).toBe('2000');
    expect(format('{n}', { n: -4 }, 'en')).toBe('-4');
    expect(numberText(0.000001, 'de')).toBe('0,000001');
    expect(numberText(1234567.125, 'en')).toBe('1234567.125');
    expect(format('{n:Zeile|Zeilen}', { n: 1 }, 'de')).toBe('Zeile');
  });

  it('a calendar date is written as the language writes it, the same day everywhere', () => {
    expect(calendarDateText('2027-06-30', 'de', 'de-DE')).toBe('30.6.2027');
    expect(calendarDateText('2027-06-30', 'en', 'en-GB')).toBe('30/06/2027');
    expect(calendarDateText('2027-06-30', 'en', 'en-US')).toBe('6/30/2027');
    // Not a calendar date: as it is.
    expect(calendarDateText('soon', 'de', 'de-DE')).toBe('soon');
    expect(calendarDateText('2027-13-45', 'de', 'de-DE')).toBe('2027-13-45');
  });

  it('format fills placeholders and leaves unknown ones visible', () => {
    expect(format('{n} pending', { n: 3 })).toBe('3 pending');
    expect(format('Hello {who}', {})).toBe('Hello {who}');
  });

  it('format picks the plural form the number needs, in the language shown', () => {
    const involved = (n: number, locale: string) =>
      format((locale === 'de' ? de : en)['conflicts.mutations'], { n }, locale);
    expect([0, 1, 2].map((n) => involved(n, 'en'))).toEqual([
      '0 scans involved',
      '1 scan involved',
      '2 scans involved',
    ]);
    expect([1, 5].map((n) => involved(n, 'de'))).toEqual(['1 Scan beteiligt', '5 Scans beteiligt']);
    expect(format('{n:one|other}', {}, 'en')).toBe('{n:one|other}'); // no number: visible
  });

  it('no text says "1 lines": every count that can be 1 takes its plural form from the number', () => {
    for (const [locale, catalog] of [
      ['en', en],
      ['de', de],
    ] as const)
      for (const [key, text] of Object.entries(catalog)) {
        // Every param at 1: a count's noun must then be singular.
        const one = format(text, Object.fromEntries(placeholders(text).map((p) => [p, 1])), locale);
        expect(one, key).not.toMatch(
          /\b1 (scans|lines|stock lines|rows|events|records|items|positions|counts|disagreements|recounts|variances|problems|Scans|Zeilen|Bestandszeilen|Ereignisse|Datensätze|Lagerplätze|Plätze|Plätzen|Positionen|Zählungen|Widersprüche|Nachzählungen|Abweichungen)\b/,
        );
      }
  });
});

describe('dates in the app’s language', () => {
  const d = new Date('2026-11-27T14:05:09Z');
  it('German screens write German dates, even in an American browser', () => {
    expect(dateText(d, 'de', 'en-US', 'datetime')).toMatch(/^27\.11\.2026, \d\d:05:09$/);
  });
  it('English screens keep the browser’s English (British day first)', () => {
    expect(dateText(d, 'en', 'en-GB', 'datetime')).toMatch(/^27\/11\/2026, \d\d:05:09$/);
    expect(dateText(d, 'en', 'de-DE', 'time')).toMatch(/^\d\d?:05:09\s[AP]M$/);
  });
});
