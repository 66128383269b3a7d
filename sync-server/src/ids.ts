import { randomFillSync } from 'node:crypto';

/**
 * UUIDv7 (RFC 9562): a millisecond timestamp first, then randomness. Ids minted by the server
 * (events, conflicts, users) sort by creation time, so the B-tree indexes on them grow at
 * the end instead of splitting pages at random — a large part of insert cost in SQLite.
 * Monotonic within one process: the 12-bit counter after the timestamp breaks ties.
 */
let lastMs = 0;
let counter = 0;
// Randomness is drawn in blocks: one syscall per 256 ids instead of one per id.
const pool = Buffer.alloc(16 * 256);
let poolAt = pool.length;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function uuidv7(now: number = Date.now()): string {
  if (now <= lastMs) {
    counter++;
    if (counter > 0xfff) {
      lastMs++;
      counter = 0;
    }
  } else {
    lastMs = now;
    counter = 0;
  }
  if (poolAt >= pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  // Built from a hex table straight into the string: no Buffer copy, no slicing.
  const r = poolAt;
  poolAt += 16;
  const ms = lastMs;
  const hi = Math.floor(ms / 2 ** 32); // the top 16 of the 48 timestamp bits
  return (
    HEX[(hi >>> 8) & 0xff]! +
    HEX[hi & 0xff]! +
    HEX[(ms >>> 24) & 0xff]! +
    HEX[(ms >>> 16) & 0xff]! +
    '-' +
    HEX[(ms >>> 8) & 0xff]! +
    HEX[ms & 0xff]! +
    '-' +
    HEX[0x70 | ((counter >>> 8) & 0x0f)]! +
    HEX[counter & 0xff]! +
    '-' +
    HEX[0x80 | (pool[r + 8]! & 0x3f)]! +
    HEX[pool[r + 9]!]! +
    '-' +
    HEX[pool[r + 10]!]! +
    HEX[pool[r + 11]!]! +
    HEX[pool[r + 12]!]! +
    HEX[pool[r + 13]!]! +
    HEX[pool[r + 14]!]! +
    HEX[pool[r + 15]!]!
  );
}
