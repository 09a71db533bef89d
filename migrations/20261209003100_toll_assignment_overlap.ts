import type { Knex } from 'knex';

/**
 * A toll package is held by one party at most once at a time (issue 11): two assignments of the
 * same toll package to the same party (a subscriber, or the reseller itself when subscriber_id is
 * null) never overlap in time. The service says so first with a readable message; this constraint
 * holds it whatever writes the rows. Single-point int8ranges compared with && stand in for
 * equality, so core GiST suffices (no btree_gist: it runs on PGlite too). Feature-package rows are
 * left alone (their rules are their module's).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE package_assignments ADD CONSTRAINT package_assignments_toll_no_overlap EXCLUDE USING gist (
      int8range(toll_package_id, toll_package_id, '[]') WITH &&,
      int8range(coalesce(subscriber_id, -reseller_id), coalesce(subscriber_id, -reseller_id), '[]') WITH &&,
      tstzrange(starts_at, ends_at) WITH &&
    ) WHERE (toll_package_id IS NOT NULL)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE package_assignments DROP CONSTRAINT package_assignments_toll_no_overlap');
}
