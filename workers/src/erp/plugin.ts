import type { EventEnvelope } from '@floorsync/domain';

/**
 * An ERP integration plugin. Floorsync hands it every confirmed movement, in the log's order,
 * with the event id as the idempotency key: after a crash the exporter may hand it the same
 * movement again, and the plugin must make sure the ERP books it once (a file named by the
 * key, an `Idempotency-Key` header the ERP honours, a lookup before insert).
 *
 * Throwing means "not now": the exporter retries the same movement after a pause and does
 * not go past it, so the ERP never sees movements out of order.
 */
export interface ErpPlugin {
  readonly name: string;
  /** `signal` aborts when the exporter stops (a shutdown): give up and throw. */
  exportMovement(movement: MovementExport, signal?: AbortSignal): Promise<void>;
}

/** A confirmed movement as plugins receive it. */
export interface MovementExport {
  /** The event id: the same movement always carries the same key. */
  readonly idempotencyKey: string;
  readonly seq: number;
  /**
   * `StockReceived`, `StockMoved`, `ContainerMoved`, `StockShipped`, `StockAdjusted`,
   * `StockConsumed` (into a job: `jobId`), `StockProduced` (a job's output: `jobId`),
   * `MovementReversed` (`producedBy` when it undoes a job's output).
   */
  readonly type: string;
  /** The event's data as the domain defines it (item, positions, quantity, lot, serial, reason…). */
  readonly data: unknown;
  /** Device time of the scan; `recordedAt` is the server's commit time. */
  readonly occurredAt: string;
  readonly recordedAt: string;
  readonly userId: string;
}

/**
 * The event types that move or change stock: what an ERP books. Production's too: a
 * consumption takes stock into a job, a production puts the job's output into stock (both to
 * and from the virtual `@production`); without them the ERP's stock would drift from ours at
 * every job, and a reversed production (`MovementReversed` with `producedBy`) would undo a
 * movement the ERP never saw.
 */
export const MOVEMENT_TYPES: ReadonlySet<string> = new Set([
  'StockReceived',
  'StockMoved',
  'ContainerMoved',
  'StockShipped',
  'StockAdjusted',
  'StockConsumed',
  'StockProduced',
  'MovementReversed',
]);

export const movementOf = (e: EventEnvelope): MovementExport => ({
  idempotencyKey: e.id,
  seq: e.seq,
  type: e.type,
  data: e.data,
  occurredAt: e.meta.occurredAt,
  recordedAt: e.meta.recordedAt,
  userId: e.meta.userId,
});
