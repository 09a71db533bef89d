import type { Knex } from 'knex';

/**
 * record_file_entries without its two foreign keys (issue 12, speed of the closing). Its rows are
 * written only by the closing of record files, in the transaction that holds the file row (of that
 * spec) locked, with the file's own id and spec id: the keys can never fail there. Checked per row
 * they cost two index lookups and a row lock on the parent per leg, a million a daily file; and
 * ON DELETE RESTRICT guarded deletes that never happen (specifications and files are never deleted;
 * a specification is only deactivated). The primary key (spec_id, leg_id) stays: it is what the
 * closing reads and upserts by.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE record_file_entries DROP CONSTRAINT IF EXISTS record_file_entries_spec_id_fkey');
  await knex.raw('ALTER TABLE record_file_entries DROP CONSTRAINT IF EXISTS record_file_entries_file_id_fkey');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE record_file_entries ADD CONSTRAINT record_file_entries_spec_id_fkey FOREIGN KEY (spec_id) REFERENCES record_specifications(id) ON DELETE RESTRICT');
  await knex.raw('ALTER TABLE record_file_entries ADD CONSTRAINT record_file_entries_file_id_fkey FOREIGN KEY (file_id) REFERENCES record_files(id) ON DELETE RESTRICT');
}
