import type {
  CountChange,
  CountPosition,
  CountRecord,
  CountSession,
  CountSessionEntry,
  CountSessionId,
  CountingState,
} from '@floorsync/domain';
import {
  countChangesOf,
  countLineKey,
  countPositionEntryKey,
  countSessionKey,
  countingStateOf,
  countingViewOf,
  evolveCounting,
  initialCountingState,
  isLiveCountSession,
} from '@floorsync/domain';

/**
 * Counting sessions on the device: the live ones (planned → applying) as the server's snapshot
 * entries have them (`s/count-session/…`, `s/count-line/…`, `s/count-position/…`), folded
 * forward from pulled events with the domain's own `countChangesOf`, so the device decides
 * counts offline with the server's rules. A session applied or cancelled leaves the device, as
 * it leaves the server's snapshot (tombstones).
 */

export const isCountingEntryKey = (key: string): boolean =>
  key.startsWith('s/count-session/') ||
  key.startsWith('s/count-line/') ||
  key.startsWith('s/count-position/');

/**
 * A state of the sessions in these snapshot entries (any order; tombstones skipped). Lines and
 * positions of a session that has ended are dropped, and so are those of a session not among
 * the entries — unless `midReset`: a snapshot read in pages brings them before their session
 * (keys sort count-line < count-position < count-session), and the session comes on a later
 * page. (Once the replica is whole, a line without its session is left over — from a device
 * that ran before this was fixed — and goes.)
 */
export function countingFromEntries(
  entries: Iterable<readonly [string, unknown]>,
  midReset = false,
): CountingState {
  const sessions: CountSessionEntry[] = [];
  const records: CountRecord[] = [];
  const positions: CountPosition[] = [];
  for (const [key, value] of entries) {
    if (value === null || value === undefined) continue;
    if (key.startsWith('s/count-session/')) sessions.push(value as CountSessionEntry);
    else if (key.startsWith('s/count-line/')) records.push(value as CountRecord);
    else if (key.startsWith('s/count-position/')) positions.push(value as CountPosition);
  }
  const live = new Set(sessions.filter((s) => isLiveCountSession(s.status)).map((s) => s.id));
  const ended = new Set(sessions.filter((s) => !live.has(s.id)).map((s) => s.id));
  const kept = (id: CountSessionId) => live.has(id) || (midReset && !ended.has(id));
  return countingStateOf(
    sessions.filter((s) => live.has(s.id)),
    records.filter((r) => kept(r.sessionId)),
    positions.filter((p) => kept(p.sessionId)),
  );
}

/**
 * The state as snapshot entries (what `countingFromEntries` reads back), lines and positions
 * whose session has not come yet included.
 */
export function countingEntries(state: CountingState): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const s of state.sessions.values()) out.set(countSessionKey(s.id), entryOf(state, s));
  for (const r of state.records.values()) out.set(countLineKey(r.sessionId, r.lineNo), r);
  for (const p of state.positions.values())
    out.set(countPositionEntryKey(p.sessionId, p.positionId), p);
  return out;
}

const entryOf = (state: CountingState, s: CountSession): CountSessionEntry => ({
  ...s,
  scopeIds: [...(state.scopes.get(s.id) ?? [])],
});

/**
 * The state with snapshot entries applied (`null`: gone), in one rebuild however many there
 * are; `entries` is emptied. `midReset`: more pages of a snapshot are to come (see
 * `countingFromEntries`).
 */
export function withCountingEntries(
  state: CountingState,
  entries: Map<string, unknown>,
  midReset = false,
): CountingState {
  if (entries.size === 0) return state;
  const all = countingEntries(state);
  for (const [key, value] of entries) all.set(key, value);
  entries.clear();
  return countingFromEntries(all, midReset);
}

const sessionIdOf = (c: CountChange): CountSessionId =>
  c.op === 'putCountSession'
    ? c.session.id
    : c.op === 'putCountRecord'
      ? c.record.sessionId
      : c.op === 'putCountPosition'
        ? c.position.sessionId
        : c.sessionId;

/**
 * Folds one pulled event: the new state (a session that ended is dropped with its lines and
 * positions) and the snapshot entries it changed, to persist (`null`: gone).
 */
export function foldCountEvent(
  state: CountingState,
  event: { readonly id: string; readonly type: string; readonly data: unknown },
): { readonly state: CountingState; readonly touched: ReadonlyMap<string, unknown> } {
  const changes = countChangesOf(countingViewOf(state), event);
  if (changes.length === 0) return { state, touched: new Map() };
  const next = evolveCounting(state, event);
  const touched = new Map<string, unknown>();
  const ended = new Set<CountSessionId>();
  for (const c of changes) {
    const id = sessionIdOf(c);
    const session = next.sessions.get(id);
    if (!session) continue;
    if (!isLiveCountSession(session.status)) {
      ended.add(id);
      continue;
    }
    if (c.op === 'putCountRecord') touched.set(countLineKey(id, c.record.lineNo), c.record);
    else if (c.op === 'putCountPosition')
      touched.set(countPositionEntryKey(id, c.position.positionId), c.position);
    touched.set(countSessionKey(id), entryOf(next, session));
  }
  if (ended.size === 0) return { state: next, touched };
  // Ended sessions leave the device: tombstones for everything they had here.
  const all = countingEntries(next);
  for (const [key, value] of all) {
    const v = value as { id?: string; sessionId?: string };
    if (ended.has((v.sessionId ?? v.id) as CountSessionId)) {
      all.delete(key);
      touched.set(key, null);
    }
  }
  return { state: countingFromEntries(all), touched };
}

/** The state without lines and positions no session claims (a snapshot read in pages is whole). */
export const withoutOrphans = (state: CountingState): CountingState =>
  countingFromEntries(countingEntries(state));

export { initialCountingState };
