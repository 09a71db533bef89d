import type { Queryable } from '../../db/knex';
import type { Scope } from '../../domain/tenancy/roles';

export type JobStatus = 'running' | 'done' | 'failed';

export interface Job {
  id: number;
  resellerId: number | null;
  kind: string;
  title: string;
  status: JobStatus;
  total: number;
  done: number;
  result: Record<string, unknown> | null;
  error: string | null;
  returnTo: string;
  startedAt: Date;
  finishedAt: Date | null;
}

function toJob(r: Record<string, any>): Job {
  return {
    id: r.id, resellerId: r.reseller_id, kind: r.kind, title: r.title, status: r.status, total: r.total, done: r.done,
    result: r.result ?? null, error: r.error ?? null, returnTo: r.return_to, startedAt: new Date(r.started_at), finishedAt: r.finished_at ? new Date(r.finished_at) : null,
  };
}

export async function insertJob(
  db: Queryable,
  j: { resellerId: number | null; kind: string; title: string; total: number; returnTo: string; startedBy: number | null },
): Promise<number> {
  const [row] = await db('jobs')
    .insert({ reseller_id: j.resellerId, kind: j.kind, title: j.title, total: j.total, return_to: j.returnTo, started_by: j.startedBy })
    .returning('id');
  return row.id as number;
}

/** A job the scope reaches: a reseller's people their reseller's jobs, operator staff the operator's. */
export async function getJob(db: Queryable, scope: Scope, id: number): Promise<Job | undefined> {
  await failIfStale(db, id);
  const q = db('jobs').where({ id });
  if (scope.kind === 'wholesale') q.whereNull('reseller_id');
  else if (scope.kind === 'reseller') q.where({ reseller_id: scope.resellerId });
  else return undefined;
  const row = await q.first();
  return row ? toJob(row) : undefined;
}

export async function setProgress(db: Queryable, id: number, done?: number): Promise<void> {
  await db('jobs').where({ id, status: 'running' }).update({ ...(done === undefined ? {} : { done }), heartbeat_at: db.fn.now() });
}

export async function finishJob(db: Queryable, id: number, outcome: { done: number; result: Record<string, unknown> } | { error: string }): Promise<void> {
  const set = 'error' in outcome ? { status: 'failed', error: outcome.error } : { status: 'done', done: outcome.done, result: JSON.stringify(outcome.result) };
  await db('jobs').where({ id }).update({ ...set, finished_at: db.fn.now() });
}

/** A running job not touched for this long ran in a process that stopped (its runner touches it every 15 s). */
export const STALE_AFTER_SECONDS = 60;

/** Marks a job failed if its process stopped while it ran (see STALE_AFTER_SECONDS). */
export async function failIfStale(db: Queryable, id: number): Promise<void> {
  await db('jobs')
    .where({ id, status: 'running' })
    .where('heartbeat_at', '<', db.raw(`now() - interval '${STALE_AFTER_SECONDS} seconds'`))
    .update({ status: 'failed', error: 'the server stopped while this job ran; start it again (repeating it is safe)', finished_at: db.fn.now() });
}
