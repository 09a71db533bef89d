import { z } from 'zod';
import type { Db } from '../../db/knex';
import type { JobKinds } from '../jobs/jobs.service';
import { getPlatform } from '../platforms/platforms.repository';
import type { RatingCaches } from '../reference-data/reference-data';
import { ensurePartitions } from '../ledger/partitions';
import { ratePosts, writePosts } from './intake.service';
import { expireStalePending, pairStoredHalves } from './pending.service';
import { pruneRejects } from './rejects.repository';

export const PENDING_EXPIRY_JOB = 'pending-expiry';
export const REJECT_PRUNING_JOB = 'reject-pruning';
export const PARTITION_UPKEEP_JOB = 'partition-upkeep';

/** Call halves stored under one key, more than one, that a pairing missed: paired a few hundred keys at a time. */
const PAIRING_BATCH = 500;

/**
 * Halves of one call stored apart and never paired: the intake pairs them right after the commit
 * that stored the second (IntakePipeline.pairStranded), but that pairing is lost if the process
 * stops in between. They are paired here, through the intake's own parse, rating and write (the
 * halves consumed in the commit that stores the legs; leg keys make a repeat a duplicate, never a
 * second leg). What does not pair stays stored. Answers the number of keys that became calls.
 */
export async function pairStrandedHalves(db: Db, caches: RatingCaches, signal?: AbortSignal): Promise<number> {
  let paired = 0;
  let afterKey: { platformId: number; correlation: string } | undefined;
  for (;;) {
    const q = db('pending_records').select('platform_id', 'correlation').groupBy('platform_id', 'correlation').havingRaw('count(*) >= 2')
      .orderBy([{ column: 'platform_id' }, { column: 'correlation' }]).limit(PAIRING_BATCH);
    if (afterKey) q.whereRaw('(platform_id, correlation) > (?, ?)', [afterKey.platformId, afterKey.correlation]);
    const keys = (await q) as Array<{ platform_id: number | string; correlation: string }>;
    for (const k of keys) {
      if (signal?.aborted) throw signal.reason ?? new Error('stopped');
      const platform = await getPlatform(db, Number(k.platform_id));
      if (!platform) continue;
      const parsed = await pairStoredHalves(db, platform, k.correlation);
      if (!parsed) continue;
      const prepared = await ratePosts(db, caches, [parsed]);
      await db.transaction((tx) => writePosts(tx, prepared));
      paired++;
    }
    if (keys.length < PAIRING_BATCH) return paired;
    const last = keys[keys.length - 1] as { platform_id: number | string; correlation: string };
    afterKey = { platformId: Number(last.platform_id), correlation: last.correlation };
  }
}

const expiryPayload = z.object({ maxAgeHours: z.number().int().min(1).max(24 * 30) }).strict();
const nothing = z.object({}).strict();

/**
 * The intake's periodic upkeep, as jobs on a schedule (one run per period across processes):
 * - pending-expiry, hourly: stranded halves are paired first, then what still waits past its
 *   time goes to the rejects ("got no other half"), which is then true;
 * - reject-pruning, hourly: rejects past the operator's retention;
 * - partition-upkeep, daily: this month's and next month's partitions of call_legs and charges,
 *   made ahead of the first call of a month (the intake still makes one it finds missing).
 */
export function registerIntakeJobs(kinds: JobKinds, deps: { db: Db; caches: RatingCaches }): void {
  const { db, caches } = deps;
  kinds.register({
    kind: PENDING_EXPIRY_JOB,
    payload: expiryPayload,
    title: (p) => `Pairing stranded call halves, then expiring those older than ${p.maxAgeHours} hours`,
    async run(ctx) {
      const paired = await pairStrandedHalves(db, caches, ctx.signal);
      const expired = await expireStalePending(db, ctx.payload.maxAgeHours);
      if (paired > 0 || expired > 0) ctx.log.info({ paired, expired }, 'pending call halves paired and expired');
      return { message: `${paired} stranded call${paired === 1 ? '' : 's'} paired; ${expired} half-call${expired === 1 ? '' : 's'} moved to the rejects.`, paired, expired };
    },
  });
  kinds.register({
    kind: REJECT_PRUNING_JOB,
    payload: nothing,
    title: () => 'Deleting rejects past their retention',
    async run(ctx) {
      const deleted = await pruneRejects(db);
      if (deleted > 0) ctx.log.info({ deleted }, 'old rejects deleted');
      return { message: `${deleted} old reject${deleted === 1 ? '' : 's'} deleted.`, deleted };
    },
  });
  kinds.register({
    kind: PARTITION_UPKEEP_JOB,
    payload: nothing,
    title: () => "Making this month's and next month's call partitions",
    async run() {
      const now = new Date();
      const next = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
      await ensurePartitions(db, [now.getTime(), next]);
      return { message: 'Partitions for this month and next are in place.' };
    },
  });
  kinds.schedule({ name: 'pending-expiry', kind: PENDING_EXPIRY_JOB, payload: { maxAgeHours: 24 }, everySeconds: 3600 });
  kinds.schedule({ name: 'reject-pruning', kind: REJECT_PRUNING_JOB, payload: {}, everySeconds: 3600 });
  kinds.schedule({ name: 'partition-upkeep', kind: PARTITION_UPKEEP_JOB, payload: {}, everySeconds: 86_400 });
}
