import { describe, expect, it } from 'vitest';
import { badHeaderValue, credentialsInUrl, erpExportProblems, withoutEmpty } from './env.js';

describe('withoutEmpty', () => {
  it('drops empty, blank and undefined variables, keeps the rest exactly', () => {
    expect(
      withoutEmpty({ A: '', B: undefined, C: 'x', D: ' ', E: '0', F: ' \t\n', G: ' y ' }),
    ).toEqual({ C: 'x', E: '0', G: ' y ' });
  });
});

describe('settings that would put a secret into log lines', () => {
  it('a URL with a user or password is refused, saying where they go, without the value', () => {
    expect(credentialsInUrl('https://erp.example/in', 'x')).toBeNull();
    expect(credentialsInUrl('not a url', 'x')).toBeNull(); // the URL check says that
    const why = credentialsInUrl('https://bob:s3cret@erp.example/in', 'use the header');
    expect(why).toBe('must not carry a user or password: use the header');
    expect(credentialsInUrl('https://bob@erp.example/in', 'x')).not.toBeNull();
  });

  it('a header value with a line break or a character beyond Latin-1 is refused', () => {
    expect(badHeaderValue('Bearer abc.def-ghi_jkl=')).toBeNull();
    expect(badHeaderValue('Basic Zm9vOmJhcg==\tx')).toBeNull();
    expect(badHeaderValue('Bearer s3c\nret')).toMatch(/no line break/);
    // A secret file's last newline or a CRLF line: fetch drops whitespace around the value.
    expect(badHeaderValue('Bearer abc\r\n')).toBeNull();
    expect(badHeaderValue(' Bearer abc\n')).toBeNull();
    expect(badHeaderValue('Bearer s3c\rret')).not.toBeNull();
    expect(badHeaderValue('Bearer €uro')).not.toBeNull();
  });

  it('the ERP export settings, each problem under its variable', () => {
    expect(erpExportProblems({})).toEqual([]);
    const found = erpExportProblems({
      ERP_EXPORT_URL: 'https://bob:s3cret@erp.example/in',
      ERP_EXPORT_AUTHORIZATION: 'Bearer s3c\nret',
    });
    expect(found.map((p) => p.path)).toEqual(['ERP_EXPORT_URL', 'ERP_EXPORT_AUTHORIZATION']);
    expect(JSON.stringify(found)).not.toMatch(/s3c/);
  });

  it('one destination, a header only with a URL, and a URL that fetch can send to', () => {
    const paths = (e: Parameters<typeof erpExportProblems>[0]) =>
      erpExportProblems(e).map((p) => p.path);
    expect(paths({ ERP_EXPORT_DIR: '/erp/out', ERP_EXPORT_URL: 'https://erp.example/in' })).toEqual(
      ['ERP_EXPORT_DIR, ERP_EXPORT_URL'],
    );
    expect(paths({ ERP_EXPORT_DIR: '/erp/out', ERP_EXPORT_AUTHORIZATION: 'Bearer x' })).toEqual([
      'ERP_EXPORT_AUTHORIZATION',
    ]);
    expect(paths({ ERP_EXPORT_URL: 'ftp://erp.example/in' })).toEqual(['ERP_EXPORT_URL']);
    expect(paths({ ERP_EXPORT_URL: 'erp:8080/in' })).toEqual(['ERP_EXPORT_URL']);
    expect(
      paths({ ERP_EXPORT_URL: 'HTTP://erp.example/in', ERP_EXPORT_AUTHORIZATION: 'x' }),
    ).toEqual([]);
    expect(paths({ ERP_EXPORT_DIR: '/erp/out' })).toEqual([]);
  });
});
