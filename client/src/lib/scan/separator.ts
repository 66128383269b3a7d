/**
 * What a keyboard-wedge scanner may type in place of the GS1 group separator (ASCII 29), for
 * scanners that cannot send the control character itself (`scanner.svelte.ts` keeps the
 * handheld's choice).
 */

/** Longest substitute accepted: scanners send a character or a short tag such as `<GS>`. */
export const MAX_SEPARATOR_LENGTH = 8;

/**
 * Characters a GS1 barcode cannot carry (outside its character set 82), so a scanner may type
 * one of them for GS without splitting real data — except `]`, which starts the symbology
 * identifier (`]C1`).
 */
export const SINGLE_SEPARATORS = ['~', '|', '^', '{', '}', '\\', '`', '@', '#', '$', '['] as const;

/**
 * Why a substitute cannot be used, or null ('' is fine: none). One character must be one GS1
 * data cannot contain (`SINGLE_SEPARATORS`); a tag of 2–8 characters (`<GS>`, `^]`) must not be
 * made only of what codes are made of — letters, digits, `-`, `_`, `.`, spaces.
 */
export function separatorProblem(s: string): 'tooLong' | 'inCodes' | null {
  if (s.length > MAX_SEPARATOR_LENGTH) return 'tooLong';
  if (s.length === 1)
    return (SINGLE_SEPARATORS as readonly string[]).includes(s) ? null : 'inCodes';
  if (s.length > 0 && /^[A-Za-z0-9\-_.\s]+$/.test(s)) return 'inCodes';
  return null;
}
