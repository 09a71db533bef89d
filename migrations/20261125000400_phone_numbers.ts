import type { Knex } from 'knex';

// A subscriber's phone numbers in E.164. History is kept: releasing a number sets released_at, and
// a number may be active on at most one subscriber at a time (partial unique index).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('phone_numbers', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('reseller_id').notNullable();
    t.bigInteger('subscriber_id').notNullable();
    t.text('number').notNullable();
    t.text('label');
    t.timestamp('assigned_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('released_at', { useTz: true });
    t.foreign(['reseller_id', 'subscriber_id']).references(['reseller_id', 'id']).inTable('subscribers').onDelete('RESTRICT');
  });
  await knex.raw(`ALTER TABLE phone_numbers ADD CONSTRAINT phone_numbers_e164_check CHECK (number ~ '^\\+[1-9][0-9]{1,14}$')`);
  await knex.raw(`CREATE UNIQUE INDEX phone_numbers_active_number_key ON phone_numbers (number) WHERE released_at IS NULL`);
  await knex.raw(`CREATE INDEX phone_numbers_subscriber_idx ON phone_numbers (reseller_id, subscriber_id)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('phone_numbers');
}
