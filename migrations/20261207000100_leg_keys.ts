import type { Knex } from 'knex';

/**
 * A platform's leg key names one leg, whatever else a re-post says. call_legs is partitioned by
 * the call's start, and a unique index on a partitioned table must include the partition key: the
 * old (platform_id, leg_key, start_at) let a re-post whose start differed (only its precision, or
 * hours, or another month) store a second leg and charge it again. leg_keys, not partitioned,
 * holds each key once; every write path claims the key in the statement or COPY that stores the
 * leg, so the unique index settles concurrent re-posts as it did before. The leg is found from its
 * key by (leg_id, start_at), call_legs' primary key.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE leg_keys (
      platform_id bigint NOT NULL REFERENCES platforms(id),
      leg_key text NOT NULL,
      leg_id bigint NOT NULL,
      start_at timestamptz NOT NULL,
      PRIMARY KEY (platform_id, leg_key)
    )`);
  // The key is kept in leg_keys now; this index only cost every insert its upkeep.
  await knex.raw('DROP INDEX call_legs_platform_leg_key');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('CREATE UNIQUE INDEX call_legs_platform_leg_key ON call_legs (platform_id, leg_key, start_at)');
  await knex.raw('DROP TABLE leg_keys');
}
