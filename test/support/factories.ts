import crypto from 'node:crypto';
import { announceReferenceChange } from '../../src/db/change-notices';
import type { Db } from '../../src/db/knex';
import type { Role } from '../../src/domain/tenancy/roles';
import { hashPassword } from '../../src/modules/auth/passwords';
import { ensurePartitions } from '../../src/modules/ledger/partitions';

/**
 * Test data straight into the tables: fast, and independent of the services under test.
 *
 * Platforms, taxes, jurisdictions and exchange rates are held in memory by every app (see
 * modules/reference-data). Written here they are announced (announceReferenceChange) so that any
 * app listening on the database drops its copy; the test's own app drops it at once as well (see
 * test/support/app.ts). A test that writes those tables itself gets the second for free and calls
 * announceReferenceChange for the first if another app reads the same database.
 */

export const PASSWORD = 'correct horse battery staple';
let cachedHash: Promise<string> | undefined;
const passwordHash = () => (cachedHash ??= hashPassword(PASSWORD));

const uniq = () => crypto.randomBytes(4).toString('hex');

export async function makeReseller(db: Db, over: Partial<Record<string, unknown>> = {}) {
  const u = uniq();
  const [row] = await db('resellers')
    .insert({ name: `Reseller ${u}`, code: `r-${u}`, currency: 'USD', contact_email: `ops-${u}@example.com`, ...over })
    .returning('*');
  return row as { id: number; name: string; code: string; status: string };
}

/** When the factories' numbers were assigned: before every call the tests post. */
export const NUMBERS_ASSIGNED_AT = '2000-01-01T00:00:00Z';

export async function makeSubscriber(db: Db, resellerId: number, over: Partial<Record<string, unknown>> = {}, numbers: string[] = []) {
  const u = uniq();
  const [row] = await db('subscribers')
    .insert({ reseller_id: resellerId, account_number: `ACC-${u}`, name: `Subscriber ${u}`, country: 'US', region: 'NY', city: 'New York', ...over })
    .returning('*');
  // Held since long before any test's calls (a call is billed to the holder at its time only).
  for (const n of numbers) {
    // In a range of the reseller's, as every number assigned through the portal is.
    await makeNumberRange(db, resellerId, n);
    await db('phone_numbers').insert({ reseller_id: resellerId, subscriber_id: row.id, number: n, assigned_at: NUMBERS_ASSIGNED_AT });
  }
  return row as { id: number; reseller_id: number; account_number: string; name: string };
}

/**
 * A number range of the reseller (first to last, one number when last is left out), unless one of
 * its ranges holds it already. A range of another reseller's that overlaps fails, as it should.
 */
export async function makeNumberRange(db: Db, resellerId: number, first: string, last = first) {
  const own = await db('number_ranges').where('reseller_id', resellerId).whereRaw(`span @> int8range(e164_key(?), e164_key(?), '[]')`, [first, last]).first();
  if (own) return own as { id: number; first_number: string; last_number: string };
  const [row] = await db('number_ranges').insert({ reseller_id: resellerId, first_number: first, last_number: last }).returning('*');
  return row as { id: number; first_number: string; last_number: string };
}

export async function makeUser(db: Db, role: Role, opts: { resellerId?: number; subscriberId?: number; email?: string; status?: string } = {}) {
  const [row] = await db('users')
    .insert({
      email: opts.email ?? `${role.replace('_', '-')}-${uniq()}@example.com`,
      name: `${role} ${uniq()}`,
      role,
      reseller_id: opts.resellerId ?? null,
      subscriber_id: opts.subscriberId ?? null,
      password_hash: await passwordHash(),
      status: opts.status ?? 'active',
    })
    .returning('*');
  return row as { id: number; email: string; role: Role };
}

/** A rate plan of the operator (resellerId null) or of a reseller, optionally with rates. */
export async function makePlan(db: Db, resellerId: number | null, over: Partial<Record<string, unknown>> = {}) {
  const [row] = await db('rate_plans')
    .insert({ reseller_id: resellerId, name: `Plan ${uniq()}`, currency: 'USD', rounding_decimals: 4, rounding_method: 'half_up', time_zone: 'UTC', ...over })
    .returning('*');
  return row as { id: number; name: string; reseller_id: number | null };
}

/** One step of a rate: `rate` per `unit` seconds, billed in blocks of `increment` seconds, from second `from`. */
export function step(rate: string, increment = 1, unit = 60, from = 0) {
  return { from, rate, rate_unit: unit, increment };
}

/** The steps column of a rate (JSON), for inserts and updates. */
export function stepsJson(...steps: Array<ReturnType<typeof step>>): string {
  return JSON.stringify(steps);
}

export interface RateOver {
  prefix?: string;
  /** Per minute (one step) unless `steps` is given. */
  rate?: string;
  increment?: number;
  steps?: Array<ReturnType<typeof step>>;
  direction?: 'outbound' | 'inbound' | 'onnet' | 'forwarded';
  description?: string;
  effectiveFrom?: string;
  connectFee?: string;
}

/**
 * A row of the rates table for a plan (its owner copied from the plan): outbound to 44, a cent a
 * minute, per second, in force since 2020, unless told otherwise. The one shape every test uses.
 */
export function rateRow(plan: { id: number; reseller_id: number | null }, o: RateOver = {}) {
  return {
    rate_plan_id: plan.id,
    reseller_id: plan.reseller_id,
    prefix: o.prefix ?? '44',
    description: o.description ?? '',
    direction: o.direction ?? 'outbound',
    effective_from: o.effectiveFrom ?? '2020-01-01T00:00:00Z',
    connect_fee: o.connectFee ?? '0',
    steps: stepsJson(...(o.steps ?? [step(o.rate ?? '0.0100', o.increment ?? 1)])),
  };
}

/** Rates of plans, written straight into the table (before the app compiles the plans, or followed by a plan change notice). */
export async function makeRates(db: Db, ...rows: Array<ReturnType<typeof rateRow>>): Promise<void> {
  await db('rates').insert(rows);
}

// Numbers drawn at random collided: a few thousand draws from ten million (the route matrix makes
// fresh tenants for every write) meet twice with odds near one half, and two one-number ranges of
// the same number overlap. So a random start per process, then steps of 7,919 (prime to 10^7):
// every number of a process is distinct, and nearby numbers are thousands apart.
const NUMBER_BASE = crypto.randomInt(0, 10_000_000);
let numbersDrawn = 0;

/** A North American number that no other number of this test process is. */
export function randomNumber(): string {
  const n = (NUMBER_BASE + numbersDrawn++ * 7_919) % 10_000_000;
  return `+1212${String(n).padStart(7, '0')}`;
}

/** Two resellers, each with every kind of login and a subscriber with a number. */
export async function makeTenants(db: Db) {
  const wholesaleAdmin = await makeUser(db, 'wholesale_admin');
  const wholesaleSupport = await makeUser(db, 'wholesale_support');
  const operatorPlan = await makePlan(db, null);
  const [platform] = await db('platforms').insert({ name: `pbx-${uniq()}`, format: 'generic-json', credential_hash: '0'.repeat(64) }).returning('*');
  await announceReferenceChange(db, 'platforms');
  const tenant = async () => {
    const reseller = await makeReseller(db);
    const plan = await makePlan(db, reseller.id);
    const subscriber = await makeSubscriber(db, reseller.id, {}, [randomNumber()]);
    const number = await db('phone_numbers').where({ subscriber_id: subscriber.id }).first();
    const range = await db('number_ranges').where({ reseller_id: reseller.id }).first();
    return {
      reseller,
      subscriber,
      number: number as { id: number; number: string },
      range: range as { id: number; first_number: string; last_number: string },
      plan,
      admin: await makeUser(db, 'reseller_admin', { resellerId: reseller.id }),
      support: await makeUser(db, 'reseller_support', { resellerId: reseller.id }),
      subscriberUser: await makeUser(db, 'subscriber', { resellerId: reseller.id, subscriberId: subscriber.id }),
    };
  };
  return { wholesaleAdmin, wholesaleSupport, operatorPlan, platform: platform as { id: number; name: string }, a: await tenant(), b: await tenant() };
}

/** A tax jurisdiction of the operator's list: a whole country (region null) or one region of it. */
export async function makeJurisdiction(db: Db, over: Partial<Record<string, unknown>> = {}) {
  const [row] = await db('tax_jurisdictions')
    .insert({ country: 'US', region: `R${uniq()}`, name: `Jurisdiction ${uniq()}`, ...over })
    .returning('*');
  await announceReferenceChange(db, 'taxes');
  return row as { id: number; country: string; region: string | null; name: string };
}

/** A tax of the operator (resellerId null: on wholesale charges) or of a reseller (on its retail charges). */
export async function makeTax(db: Db, resellerId: number | null, jurisdictionId: number, over: Partial<Record<string, unknown>> = {}) {
  const [row] = await db('taxes')
    .insert({
      reseller_id: resellerId, jurisdiction_id: jurisdictionId, name: `Tax ${uniq()}`, kind: 'usage', basis: 'percent', rate: '5',
      priority: 1, compounding: false, effective_from: '2026-01-01T00:00:00Z', ...over,
    })
    .returning('*');
  await announceReferenceChange(db, 'taxes');
  return row as { id: number; reseller_id: number | null; jurisdiction_id: number; name: string };
}

/** An exchange rate: 1 `from` is `rate` `to` from effective_from on. */
export async function makeExchangeRate(db: Db, from: string, to: string, rate: string, effectiveFrom: string) {
  const [row] = await db('exchange_rates').insert({ from_currency: from, to_currency: to, rate, effective_from: effectiveFrom }).returning('*');
  await announceReferenceChange(db, 'exchange_rates');
  return row as { id: number };
}

/**
 * A stored call leg (with the CDR it came from), straight into the tables: status 'rated' with no
 * charges unless told otherwise. Creates the month's partitions first.
 */
export async function makeCallLeg(
  db: Db,
  opts: {
    platformId: number; resellerId?: number | null; subscriberId?: number | null; calling?: string; called?: string; startAt?: Date; status?: 'rated' | 'unrated' | 'blocked'; reason?: string | null; direction?: string | null;
    /** Who received it (an on-net or inbound call), when that is one of ours. */
    calleeResellerId?: number | null; calleeSubscriberId?: number | null;
  },
) {
  const start = opts.startAt ?? new Date(Date.now() - 3_600_000);
  await ensurePartitions(db, [start.getTime()]);
  const u = uniq();
  const calling = opts.calling ?? randomNumber();
  const called = opts.called ?? `+4420${String(crypto.randomInt(0, 100_000_000)).padStart(8, '0')}`;
  const body = JSON.stringify({ leg_id: `leg-${u}`, calling, called, start: start.toISOString(), answer: start.toISOString(), billsec: 60 });
  const [cdr] = await db('cdrs').insert({ platform_id: opts.platformId, body, body_sha256: crypto.createHash('sha256').update(body).digest('hex') }).returning('id');
  const status = opts.status ?? 'rated';
  const [row] = await db('call_legs')
    .insert({
      start_at: start.toISOString(), platform_id: opts.platformId, cdr_id: cdr.id, leg_key: `leg-${u}`, call_id: `call-${u}`,
      reseller_id: opts.resellerId ?? null, subscriber_id: opts.subscriberId ?? null, direction: opts.direction === undefined ? 'outbound' : opts.direction,
      calling_number: calling, called_number: called, raw_calling: calling, raw_called: called, answer_at: start.toISOString(),
      end_at: new Date(start.getTime() + 60_000).toISOString(), billable_seconds: 60, answered: true, disposition: 'answered',
      status, unrated_reason: status === 'rated' ? null : (opts.reason ?? 'no outbound rate'), rated_at: status === 'rated' ? start.toISOString() : null,
      callee_reseller_id: opts.calleeResellerId ?? null, callee_subscriber_id: opts.calleeSubscriberId ?? null,
    })
    .returning(['id', 'start_at']);
  return row as { id: number; start_at: Date };
}

/** A charge of a leg made with makeCallLeg: `amount` is every amount of it (no tax, no conversion). */
export async function makeCharge(
  db: Db,
  leg: { id: number; start_at: Date },
  opts: { kind: 'wholesale' | 'retail'; resellerId: number; subscriberId: number; ratePlanId: number; amount: string; direction?: string },
) {
  await db('charges').insert({
    leg_id: leg.id, start_at: leg.start_at, kind: opts.kind, reseller_id: opts.resellerId, subscriber_id: opts.subscriberId, rate_plan_id: opts.ratePlanId,
    plan_revision: 1, direction: opts.direction ?? 'outbound', prefix: '1', description: 'test', rate_effective_from: '2020-01-01T00:00:00Z',
    billable_seconds: 60, charged_seconds: 60, pieces: JSON.stringify([]), currency: 'USD', connect_fee: '0', usage: opts.amount, amount: opts.amount,
    taxes: JSON.stringify([]), tax_amount: '0', total: opts.amount, billed_currency: 'USD', exchange_rate: '1', billed_total: opts.amount,
  });
}

/** A body the intake refused, kept in cdr_rejects. */
export async function makeCdrReject(db: Db, opts: { platformId: number | null; body?: string; error?: string; recordIndex?: number | null }) {
  const [row] = await db('cdr_rejects')
    .insert({ platform_id: opts.platformId, source_ip: '192.0.2.10', content_type: 'application/json', body: opts.body ?? '{"leg_id": "x", ', error: opts.error ?? 'the body is not JSON', record_index: opts.recordIndex ?? null })
    .returning('*');
  return row as { id: number };
}

/**
 * A destination group (one prefix) and a toll package giving it 100 minutes a cycle, of the
 * operator (resellerId null) or of a reseller; `alsoGroupIds` are more groups it covers, unlimited.
 */
export async function makeTollPackage(db: Db, resellerId: number | null, alsoGroupIds: number[] = []) {
  const u = uniq();
  const [group] = await db('destination_groups').insert({ reseller_id: resellerId, name: `Group ${u}` }).returning('*');
  await db('destination_group_prefixes').insert({ group_id: group.id, prefix: '44' });
  const [tollPackage] = await db('toll_packages').insert({ reseller_id: resellerId, name: `Toll package ${u}`, currency: 'USD', monthly_fee: '5' }).returning('*');
  await db('toll_package_groups').insert([
    { package_id: tollPackage.id, group_id: group.id, included_seconds: 6000 },
    ...alsoGroupIds.map((id) => ({ package_id: tollPackage.id, group_id: id, included_seconds: null })),
  ]);
  return { group: group as { id: number; name: string }, tollPackage: tollPackage as { id: number; name: string } };
}

/** A toll package held by a subscriber (or, subscriberId null, by the reseller) from 2000 with no end; `usedSeconds` recorded in a cycle of 2000. */
export async function makeTollAssignment(db: Db, opts: { resellerId: number; subscriberId: number | null; packageId: number; startsAt?: string; endsAt?: string | null; usedSeconds?: number }) {
  const [row] = await db('package_assignments')
    .insert({ reseller_id: opts.resellerId, subscriber_id: opts.subscriberId, toll_package_id: opts.packageId, starts_at: opts.startsAt ?? '2000-01-01T00:00:00Z', ends_at: opts.endsAt ?? null })
    .returning('*');
  if (opts.usedSeconds) {
    const group = await db('toll_package_groups').where({ package_id: opts.packageId }).orderBy('group_id').first('group_id');
    await db('allowance_usage').insert({ assignment_id: row.id, group_id: group.group_id, cycle_start: '2000-01-01T00:00:00Z', cycle_end: '2000-02-01T00:00:00Z', seconds_used: opts.usedSeconds });
  }
  return row as { id: number };
}
