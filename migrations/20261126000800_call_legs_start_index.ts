import type { Knex } from 'knex';

/**
 * The wholesale calls page lists every reseller's legs newest first (keyset on start_at, id). With
 * no reseller chosen, no index served that order: Postgres sorted whole partitions for each page
 * (90 ms at 600,000 legs, seconds at a month of a busy switch). New legs land at the right edge of
 * this index, so the intake pays little for it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX call_legs_start_idx ON call_legs (start_at DESC, id DESC)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX call_legs_start_idx');
}
