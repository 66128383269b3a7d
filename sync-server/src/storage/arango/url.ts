import type { ConfigOptions } from 'arangojs/configuration';

// Apart from the store: the configuration check reads it, and the database tool, which loads
// that, should not load the ArangoDB driver to start.

/** ArangoDB's connection settings from `ARANGO_URL` (credentials and database in the URL). */
export function parseArangoUrl(raw: string): {
  readonly config: ConfigOptions;
  readonly databaseName: string;
  /** The URL without credentials: safe to log. */
  readonly display: string;
} {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new Error(
      'ARANGO_URL is not a URL (expected http(s)://user:password@host:8529/database)',
    );
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new Error('ARANGO_URL must start with http:// or https://');
  let username: string;
  let password: string;
  try {
    username = decodeURIComponent(u.username);
    password = decodeURIComponent(u.password);
  } catch {
    throw new Error(
      "ARANGO_URL: its user or password has a '%' that starts no escape: write % as %25 (and @ as %40)",
    );
  }
  const path = u.pathname.replace(/^\/+|\/+$/g, '').replace(/^_db\//, '');
  const databaseName = path === '' ? 'floorsync' : decodeURIComponent(path);
  if (!/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(databaseName))
    throw new Error(`ARANGO_URL names an invalid database: ${databaseName}`);
  const url = `${u.protocol}//${u.host}`;
  return {
    config: {
      url,
      ...(username ? { auth: { username, password } } : {}),
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
