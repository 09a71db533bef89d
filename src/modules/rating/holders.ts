import type { VersionedCache } from '../../db/cache-versions';
import type { Queryable } from '../../db/knex';
import type { Assignment } from '../../domain/legs/holders';
import { isIdentityKey } from '../../domain/legs/identity';
import type { Status } from '../../domain/tenancy/status';
import type { WriteGuard } from '../ledger/ledger.repository';
import { loadTollHolders, type TollHolder, type TollHolders } from './allowances';

export type { Assignment } from '../../domain/legs/holders';

/*
 * Who holds which number, and the optimistic version protocol that lets rating trust a copy of it
 * in memory. All of the protocol is in this file:
 *
 * 1. party_version is a counter that triggers move on in every transaction that changes numbers,
 *    identities, subscribers or resellers as rating sees them (migrations/20261126000700_party_version.ts).
 * 2. Holders are read (holdersOf, or the HoldersCache) together with the version of their snapshot.
 * 3. Legs rated with holders from the cache are written under holdersGuard(version): the ledger's
 *    write checks, in its own statement or as the first statement of its transaction, that the
 *    committed version is still that one, and stores nothing otherwise (StaleHoldersError).
 * 4. The caller then forgets the cache and rates again from the database (no cache, so no check and
 *    no second round): the cache is never the reason for a wrong charge.
 */

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
  /**
   * Whether the subscriber holds (or held) a toll package, and its reseller an operator's one:
   * only then does rating look for allowances (rating/allowances.ts). package_assignments moves
   * party_version, so a copy of these is as fresh as the rest.
   */
  subscriberTolls: boolean;
  resellerTolls: boolean;
}

/**
 * The committed party version, as SQL (0 if its row is gone: the triggers put it back on the next
 * change). The ledger's writes check it through holdersGuard, below.
 */
export const PARTY_VERSION_SQL = 'coalesce((SELECT version FROM party_version), 0)';

/** Numbers' holders and their parties as of one snapshot, with the party version of that snapshot. */
export interface Holders {
  assignments: Map<string, Assignment[]>;
  parties: Map<number, Party>;
  /** party_version.version when they were read (see migrations/20261126000700_party_version.ts). */
  version: string;
  /**
   * The toll packages of parties that hold them, as of the same version (the cache remembers them
   * with the holders); absent: rating reads them from the database (loadTollHolders).
   */
  tolls?: (db: Queryable, subscriberIds: number[], resellerIds: number[]) => Promise<TollHolders>;
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
                r.tax_exempt AS reseller_tax_exempt,
                EXISTS (SELECT 1 FROM package_assignments pa WHERE pa.subscriber_id = s.id AND pa.toll_package_id IS NOT NULL) AS subscriber_tolls,
                EXISTS (SELECT 1 FROM package_assignments pa WHERE pa.subscriber_id IS NULL AND pa.reseller_id = r.id AND pa.toll_package_id IS NOT NULL) AS reseller_tolls
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
      subscriberTolls: row.subscriber_tolls === true,
      resellerTolls: row.reseller_tolls === true,
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

// ---------------------------------------------------------------------------------------------
// The cache.

/** A digit string of an E.164 number as phone_numbers allows it, without the '+'. */
const E164 = /^\+[1-9][0-9]{0,14}$/;

/**
 * The intake's memory of who holds which number, so that a post of one record is rated without a
 * query. Every answer comes from one party version (party_version, bumped by triggers in every
 * transaction that changes numbers, subscribers or resellers as rating sees them), and the write
 * that stores the rated legs checks that the version is still the same (holdersGuard, below):
 * a post rated with a holder that has changed since is rated again, so the cache is never the
 * reason for a wrong charge, and no notice between processes is needed. It follows the process's
 * cache versions (db/cache-versions.ts) as every cache does, with that check at write in place of
 * asking before it serves: a version check that finds party_version moved only forgets it sooner.
 *
 * Most numbers on a leg are nobody's (the called number of an outbound call), so the cache knows
 * every number that has ever been ours, as a sorted array of their digits (8 bytes each, nothing
 * for the garbage collector to walk): a number not in it is nobody's without a query. Short
 * identities of hosted PBX platforms ("1002@pbx.example", subscriber_identities, whose trigger
 * moves party_version like phone_numbers') are kept as a set of every one ever ours. Holders of
 * our numbers are read on first use. A new version (a change anywhere) forgets it all and reloads
 * the numbers in the background (44 ms at 100,000 numbers, half a second at a million), while
 * batches are read from the database as they were without a cache.
 */
export class HoldersCache implements VersionedCache {
  /** Its version is party_version; the check at write (holdersGuard) is what makes it safe. */
  readonly kind = 'parties';
  private version: string | undefined;
  private ours = new Float64Array(0);
  /** Every short identity ever ours ("1002@pbx.example"): few next to numbers, so a plain set. */
  private identities: ReadonlySet<string> = new Set();
  private loading: Promise<void> | undefined;
  /** Moves on with every invalidate(): a load begun before it is not kept. */
  private generation = 0;
  private readonly numbers = new Map<string, Assignment[]>();
  private readonly parties = new Map<number, Party>();
  /** Toll packages by party (null: holds none after all), of the same version as the holders. */
  private readonly subscriberTolls = new Map<number, TollHolder | null>();
  private readonly resellerTolls = new Map<number, TollHolder | null>();

  /** `maxNumbers`: above this many holders remembered, start again (memory stays bounded). */
  constructor(private readonly maxNumbers = 200_000) {}

  async get(db: Queryable, numbers: string[]): Promise<Holders> {
    if (this.version === undefined) {
      // Not loaded yet (or forgotten after a change): this batch from the database meanwhile.
      this.startLoad(db);
      return holdersOf(db, numbers);
    }
    const missing = numbers.filter((n) => !this.numbers.has(n) && this.isOurs(n));
    if (missing.length === 0) return this.answer(numbers);
    const read = await holdersOf(db, missing);
    if (read.version === this.version) {
      if (this.numbers.size + missing.length > this.maxNumbers) this.forgetHolders();
      for (const n of missing) this.numbers.set(n, read.assignments.get(n) ?? []);
      for (const [id, party] of read.parties) this.parties.set(id, party);
      return this.answer(numbers);
    }
    // Something changed since the numbers were loaded: start again, and read this batch whole.
    this.invalidate();
    this.startLoad(db);
    return holdersOf(db, numbers);
  }

  /**
   * The process's version check found party_version elsewhere than this copy's: forget it now
   * rather than at the next write that would fail its check.
   */
  versionMoved(_db: Queryable, version: string): void {
    if (this.version !== version) this.invalidate();
  }

  /** Forget everything (a write, or the version check, found a newer version). */
  invalidate(): void {
    this.generation++;
    this.version = undefined;
    this.ours = new Float64Array(0);
    this.identities = new Set();
    this.forgetHolders();
  }

  /** The numbers of the current version, loaded in the background (a failed load is tried again by the next batch). */
  loaded(): Promise<void> {
    return this.loading ?? Promise.resolve();
  }

  /** How many numbers' holders are remembered. */
  get size(): number {
    return this.numbers.size;
  }

  /** Whether `number` (or short identity) has ever been one of ours, as of the loaded version. */
  isOurs(number: string): boolean {
    if (isIdentityKey(number)) return this.identities.has(number);
    if (!E164.test(number)) return false;
    const v = Number(number.slice(1));
    const a = this.ours;
    let lo = 0;
    let hi = a.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const m = a[mid] as number;
      if (m === v) return true;
      if (m < v) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  private answer(numbers: string[]): Holders {
    const assignments = new Map<string, Assignment[]>();
    const parties = new Map<number, Party>();
    for (const n of numbers) {
      const list = this.numbers.get(n);
      if (list === undefined || list.length === 0) continue;
      assignments.set(n, list);
      for (const a of list) {
        const party = this.parties.get(a.subscriberId);
        if (party) parties.set(a.subscriberId, party);
      }
    }
    return { assignments, parties, version: this.version as string, tolls: this.tollsOfVersion };
  }

  /**
   * Toll packages of parties, remembered like their holders: what was read at the cache's version
   * (package_assignments and the packages' tables move party_version, migrations 20261209004000 and
   * 20261210000200), so a rated batch and its write check agree on one version.
   */
  private readonly tollsOfVersion = async (db: Queryable, subscriberIds: number[], resellerIds: number[]): Promise<TollHolders> => {
    const generation = this.generation;
    const subs = subscriberIds.filter((id) => !this.subscriberTolls.has(id));
    const resellers = resellerIds.filter((id) => !this.resellerTolls.has(id));
    if (subs.length || resellers.length) {
      const read = await loadTollHolders(db, subs, resellers);
      // Read after a change (the generation moved): used for this batch, whose write check sees the change, not kept.
      const keep = generation === this.generation;
      const out: TollHolders = { bySubscriber: new Map(), byReseller: new Map() };
      for (const id of subs) {
        const h = read.bySubscriber.get(id) ?? null;
        if (keep) this.subscriberTolls.set(id, h);
        if (h) out.bySubscriber.set(id, h);
      }
      for (const id of resellers) {
        const h = read.byReseller.get(id) ?? null;
        if (keep) this.resellerTolls.set(id, h);
        if (h) out.byReseller.set(id, h);
      }
      if (!keep) return this.mergeRemembered(out, subscriberIds.filter((id) => !subs.includes(id)), resellerIds.filter((id) => !resellers.includes(id)));
    }
    return this.mergeRemembered({ bySubscriber: new Map(), byReseller: new Map() }, subscriberIds, resellerIds);
  };

  private mergeRemembered(out: TollHolders, subscriberIds: number[], resellerIds: number[]): TollHolders {
    for (const id of subscriberIds) {
      const h = this.subscriberTolls.get(id);
      if (h) out.bySubscriber.set(id, h);
    }
    for (const id of resellerIds) {
      const h = this.resellerTolls.get(id);
      if (h) out.byReseller.set(id, h);
    }
    return out;
  }

  private startLoad(db: Queryable): void {
    if (this.loading) return;
    const generation = this.generation;
    this.loading = (async () => {
      try {
        const { version, digits, identities } = await ourNumbers(db);
        if (generation !== this.generation) return;
        const ours = new Float64Array(digits.length);
        for (let i = 0; i < digits.length; i++) ours[i] = Number(digits[i]);
        ours.sort();
        this.forgetHolders();
        this.ours = ours;
        this.identities = new Set(identities);
        this.version = version;
      } catch {
        // Nothing is kept; batches go on being read from the database, and the next one tries again.
      } finally {
        this.loading = undefined;
      }
    })();
  }

  private forgetHolders(): void {
    this.numbers.clear();
    this.parties.clear();
    this.subscriberTolls.clear();
    this.resellerTolls.clear();
  }
}

// ---------------------------------------------------------------------------------------------
// The check at write time.

/** Thrown by a write whose holders were read at another party version than the one now committed. */
export class StaleHoldersError extends Error {
  constructor(
    readonly ratedAt: string,
    readonly current: string,
  ) {
    super(`holders were read at party version ${ratedAt}, now ${current}`);
  }
}

/**
 * What the ledger's write checks for legs rated with holders from a cache: that the committed party
 * version is still `version` (undefined: holders read from the database, nothing to check; the same
 * statement is used either way).
 */
export function holdersGuard(version: string | undefined): WriteGuard {
  return { sql: PARTY_VERSION_SQL, expected: version, failed: (current) => new StaleHoldersError(version as string, current) };
}

/**
 * The one party version that batches rated from a cache were rated at (undefined when none was);
 * StaleHoldersError when they were rated at different versions, since one of them is then old.
 */
export function partyVersionOf(versions: Iterable<string | undefined>): string | undefined {
  let version: string | undefined;
  for (const v of versions) {
    if (v === undefined) continue;
    if (version !== undefined && version !== v) throw new StaleHoldersError(v, version);
    version = v;
  }
  return version;
}
