import type { Knex } from 'knex';

// People who log in to the portals. Wholesale staff have no reseller_id; everyone else belongs to
// exactly one reseller, and a subscriber login to exactly one subscriber of that reseller.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('reseller_id').references('resellers.id').onDelete('RESTRICT');
    t.bigInteger('subscriber_id');
    t.text('email').notNullable();
    t.text('name').notNullable();
    t.text('role').notNullable();
    t.text('password_hash').notNullable();
    t.text('status').notNullable().defaultTo('active');
    // TOTP secret, encrypted with the instance key; totp_enabled_at set once the user confirmed a code.
    t.text('totp_secret');
    t.timestamp('totp_enabled_at', { useTz: true });
    t.timestamp('password_changed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_login_at', { useTz: true });
    t.timestamps(true, true);
    t.foreign(['reseller_id', 'subscriber_id']).references(['reseller_id', 'id']).inTable('subscribers').onDelete('RESTRICT');
  });
  await knex.raw(`CREATE UNIQUE INDEX users_email_key ON users (lower(email))`);
  await knex.raw(`CREATE INDEX users_reseller_idx ON users (reseller_id, lower(email))`);
  await knex.raw(`ALTER TABLE users ADD CONSTRAINT users_status_check CHECK (status IN ('active','disabled'))`);
  await knex.raw(`ALTER TABLE users ADD CONSTRAINT users_role_scope_check CHECK (
    (role IN ('wholesale_admin','wholesale_support') AND reseller_id IS NULL AND subscriber_id IS NULL) OR
    (role IN ('reseller_admin','reseller_support') AND reseller_id IS NOT NULL AND subscriber_id IS NULL) OR
    (role = 'subscriber' AND reseller_id IS NOT NULL AND subscriber_id IS NOT NULL))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('users');
}
