import type { Knex } from 'knex';

/**
 * Rejects that cannot swamp the database: one reject per refused post, with the errors of its
 * records inside it (a post of 100,000 bad records made 100,000 rows); bodies kept up to a cap,
 * with the size they had; a daily allowance of kept bytes per platform (reject_quota); and a
 * retention the operator sets (settings 'reject_retention_days'), after which they are deleted.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE cdr_rejects ADD COLUMN errors jsonb');
  await knex.raw('ALTER TABLE cdr_rejects ADD COLUMN original_bytes bigint');
  await knex.raw(`
    CREATE TABLE reject_quota (
      platform_id bigint NOT NULL REFERENCES platforms(id),
      day date NOT NULL,
      bytes bigint NOT NULL,
      PRIMARY KEY (platform_id, day)
    )`);
  await knex.raw('CREATE INDEX cdr_rejects_platform_received_idx ON cdr_rejects (platform_id, received_at DESC, id DESC)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX cdr_rejects_platform_received_idx');
  await knex.raw('DROP TABLE reject_quota');
  await knex.raw('ALTER TABLE cdr_rejects DROP COLUMN original_bytes');
  await knex.raw('ALTER TABLE cdr_rejects DROP COLUMN errors');
}
