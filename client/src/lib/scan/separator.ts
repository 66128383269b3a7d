/**
 * What a keyboard-wedge scanner may type in place of the GS1 group separator (ASCII 29), for
 * scanners that cannot send the control character itself (`scanner.svelte.ts` keeps the
 * handheld's choice).
 */

/** Longest substitute accepted: scanners send a character or a short tag such as `<GS>`. */
export const MAX_SEPARATOR_LENGTH = 8;

/**
 * Why a substitute cannot be used, or null ('' is fine: none). It must be short, and must not
 * be made only of what codes are made of — letters, digits, `-`, `_`, `.`, spaces — or it
 * would be turned into a separator inside real codes.
 */
export function separatorProblem(s: string): 'tooLong' | 'inCodes' | null {
  if (s.length > MAX_SEPARATOR_LENGTH) return 'tooLong';
  if (s.length > 0 && /^[A-Za-z0-9\-_.\s]+$/.test(s)) return 'inCodes';
  return null;
}
