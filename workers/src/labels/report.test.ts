import { describe, expect, it } from 'vitest';
import { closedPort } from '../../test/fake-printer.js';
import { SyncApi } from '../sync-api.js';
import type { PrintReport } from './job.js';
import { reportToServer } from './report.js';

describe('reportToServer', () => {
  it('a report the server never gets is told (for the log) and still fails the call', async () => {
    const port = await closedPort(); // nobody listens there
    const api = new SyncApi({ base: `http://127.0.0.1:${port}`, username: 'w', password: 'x' });
    const told: { ref: string; error: string }[] = [];
    const report = reportToServer(api, (ref, error) => told.push({ ref, error: String(error) }));
    const r = { ok: true, jobId: 'j-1', payload: { ref: 'print-7' } } as unknown as PrintReport;
    await expect(report(r)).rejects.toThrow(/did not answer/);
    expect(told).toHaveLength(1);
    expect(told[0]?.ref).toBe('print-7');
    expect(told[0]?.error).toMatch(/the sync server did not answer POST \/api\/auth\/login/);
  });
});
