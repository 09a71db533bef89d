import type { Knex } from 'knex';

/**
 * A reseller's changes in the log's order (issue 12, record files at scale). Record files and a
 * reseller's export cursor read `reseller_id = ? AND (xid, position) > cursor ORDER BY xid,
 * position`; with only the primary key (xid, position) that read walks every reseller's changes of
 * the window and drops the others' (a reseller with a tenth of the traffic reads ten rows for one),
 * and a closing's last page walks on to the end of the log. outbox_events has had the same index
 * from the start (migrations/20261208006000_change_log.ts).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX leg_changes_reseller_idx ON leg_changes (reseller_id, xid, position)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX leg_changes_reseller_idx');
}
