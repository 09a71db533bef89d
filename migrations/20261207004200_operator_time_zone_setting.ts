import type { Knex } from 'knex';

/** The operator's time zone, which wholesale staff read times in (and resellers follow until they have their own): UTC until a wholesale admin sets it. */
export async function up(knex: Knex): Promise<void> {
  await knex('settings').insert({ key: 'operator_time_zone', value: 'UTC' }).onConflict('key').ignore();
}

export async function down(knex: Knex): Promise<void> {
  await knex('settings').where({ key: 'operator_time_zone' }).delete();
}
