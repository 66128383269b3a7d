import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, readConfig } from './config.js';

describe('readConfig', () => {
  it('takes the defaults for an empty environment', () => {
    const c = readConfig({});
    expect(c).toMatchObject({
      port: 8787,
      host: '127.0.0.1',
      dataDir: path.resolve('./data'),
      adminPassword: undefined,
      demo: false,
      storage: 'sqlite',
      natsUrl: undefined,
      logLevel: 'info',
      sessionTtlMs: 12 * 3600_000,
      pokeIntervalMs: 250,
      metricsToken: undefined,
      trustProxy: false,
      workerPassword: undefined,
      printers: [],
      backups: undefined,
      erpImport: undefined,
      erpExport: undefined,
    });
  });

  it('an empty variable is unset: `VAR=` in .env, `${VAR:-}` in Compose', () => {
    const empty = Object.fromEntries(
      [
        'PORT',
        'HOST',
        'DATA_DIR',
        'ADMIN_PASSWORD',
        'DEMO',
        'STORAGE',
        'ARANGO_URL',
        'NATS_URL',
        'LOG_LEVEL',
        'SESSION_TTL_HOURS',
        'POKE_INTERVAL_MS',
        'CLIENT_DIR',
        'ERP_EXPORT_DIR',
        'ERP_EXPORT_URL',
        'ERP_EXPORT_AUTHORIZATION',
        'ERP_IMPORT_DIR',
        'ERP_IMPORT_TYPE',
        'LABEL_PRINTERS',
        'BACKUP_DIR',
        'BACKUP_EVERY_HOURS',
        'BACKUP_KEEP',
        'METRICS_TOKEN',
        'TRUST_PROXY',
        'WORKER_PASSWORD',
      ].map((k) => [k, '']),
    );
    expect(readConfig(empty)).toEqual(readConfig({}));
  });

  it('reads every setting', () => {
    const c = readConfig({
      PORT: '9000',
      HOST: '0.0.0.0',
      DATA_DIR: '/srv/floorsync',
      ADMIN_PASSWORD: 'a-long-admin-password',
      DEMO: '1',
      SESSION_TTL_HOURS: '8',
      POKE_INTERVAL_MS: '0',
      METRICS_TOKEN: 'sixteen-chars-xx',
      TRUST_PROXY: 'true',
      WORKER_PASSWORD: 'another-long-pass',
      BACKUP_DIR: '/backup',
      BACKUP_EVERY_HOURS: '6',
      BACKUP_KEEP: '30',
      ERP_IMPORT_DIR: '/erp/in',
      ERP_IMPORT_TYPE: 'shipment',
      ERP_EXPORT_URL: 'https://erp.example/movements',
      ERP_EXPORT_AUTHORIZATION: 'Bearer x',
      LABEL_PRINTERS: 'dock=10.0.4.20:9100/4x6',
    });
    expect(c).toMatchObject({
      port: 9000,
      host: '0.0.0.0',
      dataDir: '/srv/floorsync',
      adminPassword: 'a-long-admin-password',
      demo: true,
      sessionTtlMs: 8 * 3600_000,
      pokeIntervalMs: 0,
      metricsToken: 'sixteen-chars-xx',
      trustProxy: true,
      workerPassword: 'another-long-pass',
      backups: { dir: '/backup', everyMs: 6 * 3600_000, keep: 30 },
      erpImport: { dir: '/erp/in', defaultType: 'shipment' },
      erpExport: { url: 'https://erp.example/movements', authorization: 'Bearer x' },
    });
    expect(c.printers).toHaveLength(1);
    expect(readConfig({ NATS_URL: 'nats://a:4222,nats://b:4222' }).natsUrl).toBe(
      'nats://a:4222,nats://b:4222',
    );
  });

  it('refuses an ERP exchange on a scaled-out server (NATS_URL): it belongs to a worker', () => {
    for (const erp of [
      { ERP_EXPORT_DIR: '/erp/out' },
      { ERP_EXPORT_URL: 'https://erp.example/m' },
      { ERP_IMPORT_DIR: '/erp/in' },
    ])
      expect(() => readConfig({ NATS_URL: 'nats://127.0.0.1:4222', ...erp })).toThrow(
        /ERP_IMPORT_DIR: with NATS_URL set, the ERP exchange runs in one worker process/,
      );
    expect(readConfig({ NATS_URL: 'nats://127.0.0.1:4222', ERP_EXPORT_DIR: '' }).erpExport).toBe(
      undefined,
    );
  });

  it('a blank variable is unset too; an export goes to one place, over HTTP(S)', () => {
    expect(readConfig({ PORT: ' ', POKE_INTERVAL_MS: '\t', NATS_URL: ' ' })).toMatchObject({
      port: 8787,
      pokeIntervalMs: 250,
      natsUrl: undefined,
    });
    expect(() =>
      readConfig({ ERP_EXPORT_DIR: '/erp/out', ERP_EXPORT_URL: 'https://erp.example/m' }),
    ).toThrow(/^ {2}ERP_EXPORT_DIR, ERP_EXPORT_URL: the export goes to a folder or to a URL/m);
    expect(() => readConfig({ ERP_EXPORT_URL: 'ftp://erp.example/m' })).toThrow(
      /^ {2}ERP_EXPORT_URL: must start with http/m,
    );
  });

  it('refuses bad values with one line per variable, naming it', () => {
    const bad = () =>
      readConfig({
        PORT: 'eighty',
        SESSION_TTL_HOURS: '-1',
        METRICS_TOKEN: 'short',
        DEMO: 'yes',
        ERP_EXPORT_URL: 'not a url',
      });
    expect(bad).toThrow(/^invalid configuration:/);
    let message = '';
    try {
      bad();
    } catch (e) {
      message = (e as Error).message;
    }
    for (const name of ['PORT', 'SESSION_TTL_HOURS', 'METRICS_TOKEN', 'DEMO', 'ERP_EXPORT_URL'])
      expect(message).toMatch(new RegExp(`^  ${name}: `, 'm'));
    expect(message).toMatch(/METRICS_TOKEN must be at least 16 characters/);
  });

  it('refuses storage settings that do not fit together, all at once, never repeating the URL', () => {
    const message = (env: NodeJS.ProcessEnv): string => {
      try {
        readConfig(env);
      } catch (e) {
        return (e as Error).message;
      }
      return 'accepted';
    };
    expect(message({ STORAGE: 'arango' })).toMatch(/^ {2}ARANGO_URL: STORAGE=arango needs it/m);
    // Set but STORAGE not: SQLite, the default (ARCHITECTURE.md), and the start says they are
    // not used — a server on a SQLite file of its own, where ArangoDB was meant, is a warehouse
    // split in two.
    expect(readConfig({ ARANGO_URL: 'http://u:hunter2@h:8529/fs' })).toMatchObject({
      storage: 'sqlite',
      arango: undefined,
      unusedArangoVariables: ['ARANGO_URL'],
    });
    // Said so (the environment of a machine that also runs ArangoDB's tests, say): quiet.
    expect(
      readConfig({ STORAGE: 'sqlite', ARANGO_URL: 'http://u:hunter2@h:8529/fs' }),
    ).toMatchObject({ storage: 'sqlite', unusedArangoVariables: [] });
    const several = message({
      STORAGE: 'arango',
      ARANGO_URL: 'ftp://u:hunter2@h:8529/fs',
      BACKUP_DIR: '/backup',
      ADMIN_PASSWORD: 'short',
      PORT: 'eighty',
    });
    expect(several).toMatch(/^invalid configuration:/);
    expect(several).toMatch(/^ {2}PORT: /m);
    expect(several).toMatch(/^ {2}ARANGO_URL: must start with http:\/\/ or https:\/\/$/m);
    expect(several).toMatch(/^ {2}BACKUP_DIR: is for the SQLite storage/m);
    expect(several).toMatch(/^ {2}ADMIN_PASSWORD: must have at least 10 characters$/m);
    expect(several).not.toContain('hunter2');
    expect(several).not.toContain('short');
    expect(message({ STORAGE: 'arango', ARANGO_URL: 'http://u:pw@h:8529/bad%20name' })).toMatch(
      /^ {2}ARANGO_URL: its path is not a database name/m,
    );
    expect(readConfig({ STORAGE: 'arango', ARANGO_URL: 'http://u:pw@h:8529/fs' })).toMatchObject({
      storage: 'arango',
      arango: { url: 'http://u:pw@h:8529/fs' },
    });
    // ARCHITECTURE.md's names: the URL, and the database, user and password on their own.
    expect(
      readConfig({
        STORAGE: 'arango',
        ARANGO_URL: 'http://h:8529',
        ARANGO_DATABASE: 'wh',
        ARANGO_USERNAME: 'fs',
        ARANGO_PASSWORD: 'hunter2',
      }).arango,
    ).toEqual({ url: 'http://h:8529', database: 'wh', username: 'fs', password: 'hunter2' });
    expect(readConfig({ STORAGE: 'sqlite', ARANGO_PASSWORD: 'hunter2' }).arango).toBeUndefined();
    expect(
      readConfig({ ARANGO_PASSWORD: 'hunter2', ARANGO_DATABASE: 'wh' }).unusedArangoVariables,
    ).toEqual(['ARANGO_DATABASE', 'ARANGO_PASSWORD']);
    const differ = message({
      STORAGE: 'arango',
      ARANGO_URL: 'http://u:hunter2@h:8529/fs',
      ARANGO_PASSWORD: 'hunter3',
    });
    expect(differ).toMatch(/^ {2}ARANGO_PASSWORD: differs from the password in ARANGO_URL/m);
    expect(differ).not.toMatch(/hunter[23]/);
    expect(message({ STORAGE: 'arango', ARANGO_PASSWORD: 'hunter2' })).toMatch(
      /^ {2}ARANGO_URL: STORAGE=arango needs it/m,
    );
    expect(readConfig({ ADMIN_PASSWORD: 'ten-chars!' }).adminPassword).toBe('ten-chars!');
  });

  it('refuses settings that would put a secret into log lines, without saying the secret', () => {
    const bad = () =>
      readConfig({
        PORT: 'eighty', // said together with the others
        ERP_EXPORT_URL: 'https://erp:s3cret-erp@erp.example/in',
        ERP_EXPORT_AUTHORIZATION: 'Bearer s3cret\nX-Other: 1',
      });
    let message = '';
    try {
      bad();
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^ {2}PORT: /m);
    expect(message).toMatch(
      /^ {2}ERP_EXPORT_URL: must not carry a user or password: put them in ERP_EXPORT_AUTHORIZATION/m,
    );
    expect(message).toMatch(/^ {2}ERP_EXPORT_AUTHORIZATION: must be one line/m);
    expect(message).not.toContain('s3cret');
  });
});

describe('the settings in the docs and the Compose file', () => {
  const root = path.resolve(import.meta.dirname, '../..');
  it('every variable is in the README’s table, and the single-node Compose file passes it on (or the image sets it)', () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const from = readme.indexOf('| variable | default |');
    const table = readme.slice(from, readme.indexOf('\n\n', from));
    expect(table.split('\n').length).toBeGreaterThan(20);
    const compose = readFileSync(path.join(root, 'deploy/compose.single.yaml'), 'utf8');
    const notFromEnvFile: Record<string, string> = {
      PORT: 'the image sets 8787',
      HOST: 'the image sets 0.0.0.0',
      DATA_DIR: 'the image sets /data (the volume)',
      CLIENT_DIR: 'the image serves its own build',
      STORAGE: 'one node: SQLite',
      ARANGO_URL: 'one node: SQLite',
      ARANGO_DATABASE: 'one node: SQLite',
      ARANGO_USERNAME: 'one node: SQLite',
      ARANGO_PASSWORD: 'one node: SQLite',
      NATS_URL: 'one node: the in-process bus',
      OPEN_BROWSER: 'npm start on a desktop',
      BROWSER: 'npm start on a desktop',
    };
    expect(CONFIG_VARIABLES.length).toBeGreaterThan(20);
    for (const v of CONFIG_VARIABLES) {
      expect(table, v).toContain(`\`${v}\``);
      if (!(v in notFromEnvFile))
        expect(compose, v).toMatch(new RegExp(`^\\s+${v}: \\$\\{${v}[:-]`, 'm'));
    }
  });

  it('no Compose file writes a password into a URL (health checks send it in a header)', () => {
    const files = readdirSync(path.join(root, 'deploy')).filter((f) => f.startsWith('compose.'));
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const f of files) {
      const text = readFileSync(path.join(root, 'deploy', f), 'utf8');
      expect(text, f).not.toMatch(/[a-z]+:\/\/[^\s/@'"]+:[^\s/@'"]+@/i);
    }
    const scaled = readFileSync(path.join(root, 'deploy/compose.scaled.yaml'), 'utf8');
    expect(scaled).toMatch(/--header "Authorization: Basic /);
  });
});
