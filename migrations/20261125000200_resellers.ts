import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('resellers', (t) => {
    t.bigIncrements('id').primary();
    t.text('name').notNullable();
    // Short, stable code used in record file names and API paths.
    t.text('code').notNullable();
    t.text('status').notNullable().defaultTo('active');
    // Whether the reseller uses the operator's billing service (retail rating of its subscribers).
    t.boolean('billing_service').notNullable().defaultTo(true);
    t.specificType('currency', 'char(3)').notNullable().defaultTo('USD');
    t.text('contact_name');
    t.text('contact_email');
    t.text('contact_phone');
    t.text('notes');
    t.timestamp('status_changed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamps(true, true);
  });
  await knex.raw(`ALTER TABLE resellers ADD CONSTRAINT resellers_status_check CHECK (status IN ('active','inactive'))`);
  await knex.raw(`ALTER TABLE resellers ADD CONSTRAINT resellers_currency_check CHECK (currency ~ '^[A-Z]{3}$')`);
  await knex.raw(`CREATE UNIQUE INDEX resellers_code_key ON resellers (lower(code))`);
  await knex.raw(`CREATE UNIQUE INDEX resellers_name_key ON resellers (lower(name))`);
  // Keyset paging of the resellers list by name.
  await knex.raw(`CREATE INDEX resellers_name_id_idx ON resellers (lower(name), id)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('resellers');
}
