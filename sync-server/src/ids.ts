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
  const b = Buffer.from(pool.subarray(poolAt, poolAt + 16));
  poolAt += 16;
  const ms = lastMs;
  b[0] = Math.floor(ms / 2 ** 40) & 0xff;
  b[1] = Math.floor(ms / 2 ** 32) & 0xff;
  b[2] = (ms >>> 24) & 0xff;
  b[3] = (ms >>> 16) & 0xff;
  b[4] = (ms >>> 8) & 0xff;
  b[5] = ms & 0xff;
  b[6] = 0x70 | ((counter >>> 8) & 0x0f);
  b[7] = counter & 0xff;
  b[8] = 0x80 | ((b[8] ?? 0) & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
