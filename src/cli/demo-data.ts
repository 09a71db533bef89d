import type { Db } from '../db/knex';
import { Decimal } from '../domain/money/decimal';
import { SYSTEM_ACTOR } from '../domain/tenancy/actor';
import type { Owner } from '../domain/tenancy/owner';
import { ensureFirstAdmin } from '../modules/auth/auth.service';
import { createReseller } from '../modules/resellers/resellers.service';
import { addRate } from '../modules/exchange-rates/exchange-rates.service';
import { processPost } from '../modules/intake/intake.service';
import { createCarrier } from '../modules/carriers/carriers.service';
import { createPlatform } from '../modules/platforms/platforms.service';
import { assignRetailPlan, assignWholesalePlan } from '../modules/rate-plans/assignments.service';
import { PlanCache } from '../modules/rate-plans/plan-cache';
import { createPlan, importDeck } from '../modules/rate-plans/rate-plans.service';
import { ReferenceData } from '../modules/reference-data/reference-data';
import { callingCodeFor, createSubscriber } from '../modules/subscribers/subscribers.service';
import { addRange } from '../modules/number-ranges/number-ranges.service';
import { normaliseE164 } from '../domain/numbers/e164';
import { createStaffUser } from '../modules/users/users.service';
import { loadDemoFeatures } from './demo-features';

export const DEMO_PASSWORD = 'demo-password-2026';

interface DemoLogin { role: string; email: string }

const DECK_HEADER = 'prefix,description,direction,band,interval_start,rate,rate_unit,increment,connect_fee,min_charge,max_cost,effective_from';
const DECKS = {
  wholesale: [
    '1,US/Canada,outbound,,0,0.0060,60,6,,,,2020-01-01', '44,UK,outbound,,0,0.0100,60,6,,,,2020-01-01', '447,UK mobile,outbound,,0,0.0300,60,6,,,,2020-01-01',
    '49,Germany,outbound,,0,0.0120,60,6,,,,2020-01-01', '1800,US toll-free,inbound,,0,0.0200,60,6,,,,2020-01-01', '1,On-net,onnet,,0,0,60,1,,,,2020-01-01',
    '49,On-net,onnet,,0,0,60,1,,,,2020-01-01', '1,Inbound,inbound,,0,0,60,1,,,,2020-01-01', '49,Inbound,inbound,,0,0,60,1,,,,2020-01-01',
  ],
  retail: [
    '1,US/Canada,outbound,,0,0.0200,60,60,,,,2020-01-01', '44,UK,outbound,,0,0.0500,60,60,0.0100,,,2020-01-01', '447,UK mobile,outbound,,0,0.1200,60,60,0.0100,,,2020-01-01',
    '49,Germany,outbound,,0,0.0500,60,30,,,,2020-01-01', '49,Germany,outbound,,30,0.0500,60,6,,,,2020-01-01', '1800,US toll-free,inbound,,0,0.0400,60,6,,,,2020-01-01',
    '1,On-net,onnet,,0,0,60,1,,,,2020-01-01', '49,On-net,onnet,,0,0,60,1,,,,2020-01-01',
    // Ordinary inbound calls are free: an explicit zero rate (a leg with no rate stays unrated).
    '1,Inbound,inbound,,0,0,60,1,,,,2020-01-01', '49,Inbound,inbound,,0,0,60,1,,,,2020-01-01',
  ],
};

const RESELLERS = [
  {
    name: 'Acme Voice', code: 'acme-voice', currency: 'USD', domain: 'acme.example', country: 'US', timeZone: 'America/New_York',
    subscribers: [
      ['ACME-1001', 'Blue Harbor Dental', 'New York', 'NY', ['(212) 555-0101', '(212) 555-0102']],
      ['ACME-1002', 'Riverside Bakery', 'Albany', 'NY', ['(518) 555-0110']],
      ['ACME-1003', 'Chen Household', 'Newark', 'NJ', ['(973) 555-0123']],
      ['ACME-1004', 'Summit Legal LLP', 'Boston', 'MA', ['(617) 555-0144', '(617) 555-0145', '(617) 555-0146']],
      ['ACME-1005', 'Garcia Household', 'Miami', 'FL', ['(305) 555-0157']],
      ['ACME-1006', 'Northwind Logistics', 'Chicago', 'IL', ['(312) 555-0168', '(800) 555-0169']],
    ],
  },
  {
    name: 'Nordic Telecom', code: 'nordic-telecom', currency: 'EUR', domain: 'nordic.example', country: 'DE', timeZone: 'Europe/Berlin',
    subscribers: [
      ['NT-2001', 'Bäckerei Müller', 'Berlin', 'BE', ['030 1234567']],
      ['NT-2002', 'Schmidt & Partner', 'Hamburg', 'HH', ['040 7654321', '040 7654322']],
      ['NT-2003', 'Familie Weber', 'München', 'BY', ['089 2223334']],
      ['NT-2004', 'Hotel Seeblick', 'Konstanz', 'BW', ['07531 987654']],
      ['NT-2005', 'Praxis Dr. Fischer', 'Köln', 'NW', ['0221 445566']],
      ['NT-2006', 'Familie Jansen', 'Bremen', 'HB', ['0421 332211']],
    ],
  },
] as const;

/**
 * A small, realistic data set so a newcomer can click through every portal: two resellers, a dozen
 * subscribers with numbers, and a login for every role. Loaded through the services, so it is
 * validated and audited like anything typed into the portals. Returns undefined if already loaded.
 */
export async function loadDemoData(db: Db): Promise<DemoLogin[] | undefined> {
  if (await db('resellers').where({ code: 'acme-voice' }).first()) return undefined;
  const logins: DemoLogin[] = [];
  const staff = async (portal: 'wholesale' | 'reseller', resellerId: number | null, role: string, email: string, name: string) => {
    // A login made before (ADMIN_EMAIL set to a demo login on an earlier start) is kept as it is.
    // Emails are unique within a party (DOMAIN.md), so only this party's logins are looked at.
    if (await db('users').whereRaw('lower(email) = ? and reseller_id is not distinct from ?', [email, resellerId]).first('id')) return;
    await createStaffUser(db, SYSTEM_ACTOR, portal, resellerId, { name, email, role, password: DEMO_PASSWORD });
    logins.push({ role, email });
  };
  await staff('wholesale', null, 'wholesale_admin', 'ops@operator.example', 'Olivia Operator');
  await staff('wholesale', null, 'wholesale_support', 'support@operator.example', 'Sam Support');
  for (const r of RESELLERS) {
    const reseller = await createReseller(db, SYSTEM_ACTOR, {
      name: r.name, code: r.code, currency: r.currency, billing_service: true, billing_cycle_day: 1,
      contact_name: `${r.name} operations`, contact_email: `ops@${r.domain}`, contact_phone: null, notes: 'Demo reseller', sip_domain: `pbx.${r.domain}`, time_zone: r.timeZone, wholesale_plan_id: null,
      admin_name: `${r.name} admin`, admin_email: `admin@${r.domain}`, admin_password: DEMO_PASSWORD,
    });
    logins.push({ role: 'reseller_admin', email: `admin@${r.domain}` });
    // Numbers come from the reseller's ranges: a block of 100 around each of its numbers.
    const blocks = new Set<string>();
    for (const [, , , , numbers] of r.subscribers) {
      for (const n of numbers) {
        const e164 = normaliseE164(n, callingCodeFor(r.country));
        if (e164.ok) blocks.add(e164.number.slice(0, -2));
      }
    }
    for (const b of blocks) await addRange(db, SYSTEM_ACTOR, reseller.id, { first_number: `${b}00`, last_number: `${b}99` });
    await staff('reseller', reseller.id, 'reseller_support', `support@${r.domain}`, `${r.name} support`);
    let first = true;
    for (const [account, name, city, region, numbers] of r.subscribers) {
      const loginEmail = first ? `portal@${account.toLowerCase()}.${r.domain}` : undefined;
      await createSubscriber(db, SYSTEM_ACTOR, reseller.id, {
        account_number: account, name, contact_name: null, email: `billing@${account.toLowerCase()}.${r.domain}`, phone: null,
        address_line1: '1 Main Street', address_line2: null, city, region, postal_code: null, country: r.country, time_zone: null, billing_cycle_day: null,
        numbers: [...numbers], login_email: loginEmail, login_password: loginEmail ? DEMO_PASSWORD : undefined, retail_plan_id: null,
      });
      if (loginEmail) logins.push({ role: 'subscriber', email: loginEmail });
      first = false;
    }
  }
  await loadDemoRating(db);
  await loadDemoFeatures(db, (await db('resellers').whereIn('code', RESELLERS.map((r) => r.code)).orderBy('id').select('id', 'currency')).map((r) => ({ id: r.id, currency: String(r.currency).trim() })));
  return logins;
}

/**
 * Plans, an exchange rate, a platform and a few days of calls, so the calls and rating pages have
 * something real to show: the calls go through the same intake as a switch's records.
 */
async function loadDemoRating(db: Db): Promise<void> {
  const cache = new PlanCache();
  // Through the services, so the exchange rate and the platform are announced like any change
  // (the loader runs before the app starts, but other processes may already be serving).
  const refs = new ReferenceData();
  const plan = async (owner: Owner, name: string, currency: string, rows: string[]) => {
    const p = await createPlan(db, SYSTEM_ACTOR, owner, {
      name, description: 'Demo plan', currency, rounding_decimals: 4, rounding_method: 'half_up', time_zone: 'UTC', band_mode: 'split', connect_fee_on_unanswered: false,
    });
    await importDeck(db, cache, SYSTEM_ACTOR, owner, p.id, [DECK_HEADER, ...rows].join('\n'), 'replace');
    return p;
  };
  await addRate(db, refs, SYSTEM_ACTOR, { from_currency: 'USD', to_currency: 'EUR', rate: new Decimal('0.92'), effective_from: Date.parse('2020-01-01T00:00:00Z') });
  const wholesale = await plan({ kind: 'operator' }, 'Wholesale Standard', 'USD', DECKS.wholesale);
  for (const r of await db('resellers').orderBy('id')) {
    await assignWholesalePlan(db, SYSTEM_ACTOR, r.id, wholesale.id);
    const retail = await plan({ kind: 'reseller', resellerId: r.id }, `${r.name} Basic`, r.currency, DECKS.retail);
    for (const sub of await db('subscribers').where({ reseller_id: r.id })) {
      await assignRetailPlan(db, { ...SYSTEM_ACTOR, scope: { kind: 'reseller', resellerId: r.id } }, { kind: 'reseller', resellerId: r.id }, sub.id, retail.id);
    }
  }
  // The LD carrier the demo switch's trunk leaves by, with a cost deck (the wholesale deck's rows, as a stand-in for its own).
  const costs = await plan({ kind: 'operator' }, 'Demo LD Carrier costs', 'USD', DECKS.wholesale);
  await createCarrier(db, SYSTEM_ACTOR, {
    name: 'Demo LD Carrier', currency: 'USD', time_zone: 'UTC', cost_plan_id: costs.id, start_tolerance_seconds: 5, duration_tolerance_seconds: 1, cost_tolerance: '0.01',
    data_format: 'carrier-generic-csv', csv_mapping: null, allowed_sources: null, file_due_at: '06:00', file_due_zone: 'UTC',
  });
  const { platform } = await createPlatform(db, refs, SYSTEM_ACTOR, {
    name: 'demo-switch', format: 'generic-json', time_zone: 'UTC', country_code: '1', allowed_sources: null, trunk_carriers: { 'gw-1': 'Demo LD Carrier' }, short_numbers: 'national', sip_domain: null, active: true, accept_calls_from: undefined,
  });
  // The demo's subscribers have had their numbers for a month: its calls (the last four days) are
  // billed to the holder at the call's time, and a number assigned just now held nothing then.
  const demoResellers = db('resellers').whereIn('code', RESELLERS.map((r) => r.code)).select('id');
  await db('phone_numbers').whereIn('reseller_id', demoResellers).update({ assigned_at: db.raw("now() - interval '30 days'") });
  const numbers = (await db('phone_numbers').whereNull('released_at').orderBy('id').pluck('number')) as string[];
  const external = ['+442079460123', '+447911123456', '+4930123456789', '+13125550199', '+33123456789'];
  const records = [];
  const now = Date.now();
  for (let i = 0; i < 48; i++) {
    const ours = numbers[i % numbers.length] as string;
    const other = external[i % external.length] as string;
    const kind = i % 6; // 0,1,2: outbound; 3: inbound; 4: on-net; 5: outbound
    const start = now - (i + 1) * 2 * 3600_000;
    const seconds = i % 9 === 0 ? 0 : 20 + ((i * 37) % 600);
    const [calling, called] = kind === 3 ? [other, ours] : kind === 4 ? [ours, numbers[(i + 5) % numbers.length] as string] : [ours, other];
    records.push({
      leg_id: `demo-${i}`,
      calling,
      called,
      start: new Date(start).toISOString(),
      ...(seconds ? { answer: new Date(start + 4000).toISOString(), end: new Date(start + 4000 + seconds * 1000).toISOString() } : { disposition: 'no_answer' }),
      trunk: 'gw-1',
    });
  }
  await processPost(db, { plans: cache, refs }, { platform, body: JSON.stringify({ records }), contentType: 'application/json', sourceIp: undefined });
}

/**
 * What a start puts in an empty database: with `demo`, the demo data first, whose operator
 * (ops@operator.example) is then the first wholesale admin, so no admin@localhost is made beside
 * it and ADMIN_EMAIL may name a demo login; otherwise the first admin from ADMIN_EMAIL /
 * ADMIN_PASSWORD (see ensureFirstAdmin).
 */
export async function firstStart(db: Db, admin: { email?: string; password?: string }, opts: { demo: boolean }) {
  const demo = opts.demo ? ((await loadDemoData(db)) ?? null) : undefined;
  const first = await ensureFirstAdmin(db, admin);
  return { first, demo };
}
