import path from 'node:path';
// The subpath, not the package: the database tool reads this too and should start fast.
import { MIN_PASSWORD_LENGTH } from '@floorsync/domain';
import type { ConfigProblem } from '@floorsync/workers/env';
import { configurationError, erpExportProblems, withoutEmpty } from '@floorsync/workers/env';
import { z } from 'zod';
import type { LabelPrinter } from './labels/routes.js';
import { browserCommand } from './browser.js';
import { parsePrinters } from './labels/routes.js';
import type { ArangoSettings } from './storage/arango/url.js';
import { ARANGO_VARIABLES, arangoConnection, arangoSettingsOf } from './storage/arango/url.js';

/**
 * The environment, validated once at start (ARCHITECTURE.md "Configuration"). Only `main.ts`
 * and the database tool `db-cli.ts` call this; everything else receives values. An empty
 * variable counts as unset.
 */
const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8787),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATA_DIR: z.string().min(1).default('./data'),
  ADMIN_PASSWORD: z.string().optional(),
  DEMO: z.enum(['0', '1', 'true', 'false']).optional(),
  STORAGE: z.enum(['sqlite', 'arango']).default('sqlite'),
  ARANGO_URL: z.string().optional(),
  ARANGO_DATABASE: z.string().optional(),
  ARANGO_USERNAME: z.string().optional(),
  ARANGO_PASSWORD: z.string().optional(),
  NATS_URL: z.string().optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  SESSION_TTL_HOURS: z.coerce
    .number()
    .positive()
    .max(24 * 90)
    .default(12),
  POKE_INTERVAL_MS: z.coerce.number().int().min(0).max(10_000).default(250),
  CLIENT_DIR: z.string().optional(),
  ERP_EXPORT_DIR: z.string().optional(),
  ERP_EXPORT_URL: z.url().optional(),
  ERP_EXPORT_AUTHORIZATION: z.string().optional(),
  ERP_IMPORT_DIR: z.string().optional(),
  LABEL_PRINTERS: z.string().optional(),
  ERP_IMPORT_TYPE: z.enum(['receipt', 'shipment', 'transfer']).default('receipt'),
  BACKUP_DIR: z.string().optional(),
  BACKUP_EVERY_HOURS: z.coerce
    .number()
    .positive()
    .max(24 * 7)
    .default(24),
  BACKUP_KEEP: z.coerce.number().int().min(1).max(1000).default(7),
  METRICS_TOKEN: z.string().min(16, 'METRICS_TOKEN must be at least 16 characters').optional(),
  TRUST_PROXY: z.enum(['0', '1', 'true', 'false']).optional(),
  WORKER_PASSWORD: z.string().min(16, 'WORKER_PASSWORD must be at least 16 characters').optional(),
  OPEN_BROWSER: z.enum(['0', '1', 'true', 'false']).optional(),
  BROWSER: z.string().optional(),
});

/** Every variable the server reads (for the test that keeps the docs and Compose files whole). */
export const CONFIG_VARIABLES = Object.keys(envSchema.shape);

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly adminPassword: string | undefined;
  readonly demo: boolean;
  readonly storage: 'sqlite' | 'arango';
  /** ArangoDB: where, which database, who (`ARANGO_*`); never logged as given. */
  readonly arango: ArangoSettings | undefined;
  /**
   * `ARANGO_*` variables set while `STORAGE` is not: the server runs on SQLite (the default,
   * ARCHITECTURE.md) and says at start that they are not used — on several hosts, a server
   * on a SQLite file of its own is a warehouse split in as many databases. `STORAGE=sqlite`
   * says that is meant, and silences it.
   */
  readonly unusedArangoVariables: readonly string[];
  /** The command that opens the app in a browser once listening (`browser.ts`), or none. */
  readonly browser: readonly string[] | undefined;
  readonly natsUrl: string | undefined;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  readonly sessionTtlMs: number;
  /** SSE pokes: a round at most once per this many ms, with the newest head. */
  readonly pokeIntervalMs: number;
  readonly clientDir: string | undefined;
  /** Bearer token Prometheus scrapes `/metrics` with; unset: a supervisor's session only. */
  readonly metricsToken: string | undefined;
  /** Take the client's address from `X-Forwarded-For` (only behind a proxy that sets it). */
  readonly trustProxy: boolean;
  /** The `worker` service user's password (workers sign in with it); unset: random per start. */
  readonly workerPassword: string | undefined;
  /** Network label printers (`LABEL_PRINTERS`, `id=host[:port][/size],…`). */
  readonly printers: readonly LabelPrinter[];
  /** Embedded ERP import of movement lists from CSV files dropped in a folder. */
  readonly erpImport:
    { readonly dir: string; readonly defaultType: 'receipt' | 'shipment' | 'transfer' } | undefined;
  /** Backups of the SQLite database on a timer, the newest `keep` kept (`BACKUP_DIR`). */
  readonly backups:
    { readonly dir: string; readonly everyMs: number; readonly keep: number } | undefined;
  /** Embedded ERP export of confirmed movements: to a folder, or to an HTTP endpoint. */
  readonly erpExport:
    | { readonly dir: string }
    | { readonly url: string; readonly authorization: string | undefined }
    | undefined;
}

/**
 * Settings that make no sense together, or that a start would only find out later (the first
 * start's admin, the connection to ArangoDB): said at once with the rest.
 */
function storageProblems(e: Partial<Record<string, string>>): ConfigProblem[] {
  const found: ConfigProblem[] = [];
  const arango = e.STORAGE === 'arango';
  if (arango && !e.ARANGO_URL)
    found.push({
      path: 'ARANGO_URL',
      message:
        'STORAGE=arango needs it (http://host:8529; the user, password and database in ARANGO_USERNAME, ARANGO_PASSWORD, ARANGO_DATABASE or in the URL)',
    });
  const settings = arangoSettingsOf(e);
  if (arango && settings) {
    try {
      arangoConnection(settings);
    } catch (error) {
      // Its messages start with the variable and never repeat a password or the URL.
      const m = /^(ARANGO_[A-Z]+):? ([^]*)$/.exec((error as Error).message);
      found.push({
        path: m?.[1] ?? 'ARANGO_URL',
        message: m?.[2] ?? (error as Error).message,
      });
    }
  }
  if (arango && e.BACKUP_DIR)
    found.push({
      path: 'BACKUP_DIR',
      message: 'is for the SQLite storage; back up ArangoDB with arangodump (deploy/README.md)',
    });
  if (e.ADMIN_PASSWORD !== undefined && e.ADMIN_PASSWORD.length < MIN_PASSWORD_LENGTH)
    // Read at a first start only, but wrong whenever it is set.
    found.push({
      path: 'ADMIN_PASSWORD',
      message: `must have at least ${MIN_PASSWORD_LENGTH} characters`,
    });
  return found;
}

export function readConfig(env: NodeJS.ProcessEnv): Config {
  const raw = withoutEmpty(env);
  const parsed = envSchema.safeParse(raw);
  // Checked on the raw values too, so that every problem is said at once.
  const error = configurationError(parsed.success ? [] : parsed.error.issues, [
    ...erpExportProblems(raw),
    ...storageProblems(raw),
  ]);
  if (error || !parsed.success) throw error ?? new Error('invalid configuration');
  const e = parsed.data;
  if (e.NATS_URL && (e.ERP_EXPORT_DIR || e.ERP_EXPORT_URL || e.ERP_IMPORT_DIR))
    // Scaled out, jobs and the ERP exchange run in worker processes: set silently aside here,
    // an export would never run.
    throw new Error(
      'invalid configuration:\n  ERP_EXPORT_DIR, ERP_EXPORT_URL, ERP_IMPORT_DIR: with NATS_URL set, the ERP exchange runs in one worker process (workers/README.md): set them there, not on the server',
    );
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir: path.resolve(e.DATA_DIR),
    adminPassword: e.ADMIN_PASSWORD,
    demo: e.DEMO === '1' || e.DEMO === 'true',
    storage: e.STORAGE,
    arango: e.STORAGE === 'arango' ? arangoSettingsOf(raw) : undefined,
    browser: browserCommand(raw, process.platform),
    unusedArangoVariables:
      raw.STORAGE === undefined ? ARANGO_VARIABLES.filter((name) => raw[name] !== undefined) : [],
    natsUrl: e.NATS_URL,
    logLevel: e.LOG_LEVEL,
    sessionTtlMs: e.SESSION_TTL_HOURS * 3600_000,
    pokeIntervalMs: e.POKE_INTERVAL_MS,
    clientDir: e.CLIENT_DIR,
    workerPassword: e.WORKER_PASSWORD,
    metricsToken: e.METRICS_TOKEN,
    trustProxy: e.TRUST_PROXY === '1' || e.TRUST_PROXY === 'true',
    printers: parsePrinters(e.LABEL_PRINTERS),
    backups: e.BACKUP_DIR
      ? {
          dir: path.resolve(e.BACKUP_DIR),
          everyMs: e.BACKUP_EVERY_HOURS * 3600_000,
          keep: e.BACKUP_KEEP,
        }
      : undefined,
    erpImport: e.ERP_IMPORT_DIR
      ? { dir: path.resolve(e.ERP_IMPORT_DIR), defaultType: e.ERP_IMPORT_TYPE }
      : undefined,
    erpExport: e.ERP_EXPORT_URL
      ? { url: e.ERP_EXPORT_URL, authorization: e.ERP_EXPORT_AUTHORIZATION || undefined }
      : e.ERP_EXPORT_DIR
        ? { dir: path.resolve(e.ERP_EXPORT_DIR) }
        : undefined,
  };
}
