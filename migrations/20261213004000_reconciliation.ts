import type { Knex } from 'knex';

/**
 * Reconciliation of an LD carrier's billing records against our legs (issue 13).
 *
 * The legs' expected carrier cost is their 'carrier_cost' charge (20261213005000_carrier_cost_charges).
 * - reconciliation_runs: one run of a carrier over a period [period_from, period_to), by a person
 *   (requested_by) or 'automatic', with its tolerances as used and its totals per class. A later
 *   run of the same carrier and period supersedes it (status 'superseded', superseded_by): the old
 *   run keeps its figures and items, so "what changed since the previous run" can be read; the
 *   current result of a carrier and period is its one run that is 'done'.
 * - reconciliation_items: every leg and record of a run with its class (RECON_CLASSES of
 *   src/domain/reconciliation/reconcile.ts), differences and money at stake (carrier minus ours).
 *   Legs and records are referred to by id/key and start (their tables are partitioned; no FK).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE reconciliation_runs (
      id bigserial PRIMARY KEY,
      carrier_id bigint NOT NULL REFERENCES carriers(id) ON DELETE CASCADE,
      period_from timestamptz NOT NULL,
      period_to timestamptz NOT NULL,
      trigger text NOT NULL CONSTRAINT reconciliation_runs_trigger_check CHECK (trigger IN ('manual', 'automatic')),
      requested_by bigint REFERENCES users(id) ON DELETE SET NULL,
      job_id bigint,
      status text NOT NULL DEFAULT 'running' CONSTRAINT reconciliation_runs_status_check CHECK (status IN ('running', 'done', 'failed', 'superseded')),
      error text,
      start_tolerance_seconds integer NOT NULL,
      duration_tolerance_seconds integer NOT NULL,
      cost_tolerance numeric(20,10) NOT NULL,
      legs integer NOT NULL DEFAULT 0,
      records integer NOT NULL DEFAULT 0,
      match_rounds integer NOT NULL DEFAULT 0,
      -- {class: {count, moneyAtStake: {currency: amount}}}, every class present.
      totals jsonb,
      previous_run_id bigint REFERENCES reconciliation_runs(id) ON DELETE SET NULL,
      superseded_by bigint REFERENCES reconciliation_runs(id) ON DELETE SET NULL,
      started_at timestamptz NOT NULL DEFAULT now(),
      finished_at timestamptz,
      CONSTRAINT reconciliation_runs_period_check CHECK (period_from < period_to)
    )`);
  await knex.raw('CREATE INDEX reconciliation_runs_carrier_idx ON reconciliation_runs (carrier_id, period_from, period_to, id DESC)');
  // At most one current result per carrier and period (and one run at a time).
  await knex.raw(`CREATE UNIQUE INDEX reconciliation_runs_current_key ON reconciliation_runs (carrier_id, period_from, period_to) WHERE status = 'done'`);
  await knex.raw(`CREATE UNIQUE INDEX reconciliation_runs_running_key ON reconciliation_runs (carrier_id, period_from, period_to) WHERE status = 'running'`);
  await knex.raw(`
    CREATE TABLE reconciliation_items (
      run_id bigint NOT NULL REFERENCES reconciliation_runs(id) ON DELETE CASCADE,
      seq integer NOT NULL,
      class text NOT NULL CONSTRAINT reconciliation_items_class_check
        CHECK (class IN ('matched_equal', 'duration_mismatch', 'rate_mismatch', 'cost_mismatch', 'not_in_our_records', 'not_billed_by_carrier')),
      leg_id bigint,
      leg_start timestamptz,
      record_key text,
      record_start timestamptz,
      called text NOT NULL,
      our_seconds integer,
      carrier_seconds integer,
      start_offset_ms numeric(20,3),
      seconds_difference integer,
      expected_cost numeric(24,10),
      carrier_cost numeric(24,10),
      cost_difference numeric(24,10),
      deck_rate numeric(20,10),
      carrier_rate numeric(20,10),
      currency char(3) NOT NULL,
      money_at_stake numeric(24,10) NOT NULL,
      destination text,
      day date NOT NULL,
      PRIMARY KEY (run_id, seq),
      CONSTRAINT reconciliation_items_sides_check CHECK (leg_id IS NOT NULL OR record_key IS NOT NULL)
    )`);
  await knex.raw('CREATE INDEX reconciliation_items_class_idx ON reconciliation_items (run_id, class)');
  await knex.raw('CREATE INDEX reconciliation_items_leg_idx ON reconciliation_items (run_id, leg_id) WHERE leg_id IS NOT NULL');
  await knex.raw('CREATE INDEX reconciliation_items_record_idx ON reconciliation_items (run_id, record_key) WHERE record_key IS NOT NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE reconciliation_items');
  await knex.raw('DROP TABLE reconciliation_runs');
}
