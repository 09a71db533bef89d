import type { Knex } from 'knex';

/**
 * LD carriers' billing data (issue 13), stored as received and in our local form.
 *
 * - carrier_files: every file, upload or stream chunk exactly as it arrived (body as sent, gzip
 *   included, with its SHA-256), who sent it and what came of it; a re-post is kept as another
 *   receipt whose records are all duplicates.
 * - carrier_file_bad_rows: the rows of a file that could not be read, by line, with the reason
 *   (the file's good rows are stored all the same).
 * - carrier_record_keys: one row per carrier record ever stored, by its idempotency key (the
 *   carrier's record id, else file checksum and line): not partitioned, so a re-post of a record
 *   is known whatever month it falls in (as leg_keys does for legs).
 * - carrier_records: the normalised records, partitioned by month of their start like call_legs
 *   (partitions made on first use, as for legs).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE carrier_files (
      id bigserial PRIMARY KEY,
      carrier_id bigint NOT NULL REFERENCES carriers(id) ON DELETE RESTRICT,
      format text NOT NULL,
      via text NOT NULL CONSTRAINT carrier_files_via_check CHECK (via IN ('post', 'upload')),
      filename text,
      content_type text,
      content_encoding text,
      body bytea NOT NULL,
      byte_size integer NOT NULL,
      sha256 text NOT NULL,
      source_ip inet,
      uploaded_by bigint REFERENCES users(id) ON DELETE SET NULL,
      received_at timestamptz NOT NULL DEFAULT now(),
      status text NOT NULL CONSTRAINT carrier_files_status_check CHECK (status IN ('stored', 'refused')),
      error text,
      records integer NOT NULL DEFAULT 0,
      duplicates integer NOT NULL DEFAULT 0,
      bad_rows integer NOT NULL DEFAULT 0,
      skipped integer NOT NULL DEFAULT 0,
      first_start_at timestamptz,
      last_start_at timestamptz
    )`);
  await knex.raw('CREATE INDEX carrier_files_carrier_idx ON carrier_files (carrier_id, received_at DESC)');
  await knex.raw(`
    CREATE TABLE carrier_file_bad_rows (
      file_id bigint NOT NULL REFERENCES carrier_files(id) ON DELETE CASCADE,
      line integer NOT NULL,
      reason text NOT NULL,
      raw text NOT NULL,
      PRIMARY KEY (file_id, line)
    )`);
  await knex.raw(`
    CREATE TABLE carrier_record_keys (
      carrier_id bigint NOT NULL REFERENCES carriers(id) ON DELETE RESTRICT,
      record_key text NOT NULL,
      start_at timestamptz NOT NULL,
      file_id bigint NOT NULL,
      PRIMARY KEY (carrier_id, record_key)
    )`);
  await knex.raw(`
    CREATE TABLE carrier_records (
      id bigserial,
      carrier_id bigint NOT NULL,
      record_key text NOT NULL,
      carrier_record_id text,
      calling text,
      called text NOT NULL,
      start_at timestamptz NOT NULL,
      seconds integer NOT NULL CONSTRAINT carrier_records_seconds_check CHECK (seconds >= 0),
      cost numeric(20,10) NOT NULL,
      currency char(3) NOT NULL,
      rate numeric(20,10),
      file_id bigint NOT NULL,
      line integer NOT NULL,
      raw text NOT NULL,
      stored_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (start_at, id)
    ) PARTITION BY RANGE (start_at)`);
  // Reconciliation reads a carrier's records of a period by called number and start.
  await knex.raw('CREATE INDEX carrier_records_match_idx ON carrier_records (carrier_id, start_at, called)');
  await knex.raw('CREATE INDEX carrier_records_file_idx ON carrier_records (file_id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE carrier_records');
  await knex.raw('DROP TABLE carrier_record_keys');
  await knex.raw('DROP TABLE carrier_file_bad_rows');
  await knex.raw('DROP TABLE carrier_files');
}
