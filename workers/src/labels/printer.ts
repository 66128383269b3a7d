import net from 'node:net';
import type { PrinterProblem } from '@floorsync/domain';
import { PRINTER_PROBLEM_TEXT } from '@floorsync/domain';

/**
 * Sends ZPL to a network label printer's raw port (TCP 9100, "JetDirect") and asks for its
 * host status (`~HS`) right after the job.
 *
 * What the answer tells, and what it does not: raw 9100 has no acknowledgement of a print.
 * `~HS` is a control command, answered as soon as it is read, with the printer's state at that
 * moment: three lines `<STX>…<ETX><CR><LF>` (ZPL II guide, ~HS). It tells whether the printer
 * *can* print (paper, head, pause, ribbon, temperature) and how much is still waiting in it
 * (formats in the receive buffer, labels left in the batch) — not that this label came out.
 * A label sent to a printer that reports paper out, head open or pause stays in its buffer and
 * prints once someone fixes it: such a job is reported as failed with the status, and must not
 * simply be sent again. Printers that do not speak ZPL's host status (some emulations and
 * print servers) do not answer; for those, set `hostStatus: false` and the outcome is "sent"
 * with no status.
 *
 * Retrying is safe only while the printer cannot hold a whole label: connection refused,
 * unreachable, no connection in time, or the connection lost while writing (`retryable`).
 * Once every byte was written, a silent or garbled printer may have printed: not retryable.
 */

export interface PrinterAddress {
  readonly host: string;
  /** Default 9100. */
  readonly port?: number;
}

export interface SendOptions {
  /** Ask `~HS` after the job and wait for the answer. Default true. */
  readonly hostStatus?: boolean;
  /** Default 5000. */
  readonly connectTimeoutMs?: number;
  /** For the whole job to be written. Default 15000. */
  readonly writeTimeoutMs?: number;
  /** For the answer to `~HS`, once the job is written. Default 5000. */
  readonly statusTimeoutMs?: number;
}

/** The printer's host status, as `~HS` reports it. */
export interface PrinterStatus {
  readonly paperOut: boolean;
  readonly paused: boolean;
  readonly headOpen: boolean;
  readonly ribbonOut: boolean;
  /** Thermal transfer (a ribbon is used) rather than direct thermal. */
  readonly thermalTransfer: boolean;
  readonly receiveBufferFull: boolean;
  readonly corruptRam: boolean;
  readonly underTemperature: boolean;
  readonly overTemperature: boolean;
  /** Formats received and not yet processed. */
  readonly formatsInBuffer: number;
  /** Labels left to print in the current batch. */
  readonly labelsRemaining: number;
  /** The three lines as received, STX/ETX removed. */
  readonly raw: readonly [string, string, string];
}

export type PrintOutcome =
  /** Every byte was written; the printer reports nothing in the way (or was not asked). */
  | { readonly ok: true; readonly status: PrinterStatus | null }
  /** Every byte was written; the printer reports why it does not print now. */
  | { readonly ok: false; readonly status: PrinterStatus; readonly problems: readonly string[] };

export type PrinterErrorCode =
  'refused' | 'unreachable' | 'timeout' | 'closed' | 'no-status' | 'bad-status';

/** The printer could not be reached, or did not answer as a ZPL printer does. */
export class PrinterError extends Error {
  override readonly name = 'PrinterError';
  constructor(
    readonly code: PrinterErrorCode,
    /** True when the printer cannot have received a whole label: sending again is safe. */
    readonly retryable: boolean,
    message: string,
    options?: {
      cause?: unknown;
      /** Every byte of the job was written before it went wrong (the printer has it all). */
      written?: boolean;
    },
  ) {
    super(message, options);
    this.written = options?.written ?? false;
  }
  readonly written: boolean;
}

const ETX = 0x03;
const STX_CHAR = String.fromCharCode(0x02);
const ETX_CHAR = String.fromCharCode(ETX);

/** Parses the three lines of a `~HS` answer; null when it is not one. */
export function parseHostStatus(reply: string): PrinterStatus | null {
  // Each line is <STX>fields<ETX><CR><LF>: what stands between an STX and the next ETX.
  const frames: string[] = [];
  for (const part of reply.split(ETX_CHAR).slice(0, -1)) {
    const start = part.lastIndexOf(STX_CHAR);
    if (start === -1) return null;
    frames.push(part.slice(start + 1));
  }
  if (frames.length < 3) return null;
  const [one = '', two = '', three = ''] = frames;
  const a = one.split(',');
  const b = two.split(',');
  if (a.length < 12 || b.length < 11) return null;
  const flag = (v: string | undefined) => v?.trim() === '1';
  const num = (v: string | undefined) => {
    const n = Number(v?.trim());
    return Number.isInteger(n) && n >= 0 ? n : null;
  };
  const formats = num(a[4]);
  const remaining = num(b[8]);
  if (formats === null || remaining === null) return null;
  return {
    // String 1: aaa,b,c,dddd,eee,f,g,h,iii,j,k,l — interface, paper out, pause, label length,
    // formats in buffer, buffer full, diagnostic mode, partial format, unused, corrupt RAM,
    // under temperature, over temperature.
    paperOut: flag(a[1]),
    paused: flag(a[2]),
    formatsInBuffer: formats,
    receiveBufferFull: flag(a[5]),
    corruptRam: flag(a[9]),
    underTemperature: flag(a[10]),
    overTemperature: flag(a[11]),
    // String 2: mmm,n,o,p,q,r,s,t,uuuuuuuu,v,www — function settings, unused, head up, ribbon
    // out, thermal transfer, print mode, width mode, label waiting, labels remaining, …
    headOpen: flag(b[2]),
    ribbonOut: flag(b[3]),
    thermalTransfer: flag(b[4]),
    labelsRemaining: remaining,
    raw: [one, two, three],
  };
}

/** What keeps the printer from printing, as codes; empty when nothing does. */
export function statusFlags(s: PrinterStatus): PrinterProblem[] {
  const flags: [boolean, PrinterProblem][] = [
    [s.paperOut, 'paper-out'],
    [s.headOpen, 'head-open'],
    [s.ribbonOut && s.thermalTransfer, 'ribbon-out'],
    [s.paused, 'paused'],
    [s.overTemperature, 'too-hot'],
    [s.corruptRam, 'config-lost'],
  ];
  return flags.filter(([on]) => on).map(([, code]) => code);
}

/** What keeps the printer from printing, in words; empty when nothing does. */
export function statusProblems(s: PrinterStatus): string[] {
  return statusFlags(s).map((f) => PRINTER_PROBLEM_TEXT[f]);
}

/**
 * A socket error by its code (`ECONNRESET`), not its message: Node's message can carry the
 * address it resolved (`connect EADDRNOTAVAIL 10.0.4.20:9100 - Local (…)`), which devices must
 * not see (the server names printers by their id). The worker's log has the same words: the
 * printer as configured (`host:port`) and the code; the error's `cause` keeps Node's own.
 */
const codeOf = (error: NodeJS.ErrnoException): string => error.code ?? error.name;

/** Why the connection to the printer could not be made, in words (exported for its test). */
export function connectError(error: NodeJS.ErrnoException, where: string): PrinterError {
  switch (error.code) {
    case 'ECONNREFUSED':
      return new PrinterError('refused', true, `${where} refused the connection`, {
        cause: error,
      });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
    case 'ETIMEDOUT':
      return new PrinterError('unreachable', true, `${where} is unreachable (${error.code})`, {
        cause: error,
      });
    default:
      return new PrinterError(
        'unreachable',
        true,
        `${where} could not be reached (${codeOf(error)})`,
        {
          cause: error,
        },
      );
  }
}

/**
 * Sends `zpl` (and `~HS`) to the printer. Resolves with the printer's outcome; rejects with a
 * `PrinterError` when it could not be reached or did not answer.
 */
export function sendToPrinter(
  address: PrinterAddress,
  zpl: string,
  options: SendOptions = {},
): Promise<PrintOutcome> {
  const port = address.port ?? 9100;
  const where = `printer ${address.host}:${port}`;
  const hostStatus = options.hostStatus ?? true;
  const connectTimeoutMs = options.connectTimeoutMs ?? 5000;
  const writeTimeoutMs = options.writeTimeoutMs ?? 15_000;
  const statusTimeoutMs = options.statusTimeoutMs ?? 5000;
  const payload = Buffer.from(hostStatus ? `${zpl}~HS` : zpl, 'utf8');

  return new Promise<PrintOutcome>((resolve, reject) => {
    type Phase = 'connecting' | 'writing' | 'waiting' | 'done';
    let phase: Phase = 'connecting';
    let received = Buffer.alloc(0);
    let timer: NodeJS.Timeout | undefined;
    const socket = net.connect({ host: address.host, port });

    const settle = (result: { outcome: PrintOutcome } | { error: PrinterError }) => {
      if (phase === 'done') return;
      phase = 'done';
      clearTimeout(timer);
      socket.removeAllListeners('data');
      socket.destroy();
      if ('error' in result) reject(result.error);
      else resolve(result.outcome);
    };
    const deadline = (ms: number, error: () => PrinterError) => {
      clearTimeout(timer);
      timer = setTimeout(() => settle({ error: error() }), ms);
    };

    deadline(
      connectTimeoutMs,
      () =>
        new PrinterError('timeout', true, `${where}: no connection within ${connectTimeoutMs} ms`),
    );
    socket.on('connect', () => {
      phase = 'writing';
      deadline(
        writeTimeoutMs,
        () =>
          new PrinterError(
            'timeout',
            false,
            `${where} did not take the job within ${writeTimeoutMs} ms — some labels may have printed: check the printer before printing them again`,
          ),
      );
      socket.write(payload, (error) => {
        if (error || phase !== 'writing') return; // 'error' or 'close' settles it
        if (!hostStatus) {
          // Written: half-close, and let the kernel deliver what it holds.
          socket.end(() => settle({ outcome: { ok: true, status: null } }));
          return;
        }
        phase = 'waiting';
        deadline(
          statusTimeoutMs,
          () =>
            new PrinterError(
              'no-status',
              false,
              `${where} took the job but did not answer ~HS within ${statusTimeoutMs} ms — ` +
                'check whether the label printed before printing it again',
              { written: true },
            ),
        );
        readReply();
      });
    });
    // The answer may come in pieces, and even before the write callback: read it when both
    // the job is written and three lines are in.
    const readReply = () => {
      if (phase !== 'waiting' || received.filter((b) => b === ETX).length < 3) return;
      const text = received.toString('latin1');
      const status = parseHostStatus(text);
      if (!status) {
        settle({
          error: new PrinterError(
            'bad-status',
            false,
            `${where} took the job but its ~HS answer is not a host status: ${JSON.stringify(text.slice(0, 120))}`,
            { written: true },
          ),
        });
        return;
      }
      const problems = statusProblems(status);
      settle({
        outcome: problems.length === 0 ? { ok: true, status } : { ok: false, status, problems },
      });
    };
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      readReply();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (phase === 'connecting') settle({ error: connectError(error, where) });
      else if (phase === 'writing') {
        settle({
          // Each label is a whole format: those that got through before the drop print.
          error: new PrinterError(
            'closed',
            false,
            `${where}: connection lost while sending (${codeOf(error)}) — some labels may have printed: check the printer before printing them again`,
            {
              cause: error,
            },
          ),
        });
      } else {
        settle({
          error: new PrinterError(
            'closed',
            false,
            `${where} took the job, then the connection failed (${codeOf(error)}) before it answered ~HS`,
            { cause: error, written: true },
          ),
        });
      }
    });
    socket.on('close', () => {
      if (phase === 'done') return;
      const sent = phase === 'waiting';
      settle({
        error: new PrinterError(
          'closed',
          false,
          sent
            ? `${where} took the job and closed the connection without answering ~HS`
            : `${where} closed the connection before taking all of the job — some labels may have printed: check the printer before printing them again`,
          { written: sent },
        ),
      });
    });
  });
}

/** "paper out, paused" / "ready" — a status in a sentence, for messages. */
export function describeStatus(s: PrinterStatus): string {
  const problems = statusProblems(s);
  const waiting =
    s.formatsInBuffer > 0 || s.labelsRemaining > 0
      ? ` (${s.formatsInBuffer} format(s) in the buffer, ${s.labelsRemaining} label(s) to print)`
      : '';
  return (problems.length > 0 ? problems.join(', ') : 'ready') + waiting;
}
