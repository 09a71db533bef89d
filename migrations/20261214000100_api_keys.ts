import type { Knex } from 'knex';

/**
 * API keys (issue 14): keys of the operator (reseller_id null) and of each reseller, read-only or
 * read-write, for /api/v1. A key is `apk_<id>_<secret>`; only the SHA-256 of the whole key is kept
 * (a high-entropy secret needs no slow hash), so it is shown once. A key belongs to its party, not
 * to the person who made it: it goes on working when that person leaves, until revoked.
 *
 * audit_log.actor_api_key_id: a change made through the API is the key's, by name, not a person's.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE api_keys (
      id bigserial PRIMARY KEY,
      reseller_id bigint REFERENCES resellers(id) ON DELETE RESTRICT,
      name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
      access text NOT NULL CHECK (access IN ('read', 'write')),
      key_hash text NOT NULL UNIQUE,
      key_hint text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      created_by bigint REFERENCES users(id) ON DELETE SET NULL,
      last_used_at timestamptz,
      last_used_ip text,
      revoked_at timestamptz,
      revoked_by bigint REFERENCES users(id) ON DELETE SET NULL
    )`);
  await knex.raw('CREATE INDEX api_keys_reseller_idx ON api_keys (reseller_id, id)');
  await knex.raw('ALTER TABLE audit_log ADD COLUMN actor_api_key_id bigint REFERENCES api_keys(id) ON DELETE SET NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE audit_log DROP COLUMN actor_api_key_id');
  await knex.raw('DROP TABLE api_keys');
}
