import type { SeqHole } from '../port.js';

/** The `meta` key of the seqs a restored log skipped: a JSON array of `[from, to]`. */
export const SEQ_HOLES_KEY = 'seq_holes';

/** The holes as stored; anything malformed is an error (the file was edited by hand). */
export function parseSeqHoles(raw: string): SeqHole[] {
  const value: unknown = JSON.parse(raw);
  if (
    !Array.isArray(value) ||
    !value.every(
      (h): h is [number, number] =>
        Array.isArray(h) &&
        h.length === 2 &&
        Number.isSafeInteger(h[0]) &&
        Number.isSafeInteger(h[1]) &&
        (h[0] as number) >= 1 &&
        (h[0] as number) <= (h[1] as number),
    )
  )
    throw new Error(`meta ${SEQ_HOLES_KEY} is not a list of [from, to] seq ranges: ${raw}`);
  return value.map(([from, to]) => [from, to] as const);
}
