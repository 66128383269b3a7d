import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from './harness.js';

/**
 * The Android shell cannot be compiled here (no Android SDK); what can be proven is that the
 * generated project takes the web build and the barcode scanner plugin.
 */
describe('Capacitor Android project', () => {
  it('syncs the built web app and the barcode scanner plugin into the generated project', () => {
    const client = path.join(root, 'client');
    const r = spawnSync(
      process.execPath,
      [path.join(root, 'node_modules/@capacitor/cli/bin/capacitor'), 'sync', 'android'],
      {
        cwd: client,
        encoding: 'utf8',
        env: { ...process.env, CAPACITOR_TELEMETRY: 'false', CI: '1' },
      },
    );
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const assets = path.join(client, 'android/app/src/main/assets');
    expect(existsSync(path.join(assets, 'public/index.html'))).toBe(true);
    const plugins = JSON.parse(
      readFileSync(path.join(assets, 'capacitor.plugins.json'), 'utf8'),
    ) as {
      pkg: string;
    }[];
    expect(plugins.map((p) => p.pkg)).toContain('@capacitor/barcode-scanner');
    const config = JSON.parse(readFileSync(path.join(assets, 'capacitor.config.json'), 'utf8')) as {
      appId: string;
      webDir: string;
    };
    expect(config).toMatchObject({ appId: 'dev.floorsync.scanner', webDir: 'build' });
  });
});
