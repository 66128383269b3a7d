import type { InventoryView, Item, Position, StockLine } from '../inventory/state.js';
import { asLot, asSerial } from '../shared/ids.js';
import type { Gs1Problem } from './gs1-problem.js';
import type { Gs1Data, Gs1Options } from './gs1.js';
import { GROUP_SEPARATOR, isGs1Symbology, parseGs1, splitSymbology } from './gs1.js';
import { hasValidCheckDigit, looksLikeGtin, normalizeBarcode } from './gtin.js';

/** What a scanned code means in this warehouse. */
export type Resolution =
  | { readonly kind: 'position'; readonly position: Position }
  | {
      readonly kind: 'item';
      readonly item: Item;
      /** From GS1 data, when the code carried them. */
      readonly lot?: string;
      readonly serial?: string;
      readonly expiresOn?: string;
      readonly quantity?: number;
      /** The pallet's SSCC when the code was a pallet label for an unknown pallet. */
      readonly sscc?: string;
      readonly gs1?: Gs1Data;
    }
  | {
      readonly kind: 'serial';
      readonly item: Item;
      readonly serial: string;
      readonly lines: readonly StockLine[];
    }
  | {
      readonly kind: 'lot';
      readonly item: Item;
      readonly lot: string;
      readonly expiresOn: string | null;
    }
  /** A GS1 code that parsed but names nothing known here (e.g. a GTIN not yet mapped). */
  | {
      readonly kind: 'unknown';
      readonly code: string;
      readonly message: string;
      readonly gs1?: Gs1Data;
    }
  /**
   * A code that cannot be right: tell the operator why. `reason`: nothing was scanned, a
   * GTIN's check digit is wrong (`code`: that GTIN, as scanned, without the AIM prefix), or
   * GS1 data that does not parse (`message` says how, in English; `problem` as a code and
   * values, for a screen to say in its user's language).
   */
  | {
      readonly kind: 'invalid';
      readonly code: string;
      readonly reason: InvalidScan;
      readonly message: string;
      readonly problem?: Gs1Problem;
    };

export type InvalidScan = 'empty' | 'check-digit' | 'gs1';

/**
 * Surrounding whitespace off, line breaks and tabs included (`trim()` removes exactly what
 * `\s` matches, in linear time; `/[\s]+$/` backtracks quadratically over a long inner run).
 */
const clean = (raw: string) => raw.trim();

function fromGs1(view: InventoryView, code: string, gs1: Gs1Data): Resolution {
  const gtin = gs1.gtin ?? gs1.containedGtin;
  if (gs1.sscc !== undefined && gs1.gtin === undefined) {
    // A pallet label: the pallet if it is known here; else, when it says what it contains
    // (AI 02), that item — the usual case when receiving a new pallet.
    const position = view.positionByCode(gs1.sscc);
    if (position) return { kind: 'position', position };
    if (gtin === undefined) {
      return { kind: 'unknown', code, message: `pallet SSCC ${gs1.sscc} is not known here`, gs1 };
    }
  }
  if (gtin === undefined) {
    return { kind: 'unknown', code, message: 'the GS1 code carries no GTIN or SSCC', gs1 };
  }
  const item = view.itemByBarcode(gtin);
  if (!item)
    return { kind: 'unknown', code, message: `GTIN ${gtin} is not mapped to an item`, gs1 };
  return {
    kind: 'item',
    item,
    gs1,
    ...(gs1.lot !== undefined ? { lot: gs1.lot } : {}),
    ...(gs1.serial !== undefined ? { serial: gs1.serial } : {}),
    ...(gs1.expiresOn !== undefined ? { expiresOn: gs1.expiresOn } : {}),
    ...(gs1.count !== undefined ? { quantity: gs1.count } : {}),
    ...(gs1.sscc !== undefined ? { sscc: gs1.sscc } : {}),
  };
}

/** A GS1 code that does not parse: a misread key's check digit, or a setup problem. */
const gs1Invalid = (
  code: string,
  parsed: Extract<ReturnType<typeof parseGs1>, { ok: false }>,
): Resolution =>
  parsed.badCheckDigit !== undefined
    ? {
        kind: 'invalid',
        code: parsed.badCheckDigit,
        reason: 'check-digit',
        message: parsed.error,
        problem: parsed.problem,
      }
    : { kind: 'invalid', code, reason: 'gs1', message: parsed.error, problem: parsed.problem };

/**
 * Resolves any scanned code: GS1 element strings (with or without AIM prefix), plain
 * GTINs, position codes, SKUs, supplier barcodes, serials and lots — in that order of
 * precedence, exact matches before guesses.
 */
export function resolveScan(
  view: InventoryView,
  raw: string,
  options: Gs1Options = {},
): Resolution {
  const code = clean(raw);
  if (code.length === 0)
    return { kind: 'invalid', code, reason: 'empty', message: 'nothing was scanned' };
  const { aim, rest } = splitSymbology(code);
  const hasSeparator =
    code.includes(GROUP_SEPARATOR) ||
    (options.separators ?? []).some((s) => s.length > 0 && code.includes(s));
  if (isGs1Symbology(aim) || code.startsWith('(') || (aim === null && hasSeparator)) {
    const parsed = parseGs1(code, options);
    return parsed.ok ? fromGs1(view, code, parsed.value) : gs1Invalid(code, parsed);
  }
  // A non-GS1 symbology prefix (]E0 for EAN-13, ]C0 for plain Code 128) is not part of the data.
  const data = aim !== null ? rest : code;

  const position = view.positionByCode(data);
  if (position) return { kind: 'position', position };
  const byBarcode = view.itemByBarcode(normalizeBarcode(data));
  if (byBarcode) return { kind: 'item', item: byBarcode };
  const bySku = view.itemBySku(data);
  if (bySku) return { kind: 'item', item: bySku };

  if (looksLikeGtin(data) && !hasValidCheckDigit(data) && data.length >= 12) {
    return {
      kind: 'invalid',
      code: data,
      reason: 'check-digit',
      message: `${data} looks like a GTIN but its check digit is wrong — scan again`,
    };
  }
  // Scanners set to strip the AIM prefix still send GS1 data starting with an AI.
  // Nothing matched exactly, so a GS1 error here is the operator's best explanation.
  if (/^(00|01|02)\d{16}/.test(data)) {
    const parsed = parseGs1(data, options);
    return parsed.ok ? fromGs1(view, code, parsed.value) : gs1Invalid(code, parsed);
  }
  const serialLines = view.linesWithSerial(asSerial(data));
  const serialItem = serialLines[0] && view.item(serialLines[0].itemId);
  if (serialItem) return { kind: 'serial', item: serialItem, serial: data, lines: serialLines };
  const lots = view.lotsWithCode(asLot(data));
  const lotItem = lots[0] && view.item(lots[0].itemId);
  if (lots[0] && lotItem)
    return { kind: 'lot', item: lotItem, lot: data, expiresOn: lots[0].expiresOn };
  return { kind: 'unknown', code, message: `${data} is not a known position, item, serial or lot` };
}
