import type { Knex } from 'knex';

/**
 * A carrier's stored file is reconciled automatically (issue 13): the `carrier-reconcile` job
 * takes each stored file with records not reconciled yet, reconciles the months its records
 * touch, and sets `reconciled_at`; a file whose run failed (or a job cut short) stays unmarked
 * and is taken again on the next run.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE carrier_files ADD COLUMN reconciled_at timestamptz');
  // Files received before this column: their months can be reconciled by hand; the job takes only new ones.
  await knex.raw(`UPDATE carrier_files SET reconciled_at = now()`);
  await knex.raw(`CREATE INDEX carrier_files_to_reconcile_idx ON carrier_files (id) WHERE reconciled_at IS NULL AND status = 'stored' AND records > 0`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE carrier_files DROP COLUMN reconciled_at');
}
