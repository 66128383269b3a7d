// Adds up the vitest JSON reports of every package into one closing line:
// "tests: N passed, N failed, N skipped". Exits non-zero when anything failed or nothing ran.
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
let passed = 0;
let failed = 0;
let skipped = 0;
for (const pkg of ['domain', 'sync-server', 'workers', 'client', 'e2e', 'sim']) {
  const dir = path.join(root, pkg, 'test-results');
  const files = await readdir(dir).catch(() => []);
  for (const f of files.filter((f) => f.endsWith('.json'))) {
    const r = JSON.parse(await readFile(path.join(dir, f), 'utf8'));
    passed += r.numPassedTests ?? 0;
    failed += (r.numFailedTests ?? 0) + (r.numRuntimeErrorTestSuites ?? 0);
    skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
    console.log(
      `  ${pkg}/${f}: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`,
    );
  }
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
if (skipped > 0 && !process.env.ARANGO_URL)
  console.log(
    '  skipped: the ArangoDB adapter tests (sync-server/src/storage/arango) need ARANGO_URL, an ArangoDB server to run against',
  );
if (failed > 0 || passed === 0) process.exit(1);
