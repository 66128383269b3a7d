import { afterEach, describe, expect, it } from 'vitest';
import type { FakePrinter, FakePrinterMode } from '../../test/fake-printer.js';
import { closedPort, startFakePrinter } from '../../test/fake-printer.js';
import { inProcessQueue } from '../queue/in-process.js';
import type { JobContext, RunnerEvent } from '../runner.js';
import { PoisonJobError, startRunner } from '../runner.js';
import type { PrintLabelsPayload, PrintReport } from './job.js';
import { PRINT_LABELS, printLabelsJob, printLabelsPayload, printProblemOf } from './job.js';
import { PrinterError } from './printer.js';
import { renderZpl } from './zpl.js';

const context = (): JobContext => ({
  jobId: 'print-1',
  attempt: 1,
  signal: new AbortController().signal,
});

const payload = (port: number, extra: Record<string, unknown> = {}): PrintLabelsPayload =>
  printLabelsPayload.parse({
    printer: { host: '127.0.0.1', port },
    size: '100x50',
    labels: [
      { kind: 'position', code: 'A-01-02-03', name: 'Gang A' },
      { kind: 'container', sscc: '106141411234567897', code: '106141411234567897' },
    ],
    ...extra,
  });

let printer: FakePrinter | null = null;
afterEach(async () => {
  await printer?.close();
  printer = null;
});

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the job to fail');
}

describe('print-labels job', () => {
  it('is a job kind the bus can carry, with defaults for port, status and size', () => {
    expect(PRINT_LABELS).toMatch(/^[a-z][a-z0-9-]{0,63}$/);
    const p = printLabelsPayload.parse({
      printer: { host: 'zebra-7' },
      labels: [{ kind: 'position', code: 'B-1' }],
    });
    expect(p.printer).toEqual({ host: 'zebra-7', port: 9100, hostStatus: true });
    expect(p.size).toBe('4x6');
    expect(printLabelsPayload.safeParse({ printer: { host: '' }, labels: [] }).success).toBe(false);
  });

  it('ready: prints the rendered ZPL and reports the printer status', async () => {
    printer = await startFakePrinter('ready');
    const reports: PrintReport[] = [];
    const job = printLabelsJob({ report: (r) => Promise.resolve(void reports.push(r)) });
    const p = payload(printer.port);
    await job.run(p, context());
    expect(printer.received().toString('utf8')).toBe(`${renderZpl(p.labels, p.size)}~HS`);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ ok: true, jobId: 'print-1', status: { paperOut: false } });
  });

  it.each([
    ['paper-out', 'paper out'],
    ['head-open', 'head open'],
    ['paused', 'paused'],
  ] as const)(
    '%s: fails for good, with the printer status in the message',
    async (mode: FakePrinterMode, problem: string) => {
      printer = await startFakePrinter(mode);
      const error = await failure(printLabelsJob().run(payload(printer.port), context()));
      expect(error).toBeInstanceOf(PoisonJobError);
      expect(error.message).toContain(`reports ${problem}`);
      expect(error.message).toContain('do not send them again');
      expect(error.message).toContain('~HS: 030,');
    },
  );

  it('no answer: fails for good (the labels may be out), saying so', async () => {
    printer = await startFakePrinter('silent');
    const job = printLabelsJob({ send: { statusTimeoutMs: 100 } });
    const error = await failure(job.run(payload(printer.port), context()));
    expect(error).toBeInstanceOf(PoisonJobError);
    expect(error.message).toContain('did not answer ~HS');
  });

  it('connection refused: a plain error, so the runner retries it', async () => {
    const error = await failure(printLabelsJob().run(payload(await closedPort()), context()));
    expect(error).not.toBeInstanceOf(PoisonJobError);
    expect(error.message).toContain('refused the connection');
  });

  it('a label that breaks a GS1 rule is poison, and nothing is sent', async () => {
    printer = await startFakePrinter('ready');
    const p = payload(printer.port, {
      labels: [
        {
          kind: 'container',
          sscc: '106141411234567897',
          code: 'P-1',
          contents: { gtin: '09506000134352' },
        },
      ],
    });
    const error = await failure(printLabelsJob().run(p, context()));
    expect(error).toBeInstanceOf(PoisonJobError);
    expect(error.message).toBe('container label: (02) needs (37) beside it');
    expect(printer.connections).toHaveLength(0);
  });

  it('a job the asker does not let it claim (printed, or given up on): nothing printed, at any delivery', async () => {
    printer = await startFakePrinter('ready');
    const asked: string[] = [];
    let answer: boolean | Error = false;
    const job = printLabelsJob({
      claim: (ref) => {
        asked.push(ref);
        return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
      },
    });
    const p = payload(printer.port, { ref: 'job-7' });
    const redelivery = { ...context(), attempt: 2 };
    // Printed at the first delivery, its acknowledgement lost: the second prints nothing.
    await job.run(p, redelivery);
    expect(printer.connections).toHaveLength(0);
    // A first delivery of a job the asker gave up on (the queue did not confirm it in time,
    // the operator was told to print again): nothing printed either.
    await job.run(p, context());
    expect(printer.connections).toHaveLength(0);
    // Claimed: printed, at the first delivery and at a later one.
    answer = true;
    await job.run(p, context());
    expect(printer.connections).toHaveLength(1);
    await job.run(p, redelivery);
    expect(printer.connections).toHaveLength(2);
    // The asker cannot be reached: retried later, never printed blind.
    answer = new Error('the sync server did not answer');
    const error = await failure(job.run(p, context()));
    expect(error).not.toBeInstanceOf(PoisonJobError);
    expect(printer.connections).toHaveLength(2);
    // A job without a ref (nobody to ask) prints on every delivery.
    await job.run(payload(printer.port), redelivery);
    expect(printer.connections).toHaveLength(3);
    expect(asked).toEqual(['job-7', 'job-7', 'job-7', 'job-7', 'job-7']);
  });

  it('a printer without host status: "sent", no status', async () => {
    printer = await startFakePrinter('silent');
    const reports: PrintReport[] = [];
    const job = printLabelsJob({ report: (r) => Promise.resolve(void reports.push(r)) });
    await job.run(
      payload(printer.port, {
        printer: { host: '127.0.0.1', port: printer.port, hostStatus: false },
      }),
      context(),
    );
    expect(reports[0]).toMatchObject({ ok: true, status: null });
  });

  it('a job given up on reports its problem as a code and values, for the asker to say in its language', async () => {
    const reported = async (mode: FakePrinterMode | 'refused', labels = payload(9100).labels) => {
      const port =
        mode === 'refused' ? await closedPort() : (printer = await startFakePrinter(mode)).port;
      const reports: PrintReport[] = [];
      const queue = inProcessQueue();
      const runner = await startRunner({
        queue,
        handlers: [
          printLabelsJob({
            report: (r) => Promise.resolve(void reports.push(r)),
            send: { statusTimeoutMs: 100 },
          }),
        ],
        baseBackoffMs: 5,
        maxBackoffMs: 10,
        maxAttempts: 2,
      });
      await queue.enqueue({
        id: `j-${mode}`,
        kind: PRINT_LABELS,
        payload: payload(port, { labels }),
      });
      const end = Date.now() + 10_000;
      while (reports.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      await runner.drain();
      await printer?.close();
      printer = null;
      const r = reports[0];
      if (!r || r.ok) throw new Error(`${mode}: no failure reported`);
      return { problem: r.problem, where: `127.0.0.1:${port}` };
    };
    const paper = await reported('paper-out');
    expect(paper.problem).toEqual({
      code: 'PRINTER_STATUS',
      values: { printer: paper.where, labels: 2, problems: 'paper-out' },
    });
    expect((await reported('head-open')).problem?.values).toMatchObject({ problems: 'head-open' });
    for (const mode of ['silent', 'hang-up', 'garbled'] as const)
      expect((await reported(mode)).problem?.code, mode).toBe('PRINTER_SILENT');
    const refused = await reported('refused');
    expect(refused.problem).toEqual({
      code: 'PRINTER_UNREACHABLE',
      values: { printer: refused.where },
    });
    const undrawable = await reported('ready', [
      {
        kind: 'container',
        sscc: '106141411234567897',
        code: 'P-1',
        contents: { gtin: '09506000134352' },
      },
    ]);
    expect(undrawable.problem).toEqual({
      code: 'LABEL_UNDRAWABLE',
      values: { detail: 'container label: (02) needs (37) beside it' },
    });
  });

  it('a printer error’s problem: cut off while sending, silent once all was written, unreachable when retryable', () => {
    const p = payload(9100);
    const poison = (e: PrinterError) => new PoisonJobError(e.message, { cause: e });
    const cut = new PrinterError('closed', false, 'lost while sending', { written: false });
    const taken = new PrinterError('closed', false, 'closed after', { written: true });
    const refused = new PrinterError('refused', true, 'refused');
    expect(printProblemOf(poison(cut), p)).toEqual({
      code: 'PRINTER_CUT_OFF',
      values: { printer: '127.0.0.1:9100' },
    });
    expect(printProblemOf(poison(taken), p)?.code).toBe('PRINTER_SILENT');
    expect(printProblemOf(refused, p)?.code).toBe('PRINTER_UNREACHABLE');
    expect(printProblemOf(new Error('something else'), p)).toBeNull();
    expect(printProblemOf(new PoisonJobError('no cause'), p)).toBeNull();
  });

  it('through the runner: refused is retried with backoff; paper out is dead-lettered and reported', async () => {
    const queue = inProcessQueue();
    const events: RunnerEvent[] = [];
    const reports: PrintReport[] = [];
    printer = await startFakePrinter('paper-out');
    const runner = await startRunner({
      queue,
      handlers: [printLabelsJob({ report: (r) => Promise.resolve(void reports.push(r)) })],
      baseBackoffMs: 10,
      maxBackoffMs: 20,
      maxAttempts: 3,
      onEvent: (e) => events.push(e),
    });
    const refused = await closedPort();
    await queue.enqueue({ id: 'j-refused', kind: PRINT_LABELS, payload: payload(refused) });
    await queue.enqueue({ id: 'j-paper', kind: PRINT_LABELS, payload: payload(printer.port) });
    const end = Date.now() + 10_000;
    while (events.filter((e) => e.type === 'dead').length < 2 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 10));
    }
    await runner.drain();

    const retries = events.filter((e) => e.type === 'retry' && e.job.id === 'j-refused');
    expect(retries.length).toBe(2);
    const letters = await queue.deadLetters();
    const reasons = Object.fromEntries(
      letters.map((l) => [(l.job as { id: string }).id, l.reason]),
    );
    expect(reasons['j-refused']).toMatch(/^gave up after 3 attempts; last error: .*refused/);
    expect(reasons['j-paper']).toContain('reports paper out');
    // The paper-out job ran once: its labels were not sent twice.
    expect(printer.connections).toHaveLength(1);
    expect(reports.map((r) => r.ok)).toEqual([false, false]);
  });
});
