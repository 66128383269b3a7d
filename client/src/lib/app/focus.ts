import { tick } from 'svelte';

/**
 * Runs `action` (a button's command); when the control that had the focus is gone afterwards
 * (the button was only for the state the command left: Start, Close, Release…), the focus goes
 * to `fallback()` — the screen's title, say — instead of the top of the page, where a keyboard
 * or screen-reader user would have to find their way back from. What the command did is said in
 * a live region, as before.
 */
export async function keepingFocus<T>(
  action: () => Promise<T>,
  fallback: () => HTMLElement | null | undefined,
): Promise<T> {
  const before = document.activeElement;
  try {
    return await action();
  } finally {
    await tick();
    if (before instanceof HTMLElement && before !== document.body && !before.isConnected)
      fallback()?.focus();
  }
}
