import type { Knex } from 'knex';

/**
 * Rate plans (DOMAIN.md, "A rate plan"): owned by the operator (reseller_id null: plans sold to
 * resellers) or by a reseller (plans sold to its subscribers). Rates are effective-dated per row;
 * a rate's steps are kept as JSON with decimal strings, so they load in one query and never pass
 * through a float. `revision` grows on every change: the in-memory compiled plan is keyed by it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('rate_plans', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('reseller_id').references('resellers.id').onDelete('RESTRICT');
    t.text('name').notNullable();
    t.text('description');
    t.specificType('currency', 'char(3)').notNullable();
    t.smallint('rounding_decimals').notNullable().defaultTo(4);
    t.text('rounding_method').notNullable().defaultTo('half_up');
    t.text('time_zone').notNullable().defaultTo('UTC');
    t.text('band_mode').notNullable().defaultTo('split');
    t.boolean('connect_fee_on_unanswered').notNullable().defaultTo(false);
    t.integer('revision').notNullable().defaultTo(1);
    t.timestamps(true, true);
  });
  await knex.raw(`ALTER TABLE rate_plans ADD CONSTRAINT rate_plans_currency_check CHECK (currency ~ '^[A-Z]{3}$')`);
  await knex.raw(`ALTER TABLE rate_plans ADD CONSTRAINT rate_plans_rounding_check CHECK (rounding_decimals BETWEEN 0 AND 10 AND rounding_method IN ('half_up','half_even','up','down'))`);
  await knex.raw(`ALTER TABLE rate_plans ADD CONSTRAINT rate_plans_band_mode_check CHECK (band_mode IN ('split','start'))`);
  await knex.raw(`CREATE UNIQUE INDEX rate_plans_owner_name_key ON rate_plans (coalesce(reseller_id, 0), lower(name))`);

  await knex.schema.createTable('rate_plan_bands', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('rate_plan_id').notNullable().references('rate_plans.id').onDelete('CASCADE');
    t.bigInteger('reseller_id').references('resellers.id').onDelete('RESTRICT');
    t.text('band').notNullable();
    t.specificType('weekdays', 'smallint[]').notNullable().defaultTo('{}');
    t.specificType('dates', 'date[]').notNullable().defaultTo('{}');
    t.integer('start_ms').notNullable();
  });
  await knex.raw(`CREATE INDEX rate_plan_bands_plan_idx ON rate_plan_bands (rate_plan_id)`);

  await knex.schema.createTable('rates', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('rate_plan_id').notNullable().references('rate_plans.id').onDelete('CASCADE');
    t.bigInteger('reseller_id').references('resellers.id').onDelete('RESTRICT');
    t.text('prefix').notNullable();
    t.text('description').notNullable().defaultTo('');
    t.text('direction').notNullable();
    t.text('band');
    t.timestamp('effective_from', { useTz: true }).notNullable();
    t.decimal('connect_fee', 20, 10).notNullable().defaultTo(0);
    t.decimal('min_charge', 20, 10);
    t.decimal('max_cost', 20, 10);
    t.jsonb('steps').notNullable();
  });
  await knex.raw(`ALTER TABLE rates ADD CONSTRAINT rates_prefix_check CHECK (prefix ~ '^[0-9]{1,15}$')`);
  await knex.raw(`ALTER TABLE rates ADD CONSTRAINT rates_direction_check CHECK (direction IN ('outbound','inbound','onnet'))`);
  await knex.raw(`CREATE UNIQUE INDEX rates_plan_key ON rates (rate_plan_id, direction, prefix, coalesce(band, ''), effective_from)`);

  // Which plan prices what: the operator's plan for a reseller's wholesale charges, the reseller's
  // plan for a subscriber's retail charges.
  await knex.schema.alterTable('resellers', (t) => {
    t.bigInteger('wholesale_plan_id').references('rate_plans.id').onDelete('RESTRICT');
  });
  await knex.schema.alterTable('subscribers', (t) => {
    t.bigInteger('retail_plan_id').references('rate_plans.id').onDelete('RESTRICT');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('subscribers', (t) => t.dropColumn('retail_plan_id'));
  await knex.schema.alterTable('resellers', (t) => t.dropColumn('wholesale_plan_id'));
  await knex.schema.dropTable('rates');
  await knex.schema.dropTable('rate_plan_bands');
  await knex.schema.dropTable('rate_plans');
}
