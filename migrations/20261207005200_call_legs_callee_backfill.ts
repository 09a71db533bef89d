import type { Knex } from 'knex';

/**
 * The callee of legs stored before it was kept: the holder of the called number at the call's
 * start, for the legs whose called number was ours (inbound and on-net ones).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    UPDATE call_legs AS l
       SET callee_subscriber_id = n.subscriber_id, callee_reseller_id = n.reseller_id
      FROM phone_numbers AS n
     WHERE l.direction IN ('inbound', 'onnet') AND l.callee_subscriber_id IS NULL
       AND n.number = l.called_number AND n.assigned_at <= l.start_at AND (n.released_at IS NULL OR n.released_at > l.start_at)`);
}

export async function down(): Promise<void> {
  // The columns go with the schema migration's down; nothing to undo here.
}
