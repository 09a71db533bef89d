import type { Knex } from 'knex';

/** A rate's prefix is the start of an E.164 number: a country code's first digit is never 0. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE rates DROP CONSTRAINT rates_prefix_check`);
  await knex.raw(`ALTER TABLE rates ADD CONSTRAINT rates_prefix_check CHECK (prefix ~ '^[1-9][0-9]{0,14}$')`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE rates DROP CONSTRAINT rates_prefix_check`);
  await knex.raw(`ALTER TABLE rates ADD CONSTRAINT rates_prefix_check CHECK (prefix ~ '^[0-9]{1,15}$')`);
}
