/**
 * Scan feedback for noisy floors and gloved hands: a short high beep and one buzz when a scan
 * is queued, a low double tone and a long buzz when it is refused. Silent where the browser
 * has no audio or vibration (desktops): the screen still says it.
 */
let audio: AudioContext | null = null;

function tone(freq: number, startMs: number, ms: number): void {
  try {
    audio ??= new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = 'square';
    osc.frequency.value = freq;
    gain.gain.value = 0.15;
    osc.connect(gain).connect(audio.destination);
    const t = audio.currentTime + startMs / 1000;
    osc.start(t);
    osc.stop(t + ms / 1000);
  } catch {
    // no audio output: nothing to do
  }
}

const vibrate = (pattern: number | number[]) => {
  if (typeof navigator !== 'undefined' && 'vibrate' in navigator) navigator.vibrate(pattern);
};

export function ok(): void {
  tone(1760, 0, 70);
  vibrate(40);
}

export function warn(): void {
  tone(880, 0, 90);
  tone(1320, 120, 90);
  vibrate([40, 60, 40]);
}

export function error(): void {
  tone(220, 0, 160);
  tone(180, 200, 220);
  vibrate([200, 80, 200]);
}

/**
 * `f` one call after another: a second call waits until the first has settled (a second press
 * of a button is decided on top of the first command, never beside it, nor dropped).
 */
export function oneAtATime<A extends unknown[], R>(
  f: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  let last: Promise<unknown> = Promise.resolve();
  return (...args) => {
    const run = last.then(() => f(...args));
    last = run.catch(() => undefined);
    return run;
  };
}
