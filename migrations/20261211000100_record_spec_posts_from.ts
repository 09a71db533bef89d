import type { Knex } from 'knex';

/**
 * Where a record specification's files begin (issue 12): `posts_from`, a date of the reseller's
 * zone. Its files start with the period holding that date's midnight, one file per period since
 * (a date in the past posts the history day by day or hour by hour); calls that started before it
 * are never in this spec's files. Null (the specs made before this column, or "every call
 * already stored" on the form): the first file is the period the spec was created in and carries
 * every earlier call of the reseller's too.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE record_specifications ADD COLUMN posts_from date');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE record_specifications DROP COLUMN posts_from');
}
