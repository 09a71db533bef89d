import type { Knex } from 'knex';

/**
 * Halves of calls waiting for their other half from a later post (a Kamailio INVITE 200 whose BYE
 * has not come yet). Acknowledged to the platform once stored here; consumed when the call closes.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('pending_records', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('platform_id').notNullable().references('platforms.id').onDelete('RESTRICT');
    t.text('correlation').notNullable();
    t.jsonb('record').notNullable();
    t.text('raw').notNullable();
    t.timestamp('received_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`CREATE INDEX pending_records_key_idx ON pending_records (platform_id, correlation)`);
  await knex.raw(`CREATE INDEX pending_records_received_idx ON pending_records (received_at)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('pending_records');
}
