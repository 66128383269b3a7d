import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Session tokens and SSE tickets are 256-bit random strings. Only their SHA-256 is stored, so
 * a copy of the database does not hand out live sessions.
 */
export const newToken = (): string => randomBytes(32).toString('base64url');
export const hashToken = (token: string): string =>
  createHash('sha256').update(token).digest('hex');

/** Compares a presented secret with the expected one in constant time (hashes of equal length). */
export const sameSecret = (presented: string | undefined, expected: string): boolean =>
  presented !== undefined &&
  timingSafeEqual(
    createHash('sha256').update(presented).digest(),
    createHash('sha256').update(expected).digest(),
  );
