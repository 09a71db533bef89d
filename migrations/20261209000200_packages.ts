import type { Knex } from 'knex';

/**
 * Feature and toll packages (issue 11; DOMAIN.md "packages"). The shape every part builds on:
 *
 * - `features`: the operator's catalogue of switch features, each with the code the switch knows.
 * - `feature_packages`: a named bundle with a setup fee and a monthly charge in a currency. The
 *   operator's (reseller_id null) are offered to resellers at wholesale prices
 *   (`feature_package_offers`); a reseller's own package is built on one package offered to it
 *   (`base_package_id`) from that package's features only, at its retail prices. A subscriber's
 *   assignment of it is charged retail (the reseller's price) and wholesale (the base's price).
 * - `destination_groups`: named sets of prefixes, the operator's or a reseller's.
 * - `toll_packages`: included seconds (null: unlimited) per destination group and cycle, with an
 *   optional per-minute rate after the allowance (`toll_package_groups`). The operator's apply to a
 *   reseller's wholesale charges (assigned to the reseller: subscriber_id null); a reseller's to its
 *   subscribers' retail charges.
 * - `package_assignments`: one row per package given to a party from a time until a time; rows are
 *   ended, never deleted, so the history stays.
 * - `allowance_usage`: seconds consumed per assignment, group and billing cycle (the balance that
 *   rating draws down under a row lock).
 * - `charges.covered_seconds` / `charges.allowances`: what a charge took from which allowance.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE features (
      id bigserial PRIMARY KEY,
      code text NOT NULL CONSTRAINT features_code_check CHECK (code ~ '^[A-Za-z0-9_.:-]{1,64}$'),
      name text NOT NULL,
      description text NOT NULL DEFAULT '',
      retired_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
  await knex.raw('CREATE UNIQUE INDEX features_code_key ON features (lower(code))');

  await knex.raw(`
    CREATE TABLE feature_packages (
      id bigserial PRIMARY KEY,
      reseller_id bigint REFERENCES resellers(id) ON DELETE RESTRICT,
      base_package_id bigint REFERENCES feature_packages(id) ON DELETE RESTRICT,
      name text NOT NULL,
      description text NOT NULL DEFAULT '',
      currency char(3) NOT NULL CONSTRAINT feature_packages_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
      setup_fee numeric(20,10) NOT NULL DEFAULT 0 CONSTRAINT feature_packages_setup_check CHECK (setup_fee >= 0),
      monthly_fee numeric(20,10) NOT NULL DEFAULT 0 CONSTRAINT feature_packages_monthly_check CHECK (monthly_fee >= 0),
      retired_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      -- The operator's packages stand alone; a reseller's is built on one of the operator's.
      CONSTRAINT feature_packages_base_check CHECK ((reseller_id IS NULL) = (base_package_id IS NULL))
    )`);
  await knex.raw('CREATE UNIQUE INDEX feature_packages_owner_name_key ON feature_packages (coalesce(reseller_id, 0), lower(name))');

  await knex.raw(`
    CREATE TABLE feature_package_features (
      package_id bigint NOT NULL REFERENCES feature_packages(id) ON DELETE CASCADE,
      feature_id bigint NOT NULL REFERENCES features(id) ON DELETE RESTRICT,
      PRIMARY KEY (package_id, feature_id)
    )`);

  await knex.raw(`
    CREATE TABLE feature_package_offers (
      package_id bigint NOT NULL REFERENCES feature_packages(id) ON DELETE CASCADE,
      reseller_id bigint NOT NULL REFERENCES resellers(id) ON DELETE RESTRICT,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (package_id, reseller_id)
    )`);
  await knex.raw('CREATE INDEX feature_package_offers_reseller_idx ON feature_package_offers (reseller_id)');

  await knex.raw(`
    CREATE TABLE destination_groups (
      id bigserial PRIMARY KEY,
      reseller_id bigint REFERENCES resellers(id) ON DELETE RESTRICT,
      name text NOT NULL,
      description text NOT NULL DEFAULT '',
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
  await knex.raw('CREATE UNIQUE INDEX destination_groups_owner_name_key ON destination_groups (coalesce(reseller_id, 0), lower(name))');

  await knex.raw(`
    CREATE TABLE destination_group_prefixes (
      group_id bigint NOT NULL REFERENCES destination_groups(id) ON DELETE CASCADE,
      prefix text NOT NULL CONSTRAINT destination_group_prefixes_check CHECK (prefix ~ '^[0-9]{1,15}$'),
      PRIMARY KEY (group_id, prefix)
    )`);

  await knex.raw(`
    CREATE TABLE toll_packages (
      id bigserial PRIMARY KEY,
      reseller_id bigint REFERENCES resellers(id) ON DELETE RESTRICT,
      name text NOT NULL,
      description text NOT NULL DEFAULT '',
      currency char(3) NOT NULL CONSTRAINT toll_packages_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
      setup_fee numeric(20,10) NOT NULL DEFAULT 0 CONSTRAINT toll_packages_setup_check CHECK (setup_fee >= 0),
      monthly_fee numeric(20,10) NOT NULL DEFAULT 0 CONSTRAINT toll_packages_monthly_check CHECK (monthly_fee >= 0),
      retired_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
  await knex.raw('CREATE UNIQUE INDEX toll_packages_owner_name_key ON toll_packages (coalesce(reseller_id, 0), lower(name))');

  await knex.raw(`
    CREATE TABLE toll_package_groups (
      package_id bigint NOT NULL REFERENCES toll_packages(id) ON DELETE CASCADE,
      group_id bigint NOT NULL REFERENCES destination_groups(id) ON DELETE RESTRICT,
      -- Seconds included per billing cycle; null: unlimited.
      included_seconds bigint CONSTRAINT toll_package_groups_included_check CHECK (included_seconds >= 0),
      -- Per minute, in the package's currency, after the allowance; null: the plan's rate.
      overage_rate numeric(20,10) CONSTRAINT toll_package_groups_overage_check CHECK (overage_rate >= 0),
      PRIMARY KEY (package_id, group_id)
    )`);

  await knex.raw(`
    CREATE TABLE package_assignments (
      id bigserial PRIMARY KEY,
      reseller_id bigint NOT NULL REFERENCES resellers(id) ON DELETE RESTRICT,
      -- Null: the reseller itself holds it (an operator's toll package on its wholesale charges).
      subscriber_id bigint REFERENCES subscribers(id) ON DELETE RESTRICT,
      feature_package_id bigint REFERENCES feature_packages(id) ON DELETE RESTRICT,
      toll_package_id bigint REFERENCES toll_packages(id) ON DELETE RESTRICT,
      starts_at timestamptz NOT NULL,
      ends_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      ended_recorded_at timestamptz,
      CONSTRAINT package_assignments_one_package CHECK ((feature_package_id IS NULL) <> (toll_package_id IS NULL)),
      CONSTRAINT package_assignments_features_to_subscribers CHECK (feature_package_id IS NULL OR subscriber_id IS NOT NULL),
      CONSTRAINT package_assignments_span CHECK (ends_at IS NULL OR ends_at > starts_at)
    )`);
  await knex.raw('CREATE INDEX package_assignments_subscriber_idx ON package_assignments (subscriber_id, starts_at) WHERE subscriber_id IS NOT NULL');
  await knex.raw('CREATE INDEX package_assignments_reseller_idx ON package_assignments (reseller_id, starts_at)');
  await knex.raw('CREATE INDEX package_assignments_feature_idx ON package_assignments (feature_package_id) WHERE feature_package_id IS NOT NULL');
  await knex.raw('CREATE INDEX package_assignments_toll_idx ON package_assignments (toll_package_id) WHERE toll_package_id IS NOT NULL');

  await knex.raw(`
    CREATE TABLE allowance_usage (
      assignment_id bigint NOT NULL REFERENCES package_assignments(id) ON DELETE RESTRICT,
      group_id bigint NOT NULL REFERENCES destination_groups(id) ON DELETE RESTRICT,
      cycle_start timestamptz NOT NULL,
      cycle_end timestamptz NOT NULL,
      seconds_used bigint NOT NULL DEFAULT 0 CONSTRAINT allowance_usage_used_check CHECK (seconds_used >= 0),
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (assignment_id, group_id, cycle_start)
    )`);

  // A charge's seconds covered by allowances, and from which: [{assignment_id, group_id,
  // cycle_start, seconds}]. Adding a column with a constant default rewrites no partition.
  await knex.raw(`ALTER TABLE charges ADD COLUMN covered_seconds integer NOT NULL DEFAULT 0`);
  await knex.raw(`ALTER TABLE charges ADD COLUMN allowances jsonb NOT NULL DEFAULT '[]'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE charges DROP COLUMN allowances');
  await knex.raw('ALTER TABLE charges DROP COLUMN covered_seconds');
  for (const t of ['allowance_usage', 'package_assignments', 'toll_package_groups', 'toll_packages', 'destination_group_prefixes', 'destination_groups', 'feature_package_offers', 'feature_package_features', 'feature_packages', 'features']) {
    await knex.raw(`DROP TABLE ${t}`);
  }
}
