import { z } from 'zod';
import { roleSchema } from '../shared/roles.js';

/**
 * Sync protocol v1 — the wire contract (design/SYNC-PROTOCOL.md): Replicache push/pull v1
 * with additive fields. These schemas are validated at the server's edge and by the client
 * when reading answers. `protocol.test.ts` pins their JSON Schema: a change to this file that
 * alters the wire shows up as a failing snapshot and must be a deliberate, additive one.
 */

export const PUSH_VERSION = 1;
export const PULL_VERSION = 1;
export const SCHEMA_VERSION = '1';
/** Limits of one push request; above them the server answers 413. */
export const MAX_MUTATIONS_PER_PUSH = 1000;
/** 5 MB as the contract says it: decimal megabytes (5,000,000 bytes), not MiB. */
export const MAX_PUSH_BYTES = 5_000_000;
export const DEFAULT_PULL_LIMIT = 2000;

const opaque = z.string().min(1).max(128);

// ─── Push ───────────────────────────────────────────────────────────────────────────────────

/**
 * One mutation as the envelope check sees it. `name` and `args` are only checked for shape
 * here; whether the command exists and its args are valid is decided per mutation, so a bad
 * one becomes a recorded rejection instead of failing the whole batch.
 */
export const pushMutationSchema = z.looseObject({
  clientID: opaque,
  id: z.int().min(1),
  /** Any string: an unknown name (however long) is a per-mutation rejection, not a 400. */
  name: z.string(),
  args: z.record(z.string(), z.unknown()),
  /** Any finite number; never used for ordering (Replicache sends a page-relative clock). */
  timestamp: z.number().optional(),
  /** Additive: who scanned it, for shared handhelds (absent → the pushing session's user). */
  userID: z.string().max(128).optional(),
  /** Additive: device time of the scan, ISO 8601. */
  occurredAt: z.string().max(64).optional(),
});
export type PushMutation = z.infer<typeof pushMutationSchema>;

export const pushRequestSchema = z.looseObject({
  pushVersion: z.number(),
  clientGroupID: opaque,
  profileID: z.string().max(128).optional(),
  schemaVersion: z.string().max(64).optional(),
  mutations: z.array(pushMutationSchema),
});
export type PushRequest = z.infer<typeof pushRequestSchema>;

export const MUTATION_STATUSES = ['applied', 'rejected', 'duplicate', 'gap'] as const;
export type MutationStatus = (typeof MUTATION_STATUSES)[number];

export const mutationResultSchema = z.object({
  clientID: z.string(),
  id: z.int(),
  status: z.enum(MUTATION_STATUSES),
  seqs: z.array(z.int()).optional(),
  conflicts: z.array(z.string()).optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  /** With `gap`: the id the server expects next from this client. */
  expectedID: z.int().optional(),
});
export type MutationResult = z.infer<typeof mutationResultSchema>;

export const pushResponseSchema = z.object({
  results: z.array(mutationResultSchema),
  head: z.int().min(0),
});
export type PushResponse = z.infer<typeof pushResponseSchema>;

/** Replicache-protocol errors, answered with 200 as Replicache expects. */
export const versionNotSupportedSchema = z.object({
  error: z.literal('VersionNotSupported'),
  versionType: z.enum(['push', 'pull', 'schema']),
});
export const clientStateNotFoundSchema = z.object({ error: z.literal('ClientStateNotFound') });

// ─── Pull ───────────────────────────────────────────────────────────────────────────────────

/** While a reset snapshot comes in pages the cookie is an object (Replicache allows it). */
export const snapshotCookieSchema = z.looseObject({
  order: z.int().min(0),
  /** Where the snapshot continues. */
  after: z.string().max(512).optional(),
});
export const cookieSchema = z.union([z.null(), z.int().min(0), snapshotCookieSchema]);
export type Cookie = z.infer<typeof cookieSchema>;

/** The most events a pull page may be asked for. */
export const MAX_PULL_LIMIT = 10_000;

export const pullRequestSchema = z.looseObject({
  pullVersion: z.number(),
  clientGroupID: opaque,
  cookie: cookieSchema,
  profileID: z.string().max(128).optional(),
  schemaVersion: z.string().max(64).optional(),
  /** Additive: page size; the server takes more than `MAX_PULL_LIMIT` as that (a hint). */
  limit: z.int().min(1).optional(),
});
export type PullRequest = z.infer<typeof pullRequestSchema>;

export const patchOpSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('put'), key: z.string(), value: z.unknown() }),
  z.object({ op: z.literal('del'), key: z.string() }),
  z.object({ op: z.literal('clear') }),
]);
export type PatchOp = z.infer<typeof patchOpSchema>;

export const pullResponseSchema = z.object({
  cookie: cookieSchema,
  lastMutationIDChanges: z.record(z.string(), z.int().min(0)),
  patch: z.array(patchOpSchema),
  hasMore: z.boolean().optional(),
});
export type PullResponse = z.infer<typeof pullResponseSchema>;

/** Key of an event in a pull patch: `e/` + 12-digit zero-padded seq, so keys sort by seq. */
export const eventKey = (seq: number): string => `e/${String(seq).padStart(12, '0')}`;
/** Key of a snapshot entry in a reset answer. */
export const snapshotKey = (kind: string, id: string): string => `s/${kind}/${id}`;

// ─── Events on the wire ─────────────────────────────────────────────────────────────────────

export const eventMetaSchema = z.looseObject({
  clientID: z.string(),
  mutationID: z.int().min(0),
  userId: z.string(),
  /** Device time of the scan (ISO 8601); `recordedAt` when the device sent none. */
  occurredAt: z.string(),
  /** Server time of the commit (ISO 8601). Ordering follows `seq`, never these. */
  recordedAt: z.string(),
  /** Conflicts this event opened or joined. */
  conflicts: z.array(z.string()),
  /** Additive: set when `occurredAt` was not a plausible device time (clock skew). */
  occurredAtImplausible: z.boolean().optional(),
});
export type EventMeta = z.infer<typeof eventMetaSchema>;

export const eventEnvelopeSchema = z.object({
  seq: z.int().min(1),
  id: z.string(),
  type: z.string(),
  data: z.unknown(),
  meta: eventMetaSchema,
});
export type EventEnvelope = z.infer<typeof eventEnvelopeSchema>;

// ─── Errors (RFC 9457) ──────────────────────────────────────────────────────────────────────

export const problemSchema = z.looseObject({
  type: z.string(),
  title: z.string(),
  status: z.int(),
  detail: z.string().optional(),
  code: z.string(),
  instance: z.string().optional(),
  /** A 403's reason (`FORBIDDEN_REASONS`; a client takes one it does not know as none). */
  reason: z.string().optional(),
});
export type Problem = z.infer<typeof problemSchema>;

// ─── Auth ───────────────────────────────────────────────────────────────────────────────────

export const MIN_PASSWORD_LENGTH = 10;

/**
 * Why a 403 `FORBIDDEN` refused, as the problem's `reason` member (additive to the problem
 * document): a client says it in its user's language, where `detail` is the server's English.
 */
export const FORBIDDEN_REASONS = [
  /** An admin revoked this device. */
  'DEVICE_REVOKED',
  /** The session was signed in on (bound to) another device. */
  'OTHER_DEVICE',
  /** The device keeps a secret since its first sign-in, and this sign-in or session lacks it. */
  'DEVICE_SECRET',
  /** A client group or client ID of the server's own (jobs, ERP, labels). */
  'SERVICE_CLIENT',
  /** A client ID that belongs to another device. */
  'FOREIGN_CLIENT',
  /** The user's role may not do this. */
  'ROLE',
] as const;
export type ForbiddenReason = (typeof FORBIDDEN_REASONS)[number];

/**
 * Only types and sizes are a 400: an empty or unknown username or password is wrong
 * credentials (401, no hint which), fields not named here are ignored, and a `null` device is
 * none.
 *
 * `deviceSecret` (additive): a random string the installation made once and keeps with its
 * client group. The sign-in that first names the group (the server has never seen it) binds
 * the secret to it, unless it is a service group; from then on a sign-in naming that group
 * must present the same secret (403 otherwise), so knowing a device's ID is not enough to push
 * on its clients. A group seen before without a secret stays without.
 */
export const loginRequestSchema = z.looseObject({
  username: z.string().max(256),
  password: z.string().max(1024),
  clientGroupID: opaque.nullish(),
  deviceSecret: z.string().min(16).max(256).nullish(),
});
export const publicUserSchema = z.object({
  id: z.string(),
  username: z.string(),
  name: z.string(),
  role: roleSchema,
});
export type PublicUser = z.infer<typeof publicUserSchema>;
export const loginResponseSchema = z.object({ token: z.string(), user: publicUserSchema });
export const ticketResponseSchema = z.object({ ticket: z.string() });

/**
 * What a username may be: letters, digits, dot, dash and underscore, at most 64. The pattern is
 * also an HTML `pattern` (valid with the `v` flag browsers compile it with: the dash escaped).
 */
export const USERNAME_PATTERN = '[a-zA-Z0-9._\\-]+';
export const USERNAME_MAX = 64;

export const createUserRequestSchema = z.strictObject({
  username: z
    .string()
    .min(1)
    .max(USERNAME_MAX)
    .regex(
      new RegExp(`^${USERNAME_PATTERN}$`),
      'username may contain letters, digits, dot, dash and underscore',
    ),
  password: z
    .string()
    .min(MIN_PASSWORD_LENGTH, `password must be at least ${MIN_PASSWORD_LENGTH} characters`)
    .max(256),
  name: z.string().trim().min(1).max(200),
  role: roleSchema,
});
export const updateUserRequestSchema = z.strictObject({
  role: roleSchema.optional(),
  active: z.boolean().optional(),
  name: z.string().trim().min(1).max(200).optional(),
  password: z.string().min(MIN_PASSWORD_LENGTH).max(256).optional(),
});
