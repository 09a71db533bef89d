import { z } from 'zod';
import type { Db } from '../../db/knex';
import { DIRECTIONS } from '../../domain/legs/direction';
import { ROLES } from '../../domain/tenancy/roles';
import { LEG_STATUSES } from '../ledger/ledger.repository';
import { rerateLegs, type RerateCheckpoint } from '../rating/rerate.service';
import type { JobKinds } from '../jobs/jobs.service';
import type { RatingCaches } from '../reference-data/reference-data';
import { outcomeMessage, RERATE_JOB } from './calls.service';

/** A re-rating by selection, as queued: whose it is, who asked (for the audit row) and what it re-rates. */
export const reratePayload = z.object({
  scope: z.discriminatedUnion('kind', [z.object({ kind: z.literal('wholesale') }), z.object({ kind: z.literal('reseller'), resellerId: z.number().int().positive() })]),
  actor: z.object({ userId: z.number().int().positive().nullable(), email: z.string().nullable(), role: z.enum([...ROLES, 'system']) }),
  selection: z
    .object({
      fromMs: z.number().int().optional(),
      toMs: z.number().int().optional(),
      number: z.union([z.string().max(40), z.array(z.string().max(40)).max(4)]).optional(),
      direction: z.enum(DIRECTIONS).optional(),
      answered: z.boolean().optional(),
      subscriberId: z.number().int().positive().optional(),
      carrier: z.string().max(100).optional(),
      statuses: z.array(z.enum(LEG_STATUSES)).optional(),
      resellerId: z.number().int().positive().optional(),
      platformId: z.number().int().positive().optional(),
      reason: z.string().max(200).optional(),
    })
    .strict(),
  /** Legs per transaction (and per checkpoint). */
  batchSize: z.number().int().min(1).max(5000).optional(),
});
export type ReratePayload = z.infer<typeof reratePayload>;

/**
 * Re-rating as a job: resumable. Each batch's charges and the checkpoint (the last leg stored and
 * the counts so far) commit together, so an attempt cut short by a killed process is taken up by
 * another worker after the last stored batch, and the audit row is written once, with the end.
 * (Re-rating a batch twice would give the same charges anyway: they are replaced, never added.)
 */
export function registerRerateJobs(kinds: JobKinds, deps: { db: Db; caches: RatingCaches }): void {
  kinds.register<ReratePayload>({
    kind: RERATE_JOB,
    payload: reratePayload,
    maxAttempts: 5,
    title: () => 'Re-rating calls',
    async run(ctx) {
      const { scope, actor, selection, batchSize } = ctx.payload;
      const outcome = await rerateLegs(deps.db, deps.caches, scope, { filter: selection }, {
        actor: { ...actor, scope },
        batchSize,
        resume: (ctx.checkpoint as RerateCheckpoint | null) ?? undefined,
        checkpoint: async (tx, at) => {
          if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('the worker stopped');
          // Progress through the selection (the later legs of a cycle it brings in are counted apart).
          await ctx.save(tx, { checkpoint: at as unknown as Record<string, unknown>, done: at.outcome.total - (at.outcome.extended ?? 0) });
        },
      });
      return { message: outcomeMessage(outcome), ...outcome, done: outcome.total - outcome.extended };
    },
  });
}
