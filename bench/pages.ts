/**
 * The subscriber's pages at scale (issue 11, "Speed"): legs stored by COPY across 100,000
 * subscribers (bench/dashboards.ts's generator), then, at each size of one growing ledger, the
 * subscriber calls page and the subscriber account page timed server-side by calling the services
 * their routes call, p50 and p95 over many random subscribers, and the dashboards beside.
 *
 *   npx tsx bench/pages.ts --steps=1000000,10000000      (alone: creates and drops its database)
 *   npm run bench -- --only=e --pages-steps=1000000,10000000   (as part (e) of bench/run.ts; options with pages-)
 *
 * Options: --steps=N,M,... (ledger sizes to time at, default 1,000,000 and 10,000,000),
 * --subscribers=N (100,000), --resellers=N (100), --destinations=N (300), --days=N (90),
 * --rounds=N (timed page views per page and size, each a random subscriber, 200),
 * --dash-rounds=N (timed runs of each dashboard, 40), --chunk=N (legs per COPY transaction, 50,000),
 * --lanes=N (connections storing at once, each its own part of the window, 2),
 * --stop-at=HH:MM (UTC; stop growing then and time the ledger as it is: the figures name the size
 * reached), --no-doc (do not touch docs/PERFORMANCE.md), --keep (alone only: keep the database,
 * to EXPLAIN the pages' queries at the size reached), --time-only=DATABASE (alone only: time a kept
 * ledger again as it is, storing nothing).
 * Targets: p95 at most 50 ms per page at 10 million legs and within 20% of the 1 million figure;
 * dashboards p95 at most 200 ms at 10 million. Not asserted anywhere.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Db } from '../src/db/knex';
import type { Scope } from '../src/domain/tenancy/roles';
import { cycleAt, previousCycle } from '../src/domain/billing/cycles';
import { accountStatus } from '../src/modules/billing/billing.service';
import { callListQuery } from '../src/modules/calls/calls.schemas';
import { callsSection, openSubscriber } from '../src/modules/selfcare/selfcare.service';
import { createGenerator, storeLegs, time, timeDashboards, type BenchSubscriber, type Timing } from './dashboards';
import { describeMachine, machineLine, type Machine } from './machine';
import { benchArgs, benchLog, runMain, withKeptDatabase, withScratchDatabase } from './cli';
import { Rng } from './rng';

export interface PagesBenchOptions {
  steps: number[];
  subscribers: number;
  resellers: number;
  destinations: number;
  days: number;
  rounds: number;
  dashRounds: number;
  chunk: number;
  /** Connections storing legs at once, each its own part of the window. */
  lanes: number;
  stopAtMs?: number;
  log: (msg: string) => void;
}

export interface PagesStep {
  /** Legs in the ledger when timed (less than asked if --stop-at cut the growth short). */
  legs: number;
  asked: number;
  /** Seconds to generate and store this step's legs (COPY, usage totals per chunk), and to ANALYZE. */
  loadSeconds: number;
  analyzeSeconds: number;
  /** Legs and charges on disk with their indexes, in bytes. */
  bytes: number;
  load1: number;
  pages: Timing[];
  dashboards: Timing[];
}

export interface PagesBenchResult {
  date: string;
  command: string;
  machine: Machine;
  subscribers: number;
  resellers: number;
  days: number;
  steps: PagesStep[];
}

const DAY = 86_400_000;
export const PAGE_TARGETS = { p95Ms: 50, growth: 1.2, dashboardP95Ms: 200 };

/** The date `ms` falls on in `zone` (YYYY-MM-DD). */
const localDate = (ms: number, zone: string) => new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(ms));

/**
 * The two pages as their routes build them, for one subscriber seen by itself (/me): the calls
 * page (openSubscriber, then callsSection: the first page and the totals of the filter), the
 * account page (accountStatus: the current cycle with its usage, recurring lines and the past
 * cycles' totals; or a past cycle's view).
 */
async function timePages(db: Db, subs: BenchSubscriber[], rounds: number, log: (msg: string) => void): Promise<Timing[]> {
  const rng = new Rng(11);
  const pick = () => subs[Math.floor(rng.next() * subs.length)] as BenchSubscriber;
  const me = (s: BenchSubscriber): Scope => ({ kind: 'subscriber', resellerId: s.resellerId, subscriberId: s.id });
  const calls = async (query: Record<string, string>) => {
    const s = pick();
    const sv = await openSubscriber(db, me(s), s.id);
    const data = await callsSection(db, sv, callListQuery.parse(query), s.timeZone);
    if (data.totals === null) throw new Error(`calls page refused its filter: ${JSON.stringify(data.errors)}`);
  };
  const out: Timing[] = [];
  log(`timing the subscriber pages, ${rounds} views each, a random subscriber a view`);
  out.push(await time('calls page: default (last 7 days), first page + totals', rounds, () => calls({}), 5));
  out.push(await time('calls page: last 90 days, first page + totals', rounds, () => {
    const now = Date.now();
    return calls({ from: localDate(now - 89 * DAY, 'UTC'), to: localDate(now, 'UTC') });
  }, 5));
  out.push(await time('account page: current cycle + past cycles', rounds, async () => {
    const s = pick();
    await accountStatus(db, me(s), { kind: 'subscriber', subscriberId: s.id });
  }, 5));
  out.push(await time('account page: the previous cycle', rounds, async () => {
    const s = pick();
    const rule = { day: s.cycleDay, timeZone: s.timeZone };
    await accountStatus(db, me(s), { kind: 'subscriber', subscriberId: s.id }, { cycleDate: previousCycle(cycleAt(Date.now(), rule), rule).startDate });
  }, 5));
  return out;
}

async function relationBytes(db: Db): Promise<number> {
  const r = (await db.raw(
    `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint AS b FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent IN ('call_legs'::regclass, 'charges'::regclass)`,
  )) as { rows: Array<{ b: string }> };
  return Number(r.rows[0]?.b ?? 0);
}

/** Grows one ledger through the steps, timing the pages and the dashboards at each. */
export async function benchPages(db: Db, o: PagesBenchOptions, meta: { date: string; command: string }): Promise<PagesBenchResult> {
  const machine = await describeMachine(db);
  const g = await createGenerator(db, o);
  const result: PagesBenchResult = { ...meta, machine, subscribers: o.subscribers, resellers: o.resellers, days: o.days, steps: [] };
  for (const asked of [...o.steps].sort((a, b) => a - b)) {
    const more = asked - g.stored;
    const t0 = performance.now();
    if (more > 0) {
      o.log(`growing the ledger from ${g.stored.toLocaleString('en')} to ${asked.toLocaleString('en')} legs by COPY over ${o.days} days, ${o.chunk.toLocaleString('en')} a transaction`);
      await storeLegs(db, g, more, { chunk: o.chunk, log: o.log, stopAtMs: o.stopAtMs, lanes: o.lanes });
    }
    const loadSeconds = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    // As autovacuum would after a load: the planner sees the ledger's new size.
    await db.raw('ANALYZE call_legs');
    await db.raw('ANALYZE charges');
    await db.raw('ANALYZE usage_totals');
    const analyzeSeconds = (performance.now() - t1) / 1000;
    const load1 = os.loadavg()[0] as number;
    const pages = await timePages(db, g.parties.subscribers, o.rounds, o.log);
    const dashboards = await timeDashboards(db, g.parties, o.dashRounds, o.log);
    const step: PagesStep = { legs: g.stored, asked, loadSeconds, analyzeSeconds, bytes: await relationBytes(db), load1, pages, dashboards };
    result.steps.push(step);
    printStep(step, o.log);
    if (g.stored < asked) break; // time ran out: no larger step
  }
  return result;
}

const n0 = (x: number) => Math.round(x).toLocaleString('en-US');
const f1 = (x: number) => x.toFixed(1);

function printStep(s: PagesStep, log: (msg: string) => void): void {
  log(`(e) at ${n0(s.legs)} legs (${(s.bytes / 2 ** 30).toFixed(1)} GiB of legs and charges; grown in ${f1(s.loadSeconds)} s, analyzed in ${f1(s.analyzeSeconds)} s; load ${s.load1.toFixed(2)}):`);
  for (const t of [...s.pages, ...s.dashboards]) log(`  ${t.name.padEnd(58)} p50 ${f1(t.p50).padStart(7)} ms   p95 ${f1(t.p95).padStart(7)} ms   max ${f1(t.max).padStart(7)} ms   (${t.rounds} runs)`);
}

const legsLabel = (n: number) => (n >= 1_000_000 && n % 100_000 === 0 ? `${n / 1_000_000}M` : n0(n));

/** Whether the pages' targets hold between the first and the last step (the targets name 1M and 10M). */
function verdict(first: Timing, last: Timing, lastLegs: number): string {
  const growth = last.p95 / first.p95;
  const at10 = lastLegs >= 10_000_000;
  const p95 = last.p95 <= PAGE_TARGETS.p95Ms ? 'met' : 'missed';
  const g = growth <= PAGE_TARGETS.growth ? 'met' : 'missed';
  return `${growth.toFixed(2)}x; p95 ≤ ${PAGE_TARGETS.p95Ms} ms ${p95}, growth ≤ ${PAGE_TARGETS.growth}x ${g}${at10 ? '' : ` (at ${legsLabel(lastLegs)}, not 10M)`}`;
}

/** The results as a markdown section: what ran, where, and one column per ledger size. */
export function pagesMarkdown(r: PagesBenchResult): string {
  const lines: string[] = [];
  const first = r.steps[0];
  const last = r.steps[r.steps.length - 1];
  lines.push(`### Pages at scale, run of ${r.date}`, '');
  lines.push(`- Machine: ${machineLine(r.machine)}`);
  lines.push(`- Command: \`${r.command}\``);
  lines.push(`- Data: ${r.resellers} resellers (5 zones, every tenth billed in EUR), ${n0(r.subscribers)} subscribers a year old, legs over the last ${r.days} days by COPY (bench/dashboards.ts \`storeLegs\`)`);
  for (const s of r.steps) {
    lines.push(`- At ${n0(s.legs)} legs${s.legs < s.asked ? ` (asked ${n0(s.asked)}; growth stopped by --stop-at)` : ''}: ${(s.bytes / 2 ** 30).toFixed(1)} GiB of legs and charges with indexes; this step grown in ${f1(s.loadSeconds)} s; load average ${s.load1.toFixed(2)} when timed`);
  }
  lines.push('');
  const head = r.steps.map((s) => `${legsLabel(s.legs)} legs p50 / p95`);
  lines.push(`| Page (server-side, services the route calls) | ${head.join(' | ')} | last / first p95 and targets |`);
  lines.push(`|---|${r.steps.map(() => '---|').join('')}---|`);
  const row = (i: number, kind: 'pages' | 'dashboards') => {
    const ts = r.steps.map((s) => s[kind][i] as Timing);
    const cells = ts.map((t) => `${f1(t.p50)} / **${f1(t.p95)} ms**`);
    let target = '';
    if (first && last && r.steps.length > 1 && kind === 'pages') target = verdict(ts[0] as Timing, ts[ts.length - 1] as Timing, last.legs);
    if (last && kind === 'dashboards') target = `p95 ≤ ${PAGE_TARGETS.dashboardP95Ms} ms ${(ts[ts.length - 1] as Timing).p95 <= PAGE_TARGETS.dashboardP95Ms ? 'met' : 'missed'}${last.legs >= 10_000_000 ? '' : ` (at ${legsLabel(last.legs)})`}`;
    lines.push(`| ${kind === 'dashboards' ? 'dashboard: ' : ''}${ts[0]?.name} (${ts[0]?.rounds} runs) | ${cells.join(' | ')} | ${target} |`);
  };
  if (first) {
    first.pages.forEach((_, i) => row(i, 'pages'));
    first.dashboards.forEach((_, i) => row(i, 'dashboards'));
  }
  lines.push('');
  return lines.join('\n');
}

export const PAGES_START = '<!-- bench:pages:start (written by npm run bench -- --only=e) -->';
export const PAGES_END = '<!-- bench:pages:end -->';

/** Replaces the marked "pages at scale" section of docs/PERFORMANCE.md (added at the end if missing); the other sections stay. */
export function writePagesDoc(file: string, r: PagesBenchResult): void {
  const section = `${PAGES_START}\n${pagesMarkdown(r)}${PAGES_END}`;
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Performance\n';
  const a = text.indexOf(PAGES_START);
  const b = text.indexOf(PAGES_END);
  if (a >= 0 && b > a) text = text.slice(0, a) + section + text.slice(b + PAGES_END.length);
  else text = `${text.trimEnd()}\n\n## Subscriber pages at scale (latest run)\n\n${section}\n`;
  fs.writeFileSync(file, text);
}

/** Options from the command line; `prefix` 'pages-' when run as part (e) of bench/run.ts. */
export function pagesOptions(a: Map<string, string>, log: (msg: string) => void, prefix = ''): PagesBenchOptions {
  const num = (k: string, d: number) => (a.has(prefix + k) ? Number(a.get(prefix + k)) : d);
  const steps = (a.get(`${prefix}steps`) ?? '1000000,10000000').split(',').map(Number);
  if (steps.some((n) => !Number.isInteger(n) || n <= 0)) throw new Error(`--${prefix}steps: positive whole numbers, comma-separated`);
  let stopAtMs: number | undefined;
  const stop = a.get(`${prefix}stop-at`);
  if (stop) {
    const m = /^(\d{1,2}):(\d{2})$/.exec(stop);
    if (!m) throw new Error(`--${prefix}stop-at: HH:MM (UTC)`);
    const d = new Date();
    d.setUTCHours(Number(m[1]), Number(m[2]), 0, 0);
    stopAtMs = d.getTime() < Date.now() ? d.getTime() + DAY : d.getTime();
  }
  return {
    steps, subscribers: num('subscribers', 100_000), resellers: num('resellers', 100), destinations: num('destinations', 300), days: num('days', 90),
    rounds: num('rounds', 200), dashRounds: num('dash-rounds', 40), chunk: num('chunk', 50_000), lanes: num('lanes', 2), stopAtMs, log,
  };
}

/**
 * --time-only=DATABASE: times a ledger kept by an earlier run (--keep) as it is, with its parties
 * read back from the tables; nothing is stored. For timing again on a quieter machine than the one
 * the ledger was grown on.
 */
async function timeKept(name: string, o: PagesBenchOptions): Promise<void> {
  await withKeptDatabase(name, async (db) => {
    const { rows } = (await db.raw(
      `SELECT s.id, s.reseller_id, r.time_zone, coalesce(s.billing_cycle_day, r.billing_cycle_day) AS cycle_day
         FROM subscribers s JOIN resellers r ON r.id = s.reseller_id WHERE r.code LIKE 'dash-%' ORDER BY s.id`,
    )) as { rows: Array<{ id: string; reseller_id: string; time_zone: string; cycle_day: number }> };
    const subscribers = rows.map((r) => ({ id: Number(r.id), resellerId: Number(r.reseller_id), timeZone: r.time_zone, cycleDay: Number(r.cycle_day) }));
    const parties = { resellerIds: [...new Set(subscribers.map((s) => s.resellerId))].sort((x, y) => x - y), subscribers };
    const legs = Number(((await db.raw('SELECT count(*)::bigint AS n FROM call_legs')) as { rows: Array<{ n: string }> }).rows[0]?.n);
    const load1 = os.loadavg()[0] as number;
    const pages = await timePages(db, subscribers, o.rounds, o.log);
    const dashboards = await timeDashboards(db, parties, o.dashRounds, o.log);
    printStep({ legs, asked: legs, loadSeconds: 0, analyzeSeconds: 0, bytes: await relationBytes(db), load1, pages, dashboards }, o.log);
  });
}

/** Run alone: a database of its own beside BENCH_DATABASE_URL's, dropped at the end (kept with --keep, for EXPLAIN ANALYZE). */
async function main() {
  const a = benchArgs();
  const options = pagesOptions(a, benchLog);
  const kept = a.get('time-only');
  if (kept) return timeKept(kept, options);
  await withScratchDatabase('pages', { keep: a.has('keep'), log: benchLog }, async (db) => {
    const r = await benchPages(db, options, { date: `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`, command: `npx tsx bench/pages.ts ${process.argv.slice(2).join(' ')}`.trim() });
    process.stdout.write(`\n${pagesMarkdown(r)}\n`);
    if (!a.has('no-doc')) {
      const doc = path.resolve(__dirname, '../docs/PERFORMANCE.md');
      writePagesDoc(doc, r);
      benchLog(`results written to ${path.relative(process.cwd(), doc)}`);
    }
  });
}

if (require.main === module) runMain(main);
