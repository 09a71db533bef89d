import type { Knex } from 'knex';

/**
 * CDR intake: the platforms that send records, the records as received, the rejects, and the
 * legs and charges derived from them. Legs and charges grow without bound, so they are partitioned
 * by month of the call's start; the intake creates each month's partitions on first use.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('platforms', (t) => {
    t.bigIncrements('id').primary();
    t.text('name').notNullable();
    t.text('format').notNullable();
    t.text('time_zone').notNullable().defaultTo('UTC');
    t.text('country_code').notNullable().defaultTo('1');
    // sha256 of the random secret; the secret itself is shown once and never stored.
    t.text('credential_hash').notNullable();
    t.timestamp('credential_rotated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.specificType('allowed_sources', 'cidr[]');
    // Trunk or gateway name -> LD carrier name, for outbound legs.
    t.jsonb('trunk_carriers').notNullable().defaultTo('{}');
    t.boolean('active').notNullable().defaultTo(true);
    t.timestamps(true, true);
  });
  await knex.raw(`CREATE UNIQUE INDEX platforms_name_key ON platforms (lower(name))`);
  await knex.raw(`ALTER TABLE platforms ADD CONSTRAINT platforms_country_code_check CHECK (country_code ~ '^[1-9][0-9]{0,2}$')`);

  // What a platform sent, one row per record, exactly as received. Never changed by rating.
  await knex.schema.createTable('cdrs', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('platform_id').notNullable().references('platforms.id').onDelete('RESTRICT');
    t.timestamp('received_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('content_type');
    t.text('body').notNullable();
    t.text('body_sha256').notNullable();
  });
  await knex.raw(`CREATE INDEX cdrs_platform_received_idx ON cdrs (platform_id, received_at DESC)`);

  // Bodies we could not accept, kept for inspection.
  await knex.schema.createTable('cdr_rejects', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('platform_id').references('platforms.id').onDelete('RESTRICT');
    t.timestamp('received_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('source_ip');
    t.text('content_type');
    t.text('body').notNullable();
    t.text('error').notNullable();
    t.integer('record_index');
  });
  await knex.raw(`CREATE INDEX cdr_rejects_received_idx ON cdr_rejects (received_at DESC, id DESC)`);

  await knex.raw(`CREATE SEQUENCE call_legs_id_seq`);
  await knex.raw(`
    CREATE TABLE call_legs (
      id bigint NOT NULL DEFAULT nextval('call_legs_id_seq'),
      start_at timestamptz NOT NULL,
      platform_id bigint NOT NULL REFERENCES platforms(id),
      cdr_id bigint NOT NULL,
      leg_key text NOT NULL,
      call_id text NOT NULL,
      reseller_id bigint REFERENCES resellers(id),
      subscriber_id bigint,
      direction text,
      calling_number text,
      called_number text,
      raw_calling text NOT NULL DEFAULT '',
      raw_called text NOT NULL DEFAULT '',
      answer_at timestamptz,
      end_at timestamptz,
      billable_seconds integer NOT NULL,
      answered boolean NOT NULL,
      disposition text NOT NULL DEFAULT '',
      trunk text,
      carrier text,
      redirecting_number text,
      account_code text,
      status text NOT NULL,
      unrated_reason text,
      received_at timestamptz NOT NULL DEFAULT now(),
      rated_at timestamptz,
      PRIMARY KEY (id, start_at),
      CONSTRAINT call_legs_status_check CHECK (status IN ('rated','unrated','blocked')),
      CONSTRAINT call_legs_direction_check CHECK (direction IS NULL OR direction IN ('outbound','inbound','onnet','forwarded'))
    ) PARTITION BY RANGE (start_at)`);
  await knex.raw(`ALTER SEQUENCE call_legs_id_seq OWNED BY call_legs.id`);
  // Idempotency: a platform's leg is stored once. (The partition key has to be part of it.)
  await knex.raw(`CREATE UNIQUE INDEX call_legs_platform_leg_key ON call_legs (platform_id, leg_key, start_at)`);
  await knex.raw(`CREATE INDEX call_legs_subscriber_idx ON call_legs (subscriber_id, start_at DESC) WHERE subscriber_id IS NOT NULL`);
  await knex.raw(`CREATE INDEX call_legs_reseller_idx ON call_legs (reseller_id, start_at DESC)`);
  await knex.raw(`CREATE INDEX call_legs_status_idx ON call_legs (status, start_at DESC) WHERE status <> 'rated'`);
  await knex.raw(`CREATE INDEX call_legs_call_idx ON call_legs (platform_id, call_id)`);

  await knex.raw(`
    CREATE TABLE charges (
      leg_id bigint NOT NULL,
      start_at timestamptz NOT NULL,
      kind text NOT NULL,
      reseller_id bigint NOT NULL REFERENCES resellers(id),
      subscriber_id bigint,
      rate_plan_id bigint NOT NULL,
      plan_revision integer NOT NULL,
      direction text NOT NULL,
      prefix text NOT NULL,
      description text NOT NULL DEFAULT '',
      rate_effective_from timestamptz NOT NULL,
      billable_seconds integer NOT NULL,
      charged_seconds integer NOT NULL,
      pieces jsonb NOT NULL,
      currency char(3) NOT NULL,
      connect_fee numeric(20,10) NOT NULL,
      usage numeric(24,10) NOT NULL,
      amount numeric(24,10) NOT NULL,
      taxes jsonb NOT NULL DEFAULT '[]',
      tax_amount numeric(24,10) NOT NULL DEFAULT 0,
      total numeric(24,10) NOT NULL,
      billed_currency char(3) NOT NULL,
      exchange_rate numeric(30,12) NOT NULL,
      billed_total numeric(24,10) NOT NULL,
      rated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (leg_id, kind, start_at),
      CONSTRAINT charges_kind_check CHECK (kind IN ('wholesale','retail'))
    ) PARTITION BY RANGE (start_at)`);
  await knex.raw(`CREATE INDEX charges_reseller_idx ON charges (reseller_id, kind, start_at DESC)`);

  // The currency a subscriber is billed in; null: its reseller's.
  await knex.schema.alterTable('subscribers', (t) => {
    t.specificType('billing_currency', 'char(3)');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('subscribers', (t) => t.dropColumn('billing_currency'));
  await knex.raw('DROP TABLE IF EXISTS charges CASCADE');
  await knex.raw('DROP TABLE IF EXISTS call_legs CASCADE');
  await knex.schema.dropTable('cdr_rejects');
  await knex.schema.dropTable('cdrs');
  await knex.schema.dropTable('platforms');
}
