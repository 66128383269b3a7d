// One lint configuration for the whole monorepo. Type-aware: floating promises are errors
// everywhere (the sync loop and workers are async-heavy), and `domain/` is held pure.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Globals that smuggle I/O, time or randomness into pure code. */
const impureGlobals = [
  'process',
  'window',
  'document',
  'navigator',
  'localStorage',
  'sessionStorage',
  'indexedDB',
  'fetch',
  'XMLHttpRequest',
  'WebSocket',
  'EventSource',
  'setTimeout',
  'setInterval',
  'setImmediate',
  'queueMicrotask',
  'crypto',
  'performance',
  'require',
  'Buffer',
  'console',
].map((name) => ({
  name,
  message: `domain/ is pure: '${name}' is I/O, time or randomness — pass it in as an argument.`,
}));

/** The purity rule of domain/ (exported so a test can prove it bites). */
export const domainPurity = {
  // The purity rule: domain source may import zod and its own modules, nothing else.
  files: ['domain/src/**/*.ts'],
  ignores: ['domain/src/**/*.test.ts'],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            regex: '^(?!zod$|\\.\\.?/)',
            message: 'domain/ imports zod and its own modules only (ARCHITECTURE.md: pure core).',
          },
        ],
      },
    ],
    'no-restricted-globals': ['error', ...impureGlobals],
    'no-restricted-properties': [
      'error',
      { object: 'Date', property: 'now', message: 'domain/ has no clock: pass time in.' },
      { object: 'Math', property: 'random', message: 'domain/ has no randomness: pass ids in.' },
    ],
    'no-restricted-syntax': [
      'error',
      { selector: 'TSEnumDeclaration', message: 'Use an `as const` object, not an enum.' },
      {
        selector: "NewExpression[callee.name='Date'][arguments.length=0]",
        message: 'domain/ has no clock: pass time in.',
      },
      { selector: 'ImportExpression', message: 'domain/ has no dynamic imports.' },
    ],
  },
};

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '**/.turbo/**',
      '**/.svelte-kit/**',
      '**/build/**',
      'client/android/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          // Files outside any tsconfig's include: config files, and the service worker (its
          // own tsconfig, with the webworker lib, is checked by `npm run check`).
          allowDefaultProject: [
            'client/vitest.config.ts',
            'client/capacitor.config.ts',
            'client/src/service-worker.ts',
          ],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'Use an `as const` object, not an enum.' },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { console: 'readonly', process: 'readonly', URL: 'readonly' },
    },
  },
  {
    // Vitest's asymmetric matchers (expect.any, objectContaining) are typed `any`.
    files: ['**/*.test.ts', '**/test/**/*.ts', '**/contract.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  domainPurity,
);
