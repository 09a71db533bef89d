import type { Knex } from 'knex';

/**
 * Jobs become a durable queue (issue 10): a job is a row with its kind and payload, run by whichever
 * process's worker claims it first (FOR UPDATE SKIP LOCKED), held by a lease that the worker renews;
 * a job whose lease ran out (its process was killed) is claimed again and resumes from its
 * checkpoint. Failures are retried with back-off up to max_attempts. Periodic work (half-call
 * expiry, reject pruning, partition upkeep) is a schedule row whose next run time is claimed the
 * same way, so each period runs once however many processes there are.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE jobs DROP CONSTRAINT jobs_status_check`);
  await knex.raw(`DROP INDEX jobs_running_idx`);
  await knex.schema.alterTable('jobs', (t) => {
    t.jsonb('payload').notNullable().defaultTo('{}');
    // Where a resumable handler got to (re-rating: the last leg of the last batch stored, and the counts).
    t.jsonb('checkpoint');
    t.timestamp('run_after', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.integer('attempts').notNullable().defaultTo(0);
    t.integer('max_attempts').notNullable().defaultTo(5);
    t.text('locked_by');
    t.timestamp('locked_until', { useTz: true });
    // The schedule that enqueued it (periodic work), null for a job someone started.
    t.text('schedule');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // The lease (locked_until) says whether a worker still holds the job; the heartbeat did that before.
    t.dropColumn('heartbeat_at');
  });
  // started_at is now when a worker first took it up; a queued job has not started.
  await knex.raw(`ALTER TABLE jobs ALTER COLUMN started_at DROP NOT NULL, ALTER COLUMN started_at DROP DEFAULT`);
  await knex.raw(`ALTER TABLE jobs ALTER COLUMN status SET DEFAULT 'queued'`);
  await knex.raw(`ALTER TABLE jobs ADD CONSTRAINT jobs_status_check CHECK (status IN ('queued','running','done','failed'))`);
  await knex.raw(`ALTER TABLE jobs ADD CONSTRAINT jobs_attempts_check CHECK (attempts >= 0 AND max_attempts >= 1)`);
  // What a worker claims: queued jobs due, and running jobs whose lease ran out.
  await knex.raw(`CREATE INDEX jobs_claim_idx ON jobs (run_after, id) WHERE status = 'queued'`);
  await knex.raw(`CREATE INDEX jobs_lease_idx ON jobs (locked_until) WHERE status = 'running'`);
  // One outstanding run per schedule: a slow run is not joined by the next period's.
  await knex.raw(`CREATE UNIQUE INDEX jobs_schedule_open_idx ON jobs (schedule) WHERE schedule IS NOT NULL AND status IN ('queued','running')`);
  // The portal's lists: newest first, a reseller's own.
  await knex.raw(`CREATE INDEX jobs_reseller_idx ON jobs (reseller_id, id DESC)`);

  await knex.schema.createTable('job_schedules', (t) => {
    t.text('name').primary();
    t.text('kind').notNullable();
    t.jsonb('payload').notNullable().defaultTo('{}');
    t.integer('every_seconds').notNullable();
    t.timestamp('next_run_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_run_at', { useTz: true });
  });
  await knex.raw(`ALTER TABLE job_schedules ADD CONSTRAINT job_schedules_every_check CHECK (every_seconds > 0)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('job_schedules');
  await knex.raw(`DROP INDEX jobs_claim_idx, jobs_lease_idx, jobs_schedule_open_idx, jobs_reseller_idx`);
  await knex.raw(`ALTER TABLE jobs DROP CONSTRAINT jobs_status_check, DROP CONSTRAINT jobs_attempts_check`);
  // Jobs of the queue that never ran, or ran without a closure, cannot go back to the old table's meaning.
  await knex('jobs').whereIn('status', ['queued']).update({ status: 'failed', error: 'the queue was rolled back before this job ran' });
  await knex('jobs').whereNull('started_at').update({ started_at: knex.raw('created_at') });
  await knex.raw(`ALTER TABLE jobs ALTER COLUMN started_at SET NOT NULL, ALTER COLUMN started_at SET DEFAULT CURRENT_TIMESTAMP, ALTER COLUMN status SET DEFAULT 'running'`);
  await knex.schema.alterTable('jobs', (t) => {
    t.dropColumns('payload', 'checkpoint', 'run_after', 'attempts', 'max_attempts', 'locked_by', 'locked_until', 'schedule', 'created_at');
    t.timestamp('heartbeat_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`ALTER TABLE jobs ADD CONSTRAINT jobs_status_check CHECK (status IN ('running','done','failed'))`);
  await knex.raw(`CREATE INDEX jobs_running_idx ON jobs (status) WHERE status = 'running'`);
}
