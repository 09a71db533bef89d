import type { Knex } from 'knex';

/**
 * Idempotency-Key (issue 14): the first answer to a POST with a key, per caller, kept for a day, so
 * that a retried POST gets that answer again instead of making a second object. The row is claimed
 * in the transaction that makes the change and holds its answer when that commits; a retry that
 * arrives meanwhile waits on the row's unique key, then reads the answer. A request that failed
 * left no row (its transaction rolled back): retrying it runs it again.
 *
 * caller: 'key:<api key id>' or 'login:<user id>' (a principal plugged in by a test).
 * request_hash: SHA-256 of method, path and body: the same key with another request is refused.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE api_idempotency (
      id bigserial PRIMARY KEY,
      reseller_id bigint REFERENCES resellers(id) ON DELETE CASCADE,
      caller text NOT NULL,
      idempotency_key text NOT NULL,
      request_hash text NOT NULL,
      status integer,
      headers jsonb NOT NULL DEFAULT '{}'::jsonb,
      body text,
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (caller, idempotency_key)
    )`);
  await knex.raw('CREATE INDEX api_idempotency_created_idx ON api_idempotency (created_at)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE api_idempotency');
}
