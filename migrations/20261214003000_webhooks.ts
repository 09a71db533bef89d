import type { Knex } from 'knex';

/**
 * Webhooks (issue 14): endpoints of the operator (reseller_id null: every reseller's events and the
 * operator's own) and of resellers (their own events), the fan-out cursor over the outbox, one
 * delivery per (endpoint, event) and every attempt with its answer.
 *
 * outbox_events.reseller_id becomes nullable: an operator-level event (a reconciliation finished)
 * has no reseller and goes to the operator's endpoints only.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE outbox_events ALTER COLUMN reseller_id DROP NOT NULL');
  await knex.raw(`
    CREATE TABLE webhook_endpoints (
      id bigserial PRIMARY KEY,
      reseller_id bigint REFERENCES resellers (id) ON DELETE RESTRICT,
      url text NOT NULL,
      description text NOT NULL DEFAULT '',
      -- null: every event the owner may receive; otherwise the chosen types of the catalogue.
      event_types jsonb,
      -- whsec_… sealed with the instance key (auth/secret-box): kept to sign, never shown again.
      secret text NOT NULL,
      active boolean NOT NULL DEFAULT true,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      secret_rotated_at timestamptz NOT NULL DEFAULT now()
    )`);
  await knex.raw('CREATE INDEX webhook_endpoints_reseller_idx ON webhook_endpoints (reseller_id, id)');
  // The fan-out's place in the outbox (changes module cursor, "xid.position"): one row.
  await knex.raw(`
    CREATE TABLE webhook_fanout (
      id boolean PRIMARY KEY DEFAULT true CONSTRAINT webhook_fanout_one_row CHECK (id),
      cursor text,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
  await knex.raw(`
    CREATE TABLE webhook_deliveries (
      id bigserial PRIMARY KEY,
      endpoint_id bigint NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
      -- The endpoint's owner (null: the operator), for scoping reads.
      reseller_id bigint REFERENCES resellers (id) ON DELETE RESTRICT,
      -- The Standard Webhooks message id (webhook-id): the event's, the same on every attempt.
      event_id text NOT NULL,
      event_type text NOT NULL,
      entity_type text NOT NULL,
      entity_id bigint,
      -- The body sent, exactly (its bytes are signed).
      body text NOT NULL,
      event_at timestamptz NOT NULL,
      status text NOT NULL DEFAULT 'pending' CONSTRAINT webhook_deliveries_status_check CHECK (status IN ('pending', 'delivered', 'failed')),
      attempts integer NOT NULL DEFAULT 0,
      next_at timestamptz NOT NULL DEFAULT now(),
      give_up_at timestamptz NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      finished_at timestamptz,
      -- Sent again by hand: the next attempt is marked manual.
      resend boolean NOT NULL DEFAULT false,
      CONSTRAINT webhook_deliveries_event_key UNIQUE (endpoint_id, event_id)
    )`);
  await knex.raw("CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_at) WHERE status = 'pending'");
  // "Is an earlier delivery of this object to this endpoint still pending?" (order per object).
  await knex.raw("CREATE INDEX webhook_deliveries_object_idx ON webhook_deliveries (endpoint_id, entity_type, entity_id, id) WHERE status = 'pending'");
  await knex.raw('CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, id)');
  await knex.raw(`
    CREATE TABLE webhook_attempts (
      id bigserial PRIMARY KEY,
      delivery_id bigint NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
      at timestamptz NOT NULL DEFAULT now(),
      status_code integer,
      answer text NOT NULL DEFAULT '',
      duration_ms integer NOT NULL,
      error text,
      -- Sent again by hand (a person's "send again"), not by the back-off.
      manual boolean NOT NULL DEFAULT false
    )`);
  await knex.raw('CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE webhook_attempts');
  await knex.raw('DROP TABLE webhook_deliveries');
  await knex.raw('DROP TABLE webhook_fanout');
  await knex.raw('DROP TABLE webhook_endpoints');
  // Operator-level events cannot be kept without their column's new meaning.
  await knex.raw('DELETE FROM outbox_events WHERE reseller_id IS NULL');
  await knex.raw('ALTER TABLE outbox_events ALTER COLUMN reseller_id SET NOT NULL');
}
