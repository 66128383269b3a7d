import { describe, expect, it } from 'vitest';
import { lastSyncedText } from './as-of.js';

describe('lastSyncedText', () => {
  const format = (iso: string, what: 'datetime' | 'time') => `${what}:${iso}`;
  it('the time alone today, date and time before; null for never', () => {
    const now = new Date(2026, 10, 28, 9, 0);
    const earlier = new Date(2026, 10, 28, 7, 30).toISOString();
    const friday = new Date(2026, 10, 27, 16, 40).toISOString();
    expect(lastSyncedText(earlier, now, format)).toBe(`time:${earlier}`);
    expect(lastSyncedText(friday, now, format)).toBe(`datetime:${friday}`);
    expect(lastSyncedText(null, now, format)).toBeNull();
    expect(lastSyncedText('not a date', now, format)).toBeNull();
  });
});
