/**
 * Device clocks lie. Ordering always follows the server's `seq`; device time is kept as
 * `occurredAt` for people to read, and flagged when it cannot be true.
 */

/** A device clock this far ahead of the server is wrong (NTP-less handhelds drift minutes). */
export const MAX_FUTURE_SKEW_MS = 2 * 60 * 1000;
/** A scan older than this when it arrives is implausible (a shift offline is hours, not months). */
export const MAX_OFFLINE_AGE_MS = 30 * 24 * 60 * 60 * 1000;
/** Epoch milliseconds before this are not a real clock (Replicache sends a page-relative one). */
const EPOCH_FLOOR_MS = Date.UTC(2020, 0, 1);

export interface DeviceTime {
  /** ISO 8601: the device's time when it had one, else the server's `recordedAt`. */
  readonly occurredAt: string;
  /** True when the device gave a time that cannot be right. */
  readonly implausible: boolean;
}

/**
 * Picks the device time of a mutation: `occurredAt` (ISO) if sent, else `timestamp`. A time
 * that cannot be right (unparseable, page-relative, far ahead or months old) is flagged; with
 * neither, the server's `recordedAt` stands, unflagged.
 */
export function assessDeviceTime(
  sent: { readonly occurredAt?: string | undefined; readonly timestamp?: number | undefined },
  recordedAt: string,
  /** `recordedAt` as epoch ms, when the caller has it (a push assesses many mutations). */
  serverMs: number = Date.parse(recordedAt),
): DeviceTime {
  let deviceMs: number | null = null;
  if (sent.occurredAt !== undefined) {
    const parsed = Date.parse(sent.occurredAt);
    if (Number.isNaN(parsed)) return { occurredAt: recordedAt, implausible: true };
    deviceMs = parsed;
  } else if (sent.timestamp !== undefined) {
    // Not plausible epoch time (a genuine Replicache client's page-relative clock, a clock
    // stuck at zero): the device gave no usable time; the server's is kept, flagged.
    if (!Number.isFinite(sent.timestamp) || sent.timestamp < EPOCH_FLOOR_MS)
      return { occurredAt: recordedAt, implausible: true };
    deviceMs = sent.timestamp;
  }
  if (deviceMs === null) return { occurredAt: recordedAt, implausible: false };
  // Far outside the range Date can print: keep the server's time, flagged.
  if (Math.abs(deviceMs) > 8.64e15) return { occurredAt: recordedAt, implausible: true };
  const implausible =
    deviceMs - serverMs > MAX_FUTURE_SKEW_MS ||
    serverMs - deviceMs > MAX_OFFLINE_AGE_MS ||
    deviceMs < EPOCH_FLOOR_MS;
  return { occurredAt: new Date(deviceMs).toISOString(), implausible };
}
