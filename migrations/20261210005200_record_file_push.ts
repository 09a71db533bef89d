import type { Knex } from 'knex';

/**
 * The push of closed record files to a reseller's HTTPS address (issue 12): the address and the
 * shared secret the body is signed with (HMAC-SHA256; the secret must be kept to sign, so it is
 * stored as given, like a webhook secret), one delivery per closed file (made in the closing's
 * transaction; "send again" makes another), and every attempt with its answer.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE record_file_push_targets (
      reseller_id bigint PRIMARY KEY REFERENCES resellers(id) ON DELETE RESTRICT,
      url text NOT NULL CHECK (length(url) BETWEEN 8 AND 2000),
      secret text NOT NULL CHECK (length(secret) >= 16),
      active boolean NOT NULL DEFAULT true,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
  await knex.raw(`
    CREATE TABLE record_file_deliveries (
      id bigserial PRIMARY KEY,
      file_id bigint NOT NULL REFERENCES record_files(id) ON DELETE RESTRICT,
      reseller_id bigint NOT NULL REFERENCES resellers(id) ON DELETE RESTRICT,
      url text NOT NULL,
      status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','delivered','failed')),
      attempts integer NOT NULL DEFAULT 0,
      next_at timestamptz NOT NULL DEFAULT now(),
      give_up_at timestamptz NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      finished_at timestamptz
    )`);
  await knex.raw("CREATE INDEX record_file_deliveries_due_idx ON record_file_deliveries (next_at) WHERE status = 'pending'");
  await knex.raw('CREATE INDEX record_file_deliveries_file_idx ON record_file_deliveries (reseller_id, file_id)');
  await knex.raw(`
    CREATE TABLE record_file_delivery_attempts (
      id bigserial PRIMARY KEY,
      delivery_id bigint NOT NULL REFERENCES record_file_deliveries(id) ON DELETE RESTRICT,
      at timestamptz NOT NULL DEFAULT now(),
      status_code integer,
      answer text NOT NULL DEFAULT ''
    )`);
  await knex.raw('CREATE INDEX record_file_delivery_attempts_idx ON record_file_delivery_attempts (delivery_id, id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS record_file_delivery_attempts');
  await knex.raw('DROP TABLE IF EXISTS record_file_deliveries');
  await knex.raw('DROP TABLE IF EXISTS record_file_push_targets');
}
