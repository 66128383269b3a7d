import { z } from 'zod';
import {
  itemIdSchema,
  lotSchema,
  positionIdSchema,
  serialSchema,
  userIdSchema,
} from '../shared/ids.js';
import { QTY_MAX } from '../shared/quantity.js';

/**
 * Counting-session commands (DOMAIN.md, "Counting (stocktake)"). Mutation names are a public
 * API: imperative camelCase, never renamed.
 *
 * Two kinds of command live here. What an operator reports from the floor — starting a
 * position, a count, "position confirmed empty", finishing a position — is a physical fact:
 * recorded even when the session moved on (then flagged). Everything else is a supervisor's
 * intent, always decided strictly: closing a closed session is a stale intent.
 */

/** A session's id: a UUID minted by the supervisor's device. */
export const countSessionIdSchema = z
  .uuid({ error: 'sessionId must be a UUID' })
  .brand<'CountSessionId'>();
export type CountSessionId = z.infer<typeof countSessionIdSchema>;
/** Trusted cast for values already validated elsewhere (rows read back, constants). */
export const asCountSessionId = (s: string) => s as CountSessionId;

/** `blind`: the device does not show the expected quantity (it still records it); `open`: it does. */
export const COUNT_MODES = ['blind', 'open'] as const;
export const countModeSchema = z.enum(COUNT_MODES, {
  error: `mode must be one of: ${COUNT_MODES.join(', ')}`,
});
export type CountMode = z.infer<typeof countModeSchema>;

/**
 * Why counted stock differs from the books: required on approval for every line with a
 * variance. The stock adjustment itself always carries the reason `count-correction`; this
 * code says what the count revealed.
 */
export const VARIANCE_REASONS = [
  'damaged',
  'lost',
  'theft',
  'found',
  'misplaced',
  'receiving-error',
  'picking-error',
  'unrecorded-movement',
  'unexplained',
] as const;
export const varianceReasonSchema = z.enum(VARIANCE_REASONS, {
  error: `reason must be one of: ${VARIANCE_REASONS.join(', ')}`,
});
export type VarianceReason = z.infer<typeof varianceReasonSchema>;

/**
 * What to do with a count whose pair moved between the count and the apply:
 * - `keep-delta`: apply `counted − expected-at-count-time` to current stock (the default: the
 *   movements the count did not see are kept);
 * - `keep-counted`: set stock to what was counted (the count already saw those movements).
 */
export const RACE_CHOICES = ['keep-delta', 'keep-counted'] as const;
export const raceChoiceSchema = z.enum(RACE_CHOICES, {
  error: `choice must be one of: ${RACE_CHOICES.join(', ')}`,
});
export type RaceChoice = z.infer<typeof raceChoiceSchema>;

/** Positions or items in a session's scope, at most. */
export const COUNT_SCOPE_MAX = 10_000;
/** Serials in one count (a cage of phones, a pallet of meters). */
export const COUNT_SERIALS_MAX = 10_000;

const noteSchema = z.string().trim().max(500);
const lineNoSchema = z
  .int({ error: 'lineNo must be a whole number' })
  .min(1, 'lineNo must be at least 1');

const countedSchema = z
  .number({ error: 'counted must be a number' })
  .min(0, 'counted must be 0 or more')
  .max(QTY_MAX, `counted must be at most ${QTY_MAX}`);

/** What the device held: may be negative (a replica shows flagged negative stock as such). */
const expectedSchema = z
  .number({ error: 'expected must be a number' })
  .min(-QTY_MAX, `expected must be at least ${-QTY_MAX}`)
  .max(QTY_MAX, `expected must be at most ${QTY_MAX}`);

const serialsSchema = z.array(serialSchema).max(COUNT_SERIALS_MAX);

/** Issues for values listed twice: `<path>.<i>: <v> appears twice`. */
function unique(
  values: readonly string[] | undefined,
  path: (string | number)[],
  ctx: z.RefinementCtx,
): void {
  const seen = new Set<string>();
  values?.forEach((v, i) => {
    if (seen.has(v))
      ctx.addIssue({ code: 'custom', path: [...path, i], message: `${v} appears twice` });
    seen.add(v);
  });
}

/**
 * A count is a quantity (`counted` and `expected`) or, for a serialized item, a set of serials
 * (`serials` and `expectedSerials`): never both, never half of one.
 */
function countForm(
  v: {
    readonly counted?: number | undefined;
    readonly expected?: number | undefined;
    readonly serials?: readonly string[] | undefined;
    readonly expectedSerials?: readonly string[] | undefined;
  },
  ctx: z.RefinementCtx,
): void {
  const bySerial = v.serials !== undefined || v.expectedSerials !== undefined;
  if (bySerial) {
    if (v.serials === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['serials'],
        message: 'the serials found are required (an empty list when none)',
      });
    if (v.expectedSerials === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['expectedSerials'],
        message: 'the serials the device expected are required (an empty list when none)',
      });
    for (const k of ['counted', 'expected'] as const) {
      if (v[k] !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: [k],
          message: 'a serial count lists serials, not a quantity',
        });
    }
    unique(v.serials, ['serials'], ctx);
    unique(v.expectedSerials, ['expectedSerials'], ctx);
    return;
  }
  if (v.counted === undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['counted'],
      message: 'how many were counted is required (or serials, for a serialized item)',
    });
  if (v.expected === undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['expected'],
      message: 'the quantity the device held when counting is required',
    });
}

export const planCountSessionArgs = z
  .strictObject({
    sessionId: countSessionIdSchema,
    /** What people call it (`C-12`); unique. */
    code: z.string().trim().min(1, 'code must not be empty').max(64),
    /** The scope: positions (everything in them) or items (wherever they are). Exactly one. */
    positionIds: z
      .array(positionIdSchema)
      .min(1, 'positionIds must name at least one position')
      .max(COUNT_SCOPE_MAX, `a session counts at most ${COUNT_SCOPE_MAX} positions`)
      .optional(),
    itemIds: z
      .array(itemIdSchema)
      .min(1, 'itemIds must name at least one item')
      .max(COUNT_SCOPE_MAX, `a session counts at most ${COUNT_SCOPE_MAX} items`)
      .optional(),
    mode: countModeSchema,
    /**
     * A count whose variance is larger than this (in quantity, or in percent of what was
     * expected) must be recounted by someone else before approval. Absent: no recounts.
     */
    recountAbove: z
      .strictObject({
        quantity: z
          .number({ error: 'quantity must be a number' })
          .min(0, 'quantity must be 0 or more')
          .optional(),
        percent: z
          .number({ error: 'percent must be a number' })
          .min(0, 'percent must be 0 or more')
          .max(1000, 'percent must be at most 1000')
          .optional(),
      })
      .optional(),
    note: noteSchema.optional(),
  })
  .superRefine((v, ctx) => {
    if ((v.positionIds === undefined) === (v.itemIds === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: 'the scope is positionIds or itemIds: give exactly one of them',
      });
    }
    unique(v.positionIds, ['positionIds'], ctx);
    unique(v.itemIds, ['itemIds'], ctx);
  });

export const assignCountSessionArgs = z
  .strictObject({
    sessionId: countSessionIdSchema,
    /** Everyone assigned (replaces the previous set; empty unassigns all). */
    userIds: z.array(userIdSchema).max(200, 'at most 200 people per session'),
  })
  .superRefine((v, ctx) => unique(v.userIds, ['userIds'], ctx));

export const startCountSessionArgs = z.strictObject({ sessionId: countSessionIdSchema });
export const closeCountSessionArgs = z.strictObject({ sessionId: countSessionIdSchema });
export const cancelCountSessionArgs = z.strictObject({
  sessionId: countSessionIdSchema,
  note: noteSchema.optional(),
});

/** An operator starts counting a position (shown as "in progress" until finished or released). */
export const startPositionCountArgs = z.strictObject({
  sessionId: countSessionIdSchema,
  positionId: positionIdSchema,
});

/** An operator is done with a position (what they found is in their counts). */
export const finishPositionCountArgs = z.strictObject({
  sessionId: countSessionIdSchema,
  positionId: positionIdSchema,
});

/**
 * One count of a (position, item, lot) pair. `expected` is what the device held for the pair
 * when counting — shown in open mode, hidden in blind mode, recorded in both: the adjustment is
 * `counted − expected`, applied to stock as it is at apply time.
 */
export const recordCountArgs = z
  .strictObject({
    sessionId: countSessionIdSchema,
    positionId: positionIdSchema,
    itemId: itemIdSchema,
    lot: lotSchema.optional(),
    counted: countedSchema.optional(),
    expected: expectedSchema.optional(),
    serials: serialsSchema.optional(),
    expectedSerials: serialsSchema.optional(),
  })
  .superRefine(countForm);

const expectedLineSchema = z
  .strictObject({
    itemId: itemIdSchema,
    lot: lotSchema.optional(),
    quantity: expectedSchema.optional(),
    serials: serialsSchema.optional(),
  })
  .superRefine((v, ctx) => {
    if ((v.quantity === undefined) === (v.serials === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: 'give the quantity the device expected, or its serials for a serialized item',
      });
    }
    unique(v.serials, ['serials'], ctx);
  });

/**
 * "Position confirmed empty": a count of zero for everything the device expected there
 * (`expected` empty when it expected nothing — the position is then counted as empty).
 */
export const confirmPositionEmptyArgs = z
  .strictObject({
    sessionId: countSessionIdSchema,
    positionId: positionIdSchema,
    expected: z.array(expectedLineSchema).max(1000, 'at most 1000 expected lines'),
  })
  .superRefine((v, ctx) => {
    const seen = new Set<string>();
    v.expected.forEach((l, i) => {
      const key = `${l.itemId}\u0000${l.lot ?? ''}`;
      if (seen.has(key)) {
        ctx.addIssue({
          code: 'custom',
          path: ['expected', i],
          message: `${l.itemId}${l.lot !== undefined ? ` lot ${l.lot}` : ''} appears twice`,
        });
      }
      seen.add(key);
    });
  });

/** A supervisor frees a position a dead (or lost) device left "in progress". */
export const releasePositionCountArgs = z.strictObject({
  sessionId: countSessionIdSchema,
  positionId: positionIdSchema,
  userId: userIdSchema,
  note: noteSchema.optional(),
});

/** A supervisor takes one person's count of a line as the truth (a disagreement, a recount waived). */
export const acceptCountArgs = z.strictObject({
  sessionId: countSessionIdSchema,
  lineNo: lineNoSchema,
  countedBy: userIdSchema,
  note: noteSchema.optional(),
});

/** A supervisor decides a raced line (before its apply, or after it: then stock is corrected). */
export const decideCountRaceArgs = z.strictObject({
  sessionId: countSessionIdSchema,
  lineNo: lineNoSchema,
  choice: raceChoiceSchema,
  note: noteSchema.optional(),
});

export const approveCountSessionArgs = z
  .strictObject({
    sessionId: countSessionIdSchema,
    /** The reason for every line with a variance that `reasons` does not name. */
    reason: varianceReasonSchema.optional(),
    reasons: z
      .array(z.strictObject({ lineNo: lineNoSchema, reason: varianceReasonSchema }))
      .max(COUNT_SCOPE_MAX * 10)
      .optional(),
    note: noteSchema.optional(),
  })
  .superRefine((v, ctx) => {
    const seen = new Set<number>();
    v.reasons?.forEach((r, i) => {
      if (seen.has(r.lineNo)) {
        ctx.addIssue({
          code: 'custom',
          path: ['reasons', i, 'lineNo'],
          message: `line ${r.lineNo} has two reasons`,
        });
      }
      seen.add(r.lineNo);
    });
  });

/**
 * Applies one line of an approved session: the worker job sends line k as mutation k of its
 * own client, so a restarted job resumes after the last one the server applied.
 */
export const applyCountRecordArgs = z.strictObject({
  sessionId: countSessionIdSchema,
  lineNo: lineNoSchema,
});

/** A supervisor gives up on a line whose apply failed (or will not be applied): the session can finish. */
export const skipCountRecordArgs = z.strictObject({
  sessionId: countSessionIdSchema,
  lineNo: lineNoSchema,
  note: z.string().trim().min(1, 'say why the line is skipped').max(500),
});

/** Name → args schema, for the replay's command table. */
export const countingCommandArgs = {
  planCountSession: planCountSessionArgs,
  assignCountSession: assignCountSessionArgs,
  startCountSession: startCountSessionArgs,
  closeCountSession: closeCountSessionArgs,
  cancelCountSession: cancelCountSessionArgs,
  startPositionCount: startPositionCountArgs,
  recordCount: recordCountArgs,
  confirmPositionEmpty: confirmPositionEmptyArgs,
  finishPositionCount: finishPositionCountArgs,
  releasePositionCount: releasePositionCountArgs,
  acceptCount: acceptCountArgs,
  decideCountRace: decideCountRaceArgs,
  approveCountSession: approveCountSessionArgs,
  applyCountRecord: applyCountRecordArgs,
  skipCountRecord: skipCountRecordArgs,
} as const;

export type CountingCommandName = keyof typeof countingCommandArgs;
export type CountingCommand = {
  [N in CountingCommandName]: {
    readonly name: N;
    readonly args: z.infer<(typeof countingCommandArgs)[N]>;
  };
}[CountingCommandName];
export type CountingCommandArgs<N extends CountingCommandName> = z.infer<
  (typeof countingCommandArgs)[N]
>;

/** Counting commands that report what happened on the floor (decided in the replay's fact mode). */
export const COUNTING_FACTS: ReadonlySet<CountingCommandName> = new Set<CountingCommandName>([
  'startPositionCount',
  'recordCount',
  'confirmPositionEmpty',
  'finishPositionCount',
]);

export const isCountingCommandName = (name: string): name is CountingCommandName =>
  Object.hasOwn(countingCommandArgs, name);
