import { z } from 'zod';
import type { Db } from '../../db/knex';
import type { SecretBox } from '../auth/secret-box';
import type { JobKinds } from '../jobs/jobs.service';
import { pushDue } from './record-files.push';
import { closeDueFiles } from './record-files.service';

export const RECORD_FILES_JOB = 'record-files';
export const RECORD_FILE_PUSH_JOB = 'record-file-push';

/**
 * Record files, every five minutes: each active spec's periods that ended more than the grace ago
 * are closed (record-files.service closeDueFiles). The closing keeps its own progress in its file
 * row (each batch commits with it), so a killed run resumes where the file stands; no job checkpoint.
 */
export function registerRecordFileJobs(kinds: JobKinds, deps: { db: Db; box: SecretBox; allowPrivate: boolean }): void {
  const { db, box, allowPrivate } = deps;
  kinds.register({
    kind: RECORD_FILES_JOB,
    payload: z.object({}).strict(),
    title: () => 'Closing record files of ended periods',
    async run(ctx) {
      let done = 0;
      const r = await closeDueFiles(db, { nowMs: Date.now(), signal: ctx.signal, afterBatch: async () => ctx.save(undefined, { done: ++done }) });
      return { message: `${r.closed} record file${r.closed === 1 ? '' : 's'} closed.`, closed: r.closed };
    },
  });
  kinds.schedule({ name: RECORD_FILES_JOB, kind: RECORD_FILES_JOB, payload: {}, everySeconds: 300 });
  // Pushes of closed files that are due (new ones, and retries after their back-off).
  kinds.register({
    kind: RECORD_FILE_PUSH_JOB,
    payload: z.object({}).strict(),
    title: () => 'Pushing record files to resellers\' addresses',
    async run(ctx) {
      const r = await pushDue(db, box, { signal: ctx.signal, allowPrivate });
      return { message: `${r.delivered} of ${r.tried} record file push${r.tried === 1 ? '' : 'es'} delivered.`, ...r };
    },
  });
  kinds.schedule({ name: RECORD_FILE_PUSH_JOB, kind: RECORD_FILE_PUSH_JOB, payload: {}, everySeconds: 60 });
}
