/**
 * The environment without its empty variables: `VAR=` (in an `.env` file, or `${VAR:-}` in a
 * Compose file) means "not set", so the default applies. The sync server and the worker read
 * their environment through this.
 */
export const withoutEmpty = (env: NodeJS.ProcessEnv): Record<string, string> =>
  Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''),
  );
