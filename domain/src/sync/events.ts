import { z } from 'zod';
import { conflictIdSchema } from '../shared/ids.js';
import { conflictKindSchema, rejectionCodeSchema } from '../shared/decision.js';
import { resolutionActionSchema } from './commands.js';

/**
 * A mutation as pushed. The conflict keeps its args whole (bar args nested more than 64 levels
 * deep); the rejection's event, which every device pulls, bounds them (64 KB) and the name (128
 * characters): see `sync-server/src/replay/push.ts`.
 */
export const recordedMutationSchema = z.object({
  clientID: z.string(),
  id: z.int(),
  name: z.string(),
  args: z.unknown(),
  timestamp: z.number().optional(),
  userID: z.string().optional(),
  occurredAt: z.string().optional(),
});
export type RecordedMutation = z.infer<typeof recordedMutationSchema>;

export const mutationRejectedData = z.object({
  mutation: recordedMutationSchema,
  code: rejectionCodeSchema,
  message: z.string(),
  conflictKind: conflictKindSchema,
});

export const conflictResolvedData = z.object({
  conflictId: conflictIdSchema,
  action: resolutionActionSchema,
  note: z.string(),
  /** The compensating or re-applied command, when the action ran one. */
  command: z.object({ name: z.string(), args: z.unknown() }).optional(),
});

export const syncEventData = {
  MutationRejected: mutationRejectedData,
  ConflictResolved: conflictResolvedData,
} as const;

export type SyncEventType = keyof typeof syncEventData;
export type SyncEvent = {
  [T in SyncEventType]: { readonly type: T; readonly data: z.infer<(typeof syncEventData)[T]> };
}[SyncEventType];
