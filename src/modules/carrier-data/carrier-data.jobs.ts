import { z } from 'zod';
import type { Db } from '../../db/knex';
import type { JobKinds } from '../jobs/jobs.service';
import { reconcileReceivedFiles, recordMissingFiles } from './carrier-data.service';

export const CARRIER_FILE_WATCH_JOB = 'carrier-file-watch';
export const CARRIER_RECONCILE_JOB = 'carrier-reconcile';

/**
 * Every quarter hour: each active carrier whose daily file is past its time with none received
 * since the deadline before gets the missed deadline recorded (once) and an audit row.
 */
export function registerCarrierDataJobs(kinds: JobKinds, deps: { db: Db }): void {
  kinds.register({
    kind: CARRIER_FILE_WATCH_JOB,
    payload: z.object({}).strict(),
    title: () => "Looking for LD carriers' billing files that are late",
    async run(ctx) {
      const missing = await recordMissingFiles(deps.db);
      if (missing.length) ctx.log.warn({ carriers: missing.map((m) => m.name) }, 'carrier billing files missing');
      return { message: missing.length ? `Missing: ${missing.map((m) => m.name).join(', ')}.` : 'No newly missing carrier file.', missing: missing.length };
    },
  });
  kinds.schedule({ name: CARRIER_FILE_WATCH_JOB, kind: CARRIER_FILE_WATCH_JOB, payload: {}, everySeconds: 900 });
  // Every five minutes: the months of each carrier's newly stored files reconciled (automatic runs).
  kinds.register({
    kind: CARRIER_RECONCILE_JOB,
    payload: z.object({}).strict(),
    title: () => "Reconciling LD carriers' newly received billing files",
    async run(ctx) {
      const r = await reconcileReceivedFiles(deps.db, { signal: ctx.signal });
      return { message: `${r.files} file${r.files === 1 ? '' : 's'} reconciled in ${r.runs} run${r.runs === 1 ? '' : 's'}.`, ...r };
    },
  });
  kinds.schedule({ name: CARRIER_RECONCILE_JOB, kind: CARRIER_RECONCILE_JOB, payload: {}, everySeconds: 300 });
}
