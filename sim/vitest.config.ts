import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
    // A seed is a whole warehouse in one process: one file at a time on a 2-core machine.
    fileParallelism: false,
    testTimeout: 240_000,
  },
});
