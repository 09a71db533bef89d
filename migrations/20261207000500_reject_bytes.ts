import type { Knex } from 'knex';

/**
 * A refused post kept as the bytes that arrived, when text cannot hold them: a body that is not
 * UTF-8, holds a NUL byte, or does not decompress. `body` then holds a readable rendering.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE cdr_rejects ADD COLUMN body_bytes bytea');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE cdr_rejects DROP COLUMN body_bytes');
}
