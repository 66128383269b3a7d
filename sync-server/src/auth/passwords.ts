import { hash, verify } from '@node-rs/argon2';

/** `Algorithm.Argon2id` (a const enum, which verbatimModuleSyntax cannot import). */
const ARGON2ID = 2;

/**
 * Passwords are stored as Argon2id PHC strings (memory-hard; OWASP's first choice).
 * Parameters: 19 MiB, 2 passes, 1 lane — OWASP's recommended minimum, ~20 ms here.
 */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hashed: string, password: string): Promise<boolean>;
}

export function argon2Hasher(
  params: { memoryCost?: number; timeCost?: number } = {},
): PasswordHasher {
  const options = {
    algorithm: ARGON2ID,
    memoryCost: params.memoryCost ?? 19_456,
    timeCost: params.timeCost ?? 2,
    parallelism: 1,
  };
  return {
    hash: (password) => hash(password, options),
    verify: async (hashed, password) => {
      try {
        return await verify(hashed, password);
      } catch {
        return false; // a malformed stored hash never authenticates
      }
    },
  };
}
