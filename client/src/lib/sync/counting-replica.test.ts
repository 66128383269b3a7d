import type { CountPosition, CountSessionId, PositionId } from '@floorsync/domain';
import { countPositionEntryKey } from '@floorsync/domain';
import { describe, expect, it } from 'vitest';
import { countingFromEntries, withCountingEntries, withoutOrphans } from './counting-replica.js';

describe('counting sessions from snapshot entries', () => {
  const position: CountPosition = {
    sessionId: 'sess-1' as CountSessionId,
    positionId: 'P' as PositionId,
    open: [],
    counted: true,
    countedBy: [],
    empty: false,
  };
  const entry = [countPositionEntryKey('sess-1', 'P'), position] as const;

  it('a position whose session has not come is kept while a snapshot is read in pages, and goes once it is whole', () => {
    const midway = countingFromEntries([entry], true);
    expect([...midway.positions.values()]).toEqual([position]);
    // A later page with no counting entries of its own keeps it too.
    expect(withCountingEntries(midway, new Map(), true).positions.size).toBe(1);
    expect(withoutOrphans(midway).positions.size).toBe(0);
  });

  it('a whole replica drops a position no session claims (left over by an older version)', () => {
    expect(countingFromEntries([entry]).positions.size).toBe(0);
  });
});
