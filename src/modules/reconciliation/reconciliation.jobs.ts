import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import type { Db } from '../../db/knex';
import type { JobKinds } from '../jobs/jobs.service';
import { RECONCILE_JOB, runReconciliation, type ReconStep } from './reconciliation.service';

export const reconcilePayload = z
  .object({
    carrierId: z.number().int().positive(),
    fromMs: z.number().int(),
    toMs: z.number().int(),
    /** Who asked (the run's requested_by). */
    userId: z.number().int().positive().nullable(),
  })
  .strict();
export type ReconcilePayload = z.infer<typeof reconcilePayload>;

/** A step as the job's page says it. */
export function stepLabel(s: ReconStep): string {
  switch (s.step) {
    case 'staging':
      return 'staging our legs and the carrier records';
    case 'candidates':
      return `finding candidate pairs among ${s.legs} legs and ${s.records} records`;
    case 'matching':
      return `matching round ${s.round}`;
    case 'classifying':
      return `classifying and writing the items (${s.rounds} matching round${s.rounds === 1 ? '' : 's'})`;
    case 'totals':
      return 'totals';
  }
}

/**
 * A large reconciliation asked for from the page (reconcileOrStart), as a job. The run is one
 * transaction: an attempt cut short (its process killed) leaves nothing, and the worker that takes
 * the job up after the lease runs out starts it again. Its steps are saved from another
 * connection while the transaction runs, so the page shows them; the embedded database has one
 * connection, so there the page shows the first step and then the outcome. The result lists each
 * step's time and links to the run.
 */
export function registerReconciliationJobs(kinds: JobKinds, deps: { db: Db; embedded?: boolean }): void {
  kinds.register<ReconcilePayload>({
    kind: RECONCILE_JOB,
    payload: reconcilePayload,
    maxAttempts: 3,
    title: () => 'Reconciling an LD carrier',
    async run(ctx) {
      const { carrierId, fromMs, toMs, userId } = ctx.payload;
      const steps: Array<{ step: string; at: number }> = [];
      let total = 0;
      await ctx.save(undefined, { step: stepLabel({ step: 'staging' }), done: 0 });
      const onStep = async (s: ReconStep) => {
        if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('the worker stopped');
        const step = stepLabel(s);
        steps.push({ step: s.step === 'candidates' ? 'finding candidate pairs' : step, at: performance.now() });
        if (s.step === 'candidates') total = s.legs + s.records;
        // Legs and records settled so far: two per pair taken; all of them once classified.
        const done = s.step === 'matching' ? 2 * s.paired : s.step === 'classifying' || s.step === 'totals' ? total : 0;
        if (!deps.embedded) await ctx.save(undefined, { step, done, ...(total ? { total } : {}) });
      };
      const run = await runReconciliation(deps.db, carrierId, fromMs, toMs, { trigger: 'manual', userId, jobId: ctx.job.id, onStep });
      const end = performance.now();
      return {
        message: `Reconciled ${run.legs} legs and ${run.records} carrier records in ${run.matchRounds} matching round${run.matchRounds === 1 ? '' : 's'}.`,
        runId: run.id,
        link: { href: `/wholesale/carriers/${carrierId}/reconciliation/${run.id}`, text: 'The reconciliation report' },
        steps: steps.map((s, i) => ({ step: s.step, seconds: ((steps[i + 1]?.at ?? end) - s.at) / 1000 })),
        done: run.legs + run.records,
      };
    },
  });
}
