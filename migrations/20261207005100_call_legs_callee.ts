import type { Knex } from 'knex';

/**
 * Who received a call, besides who pays for it: the subscriber whose number (or extension) was
 * called, and its reseller, as held at the call's start. An on-net call is paid by its caller but
 * belongs on the callee's calls page too (with what the callee paid: usually nothing), and on its
 * reseller's when the caller is another reseller's. Null when the callee is not ours.
 * The indexes serve those pages (a subscriber's or a reseller's received calls, newest first).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE call_legs ADD COLUMN callee_subscriber_id bigint, ADD COLUMN callee_reseller_id bigint REFERENCES resellers(id)`);
  await knex.raw(`CREATE INDEX call_legs_callee_idx ON call_legs (callee_subscriber_id, start_at DESC) WHERE callee_subscriber_id IS NOT NULL`);
  await knex.raw(`CREATE INDEX call_legs_callee_reseller_idx ON call_legs (callee_reseller_id, start_at DESC) WHERE callee_reseller_id IS NOT NULL`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX call_legs_callee_reseller_idx');
  await knex.raw('DROP INDEX call_legs_callee_idx');
  await knex.raw('ALTER TABLE call_legs DROP COLUMN callee_reseller_id, DROP COLUMN callee_subscriber_id');
}
