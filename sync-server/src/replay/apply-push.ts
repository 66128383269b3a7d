import { timingSafeEqual } from 'node:crypto';
import type { PushMutation, Role } from '@floorsync/domain';
import { roleAllows } from '@floorsync/domain';
import { forbidden } from '../http/problem.js';
import type { DeviceRow, WriteTx } from '../storage/port.js';
import type { PushActor, PushOutcome, ReplayDeps } from './push.js';
import { foreignClients, replayPush } from './push.js';

/** The session a push arrives with, as much of it as the write needs. */
export interface PushSession extends PushActor {
  readonly tokenHash: string;
  /** The device the session is bound to; null until its first sync binds it. */
  readonly clientGroupID: string | null;
}

/** A validated push request from an authenticated session. */
export interface AuthenticatedPush {
  readonly clientGroupID: string;
  readonly mutations: readonly PushMutation[];
  readonly session: PushSession;
}

/**
 * Client groups and client IDs of the server's own work: `job-<id>` (a job's client, whose
 * `lastMutationID` is how far the job got), `erp-…` (the ERP exchange), `labels`, `server`
 * (the bootstrap). Only the worker account (a supervisor) and people with a supervisor's rights
 * sync as them: an operator naming one could push junk on a job's client until it looked done
 * (a count session's id, and so its job's client, reaches every device), or claim its client ID
 * for their device so the job's pushes were refused. A device's own IDs (`g-…`, `c-…`) are
 * never in this space.
 */
export const isServiceClient = (id: string): boolean =>
  id === 'server' || id === 'labels' || id.startsWith('job-') || id.startsWith('erp-');

/**
 * Refuses (403) a sign-in naming a device that has a secret without presenting it (`presented`:
 * the SHA-256 hex of what the sign-in gave). A device without one is taken as it comes (a
 * third-party client, or an installation from before secrets): a secret is bound only at a
 * group's first sign-in (app.ts, login).
 */
export function refuseWrongSecret(
  device: Pick<DeviceRow, 'secretHash'> | undefined,
  presented: string | undefined,
): void {
  const expected = device?.secretHash;
  if (!expected) return;
  const ok =
    presented !== undefined &&
    presented.length === expected.length &&
    timingSafeEqual(Buffer.from(presented), Buffer.from(expected));
  if (!ok)
    throw forbidden(
      'this device signs in with the secret it keeps since its first sign-in: sign in on the device itself',
      'DEVICE_SECRET',
    );
}

/** Refuses (403) a service client group or client ID to an operator. */
export function refuseServiceClients(role: Role, ids: Iterable<string>): void {
  if (roleAllows(role, 'supervisor')) return;
  for (const id of ids)
    if (isServiceClient(id))
      throw forbidden(
        `'${id.slice(0, 64)}' is the server's own client; a device cannot use it`,
        'SERVICE_CLIENT',
      );
}

/**
 * A session serves one device (client group): the one given at login, else the first it
 * syncs with. Checked and bound inside the write transaction, so two first requests racing
 * with different groups cannot both win. A revoked device is refused.
 */
export function checkAndBind(
  tx: WriteTx,
  session: Pick<PushSession, 'userId' | 'role' | 'tokenHash' | 'clientGroupID'>,
  clientGroupID: string,
  now: () => Date,
): void {
  // A binding never changes once made: only an unbound session needs the stored truth.
  refuseServiceClients(session.role, [clientGroupID]);
  const bound = session.clientGroupID ?? tx.session(session.tokenHash)?.clientGroupID ?? null;
  if (bound !== null && bound !== clientGroupID)
    throw forbidden('this session belongs to another device', 'OTHER_DEVICE');
  const device = tx.device(clientGroupID);
  if (device?.revokedAt)
    throw forbidden('this device has been revoked; ask an admin', 'DEVICE_REVOKED');
  if (bound === null) {
    // A session signed in without naming a device cannot take one that has a secret.
    if (device?.secretHash)
      throw forbidden(
        'this device signs in with its own secret: sign in on the device',
        'DEVICE_SECRET',
      );
    tx.bindSession(session.tokenHash, clientGroupID);
    tx.touchDevice(clientGroupID, session.userId, now().toISOString(), 'login');
  }
}

/**
 * The whole write of one push, inside one write of the group commit: the device check, the
 * clients' ownership, the replay.
 */
export function applyPush(tx: WriteTx, request: AuthenticatedPush, deps: ReplayDeps): PushOutcome {
  checkAndBind(tx, request.session, request.clientGroupID, deps.now);
  refuseServiceClients(
    request.session.role,
    request.mutations.map((m) => m.clientID),
  );
  const foreign = foreignClients(tx, request.clientGroupID, request.mutations);
  if (foreign.length > 0)
    throw forbidden(`client ${foreign[0]} belongs to another device`, 'FOREIGN_CLIENT');
  return replayPush(
    tx,
    {
      clientGroupID: request.clientGroupID,
      mutations: request.mutations,
      session: { userId: request.session.userId, role: request.session.role },
    },
    deps,
  );
}
