import type { ConfigOptions } from 'arangojs/configuration';

// Apart from the store: the configuration check reads it, and the database tool, which loads
// that, should not load the ArangoDB driver to start.

/**
 * Where ArangoDB is and who signs in (ARCHITECTURE.md "Configuration"): `ARANGO_URL`, and
 * `ARANGO_DATABASE`, `ARANGO_USERNAME`, `ARANGO_PASSWORD`. The user, password and database may
 * also be in the URL (`http://user:password@host:8529/database`); a part given both ways must
 * be the same both ways. A password in its own variable needs no URL escaping.
 */
export interface ArangoSettings {
  readonly url: string;
  readonly database?: string | undefined;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
}

/** The variables that make up the settings, as the environment has them (empty: unset). */
export const ARANGO_VARIABLES = [
  'ARANGO_URL',
  'ARANGO_DATABASE',
  'ARANGO_USERNAME',
  'ARANGO_PASSWORD',
] as const;

/** The settings from an environment; undefined without `ARANGO_URL` (where the server is). */
export function arangoSettingsOf(
  env: Partial<Record<string, string | undefined>>,
): ArangoSettings | undefined {
  const get = (name: string): string | undefined => env[name] || undefined;
  const url = get('ARANGO_URL');
  if (url === undefined) return undefined;
  return {
    url,
    database: get('ARANGO_DATABASE'),
    username: get('ARANGO_USERNAME'),
    password: get('ARANGO_PASSWORD'),
  };
}

/**
 * ArangoDB's connection settings. Every message starts with the variable it is about and
 * never repeats a password (nor the URL, which may hold one).
 */
export function arangoConnection(settings: ArangoSettings | string): {
  readonly config: ConfigOptions;
  readonly databaseName: string;
  /** The URL without credentials: safe to log. */
  readonly display: string;
} {
  const s: ArangoSettings = typeof settings === 'string' ? { url: settings } : settings;
  let u: URL;
  try {
    u = new URL(s.url);
  } catch {
    throw new Error(
      'ARANGO_URL is not a URL (expected http(s)://host:8529, or http(s)://user:password@host:8529/database)',
    );
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new Error('ARANGO_URL must start with http:// or https://');
  let inUrl: { username: string; password: string; database: string };
  try {
    inUrl = {
      username: decodeURIComponent(u.username),
      password: decodeURIComponent(u.password),
      database: decodeURIComponent(u.pathname.replace(/^\/+|\/+$/g, '').replace(/^_db\//, '')),
    };
  } catch {
    throw new Error(
      "ARANGO_URL: its user, password or database has a '%' that starts no escape: write % as %25 (and @ as %40), or set ARANGO_PASSWORD instead",
    );
  }
  const both = (variable: string, part: string, own: string | undefined, fromUrl: string) => {
    if (own && fromUrl && own !== fromUrl)
      throw new Error(
        `${variable} differs from the ${part} in ARANGO_URL: set it in one place (or the same in both)`,
      );
    return own || fromUrl;
  };
  const databaseName =
    both('ARANGO_DATABASE', 'database', s.database, inUrl.database) || 'floorsync';
  if (!/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(databaseName))
    // The URL's path is not repeated: a password with an unescaped / ends up in it.
    throw new Error(
      s.database
        ? `ARANGO_DATABASE names an invalid database: ${databaseName} (a letter, then up to 63 letters, digits, _ or -)`
        : 'ARANGO_URL: its path is not a database name (a letter, then up to 63 letters, digits, _ or -); a password with / @ : # ? must be URL-encoded there, or set ARANGO_PASSWORD instead',
    );
  // ArangoDB's own first user, as its driver assumes too, when only a password is given.
  const username = both('ARANGO_USERNAME', 'user', s.username, inUrl.username);
  const password = both('ARANGO_PASSWORD', 'password', s.password, inUrl.password);
  const url = `${u.protocol}//${u.host}`;
  return {
    config: {
      url,
      ...(username || password ? { auth: { username: username || 'root', password } } : {}),
      // One request at a time per transaction anyway; a few for reads and catch-up.
      poolSize: 4,
      // Well above the lock timeout (below): a begin that waits for the lock is answered by
      // the server (granted or refused) before the driver gives up on it, so no transaction
      // the driver does not know of is left holding the lock.
      timeout: 90_000,
    },
    databaseName,
    display: `${url}/${databaseName}`,
  };
}
