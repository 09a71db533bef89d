/**
 * Dashboards at scale: N legs stored by COPY across 100,000 subscribers (not through the intake),
 * the usage totals kept by the ledger's own addUsage per chunk (as its INSERT and COPY paths do)
 * and folded by foldUsage after it (as the server's usage folder does),
 * then the dashboards' queries timed server-side (the services the pages call), p50 and p95.
 *
 *   npx tsx bench/dashboards.ts --legs=10000000          (alone: creates and drops its database)
 *   npm run bench -- --only=d --dash-legs=10000000        (as part (d) of bench/run.ts; every option with dash-)
 *
 * Options: --legs=N (default 1,000,000), --subscribers=N (100,000), --resellers=N (100),
 * --destinations=N (300), --days=N (legs spread over the last N days, 90), --rounds=N (timed runs of
 * each query, 40), --chunk=N (legs per COPY transaction, 50,000), --lanes=N (connections storing at
 * once, 1).
 * Target (issue 11): p95 at most 200 ms per dashboard at 10 million legs. Not asserted anywhere.
 */
import crypto from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Db } from '../src/db/knex';
import type { Scope } from '../src/domain/tenancy/roles';
import { copyLine, copyRows } from '../src/modules/ledger/copy';
import { addUsage, foldUsage, vacuumUsageDeltas } from '../src/modules/ledger/ledger.repository';
import { ensurePartitions } from '../src/modules/ledger/partitions';
import { topList, usageDashboard } from '../src/modules/portal/dashboards.service';
import { benchArgs, benchLog, runMain, withScratchDatabase } from './cli';
import { Rng } from './rng';

export interface DashboardBenchOptions {
  legs: number;
  subscribers: number;
  resellers: number;
  destinations: number;
  days: number;
  rounds: number;
  chunk: number;
  /** Connections storing legs at once (storeLegs). */
  lanes: number;
  log: (msg: string) => void;
}

export interface DashboardBenchResult {
  legs: number;
  subscribers: number;
  resellers: number;
  days: number;
  /** Seconds to generate and store the legs (COPY, with the totals kept per chunk). */
  loadSeconds: number;
  usageTotalsRows: number;
  /** Per dashboard: p50 and p95 of the whole page's usage queries, in ms. */
  timings: Timing[];
}

const DAY = 86_400_000;
const ZONE = 'America/New_York';
/** Resellers' zones in turn: the dashboards are timed in New York, the accounts in each party's own zone. */
const ZONES = ['America/New_York', 'America/Los_Angeles', 'Europe/London', 'Europe/Berlin', 'Asia/Kolkata'];

export interface BenchSubscriber {
  id: number;
  resellerId: number;
  /** The party's zone and cycle day (its own, or its reseller's), for the account page's cycles. */
  timeZone: string;
  cycleDay: number;
}

export interface BenchParties {
  resellerIds: number[];
  subscribers: BenchSubscriber[];
}

/**
 * Resellers (every tenth billed in EUR, in five zones, cycles starting on various days) and
 * subscribers (a year old, so that accounts have past cycles; every seventh with a cycle day of
 * its own), straight into the tables in a few statements.
 */
export async function seedParties(db: Db, o: Pick<DashboardBenchOptions, 'resellers' | 'subscribers'>): Promise<BenchParties> {
  const resellers = (await db.raw(
    `INSERT INTO resellers (name, code, currency, contact_email, time_zone, billing_cycle_day, billing_service, created_at)
     SELECT 'Dash reseller ' || i, 'dash-' || i, CASE WHEN i % 10 = 9 THEN 'EUR' ELSE 'USD' END, 'ops' || i || '@dash.example',
            (?::text[])[1 + i % ?], 1 + (i * 7) % 28, true, now() - interval '400 days'
       FROM generate_series(0, ? - 1) AS i RETURNING id, time_zone, billing_cycle_day`,
    [ZONES, ZONES.length, o.resellers],
  )) as { rows: Array<{ id: string; time_zone: string; billing_cycle_day: number }> };
  const resellerIds = resellers.rows.map((r) => Number(r.id));
  const terms = new Map(resellers.rows.map((r) => [Number(r.id), { timeZone: r.time_zone, cycleDay: Number(r.billing_cycle_day) }]));
  const subs = (await db.raw(
    `INSERT INTO subscribers (reseller_id, account_number, name, country, region, city, billing_cycle_day, created_at)
     SELECT (?::bigint[])[1 + i % ?], 'D-' || i, 'Dash subscriber ' || i, 'US', (ARRAY['NY','NY','NJ','CA'])[1 + i % 4], 'New York',
            CASE WHEN i % 7 = 3 THEN 1 + i % 28 END, now() - interval '365 days'
       FROM generate_series(0, ? - 1) AS i RETURNING id, reseller_id, billing_cycle_day`,
    [resellerIds, resellerIds.length, o.subscribers],
  )) as { rows: Array<{ id: string; reseller_id: string; billing_cycle_day: number | null }> };
  return {
    resellerIds,
    subscribers: subs.rows.map((r) => {
      const t = terms.get(Number(r.reseller_id)) as { timeZone: string; cycleDay: number };
      return { id: Number(r.id), resellerId: Number(r.reseller_id), timeZone: t.timeZone, cycleDay: r.billing_cycle_day ?? t.cycleDay };
    }),
  };
}

const LEG_COLS = ['id', 'start_at', 'platform_id', 'cdr_id', 'leg_key', 'call_id', 'reseller_id', 'subscriber_id', 'direction', 'calling_number', 'called_number', 'raw_calling', 'raw_called', 'answer_at', 'end_at', 'billable_seconds', 'answered', 'disposition', 'trunk', 'carrier', 'status', 'rated_at', 'callee_reseller_id', 'callee_subscriber_id'];
const CHARGE_COLS = ['leg_id', 'start_at', 'kind', 'reseller_id', 'subscriber_id', 'rate_plan_id', 'plan_revision', 'direction', 'prefix', 'description', 'rate_effective_from', 'billable_seconds', 'charged_seconds', 'pieces', 'currency', 'connect_fee', 'usage', 'amount', 'tax_amount', 'total', 'billed_currency', 'exchange_rate', 'billed_total', 'rated_at', 'covered_seconds'];

/** A figure held as an integer count of 10^-scale units, written as exact decimal text (no float in the stored amounts). */
const units = (n: bigint, scale: number): string => {
  const neg = n < 0n;
  const s = (neg ? -n : n).toString().padStart(scale + 1, '0');
  return `${neg ? '-' : ''}${s.slice(0, -scale)}.${s.slice(-scale)}`;
};

/** Where the generator is: its seeded random stream, the parties, the window of start times, and the legs stored so far. */
export interface LegGenerator {
  rng: Rng;
  platformId: number;
  parties: BenchParties;
  euro: Set<number>;
  fromMs: number;
  nowMs: number;
  days: number;
  destinations: number;
  stored: number;
  /** Legs stored when the tables are next analyzed (analyzeAsItGrows). */
  analyzeAt: number;
  analyzing: boolean;
}

/** A platform, the parties and the monthly partitions of the window: ready to store legs in steps (storeLegs). */
export async function createGenerator(db: Db, o: Pick<DashboardBenchOptions, 'resellers' | 'subscribers' | 'days' | 'destinations' | 'log'>): Promise<LegGenerator> {
  const [platform] = await db('platforms').insert({ name: `dash-${crypto.randomBytes(3).toString('hex')}`, format: 'generic-json', credential_hash: '0'.repeat(64) }).returning('id');
  o.log(`seeding ${o.resellers} resellers and ${o.subscribers.toLocaleString('en')} subscribers`);
  const parties = await seedParties(db, o);
  const nowMs = Date.now();
  const fromMs = nowMs - o.days * DAY;
  const months: number[] = [];
  for (let t = fromMs; t <= nowMs + 31 * DAY; t += 28 * DAY) months.push(t);
  await ensurePartitions(db, months);
  return {
    rng: new Rng(20261209), platformId: Number((platform as { id: number }).id), parties,
    euro: new Set(parties.resellerIds.filter((_, i) => i % 10 === 9)), fromMs, nowMs, days: o.days, destinations: o.destinations, stored: 0, analyzeAt: 1, analyzing: false,
  };
}

const DISPOSITIONS = ['no_answer', 'no_answer', 'busy', 'cancelled', 'failed'];
const subscriberNumber = (i: number) => `+1212${String(5_000_000 + i).padStart(7, '0')}`;

/**
 * Generates and stores `count` more legs with their two charges by COPY, chunk by chunk (the
 * chunks in time order over the window, each sorted by start, as platforms send them), each
 * chunk's usage totals added in its transaction. Legs as the intake rates them: 70% outbound to one of `destinations` countries,
 * 14% inbound (the callee subscriber pays its inbound rate), 12% on-net (the caller pays; the
 * callee's page lists it as received), 4% forwarded; 80% answered (1 s to 20 min), the rest no
 * answer, busy, cancelled or failed at zero; every fifth subscriber's outbound minutes partly or
 * wholly covered by a toll package (charges.covered_seconds, the retail amount on the rest);
 * retail taxed 8.875%; EUR resellers billed their wholesale in EUR at 0.92.
 * Stops early (between chunks) at `stopAtMs`; returns the legs stored.
 */
export async function storeLegs(db: Db, g: LegGenerator, count: number, opts: { chunk: number; log: (msg: string) => void; stopAtMs?: number; lanes?: number }): Promise<number> {
  const { rows } = (await db.raw(`SELECT setval('call_legs_id_seq', nextval('call_legs_id_seq') + ?) AS last`, [count])) as { rows: Array<{ last: string }> };
  const firstId = Number(rows[0]?.last) - count + 1;
  // Lanes (connections) at once, each sweeping its own part of the window in time order: their
  // usage totals' rows (keyed by hour) never meet, so they never wait for each other's locks.
  const lanes = Math.max(1, Math.min(opts.lanes ?? 1, count));
  const span = g.nowMs - g.fromMs;
  const started = performance.now();
  const progress = { done: 0, stopped: false };
  const parts = Array.from({ length: lanes }, (_, k) => {
    const lo = Math.floor((k * count) / lanes);
    const hi = Math.floor(((k + 1) * count) / lanes);
    return storePart(db, g, {
      rng: lanes === 1 ? g.rng : new Rng(Math.floor(g.rng.next() * 2 ** 32)), firstId: firstId + lo, count: hi - lo,
      fromMs: g.fromMs + Math.floor((k * span) / lanes), toMs: g.fromMs + Math.floor(((k + 1) * span) / lanes),
    }, { ...opts, started, progress });
  });
  await Promise.all(parts);
  while ((await foldUsage(db)) > 0);
  await vacuumUsageDeltas(db);
  if (progress.stopped) opts.log(`  stopped at ${progress.done.toLocaleString('en')} of ${count.toLocaleString('en')} legs: time is up (--stop-at)`);
  return progress.done;
}

/**
 * ANALYZE after the first chunk and then whenever the ledger has doubled (at least every 2 million
 * legs), as autovacuum would: this server may run without it, and without statistics the fresh
 * partitions' plans (addUsage's among them) go badly wrong (one chunk's upsert ran 9 minutes).
 */
async function analyzeAsItGrows(db: Db, g: LegGenerator, log: (msg: string) => void): Promise<void> {
  if (g.analyzing || g.stored < g.analyzeAt) return;
  g.analyzing = true;
  try {
    const t0 = performance.now();
    await db.raw('ANALYZE call_legs, charges, usage_totals');
    log(`  analyzed at ${g.stored.toLocaleString('en')} legs in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    g.analyzeAt = Math.min(g.stored * 2, g.stored + 2_000_000);
  } finally {
    g.analyzing = false;
  }
}

/** One lane of storeLegs: `count` legs with ids from `firstId`, starting in [fromMs, toMs), chunk by chunk in time order. */
async function storePart(
  db: Db, g: LegGenerator, part: { rng: Rng; firstId: number; count: number; fromMs: number; toMs: number },
  opts: { chunk: number; log: (msg: string) => void; stopAtMs?: number; started: number; progress: { done: number; stopped: boolean } },
): Promise<void> {
  const { rng } = part;
  const subs = g.parties.subscribers;
  let nextId = part.firstId;
  const ratedAt = new Date(g.nowMs).toISOString();
  const count = part.count;
  const span = part.toMs - part.fromMs;
  let done = 0;
  while (done < count) {
    if (opts.stopAtMs !== undefined && Date.now() >= opts.stopAtMs) {
      opts.progress.stopped = true;
      break;
    }
    const n = Math.min(opts.chunk, count - done);
    // A chunk's legs start in its own slice of the lane's window, the slices in time order, as
    // platforms send calls (and mostly one partition at a time).
    const sliceFrom = part.fromMs + Math.floor((done / count) * span);
    const sliceTo = part.fromMs + Math.floor(((done + n) / count) * span);
    const starts: number[] = [];
    for (let i = 0; i < n; i++) starts.push(sliceFrom + Math.floor(rng.next() * (sliceTo - sliceFrom)));
    starts.sort((a, b) => a - b);
    const legs: string[] = [];
    const charges: string[] = [];
    const stored: Array<{ id: number; startMs: number }> = [];
    for (let i = 0; i < n; i++) {
      const id = nextId++;
      const start = starts[i] as number;
      const si = Math.floor(rng.next() * subs.length);
      const sub = subs[si] as BenchSubscriber;
      const k = rng.next();
      const direction = k < 0.7 ? 'outbound' : k < 0.84 ? 'inbound' : k < 0.96 ? 'onnet' : 'forwarded';
      const dest = Math.floor(rng.next() * g.destinations);
      const country = `${30 + (dest % 60)}${dest}`;
      const outside = `+${country}${rng.digits(7)}`;
      let calling = subscriberNumber(si);
      let called = outside;
      let callee: BenchSubscriber | null = null;
      if (direction === 'inbound') {
        calling = outside;
        called = subscriberNumber(si);
        callee = sub;
      } else if (direction === 'onnet') {
        const ci = Math.floor(rng.next() * subs.length);
        callee = subs[ci] as BenchSubscriber;
        called = subscriberNumber(ci);
      }
      const answered = rng.next() < 0.8;
      const seconds = answered ? (rng.next() < 0.7 ? rng.int(1, 180) : rng.int(181, 1200)) : 0;
      const answerMs = answered ? start + rng.int(2, 25) * 1000 : null;
      const endMs = answerMs !== null ? answerMs + seconds * 1000 : start + rng.int(5, 40) * 1000;
      const startIso = new Date(start).toISOString();
      const trunk = direction === 'outbound' || direction === 'forwarded' ? (rng.next() < 0.5 ? 'gw-1' : 'gw-2') : null;
      legs.push(copyLine([
        id, startIso, g.platformId, 0, `d${id}`, `c${id}`, sub.resellerId, sub.id, direction, calling, called, calling.slice(1), called.slice(1),
        answerMs === null ? null : new Date(answerMs).toISOString(), new Date(endMs).toISOString(), seconds, answered,
        answered ? 'answered' : (DISPOSITIONS[Math.floor(rng.next() * DISPOSITIONS.length)] as string), trunk, trunk === null ? null : trunk === 'gw-1' ? 'Level3' : 'Lumen',
        'rated', ratedAt, callee?.resellerId ?? null, callee?.id ?? null,
      ]));
      // Per-minute rates in 10^-4 units; billed per 60 s at retail, per second at wholesale.
      const wsRate = BigInt(direction === 'onnet' ? 0 : direction === 'inbound' ? 30 : 40 + (dest % 200));
      const rtRate = BigInt(direction === 'onnet' ? 0 : direction === 'inbound' ? 100 : 150 + 2 * (dest % 200));
      const minutes = BigInt(Math.ceil(seconds / 60));
      const covered = direction === 'outbound' && answered && si % 5 === 0 ? (rng.next() < 0.8 ? seconds : Math.floor(seconds * rng.next())) : 0;
      const rtMinutes = BigInt(Math.ceil((seconds - covered) / 60));
      const wsUsage = (wsRate * BigInt(seconds) * 100n) / 60n; // 10^-6 units, truncated
      const rtUsage = rtRate * rtMinutes * 100n; // 10^-6 units
      const rtTax = (rtUsage * 8875n) / 100000n;
      const euro = g.euro.has(sub.resellerId);
      const prefix = direction === 'inbound' || direction === 'onnet' ? '1212' : country;
      const description = direction === 'inbound' ? 'Inbound' : direction === 'onnet' ? 'On-net' : `Destination ${dest}`;
      const retailCurrency = euro ? 'EUR' : 'USD';
      charges.push(copyLine([
        id, startIso, 'wholesale', sub.resellerId, sub.id, 1, 1, direction, prefix, description, '2020-01-01T00:00:00Z', seconds, seconds, '[]', 'USD',
        '0', units(wsUsage, 6), units(wsUsage, 6), '0', units(wsUsage, 6), euro ? 'EUR' : 'USD', euro ? '0.92' : '1', euro ? units(wsUsage * 92n, 8) : units(wsUsage, 6), ratedAt, 0,
      ]));
      charges.push(copyLine([
        id, startIso, 'retail', sub.resellerId, sub.id, 2, 1, direction, prefix, description, '2020-01-01T00:00:00Z', seconds, Number(minutes) * 60, '[]', retailCurrency,
        '0', units(rtUsage, 6), units(rtUsage, 6), units(rtTax, 6), units(rtUsage + rtTax, 6), retailCurrency, '1', units(rtUsage + rtTax, 6), ratedAt, covered,
      ]));
      stored.push({ id, startMs: start });
    }
    let copyMs = 0;
    let usageMs = 0;
    await db.transaction(async (tx) => {
      const c0 = performance.now();
      await copyRows(tx, 'call_legs', LEG_COLS, legs);
      await copyRows(tx, 'charges', CHARGE_COLS, charges);
      const c1 = performance.now();
      await addUsage(tx, stored);
      copyMs += c1 - c0;
      usageMs += performance.now() - c1;
    });
    // As the server's usage folder does (a lane that finds the other folding leaves its deltas to it).
    const f0 = performance.now();
    while ((await foldUsage(db)) >= 50_000);
    await vacuumUsageDeltas(db);
    usageMs += performance.now() - f0;
    done += n;
    g.stored += n;
    opts.progress.done += n;
    await analyzeAsItGrows(db, g, opts.log);
    const s = (performance.now() - opts.started) / 1000;
    opts.log(`  stored ${g.stored.toLocaleString('en')} legs (${Math.round(opts.progress.done / s).toLocaleString('en')} legs/s; this chunk: COPY ${copyMs.toFixed(0)} ms, usage totals ${usageMs.toFixed(0)} ms)`);
  }
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

export interface Timing {
  name: string;
  p50: number;
  p95: number;
  max: number;
  rounds: number;
}

/** Runs `run` `warm` times untimed (plans and buffers warm), then `rounds` times timed: p50, p95, max in ms. */
export async function time(name: string, rounds: number, run: (i: number) => Promise<unknown>, warm = 1): Promise<Timing> {
  for (let i = 0; i < warm; i++) await run(-1 - i);
  const ms: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    await run(i);
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return { name, p50: percentile(ms, 50), p95: percentile(ms, 95), max: ms[ms.length - 1] as number, rounds };
}

/** Times each dashboard's usage queries as the page runs them (series and top lists), over random resellers and subscribers. */
export async function timeDashboards(db: Db, parties: BenchParties, rounds: number, log: (msg: string) => void): Promise<Timing[]> {
  const rng = new Rng(7);
  const pick = <T>(list: T[]) => list[Math.floor(rng.next() * list.length)] as T;
  const wholesale: Scope = { kind: 'wholesale' };
  const timings: Timing[] = [];
  log('timing the dashboards (last 30 days, America/New_York)');
  timings.push(await time('wholesale: per day, top resellers, top destinations', rounds, async () => {
    const u = await usageDashboard(db, wholesale, {}, ZONE);
    await Promise.all([topList(db, wholesale, 'reseller', u.period), topList(db, wholesale, 'destination', u.period)]);
  }));
  timings.push(await time('reseller: per day, top subscribers, top destinations', rounds, async () => {
    const scope: Scope = { kind: 'reseller', resellerId: pick(parties.resellerIds) };
    const u = await usageDashboard(db, scope, {}, ZONE);
    await Promise.all([topList(db, scope, 'subscriber', u.period), topList(db, scope, 'destination', u.period)]);
  }));
  timings.push(await time('subscriber: per day', rounds, async () => {
    const s = pick(parties.subscribers);
    await usageDashboard(db, { kind: 'subscriber', resellerId: s.resellerId, subscriberId: s.id }, {}, ZONE);
  }));
  timings.push(await time('wholesale: a 90-day period', Math.max(5, Math.floor(rounds / 4)), async () => {
    const u = await usageDashboard(db, wholesale, { from: new Date(Date.now() - 89 * DAY).toISOString().slice(0, 10), to: new Date().toISOString().slice(0, 10) }, ZONE);
    await Promise.all([topList(db, wholesale, 'reseller', u.period), topList(db, wholesale, 'destination', u.period)]);
  }));
  return timings;
}

/** Stores the legs, then times each dashboard's usage queries as the page runs them (series and top lists). */
export async function benchDashboards(db: Db, o: DashboardBenchOptions): Promise<DashboardBenchResult> {
  const g = await createGenerator(db, o);
  o.log(`storing ${o.legs.toLocaleString('en')} legs by COPY over ${o.days} days, ${o.chunk.toLocaleString('en')} a transaction`);
  const t0 = performance.now();
  await storeLegs(db, g, o.legs, { chunk: o.chunk, log: o.log, lanes: o.lanes });
  const loadSeconds = (performance.now() - t0) / 1000;
  await db.raw('ANALYZE usage_totals');
  const count = (await db.raw('SELECT count(*)::int AS n FROM usage_totals')) as { rows: Array<{ n: number }> };
  const timings = await timeDashboards(db, g.parties, o.rounds, o.log);
  return { legs: o.legs, subscribers: o.subscribers, resellers: o.resellers, days: o.days, loadSeconds, usageTotalsRows: count.rows[0]?.n ?? 0, timings };
}

export function printDashboards(r: DashboardBenchResult, log: (msg: string) => void): void {
  log(`(d) dashboards at ${r.legs.toLocaleString('en')} legs (${r.subscribers.toLocaleString('en')} subscribers, ${r.resellers} resellers, ${r.days} days): stored in ${r.loadSeconds.toFixed(1)} s; usage_totals ${r.usageTotalsRows.toLocaleString('en')} rows`);
  for (const t of r.timings) log(`  ${t.name.padEnd(55)} p50 ${t.p50.toFixed(1).padStart(7)} ms   p95 ${t.p95.toFixed(1).padStart(7)} ms   max ${t.max.toFixed(1).padStart(7)} ms   (${t.rounds} runs; target p95 <= 200 ms at 10M legs)`);
}

/** Options from the command line; `prefix` 'dash-' when run as part (d) of bench/run.ts (--dash-legs=N, ...). */
export function dashboardOptions(a: Map<string, string>, log: (msg: string) => void, prefix = ''): DashboardBenchOptions {
  const num = (k: string, d: number) => (a.has(prefix + k) ? Number(a.get(prefix + k)) : d);
  return {
    legs: num('legs', 1_000_000), subscribers: num('subscribers', 100_000), resellers: num('resellers', 100), destinations: num('destinations', 300),
    days: num('days', 90), rounds: num('rounds', 40), chunk: num('chunk', 50_000), lanes: num('lanes', 1), log,
  };
}

/** Run alone: a database of its own beside BENCH_DATABASE_URL's, dropped at the end. */
async function main() {
  const a = benchArgs();
  await withScratchDatabase('dash', { log: benchLog }, async (db) => printDashboards(await benchDashboards(db, dashboardOptions(a, benchLog)), benchLog));
}

if (require.main === module) runMain(main);
