import type { InventoryView } from '../inventory/state.js';
import type { ItemId, Lot, PositionId, Serial } from '../shared/ids.js';
import { roundQty } from '../shared/quantity.js';

/** What of a conflict the suggestion reads (its kind and detail, as the API lists them). */
export interface ConflictForCompensation {
  readonly kind: string;
  readonly detail: Readonly<Record<string, unknown>>;
}

/** An `adjustStock` command to compensate with, and the quantity it starts from. */
export interface SuggestedCompensation {
  readonly name: 'adjustStock';
  readonly args: {
    readonly itemId: string;
    readonly positionId: string;
    readonly delta: number;
    readonly reason: 'conflict-resolution';
    readonly lot?: string;
    readonly serial?: string;
  };
  /** The quantity the line holds now, that the adjustment starts from. */
  readonly now: number;
}

const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/**
 * The compensation an admin most likely wants for a conflict, from the stock as it is now —
 * not as it was when the conflict opened: other scans may have moved it since. The conflict
 * console offers it as the starting point of a `compensate` resolution; the admin edits it.
 * It is only suggested when the one adjustment would be accepted and settle the conflict:
 *
 * - **negative stock**: an adjustment that brings the line back to zero. Nothing when the line
 *   is no longer negative (someone received or counted meanwhile), or when its position is
 *   retired (an emptied tote: the server refuses to put stock into it, `POSITION_RETIRED`).
 * - **a serial in two places**: the serial taken out of the place it was recorded at before
 *   the scan that opened the conflict (the scan is the newer fact: the operator had the serial
 *   in hand) — when exactly two units are in stock and one is there. Also when a shipment took
 *   it from a place the record did not have it at and the record still has it there (one unit
 *   left): that place loses it; the shipment's own −1 line stays for the admin to see. Nothing
 *   when it is in one place (or none) now, when the older place no longer holds it (which of
 *   the others is wrong cannot be told), or when more than two units are in stock (one
 *   adjustment cannot settle that: the server refuses it, `SERIAL_ELSEWHERE`).
 *
 * `null`: no compensation to suggest.
 */
export function suggestCompensation(
  conflict: ConflictForCompensation,
  view: InventoryView,
): SuggestedCompensation | null {
  const d = conflict.detail;
  const itemId = text(d['itemId']);
  if (itemId === null) return null;
  if (conflict.kind === 'negative-stock') {
    const positionId = text(d['positionId']);
    if (positionId === null) return null;
    const lot = text(d['lot']);
    if (view.position(positionId as PositionId)?.retired) return null;
    const now = view.quantity(itemId as ItemId, positionId as PositionId, lot as Lot | null, null);
    if (now >= 0) return null;
    return {
      name: 'adjustStock',
      args: {
        itemId,
        positionId,
        ...(lot !== null ? { lot } : {}),
        delta: roundQty(-now),
        reason: 'conflict-resolution',
      },
      now,
    };
  }
  if (conflict.kind === 'serial-elsewhere') {
    const serial = text(d['serial']);
    if (serial === null) return null;
    const held = view
      .linesWithSerial(serial as Serial)
      .filter((l) => l.itemId === itemId && l.quantity > 0);
    const units = held.reduce((s, l) => s + l.quantity, 0);
    const before = Array.isArray(d['recordedAt']) ? (d['recordedAt'] as unknown[]) : [];
    const from = held.find((l) => before.includes(l.positionId));
    if (!from) return null;
    // Doubled now; or shipped from where it was not recorded, the record still holding it.
    const shipped = text(d['expectedAt']) !== null;
    if (units !== 2 && !(shipped && units === 1)) return null;
    return {
      name: 'adjustStock',
      args: {
        itemId,
        positionId: from.positionId,
        ...(from.lot !== null ? { lot: from.lot } : {}),
        serial,
        delta: -1,
        reason: 'conflict-resolution',
      },
      now: from.quantity,
    };
  }
  return null;
}
