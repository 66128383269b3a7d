import { restoreGroupSeparators } from '@floorsync/domain';
import { separatorProblem } from './separator.js';

/**
 * This handheld's scanner setup, kept on the device (`localStorage`): what its keyboard-wedge
 * scanner types in place of the GS1 group separator (ASCII 29), for scanners that cannot send
 * the control character itself. Most send it as Ctrl+] (`ScanField` turns that into GS) and
 * need nothing here.
 */
const STORAGE_KEY = 'floorsync.scanner.separator';

function initial(): string {
  if (typeof localStorage === 'undefined') return '';
  const saved = localStorage.getItem(STORAGE_KEY) ?? '';
  return separatorProblem(saved) === null ? saved : '';
}

let separator = $state(initial());

export const scanner = {
  /** What the scanner types for GS; '' when it sends GS (or Ctrl+]) itself. */
  get separator(): string {
    return separator;
  },
  /** Kept only when `separatorProblem` finds nothing wrong with it. */
  set separator(s: string) {
    if (separatorProblem(s) !== null) return;
    separator = s;
    if (typeof localStorage !== 'undefined') {
      if (s === '') localStorage.removeItem(STORAGE_KEY);
      else localStorage.setItem(STORAGE_KEY, s);
    }
  },
};

/** A scanned code as the scanner meant it: the configured substitute turned back into GS. */
export const scannedCode = (code: string): string =>
  restoreGroupSeparators(code, separator === '' ? [] : [separator]);
