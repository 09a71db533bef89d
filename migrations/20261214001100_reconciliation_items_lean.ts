import type { Knex } from 'knex';

/**
 * A run writes an item for every leg and record of its period, a million and more at once (issue
 * 13's bench (h)): every index of reconciliation_items is kept up row by row in that insert. The
 * indexes by leg and by record key served only "what changed since the previous run", which reads
 * two runs' items whole and joins them by hashing; they go. The key (run_id, seq) and the class
 * index (a run's items of one class) stay.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX reconciliation_items_leg_idx');
  await knex.raw('DROP INDEX reconciliation_items_record_idx');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX reconciliation_items_leg_idx ON reconciliation_items (run_id, leg_id) WHERE leg_id IS NOT NULL');
  await knex.raw('CREATE INDEX reconciliation_items_record_idx ON reconciliation_items (run_id, record_key) WHERE record_key IS NOT NULL');
}
