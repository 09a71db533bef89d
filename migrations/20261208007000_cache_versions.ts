import type { Knex } from 'knex';

/**
 * A version per kind of reference data that processes keep in memory (docs/ARCHITECTURE-caches.md):
 * bumped by triggers in the transaction that changes the rows, so it commits with the change
 * whoever writes it (a service, a fixture, a hand edit in psql). A cache compares it with the
 * version it last confirmed and drops its copy when it moved; NOTIFY only tells it to look sooner.
 * The holders of numbers have theirs already (party_version, 20261126000700).
 *
 * Rate plans: a plan's version is its revision, which every change of its settings, rates or bands
 * moves (the services do, and each charge records the revision it was priced at, so a hand edit of
 * rates must move it too). The kind's version moves with rate_plans only: the cache then compares
 * the revisions of the plans it holds and drops those that moved (see plan-cache.ts).
 */
const KINDS: Record<string, string[]> = {
  rate_plans: ['rate_plans'],
  platforms: ['platforms'],
  taxes: ['taxes', 'tax_jurisdictions'],
  exchange_rates: ['exchange_rates'],
};

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE cache_versions (
      kind text PRIMARY KEY,
      version bigint NOT NULL
    )`);
  await knex.raw(`INSERT INTO cache_versions (kind, version) SELECT unnest(?::text[]), 1`, [Object.keys(KINDS)]);
  // An upsert, as bump_party_version: the counter goes on even if someone removed its row.
  await knex.raw(`
    CREATE FUNCTION bump_cache_version() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO cache_versions (kind, version) VALUES (TG_ARGV[0], 1)
        ON CONFLICT (kind) DO UPDATE SET version = cache_versions.version + 1;
      RETURN NULL;
    END $$`);
  // Per statement: a deck import of 100,000 rates bumps it once per statement, not once per row.
  for (const [kind, tables] of Object.entries(KINDS)) {
    for (const table of tables) {
      await knex.raw(`
        CREATE TRIGGER ${table}_cache_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${table}
          FOR EACH STATEMENT EXECUTE FUNCTION bump_cache_version('${kind}')`);
    }
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const tables of Object.values(KINDS)) for (const table of tables) await knex.raw(`DROP TRIGGER ${table}_cache_version ON ${table}`);
  await knex.raw('DROP FUNCTION bump_cache_version()');
  await knex.raw('DROP TABLE cache_versions');
}
