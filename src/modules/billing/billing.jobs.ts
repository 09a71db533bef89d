import { z } from 'zod';
import type { Db } from '../../db/knex';
import type { JobKinds } from '../jobs/jobs.service';
import { postRecurringCharges, type RunPosition } from './billing.service';

export const RECURRING_CHARGES_JOB = 'recurring-charges';

const position = z.object({ side: z.enum(['wholesale', 'retail']), partyId: z.number().int() });

/**
 * Recurring charges, hourly: every (party, cycle) whose cycle has begun gets its setup fees, months
 * and credits (billing.service postRecurringCharges). Each party's lines commit with the job's
 * checkpoint, so a killed run resumes after the last party stored; a line is unique by
 * (assignment, side, item, cycle), so a repeated or concurrent run posts nothing twice.
 */
export function registerBillingJobs(kinds: JobKinds, deps: { db: Db }): void {
  const { db } = deps;
  kinds.register({
    kind: RECURRING_CHARGES_JOB,
    payload: z.object({}).strict(),
    title: () => 'Posting recurring package charges due at the start of billing cycles',
    async run(ctx) {
      const parsed = position.safeParse(ctx.checkpoint);
      const after: RunPosition | null = parsed.success ? parsed.data : null;
      const r = await postRecurringCharges(db, {
        nowMs: Date.now(),
        after,
        signal: ctx.signal,
        afterParty: (tx, p, done, total) => ctx.save(tx, { checkpoint: { ...p }, done, total }),
      });
      if (r.posted > 0 || r.notPosted.length > 0) ctx.log.info({ posted: r.posted, notPosted: r.notPosted.slice(0, 20) }, 'recurring charges posted');
      const waiting = r.notPosted.length ? ` ${r.notPosted.length} could not be priced yet (no exchange rate in force) and will be tried again: ${r.notPosted.slice(0, 5).join('; ')}` : '';
      return { message: `${r.posted} recurring charge line${r.posted === 1 ? '' : 's'} posted for ${r.parties} part${r.parties === 1 ? 'y' : 'ies'}.${waiting}`, posted: r.posted, notPosted: r.notPosted.length };
    },
  });
  kinds.schedule({ name: RECURRING_CHARGES_JOB, kind: RECURRING_CHARGES_JOB, payload: {}, everySeconds: 3600 });
}
