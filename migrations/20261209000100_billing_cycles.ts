import type { Knex } from 'knex';

/**
 * Billing cycles (src/domain/billing/cycles.ts): monthly from local midnight of a day 1-28 in the
 * party's time zone. A reseller's is its wholesale cycle (the operator bills it); a subscriber's is
 * its retail cycle, null following its reseller's day (as time_zone follows the party above).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE resellers ADD COLUMN billing_cycle_day smallint NOT NULL DEFAULT 1
    CONSTRAINT resellers_billing_cycle_day CHECK (billing_cycle_day BETWEEN 1 AND 28)`);
  await knex.raw(`ALTER TABLE subscribers ADD COLUMN billing_cycle_day smallint
    CONSTRAINT subscribers_billing_cycle_day CHECK (billing_cycle_day BETWEEN 1 AND 28)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE subscribers DROP COLUMN billing_cycle_day');
  await knex.raw('ALTER TABLE resellers DROP COLUMN billing_cycle_day');
}
