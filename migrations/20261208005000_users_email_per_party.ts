import type { Knex } from 'knex';

/**
 * A login's email is unique within its party, not across the product (DOMAIN.md: "Logins"): the
 * operator's staff (reseller_id null, read as 0: reseller ids start at 1), or one reseller's staff
 * and subscribers together. A product-wide key let a reseller learn that another tenant had a login.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX users_email_key');
  await knex.raw('CREATE UNIQUE INDEX users_party_email_key ON users ((coalesce(reseller_id, 0)), lower(email))');
  // Login looks a person up by email alone, in every party.
  await knex.raw('CREATE INDEX users_email_idx ON users (lower(email))');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX users_email_idx');
  await knex.raw('DROP INDEX users_party_email_key');
  // Fails while two parties share an email: which login to keep is not this migration's choice.
  await knex.raw('CREATE UNIQUE INDEX users_email_key ON users (lower(email))');
}
