import type { Knex } from 'knex';

/**
 * Recurring charges of packages (issue 11): what a package assignment costs per billing cycle, posted
 * by the `recurring-charges` job at the cycle's start (src/modules/billing). One row per line:
 *
 * - `side`: wholesale (the operator bills the reseller, on the reseller's cycle) or retail (the
 *   reseller bills its subscriber, on the subscriber's cycle);
 * - `item`: the setup fee (once per assignment, in the cycle of its start), the monthly fee of a
 *   cycle (prorated by days when the assignment starts or ends inside it), or the credit for the
 *   days of a posted month the assignment no longer covers (it ended early);
 * - the unique (assignment_id, side, item, cycle_start) is what makes a second run, a restart or
 *   two concurrent runs post nothing twice: lines are inserted with ON CONFLICT DO NOTHING.
 *
 * Amounts are like a call's charge (charges): in the package's currency `amount`, `tax_amount`,
 * `total`, and `billed_total` in the party's billed currency at `exchange_rate`, all exact numeric.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE recurring_charges (
      id bigserial PRIMARY KEY,
      assignment_id bigint NOT NULL REFERENCES package_assignments(id) ON DELETE RESTRICT,
      side text NOT NULL CONSTRAINT recurring_charges_side_check CHECK (side IN ('wholesale','retail')),
      item text NOT NULL CONSTRAINT recurring_charges_item_check CHECK (item IN ('setup','monthly','credit')),
      reseller_id bigint NOT NULL REFERENCES resellers(id) ON DELETE RESTRICT,
      -- The subscriber whose assignment it is (null: the reseller holds it). Retail lines are its.
      subscriber_id bigint REFERENCES subscribers(id) ON DELETE RESTRICT,
      package_kind text NOT NULL CONSTRAINT recurring_charges_package_kind_check CHECK (package_kind IN ('feature','toll')),
      -- The package whose price this is (wholesale of a reseller's feature package: its base).
      package_id bigint NOT NULL,
      package_name text NOT NULL,
      cycle_start timestamptz NOT NULL,
      cycle_end timestamptz NOT NULL,
      cycle_start_date date NOT NULL,
      cycle_end_date date NOT NULL,
      -- Days charged of the cycle's days (proration); the setup fee: 0 of 0.
      days integer NOT NULL,
      cycle_days integer NOT NULL,
      fee numeric(20,10) NOT NULL,
      currency char(3) NOT NULL,
      amount numeric(24,10) NOT NULL,
      taxes jsonb NOT NULL DEFAULT '[]',
      tax_amount numeric(24,10) NOT NULL DEFAULT 0,
      total numeric(24,10) NOT NULL,
      billed_currency char(3) NOT NULL,
      exchange_rate numeric(30,12) NOT NULL,
      billed_total numeric(24,10) NOT NULL,
      -- The instant whose taxes and exchange rate apply.
      charged_at timestamptz NOT NULL,
      posted_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT recurring_charges_once UNIQUE (assignment_id, side, item, cycle_start)
    )`);
  await knex.raw('CREATE INDEX recurring_charges_reseller_idx ON recurring_charges (reseller_id, side, cycle_start)');
  await knex.raw('CREATE INDEX recurring_charges_subscriber_idx ON recurring_charges (subscriber_id, side, cycle_start) WHERE subscriber_id IS NOT NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE recurring_charges');
}
