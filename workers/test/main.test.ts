import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/** The built worker process (`dist/main.js`) started with a bad environment. */
function startWorker(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.resolve(import.meta.dirname, '../dist/main.js')], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe('the worker process', () => {
  it('refuses a bad environment before connecting: one line per variable, naming it, no secret', async () => {
    const { code, out } = await startWorker({
      NATS_URL: 'nats://127.0.0.1:1',
      FLOORSYNC_URL: 'http://worker:s3cret-pass@127.0.0.1:8787',
      WORKER_PASSWORD: 'a-worker-password',
      WORKER_CONCURRENCY: 'many',
      ERP_EXPORT_URL: 'https://erp:s3cret-erp@erp.example/in',
    });
    expect(code).toBe(1);
    expect(out).toMatch(/^ {2}WORKER_CONCURRENCY: /m);
    expect(out).toMatch(/^ {2}FLOORSYNC_URL: must not carry a user or password/m);
    expect(out).toMatch(/^ {2}ERP_EXPORT_URL: must not carry a user or password/m);
    expect(out).not.toContain('s3cret');
  });
});
