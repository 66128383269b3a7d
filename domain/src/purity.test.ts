import path from 'node:path';
import { Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import { domainPurity } from '../../eslint.config.js';

/**
 * Proves the purity rule bites: the very rule `npm test` lints domain/ with refuses I/O,
 * clocks, randomness and any import but zod — so "domain imports only zod" is checked, not hoped.
 */
const root = path.resolve(import.meta.dirname, '../..');
const linter = new Linter({ cwd: root });
const lint = (code: string, file = 'domain/src/inventory/probe.ts') =>
  linter
    .verify(
      code,
      [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } }, domainPurity],
      path.join(root, file),
    )
    .map((m) => m.ruleId);

describe('domain purity lint rule', () => {
  it.each([
    ["import fs from 'node:fs';", 'no-restricted-imports'],
    ["import { Hono } from 'hono';", 'no-restricted-imports'],
    ["import Dexie from 'dexie';", 'no-restricted-imports'],
    ['export const t = Date.now();', 'no-restricted-properties'],
    ['export const r = Math.random();', 'no-restricted-properties'],
    ['export const d = new Date();', 'no-restricted-syntax'],
    ["export const e = process.env['X'];", 'no-restricted-globals'],
    ['export const l = () => console.log(1);', 'no-restricted-globals'],
    ['export const f = () => fetch("/x");', 'no-restricted-globals'],
    ["export const m = () => import('zod');", 'no-restricted-syntax'],
  ])('refuses %s', (code, rule) => {
    expect(lint(code)).toContain(rule);
  });

  it('allows zod, relative imports and pure time arithmetic', () => {
    expect(
      lint(
        "import { z } from 'zod';\nimport { roundQty } from '../shared/quantity.js';\nexport const x = [z, roundQty, Date.parse('2026-01-01'), new Date(0)];",
      ),
    ).toEqual([]);
  });

  it('does not apply outside domain/src or to its tests', () => {
    expect(lint("import fs from 'node:fs';", 'sync-server/src/x.ts')).toEqual([]);
    expect(lint("import { it } from 'vitest';", 'domain/src/x.test.ts')).toEqual([]);
  });
});
