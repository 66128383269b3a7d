import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { JobEnvelope } from '@floorsync/domain';
import { APPLY_COUNT_SESSION, BULK_ADJUST, PRINT_LABELS } from '@floorsync/workers';
import { afterEach, describe, expect, it } from 'vitest';
import { PRINT_LOST_AT_RESTART, resumeJobs, unfinishedJobs } from '../src/jobs/resume.js';
import type { JobRow, Storage } from '../src/storage/port.js';
import { openSqliteStorage } from '../src/storage/sqlite/sqlite-storage.js';

/**
 * The embedded server's start resumes what its in-process queue forgot: on a real SQLite file,
 * jobs of every kind in every state.
 */
let dir: string;
let storage: Storage;
afterEach(async () => {
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

const job = (id: string, kind: string, status: JobRow['status'], total = 2): JobRow => ({
  id,
  kind,
  status,
  createdBy: 'u-1',
  createdAt: '2026-11-27T10:00:00.000Z',
  fileName: null,
  rows: total,
  total,
  errors: [],
  startedAt: status === 'validated' ? null : '2026-11-27T10:01:00.000Z',
  error: null,
});

describe('jobs at an embedded start', () => {
  it('queues again what resumes from the log; a print job, whose labels only the lost message had, fails with a reason', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'floorsync-resume-'));
    storage = openSqliteStorage({ path: path.join(dir, 'floorsync.db') });
    await storage.write((tx) => {
      tx.createJob(job('bulk-q', BULK_ADJUST, 'queued'), [{}, {}]);
      tx.createJob(job('apply-q', APPLY_COUNT_SESSION, 'queued'), []);
      tx.createJob(job('print-q', PRINT_LABELS, 'queued', 3), []);
      tx.createJob(job('print-done', PRINT_LABELS, 'completed', 1), []);
      tx.createJob(job('bulk-v', BULK_ADJUST, 'validated'), [{}, {}]);
      tx.createJob(job('bulk-f', BULK_ADJUST, 'failed'), [{}, {}]);
    });
    const lost = await unfinishedJobs(storage);
    // A print asked for after the list was read (the server listens while its runner starts):
    // not one the restart lost.
    await storage.write((tx) => tx.createJob(job('print-new', PRINT_LABELS, 'queued', 1), []));
    const sent: JobEnvelope[] = [];
    const sink = {
      enqueue: (m: JobEnvelope) => {
        sent.push(m);
        return Promise.resolve();
      },
    };
    const r = await resumeJobs(storage, sink, lost);
    expect(r).toEqual({ queued: 2, failed: 1 });
    expect(sent.map((m) => [m.kind, m.payload]).sort()).toEqual([
      [APPLY_COUNT_SESSION, { jobId: 'apply-q' }],
      [BULK_ADJUST, { jobId: 'bulk-q' }],
    ]);
    const after = await storage.read((tx) =>
      Object.fromEntries(tx.jobs(100).map((j) => [j.id, [j.status, j.error]])),
    );
    expect(after).toEqual({
      'bulk-q': ['queued', null],
      'apply-q': ['queued', null],
      'print-q': ['failed', PRINT_LOST_AT_RESTART],
      'print-done': ['completed', null],
      'bulk-v': ['validated', null],
      'bulk-f': ['failed', null],
      'print-new': ['queued', null],
    });
    // Another start before it printed: that print is lost now; the failed one stays as it is.
    sent.length = 0;
    expect(await resumeJobs(storage, sink, await unfinishedJobs(storage))).toEqual({
      queued: 2,
      failed: 1,
    });
    expect(await storage.read((tx) => tx.job('print-new')?.error)).toBe(PRINT_LOST_AT_RESTART);
    expect(await storage.read((tx) => tx.job('print-new')?.problem)).toEqual({
      code: 'LOST_AT_RESTART',
      values: {},
    });
  });

  it('finds a queued job however many finished jobs came after it', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'floorsync-resume-'));
    storage = openSqliteStorage({ path: path.join(dir, 'floorsync.db') });
    await storage.write((tx) => {
      tx.createJob(job('bulk-old', BULK_ADJUST, 'queued'), [{}, {}]);
      // A busy day's label prints, all newer and all done: more than any list page holds.
      for (let i = 0; i < 2500; i++)
        tx.createJob(
          {
            ...job(`print-${i}`, PRINT_LABELS, 'completed', 1),
            createdAt: new Date(Date.parse('2026-11-27T11:00:00.000Z') + i).toISOString(),
          },
          [],
        );
    });
    expect((await unfinishedJobs(storage)).map((j) => j.id)).toEqual(['bulk-old']);
  });
});
