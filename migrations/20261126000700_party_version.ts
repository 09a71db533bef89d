import type { Knex } from 'knex';

/**
 * A counter of changes to what rating reads about a number's holder (phone_numbers, and the
 * subscriber and reseller fields of holdersOf), bumped by triggers in the changing transaction, so
 * it commits with the change, whoever writes it. The intake keeps holders in memory tagged with
 * the counter it read them at, and writes a rated leg only if the counter is still the same (see
 * modules/intake/holders-cache.ts): no process can price a call with a holder that has changed.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE party_version (
      one boolean PRIMARY KEY DEFAULT true CHECK (one),
      version bigint NOT NULL
    )`);
  await knex.raw(`INSERT INTO party_version (one, version) VALUES (true, 1)`);
  // An upsert: the counter goes on even if someone removed its row.
  await knex.raw(`
    CREATE FUNCTION bump_party_version() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO party_version (one, version) VALUES (true, 1)
        ON CONFLICT (one) DO UPDATE SET version = party_version.version + 1;
      RETURN NULL;
    END $$`);
  // Per statement: a bulk import bumps it once per statement, not once per row.
  await knex.raw(`
    CREATE TRIGGER phone_numbers_party_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON phone_numbers
      FOR EACH STATEMENT EXECUTE FUNCTION bump_party_version()`);
  await knex.raw(`
    CREATE TRIGGER subscribers_party_version
      AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF reseller_id, status, country, region, retail_plan_id, billing_currency, tax_exempt ON subscribers
      FOR EACH STATEMENT EXECUTE FUNCTION bump_party_version()`);
  await knex.raw(`
    CREATE TRIGGER resellers_party_version
      AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF name, status, currency, billing_service, wholesale_plan_id, tax_exempt ON resellers
      FOR EACH STATEMENT EXECUTE FUNCTION bump_party_version()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER resellers_party_version ON resellers');
  await knex.raw('DROP TRIGGER subscribers_party_version ON subscribers');
  await knex.raw('DROP TRIGGER phone_numbers_party_version ON phone_numbers');
  await knex.raw('DROP FUNCTION bump_party_version()');
  await knex.raw('DROP TABLE party_version');
}
