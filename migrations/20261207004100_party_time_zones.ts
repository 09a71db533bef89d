import type { Knex } from 'knex';

/**
 * Each reseller's and subscriber's time zone (an IANA name, checked against Intl by the forms):
 * the zone their people read times and filter dates in. Null follows the party above it: a
 * subscriber its reseller's, a reseller the operator's (the operator_time_zone setting).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('resellers', (t) => {
    t.text('time_zone');
  });
  await knex.schema.alterTable('subscribers', (t) => {
    t.text('time_zone');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('subscribers', (t) => {
    t.dropColumn('time_zone');
  });
  await knex.schema.alterTable('resellers', (t) => {
    t.dropColumn('time_zone');
  });
}
