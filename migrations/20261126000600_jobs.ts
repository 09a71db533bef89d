import type { Knex } from 'knex';

/**
 * Long jobs run in the background (re-rating a large period, for now), with their progress for the
 * page that started them. A job belongs to a reseller (its people see it) or, with no reseller, to
 * the operator's staff.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('jobs', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('reseller_id').references('resellers.id').onDelete('RESTRICT');
    t.text('kind').notNullable();
    t.text('title').notNullable();
    t.text('status').notNullable().defaultTo('running');
    t.integer('total').notNullable();
    t.integer('done').notNullable().defaultTo(0);
    t.jsonb('result');
    t.text('error');
    // Where the page that started the job lives (our own path, for the link back).
    t.text('return_to').notNullable();
    t.bigInteger('started_by').references('users.id').onDelete('SET NULL');
    t.timestamp('started_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('finished_at', { useTz: true });
    // Touched while the job runs: a job whose process stopped stops being touched.
    t.timestamp('heartbeat_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`ALTER TABLE jobs ADD CONSTRAINT jobs_status_check CHECK (status IN ('running','done','failed'))`);
  await knex.raw(`CREATE INDEX jobs_running_idx ON jobs (status) WHERE status = 'running'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('jobs');
}
