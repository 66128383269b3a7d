import type {
  ConflictDraft,
  DeviceTime,
  DomainEvent,
  EventMeta,
  MutationResult,
  PushMutation,
  RecordedMutation,
  Role,
} from '@floorsync/domain';
import {
  assessDeviceTime,
  asUserId,
  countChangesOf,
  genealogyChangesOf,
  settledConflictKeys,
  listChangesOf,
  stockChangesOf,
  conflictKindForRejection,
  decideMutation,
  rejectionEvent,
  roleAllows,
} from '@floorsync/domain';
import type { WriteTx } from '../storage/port.js';

/**
 * The replay of one push request, inside one write transaction (the caller's). Rules of
 * SYNC-PROTOCOL.md, per mutation, in array order:
 *   id <= lastMutationID → duplicate; id > lastMutationID + 1 → gap (stop this client);
 *   else decide against current state, then append the events, apply them to the read
 *   models, open or join conflicts, and advance lastMutationID.
 *
 * Isolation: the decision is pure and complete before anything is written, so a rejection
 * has no effects but its own `MutationRejected` record, and nothing ever needs undoing
 * mutation by mutation. Each request runs in its own savepoint of the group commit (see
 * `group-commit.ts`): a failure rolls back that request alone. A savepoint per mutation on
 * top of that would change no outcome and costs a third of replay throughput (SQLite
 * journals every page a savepoint touches), so there is none.
 * A rejection appends a `MutationRejected` event and advances lastMutationID like any other
 * outcome, so a permanent failure never blocks the queue behind it. An exception (a bug, the
 * store failing) propagates: the caller's transaction rolls the whole request back.
 */

export interface PushActor {
  readonly userId: string;
  readonly role: Role;
}

export interface ReplayDeps {
  /** Server time of the commit. */
  readonly now: () => Date;
  /** Fresh unique ids for events and conflicts. */
  readonly newId: () => string;
}

export interface PushInput {
  readonly clientGroupID: string;
  readonly mutations: readonly PushMutation[];
  /** The session's user. */
  readonly session: PushActor;
}

export interface PushOutcome {
  readonly results: MutationResult[];
  readonly head: number;
  /** Seqs appended by this request. */
  readonly appended: number;
}

/** Clients of the request that already belong to another client group (a device cannot push for them). */
export function foreignClients(
  tx: WriteTx,
  clientGroupID: string,
  mutations: readonly PushMutation[],
): string[] {
  const foreign: string[] = [];
  // A batch is nearly always one client's: look each client up once, not once per mutation.
  for (const clientID of new Set(mutations.map((m) => m.clientID))) {
    const known = tx.lastMutationID(clientID);
    if (known && known.clientGroupID !== clientGroupID) foreign.push(clientID);
  }
  return foreign;
}

/**
 * Args nested deeper than this are recorded as a note instead: no command's valid args come
 * near it, and a store serializes JSON recursively — args a few thousand levels deep (a few
 * KB) overflowed the stack, failing the whole push with a 500 every time it was retried.
 */
const MAX_RECORDED_ARGS_DEPTH = 64;

/** Whether a JSON value has objects or arrays nested more than `limit` levels (no recursion). */
function nestedDeeperThan(value: unknown, limit: number): boolean {
  const stack: { v: unknown; depth: number }[] = [{ v: value, depth: 0 }];
  for (let top = stack.pop(); top; top = stack.pop()) {
    if (top.v === null || typeof top.v !== 'object') continue;
    if (top.depth >= limit) return true;
    for (const x of Object.values(top.v)) stack.push({ v: x, depth: top.depth + 1 });
  }
  return false;
}

/**
 * A rejected mutation's event goes to every device, so what it records of the mutation is
 * bounded: a name no command has is cut to 128 characters, and args of more than 64 KB as JSON
 * (a count plan of a thousand bins is 40 KB) are a note. A push of one 4 MB mutation otherwise
 * put 4 MB into every device's next pull, however often sent. The conflict (the admins' only,
 * read one at a time) keeps the args whole, so that a large one can still be corrected and
 * applied again.
 */
const MAX_RECORDED_NAME = 128;
const MAX_RECORDED_ARGS_BYTES = 64 * 1024;

function recordedArgs(args: PushMutation['args'], bounded: boolean): Record<string, unknown> {
  if (nestedDeeperThan(args, MAX_RECORDED_ARGS_DEPTH))
    return { unrecorded: `args nested more than ${MAX_RECORDED_ARGS_DEPTH} levels deep` };
  if (!bounded) return args;
  const bytes = Buffer.byteLength(JSON.stringify(args));
  if (bytes > MAX_RECORDED_ARGS_BYTES)
    return { unrecorded: `args of ${bytes} bytes (more than ${MAX_RECORDED_ARGS_BYTES})` };
  return args;
}

const recorded = (m: PushMutation, bounded = true): RecordedMutation => ({
  clientID: m.clientID,
  id: m.id,
  name: m.name.length > MAX_RECORDED_NAME ? `${m.name.slice(0, MAX_RECORDED_NAME - 1)}…` : m.name,
  args: recordedArgs(m.args, bounded),
  ...(m.timestamp !== undefined ? { timestamp: m.timestamp } : {}),
  ...(m.userID !== undefined ? { userID: m.userID } : {}),
  ...(m.occurredAt !== undefined ? { occurredAt: m.occurredAt } : {}),
});

/** Who a mutation is attributed to, or why it may not be (shared handhelds, shift change). */
function attribute(
  tx: WriteTx,
  clientGroupID: string,
  m: PushMutation,
  session: PushActor,
): { ok: true; actor: PushActor } | { ok: false; message: string } {
  if (m.userID === undefined || m.userID === session.userId) return { ok: true, actor: session };
  const user = tx.userById(m.userID);
  if (!user || !user.active || !tx.userOnDevice(clientGroupID, user.id)) {
    return {
      ok: false,
      message: `user ${m.userID} has not signed in on this device, or is no longer active`,
    };
  }
  // Attribution names who scanned; it never grants more than the pushing session may do:
  // a mutation is decided with the lesser of the two roles.
  const role = roleAllows(session.role, user.role) ? user.role : session.role;
  return { ok: true, actor: { userId: user.id, role } };
}

export function replayPush(tx: WriteTx, input: PushInput, deps: ReplayDeps): PushOutcome {
  const results: MutationResult[] = [];
  const stopped = new Map<string, number>(); // clientID → expected id after a gap
  /** clientID → [lastMutationID, seq of its last event]; written once per client at the end. */
  const lmids = new Map<string, number>();
  const lastSeq = new Map<string, number>();
  let appended = 0;
  // One server time for the whole request: its mutations commit together.
  const now = deps.now();
  // Mutations of one batch mostly share a device time (scanned in the same millisecond, or
  // queued with one timestamp): format each distinct one once.
  const times = new Map<string | number | undefined, DeviceTime>();
  const recordedAt = {
    iso: now.toISOString(),
    ms: now.getTime(),
    deviceTime(m: PushMutation): DeviceTime {
      const key = m.occurredAt ?? m.timestamp;
      let time = times.get(key);
      if (!time) {
        time = assessDeviceTime(
          { occurredAt: m.occurredAt, timestamp: m.timestamp },
          this.iso,
          this.ms,
        );
        times.set(key, time);
      }
      return time;
    },
  };

  for (const m of input.mutations) {
    const gapAt = stopped.get(m.clientID);
    if (gapAt !== undefined) {
      results.push({ clientID: m.clientID, id: m.id, status: 'gap', expectedID: gapAt });
      continue;
    }
    const lmid = lmids.get(m.clientID) ?? tx.lastMutationID(m.clientID)?.lastMutationID ?? 0;
    if (m.id <= lmid) {
      results.push(duplicateResult(tx, m));
      continue;
    }
    if (m.id > lmid + 1) {
      stopped.set(m.clientID, lmid + 1);
      results.push({ clientID: m.clientID, id: m.id, status: 'gap', expectedID: lmid + 1 });
      continue;
    }
    const result = applyOne(tx, input, m, deps, recordedAt);
    appended += result.seqs?.length ?? 0;
    lmids.set(m.clientID, m.id);
    lastSeq.set(m.clientID, result.seqs?.at(-1) ?? 0);
    results.push(result);
  }
  // lastMutationID advances in the same transaction as the events: any failure above throws
  // and the caller rolls the whole request back, so writing it once per client is enough.
  for (const [clientID, id] of lmids)
    tx.setLastMutationID(clientID, input.clientGroupID, id, lastSeq.get(clientID) ?? 0);
  return { results, head: tx.head(), appended };
}

function duplicateResult(tx: WriteTx, m: PushMutation): MutationResult {
  // Report what happened the first time, so a device whose acknowledgement was lost learns it.
  const events = tx.eventsOfMutation(m.clientID, m.id);
  const rejected = events.find((e) => e.type === 'MutationRejected');
  const data = rejected?.data as { code?: string; message?: string } | undefined;
  return {
    clientID: m.clientID,
    id: m.id,
    status: 'duplicate',
    seqs: events.map((e) => e.seq),
    conflicts: [...new Set(events.flatMap((e) => e.meta.conflicts))],
    ...(data?.code !== undefined
      ? { error: { code: data.code, message: data.message ?? '' } }
      : {}),
  };
}

function applyOne(
  tx: WriteTx,
  input: PushInput,
  m: PushMutation,
  deps: ReplayDeps,
  at: { readonly iso: string; readonly deviceTime: (m: PushMutation) => DeviceTime },
): MutationResult {
  const recordedAt = at.iso;
  const time = at.deviceTime(m);
  const who = attribute(tx, input.clientGroupID, m, input.session);
  const actor = who.ok ? who.actor : input.session;

  const decision = who.ok
    ? decideMutation(
        tx,
        { name: m.name, args: m.args },
        { actor: { userId: asUserId(actor.userId), role: actor.role }, mode: 'record' },
      )
    : ({ kind: 'rejected', code: 'FORBIDDEN', message: who.message } as const);

  let events: readonly DomainEvent[];
  let drafts: readonly ConflictDraft[];
  if (decision.kind === 'rejected') {
    events = [rejectionEvent(recorded(m), decision)];
    drafts = [
      {
        kind: conflictKindForRejection(decision.code),
        key: `mutation/${m.clientID}/${m.id}`,
        message: decision.message,
        detail: { code: decision.code },
      },
    ];
  } else {
    events = decision.events;
    drafts = decision.conflicts;
  }

  // Conflicts first (their ids go into the events' meta): join an open one with the same key.
  const conflicts = drafts.map((d) => ({
    draft: d,
    existing: tx.openConflictByKey(d.key),
    id: '',
  }));
  for (const c of conflicts) c.id = c.existing ?? deps.newId();
  const conflictIds = [...new Set(conflicts.map((c) => c.id))];

  // A refused attribution is not an identity: the rejection (and its conflict, so the device
  // in hand sees it) belongs to the session that pushed it; the claim stays in the mutation.
  const userId = who.ok ? actor.userId : input.session.userId;
  const seqs: number[] = [];
  for (const e of events) {
    const id = deps.newId();
    const meta: EventMeta = {
      clientID: m.clientID,
      mutationID: m.id,
      userId,
      occurredAt: time.occurredAt,
      recordedAt,
      conflicts: conflictIds,
      ...(time.implausible ? { occurredAtImplausible: true } : {}),
    };
    const seq = tx.appendEvent({
      id,
      type: e.type,
      data: e.data,
      meta,
      clientGroupID: input.clientGroupID,
    });
    seqs.push(seq);
    // Lists first: the changes are computed from the state before this event (a reversal
    // reads the line its movement confirmed).
    const logged = { id, type: e.type, data: e.data };
    for (const change of listChangesOf(tx, logged)) tx.applyListChange(change, seq);
    // Counting: what the event settles is read from the line before it changes (an accepted
    // count ends the line's disagreement, a race decision its race, an apply a failure).
    const settles = settledConflictKeys(tx, logged);
    for (const change of countChangesOf(tx, logged)) tx.applyCountChange(change, seq);
    for (const key of settles) {
      const open = tx.openConflictByKey(key);
      if (open === undefined) continue;
      tx.resolveConflict(open, {
        action: 'settled',
        note: `settled by ${e.type}`,
        by: actor.userId,
        at: recordedAt,
        seq,
      });
      tx.linkConflict(open, { seq, clientID: m.clientID, mutationID: m.id });
    }
    // Genealogy reads where the goods are before they move (the containers around them).
    for (const change of genealogyChangesOf(tx, logged)) tx.applyProductionChange(change, seq);
    for (const change of stockChangesOf(logged)) tx.applyChange(change, seq);
    if (e.type === 'ConflictResolved') {
      tx.resolveConflict(e.data.conflictId, {
        action: e.data.action,
        note: e.data.note,
        by: actor.userId,
        at: recordedAt,
        seq,
      });
    }
  }

  const firstSeq = seqs[0] ?? 0;
  for (const c of conflicts) {
    if (!c.existing) {
      tx.openConflict({
        id: c.id,
        kind: c.draft.kind,
        key: c.draft.key,
        message: c.draft.message,
        openedAt: recordedAt,
        openedSeq: firstSeq,
        mutation: recorded(m, false),
        userId,
        detail: c.draft.detail,
      });
    }
    for (const seq of seqs) tx.linkConflict(c.id, { seq, clientID: m.clientID, mutationID: m.id });
    if (c.draft.kind === 'negative-stock') {
      // Everything that drained this line since it was last filled competed for the same units.
      const d = c.draft.detail as { itemId: string; positionId: string; lot: string | null };
      for (const o of tx.competingOutflows(d.itemId as never, d.positionId as never, d.lot))
        tx.linkConflict(c.id, o);
    }
  }

  return decision.kind === 'rejected'
    ? {
        clientID: m.clientID,
        id: m.id,
        status: 'rejected',
        error: { code: decision.code, message: decision.message },
        seqs,
        conflicts: conflictIds,
      }
    : { clientID: m.clientID, id: m.id, status: 'applied', seqs, conflicts: conflictIds };
}
