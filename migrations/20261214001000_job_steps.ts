import type { Knex } from 'knex';

/**
 * What a running job is doing now, in words (issue 13: a large reconciliation's page shows its
 * steps: staging, matching round N, classifying, totals). Set by the handler with its progress;
 * null for jobs that only count.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE jobs ADD COLUMN step text');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE jobs DROP COLUMN step');
}
