/**
 * Scans that no scan field takes: a keyboard wedge types into whatever has the focus, and on a
 * screen whose scan step has just gone (the last line of a list done, a counting session
 * finished, an adjustment's reason asked with buttons) that is the page or a button. The code
 * would vanish without a sound, or its Enter would press the focused button. `StrayKeys` tells
 * such a scan from someone pressing a key: characters in quick succession (a wedge types a code
 * within milliseconds per character), then Enter or Tab.
 */
export interface StrayKeyEvent {
  readonly key: string;
  readonly repeat: boolean;
  readonly ctrlKey: boolean;
  readonly altKey: boolean;
  readonly metaKey: boolean;
}

/** The longest pause between two characters of one scan. */
export const STRAY_GAP_MS = 300;
/** Shorter is a key or two pressed by hand, not a code. */
export const STRAY_MIN_LENGTH = 3;

export class StrayKeys {
  private typed = '';
  private last = -Infinity;

  /** Feeds a key; returns the code when this key ended a scan, else null. */
  key(e: StrayKeyEvent, nowMs: number): string | null {
    // A key held down is a person, never a wedge: it breaks off whatever was typed.
    if (e.repeat) {
      this.typed = '';
      this.last = -Infinity;
      return null;
    }
    if (nowMs - this.last > STRAY_GAP_MS) this.typed = '';
    if (e.key === 'Enter' || e.key === 'Tab') {
      const code = this.typed;
      this.typed = '';
      this.last = -Infinity;
      return code.length >= STRAY_MIN_LENGTH ? code : null;
    }
    if (e.key.length === 1 && !e.ctrlKey && !e.altKey && !e.metaKey) {
      this.typed += e.key;
      this.last = nowMs;
    } else if (e.key.length === 1) this.typed = ''; // a shortcut, not a code
    return null;
  }
}

/** A character typed by a wedge or a person (not Space, not a shortcut, not a held key). */
export function typedCharacter(e: StrayKeyEvent): boolean {
  return e.key.length === 1 && e.key !== ' ' && !e.ctrlKey && !e.altKey && !e.metaKey && !e.repeat;
}

/** Where a typed code goes somewhere: an input, a text area, a list box, an editable element. */
export function takesText(el: Element | null): boolean {
  if (!el) return false;
  const tag = el.tagName;
  return (
    tag === 'INPUT' ||
    tag === 'TEXTAREA' ||
    tag === 'SELECT' ||
    (el as HTMLElement).isContentEditable === true
  );
}
