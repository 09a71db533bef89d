import type { Queryable } from '../../db/knex';
import { DEFAULT_TIME_ZONE } from '../../domain/time/zones';

/** The settings key of the operator's time zone (see migrations/…_operator_time_zone_setting). */
export const OPERATOR_TIME_ZONE = 'operator_time_zone';

/**
 * A party's time zone as SQL (DOMAIN: a subscriber's, else its reseller's, else the operator's
 * setting, else the default): the first of `columns` (ours, never input) that is set.
 */
export function partyTimeZoneSql(...columns: string[]): string {
  return `coalesce(${[...columns, `(SELECT value FROM settings WHERE key = '${OPERATOR_TIME_ZONE}')`, `'${DEFAULT_TIME_ZONE}'`].join(', ')})`;
}

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
