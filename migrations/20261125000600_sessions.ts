import type { Knex } from 'knex';

// Portal sessions, in the layout connect-pg-simple reads and writes.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('sessions', (t) => {
    t.string('sid').primary();
    t.json('sess').notNullable();
    t.timestamp('expire', { useTz: true, precision: 6 }).notNullable();
  });
  await knex.raw(`CREATE INDEX sessions_expire_idx ON sessions (expire)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('sessions');
}
