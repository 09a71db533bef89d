import type { Db } from '../../db/knex';

/**
 * Halves of calls that waited too long for their other half (a Kamailio INVITE whose BYE never
 * came: the BYE was lost, or the switch restarted). They move to the rejects with the reason, so
 * an operator sees them there instead of them waiting unseen forever. Run hourly by the
 * pending-expiry job (intake.jobs.ts), after it has paired the halves that can be paired.
 */
export async function expireStalePending(db: Db, maxAgeHours: number): Promise<number> {
  const hours = Math.max(1, Math.floor(maxAgeHours));
  const result = await db.raw(
    `WITH stale AS (
       DELETE FROM pending_records WHERE received_at < now() - make_interval(hours => ?) RETURNING *
     )
     INSERT INTO cdr_rejects (platform_id, received_at, body, error)
     SELECT platform_id, received_at, raw,
            'half of call ' || correlation || ' got no other half within ' || ? || ' hours (for Kamailio: no BYE for this INVITE, or no INVITE for this BYE)'
       FROM stale`,
    [hours, hours],
  );
  return (result as { rowCount?: number }).rowCount ?? 0;
}
