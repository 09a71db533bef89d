import type { Knex } from 'knex';

/**
 * LD carriers as records of their own (issue 13). Operator-level, like platforms: no reseller_id.
 *
 * - name: unique whatever its case; the platforms' trunk maps name carriers by it (validated by
 *   the platform form), and legs keep the name they were tagged with;
 * - cost_plan_id: the carrier's cost deck, one of the operator's rate plans (reseller_id null;
 *   the trigger below refuses a reseller's plan whoever writes);
 * - data_format: src/domain/reconciliation CARRIER_FORMATS; csv_mapping: a mapped CSV's mapping
 *   (carrierMappingSchema), present exactly for that format;
 * - credential_hash: SHA-256 of the posting credential (`ldc_<id>_…`), null until one is issued
 *   (carriers made by the backfill have none), with the source allow-list of platforms;
 * - file_due_at: the local time of day (in file_due_zone) its billing file is due, null: no deadline.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE carriers (
      id bigserial PRIMARY KEY,
      name text NOT NULL CONSTRAINT carriers_name_check CHECK (length(btrim(name)) BETWEEN 1 AND 200 AND name = btrim(name)),
      currency text NOT NULL DEFAULT 'USD' CONSTRAINT carriers_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
      time_zone text NOT NULL DEFAULT 'UTC',
      cost_plan_id bigint REFERENCES rate_plans(id) ON DELETE RESTRICT,
      start_tolerance_seconds integer NOT NULL DEFAULT 5 CONSTRAINT carriers_start_tolerance_check CHECK (start_tolerance_seconds BETWEEN 0 AND 3600),
      duration_tolerance_seconds integer NOT NULL DEFAULT 1 CONSTRAINT carriers_duration_tolerance_check CHECK (duration_tolerance_seconds BETWEEN 0 AND 3600),
      cost_tolerance numeric(20,10) NOT NULL DEFAULT 0.01 CONSTRAINT carriers_cost_tolerance_check CHECK (cost_tolerance >= 0),
      data_format text NOT NULL DEFAULT 'carrier-generic-csv'
        CONSTRAINT carriers_data_format_check CHECK (data_format IN ('carrier-generic-csv', 'carrier-mapped-csv', 'didww-cdr-out', 'didww-cdr-stream')),
      csv_mapping jsonb,
      credential_hash text,
      credential_rotated_at timestamptz,
      allowed_sources cidr[],
      file_due_at time,
      file_due_zone text NOT NULL DEFAULT 'UTC',
      active boolean NOT NULL DEFAULT true,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      -- A mapped CSV cannot be read without its mapping; other formats carry none.
      CONSTRAINT carriers_mapping_check CHECK ((data_format = 'carrier-mapped-csv') = (csv_mapping IS NOT NULL))
    )`);
  await knex.raw('CREATE UNIQUE INDEX carriers_name_key ON carriers (lower(name))');
  // The carrier found from its posting credential by hash (the id in the token finds it first; this serves look-ups by hash alone).
  await knex.raw('CREATE UNIQUE INDEX carriers_credential_key ON carriers (credential_hash) WHERE credential_hash IS NOT NULL');
  await knex.raw('CREATE INDEX carriers_cost_plan_idx ON carriers (cost_plan_id) WHERE cost_plan_id IS NOT NULL');
  await knex.raw(`
    CREATE FUNCTION carriers_cost_plan_is_operators() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.cost_plan_id IS NOT NULL AND EXISTS (SELECT 1 FROM rate_plans WHERE id = NEW.cost_plan_id AND reseller_id IS NOT NULL) THEN
        RAISE EXCEPTION 'a carrier''s cost deck must be one of the operator''s rate plans' USING ERRCODE = 'check_violation', CONSTRAINT = 'carriers_cost_plan_owner_check';
      END IF;
      RETURN NEW;
    END $$`);
  await knex.raw(`
    CREATE TRIGGER carriers_cost_plan_owner BEFORE INSERT OR UPDATE OF cost_plan_id ON carriers
    FOR EACH ROW EXECUTE FUNCTION carriers_cost_plan_is_operators()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS carriers');
  await knex.raw('DROP FUNCTION IF EXISTS carriers_cost_plan_is_operators()');
}
