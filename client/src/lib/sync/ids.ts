/**
 * Identifiers and secrets made on the device. `crypto.randomUUID` exists only in a secure
 * context (HTTPS or localhost); a handheld that reaches the server over plain HTTP on the
 * shop-floor network has `crypto.getRandomValues` only, so both are made from it when needed.
 */
const bytes = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));
const hex = (b: Uint8Array): string =>
  Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** A random UUID (version 4, RFC 9562). */
export function newUuid(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = bytes(16);
  b[6] = ((b[6] as number) & 0x0f) | 0x40; // version 4
  b[8] = ((b[8] as number) & 0x3f) | 0x80; // variant 10
  const h = hex(b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** 256 random bits as 64 hex characters: the installation's device secret. */
export const newSecret = (): string => hex(bytes(32));
