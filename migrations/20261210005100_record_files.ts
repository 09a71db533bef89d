import type { Knex } from 'knex';

/**
 * Record files (issue 12, "Automatic posting"): per reseller, per record specification, per period
 * (hourly or daily in the reseller's zone), closed by the `record-files` job from the change log of
 * legs (docs/RECORD-FORMATS.md, "Record files").
 *
 * - record_files: one row per (spec, period), unique, so a closing that is repeated or resumed
 *   after a crash never makes a second file. `status` is 'closing' while its chunks are written
 *   batch by batch (each batch commits with `progress_cursor`), 'closed' once its checksum, count
 *   and totals are set; a closed file never changes (the trigger below refuses it). `number` is the
 *   reseller's file number, given at the close under a lock of the reseller's counter row, so
 *   numbers are gapless and committed in order: the API's cursor ("files after number N").
 * - record_file_chunks: the bytes, one chunk per batch of legs. Chunks rather than one bytea: a day's
 *   file of a million legs is some 200 MB, which one value would have to hold in memory to write and
 *   to read; chunks are written batch by batch (so a closing resumes after its last committed
 *   batch) and streamed to a download with constant memory.
 * - record_file_entries: per spec and leg, the file that last carried the leg and the totals it
 *   carried: what makes a re-rated leg a correction (with the difference) rather than a new record.
 * - record_file_deferred: legs read from the change log while closing a period that they start
 *   after; they wait here for the file of their own period.
 * - record_file_keys: per-reseller API keys for the record-files API only (stored as SHA-256).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE record_files (
      id bigserial PRIMARY KEY,
      reseller_id bigint NOT NULL REFERENCES resellers(id) ON DELETE RESTRICT,
      spec_id bigint NOT NULL REFERENCES record_specifications(id) ON DELETE RESTRICT,
      period_start timestamptz NOT NULL,
      period_end timestamptz NOT NULL,
      status text NOT NULL DEFAULT 'closing' CHECK (status IN ('closing','closed')),
      from_cursor text,
      to_cursor text,
      progress_cursor text,
      chunks integer NOT NULL DEFAULT 0,
      records integer NOT NULL DEFAULT 0,
      corrections integer NOT NULL DEFAULT 0,
      totals jsonb NOT NULL DEFAULT '{}'::jsonb,
      byte_size bigint NOT NULL DEFAULT 0,
      sha256 text,
      number integer,
      filename text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      closed_at timestamptz,
      CONSTRAINT record_files_spec_period_key UNIQUE (spec_id, period_start),
      CONSTRAINT record_files_number_key UNIQUE (reseller_id, number),
      CONSTRAINT record_files_closed_check CHECK ((status = 'closed') = (number IS NOT NULL AND sha256 IS NOT NULL AND closed_at IS NOT NULL))
    )`);
  await knex.raw('CREATE INDEX record_files_reseller_idx ON record_files (reseller_id, number)');
  await knex.raw(`
    CREATE FUNCTION record_files_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        IF OLD.status = 'closed' THEN RAISE EXCEPTION 'record file % is closed: it never changes', OLD.id; END IF;
        RETURN OLD;
      END IF;
      IF OLD.status = 'closed' THEN RAISE EXCEPTION 'record file % is closed: it never changes', OLD.id; END IF;
      RETURN NEW;
    END $$`);
  await knex.raw('CREATE TRIGGER record_files_frozen BEFORE UPDATE OR DELETE ON record_files FOR EACH ROW EXECUTE FUNCTION record_files_frozen()');
  await knex.raw(`
    CREATE TABLE record_file_chunks (
      file_id bigint NOT NULL REFERENCES record_files(id) ON DELETE RESTRICT,
      seq integer NOT NULL,
      bytes bytea NOT NULL,
      PRIMARY KEY (file_id, seq)
    )`);
  await knex.raw(`
    CREATE TABLE record_file_entries (
      spec_id bigint NOT NULL REFERENCES record_specifications(id) ON DELETE RESTRICT,
      leg_id bigint NOT NULL,
      file_id bigint NOT NULL REFERENCES record_files(id) ON DELETE RESTRICT,
      wholesale_currency text,
      wholesale_total numeric,
      retail_currency text,
      retail_total numeric,
      PRIMARY KEY (spec_id, leg_id)
    )`);
  await knex.raw(`
    CREATE TABLE record_file_deferred (
      spec_id bigint NOT NULL REFERENCES record_specifications(id) ON DELETE RESTRICT,
      leg_id bigint NOT NULL,
      start_at timestamptz NOT NULL,
      PRIMARY KEY (spec_id, leg_id)
    )`);
  await knex.raw('CREATE INDEX record_file_deferred_start_idx ON record_file_deferred (spec_id, start_at, leg_id)');
  await knex.raw(`
    CREATE TABLE record_file_counters (
      reseller_id bigint PRIMARY KEY REFERENCES resellers(id) ON DELETE RESTRICT,
      last_number integer NOT NULL DEFAULT 0
    )`);
  await knex.raw(`
    CREATE TABLE record_file_keys (
      id bigserial PRIMARY KEY,
      reseller_id bigint NOT NULL REFERENCES resellers(id) ON DELETE RESTRICT,
      label text NOT NULL CHECK (length(btrim(label)) BETWEEN 1 AND 100),
      prefix text NOT NULL,
      key_hash text NOT NULL UNIQUE,
      created_at timestamptz NOT NULL DEFAULT now(),
      created_by bigint,
      last_used_at timestamptz,
      revoked_at timestamptz
    )`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS record_file_keys');
  await knex.raw('DROP TABLE IF EXISTS record_file_counters');
  await knex.raw('DROP TABLE IF EXISTS record_file_deferred');
  await knex.raw('DROP TABLE IF EXISTS record_file_entries');
  await knex.raw('DROP TABLE IF EXISTS record_file_chunks');
  await knex.raw('DROP TABLE IF EXISTS record_files');
  await knex.raw('DROP FUNCTION IF EXISTS record_files_frozen()');
}
