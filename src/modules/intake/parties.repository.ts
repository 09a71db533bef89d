import type { Queryable } from '../../db/knex';
import type { Assignment } from '../../domain/legs/holders';
import { isIdentityKey } from '../../domain/legs/identity';
import type { Status } from '../../domain/tenancy/status';

export type { Assignment } from '../../domain/legs/holders';

/** What rating needs to know about the paying subscriber and its reseller. */
export interface Party {
  subscriberId: number;
  subscriberStatus: Status;
  country: string;
  region: string | null;
  retailPlanId: number | null;
  billingCurrency: string | null;
  subscriberTaxExempt: boolean;
  resellerId: number;
  resellerName: string;
  resellerStatus: Status;
  resellerCurrency: string;
  billingService: boolean;
  wholesalePlanId: number | null;
  resellerTaxExempt: boolean;
}

/**
 * The committed party version, as SQL (0 if its row is gone: the triggers put it back on the next
 * change). The writes that check it (insertGroup) use the same expression.
 */
export const PARTY_VERSION_SQL = 'coalesce((SELECT version FROM party_version), 0)';

/** Numbers' holders and their parties as of one snapshot, with the party version of that snapshot. */
export interface Holders {
  assignments: Map<string, Assignment[]>;
  parties: Map<number, Party>;
  /** party_version.version when they were read (see migrations/20261126000700_party_version.ts). */
  version: string;
}

/**
 * Who held these numbers (E.164) and short identities ("1002@pbx.example") when (every assignment, current and released), with what rating needs
 * to know of each holder and its reseller, and the party version they were read at: one query for
 * a whole batch.
 */
export async function holdersOf(db: Queryable, numbers: string[]): Promise<Holders> {
  const assignments = new Map<string, Assignment[]>();
  const parties = new Map<number, Party>();
  // One array parameter, not a bind parameter per number: a batch asks for thousands. Not a named
  // prepared statement: after five runs Postgres would plan it once for any array, and that generic
  // plan scans far more than the index look-ups a plan for the actual array does (a 1,000-leg post
  // went from 20 to 280 ms). A holder whose subscriber row is gone still counts as the holder (the
  // leg is then "removed", not nobody's). The version comes from the same snapshot: on every row,
  // and on a row of its own when none of the numbers is ours.
  const { rows } = (await db.raw(
    `SELECT v.version::text AS party_version, h.*
       FROM (SELECT ${PARTY_VERSION_SQL} AS version) v
       LEFT JOIN LATERAL (
         SELECT n.number, n.subscriber_id, n.reseller_id AS number_reseller_id, n.assigned_at, n.released_at,
                s.id, s.status, s.country, s.region, s.retail_plan_id, s.billing_currency, s.tax_exempt, s.reseller_id,
                r.name AS reseller_name, r.status AS reseller_status, r.currency AS reseller_currency, r.billing_service, r.wholesale_plan_id,
                r.tax_exempt AS reseller_tax_exempt
           FROM (SELECT number, subscriber_id, reseller_id, assigned_at, released_at FROM phone_numbers WHERE number = any(?::text[])
                 UNION ALL
                 SELECT identity || '@' || domain, subscriber_id, reseller_id, assigned_at, released_at
                   FROM subscriber_identities WHERE identity || '@' || domain = any(?::text[])) n
           LEFT JOIN subscribers s ON s.id = n.subscriber_id
           LEFT JOIN resellers r ON r.id = s.reseller_id
       ) h ON true`,
    [numbers.filter((n) => !isIdentityKey(n)), numbers.filter(isIdentityKey)],
  )) as { rows: Array<Record<string, any>> };
  const version = (rows[0]?.party_version as string | undefined) ?? '0';
  for (const row of rows) {
    if (row.number === null) continue;
    const list = assignments.get(row.number) ?? [];
    list.push({
      number: row.number,
      subscriberId: row.subscriber_id,
      resellerId: row.number_reseller_id,
      assignedAt: new Date(row.assigned_at).getTime(),
      releasedAt: row.released_at ? new Date(row.released_at).getTime() : null,
    });
    assignments.set(row.number, list);
    if (row.id === null || row.reseller_name === null || parties.has(row.id)) continue;
    parties.set(row.id, {
      subscriberId: row.id,
      subscriberStatus: row.status,
      country: row.country,
      region: row.region,
      retailPlanId: row.retail_plan_id,
      billingCurrency: row.billing_currency ?? null,
      subscriberTaxExempt: row.tax_exempt === true,
      resellerId: row.reseller_id,
      resellerName: row.reseller_name,
      resellerStatus: row.reseller_status,
      resellerCurrency: row.reseller_currency,
      billingService: row.billing_service,
      wholesalePlanId: row.wholesale_plan_id,
      resellerTaxExempt: row.reseller_tax_exempt === true,
    });
  }
  return { assignments, parties, version };
}

/** The party version now (what a write compares its holders' version with). */
export async function currentPartyVersion(db: Queryable): Promise<string> {
  const { rows } = (await db.raw(`SELECT ${PARTY_VERSION_SQL}::text AS v`)) as { rows: Array<{ v: string }> };
  return rows[0]?.v ?? '0';
}

/**
 * Every number ever ours (any assignment, current or released), as digits without the '+', and
 * every short identity ever ours ("1002@pbx.example"), with the party version, from one snapshot.
 */
export async function ourNumbers(db: Queryable): Promise<{ version: string; digits: string[]; identities: string[] }> {
  const { rows } = (await db.raw(
    `SELECT ${PARTY_VERSION_SQL}::text AS version, (SELECT string_agg(DISTINCT substr(number, 2), ',') FROM phone_numbers) AS numbers,
            (SELECT string_agg(DISTINCT identity || '@' || domain, ',') FROM subscriber_identities) AS identities`,
  )) as { rows: Array<{ version: string; numbers: string | null; identities: string | null }> };
  const row = rows[0] as { version: string; numbers: string | null; identities: string | null };
  return { version: row.version, digits: row.numbers ? row.numbers.split(',') : [], identities: row.identities ? row.identities.split(',') : [] };
}
