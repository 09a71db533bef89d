import type { Knex } from 'knex';

/**
 * The earliest call start a platform's records may carry. Records of calls before it, or more than
 * a day ahead of the clock, are refused as bad records: a start in the year 9999 or 0050 is a
 * broken record, and each month a platform could name made partitions without limit. A platform
 * that loads older history has this set earlier by a wholesale admin.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE platforms ADD COLUMN accept_calls_from timestamptz NOT NULL DEFAULT date_trunc('day', now() - interval '1 year')`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE platforms DROP COLUMN accept_calls_from');
}
