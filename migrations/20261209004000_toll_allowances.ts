import type { Knex } from 'knex';

/**
 * Toll package allowances in rating (issue 11). Rating knows from the holders of numbers whether a
 * party holds toll packages at all (rating/holders.ts, Party.subscriberTolls / resellerTolls), so
 * that a leg of a party without any costs no query; package_assignments therefore moves
 * party_version like the other tables rating reads about a party (20261126000700), and the intake's
 * holders cache and its write check follow it. The index answers "does this reseller hold an
 * operator's toll package" without walking its subscribers' assignments.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TRIGGER package_assignments_party_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON package_assignments
      FOR EACH STATEMENT EXECUTE FUNCTION bump_party_version()`);
  await knex.raw(`CREATE INDEX package_assignments_reseller_tolls_idx ON package_assignments (reseller_id) WHERE subscriber_id IS NULL AND toll_package_id IS NOT NULL`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX package_assignments_reseller_tolls_idx');
  await knex.raw('DROP TRIGGER package_assignments_party_version ON package_assignments');
}
