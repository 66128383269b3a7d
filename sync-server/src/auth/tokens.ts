import { createHash, randomBytes } from 'node:crypto';

/**
 * Session tokens and SSE tickets are 256-bit random strings. Only their SHA-256 is stored, so
 * a copy of the database does not hand out live sessions.
 */
export const newToken = (): string => randomBytes(32).toString('base64url');
export const hashToken = (token: string): string =>
  createHash('sha256').update(token).digest('hex');
