import type { Knex } from 'knex';

/**
 * Finished webhook deliveries (delivered, or given up after their day of retries) are deleted with
 * their attempts once past the retention (WEBHOOK_RETENTION_DAYS): the pruning job finds the oldest
 * by this index, which holds only finished rows (pending ones are never pruned).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw("CREATE INDEX webhook_deliveries_finished_idx ON webhook_deliveries (finished_at) WHERE status <> 'pending'");
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX webhook_deliveries_finished_idx');
}
