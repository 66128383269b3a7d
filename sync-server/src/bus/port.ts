/**
 * The bus carries hints and jobs, never the only copy of data: the log in the database is
 * the truth, so a lost message costs latency, never data.
 *
 * Subjects used by the server:
 * - `floorsync.poke` `{ head }` after every commit that appended events: every instance pokes
 *   its SSE clients.
 */
export interface Bus {
  /** Best effort: resolves once handed to the transport. */
  publish(subject: string, payload: unknown): Promise<void>;
  /** Returns an unsubscribe function. Handlers run asynchronously, never inside `publish`. */
  subscribe(subject: string, handler: (payload: unknown) => void): () => void;
  close(): Promise<void>;
}

export const POKE_SUBJECT = 'floorsync.poke';
