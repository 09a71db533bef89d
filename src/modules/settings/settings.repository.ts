import type { Queryable } from '../../db/knex';
import { DEFAULT_TIME_ZONE } from '../../domain/time/zones';

/** The settings key of the operator's time zone (see migrations/…_operator_time_zone_setting). */
export const OPERATOR_TIME_ZONE = 'operator_time_zone';

export async function getOperatorTimeZone(db: Queryable): Promise<string> {
  const row = await db('settings').where({ key: OPERATOR_TIME_ZONE }).first('value');
  return (row?.value as string | undefined) ?? DEFAULT_TIME_ZONE;
}

/** Locks the setting's row for a change, so that the audit's "before" is the value replaced. */
export async function getOperatorTimeZoneForUpdate(db: Queryable): Promise<string> {
  const row = await db('settings').where({ key: OPERATOR_TIME_ZONE }).forUpdate().first('value');
  return (row?.value as string | undefined) ?? DEFAULT_TIME_ZONE;
}

export async function setOperatorTimeZone(db: Queryable, timeZone: string): Promise<void> {
  await db('settings')
    .insert({ key: OPERATOR_TIME_ZONE, value: timeZone })
    .onConflict('key')
    .merge({ value: timeZone, updated_at: db.fn.now() });
}
