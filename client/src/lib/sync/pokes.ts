/**
 * Listens for pokes (`GET /sync/stream?ticket=…`, Server-Sent Events) with `fetch`, so the
 * same code runs in browsers, in the Capacitor shell and in Node tests. A poke carries only
 * the server's head: the caller pulls. Each (re)connection gets a fresh 60-second ticket —
 * the long-lived token never goes into a URL — and sends `Last-Event-ID`, to which the server
 * answers with a poke at once. Runs until `signal` aborts.
 */
export interface PokeOptions {
  readonly baseUrl: string;
  readonly fetch?: typeof fetch;
  readonly token: () => string | null;
  readonly onPoke: (head: number) => void;
  readonly onError?: (error: unknown) => void;
  readonly signal: AbortSignal;
  /** Wait before reconnecting (ms). Default 2 s. */
  readonly retryMs?: number;
}

/**
 * Whether a poke for `head` calls for a sync: not when the device already pulled exactly up
 * to it and has nothing to push. The server pokes every device after commits (its own
 * included), and every sync a poke starts is a pull the server answers; on a floor of
 * devices, pulls far outnumber pushes. A head below the cookie cannot come from the log the
 * device pulled from (a restored or replaced server): the pull that follows resets it.
 */
export function pokeNeedsSync(head: number, cookie: unknown, pending: number): boolean {
  return pending > 0 || typeof cookie !== 'number' || head !== cookie;
}

export async function listenForPokes(o: PokeOptions): Promise<void> {
  const fetcher = o.fetch ?? ((input, init) => fetch(input, init));
  let lastEventId: string | null = null;
  while (!o.signal.aborted) {
    // A 429 or 503 that says when to come back (a proxy's rate limit; a server holding as
    // many streams as it may) is waited out; anything else is tried again after `retryMs`.
    let waitMs = o.retryMs ?? 2000;
    try {
      const token = o.token();
      if (!token) throw new Error('not signed in');
      const t = await fetcher(`${o.baseUrl}/api/auth/ticket`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        signal: o.signal,
      });
      if (t.status !== 200) throw new Error(`ticket refused (${t.status})`);
      const { ticket } = (await t.json()) as { ticket: string };
      const res = await fetcher(`${o.baseUrl}/sync/stream?ticket=${encodeURIComponent(ticket)}`, {
        headers: {
          accept: 'text/event-stream',
          ...(lastEventId ? { 'last-event-id': lastEventId } : {}),
        },
        signal: o.signal,
      });
      if (res.status === 429 || res.status === 503) {
        const after = Number(res.headers.get('retry-after'));
        if (Number.isFinite(after) && after > 0) waitMs = Math.min(after, 300) * 1000;
      }
      if (res.status !== 200 || !res.body) throw new Error(`stream refused (${res.status})`);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      const cancel = () => void reader.cancel().catch(() => undefined);
      o.signal.addEventListener('abort', cancel, { once: true });
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let at: number;
        while ((at = buffer.indexOf('\n\n')) >= 0) {
          const frame = parseFrame(buffer.slice(0, at));
          buffer = buffer.slice(at + 2);
          if (frame.id !== null) lastEventId = frame.id;
          if (frame.event === 'poke' && frame.data !== null) {
            const head = (JSON.parse(frame.data) as { head?: unknown }).head;
            if (typeof head === 'number') o.onPoke(head);
          }
        }
      }
    } catch (error) {
      if (o.signal.aborted) return;
      o.onError?.(error);
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, waitMs);
      o.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** One SSE frame (comments — heartbeats — have no fields). */
export function parseFrame(text: string): {
  event: string | null;
  data: string | null;
  id: string | null;
} {
  let event: string | null = null;
  let id: string | null = null;
  const data: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id') id = value;
  }
  return { event, data: data.length > 0 ? data.join('\n') : null, id };
}
