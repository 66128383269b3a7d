/**
 * `npm run bench [-- <prefix>]`: runs every `<package>/bench/*.bench.ts` and prints one JSON
 * line per result (format in ARCHITECTURE.md). With a prefix, only results whose name starts
 * with it are printed (`load`, `load.propagation`, `push.single`, `client.bootstrap100k_s`);
 * which benchmarks run for it: `benchSelection`. Progress, notes and the other results the
 * same run measured go to stderr so stdout stays machine-readable.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Bench, BenchResult } from './bench-kit.js';
import { benchSelection, line } from './bench-kit.js';

const root = path.resolve(import.meta.dirname, '..');
const prefix = process.argv[2] ?? '';
const packages = ['domain', 'sync-server', 'workers', 'client', 'e2e'];

const isResult = (r: BenchResult | Record<string, BenchResult>): r is BenchResult =>
  typeof (r as BenchResult).value === 'number';

const selection = benchSelection(prefix);

let ran = 0;
for (const pkg of packages) {
  const dir = path.join(root, pkg, 'bench');
  const files = await readdir(dir).catch(() => [] as string[]);
  for (const file of files.filter((f) => f.endsWith('.bench.ts')).sort()) {
    const mod = (await import(pathToFileURL(path.join(dir, file)).href)) as { benches?: Bench[] };
    for (const bench of mod.benches ?? []) {
      if (!selection.runs(bench)) continue;
      process.stderr.write(`running ${bench.name} (${pkg}/bench/${file})\n`);
      const result = await bench.run();
      const results = isResult(result) ? { [bench.name]: result } : result;
      for (const [name, r] of Object.entries(results)) {
        if (!selection.prints(name)) {
          process.stderr.write(`also measured in this run: ${line(name, r)}\n`);
          continue;
        }
        console.log(line(name, r));
        ran++;
      }
    }
  }
}
if (ran === 0) {
  process.stderr.write(`no benchmark matches "${prefix}"\n`);
  process.exitCode = 1;
}
