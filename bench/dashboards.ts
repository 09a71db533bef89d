/**
 * Dashboards at scale: N legs stored by COPY across 100,000 subscribers (not through the intake),
 * the usage totals kept by the ledger's own addUsage per chunk (as its INSERT and COPY paths do),
 * then the dashboards' queries timed server-side (the services the pages call), p50 and p95.
 *
 *   npx tsx bench/dashboards.ts --legs=10000000          (alone: creates and drops its database)
 *   npm run bench -- --only=d --dash-legs=10000000        (as part (d) of bench/run.ts; every option with dash-)
 *
 * Options: --legs=N (default 1,000,000), --subscribers=N (100,000), --resellers=N (100),
 * --destinations=N (300), --days=N (legs spread over the last N days, 90), --rounds=N (timed runs of
 * each query, 40), --chunk=N (legs per COPY transaction, 50,000).
 * Target (issue 11): p95 at most 200 ms per dashboard at 10 million legs. Not asserted anywhere.
 */
import crypto from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { Db } from '../src/db/knex';
import type { Scope } from '../src/domain/tenancy/roles';
import { loadConfig } from '../src/config';
import { openDatabase } from '../src/server';
import { copyLine, copyRows } from '../src/modules/ledger/copy';
import { addUsage } from '../src/modules/ledger/ledger.repository';
import { ensurePartitions } from '../src/modules/ledger/partitions';
import { topList, usageDashboard } from '../src/modules/portal/dashboards.service';
import { Rng } from './rng';

export interface DashboardBenchOptions {
  legs: number;
  subscribers: number;
  resellers: number;
  destinations: number;
  days: number;
  rounds: number;
  chunk: number;
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
  timings: Array<{ name: string; p50: number; p95: number; max: number; rounds: number }>;
}

const DAY = 86_400_000;
const ZONE = 'America/New_York';

/** Resellers (every tenth in EUR) and subscribers, straight into the tables in a few statements. */
async function seedParties(db: Db, o: DashboardBenchOptions): Promise<{ resellerIds: number[]; subscribers: Array<{ id: number; resellerId: number }> }> {
  const resellers = (await db.raw(
    `INSERT INTO resellers (name, code, currency, contact_email, time_zone)
     SELECT 'Dash reseller ' || i, 'dash-' || i, CASE WHEN i % 10 = 9 THEN 'EUR' ELSE 'USD' END, 'ops' || i || '@dash.example', ?
       FROM generate_series(0, ? - 1) AS i RETURNING id`,
    [ZONE, o.resellers],
  )) as { rows: Array<{ id: string }> };
  const resellerIds = resellers.rows.map((r) => Number(r.id));
  const subs = (await db.raw(
    `INSERT INTO subscribers (reseller_id, account_number, name, country, region, city)
     SELECT (?::bigint[])[1 + i % ?], 'D-' || i, 'Dash subscriber ' || i, 'US', 'NY', 'New York'
       FROM generate_series(0, ? - 1) AS i RETURNING id, reseller_id`,
    [resellerIds, resellerIds.length, o.subscribers],
  )) as { rows: Array<{ id: string; reseller_id: string }> };
  return { resellerIds, subscribers: subs.rows.map((r) => ({ id: Number(r.id), resellerId: Number(r.reseller_id) })) };
}

const LEG_COLS = ['id', 'start_at', 'platform_id', 'cdr_id', 'leg_key', 'call_id', 'reseller_id', 'subscriber_id', 'direction', 'calling_number', 'called_number', 'answer_at', 'end_at', 'billable_seconds', 'answered', 'disposition', 'status', 'rated_at'];
const CHARGE_COLS = ['leg_id', 'start_at', 'kind', 'reseller_id', 'subscriber_id', 'rate_plan_id', 'plan_revision', 'direction', 'prefix', 'description', 'rate_effective_from', 'billable_seconds', 'charged_seconds', 'pieces', 'currency', 'connect_fee', 'usage', 'amount', 'total', 'billed_currency', 'exchange_rate', 'billed_total'];

/** Generates and stores the legs with their two charges by COPY, chunk by chunk; each chunk's totals added in its transaction. */
async function loadLegs(db: Db, o: DashboardBenchOptions, parties: Awaited<ReturnType<typeof seedParties>>, platformId: number): Promise<void> {
  const rng = new Rng(20261209);
  const now = Date.now();
  const from = now - o.days * DAY;
  const months: number[] = [];
  for (let t = from; t <= now + 31 * DAY; t += 28 * DAY) months.push(t);
  await ensurePartitions(db, months);
  const euro = new Set(parties.resellerIds.filter((_, i) => i % 10 === 9));
  const { rows } = (await db.raw(`SELECT setval('call_legs_id_seq', nextval('call_legs_id_seq') + ?) AS last`, [o.legs])) as { rows: Array<{ last: string }> };
  let nextId = Number(rows[0]?.last) - o.legs + 1;
  const started = performance.now();
  for (let done = 0; done < o.legs; ) {
    const n = Math.min(o.chunk, o.legs - done);
    const legs: string[] = [];
    const charges: string[] = [];
    const stored: Array<{ id: number; startMs: number }> = [];
    for (let i = 0; i < n; i++) {
      const id = nextId++;
      const sub = parties.subscribers[Math.floor(rng.next() * parties.subscribers.length)] as { id: number; resellerId: number };
      const start = from + Math.floor(rng.next() * (now - from));
      const answered = rng.next() < 0.8;
      const seconds = answered ? 1 + Math.floor(rng.next() * 600) : 0;
      const dest = Math.floor(rng.next() * o.destinations);
      const startIso = new Date(start).toISOString();
      const endIso = new Date(start + seconds * 1000).toISOString();
      legs.push(copyLine([id, startIso, platformId, 0, `d${id}`, `c${id}`, sub.resellerId, sub.id, 'outbound', '+12125550100', `+44${1000 + dest}5550100`, answered ? startIso : null, endIso, seconds, answered, answered ? 'answered' : 'no_answer', 'rated', startIso]));
      const ws = (seconds * 0.0002 + 0.001).toFixed(4);
      const rt = (seconds * 0.0004 + 0.01).toFixed(2);
      const rc = euro.has(sub.resellerId) ? 'EUR' : 'USD';
      for (const [kind, amount, currency] of [['wholesale', ws, 'USD'], ['retail', rt, rc]] as const) {
        charges.push(copyLine([id, startIso, kind, sub.resellerId, sub.id, 1, 1, 'outbound', `44${1000 + dest}`, `Destination ${dest}`, '2020-01-01T00:00:00Z', seconds, seconds, '[]', currency, '0', amount, amount, amount, currency, '1', amount]));
      }
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
    done += n;
    const s = (performance.now() - started) / 1000;
    o.log(`  stored ${done.toLocaleString('en')} legs (${Math.round(done / s).toLocaleString('en')} legs/s; this chunk: COPY ${copyMs.toFixed(0)} ms, usage totals ${usageMs.toFixed(0)} ms)`);
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

async function time(name: string, rounds: number, run: (i: number) => Promise<unknown>) {
  await run(-1); // a first run warms the caches of the plan and the buffers
  const ms: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    await run(i);
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return { name, p50: percentile(ms, 50), p95: percentile(ms, 95), max: ms[ms.length - 1] as number, rounds };
}

/** Stores the legs, then times each dashboard's usage queries as the page runs them (series and top lists). */
export async function benchDashboards(db: Db, o: DashboardBenchOptions): Promise<DashboardBenchResult> {
  const [platform] = await db('platforms').insert({ name: `dash-${crypto.randomBytes(3).toString('hex')}`, format: 'generic-json', credential_hash: '0'.repeat(64) }).returning('id');
  o.log(`seeding ${o.resellers} resellers and ${o.subscribers.toLocaleString('en')} subscribers`);
  const parties = await seedParties(db, o);
  o.log(`storing ${o.legs.toLocaleString('en')} legs by COPY over ${o.days} days, ${o.chunk.toLocaleString('en')} a transaction`);
  const t0 = performance.now();
  await loadLegs(db, o, parties, Number((platform as { id: number }).id));
  const loadSeconds = (performance.now() - t0) / 1000;
  await db.raw('ANALYZE usage_totals');
  const count = (await db.raw('SELECT count(*)::int AS n FROM usage_totals')) as { rows: Array<{ n: number }> };
  const rng = new Rng(7);
  const pick = <T>(list: T[]) => list[Math.floor(rng.next() * list.length)] as T;
  const wholesale: Scope = { kind: 'wholesale' };
  const timings = [];
  o.log('timing the dashboards (last 30 days, America/New_York)');
  timings.push(await time('wholesale: per day, top resellers, top destinations', o.rounds, async () => {
    const u = await usageDashboard(db, wholesale, {}, ZONE);
    await Promise.all([topList(db, wholesale, 'reseller', u.period), topList(db, wholesale, 'destination', u.period)]);
  }));
  timings.push(await time('reseller: per day, top subscribers, top destinations', o.rounds, async () => {
    const scope: Scope = { kind: 'reseller', resellerId: pick(parties.resellerIds) };
    const u = await usageDashboard(db, scope, {}, ZONE);
    await Promise.all([topList(db, scope, 'subscriber', u.period), topList(db, scope, 'destination', u.period)]);
  }));
  timings.push(await time('subscriber: per day', o.rounds, async () => {
    const s = pick(parties.subscribers);
    await usageDashboard(db, { kind: 'subscriber', resellerId: s.resellerId, subscriberId: s.id }, {}, ZONE);
  }));
  timings.push(await time('wholesale: a 90-day period', Math.max(5, Math.floor(o.rounds / 4)), async () => {
    const u = await usageDashboard(db, wholesale, { from: new Date(Date.now() - 89 * DAY).toISOString().slice(0, 10), to: new Date().toISOString().slice(0, 10) }, ZONE);
    await Promise.all([topList(db, wholesale, 'reseller', u.period), topList(db, wholesale, 'destination', u.period)]);
  }));
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
    days: num('days', 90), rounds: num('rounds', 40), chunk: num('chunk', 50_000), log,
  };
}

/** Run alone: a database of its own beside BENCH_DATABASE_URL's, dropped at the end. */
async function main() {
  const a = new Map<string, string>();
  for (const raw of process.argv.slice(2)) {
    const m = /^--([\w-]+)(?:=(.*))?$/.exec(raw);
    if (!m) throw new Error(`unknown argument ${raw}`);
    a.set(m[1] as string, m[2] ?? 'true');
  }
  const log = (msg: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${msg}\n`);
  const base = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `bench_dash_${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}_${crypto.randomBytes(2).toString('hex')}`;
  const url = new URL(base);
  url.pathname = `/${name}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}" TEMPLATE template0`);
  log(`created database ${name}`);
  try {
    const config = loadConfig({ NODE_ENV: 'production', DATABASE_URL: url.toString(), LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: '0' });
    const { db } = await openDatabase(config);
    try {
      printDashboards(await benchDashboards(db, dashboardOptions(a, log)), log);
    } finally {
      await db.destroy();
    }
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
    log(`dropped database ${name}`);
  }
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}
