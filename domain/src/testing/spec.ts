import type { InventoryState } from '../inventory/state.js';
import { cloneState, initialState } from '../inventory/state.js';
import { foldEvent, replayViewOf } from '../projection.js';
import type { ConflictKind, RejectionCode } from '../shared/decision.js';
import type { ConflictId } from '../shared/ids.js';
import { asUserId } from '../shared/ids.js';
import type { Role } from '../shared/roles.js';
import type { ConflictRecord, DomainEvent, ReplayContext, ReplayDecision } from '../sync/decide.js';
import { decideMutation } from '../sync/decide.js';

/**
 * Given / when / then for deciders, framework-free (throws `SpecError`), so any test runner
 * — and other packages' tests — can use it:
 *
 *   given(...warehouse()).when(moveStock(A, P, P, 1)).thenRejects('SAME_POSITION');
 */

export class SpecError extends Error {
  override readonly name = 'SpecError';
}

/** JSON with sorted keys: a deep equality that ignores key order. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
        )
      : v,
  );
}

export function assertEqual(actual: unknown, expected: unknown, what: string): void {
  const a = canonical(actual);
  const e = canonical(expected);
  if (a !== e) throw new SpecError(`${what}\n  expected: ${e}\n  actual:   ${a}`);
}

export interface Mutation {
  readonly name: string;
  readonly args: unknown;
}

export interface WhenOptions {
  readonly role?: Role;
  readonly mode?: ReplayContext['mode'];
  readonly userId?: string;
}

/** Event ids in specs: `e1`, `e2`, … in the order events were given or decided. */
export type GivenEvent = DomainEvent & { readonly id?: string };

export class Outcome {
  constructor(
    readonly decision: ReplayDecision,
    private readonly before: InventoryState,
    private readonly nextId: number,
  ) {}

  /** The decision was accepted with exactly these events (and no conflicts). */
  then(...expected: DomainEvent[]): this {
    const d = this.accepted();
    assertEqual(d.events, expected, 'events differ');
    if (d.conflicts.length > 0) {
      throw new SpecError(
        `expected no conflicts, got ${d.conflicts.map((c) => c.kind).join(', ')}`,
      );
    }
    return this;
  }

  /** Accepted, recording a conflict of this kind (optionally checking the events too). */
  thenConflicts(kind: ConflictKind, ...expected: DomainEvent[]): this {
    const d = this.accepted();
    if (!d.conflicts.some((c) => c.kind === kind)) {
      throw new SpecError(
        `expected a ${kind} conflict, got [${d.conflicts.map((c) => c.kind).join(', ')}]`,
      );
    }
    if (expected.length > 0) assertEqual(d.events, expected, 'events differ');
    return this;
  }

  thenRejects(code: RejectionCode): this {
    if (this.decision.kind !== 'rejected') {
      throw new SpecError(
        `expected rejection ${code}, got accepted ${canonical(this.decision.events)}`,
      );
    }
    if (this.decision.code !== code) {
      throw new SpecError(
        `expected rejection ${code}, got ${this.decision.code}: ${this.decision.message}`,
      );
    }
    return this;
  }

  private after: InventoryState | undefined;

  /** State after the accepted events (the given state when rejected). Computed once. */
  get state(): InventoryState {
    if (this.decision.kind === 'rejected') return this.before;
    if (this.after) return this.after;
    let id = this.nextId;
    let state = cloneState(this.before);
    for (const e of this.decision.events) state = foldEvent(state, { ...e, id: `e${id++}` });
    this.after = state;
    return state;
  }

  private accepted() {
    if (this.decision.kind !== 'accepted') {
      throw new SpecError(
        `expected acceptance, got ${this.decision.code}: ${this.decision.message}`,
      );
    }
    return this.decision;
  }
}

export class Spec {
  private readonly conflicts = new Map<ConflictId, ConflictRecord>();

  constructor(private readonly events: readonly GivenEvent[]) {}

  withConflicts(...records: ConflictRecord[]): this {
    for (const r of records) this.conflicts.set(r.id, r);
    return this;
  }

  get state(): InventoryState {
    return this.events.reduce(
      (s, e, i) => foldEvent(s, { ...e, id: e.id ?? `e${i + 1}` }),
      initialState(),
    );
  }

  when(mutation: Mutation, options: WhenOptions = {}): Outcome {
    const state = this.state;
    const decision = decideMutation(replayViewOf(state, this.conflicts), mutation, {
      actor: { userId: asUserId(options.userId ?? 'u-spec'), role: options.role ?? 'admin' },
      mode: options.mode ?? 'record',
    });
    return new Outcome(decision, state, this.events.length + 1);
  }
}

export const given = (...events: GivenEvent[]): Spec => new Spec(events);
