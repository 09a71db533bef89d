import { z } from 'zod';
import type { Db } from '../../db/knex';
import type { SecretBox } from '../auth/secret-box';
import type { JobKinds } from '../jobs/jobs.service';
import { pruneDeliveries } from './webhooks.retention';
import { fanOut, sendDue } from './webhooks.service';

export const WEBHOOK_FANOUT_JOB = 'webhook-fanout';
export const WEBHOOK_SEND_JOB = 'webhook-send';
export const WEBHOOK_PRUNING_JOB = 'webhook-pruning';

const DAY_MS = 86_400_000;

/**
 * Webhooks, every 30 seconds: the fan-out turns new outbox events into deliveries (its cursor moves
 * with them, so a killed run resumes exactly), and the sender posts due deliveries (new ones and
 * retries after their back-off). Two schedules, so that an endpoint slow to answer never holds up
 * the fan-out of the others' events. Hourly, finished deliveries past the retention are deleted
 * with their attempts (retentionDays, WEBHOOK_RETENTION_DAYS; default 90).
 */
export function registerWebhookJobs(kinds: JobKinds, deps: { db: Db; box: SecretBox; allowPrivate: boolean; retentionDays?: number }): void {
  const { db, box, allowPrivate } = deps;
  const retentionDays = deps.retentionDays ?? 90;
  kinds.register({
    kind: WEBHOOK_FANOUT_JOB,
    payload: z.object({}).strict(),
    title: () => 'Webhooks: new events to their endpoints',
    async run(ctx) {
      const r = await fanOut(db, { signal: ctx.signal });
      return { message: `${r.events} event${r.events === 1 ? '' : 's'} read, ${r.deliveries} deliver${r.deliveries === 1 ? 'y' : 'ies'} made.`, ...r };
    },
  });
  kinds.schedule({ name: WEBHOOK_FANOUT_JOB, kind: WEBHOOK_FANOUT_JOB, payload: {}, everySeconds: 30 });
  kinds.register({
    kind: WEBHOOK_SEND_JOB,
    payload: z.object({}).strict(),
    title: () => 'Webhooks: sending due deliveries',
    async run(ctx) {
      const r = await sendDue(db, box, { signal: ctx.signal, allowPrivate });
      return { message: `${r.delivered} of ${r.tried} webhook deliver${r.tried === 1 ? 'y' : 'ies'} taken.`, ...r };
    },
  });
  kinds.schedule({ name: WEBHOOK_SEND_JOB, kind: WEBHOOK_SEND_JOB, payload: {}, everySeconds: 30 });
  kinds.register({
    kind: WEBHOOK_PRUNING_JOB,
    payload: z.object({}).strict(),
    title: () => `Webhooks: deleting deliveries finished more than ${retentionDays} days ago`,
    async run(ctx) {
      const deleted = await pruneDeliveries(db, new Date(Date.now() - retentionDays * DAY_MS), { signal: ctx.signal });
      return { message: `${deleted} finished deliver${deleted === 1 ? 'y' : 'ies'} deleted with their attempts.`, deleted };
    },
  });
  kinds.schedule({ name: WEBHOOK_PRUNING_JOB, kind: WEBHOOK_PRUNING_JOB, payload: {}, everySeconds: 3600 });
}
