import { z } from 'zod';
import type { Db } from '../../db/knex';
import type { JobKinds } from '../jobs/jobs.service';
import { recordMissingFiles } from './carrier-data.service';

export const CARRIER_FILE_WATCH_JOB = 'carrier-file-watch';

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
}
