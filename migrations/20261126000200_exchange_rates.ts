import type { Knex } from 'knex';

// Effective-dated exchange rates, managed by wholesale admins: 1 unit of from_currency is `rate`
// units of to_currency from effective_from on.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('exchange_rates', (t) => {
    t.bigIncrements('id').primary();
    t.specificType('from_currency', 'char(3)').notNullable();
    t.specificType('to_currency', 'char(3)').notNullable();
    t.decimal('rate', 30, 12).notNullable();
    t.timestamp('effective_from', { useTz: true }).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`ALTER TABLE exchange_rates ADD CONSTRAINT exchange_rates_check CHECK (rate > 0 AND from_currency <> to_currency AND from_currency ~ '^[A-Z]{3}$' AND to_currency ~ '^[A-Z]{3}$')`);
  await knex.raw(`CREATE UNIQUE INDEX exchange_rates_key ON exchange_rates (from_currency, to_currency, effective_from)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('exchange_rates');
}
