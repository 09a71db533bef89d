import { z } from 'zod';
import type { Db } from '../../db/knex';
import { ROLES } from '../../domain/tenancy/roles';
import type { JobKinds } from '../jobs/jobs.service';
import { belowCostWarning } from './margins.service';
import type { PlanCache } from './plan-cache';
import { DECK_IMPORT_JOB, dropImport, ImportErrors, importDeck, pendingImport } from './rate-plans.service';

export const deckImportPayload = z.object({
  importId: z.number().int().positive(),
  planId: z.number().int().positive(),
  owner: z.discriminatedUnion('kind', [z.object({ kind: z.literal('operator') }), z.object({ kind: z.literal('reseller'), resellerId: z.number().int().positive() })]),
  actor: z.object({ userId: z.number().int().positive().nullable(), email: z.string().nullable(), role: z.enum([...ROLES, 'system']) }),
});
export type DeckImportPayload = z.infer<typeof deckImportPayload>;

/** Refused rows kept in the job's result (the page lists them; the count says how many more). */
const ROW_ERRORS_KEPT = 200;

/**
 * A large deck import as a job: the file waits in rate_plan_imports; the whole deck is validated,
 * then written in one transaction that also deletes the waiting file, so an attempt cut short
 * wrote nothing and the next one starts again, and an attempt after the commit finds no file.
 * Progress (rates written) is saved from another connection while the transaction runs, so the
 * page shows it; the embedded database has one connection, so there it moves at the start and end.
 */
export function registerDeckImportJobs(kinds: JobKinds, deps: { db: Db; cache: PlanCache; embedded?: boolean }): void {
  kinds.register<DeckImportPayload>({
    kind: DECK_IMPORT_JOB,
    payload: deckImportPayload,
    maxAttempts: 3,
    title: () => 'Importing a rate deck',
    async run(ctx) {
      const { importId, planId, owner, actor } = ctx.payload;
      const file = await pendingImport(deps.db, importId);
      if (!file) return { message: 'Nothing to do: this file was imported by an earlier attempt.', ok: true };
      const scope = owner.kind === 'operator' ? { kind: 'wholesale' as const } : { kind: 'reseller' as const, resellerId: owner.resellerId };
      try {
        const result = await importDeck(deps.db, deps.cache, { ...actor, scope }, owner, planId, file.csv, {
          mode: file.mode,
          effectiveFrom: file.effectiveFrom?.getTime() ?? null,
          progress: async (p) => {
            if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('the worker stopped');
            if (p.done === 0 || !deps.embedded) await ctx.save(undefined, p);
          },
          also: async (tx) => dropImport(tx, importId),
        });
        const warning = owner.kind === 'reseller' ? await belowCostWarning(deps.db, owner.resellerId, planId) : undefined;
        const message = `Deck imported (${file.mode}): ${result.rates} rates, ${result.inserted} new, ${result.replaced} replaced${result.removed ? `, ${result.removed} removed` : ''}.`;
        return { ok: true, message: warning ? `${message} ${warning}` : message, ...result, done: result.rates, total: result.rates };
      } catch (err) {
        if (!(err instanceof ImportErrors)) throw err;
        // Refused rows are the file's, not a passing failure: no retry; the file is dropped.
        await dropImport(deps.db, importId);
        return {
          ok: false, message: `Nothing was imported: ${err.rows.length} row${err.rows.length === 1 ? '' : 's'} refused. Fix them and import the whole file again.`,
          rowErrors: err.rows.slice(0, ROW_ERRORS_KEPT), rowErrorCount: err.rows.length,
        };
      }
    },
  });
}
