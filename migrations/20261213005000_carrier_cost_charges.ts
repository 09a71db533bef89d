import type { Knex } from 'knex';

/**
 * The expected carrier cost of a leg (issue 13): a third kind of charge, 'carrier_cost', priced with
 * the cost deck of the LD carrier the leg left by, kept beside the wholesale and retail charges and
 * replaced with them by re-rating. It carries the payer's reseller_id (the column is NOT NULL and
 * partitions and joins go by it) but is the operator's figure only: every reader that is not the
 * operator's keeps to kind 'wholesale' or 'retail' (see ledger.reads.ts BILLED_KINDS).
 *
 * Rating reads the carriers (name -> cost deck, currency) from memory: a 'carriers' cache kind whose
 * version the carriers' own writes move, as for platforms (20261208007000_cache_versions).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE charges DROP CONSTRAINT charges_kind_check');
  await knex.raw(`ALTER TABLE charges ADD CONSTRAINT charges_kind_check CHECK (kind IN ('wholesale','retail','carrier_cost'))`);
  await knex.raw(`INSERT INTO cache_versions (kind, version) VALUES ('carriers', 1) ON CONFLICT (kind) DO NOTHING`);
  await knex.raw(`
    CREATE TRIGGER carriers_cache_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON carriers
      FOR EACH STATEMENT EXECUTE FUNCTION bump_cache_version('carriers')`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER carriers_cache_version ON carriers');
  await knex.raw(`DELETE FROM cache_versions WHERE kind = 'carriers'`);
  await knex.raw(`DELETE FROM charges WHERE kind = 'carrier_cost'`);
  await knex.raw('ALTER TABLE charges DROP CONSTRAINT charges_kind_check');
  await knex.raw(`ALTER TABLE charges ADD CONSTRAINT charges_kind_check CHECK (kind IN ('wholesale','retail'))`);
}
