import { describe, expect, it } from 'vitest';
import {
  JOB_PROBLEMS,
  JOB_PROBLEM_CODES,
  PRINTER_PROBLEMS,
  PRINTER_PROBLEM_TEXT,
  jobProblem,
  jobProblemSchema,
  jobProblemText,
} from './job-problem.js';

describe('job problems', () => {
  it('every text names exactly the values of its code', () => {
    for (const code of JOB_PROBLEM_CODES) {
      const named = [...JOB_PROBLEMS[code].text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      expect(named, code).toEqual([...JOB_PROBLEMS[code].values].sort());
    }
    expect(Object.keys(PRINTER_PROBLEM_TEXT).sort()).toEqual([...PRINTER_PROBLEMS].sort());
  });

  it('in English, a printer’s problems are words, in the order it reported them', () => {
    const p = jobProblem('PRINTER_STATUS', {
      printer: 'dock',
      labels: 2,
      problems: 'paper-out,paused',
    });
    expect(jobProblemText(p)).toBe(
      'printer dock took 2 label(s) but reports paper out, paused: they print once that is fixed — do not send them again',
    );
    // A value that looks like a placeholder is not filled again; a code it does not know stays.
    expect(jobProblemText(jobProblem('LABEL_UNDRAWABLE', { detail: '{detail}' }))).toBe(
      'the label cannot be drawn: {detail}',
    );
    expect(
      jobProblemText(jobProblem('PRINTER_STATUS', { printer: 'p', labels: 1, problems: 'smoke' })),
    ).toContain('reports smoke:');
  });

  it('on the wire: a known code with names, numbers and short texts, nothing else', () => {
    const ok = { code: 'PRINTER_SILENT', values: { printer: 'dock' } };
    expect(jobProblemSchema.parse(ok)).toEqual(ok);
    for (const bad of [
      { code: 'SOMETHING_ELSE', values: {} },
      { code: 'PRINTER_SILENT' },
      { code: 'PRINTER_SILENT', values: { printer: { host: 'x' } } },
      { code: 'PRINTER_SILENT', values: { printer: 'x'.repeat(1001) } },
      { code: 'PRINTER_SILENT', values: {}, extra: 1 },
    ])
      expect(jobProblemSchema.safeParse(bad).success, JSON.stringify(bad).slice(0, 60)).toBe(false);
  });
});
