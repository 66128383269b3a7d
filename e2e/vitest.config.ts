import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
    // Browsers and servers are heavy on a 2-core machine: one file at a time.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // What the tests wait for goes through IndexedDB, a sync or SSE: on a loaded 2-core CI
    // machine one second (vitest's default) was not always enough.
    expect: { poll: { timeout: 10_000 } },
  },
});
