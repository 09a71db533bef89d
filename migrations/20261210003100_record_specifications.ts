import type { Knex } from 'knex';

/**
 * Record specifications (issue 12): a reseller's own formats for its rated call records
 * (src/domain/records). `spec` is the specification as JSON, checked by the domain's schema on
 * every write (the CHECK here only keeps out what is plainly not one); `period` is how often the
 * posting work (a later part) closes a file of it. A retired spec (`active` false) is kept, with
 * its files, and posts nothing more.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE record_specifications (
      id bigserial PRIMARY KEY,
      reseller_id bigint NOT NULL REFERENCES resellers(id) ON DELETE RESTRICT,
      name text NOT NULL CONSTRAINT record_specifications_name_check CHECK (length(btrim(name)) BETWEEN 1 AND 100),
      spec jsonb NOT NULL CONSTRAINT record_specifications_spec_check CHECK (jsonb_typeof(spec) = 'object' AND coalesce(jsonb_typeof(spec -> 'fields'), '') = 'array'),
      period text NOT NULL DEFAULT 'daily' CONSTRAINT record_specifications_period_check CHECK (period IN ('hourly','daily')),
      active boolean NOT NULL DEFAULT true,
      retired_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT record_specifications_retired_check CHECK (active = (retired_at IS NULL))
    )`);
  // One name per reseller, case aside, so that a list and a file name are never ambiguous.
  await knex.raw('CREATE UNIQUE INDEX record_specifications_reseller_name_key ON record_specifications (reseller_id, lower(name))');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS record_specifications');
}
