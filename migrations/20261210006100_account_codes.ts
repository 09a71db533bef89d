import type { Knex } from 'knex';

/**
 * Account codes for the accounting exports (issue 12): the general-ledger accounts a journal posts
 * to, one set per reseller (its own books) and one of the operator (reseller_id null). No row: the
 * defaults of src/domain/accounting (a party that never opened the form still gets a journal).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE account_codes (
      id bigserial PRIMARY KEY,
      reseller_id bigint REFERENCES resellers(id) ON DELETE CASCADE,
      revenue text NOT NULL,
      cost_of_sales text NOT NULL,
      tax_payable text NOT NULL,
      receivable text NOT NULL,
      payable text NOT NULL,
      tax_paid text NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT account_codes_length_check CHECK (
        length(btrim(revenue)) BETWEEN 1 AND 40 AND length(btrim(cost_of_sales)) BETWEEN 1 AND 40 AND length(btrim(tax_payable)) BETWEEN 1 AND 40
        AND length(btrim(receivable)) BETWEEN 1 AND 40 AND length(btrim(payable)) BETWEEN 1 AND 40 AND length(btrim(tax_paid)) BETWEEN 1 AND 40)
    )`);
  // One set per reseller and one of the operator (null compares as 0 here, so it is unique too).
  await knex.raw('CREATE UNIQUE INDEX account_codes_owner_key ON account_codes ((coalesce(reseller_id, 0)))');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS account_codes');
}
