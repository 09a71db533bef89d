import { announceReferenceChange, REFERENCE_KINDS } from '../src/db/change-notices';
import type { Db } from '../src/db/knex';
import { newCredential } from '../src/modules/platforms/credentials';
import { writeRates, type RatePlan } from '../src/modules/rate-plans/rate-plans.repository';
import { BANDS, deckRates, makeDeck, numberUnder, type DeckEntry } from './decks';
import { Rng } from './rng';

export interface FixtureOptions {
  resellers: number;
  subscribers: number;
  /** Prefixes in the operator's deck and in each reseller's retail deck. */
  prefixes: number;
}

export interface Fixture {
  platformId: number;
  token: string;
  numbers: string[];
  deck: DeckEntry[];
  rateRows: number;
  taxes: number;
}

const chunks = <T>(list: T[], size: number): T[][] => Array.from({ length: Math.ceil(list.length / size) }, (_, i) => list.slice(i * size, (i + 1) * size));

/**
 * A realistic tenant set: resellers billed in USD and EUR, each with a retail plan; subscribers in
 * a few US regions with one number each; the operator's banded wholesale plan; an exchange rate
 * that changes mid-month; operator and reseller usage taxes; a platform with a known credential.
 * Written through the same tables the app uses (rates through the deck-import repository).
 */
export async function seed(db: Db, o: FixtureOptions): Promise<Fixture> {
  const rng = new Rng(20261126);
  const deck = makeDeck(rng, o.prefixes);
  const effectiveFrom = Date.UTC(2020, 0, 1);
  let rateRows = 0;

  const [ws] = await db('rate_plans')
    .insert({ reseller_id: null, name: 'Wholesale A-Z', currency: 'USD', rounding_decimals: 4, rounding_method: 'half_up', time_zone: 'America/New_York', band_mode: 'split' })
    .returning('*');
  await db('rate_plan_bands').insert(
    BANDS.map((b) => ({ rate_plan_id: ws.id, reseller_id: null, band: b.band, weekdays: `{${b.weekdays.join(',')}}`, dates: `{${b.dates.join(',')}}`, start_ms: b.startMs })),
  );
  const wsRates = deckRates(deck, { bands: true, effectiveFrom });
  await writeRates(db, { id: ws.id, resellerId: null } as RatePlan, wsRates, 'replace');
  rateRows += wsRates.length;

  const resellers: Array<{ id: number; currency: string; planId: number }> = [];
  for (let i = 0; i < o.resellers; i++) {
    const currency = i % 4 === 3 ? 'EUR' : 'USD';
    const [r] = await db('resellers')
      .insert({ name: `Bench reseller ${i}`, code: `bench-${i}`, currency, contact_email: `ops${i}@bench.example`, wholesale_plan_id: ws.id, billing_service: true })
      .returning('*');
    const [plan] = await db('rate_plans')
      .insert({ reseller_id: r.id, name: `Retail ${i}`, currency, rounding_decimals: 2, rounding_method: 'up', time_zone: 'America/New_York', band_mode: 'split' })
      .returning('*');
    const retail = deckRates(deck, { bands: false, markup: 1.6, effectiveFrom });
    await writeRates(db, { id: plan.id, resellerId: r.id } as RatePlan, retail, 'replace');
    rateRows += retail.length;
    resellers.push({ id: r.id, currency, planId: plan.id });
  }

  const regions = ['NY', 'NY', 'NJ', 'CA'];
  const numbers: string[] = [];
  const perReseller = Math.ceil(o.subscribers / o.resellers);
  for (const [ri, r] of resellers.entries()) {
    const count = Math.min(perReseller, o.subscribers - ri * perReseller);
    if (count <= 0) break;
    const rows = Array.from({ length: count }, (_, k) => ({
      reseller_id: r.id, account_number: `B${ri}-${k}`, name: `Subscriber ${ri}-${k}`, country: 'US', region: regions[k % regions.length],
      city: 'Somewhere', retail_plan_id: r.planId,
    }));
    for (const part of chunks(rows, 1000)) {
      const ids = (await db('subscribers').insert(part).returning('id')) as Array<{ id: number }>;
      // Numbers are sequential: +12125000000, +12125000001, ... held since before the calls (November 2026).
      const nums = ids.map(({ id }, k) => ({ reseller_id: r.id, subscriber_id: id, number: `+1212${String(5_000_000 + numbers.length + k).padStart(7, '0')}`, assigned_at: new Date(effectiveFrom).toISOString() }));
      await db('phone_numbers').insert(nums);
      numbers.push(...nums.map((n) => n.number));
    }
  }

  // USD -> EUR, with a new rate from the middle of the month (rating must pick per call).
  await db('exchange_rates').insert([
    { from_currency: 'USD', to_currency: 'EUR', rate: '0.920000', effective_from: '2020-01-01T00:00:00Z' },
    { from_currency: 'USD', to_currency: 'EUR', rate: '0.935000', effective_from: '2026-11-15T00:00:00Z' },
  ]);

  // Taxes: the operator's federal tax on wholesale, each reseller's state tax on retail in NY and NJ.
  let taxes = 0;
  const [us] = await db('tax_jurisdictions').insert({ country: 'US', region: null, name: 'United States' }).returning('*');
  const [ny] = await db('tax_jurisdictions').insert({ country: 'US', region: 'NY', name: 'New York' }).returning('*');
  const [nj] = await db('tax_jurisdictions').insert({ country: 'US', region: 'NJ', name: 'New Jersey' }).returning('*');
  const tax = (resellerId: number | null, jurisdictionId: number, name: string, rate: string, priority: number, compounding = false) => ({
    reseller_id: resellerId, jurisdiction_id: jurisdictionId, name, kind: 'usage', basis: 'percent', rate, priority, compounding, effective_from: '2026-01-01T00:00:00Z',
  });
  // A temporary operator fee from Nov 10 to Nov 20: the taxes in force change inside a batch.
  const taxRows = [tax(null, us.id, 'Federal USF', '5', 1), { ...tax(null, us.id, 'Regulatory fee', '0.5', 2), effective_from: '2026-11-10T00:00:00Z', effective_to: '2026-11-20T00:00:00Z' }];
  for (const r of resellers) taxRows.push(tax(r.id, ny.id, 'NY sales tax', '8.875', 1), tax(r.id, nj.id, 'NJ sales tax', '6.625', 1), tax(r.id, us.id, '911 fee', '1', 2, true));
  await db('taxes').insert(taxRows);
  taxes = taxRows.length;

  const [platform] = await db('platforms')
    .insert({ name: 'bench-pbx', format: 'generic-json', time_zone: 'UTC', country_code: '1', credential_hash: '0'.repeat(64), trunk_carriers: JSON.stringify({ 'gw-1': 'Level3', 'gw-2': 'Lumen' }) })
    .returning('*');
  const { token, hash } = newCredential(platform.id);
  await db('platforms').where({ id: platform.id }).update({ credential_hash: hash });
  // Written straight into the tables: any app already running on this database must drop its
  // in-memory platforms, taxes and rates (the bench starts its app afterwards, so it reads these).
  for (const kind of REFERENCE_KINDS) await announceReferenceChange(db, kind);

  await db.raw('ANALYZE');
  return { platformId: platform.id, token, numbers, deck, rateRows, taxes };
}

/**
 * Every subscriber given a toll package of its reseller (for (b) with --toll-packages): one
 * destination group per reseller of every country code (prefixes 1-9, so that every outbound call
 * draws on it), `includedSeconds` a cycle (default an hour: busy numbers run out mid-call and are
 * split, the others stay covered), assigned since before the calls. Written straight into the
 * tables, as the rest of the fixture; the assignments move party_version, so the app's holders
 * cache reloads on its own.
 */
export async function giveTollPackages(db: Db, includedSeconds = 3600): Promise<{ assignments: number }> {
  const resellers = (await db('resellers').select('id', 'currency')) as Array<{ id: number; currency: string }>;
  let assignments = 0;
  for (const r of resellers) {
    const [group] = await db('destination_groups').insert({ reseller_id: r.id, name: 'Everywhere' }).returning('id');
    await db('destination_group_prefixes').insert(['1', '2', '3', '4', '5', '6', '7', '8', '9'].map((prefix) => ({ group_id: group.id, prefix })));
    const [pkg] = await db('toll_packages').insert({ reseller_id: r.id, name: 'Bench minutes', currency: r.currency.trim(), monthly_fee: '10' }).returning('id');
    await db('toll_package_groups').insert({ package_id: pkg.id, group_id: group.id, included_seconds: includedSeconds });
    const subs = (await db('subscribers').where({ reseller_id: r.id }).select('id')) as Array<{ id: number }>;
    for (const part of chunks(subs, 1000)) {
      await db('package_assignments').insert(part.map((s) => ({ reseller_id: r.id, subscriber_id: s.id, toll_package_id: pkg.id, starts_at: '2020-01-01T00:00:00Z' })));
      assignments += part.length;
    }
  }
  await db.raw('ANALYZE');
  return { assignments };
}

/**
 * Generic JSON records: 72% outbound (a subscriber calls a deck destination), 14% inbound (an
 * outside caller rings a subscriber), 10% on-net, 4% nobody's (stored unrated); 80% answered
 * with 1 s to 20 min of talk; starts spread over November 2026.
 */
export function makeRecords(f: Fixture, count: number, opts: { tag: string; seed: number }): Array<Record<string, unknown>> {
  const rng = new Rng(opts.seed);
  const from = Date.UTC(2026, 10, 1);
  const span = 25 * 86_400_000;
  const out: Array<Record<string, unknown>> = [];
  for (let i = 0; i < count; i++) {
    const kind = rng.next();
    const ours = () => rng.pick(f.numbers);
    const outside = () => numberUnder(rng, rng.pick(['4420', '3314', '4930', '1310', '1415']));
    let calling: string;
    let called: string;
    if (kind < 0.72) {
      calling = ours();
      called = numberUnder(rng, rng.pick(f.deck).prefix);
    } else if (kind < 0.86) {
      calling = outside();
      called = ours();
    } else if (kind < 0.96) {
      calling = ours();
      called = ours();
    } else {
      calling = outside();
      called = outside();
    }
    const start = from + Math.floor(rng.next() * span);
    const answered = rng.next() < 0.8;
    const rec: Record<string, unknown> = {
      leg_id: `${opts.tag}-${i}`,
      call_id: `${opts.tag}-c${i}`,
      calling,
      called,
      start: new Date(start).toISOString(),
      direction: kind < 0.72 || kind >= 0.86 ? 'outbound' : 'inbound',
      trunk: rng.pick(['gw-1', 'gw-2', 'gw-3']),
    };
    if (answered) {
      const talk = rng.next() < 0.7 ? rng.int(1, 180) : rng.int(181, 1200);
      const answer = start + rng.int(2, 25) * 1000;
      rec.answer = new Date(answer).toISOString();
      rec.end = new Date(answer + talk * 1000).toISOString();
      rec.billsec = talk;
    } else {
      rec.end = new Date(start + rng.int(5, 40) * 1000).toISOString();
      rec.disposition = rng.pick(['no_answer', 'busy', 'cancelled']);
    }
    out.push(rec);
  }
  return out;
}

/**
 * A second platform for the hostile part of (b): its own credential, so that what it sends is
 * counted against it and not against the bench's good platform.
 */
export async function hostilePlatform(db: Db): Promise<{ id: number; name: string; token: string }> {
  const [platform] = await db('platforms')
    .insert({ name: 'hostile-pbx', format: 'generic-json', time_zone: 'UTC', country_code: '1', credential_hash: '0'.repeat(64) })
    .returning('*');
  const { token, hash } = newCredential(platform.id);
  await db('platforms').where({ id: platform.id }).update({ credential_hash: hash });
  await announceReferenceChange(db, 'platforms');
  return { id: platform.id, name: platform.name, token };
}
