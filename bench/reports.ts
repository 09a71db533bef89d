/**
 * Reports at scale (issue 12): N legs stored by COPY as bench/dashboards.ts stores them (its
 * generator: 100,000 subscribers of 100 resellers, charges without taxes, no carriers), then the
 * reports' pages timed server-side as the routes build them (every table), p50 and p95, over the
 * last 30 local days of America/New_York (about a third of the legs of a 90-day spread).
 *
 *   npx tsx bench/reports.ts --legs=10000000 --days=30     (a month of 10 million legs)
 *
 * Options as bench/dashboards.ts (--legs, --subscribers, --resellers, --destinations, --days,
 * --rounds, --chunk, --lanes), and --time-only=DATABASE (time a ledger kept by bench/pages.ts --keep). Target (issue 12): a report over a month of 10 million legs under
 * 2 s. Not asserted anywhere.
 */
import { performance } from 'node:perf_hooks';
import type { Db } from '../src/db/knex';
import { resellerReport, wholesaleReport } from '../src/modules/reports/reports.service';
import { benchArgs, benchLog, runMain, withKeptDatabase, withScratchDatabase } from './cli';
import { createGenerator, dashboardOptions, storeLegs, time, type DashboardBenchOptions, type Timing } from './dashboards';
import { Rng } from './rng';

const ZONE = 'America/New_York';

export async function benchReports(db: Db, o: DashboardBenchOptions): Promise<{ loadSeconds: number; timings: Timing[] }> {
  const g = await createGenerator(db, o);
  o.log(`storing ${o.legs.toLocaleString('en')} legs by COPY over ${o.days} days`);
  const t0 = performance.now();
  await storeLegs(db, g, o.legs, { chunk: o.chunk, log: o.log, lanes: o.lanes });
  const loadSeconds = (performance.now() - t0) / 1000;
  await db.raw('ANALYZE');
  return { loadSeconds, timings: await timeReports(db, g.parties.resellerIds, o) };
}

/** Every table of both reports over the last 30 local days, timed as the routes build them. */
async function timeReports(db: Db, resellerIds: number[], o: DashboardBenchOptions): Promise<Timing[]> {
  const rng = new Rng(11);
  const pick = <T>(list: T[]) => list[Math.floor(rng.next() * list.length)] as T;
  const rounds = Math.max(3, Math.floor(o.rounds / 4));
  const timings: Timing[] = [];
  o.log('timing the reports (last 30 days, America/New_York)');
  timings.push(await time('wholesale report: every table', rounds, () => wholesaleReport(db, { kind: 'wholesale' }, {}, ZONE)));
  for (const only of ['days', 'resellers', 'destinations', 'carriers', 'unrated', 'taxes', 'recurring'] as const) {
    timings.push(await time(`  wholesale: ${only}`, rounds, () => wholesaleReport(db, { kind: 'wholesale' }, {}, ZONE, only)));
  }
  timings.push(await time('reseller report: every table', rounds, () => resellerReport(db, { kind: 'reseller', resellerId: pick(resellerIds) }, {}, ZONE)));
  return timings;
}

/**
 * --time-only=DATABASE: the reports timed on a ledger kept by an earlier bench (bench/pages.ts
 * --keep, whose legs span 90 days: the last 30 of them are the month timed), migrated first.
 */
async function timeKept(name: string, o: DashboardBenchOptions): Promise<void> {
  await withKeptDatabase(name, async (db) => {
    const legs = Number(((await db.raw(`SELECT count(*)::bigint AS n FROM call_legs WHERE start_at >= now() - interval '30 days'`)) as { rows: Array<{ n: string }> }).rows[0]?.n);
    const resellerIds = ((await db.raw(`SELECT id FROM resellers WHERE code LIKE 'dash-%' ORDER BY id`)) as { rows: Array<{ id: string }> }).rows.map((r) => Number(r.id));
    benchLog(`reports over the last 30 days of ${name}: ${legs.toLocaleString('en')} legs in those days`);
    for (const t of await timeReports(db, resellerIds, o)) benchLog(`  ${t.name.padEnd(40)} p50 ${t.p50.toFixed(1).padStart(8)} ms   p95 ${t.p95.toFixed(1).padStart(8)} ms   (${t.rounds} runs; target < 2000 ms for a month of 10M legs)`);
  });
}

async function main() {
  const a = benchArgs();
  const o = dashboardOptions(a, benchLog);
  const kept = a.get('time-only');
  if (kept) return timeKept(kept, o);
  await withScratchDatabase('reports', { log: benchLog }, async (db) => {
    const r = await benchReports(db, o);
    benchLog(`reports at ${o.legs.toLocaleString('en')} legs over ${o.days} days: stored in ${r.loadSeconds.toFixed(1)} s`);
    for (const t of r.timings) benchLog(`  ${t.name.padEnd(40)} p50 ${t.p50.toFixed(1).padStart(8)} ms   p95 ${t.p95.toFixed(1).padStart(8)} ms   (${t.rounds} runs; target < 2000 ms for a month of 10M legs)`);
  });
}

if (require.main === module) runMain(main);
