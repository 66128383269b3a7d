import type { Cookie, PatchOp, PullResponse } from '@floorsync/domain';
import { DEFAULT_PULL_LIMIT, eventKey } from '@floorsync/domain';
import type { ReadTx } from '../storage/port.js';

/**
 * Pull, from one consistent read (the caller's `read()`):
 *
 * - A numeric cookie is the seq of the last event the client has. The answer carries the
 *   events after it (at most `limit`), and `lastMutationIDChanges` computed from exactly those
 *   events — so "client c is at mutation 8" always comes with mutation 8's events and
 *   nothing of 9 (the snapshot rule).
 * - `null` starts a reset: `clear`, then the current state as `s/<kind>/<id>` entries, paged.
 *   While paging, the cookie is `{ order: H0, after: <last key> }` (H0 = head at the first
 *   page). Pages read later may be newer than H0, so the last page also re-sends every entry
 *   of the earlier pages that changed after H0 (or `del` for those that went away), read in
 *   the same instant as the final head: the client ends exactly at that head.
 * - A cookie beyond the head cannot come from this server's log: `ClientStateNotFound`.
 */

export type PullAnswer = PullResponse | { readonly error: 'ClientStateNotFound' };

export interface PullInput {
  readonly clientGroupID: string;
  readonly cookie: Cookie;
  readonly limit?: number | undefined;
  /** Whose open conflicts a reset snapshot carries: an operator's own; null for all. */
  readonly conflictsOf: string | null;
}

export function pull(tx: ReadTx, input: PullInput): PullAnswer {
  const limit = Math.min(input.limit ?? DEFAULT_PULL_LIMIT, 10_000);
  const head = tx.head();
  const cookie = input.cookie;

  if (cookie === null || typeof cookie === 'object') {
    const h0 = cookie === null ? head : cookie.order;
    const after = cookie === null ? null : (cookie.after ?? null);
    if (h0 > head) return { error: 'ClientStateNotFound' };
    const page = tx.snapshotEntries({
      afterKey: after,
      limit: limit + 1,
      conflictsOf: input.conflictsOf,
    });
    const more = page.length > limit;
    const entries = more ? page.slice(0, limit) : page;
    const patch: PatchOp[] = cookie === null ? [{ op: 'clear' }] : [];
    for (const e of entries) patch.push({ op: 'put', key: e.key, value: e.value });
    if (more) {
      const last = entries.at(-1)?.key ?? after ?? '';
      return {
        cookie: { order: h0, after: last },
        lastMutationIDChanges: {},
        patch,
        hasMore: true,
      };
    }
    if (after !== null) {
      // Entries of earlier pages that changed while the client was paging.
      for (const e of tx.snapshotEntries({
        changedAfter: h0,
        upToKey: after,
        conflictsOf: input.conflictsOf,
      })) {
        patch.push(
          e.value === null ? { op: 'del', key: e.key } : { op: 'put', key: e.key, value: e.value },
        );
      }
    }
    return {
      cookie: head,
      lastMutationIDChanges: tx.clientsOfGroup(input.clientGroupID),
      patch,
      hasMore: false,
    };
  }

  if (cookie > head) return { error: 'ClientStateNotFound' };
  const events = tx.eventsAfter(cookie, limit);
  // A page never ends inside a mutation: lastMutationIDChanges may only name mutations whose
  // every event is in the page (a compensating resolution writes two events, for instance).
  for (let tail = events.at(-1); tail;) {
    const next = tx.eventsAfter(tail.seq, 1)[0];
    if (
      !next ||
      next.meta.clientID !== tail.meta.clientID ||
      next.meta.mutationID !== tail.meta.mutationID
    )
      break;
    events.push(next);
    tail = next;
  }
  const last = events.at(-1)?.seq ?? cookie;
  return {
    cookie: last,
    lastMutationIDChanges:
      events.length === 0 ? {} : tx.lastMutationIDChanges(input.clientGroupID, cookie, last),
    patch: events.map((e) => ({ op: 'put', key: eventKey(e.seq), value: e })),
    hasMore: last < head,
  };
}
