import { tick } from 'svelte';

/** How long after a command its button may still go away (the state arrives with a later sync). */
const SETTLE_MS = 5_000;

/**
 * Runs `action` (a button's command); when the control that had the focus goes away afterwards
 * (the button was only for the state the command left: Start, Close, Release…), the focus goes
 * to `fallback()` — the screen's title, say — instead of the top of the page, where a keyboard
 * or screen-reader user would have to find their way back from. What the command did is said in
 * a live region, as before.
 *
 * The button does not always go at once: the new state can reach the screen a moment later (the
 * replica is read again after the command is queued). So the button is watched for a while; when
 * it goes and the focus went nowhere else, the focus moves then. A user who has moved the focus
 * on in the meantime keeps it where they put it.
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
    if (before instanceof HTMLElement && before !== document.body)
      refocusWhenGone(before, fallback);
  }
}

/** The focus was lost with its element: nowhere, or on the page's body. */
function focusLost(): boolean {
  return document.activeElement === null || document.activeElement === document.body;
}

function refocusWhenGone(
  before: HTMLElement,
  fallback: () => HTMLElement | null | undefined,
): void {
  if (!before.isConnected) {
    if (focusLost()) fallback()?.focus();
    return;
  }
  const observer = new MutationObserver(() => {
    if (before.isConnected) return;
    stop();
    if (focusLost()) fallback()?.focus();
  });
  const timer = setTimeout(() => stop(), SETTLE_MS);
  const stop = () => {
    observer.disconnect();
    clearTimeout(timer);
  };
  observer.observe(document.body, { childList: true, subtree: true });
}
