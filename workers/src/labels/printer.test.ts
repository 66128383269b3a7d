import { afterEach, describe, expect, it } from 'vitest';
import type { FakePrinter } from '../../test/fake-printer.js';
import { closedPort, hostStatusReply, startFakePrinter } from '../../test/fake-printer.js';
import type { Label } from './model.js';
import { labelSchema } from './model.js';
import type { PrinterError } from './printer.js';
import {
  connectError,
  describeStatus,
  parseHostStatus,
  sendToPrinter,
  statusProblems,
} from './printer.js';
import { renderZpl } from './zpl.js';

const labels: Label[] = [
  { kind: 'item', sku: 'SKU-1001', name: 'Schraube M8 – Müller ^ ~ _ \\', gtin: '09506000134352' },
  { kind: 'container', sscc: '106141411234567897', code: '106141411234567897' },
  { kind: 'serial', sku: 'PUMP-7', serial: 'SN9', gtin: '09506000134352' },
].map((l) => labelSchema.parse(l));

let printer: FakePrinter | null = null;
afterEach(async () => {
  await printer?.close();
  printer = null;
});

async function rejection(p: Promise<unknown>): Promise<PrinterError> {
  try {
    await p;
  } catch (error) {
    expect((error as Error).name).toBe('PrinterError');
    return error as PrinterError;
  }
  throw new Error('expected the send to fail');
}

describe('sendToPrinter against a fake TCP printer', () => {
  it('the printer receives the rendered ZPL byte for byte, then ~HS, and reports ready', async () => {
    printer = await startFakePrinter('ready');
    const zpl = renderZpl(labels, '4x6');
    const outcome = await sendToPrinter({ host: '127.0.0.1', port: printer.port }, zpl);

    expect(printer.connections).toHaveLength(1);
    const got = printer.received();
    const expected = Buffer.from(zpl, 'utf8');
    expect(got.subarray(0, expected.length).equals(expected)).toBe(true);
    expect(got.subarray(expected.length).toString('latin1')).toBe('~HS');
    // Three formats, pure ASCII: nothing a code page could garble on the way.
    expect(zpl.match(/\^XA/g)).toHaveLength(3);
    expect([...got].every((b) => b >= 0x0a && b < 0x7f)).toBe(true);

    expect(outcome.ok).toBe(true);
    expect(outcome.status).toMatchObject({
      paperOut: false,
      headOpen: false,
      paused: false,
      formatsInBuffer: 0,
      labelsRemaining: 0,
    });
  });

  it.each([
    ['paper-out', 'paper out'],
    ['head-open', 'head open'],
    ['paused', 'paused'],
  ] as const)(
    '%s: the job is delivered and the outcome names the problem',
    async (mode, problem) => {
      printer = await startFakePrinter(mode);
      const zpl = renderZpl(labels.slice(0, 1), '100x50');
      const outcome = await sendToPrinter({ host: '127.0.0.1', port: printer.port }, zpl);
      expect(printer.received().toString('utf8')).toBe(`${zpl}~HS`);
      expect(outcome.ok).toBe(false);
      if (outcome.ok) return;
      expect(outcome.problems).toEqual([problem]);
      expect(describeStatus(outcome.status)).toBe(problem);
    },
  );

  it('no answer to ~HS: fails after the status timeout, not retryable (it may have printed)', async () => {
    printer = await startFakePrinter('silent');
    const zpl = renderZpl(labels.slice(0, 1), '4x6');
    const t0 = Date.now();
    const error = await rejection(
      sendToPrinter({ host: '127.0.0.1', port: printer.port }, zpl, { statusTimeoutMs: 150 }),
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect(error.code).toBe('no-status');
    expect(error.retryable).toBe(false);
    expect(error.written).toBe(true);
    expect(error.message).toContain('did not answer ~HS within 150 ms');
    expect(printer.received().toString('utf8')).toBe(`${zpl}~HS`);
  });

  it('connection refused: retryable, nothing was delivered', async () => {
    const port = await closedPort();
    const error = await rejection(sendToPrinter({ host: '127.0.0.1', port }, '^XA^XZ'));
    expect(error.code).toBe('refused');
    expect(error.retryable).toBe(true);
    expect(error.written).toBe(false);
    expect(error.message).toBe(`printer 127.0.0.1:${port} refused the connection`);
  });

  it('an unusual connect error says its code, not Node’s message (which can carry the resolved address)', () => {
    const error = Object.assign(
      new Error('connect EADDRNOTAVAIL 10.0.4.20:9100 - Local (0.0.0.0:0)'),
      { code: 'EADDRNOTAVAIL' },
    );
    const e = connectError(error, 'printer zebra-2.local:9100');
    expect(e.code).toBe('unreachable');
    expect(e.retryable).toBe(true);
    expect(e.message).toBe('printer zebra-2.local:9100 could not be reached (EADDRNOTAVAIL)');
    expect(e.cause).toBe(error); // Node's own error stays on it
    expect(connectError(new Error('odd'), 'printer p:9100').message).toBe(
      'printer p:9100 could not be reached (Error)',
    );
  });

  it('the connection drops while the job is sent: not retryable (the labels before the drop print), and says to check', async () => {
    printer = await startFakePrinter('drop');
    // More than the loopback's buffers hold: the drop comes while it is still being written.
    const zpl = renderZpl(labels.slice(0, 1), '4x6').repeat(40_000);
    const error = await rejection(
      sendToPrinter({ host: '127.0.0.1', port: printer.port }, zpl, { statusTimeoutMs: 2000 }),
    );
    expect(error.code).toBe('closed');
    expect(error.retryable).toBe(false);
    expect(error.written).toBe(false);
    expect(error.message).toMatch(
      /connection lost while sending .*some labels may have printed: check the printer before printing them again|closed the connection before taking all of the job — some labels may have printed/,
    );
    expect(printer.received().length).toBeGreaterThan(0);
  });

  it('the printer hangs up instead of answering: not retryable', async () => {
    printer = await startFakePrinter('hang-up');
    const error = await rejection(
      sendToPrinter({ host: '127.0.0.1', port: printer.port }, '^XA^XZ', { statusTimeoutMs: 2000 }),
    );
    expect(error.code).toBe('closed');
    expect(error.retryable).toBe(false);
    expect(error.written).toBe(true);
  });

  it('an answer that is not a host status: bad-status, with what it said', async () => {
    printer = await startFakePrinter('garbled');
    const error = await rejection(
      sendToPrinter({ host: '127.0.0.1', port: printer.port }, '^XA^XZ'),
    );
    expect(error.code).toBe('bad-status');
    expect(error.retryable).toBe(false);
    expect(error.written).toBe(true);
    expect(error.message).toContain('is not a host status');
  });

  it('hostStatus false: sends the job alone and reports it sent, with no status', async () => {
    printer = await startFakePrinter('silent');
    const zpl = renderZpl(labels, '100x50');
    const outcome = await sendToPrinter({ host: '127.0.0.1', port: printer.port }, zpl, {
      hostStatus: false,
    });
    expect(outcome).toEqual({ ok: true, status: null });
    // The fake may still be reading the last bytes when the send resolves.
    const end = Date.now() + 2000;
    while (printer.received().length < Buffer.byteLength(zpl) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(printer.received().equals(Buffer.from(zpl, 'utf8'))).toBe(true);
  });
});

describe('parseHostStatus', () => {
  it("reads a Zebra's three lines", () => {
    const s = parseHostStatus(hostStatusReply('ready'));
    expect(s).toEqual({
      paperOut: false,
      paused: false,
      headOpen: false,
      ribbonOut: false,
      thermalTransfer: false,
      receiveBufferFull: false,
      corruptRam: false,
      underTemperature: false,
      overTemperature: false,
      formatsInBuffer: 0,
      labelsRemaining: 0,
      raw: ['030,0,0,1218,000,0,0,0,000,0,0,0', '000,0,0,0,0,2,6,0,00000000,1,000', '1234,0'],
    });
    expect(describeStatus(s!)).toBe('ready');
  });

  it('reads counts and flags from their positions', () => {
    const reply =
      '\x02030,1,1,0800,002,0,0,0,000,0,0,1\x03\r\n' +
      '\x02000,0,1,1,1,2,6,0,00000005,1,000\x03\r\n' +
      '\x021234,0\x03\r\n';
    const s = parseHostStatus(reply)!;
    expect(s).toMatchObject({ paperOut: true, paused: true, formatsInBuffer: 2 });
    expect(s).toMatchObject({ headOpen: true, ribbonOut: true, thermalTransfer: true });
    expect(s).toMatchObject({ labelsRemaining: 5, overTemperature: true });
    expect(statusProblems(s)).toEqual([
      'paper out',
      'head open',
      'ribbon out',
      'paused',
      'print head too hot',
    ]);
    expect(describeStatus(s)).toContain('2 format(s) in the buffer, 5 label(s) to print');
  });

  it('ribbon out matters only when printing with a ribbon', () => {
    const reply =
      '\x02030,0,0,0800,000,0,0,0,000,0,0,0\x03\r\n' +
      '\x02000,0,0,1,0,2,6,0,00000000,1,000\x03\r\n' +
      '\x021234,0\x03\r\n';
    expect(statusProblems(parseHostStatus(reply)!)).toEqual([]);
  });

  it('refuses what is not three framed lines of the right shape', () => {
    expect(parseHostStatus('')).toBeNull();
    expect(parseHostStatus('\x02a\x03\r\n\x02b\x03\r\n')).toBeNull();
    expect(parseHostStatus('\x02?\x03\x02?\x03\x02?\x03')).toBeNull();
    expect(parseHostStatus('030,0,0\x03\x02x\x03\x02y\x03')).toBeNull();
  });
});
