import type { Queryable } from '../../db/knex';
import { listAll, listPage, type ListPage, type ListParams, type ListSpec } from '../../db/list';
import type { Scope } from '../../domain/tenancy/roles';

export type JobStatus = 'queued' | 'running' | 'done' | 'failed';

export interface Job {
  id: number;
  resellerId: number | null;
  kind: string;
  title: string;
  status: JobStatus;
  payload: Record<string, unknown>;
  checkpoint: Record<string, unknown> | null;
  /** What a running job is doing now, in words (null: its handler only counts). */
  step: string | null;
  total: number;
  done: number;
  result: Record<string, unknown> | null;
  error: string | null;
  returnTo: string;
  attempts: number;
  maxAttempts: number;
  runAfter: Date;
  lockedBy: string | null;
  lockedUntil: Date | null;
  schedule: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

const date = (v: unknown) => (v ? new Date(v as string) : null);

function toJob(r: Record<string, any>): Job {
  return {
    id: Number(r.id), resellerId: r.reseller_id === null ? null : Number(r.reseller_id), kind: r.kind, title: r.title, status: r.status,
    payload: r.payload ?? {}, checkpoint: r.checkpoint ?? null, step: r.step ?? null, total: r.total, done: r.done, result: r.result ?? null, error: r.error ?? null,
    returnTo: r.return_to, attempts: r.attempts, maxAttempts: r.max_attempts, runAfter: new Date(r.run_after), lockedBy: r.locked_by ?? null,
    lockedUntil: date(r.locked_until), schedule: r.schedule ?? null, createdAt: new Date(r.created_at), startedAt: date(r.started_at), finishedAt: date(r.finished_at),
  };
}

export interface NewJob {
  resellerId: number | null;
  kind: string;
  title: string;
  payload: Record<string, unknown>;
  total?: number;
  returnTo: string;
  startedBy?: number | null;
  maxAttempts?: number;
  runAfter?: Date;
  schedule?: string | null;
}

function row(j: NewJob): Record<string, unknown> {
  return {
    reseller_id: j.resellerId, kind: j.kind, title: j.title, payload: JSON.stringify(j.payload), total: j.total ?? 0, return_to: j.returnTo,
    started_by: j.startedBy ?? null, max_attempts: j.maxAttempts ?? 5, run_after: j.runAfter ?? new Date(), schedule: j.schedule ?? null, status: 'queued',
  };
}

export async function insertJob(db: Queryable, j: NewJob): Promise<number> {
  const [r] = await db('jobs').insert(row(j)).returning('id');
  return Number(r.id);
}

/**
 * A scheduled run, unless the schedule's previous run is still queued or running (the partial
 * unique index on schedule): then nothing, and undefined.
 */
export async function insertScheduledJob(db: Queryable, j: NewJob & { schedule: string }): Promise<number | undefined> {
  const r = await db.raw(
    `INSERT INTO jobs (reseller_id, kind, title, payload, total, return_to, started_by, max_attempts, run_after, schedule, status)
     VALUES (:reseller_id, :kind, :title, :payload, :total, :return_to, :started_by, :max_attempts, :run_after, :schedule, :status)
     ON CONFLICT (schedule) WHERE schedule IS NOT NULL AND status IN ('queued','running') DO NOTHING
     RETURNING id`,
    row(j),
  );
  return r.rows[0] ? Number(r.rows[0].id) : undefined;
}

/** Operator staff reach every job (the operator's and every reseller's); a reseller's people their reseller's. */
function scoped(db: Queryable, scope: Scope) {
  const q = db('jobs');
  if (scope.kind === 'reseller') q.where({ reseller_id: scope.resellerId });
  else if (scope.kind !== 'wholesale') q.whereRaw('false');
  return q;
}

export async function getJob(db: Queryable, scope: Scope, id: number): Promise<Job | undefined> {
  const r = await scoped(db, scope).where({ id }).first();
  return r ? toJob(r) : undefined;
}

/** The scope's queued or running jobs of one kind whose payload has these members (e.g. a plan's imports), newest first. */
export async function openJobsOf(db: Queryable, scope: Scope, kind: string, payload: Record<string, unknown>): Promise<Job[]> {
  const rows = await scoped(db, scope).where({ kind }).whereIn('status', ['queued', 'running']).whereRaw('payload @> ?::jsonb', [JSON.stringify(payload)]).orderBy('id', 'desc').limit(10);
  return rows.map(toJob);
}

export interface JobFilter extends ListParams {
  status?: JobStatus;
  /** Text in the job's title. */
  q?: string;
}

/** The jobs list: its sortable columns (src/db/list.ts). Newest first unless asked. */
export const JOB_LIST: ListSpec = {
  sorts: {
    queued: { sql: 'jobs.created_at', kind: 'time' },
    title: { sql: 'lower(jobs.title)', kind: 'text' },
    status: { sql: 'jobs.status', kind: 'text' },
    attempts: { sql: 'jobs.attempts', kind: 'number' },
  },
  defaultSort: 'queued',
  defaultDir: 'desc',
  id: 'jobs.id',
};

function filteredJobs(db: Queryable, scope: Scope, f: JobFilter) {
  const q = scoped(db, scope).select('jobs.*');
  if (f.status) q.where('jobs.status', f.status);
  if (f.q) q.whereILike('jobs.title', `%${f.q}%`);
  return q;
}

export async function listJobs(db: Queryable, scope: Scope, f: JobFilter): Promise<ListPage<Job>> {
  return listPage(db, filteredJobs(db, scope, f), JOB_LIST, f, toJob);
}

/** Every job of the filter, in the list's order (its CSV). */
export function allJobs(db: Queryable, scope: Scope, f: JobFilter): AsyncGenerator<Job> {
  return listAll(db, filteredJobs(db, scope, f), JOB_LIST, f, toJob);
}

/**
 * Takes one job of the given kinds for this worker: a queued job that is due, or a running one whose
 * lease ran out (its worker stopped: killed, or cut off from the database). SKIP LOCKED lets
 * workers in several processes claim at once, each a different job. The attempt is counted here,
 * so a job that kills its process every time still reaches max_attempts.
 */
export async function claimJob(db: Queryable, worker: string, kinds: string[], leaseSeconds: number): Promise<Job | undefined> {
  if (kinds.length === 0) return undefined;
  const r = await db.raw(
    `UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_by = :worker,
            locked_until = now() + make_interval(secs => :lease), started_at = coalesce(started_at, now())
      WHERE id = (
        SELECT id FROM jobs
         WHERE kind = ANY(:kinds)
           AND ((status = 'queued' AND run_after <= now()) OR (status = 'running' AND locked_until < now()))
         ORDER BY run_after, id
         LIMIT 1
         FOR UPDATE SKIP LOCKED)
      RETURNING *`,
    { worker, lease: leaseSeconds, kinds },
  );
  return r.rows[0] ? toJob(r.rows[0]) : undefined;
}

/** Extends this worker's lease; false when the job is no longer this worker's (its lease ran out and another took it). */
export async function renewLease(db: Queryable, id: number, worker: string, leaseSeconds: number): Promise<boolean> {
  const n = await db('jobs')
    .where({ id, locked_by: worker, status: 'running' })
    .update({ locked_until: db.raw('now() + make_interval(secs => ?)', [leaseSeconds]) });
  return n === 1;
}

/**
 * Records how far the job got. Given the transaction that stored the work it describes, the work
 * and the checkpoint commit together: a job killed after that commit resumes after that work,
 * one killed before it redoes it. Refuses (false) when the job is no longer this worker's.
 */
export async function saveCheckpoint(db: Queryable, id: number, worker: string, set: { checkpoint?: Record<string, unknown>; done?: number; total?: number; step?: string }): Promise<boolean> {
  const n = await db('jobs')
    .where({ id, locked_by: worker, status: 'running' })
    .update({
      ...(set.checkpoint === undefined ? {} : { checkpoint: JSON.stringify(set.checkpoint) }),
      ...(set.done === undefined ? {} : { done: set.done }),
      ...(set.total === undefined ? {} : { total: set.total }),
      ...(set.step === undefined ? {} : { step: set.step }),
    });
  return n === 1;
}

export async function completeJob(db: Queryable, id: number, worker: string, result: Record<string, unknown>, done?: number): Promise<boolean> {
  const n = await db('jobs')
    .where({ id, locked_by: worker, status: 'running' })
    .update({ status: 'done', result: JSON.stringify(result), ...(done === undefined ? {} : { done }), error: null, locked_by: null, locked_until: null, finished_at: db.fn.now() });
  return n === 1;
}

/** A failed attempt: queued again after `retryInSeconds`, or failed for good when there is none. */
export async function failAttempt(db: Queryable, id: number, worker: string | null, error: string, retryInSeconds: number | null): Promise<void> {
  const q = db('jobs').where({ id, status: 'running' });
  if (worker) q.where({ locked_by: worker });
  await q.update(
    retryInSeconds === null
      ? { status: 'failed', error, locked_by: null, locked_until: null, finished_at: db.fn.now() }
      : { status: 'queued', error, locked_by: null, locked_until: null, run_after: db.raw('now() + make_interval(secs => ?)', [retryInSeconds]) },
  );
}

// ---------------------------------------------------------------------------------------------
// Schedules: periodic work

export interface Schedule {
  name: string;
  kind: string;
  payload: Record<string, unknown>;
  everySeconds: number;
}

/** Declares a schedule (at every start): its kind, payload and period follow the code; its next run time is kept. */
export async function upsertSchedule(db: Queryable, s: Schedule): Promise<void> {
  await db('job_schedules')
    .insert({ name: s.name, kind: s.kind, payload: JSON.stringify(s.payload), every_seconds: s.everySeconds })
    .onConflict('name')
    .merge(['kind', 'payload', 'every_seconds']);
}

/**
 * Takes one schedule that is due and moves its next run time on by its period, in one statement
 * (SKIP LOCKED): two processes never take the same period. The next run time is counted from the
 * due time, not from now, so runs keep their rhythm; one that fell far behind (the server was
 * down for a day) runs once, not once per missed period.
 */
export async function claimDueSchedule(db: Queryable): Promise<(Schedule & { dueAt: Date }) | undefined> {
  const r = await db.raw(
    `WITH due AS (
       SELECT name, next_run_at FROM job_schedules WHERE next_run_at <= now() ORDER BY next_run_at LIMIT 1 FOR UPDATE SKIP LOCKED
     )
     UPDATE job_schedules s
        SET last_run_at = now(),
            next_run_at = CASE WHEN due.next_run_at + make_interval(secs => s.every_seconds) > now()
                               THEN due.next_run_at + make_interval(secs => s.every_seconds)
                               ELSE now() + make_interval(secs => s.every_seconds) END
       FROM due WHERE s.name = due.name
     RETURNING s.name, s.kind, s.payload, s.every_seconds, due.next_run_at AS due_at`,
  );
  const x = r.rows[0];
  return x ? { name: x.name, kind: x.kind, payload: x.payload ?? {}, everySeconds: x.every_seconds, dueAt: new Date(x.due_at) } : undefined;
}
