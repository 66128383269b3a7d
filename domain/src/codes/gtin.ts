/**
 * GS1 keys (GTIN-8/12/13/14, SSCC, GLN) end in a mod-10 check digit: weights 3 and 1
 * alternate from the rightmost data digit.
 */
export function gs1CheckDigit(dataDigits: string): number {
  let sum = 0;
  for (let i = dataDigits.length - 1, w = 3; i >= 0; i--, w = 4 - w) {
    sum += (dataDigits.charCodeAt(i) - 48) * w;
  }
  return (10 - (sum % 10)) % 10;
}

const DIGITS = /^\d+$/;

/** True when `digits` is all digits and its last digit is the right check digit. */
export function hasValidCheckDigit(digits: string): boolean {
  if (digits.length < 2 || !DIGITS.test(digits)) return false;
  return gs1CheckDigit(digits.slice(0, -1)) === digits.charCodeAt(digits.length - 1) - 48;
}

/** Lengths a scanned numeric code may have to be taken for a GTIN. */
const GTIN_LENGTHS = new Set([8, 12, 13, 14]);

export const looksLikeGtin = (code: string): boolean =>
  GTIN_LENGTHS.has(code.length) && DIGITS.test(code);

/**
 * The form barcodes are stored and looked up in: a valid GTIN-8/12/13/14 becomes GTIN-14
 * (so the EAN-13 printed on a box and the GTIN in a GS1-128 label find the same item);
 * anything else (supplier codes) is kept as scanned, trimmed.
 */
export function normalizeBarcode(code: string): string {
  const c = code.trim();
  return looksLikeGtin(c) && hasValidCheckDigit(c) ? c.padStart(14, '0') : c;
}

/**
 * Why a barcode cannot be registered, or null. 12–14 digit numeric codes are GTINs and
 * must carry a valid check digit; 8-digit ones may also be internal codes and pass as such.
 */
export function barcodeProblem(code: string): string | null {
  const c = code.trim();
  if (c.length >= 12 && looksLikeGtin(c) && !hasValidCheckDigit(c)) {
    const expected = gs1CheckDigit(c.slice(0, -1));
    return `${c} is not a valid GTIN: its check digit should be ${expected}`;
  }
  return null;
}
