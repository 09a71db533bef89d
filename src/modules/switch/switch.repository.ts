import type { Queryable } from '../../db/knex';
import type { Status } from '../../domain/tenancy/status';

/**
 * SIP credentials (migration 20261214004000_sip_credentials): one row per SIP identity that has
 * one, the HA1 hashes only. The switch reads them through the `kamailio` views (Kamailio) or the
 * directory endpoint (FreeSWITCH, directoryEntry below).
 */

/** When each of the subscriber's identities got its credential (absent: none). */
export async function credentialTimes(db: Queryable, resellerId: number, identityIds: number[]): Promise<Map<number, Date>> {
  const out = new Map<number, Date>();
  if (identityIds.length === 0) return out;
  const rows = await db('sip_credentials').where('reseller_id', resellerId).whereIn('identity_id', identityIds).select('identity_id', 'set_at');
  for (const r of rows as Array<{ identity_id: string | number; set_at: Date }>) out.set(Number(r.identity_id), r.set_at);
  return out;
}

export async function upsertCredential(db: Queryable, v: { resellerId: number; identityId: number; ha1: string; ha1b: string }): Promise<{ replaced: boolean }> {
  const { rows } = (await db.raw(
    `INSERT INTO sip_credentials (identity_id, reseller_id, ha1, ha1b) VALUES (?, ?, ?, ?)
     ON CONFLICT (identity_id) DO UPDATE SET ha1 = excluded.ha1, ha1b = excluded.ha1b, set_at = now()
     RETURNING (xmax <> 0) AS replaced`,
    [v.identityId, v.resellerId, v.ha1, v.ha1b],
  )) as { rows: Array<{ replaced: boolean }> };
  return { replaced: rows[0]?.replaced === true };
}

export async function deleteCredential(db: Queryable, resellerId: number, identityId: number): Promise<boolean> {
  return (await db('sip_credentials').where({ reseller_id: resellerId, identity_id: identityId }).del()) > 0;
}

/** What the switch's directory says of one SIP user: its credential, holder and their statuses. */
export interface DirectoryEntry {
  identityId: number;
  username: string;
  domain: string;
  ha1: string;
  resellerId: number;
  subscriberId: number;
  accountNumber: string;
  subscriberName: string;
  subscriberStatus: Status;
  resellerStatus: Status;
  /** The subscriber's first current number (+E.164), its caller id. */
  firstNumber: string | null;
}

/** The current holder of user@domain with a credential, whatever its status (the caller decides). */
export async function directoryEntry(db: Queryable, username: string, domain: string): Promise<DirectoryEntry | undefined> {
  const { rows } = (await db.raw(
    `SELECT i.id, i.identity, i.domain, c.ha1, s.reseller_id, s.id AS subscriber_id, s.account_number, s.name,
            s.status AS subscriber_status, r.status AS reseller_status,
            (SELECT n.number FROM phone_numbers n
              WHERE n.reseller_id = s.reseller_id AND n.subscriber_id = s.id AND n.released_at IS NULL
              ORDER BY n.assigned_at, n.id LIMIT 1) AS first_number
       FROM subscriber_identities i
       JOIN sip_credentials c ON c.identity_id = i.id
       JOIN subscribers s ON s.reseller_id = i.reseller_id AND s.id = i.subscriber_id
       JOIN resellers r ON r.id = s.reseller_id
      WHERE i.identity = ? AND i.domain = ? AND i.released_at IS NULL`,
    [username, domain],
  )) as { rows: Array<Record<string, any>> };
  const r = rows[0];
  if (!r) return undefined;
  return {
    identityId: Number(r.id),
    username: r.identity,
    domain: r.domain,
    ha1: r.ha1,
    resellerId: Number(r.reseller_id),
    subscriberId: Number(r.subscriber_id),
    accountNumber: r.account_number,
    subscriberName: r.name,
    subscriberStatus: r.subscriber_status,
    resellerStatus: r.reseller_status,
    firstNumber: r.first_number ?? null,
  };
}
