import type { Knex } from 'knex';

/**
 * A carrier's file that did not arrive by its deadline (issue 13): one row per carrier and missed
 * due time, recorded by the carrier-file-watch job (a second run for the same deadline adds
 * nothing). The mark on the carriers' pages is worked out from carrier_files; this is the record
 * of what was missed, kept after the file arrives late.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE carrier_missing_files (
      carrier_id bigint NOT NULL REFERENCES carriers(id) ON DELETE CASCADE,
      due_at timestamptz NOT NULL,
      recorded_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (carrier_id, due_at)
    )`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE carrier_missing_files');
}
