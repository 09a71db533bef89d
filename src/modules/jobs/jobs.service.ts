import type { Db } from '../../db/knex';
import type { Actor } from '../../domain/tenancy/actor';
import { finishJob, insertJob, setProgress } from './jobs.repository';

export interface JobSpec<R extends Record<string, unknown>> {
  kind: string;
  title: string;
  /** The units of work (legs, say), for the progress bar. */
  total: number;
  /** Our own path of the page that started it, for the link back. */
  returnTo: string;
  /** The work; calls progress(done) as it goes, returns what the page shows at the end. */
  run(progress: (done: number) => Promise<void>): Promise<R>;
}

/**
 * Starts a long job in this process and answers its id at once; the job's page shows its progress.
 * Progress is written at most every half second, and the job is touched every 15 s while it runs:
 * if its process stops, its page says so a minute later instead of waiting for ever.
 */
export async function startJob<R extends Record<string, unknown>>(db: Db, actor: Actor, spec: JobSpec<R>, log?: { error(obj: object, msg: string): void }): Promise<number> {
  const resellerId = actor.scope.kind === 'wholesale' ? null : actor.scope.resellerId;
  const id = await insertJob(db, { resellerId, kind: spec.kind, title: spec.title, total: spec.total, returnTo: spec.returnTo, startedBy: actor.userId });
  let last = 0;
  const progress = async (done: number) => {
    if (Date.now() - last < 500) return;
    last = Date.now();
    await setProgress(db, id, done);
  };
  const heartbeat = setInterval(() => void setProgress(db, id).catch(() => undefined), 15_000);
  heartbeat.unref();
  void (async () => {
    try {
      const result = await spec.run(progress);
      await finishJob(db, id, { done: typeof result.total === 'number' ? result.total : spec.total, result });
    } catch (err) {
      log?.error({ err, job: id }, 'job failed');
      await finishJob(db, id, { error: err instanceof Error ? err.message : String(err) }).catch(() => undefined);
    } finally {
      clearInterval(heartbeat);
    }
  })();
  return id;
}
