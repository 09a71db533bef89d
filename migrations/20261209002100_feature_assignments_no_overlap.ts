import type { Knex } from 'knex';

/**
 * Feature packages (issue 11): the same feature package is never given to a subscriber twice over
 * the same time. The service checks first (to name the clash); this is the database's guarantee for
 * two admins at once. Single-value int8ranges stand for equality so that core GiST suffices (no
 * btree_gist: it runs on PGlite as well); toll packages' rows are not concerned.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE package_assignments ADD CONSTRAINT package_assignments_feature_no_overlap EXCLUDE USING gist (
    int8range(subscriber_id, subscriber_id, '[]') WITH &&,
    int8range(feature_package_id, feature_package_id, '[]') WITH &&,
    tstzrange(starts_at, ends_at) WITH &&
  ) WHERE (feature_package_id IS NOT NULL)`);
  // The packages built on an operator's package (retire, withdraw, feature removal look them up).
  await knex.raw('CREATE INDEX feature_packages_base_idx ON feature_packages (base_package_id) WHERE base_package_id IS NOT NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX feature_packages_base_idx');
  await knex.raw('ALTER TABLE package_assignments DROP CONSTRAINT package_assignments_feature_no_overlap');
}
