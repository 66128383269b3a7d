import { GROUP_SEPARATOR } from '@floorsync/domain';
import { LabelError } from './model.js';

/**
 * Code 128 symbol planning for ZPL's `^BC` in its plain mode (`N`): the printer encodes exactly
 * the subsets and function characters written in the field data, so the output does not depend
 * on a firmware's "automatic" mode. Invocation codes (ZPL II guide, ^BC, Code 128 invocation
 * characters): `>;` start C, `>:` start B, `>5` code C, `>6` code B, `>8` FNC1, `><` a `>`.
 *
 * Subsets B and C are chosen for the fewest symbol characters (a small dynamic programme over
 * the data: C takes pairs of digits, B everything printable, FNC1 exists in both, a switch
 * costs a character), so the symbol is as narrow as Code 128 allows.
 */

/** Subset B: space to `~`. Code 128 cannot carry other characters without FNC4 (not used). */
const PRINTABLE = /^[\x20-\x7e]$/;

/** FNC1 among the characters. */
const FNC1 = null;
type Token = string | typeof FNC1;
type Subset = 'B' | 'C';

export interface Code128Plan {
  /** The ^FD content (before ^FH escaping): start code, subsets, FNC1s and data. */
  readonly zplData: string;
  /** Symbol characters, start, check and stop included. */
  readonly symbols: number;
  /** Width in modules without quiet zones (11 per symbol character, 13 for the stop). */
  readonly modules: number;
}

/**
 * Plans a Code 128 (`gs1: false`; `data` printable ASCII) or a GS1-128 (`gs1: true`; `data`
 * a GS1 element string whose GS characters become FNC1 separators, after a leading FNC1).
 */
export function planCode128(data: string, gs1: boolean): Code128Plan {
  const tokens: Token[] = gs1 ? [FNC1] : [];
  for (const ch of data) {
    if (gs1 && ch === GROUP_SEPARATOR) tokens.push(FNC1);
    else if (PRINTABLE.test(ch)) tokens.push(ch);
    else {
      const shown = JSON.stringify(ch);
      throw new LabelError(`a Code 128 barcode cannot carry the character ${shown} of "${data}"`);
    }
  }
  if (data.length === 0) throw new LabelError('a barcode needs data');

  const isDigit = (t: Token | undefined) => typeof t === 'string' && t >= '0' && t <= '9';
  const n = tokens.length;
  // best[i][s]: the fewest symbol characters that encode tokens i… when subset s is active.
  // Subset B encodes any token; C a pair of digits or FNC1; a switch costs one symbol.
  const best: { B: number; C: number }[] = Array.from({ length: n + 1 }, () => ({ B: 0, C: 0 }));
  const stay = (i: number, s: Subset): number => {
    const t = tokens[i];
    const next = (k: number) => best[k]?.[s] ?? Infinity;
    if (s === 'B') return 1 + next(i + 1);
    if (t === FNC1) return 1 + next(i + 1);
    return isDigit(t) && isDigit(tokens[i + 1]) ? 1 + next(i + 2) : Infinity;
  };
  for (let i = n - 1; i >= 0; i--) {
    const b = stay(i, 'B');
    const c = stay(i, 'C');
    best[i] = { B: Math.min(b, 1 + c), C: Math.min(c, 1 + b) };
  }

  // Ties go to staying in the subset; a GS1 symbol that can start in C does.
  const first = best[0] ?? { B: 0, C: 0 };
  let subset: Subset = first.C <= first.B ? 'C' : 'B';
  const out: string[] = [subset === 'C' ? '>;' : '>:'];
  let symbols = 1 + first[subset];
  let i = 0;
  while (i < n) {
    const t = tokens[i];
    const here = best[i]?.[subset];
    if (stay(i, subset) !== here) {
      out.push(subset === 'C' ? '>6' : '>5');
      subset = subset === 'C' ? 'B' : 'C';
      continue;
    }
    if (t === FNC1) {
      out.push('>8');
      i++;
    } else if (subset === 'C') {
      out.push(`${t}${tokens[i + 1] ?? ''}`);
      i += 2;
    } else {
      out.push(t === '>' ? '><' : (t ?? ''));
      i++;
    }
  }
  symbols += 1; // the check character
  return { zplData: out.join(''), symbols, modules: symbols * 11 + 13 };
}
