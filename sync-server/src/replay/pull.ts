import type { Cookie, PatchOp, PullResponse } from '@floorsync/domain';
import { DEFAULT_PULL_LIMIT, MAX_PULL_LIMIT } from '@floorsync/domain';
import type { ReadTx, SeqHole } from '../storage/port.js';
import type { RecentEvents, SerializedEvent } from './recent-events.js';
import { serializeEvent } from './recent-events.js';

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
 * - A cookie beyond the head cannot come from this server's log: `ClientStateNotFound`. Nor
 *   can one in a seq hole of a restored log (`ReadTx.seqHoles`): it names an event of the
 *   history the restore lost, and the seqs after the hole are another history.
 * - A last snapshot page that would re-send more than `MAX_RESEND` entries: `ClientStateNotFound`
 *   too (the snapshot starts over; see `MAX_RESEND`).
 */

/**
 * A reset page or `ClientStateNotFound` as an object; a page of events as its JSON text (see
 * `RecentEvents`).
 */
export type PullAnswer =
  PullResponse | { readonly error: 'ClientStateNotFound' } | { readonly json: string };

export interface PullInput {
  readonly clientGroupID: string;
  readonly cookie: Cookie;
  readonly limit?: number | undefined;
  /** Whose open conflicts a reset snapshot carries: an operator's own; null for all. */
  readonly conflictsOf: string | null;
  /** The most entries a paged snapshot's last page re-sends (default `MAX_RESEND`). */
  readonly maxResend?: number;
}

/**
 * The most entries the last page of a paged snapshot re-sends (those of earlier pages that
 * changed while the client paged). More than that and the snapshot starts over
 * (`ClientStateNotFound`): no answer carries more than a few pages, whatever its cookie says —
 * a paging cookie is the client's to send back, and one made up with an old `order` and the
 * last key would otherwise have one answer build and send every entry the store ever changed.
 * (The store still looks through the rows changed after `order` to find them; what it reads
 * into memory, serializes and sends is bounded.) An honest snapshot meets it only when 40,000 entries it already has change while it
 * pages: far beyond a warehouse's pace for the minute or two a large snapshot takes.
 */
export const MAX_RESEND = 4 * MAX_PULL_LIMIT;

export function pull(tx: ReadTx, input: PullInput, recent?: RecentEvents): PullAnswer {
  const limit = Math.min(input.limit ?? DEFAULT_PULL_LIMIT, MAX_PULL_LIMIT);
  const head = tx.head();
  const cookie = input.cookie;

  if (cookie === null || typeof cookie === 'object') {
    const h0 = cookie === null ? head : cookie.order;
    const after = cookie === null ? null : (cookie.after ?? null);
    const holes = tx.seqHoles();
    // A restored log's paging cookies name the restore (the end of its latest hole): pages
    // read before a restore may hold the lost history, which the last page's re-sending of
    // what changed after H0 would not undo — such a snapshot starts over.
    const restore = holes.at(-1)?.[1];
    if (cookie !== null && (cookie as { restore?: unknown }).restore !== restore)
      return { error: 'ClientStateNotFound' };
    if (h0 > head || inSeqHole(holes, h0)) return { error: 'ClientStateNotFound' };
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
        cookie: { order: h0, after: last, ...(restore !== undefined ? { restore } : {}) },
        lastMutationIDChanges: {},
        patch,
        hasMore: true,
      };
    }
    if (after !== null) {
      // Entries of earlier pages that changed while the client was paging.
      const maxResend = input.maxResend ?? MAX_RESEND;
      const changed = tx.snapshotEntries({
        changedAfter: h0,
        upToKey: after,
        conflictsOf: input.conflictsOf,
        limit: maxResend + 1,
      });
      if (changed.length > maxResend) return { error: 'ClientStateNotFound' };
      for (const e of changed) {
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

  if (cookie > head || inSeqHole(tx.seqHoles(), cookie)) return { error: 'ClientStateNotFound' };
  const page = eventPage(tx, cookie, head, limit, recent);
  const last = page.at(-1)?.seq ?? cookie;
  const changes =
    page.length === 0 ? {} : tx.lastMutationIDChanges(input.clientGroupID, cookie, last);
  // The answer as `JSON.stringify` would write it, from operations serialized once per event.
  return {
    json: `{"cookie":${last},"lastMutationIDChanges":${JSON.stringify(changes)},"patch":[${page.map((e) => e.op).join(',')}],"hasMore":${last < head}}`,
  };
}

const inSeqHole = (holes: readonly SeqHole[], seq: number): boolean =>
  holes.some(([from, to]) => seq >= from && seq <= to);

/**
 * The events after `cookie`: at most `limit`, and a page never ends inside a mutation —
 * `lastMutationIDChanges` may only name mutations whose every event is in the page (a
 * compensating resolution writes two events, for instance). A mutation the limit would cut
 * goes to the next page; only a first mutation larger than the limit makes a page larger.
 * From `recent` when it knows them all, else from the store (and then `recent` learns them).
 */
function eventPage(
  tx: ReadTx,
  cookie: number,
  head: number,
  limit: number,
  recent: RecentEvents | undefined,
): SerializedEvent[] {
  // A page and room to finish its last mutation; a device far behind copies no more.
  const max = limit + 64;
  let known = recent?.slice(cookie, head, max) ?? null;
  /** Every event up to here is in `known`. */
  let knownTo = known !== null && known.length === max ? (known.at(-1)?.seq ?? head) : head;
  if (known === null) {
    known = tx.eventsAfter(cookie, limit).map(serializeEvent);
    knownTo = known.length < limit ? head : (known.at(-1)?.seq ?? head);
    recent?.add(cookie, knownTo, known);
  }
  const page = known.slice(0, limit);
  const tail = page.at(-1);
  if (!tail) return page;
  const after = (e: SerializedEvent): SerializedEvent | undefined =>
    known[page.length] ??
    (knownTo < head ? tx.eventsAfter(e.seq, 1).map(serializeEvent)[0] : undefined);
  const next = after(tail);
  if (!next || !sameMutation(next, tail)) return page;
  // The limit cuts a mutation: the page ends before it ("at most `limit` events")…
  let keep = page.length - 1;
  while (keep > 0 && sameMutation(page[keep - 1] as SerializedEvent, tail)) keep--;
  if (keep > 0) return page.slice(0, keep);
  // …unless it is the page's only mutation, bigger than the limit: then the page holds all of
  // it (the snapshot rule cannot be broken, and a smaller page could never make progress).
  for (let last = next; ;) {
    page.push(last);
    const more = after(last);
    if (!more || !sameMutation(more, last)) return page;
    last = more;
  }
}

const sameMutation = (a: SerializedEvent, b: SerializedEvent): boolean =>
  a.clientID === b.clientID && a.mutationID === b.mutationID;
