import type { Knex } from 'knex';

/**
 * Rate plans managed in the portals (issue 11):
 * - retired_at: a retired plan is offered for no new assignment, but keeps rating what it already
 *   rates (the resellers and subscribers that hold it keep it until someone assigns another).
 * - rate_plan_imports: a large deck file waiting for its import job (the job's payload names the
 *   row, so the file is not copied into the jobs list). Deleted when the job ends.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE rate_plans ADD COLUMN retired_at timestamptz');
  await knex.schema.createTable('rate_plan_imports', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('rate_plan_id').notNullable().references('rate_plans.id').onDelete('CASCADE');
    t.bigInteger('reseller_id').references('resellers.id').onDelete('RESTRICT');
    t.text('mode').notNullable();
    /** An instant every row takes effect at (a new version), or null: the rows' own effective_from. */
    t.timestamp('effective_from', { useTz: true });
    t.text('csv').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`ALTER TABLE rate_plan_imports ADD CONSTRAINT rate_plan_imports_mode_check CHECK (mode IN ('merge','replace'))`);
  await knex.raw('CREATE INDEX rate_plan_imports_plan_idx ON rate_plan_imports (rate_plan_id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('rate_plan_imports');
  await knex.raw('ALTER TABLE rate_plans DROP COLUMN retired_at');
}
