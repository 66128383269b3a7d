import os from 'node:os';

/**
 * The benchmark format of ARCHITECTURE.md: one JSON object per line,
 * `{"bench", "value", "unit", "machine"}`. Speed targets are checked here, never in tests.
 */
export interface BenchResult {
  readonly value: number;
  readonly unit: string;
}

export interface Bench {
  /** `<area>.<what>`, e.g. `domain.decide_per_s`. */
  readonly name: string;
  /**
   * Names of results it reports outside its own area (`sqlite.raw_insert_per_s` beside the
   * pushes it is compared with), so that asking for those runs it.
   */
  readonly reports?: readonly string[];
  /** Returns one or more results; extra ones are printed under their own names. */
  run(): Promise<BenchResult | Record<string, BenchResult>>;
}

const area = (name: string): string => name.split('.')[0] ?? name;

/**
 * What `npm run bench -- <prefix>` runs and prints (ARCHITECTURE.md: "runs those whose name
 * starts with the prefix"). A benchmark runs when its name starts with the prefix, when it
 * reports a result that does, or when it is of the prefix's area (the part before the first
 * dot: a group may report several results of its area). Only results whose name starts with
 * the prefix are printed as results; what else the same run measured is a note.
 */
export function benchSelection(prefix: string): {
  readonly runs: (bench: Pick<Bench, 'name' | 'reports'>) => boolean;
  readonly prints: (result: string) => boolean;
} {
  const near = (name: string) =>
    name.startsWith(prefix) || (prefix.includes('.') && area(name) === area(prefix));
  return {
    runs: (bench) => near(bench.name) || (bench.reports ?? []).some(near),
    prints: (result) => result.startsWith(prefix),
  };
}

export const machine = (): string => {
  const cpus = os.cpus();
  return `${cpus[0]?.model.trim() ?? 'unknown cpu'}, ${cpus.length} cores`;
};

export const line = (bench: string, r: BenchResult): string =>
  JSON.stringify({
    bench,
    value: Number(r.value.toPrecision(6)),
    unit: r.unit,
    machine: machine(),
  });
