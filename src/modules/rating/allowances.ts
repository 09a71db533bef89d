import type { Queryable } from '../../db/knex';
import {
  allocate,
  balanceKeyOf,
  compareCallOrder,
  giveBack,
  matchAllowances,
  type AllowanceClaim,
  type AllowanceSource,
  type AllowanceTake,
  type Balance,
} from '../../domain/billing/allowances';
import { cycleAt, type CycleRule } from '../../domain/billing/cycles';
import type { Direction } from '../../domain/legs/direction';
import { Decimal } from '../../domain/money/decimal';
import { decimalOfFixed } from '../../domain/money/fixed';
import { isPriced, priceCharge, type ChargeInputs, type ChargeUnratable, type PricedCharge } from '../../domain/rating/charge';
import { matchLeg } from '../../domain/rating/engine';
import { compilePlan, type CompiledPlan, type CompiledRate, type Rate } from '../../domain/rating/plan';
import type { AllowanceStep, FreshLeg, SetAside } from '../ledger/allowances';
import { partyTimeZoneSql } from '../settings/settings.repository';

/*
 * Toll package allowances in rating (issue 11; the rules are in domain/billing/allowances.ts).
 *
 * Rating reads only: for the parties of a batch that hold toll packages (Party.subscriberTolls /
 * resellerTolls, kept with the holders and their party_version, so a leg of a party without
 * packages costs no query), one query loads their packages' groups, and each charge that matches
 * a group gets a claim (its candidates and a re-pricing function). The write settles the claims
 * with allowanceStep, in its transaction: row locks on the balances (allowance_usage) in one
 * order, allocation in call order, the claimed charges re-priced, the balances stored. A balance
 * read while rating may be stale (group N+1 is rated while group N commits): nothing is taken
 * from it until the lock is held.
 */

/** A party's toll packages: the groups it may draw on and its billing cycle. */
export interface TollHolder {
  sources: AllowanceSource[];
  rule: CycleRule;
}

export interface TollHolders {
  /** Retail: a subscriber's packages (its reseller's toll packages). */
  bySubscriber: Map<number, TollHolder>;
  /** Wholesale: a reseller's own (the operator's toll packages). */
  byReseller: Map<number, TollHolder>;
}

/**
 * The toll packages of these subscribers (retail) and resellers (wholesale), every assignment
 * current or past (a re-rated leg of last month draws on last month's), with each party's billing
 * cycle day and zone as of now: one query.
 */
export async function loadTollHolders(db: Queryable, subscriberIds: number[], resellerIds: number[]): Promise<TollHolders> {
  const out: TollHolders = { bySubscriber: new Map(), byReseller: new Map() };
  if (subscriberIds.length === 0 && resellerIds.length === 0) return out;
  const { rows } = (await db.raw(
    `SELECT pa.id AS assignment_id, pa.subscriber_id, pa.reseller_id, pa.starts_at, pa.ends_at,
            g.group_id, g.included_seconds, g.overage_rate::text AS overage_rate, tp.currency,
            coalesce((SELECT array_agg(p.prefix) FROM destination_group_prefixes p WHERE p.group_id = g.group_id), '{}') AS prefixes,
            CASE WHEN pa.subscriber_id IS NULL THEN r.billing_cycle_day ELSE coalesce(s.billing_cycle_day, r.billing_cycle_day) END AS cycle_day,
            ${partyTimeZoneSql('s.time_zone', 'r.time_zone')} AS time_zone
       FROM package_assignments pa
       JOIN toll_packages tp ON tp.id = pa.toll_package_id
       JOIN toll_package_groups g ON g.package_id = tp.id
       JOIN resellers r ON r.id = pa.reseller_id
       LEFT JOIN subscribers s ON s.id = pa.subscriber_id
      WHERE pa.id IN (SELECT id FROM package_assignments WHERE subscriber_id = any(?::bigint[]) AND toll_package_id IS NOT NULL
                      UNION ALL
                      SELECT id FROM package_assignments WHERE subscriber_id IS NULL AND reseller_id = any(?::bigint[]) AND toll_package_id IS NOT NULL)
        -- A subscriber draws on its reseller's packages, a reseller on the operator's.
        AND tp.reseller_id IS NOT DISTINCT FROM (CASE WHEN pa.subscriber_id IS NULL THEN NULL ELSE pa.reseller_id END)`,
    [subscriberIds, resellerIds],
  )) as { rows: Array<Record<string, any>> };
  for (const r of rows) {
    const map = r.subscriber_id === null ? out.byReseller : out.bySubscriber;
    const id = Number(r.subscriber_id ?? r.reseller_id);
    let holder = map.get(id);
    if (!holder) map.set(id, (holder = { sources: [], rule: { day: Number(r.cycle_day), timeZone: r.time_zone } }));
    holder.sources.push({
      assignmentId: Number(r.assignment_id),
      groupId: Number(r.group_id),
      startsMs: new Date(r.starts_at).getTime(),
      endsMs: r.ends_at === null ? null : new Date(r.ends_at).getTime(),
      prefixes: r.prefixes as string[],
      includedSeconds: r.included_seconds === null ? null : Number(r.included_seconds),
      overageRate: r.overage_rate,
      currency: String(r.currency).trim(),
    });
  }
  return out;
}

/** Legs that call a destination: the ones a toll package covers. */
const CLAIMING: ReadonlySet<Direction> = new Set<Direction>(['outbound', 'forwarded']);

/**
 * One charge, priced as rating always does, plus its claim when the holder has an allowance for
 * the number: the charge is then priced by the claim's re-pricing with nothing covered (so that a
 * write without the step stores a correct, uncovered charge), by the group's overage rate if it
 * has one (see overagePlan).
 */
export function priceWithAllowances(i: ChargeInputs, holder: TollHolder | undefined): { charge: PricedCharge | ChargeUnratable; claim?: Omit<AllowanceClaim, 'charge'> } {
  const matched = holder && CLAIMING.has(i.leg.direction) ? matchAllowances(holder.sources, i.leg.number, i.leg.startMs) : undefined;
  if (!matched || matched.length === 0) return { charge: priceCharge(i) };
  const winner = matched[0] as AllowanceSource;
  const plan = winner.overageRate !== null && winner.currency === i.plan.currency ? (overagePlan(i, winner.overageRate) ?? i.plan) : i.plan;
  const first = priceCharge({ ...i, plan });
  if (!isPriced(first) || first.chargedSeconds === 0) return { charge: first };
  const cycle = cycleAt(i.leg.startMs, (holder as TollHolder).rule);
  return {
    charge: first,
    claim: {
      demand: first.chargedSeconds,
      candidates: matched.map((s) => ({ assignmentId: s.assignmentId, groupId: s.groupId, cycleStartMs: cycle.startMs, cycleEndMs: cycle.endMs, includedSeconds: s.includedSeconds })),
      reprice: (covered: number, takes: AllowanceTake[]): PricedCharge => {
        if (covered === 0) return first;
        const p = priceCharge({ ...i, plan, coveredSeconds: covered });
        if (!isPriced(p)) throw new Error(`a charge priced once could not be priced again: ${p.reason}`);
        return { ...p, allowances: takes };
      },
    },
  };
}

// Overage plans by the rate they stand in for (a compiled plan's rates live as long as the plan).
const overagePlans = new WeakMap<CompiledRate, Map<string, CompiledPlan>>();

/**
 * The plan that prices a charge after its allowance when the group has an overage rate: the
 * leg's matched rate (prefix, description, connect fee, minimum, maximum, and each step's start
 * and increment) with every step at the overage rate per 60 seconds, for all times (no bands).
 * So a 30/6 plan stays 30/6 and the allowance's seconds are still its first charged seconds.
 * Used only when the package's currency is the plan's (otherwise the plan's own rate applies).
 */
function overagePlan(i: ChargeInputs, overage: string): CompiledPlan | undefined {
  const m = matchLeg(i.leg, i.plan);
  if (!('lead' in m)) return undefined;
  let byRate = overagePlans.get(m.lead);
  if (!byRate) overagePlans.set(m.lead, (byRate = new Map()));
  let plan = byRate.get(overage);
  if (!plan) {
    const p = i.plan;
    const lead = m.lead;
    const rate: Rate = {
      prefix: m.version.prefix,
      description: lead.description,
      direction: m.version.direction,
      band: null,
      effectiveFrom: m.version.effectiveFrom,
      connectFee: decimalOfFixed(lead.connectFee),
      minCharge: lead.minCharge ? decimalOfFixed(lead.minCharge) : null,
      maxCost: lead.maxCost ? decimalOfFixed(lead.maxCost) : null,
      steps: lead.steps.map((s) => ({ from: s.from, rate: new Decimal(overage), rateUnit: 60, increment: s.increment })),
    };
    plan = compilePlan({ id: p.id, name: p.name, currency: p.currency, rounding: p.rounding, timeZone: p.timeZone, bandMode: 'start', connectFeeOnUnanswered: p.connectFeeOnUnanswered, revision: p.revision }, [rate], []);
    byRate.set(overage, plan);
  }
  return plan;
}

// ---------------------------------------------------------------------------------------------
// The write's step.

interface Row {
  assignment_id: string | number;
  group_id: string | number;
  cycle_start: Date | string;
  cycle_end: Date | string;
  seconds_used: string | number;
  included_seconds: string | number | null;
  gone: boolean;
}

/**
 * Settles claims in the write's transaction (the ledger runs it: ledger/allowances.ts, after the
 * legs are stored). The balances are created for their cycle if new and locked, in one statement
 * (INSERT ... ON CONFLICT DO UPDATE ... RETURNING) and in one order (assignment, group, cycle
 * start), so two writes never wait on each other in a circle; their allowance is read under the
 * lock (a package changed since rating counts as it is now). Then pure work: give back, allocate
 * in call order, re-price; and one UPDATE of the balances that moved. Two round trips.
 */
export const allowanceStep: AllowanceStep = {
  async consume<T extends FreshLeg>(tx: Queryable, legs: T[], given: AllowanceTake[] = [], setAside?: SetAside): Promise<T[]> {
    const items = legs.flatMap((l) => (l.rated.claims ?? []).map((claim) => ({ l, claim })));
    items.sort((a, b) => compareCallOrder(a.l.rated.leg, b.l.rated.leg) || a.claim.charge - b.claim.charge);
    const keys = new Map<string, { a: number; g: number; s: number; e: number | null }>();
    for (const { claim } of items) for (const c of claim.candidates) keys.set(balanceKeyOf(c), { a: c.assignmentId, g: c.groupId, s: c.cycleStartMs, e: c.cycleEndMs });
    for (const t of given) if (!keys.has(balanceKeyOf(t))) keys.set(balanceKeyOf(t), { a: t.assignmentId, g: t.groupId, s: t.cycleStartMs, e: null });
    if (keys.size === 0) return legs;
    const sorted = [...keys.values()].sort((x, y) => x.a - y.a || x.g - y.g || x.s - y.s);
    const iso = (ms: number) => new Date(ms).toISOString();
    // Balances only given back (re-rating) exist already: their cycle's end is read, not computed.
    const ends = sorted.filter((k) => k.e === null);
    if (ends.length) {
      const { rows } = (await tx.raw(
        `SELECT assignment_id, group_id, cycle_start, cycle_end FROM allowance_usage
          WHERE (assignment_id, group_id, cycle_start) IN (SELECT * FROM unnest(?::bigint[], ?::bigint[], ?::timestamptz[]))`,
        [ends.map((k) => k.a), ends.map((k) => k.g), ends.map((k) => iso(k.s))],
      )) as { rows: Array<{ assignment_id: string | number; group_id: string | number; cycle_start: Date | string; cycle_end: Date | string }> };
      for (const r of rows) {
        const k = keys.get(balanceKeyOf({ assignmentId: Number(r.assignment_id), groupId: Number(r.group_id), cycleStartMs: new Date(r.cycle_start).getTime() }));
        if (k) k.e = new Date(r.cycle_end).getTime();
      }
    }
    const locking = sorted.filter((k) => k.e !== null);
    // One statement creates the cycle's balance if new and locks it either way, in the order of
    // the rows (ON CONFLICT DO UPDATE locks the row it meets, even one committed after this
    // statement began, and returns it as it is now); the allowance is read under the lock.
    const { rows } = (await tx.raw(
      `INSERT INTO allowance_usage AS u (assignment_id, group_id, cycle_start, cycle_end)
       SELECT a, g, s, e FROM unnest(?::bigint[], ?::bigint[], ?::timestamptz[], ?::timestamptz[]) AS v(a, g, s, e) ORDER BY a, g, s
       ON CONFLICT (assignment_id, group_id, cycle_start) DO UPDATE SET seconds_used = u.seconds_used
       RETURNING u.assignment_id, u.group_id, u.cycle_start, u.cycle_end, u.seconds_used,
                 (SELECT tg.included_seconds FROM package_assignments pa JOIN toll_package_groups tg ON tg.package_id = pa.toll_package_id AND tg.group_id = u.group_id
                   WHERE pa.id = u.assignment_id) AS included_seconds,
                 NOT EXISTS (SELECT 1 FROM package_assignments pa JOIN toll_package_groups tg ON tg.package_id = pa.toll_package_id AND tg.group_id = u.group_id
                              WHERE pa.id = u.assignment_id) AS gone`,
      [locking.map((k) => k.a), locking.map((k) => k.g), locking.map((k) => iso(k.s)), locking.map((k) => iso(k.e as number))],
    )) as { rows: Row[] };
    const balances = new Map<string, Balance>();
    const before = new Map<string, number>();
    for (const r of rows) {
      const key = balanceKeyOf({ assignmentId: Number(r.assignment_id), groupId: Number(r.group_id), cycleStartMs: new Date(r.cycle_start).getTime() });
      const used = Number(r.seconds_used);
      // A group taken out of the package since gives nothing more.
      balances.set(key, { includedSeconds: r.gone ? 0 : r.included_seconds === null ? null : Number(r.included_seconds), used });
      before.set(key, used);
    }
    giveBack(given, balances);
    // Seconds later legs hold and will give back in their turn (re-rating): drawn on here as free,
    // still counted in the balance after, so no other write can take them meanwhile.
    const aside = new Map<string, number>();
    if (setAside) {
      const locked = rows.map((r) => ({ assignmentId: Number(r.assignment_id), groupId: Number(r.group_id), cycleStartMs: new Date(r.cycle_start).getTime(), cycleEndMs: new Date(r.cycle_end).getTime() }));
      for (const [k, seconds] of await setAside(tx, locked)) {
        const b = balances.get(k);
        if (!b) continue;
        const s = Math.min(b.used, seconds);
        b.used -= s;
        aside.set(k, s);
      }
    }
    const results = allocate(items.map((x) => x.claim), balances);
    for (const [k, s] of aside) (balances.get(k) as Balance).used += s;

    const changed = [...balances].filter(([k, b]) => before.get(k) !== b.used);
    if (changed.length) {
      const parts = changed.map(([k]) => k.split('|'));
      await tx.raw(
        `UPDATE allowance_usage AS u SET seconds_used = v.used, updated_at = now()
           FROM unnest(?::bigint[], ?::bigint[], ?::timestamptz[], ?::bigint[]) AS v(a, g, s, used)
          WHERE u.assignment_id = v.a AND u.group_id = v.g AND u.cycle_start = v.s`,
        [parts.map((p) => Number(p[0])), parts.map((p) => Number(p[1])), parts.map((p) => iso(Number(p[2]))), changed.map(([, b]) => b.used)],
      );
    }

    // Each leg with its claimed charges re-priced (a new leg object; the rated batch is not changed).
    const repriced = new Map<T, PricedCharge[]>();
    items.forEach(({ l, claim }, n) => {
      const { covered, takes } = results[n] as { covered: number; takes: AllowanceTake[] };
      let charges = repriced.get(l);
      if (!charges) repriced.set(l, (charges = [...l.rated.charges]));
      charges[claim.charge] = claim.reprice(covered, takes);
    });
    return legs.map((l) => {
      const charges = repriced.get(l);
      return charges ? { ...l, rated: { ...l.rated, charges } } : l;
    });
  },
};
