import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));
const tsx = path.join(here, '../../node_modules/.bin/tsx');

describe('the soak, interrupted', () => {
  it('Ctrl-C: running seeds end and are counted, the summary names the seeds run, exit 130', async () => {
    const child = spawn(
      tsx,
      [
        path.join(here, 'cli.ts'),
        ...['--seeds', '100000', '--start', '1', '--jobs', '2', '--steps', '8'],
        ...['--reconcile-steps', '0', '--devices', '2'],
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let signalled = false;
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      // The first progress line (every 25 seeds): seeds have run; interrupt.
      if (!signalled && out.includes('[25 seeds')) {
        signalled = true;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(signalled).toBe(true);
    expect(code).toBe(130);
    expect(out).toContain('SIGINT: stopping after the seeds running');
    const summary = /soak: (\d+) seeds, 0 violations/.exec(out);
    const ranges = /seeds run: 1–(\d+)\n/.exec(out);
    expect(summary).not.toBeNull();
    expect(ranges).not.toBeNull();
    const ran = Number(summary?.[1]);
    expect(ran).toBeGreaterThanOrEqual(25);
    expect(ran).toBeLessThan(100000);
    // Every seed handed out ran (none lost in the interruption): one range, 1 to N.
    expect(Number(ranges?.[1])).toBe(ran);
  }, 120_000);
});
