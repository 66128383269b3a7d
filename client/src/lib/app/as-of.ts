/**
 * When the device last synced, in words: the time alone today, date and time before (an
 * operator back after a weekend offline must not read Friday's 16:40 as today's). Null: never.
 */
export function lastSyncedText(
  iso: string | null | undefined,
  now: Date,
  format: (iso: string, what: 'datetime' | 'time') => string,
): string | null {
  if (!iso) return null;
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return null;
  const today =
    at.getFullYear() === now.getFullYear() &&
    at.getMonth() === now.getMonth() &&
    at.getDate() === now.getDate();
  return format(iso, today ? 'time' : 'datetime');
}
