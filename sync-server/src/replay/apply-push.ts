import type { PushMutation } from '@floorsync/domain';
import { forbidden } from '../http/problem.js';
import type { WriteTx } from '../storage/port.js';
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
 * A session serves one device (client group): the one given at login, else the first it
 * syncs with. Checked and bound inside the write transaction, so two first requests racing
 * with different groups cannot both win. A revoked device is refused.
 */
export function checkAndBind(
  tx: WriteTx,
  session: Pick<PushSession, 'userId' | 'tokenHash' | 'clientGroupID'>,
  clientGroupID: string,
  now: () => Date,
): void {
  // A binding never changes once made: only an unbound session needs the stored truth.
  const bound = session.clientGroupID ?? tx.session(session.tokenHash)?.clientGroupID ?? null;
  if (bound !== null && bound !== clientGroupID)
    throw forbidden('this session belongs to another device');
  if (tx.device(clientGroupID)?.revokedAt)
    throw forbidden('this device has been revoked; ask an admin');
  if (bound === null) {
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
  const foreign = foreignClients(tx, request.clientGroupID, request.mutations);
  if (foreign.length > 0) throw forbidden(`client ${foreign[0]} belongs to another device`);
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
