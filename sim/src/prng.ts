/**
 * The simulation's only source of randomness: a small seeded PRNG (sfc32, seeded through
 * splitmix32), so a seed determines every choice of a run. Nothing in the simulator reads
 * `Math.random`, `Date.now` or `crypto`.
 */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    // splitmix32 spreads one 32-bit seed over sfc32's 128 bits of state.
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** An integer in [min, max] (both included). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty array. */
  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error('pick from an empty list');
    return xs[Math.floor(this.next() * xs.length)] as T;
  }

  /** One key, with probability proportional to its weight (weights ≤ 0 never win). */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = (Object.entries(weights) as [K, number][]).filter(([, w]) => w > 0);
    const total = entries.reduce((s, [, w]) => s + w, 0);
    if (entries.length === 0) throw new Error('no positive weight');
    let r = this.next() * total;
    for (const [k, w] of entries) {
      r -= w;
      if (r < 0) return k;
    }
    return (entries.at(-1) as [K, number])[0];
  }

  /** A shuffled copy. */
  shuffle<T>(xs: readonly T[]): T[] {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }

  /** An independent generator derived from this one (a stream of its own). */
  fork(): Prng {
    return new Prng(this.u32());
  }
}

/**
 * UUIDv7-shaped ids (48 bits of virtual milliseconds, then PRNG bits, version and variant set):
 * time-ordered like the server's own, and the same for the same seed.
 */
export function idGenerator(prng: Prng, nowMs: () => number): () => string {
  let lastMs = -1;
  let counter = 0;
  const hex = (n: number, digits: number) => n.toString(16).padStart(digits, '0');
  return () => {
    const ms = nowMs();
    counter = ms === lastMs ? counter + 1 : prng.int(0, 0x3ff);
    lastMs = ms;
    const t = hex(Math.floor(ms), 12);
    const randA = 0x7000 | ((counter & 0xfff) >>> 0);
    const randB = 0x8000 | (prng.u32() & 0x3fff);
    const tail = hex(prng.u32() & 0xffff, 4) + hex(prng.u32(), 8);
    return `${t.slice(0, 8)}-${t.slice(8, 12)}-${hex(randA, 4)}-${hex(randB, 4)}-${tail}`;
  };
}
