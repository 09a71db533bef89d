import type { Knex } from 'knex';

/**
 * The intake's holders cache remembers the toll packages of the parties that hold them with the
 * holders (rating/holders.ts): a change to a package, its groups, a destination group or its
 * prefixes must move party_version as an assignment already does (20261209004000), so that a leg
 * rated with the old package is rated again rather than written. These tables change seldom.
 */
const TABLES = ['toll_packages', 'toll_package_groups', 'destination_groups', 'destination_group_prefixes'];

export async function up(knex: Knex): Promise<void> {
  for (const t of TABLES) {
    await knex.raw(`CREATE TRIGGER ${t}_party_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${t} FOR EACH STATEMENT EXECUTE FUNCTION bump_party_version()`);
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const t of TABLES) await knex.raw(`DROP TRIGGER ${t}_party_version ON ${t}`);
}
