import { describe, expect, it } from 'vitest';
import {
  A,
  L,
  P,
  Q,
  S,
  given,
  lot,
  moveStock,
  received,
  serial,
  warehouse,
} from '../testing/index.js';
import type { ConflictDraft } from './decision.js';
import { CONFLICT_TEXTS } from './conflict-text.js';
import type { ConflictText } from './conflict-text.js';

const record = { mode: 'record' } as const;

/** The texts of a decision's conflicts, each checked to name exactly its code's values. */
function texts(decision: { kind: string; conflicts?: readonly ConflictDraft[] }): ConflictText[] {
  if (decision.kind !== 'accepted') throw new Error(`expected accepted, got ${decision.kind}`);
  return (decision.conflicts ?? []).map((c) => {
    const text = c.detail['text'] as ConflictText;
    expect(Object.keys(text.values).sort(), text.code).toEqual(
      [...CONFLICT_TEXTS[text.code]].sort(),
    );
    for (const v of Object.values(text.values)) expect(['string', 'number']).toContain(typeof v);
    return text;
  });
}

describe('what a conflict says, for the console to say it in the admin’s language', () => {
  it('stock taken below zero: with the lot when the line has one', () => {
    const plain = given(...warehouse(), received(A, P, 2)).when(moveStock(A, P, Q, 5), record);
    expect(texts(plain.decision)).toEqual([
      {
        code: 'STOCK_BELOW_ZERO',
        values: { position: 'P', sku: 'A', available: 2, taken: 5, resulting: -3 },
      },
    ]);
    const lotted = given(...warehouse(), received(L, P, 1.5, { lot: lot('L7') })).when(
      moveStock(L, P, Q, 2, { lot: 'L7' }),
      record,
    );
    expect(texts(lotted.decision)).toEqual([
      {
        code: 'LOT_BELOW_ZERO',
        values: { position: 'P', sku: 'L', lot: 'L7', available: 1.5, taken: 2, resulting: -0.5 },
      },
    ]);
  });

  it('a serial taken where it is not: recorded elsewhere, or nowhere', () => {
    const elsewhere = given(...warehouse(), received(S, P, 1, { serial: serial('SN1') })).when(
      moveStock(S, Q, P, 1, { serial: 'SN1' }),
      record,
    );
    expect(texts(elsewhere.decision)[0]).toEqual({
      code: 'SERIAL_NOT_AT',
      values: { serial: 'SN1', sku: 'S', position: 'Q', recordedAt: 'P' },
    });
    const nowhere = given(...warehouse()).when(moveStock(S, Q, P, 1, { serial: 'SN9' }), record);
    expect(texts(nowhere.decision)[0]).toEqual({
      code: 'SERIAL_NOT_IN_STOCK',
      values: { serial: 'SN9', sku: 'S', position: 'Q' },
    });
  });
});
