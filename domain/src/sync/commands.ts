import { z } from 'zod';
import { conflictIdSchema } from '../shared/ids.js';

/** The four ways an admin settles a conflict; each is itself recorded as an event. */
export const RESOLUTION_ACTIONS = ['accept', 'compensate', 'reapply', 'dismiss'] as const;
export const resolutionActionSchema = z.enum(RESOLUTION_ACTIONS);
export type ResolutionAction = z.infer<typeof resolutionActionSchema>;

/** A command carried inside another (a compensation, a corrected re-application). */
export const embeddedCommandSchema = z.strictObject({
  name: z.string().min(1).max(64),
  args: z.record(z.string(), z.unknown()),
});

export const resolveConflictArgs = z
  .strictObject({
    conflictId: conflictIdSchema,
    action: resolutionActionSchema,
    note: z.string().trim().min(1, 'a resolution needs a note').max(2000),
    /**
     * `compensate`: the compensating command (`{ name, args }`, e.g. an `adjustStock`).
     * `reapply`: the corrected args of the conflict's original mutation.
     */
    args: z.record(z.string(), z.unknown()).optional(),
  })
  .superRefine((v, ctx) => {
    if ((v.action === 'compensate' || v.action === 'reapply') && v.args === undefined) {
      ctx.addIssue({ code: 'custom', path: ['args'], message: `${v.action} needs args` });
    }
  });

export const syncCommandArgs = {
  resolveConflict: resolveConflictArgs,
} as const;

export type SyncCommandName = keyof typeof syncCommandArgs;
export type SyncCommand = {
  [N in SyncCommandName]: { readonly name: N; readonly args: z.infer<(typeof syncCommandArgs)[N]> };
}[SyncCommandName];
