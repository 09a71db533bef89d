import type { Knex } from 'knex';

// Every change made through a portal or the API: who, when, what, before and after.
// reseller_id is the tenant the change belongs to (null for operator-level entities).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('audit_log', (t) => {
    t.bigIncrements('id').primary();
    t.timestamp('occurred_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.bigInteger('reseller_id').references('resellers.id').onDelete('RESTRICT');
    t.bigInteger('actor_user_id').references('users.id').onDelete('SET NULL');
    t.text('actor_email');
    t.text('actor_role');
    t.text('entity_type').notNullable();
    t.bigInteger('entity_id');
    t.text('action').notNullable();
    t.jsonb('before');
    t.jsonb('after');
    t.text('ip');
    t.text('request_id');
  });
  await knex.raw(`CREATE INDEX audit_log_occurred_idx ON audit_log (occurred_at DESC, id DESC)`);
  await knex.raw(`CREATE INDEX audit_log_reseller_idx ON audit_log (reseller_id, occurred_at DESC, id DESC)`);
  await knex.raw(`CREATE INDEX audit_log_entity_idx ON audit_log (entity_type, entity_id)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('audit_log');
}
