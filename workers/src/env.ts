/**
 * The environment without its empty variables: `VAR=` (in an `.env` file, or `${VAR:-}` in a
 * Compose file) means "not set", so the default applies — and so does a value of only blanks
 * (`PORT=" "` would otherwise be port 0, `NATS_URL=" "` NATS at no address). The sync server
 * and the worker read their environment through this.
 */
export const withoutEmpty = (env: NodeJS.ProcessEnv): Record<string, string> =>
  Object.fromEntries(
    Object.entries(env).filter(
      (e): e is [string, string] => e[1] !== undefined && e[1].trim() !== '',
    ),
  );

/**
 * Why a URL setting that carries a user or password is refused, or `null`: `fetch` refuses such
 * URLs and names them whole in its error, which would put the password into every retry's log
 * line. `instead` says where the credentials go. (The message names no value.)
 */
export function credentialsInUrl(url: string, instead: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null; // not a URL at all: the setting's own check says so
  }
  return u.username !== '' || u.password !== ''
    ? `must not carry a user or password: ${instead}`
    : null;
}

/**
 * Why a value cannot be sent as an HTTP header, or `null`: a line break inside it or a
 * character above U+00FF (`fetch` would fail every request, with the value in its message).
 * Whitespace around it is fine — `fetch` drops it (a secret file's last newline, CRLF lines).
 */
export function badHeaderValue(value: string): string | null {
  const inner = value.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');
  return /^[\t\x20-\x7e\x80-\xff]*$/.test(inner)
    ? null
    : 'must be one line of Latin-1 text (no line break): it is sent as an HTTP header';
}

/** The ERP export's settings, checked alike by the server (embedded) and the worker. */
export function erpExportProblems(e: {
  ERP_EXPORT_DIR?: string | undefined;
  ERP_EXPORT_URL?: string | undefined;
  ERP_EXPORT_AUTHORIZATION?: string | undefined;
}): ConfigProblem[] {
  const found: ConfigProblem[] = [];
  if (e.ERP_EXPORT_DIR && e.ERP_EXPORT_URL)
    found.push({
      path: 'ERP_EXPORT_DIR, ERP_EXPORT_URL',
      message: 'the export goes to a folder or to a URL: set one of them',
    });
  if (e.ERP_EXPORT_AUTHORIZATION && !e.ERP_EXPORT_URL)
    found.push({
      path: 'ERP_EXPORT_AUTHORIZATION',
      message: 'is sent with ERP_EXPORT_URL only: set that too, or leave this unset',
    });
  if (e.ERP_EXPORT_URL && !/^https?:\/\//i.test(e.ERP_EXPORT_URL.trim()))
    found.push({
      path: 'ERP_EXPORT_URL',
      message: 'must start with http:// or https:// (e.g. https://erp.example/floorsync)',
    });
  const url =
    e.ERP_EXPORT_URL &&
    credentialsInUrl(
      e.ERP_EXPORT_URL,
      'put them in ERP_EXPORT_AUTHORIZATION (e.g. "Basic " and the base64 of user:password)',
    );
  if (url) found.push({ path: 'ERP_EXPORT_URL', message: url });
  const header = e.ERP_EXPORT_AUTHORIZATION && badHeaderValue(e.ERP_EXPORT_AUTHORIZATION);
  if (header) found.push({ path: 'ERP_EXPORT_AUTHORIZATION', message: header });
  return found;
}

/** A setting's problem: the variable and why (never its value). */
export interface ConfigProblem {
  readonly path: string;
  readonly message: string;
}

/**
 * Every problem of a configuration as one error, a line each naming its variable (the schema's
 * issues, then checks of the raw values), or `null` when there is none. The server and the
 * worker report alike.
 */
export function configurationError(
  issues: readonly { readonly path: readonly PropertyKey[]; readonly message: string }[],
  more: readonly ConfigProblem[] = [],
): Error | null {
  const all = [
    ...issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
    ...more,
  ];
  return all.length === 0
    ? null
    : new Error(
        `invalid configuration:\n${all.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`,
      );
}
