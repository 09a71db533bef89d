import type { Knex } from 'knex';

/**
 * Webhook secret rotation with an overlap: the secret an endpoint had before its latest rotation
 * (sealed, as the current one) keeps signing beside the new one until `previous_secret_until`, so
 * that a receiver can switch over without refusing a message. Both null: no overlap.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE webhook_endpoints
      ADD COLUMN previous_secret text,
      ADD COLUMN previous_secret_until timestamptz,
      ADD CONSTRAINT webhook_endpoints_previous_secret_both CHECK ((previous_secret IS NULL) = (previous_secret_until IS NULL))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE webhook_endpoints DROP CONSTRAINT webhook_endpoints_previous_secret_both, DROP COLUMN previous_secret, DROP COLUMN previous_secret_until');
}
