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
  /** Returns one or more results; extra ones are printed under their own names. */
  run(): Promise<BenchResult | Record<string, BenchResult>>;
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
