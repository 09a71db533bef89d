import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('subscribers', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('reseller_id').notNullable().references('resellers.id').onDelete('RESTRICT');
    t.text('account_number').notNullable();
    t.text('name').notNullable();
    t.text('status').notNullable().defaultTo('active');
    t.text('contact_name');
    t.text('email');
    t.text('phone');
    // Service address: the jurisdiction for usage taxes comes from country and region.
    t.text('address_line1');
    t.text('address_line2');
    t.text('city');
    t.text('region');
    t.text('postal_code');
    t.specificType('country', 'char(2)').notNullable();
    t.timestamp('status_changed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamps(true, true);
  });
  await knex.raw(`ALTER TABLE subscribers ADD CONSTRAINT subscribers_status_check CHECK (status IN ('active','inactive'))`);
  await knex.raw(`ALTER TABLE subscribers ADD CONSTRAINT subscribers_country_check CHECK (country ~ '^[A-Z]{2}$')`);
  // Account numbers are unique within a reseller; (reseller_id, id) lets child tables prove tenancy by FK.
  await knex.raw(`CREATE UNIQUE INDEX subscribers_reseller_account_key ON subscribers (reseller_id, lower(account_number))`);
  await knex.raw(`ALTER TABLE subscribers ADD CONSTRAINT subscribers_reseller_id_id_key UNIQUE (reseller_id, id)`);
  await knex.raw(`CREATE INDEX subscribers_reseller_name_idx ON subscribers (reseller_id, lower(name), id)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('subscribers');
}
