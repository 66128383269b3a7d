/**
 * Structured logs: one JSON object per line on stdout. Never log a token, a ticket, a
 * password or a query string (SSE tickets travel in one).
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export interface Logger {
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
}

const order: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export function jsonLogger(
  min: LogLevel = 'info',
  write: (line: string) => void = (l) => process.stdout.write(l + '\n'),
): Logger {
  return {
    log(level, msg, fields = {}) {
      if (order[level] < order[min]) return;
      write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }));
    },
  };
}

export const silentLogger: Logger = { log() {} };
