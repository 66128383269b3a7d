import { z } from 'zod';

/**
 * Quantities are decimals (kilograms, metres, pieces). Floats are kept honest by rounding
 * every stored result to 6 decimals and comparing with a tolerance — never `===`.
 */
export const QTY_EPSILON = 1e-6;
const SCALE = 1e6;
/** Larger than any real stock line; keeps sums far inside float precision at 6 decimals. */
export const QTY_MAX = 1e9;

export const roundQty = (q: number): number => Math.round(q * SCALE) / SCALE;
export const qtyIsZero = (q: number): boolean => Math.abs(q) < QTY_EPSILON;
export const qtyEquals = (a: number, b: number): boolean => Math.abs(a - b) < QTY_EPSILON;
/** a < b beyond the tolerance. */
export const qtyLess = (a: number, b: number): boolean => b - a >= QTY_EPSILON;

/** A strictly positive quantity. Rejects NaN, ±Infinity, 0, negatives and absurd sizes. */
export const quantitySchema = z
  .number({ error: 'quantity must be a number' })
  .refine((n) => n >= QTY_EPSILON, {
    message: 'quantity must be greater than 0',
    params: { problem: 'NOT_POSITIVE' },
  })
  .refine((n) => n <= QTY_MAX, {
    message: `quantity must be at most ${QTY_MAX}`,
    params: { problem: 'TOO_LARGE', max: QTY_MAX },
  });

/** A signed, non-zero quantity change (adjustments). */
export const deltaSchema = z
  .number({ error: 'delta must be a number' })
  .refine((n) => Math.abs(n) >= QTY_EPSILON, {
    message: 'delta must not be 0',
    params: { problem: 'ZERO' },
  })
  .refine((n) => Math.abs(n) <= QTY_MAX, {
    message: `delta must be at most ${QTY_MAX} in size`,
    params: { problem: 'TOO_LARGE', max: QTY_MAX },
  });
