/**
 * The scan field's text between Enter and "saved". The field clears once a scan is handled, not
 * at Enter (a screen change at Enter costs a frame before the scan's IndexedDB transaction), so
 * a keyboard wedge's next code is typed after text that was already handed over. That text is
 * the `handed` prefix: the next Enter hands over only what follows it, and each scan's text is
 * taken off the front once it is handled.
 *
 * When the field no longer starts with the handed text, it was replaced (selected and retyped,
 * cleared by hand, or set whole by a test driver that selects all and types): all of it is the next code, and the earlier
 * scans, still saving, leave the new text alone when they end.
 */
export interface ScanText {
  /** What the field shows. */
  readonly value: string;
  /** The front of `value` that was handed over and is still being handled. */
  readonly handed: string;
  /** Changes whenever the field was replaced, so a pending scan's clear can tell. */
  readonly generation: number;
}

export const emptyScanText: ScanText = { value: '', handed: '', generation: 0 };

export interface Submission {
  /** The code to hand over (may be empty: the operator pressed Enter on nothing new). */
  readonly code: string;
  readonly generation: number;
}

/** Enter (or Tab): the code to hand over, and the field's text with it marked handed. */
export function submitScan(s: ScanText): { state: ScanText; submission: Submission } {
  const replaced = !s.value.startsWith(s.handed);
  const generation = replaced ? s.generation + 1 : s.generation;
  const code = replaced ? s.value : s.value.slice(s.handed.length);
  return {
    state: { value: s.value, handed: s.value, generation },
    submission: { code, generation },
  };
}

/** A handed-over scan is done (saved or refused): its text leaves the front of the field. */
export function settleScan(s: ScanText, done: Submission): ScanText {
  if (done.generation !== s.generation) return s; // the field was replaced meanwhile
  if (!s.handed.startsWith(done.code) || !s.value.startsWith(done.code)) return s;
  return {
    value: s.value.slice(done.code.length),
    handed: s.handed.slice(done.code.length),
    generation: s.generation,
  };
}

/**
 * The field was edited. `touchedFrom` is the first index the edit changed (the selection's start
 * before it, one less for a backspace); an edit that reaches into the handed text replaces it.
 * Without it (no `beforeinput`), only a field that no longer starts with the handed text counts
 * as replaced.
 */
export function editScan(s: ScanText, value: string, touchedFrom = Infinity): ScanText {
  if (touchedFrom >= s.handed.length && value.startsWith(s.handed)) return { ...s, value };
  return { value, handed: '', generation: s.generation + 1 };
}

/** Where an edit begins, from a `beforeinput` event's type and the selection before it. */
export function editStart(inputType: string, selectionStart: number, selectionEnd: number): number {
  const start = Math.min(selectionStart, selectionEnd);
  if (selectionStart !== selectionEnd || !inputType.startsWith('delete')) return start;
  if (inputType === 'deleteContentBackward') return start - 1;
  if (inputType === 'deleteContentForward') return start;
  return 0; // a word or line deleted around the caret: it may reach anywhere before it
}

/** The keys of a keydown that `scanKey` looks at. */
export interface ScanKeyEvent {
  readonly key: string;
  readonly repeat: boolean;
  readonly shiftKey: boolean;
  readonly altKey: boolean;
  readonly ctrlKey: boolean;
  readonly metaKey: boolean;
}

/**
 * What a key does in the scan field: `submit` hands over the code; `swallow` does nothing (and
 * keeps the browser from acting); `pass` leaves the key to the browser.
 *
 * - Enter ends a code; held down, its repeats are swallowed: a gloved thumb resting on the key
 *   would otherwise answer the next prompts too (an empty Enter is "quantity 1" there).
 * - Tab ends a code when a code was typed (wedges set up to end with Tab); with nothing new in
 *   the field, or with Shift (backwards), it moves the focus as anywhere else, so that a keyboard
 *   reaches the screen's buttons (no keyboard trap, WCAG 2.1.2).
 */
export function scanKey(e: ScanKeyEvent, pendingCode: string): 'submit' | 'swallow' | 'pass' {
  const terminator =
    e.key === 'Enter' ||
    (e.key === 'Tab' && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey && pendingCode !== '');
  if (!terminator) return 'pass';
  return e.repeat ? 'swallow' : 'submit';
}
