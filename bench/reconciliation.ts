/**
 * Carrier reconciliation at scale (issue 13's speed target): a carrier with its cost deck, N
 * outbound rated legs of one month through it (each with its wholesale, retail and carrier_cost
 * charges) and the carrier's N-odd records derived from them with a share of injected differences
 * (dropped, extra, billed twice, duration off within and beyond tolerance, cost off within and
 * beyond, wrong rate, clock shifted within and beyond, a retried call 2.5 s after the first whose
 * records need a second matching round); then the real service's run over the month
 * (runReconciliation, one transaction, step by step timed), beside a plain join of the same legs
 * and records (same called number, starts within the tolerance) in the same run, before and after.
 * The run's counts per class are checked against what was injected (a sanity check, printed).
 *
 *   npx tsx bench/reconciliation.ts --legs=100000               (alone: creates and drops its database)
 *   npm run bench -- --only=h --rc-legs=1000000                 (as part (h) of bench/run.ts; options with rc-)
 *
 * Options: --legs=N (default 1,000,000; the records are as many, less the dropped, plus the extra,
 * the twice-billed and the retries'), --chunk=N (legs a statement when seeding, 250,000), --keep
 * (leave the database, for EXPLAIN ANALYZE of the steps), --reuse=NAME (run again on a database kept
 * by an earlier run of as many legs, without seeding; its earlier runs are superseded). The data are made by INSERT ... SELECT
 * FROM generate_series on the server (every column derived from the leg's number: the same data
 * every run), which is faster than COPY from the client for data a formula makes. Target (issue
 * 13): the run under 60 s end to end at 1,000,000 against 1,000,000. Not asserted anywhere.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Db } from '../src/db/knex';
import { RECON_CLASSES, type ReconClass } from '../src/domain/reconciliation/reconcile';
import { ensurePartitions } from '../src/modules/ledger/partitions';
import { runReconciliation, type ReconStep } from '../src/modules/reconciliation/reconciliation.service';
import { RECON_WORK_MEM } from '../src/modules/reconciliation/reconciliation.repository';
import { benchArgs, benchLog, runMain, withKeptDatabase, withScratchDatabase } from './cli';
import { seedParties } from './dashboards';
import { describeMachine, machineLine, type Machine } from './machine';

export const RECONCILIATION_TARGET_SECONDS = 60;

const MONTH_FROM = Date.parse('2026-11-01T00:00:00Z');
const MONTH_TO = Date.parse('2026-12-01T00:00:00Z');
/** Tolerances of the bench's carrier: starts 5 s, durations 2 s, cost 0.01. */
const TOL = { start: 5, duration: 2, cost: '0.01' };

export interface ReconciliationBenchOptions {
  legs: number;
  chunk: number;
  keep: boolean;
  /** A database kept by an earlier run (--keep) to run on again, its data as they are (for trying changes to the SQL). */
  reuse?: string;
  log: (msg: string) => void;
}

export interface ReconciliationBenchResult {
  date: string;
  command: string;
  machine: Machine;
  load: { before: number; after: number };
  legs: number;
  records: number;
  seedSeconds: number;
  /** The database an earlier run kept (--reuse), when not seeded in this run. */
  reused?: string;
  run: { seconds: number; rounds: number; items: number; steps: Array<{ step: string; seconds: number; cpu: number | null }>; cpu: { postgres: number | null; node: number } };
  join: Array<{ seconds: number; rows: number }>;
  counts: Record<ReconClass, { got: number; injected: number }>;
  countsMatch: boolean;
  workMem: string;
}

/**
 * Injections by the leg's number i: bucket i % 1000. Counts per thousand legs: 20 dropped, 10
 * duration beyond, 10 within, 10 cost beyond, 10 within, 5 wrong rate, 10 clock within, 5 clock
 * beyond, 5 billed twice, 5 retried (a second leg 2.5 s later), 5 extra records (numbers we never
 * called). The rest: records exactly as the legs.
 */
const BUCKETS = {
  dropped: [0, 20], durationBeyond: [20, 30], durationWithin: [30, 40], costBeyond: [40, 50], costWithin: [50, 60], wrongRate: [60, 65],
  clockWithin: [65, 75], clockBeyond: [75, 80], twice: [80, 85], retry: [85, 90], extra: [90, 95],
} as const satisfies Record<string, readonly [number, number]>;
type Injection = keyof typeof BUCKETS;

function injectedCounts(n: number): Record<Injection, number> {
  const out = {} as Record<Injection, number>;
  for (const [k, [a, b]] of Object.entries(BUCKETS) as Array<[Injection, readonly [number, number]]>) {
    let c = 0;
    // i in 1..n with a <= i % 1000 < b.
    for (let r = a; r < b; r++) c += r === 0 ? Math.floor(n / 1000) : Math.floor((n - r) / 1000) + (r <= n ? 1 : 0);
    out[k] = c;
  }
  return out;
}

/** What each class should count, from the injections alone. */
function expectedClasses(n: number): { legs: number; records: number; classes: Record<ReconClass, number> } {
  const c = injectedCounts(n);
  const legs = n + c.retry;
  const records = n - c.dropped + c.twice + c.extra + c.retry;
  const classes: Record<ReconClass, number> = {
    matched_equal: n - c.dropped - c.durationBeyond - c.costBeyond - c.wrongRate - c.clockBeyond + c.retry,
    duration_mismatch: c.durationBeyond,
    rate_mismatch: c.wrongRate,
    cost_mismatch: c.costBeyond,
    not_in_our_records: c.clockBeyond + c.twice + c.extra,
    not_billed_by_carrier: c.dropped + c.clockBeyond,
  };
  return { legs, records, classes };
}

const inBucket = (k: Injection) => `(i % 1000 >= ${BUCKETS[k][0]} AND i % 1000 < ${BUCKETS[k][1]})`;

/**
 * The legs [a, b] (1-based numbers) as SQL: each number k (of n/4) is called four times in the
 * month, 7.5 days apart, so that only the injected retries and shifts make close candidates.
 * Columns: i, id, start_at (ms precision), called, seconds, dest, rate (per minute), cost.
 */
function legsSql(n: number, firstId: number, a: number, b: number): string {
  const k = Math.ceil(n / 4);
  return `
    SELECT i, ${firstId - 1} + i AS id, start_at, called, seconds, dest, rate, round(rate * seconds / 60, 6) AS cost
      FROM (
        SELECT i, to_timestamp((${MONTH_FROM} + ((i - 1) / ${k}) * 648000000::bigint + (((i - 1) % ${k}) * 2654435761::bigint) % 644400000 + (i * 37) % 1000) / 1000.0) AS start_at,
               '+' || (30 + ((i - 1) % ${k}) % 60) || lpad((((i - 1) % ${k}) % 300)::text, 3, '0') || lpad(((i - 1) % ${k})::text, 8, '0') AS called,
               CASE WHEN i % 10 < 7 THEN 1 + (i * 7907) % 180 ELSE 181 + (i * 7907) % 1020 END AS seconds,
               ((i - 1) % ${k}) % 300 AS dest,
               0.0040 + ((((i - 1) % ${k}) % 300) % 200) / 10000.0 AS rate
          FROM generate_series(${a}::bigint, ${b}::bigint) AS i
      ) g`;
}

async function seed(db: Db, o: ReconciliationBenchOptions): Promise<{ carrierId: number; carrierName: string; records: number; legs: number }> {
  const parties = await seedParties(db, { resellers: 1, subscribers: 1000 });
  const resellerId = parties.resellerIds[0] as number;
  const subscriberIds = parties.subscribers.map((s) => s.id);
  const [platform] = await db('platforms').insert({ name: 'rc-bench', format: 'generic-json', credential_hash: '0'.repeat(64) }).returning('id');
  const platformId = Number((platform as { id: number }).id);
  const [plan] = await db('rate_plans').insert({ reseller_id: null, name: 'Bench carrier cost deck', currency: 'USD', rounding_decimals: 6, rounding_method: 'half_up', time_zone: 'UTC' }).returning('id');
  const planId = Number((plan as { id: number }).id);
  const carrierName = 'Bench Carrier';
  const [carrier] = await db('carriers')
    .insert({ name: carrierName, currency: 'USD', cost_plan_id: planId, start_tolerance_seconds: TOL.start, duration_tolerance_seconds: TOL.duration, cost_tolerance: TOL.cost })
    .returning('id');
  const carrierId = Number((carrier as { id: number }).id);
  // Another carrier's records over the same calls (a tenth of them): the run must leave them out.
  const [other] = await db('carriers').insert({ name: 'Other Carrier', currency: 'USD' }).returning('id');
  const otherId = Number((other as { id: number }).id);
  await ensurePartitions(db, [MONTH_FROM, MONTH_TO - 1]);
  await ensurePartitions(db, [MONTH_FROM, MONTH_TO - 1], ['carrier_records']);
  const retries = injectedCounts(o.legs).retry;
  const { rows } = (await db.raw(`SELECT setval('call_legs_id_seq', nextval('call_legs_id_seq') + ?) AS last`, [o.legs * 2])) as { rows: Array<{ last: string }> };
  const firstId = Number(rows[0]?.last) - o.legs * 2 + 1;
  const ratedAt = new Date(MONTH_TO + 3600_000).toISOString();
  const t0 = performance.now();
  for (let a = 1; a <= o.legs; a += o.chunk) {
    const b = Math.min(o.legs, a + o.chunk - 1);
    // The chunk's legs, and the retried calls' second legs (id + n, 2.5 s later, same number and length).
    const legs = `
      SELECT i, id, start_at, called, seconds, dest, rate, cost FROM (${legsSql(o.legs, firstId, a, b)}) l
      UNION ALL
      SELECT i, id + ${o.legs}, start_at + interval '2.5 seconds', called, seconds, dest, rate, cost FROM (${legsSql(o.legs, firstId, a, b)}) l WHERE ${inBucket('retry')}`;
    await db.transaction(async (tx) => {
      await tx.raw(`CREATE TEMP TABLE bench_legs ON COMMIT DROP AS ${legs}`);
      await tx.raw(
        `INSERT INTO call_legs (id, start_at, platform_id, cdr_id, leg_key, call_id, reseller_id, subscriber_id, direction, calling_number, called_number, raw_calling, raw_called,
                                answer_at, end_at, billable_seconds, answered, disposition, trunk, carrier, status, rated_at)
         SELECT id, start_at, ?, 0, 'rc' || id, 'call-' || id || '@rc-bench', ?, (?::bigint[])[1 + (i * 7919) % ?], 'outbound',
                '+1212' || lpad((5000000 + i % 1000)::text, 7, '0'), called, 'raw-' || i, 'raw-' || i,
                start_at + interval '3 seconds', start_at + (3 + seconds) * interval '1 second', seconds, true, 'answered', 'gw-1',
                CASE WHEN i % 7 = 0 THEN 'BENCH CARRIER' ELSE ? END, 'rated', ?::timestamptz
           FROM bench_legs`,
        [platformId, resellerId, subscriberIds, subscriberIds.length, carrierName, ratedAt],
      );
      // Wholesale and retail as the intake writes them, and the carrier_cost priced with the deck (numeric, never a float).
      await tx.raw(
        `INSERT INTO charges (leg_id, start_at, kind, reseller_id, subscriber_id, rate_plan_id, plan_revision, direction, prefix, description, rate_effective_from,
                              billable_seconds, charged_seconds, pieces, currency, connect_fee, usage, amount, tax_amount, total, billed_currency, exchange_rate, billed_total, rated_at, covered_seconds)
         SELECT id, start_at, k.kind, ?, (?::bigint[])[1 + (i * 7919) % ?], ?, 1, 'outbound', substr(called, 2, 5), 'Destination ' || dest, '2020-01-01T00:00:00Z',
                seconds, seconds, CASE WHEN k.kind = 'carrier_cost' THEN jsonb_build_array(jsonb_build_object('rate', rate::text, 'amount', cost::text)) ELSE '[]' END,
                'USD', 0, m.amount, m.amount, 0, m.amount, 'USD', 1, m.amount, ?::timestamptz, 0
           FROM bench_legs
          CROSS JOIN (VALUES ('carrier_cost', 1.0), ('wholesale', 1.5), ('retail', 2.5)) AS k(kind, markup)
          CROSS JOIN LATERAL (SELECT round(cost * k.markup, 6) AS amount) m`,
        [resellerId, subscriberIds, subscriberIds.length, planId, ratedAt],
      );
      // The carrier's records: as our legs, with the injected differences.
      await tx.raw(
        `INSERT INTO carrier_records (carrier_id, record_key, carrier_record_id, calling, called, start_at, seconds, cost, currency, rate, file_id, line, raw)
         SELECT ?, 'id:' || rid, rid, '+1212' || lpad((5000000 + i % 1000)::text, 7, '0'), called, s, sec, c, 'USD', r, 1, i::int,
                rid || ',' || called || ',' || to_char(s AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || ',' || sec || ',' || c || ',USD,' || r
           FROM (
             SELECT i, 'B-' || id AS rid, called,
                    CASE WHEN ${inBucket('clockWithin')} THEN start_at + interval '3.5 seconds'
                         WHEN ${inBucket('clockBeyond')} THEN start_at + interval '90 seconds'
                         WHEN ${inBucket('retry')} AND id <= ${firstId - 1 + o.legs} THEN start_at + interval '4 seconds'
                         WHEN ${inBucket('retry')} THEN start_at - interval '1 second'
                         ELSE start_at END AS s,
                    seconds + CASE WHEN ${inBucket('durationBeyond')} THEN 10 WHEN ${inBucket('durationWithin')} THEN 1 ELSE 0 END AS sec,
                    CASE WHEN ${inBucket('durationBeyond')} THEN round(rate * (seconds + 10) / 60, 6)
                         WHEN ${inBucket('durationWithin')} THEN round(rate * (seconds + 1) / 60, 6)
                         WHEN ${inBucket('costBeyond')} THEN cost + 0.05
                         WHEN ${inBucket('costWithin')} THEN cost + 0.004
                         ELSE cost END AS c,
                    CASE WHEN ${inBucket('wrongRate')} THEN rate + 0.001 ELSE rate END AS r
               FROM bench_legs WHERE NOT ${inBucket('dropped')}
             UNION ALL
             SELECT i, 'B-' || id || '-2', called, start_at + interval '1 second', seconds, cost, rate FROM bench_legs WHERE ${inBucket('twice')}
             UNION ALL
             SELECT i, 'X-' || i, '+999' || lpad(i::text, 10, '0'), start_at, seconds, cost, rate FROM bench_legs WHERE ${inBucket('extra')} AND id <= ${firstId - 1 + o.legs}
           ) x (i, rid, called, s, sec, c, r)`,
        [carrierId],
      );
      await tx.raw(
        `INSERT INTO carrier_records (carrier_id, record_key, carrier_record_id, called, start_at, seconds, cost, currency, rate, file_id, line, raw)
         SELECT ?, 'id:O-' || id, 'O-' || id, called, start_at, seconds, cost, 'USD', rate, 2, i::int, '' FROM bench_legs WHERE i % 10 = 3`,
        [otherId],
      );
    });
    o.log(`  stored ${b.toLocaleString('en')} legs with their charges and records (${Math.round(b / ((performance.now() - t0) / 1000)).toLocaleString('en')} legs/s)`);
  }
  await db.raw('ANALYZE call_legs, charges, carrier_records');
  const [{ n }] = (await db.raw('SELECT count(*)::int AS n FROM carrier_records WHERE carrier_id = ?', [carrierId])).rows;
  return { carrierId, carrierName, records: Number(n), legs: o.legs + retries };
}

/**
 * CPU seconds (user + system) so far of the server's processes for this database (their command
 * line names it; parallel workers do not, and are not counted): the run's share of a busy machine,
 * which wall time does not give. Null when the server's processes cannot be read (another host).
 */
function serverCpuSeconds(name: string): Map<number, number> | null {
  const tick = 100;
  const out = new Map<number, number>();
  try {
    for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        if (!cmd.startsWith('postgres:') || !cmd.includes(` ${name} `)) continue;
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        out.set(Number(pid), (Number(f[11]) + Number(f[12])) / tick);
      } catch {
        // gone meanwhile
      }
    }
  } catch {
    return null;
  }
  return out.size ? out : null;
}

function cpuBetween(a: Map<number, number> | null, b: Map<number, number> | null): number | null {
  if (!a || !b) return null;
  let sum = 0;
  for (const [pid, v] of b) sum += v - (a.get(pid) ?? 0);
  return sum;
}

/** The carrier and counts of a kept database, seeded by an earlier run of as many legs. */
async function seeded_(db: Db, legs: number): Promise<{ carrierId: number; carrierName: string; records: number; legs: number }> {
  const [c] = (await db.raw(`SELECT id, name FROM carriers WHERE name = 'Bench Carrier'`)).rows;
  const [{ n }] = (await db.raw('SELECT count(*)::int AS n FROM carrier_records WHERE carrier_id = ?', [c.id])).rows;
  return { carrierId: Number(c.id), carrierName: c.name, records: Number(n), legs: legs + injectedCounts(legs).retry };
}

/** The plain join of the same legs and records: same number, starts at most the tolerance apart. */
async function plainJoin(db: Db, carrierId: number, carrierName: string): Promise<{ seconds: number; rows: number }> {
  const t0 = performance.now();
  const { rows } = await db.raw(
    `SELECT count(*)::int AS n
       FROM call_legs l
       JOIN carrier_records r ON r.called = l.called_number AND r.start_at BETWEEN l.start_at - make_interval(secs => ?) AND l.start_at + make_interval(secs => ?)
      WHERE l.start_at >= ? AND l.start_at < ? AND lower(l.carrier) = lower(?) AND l.direction IN ('outbound', 'forwarded') AND l.billable_seconds > 0
        AND r.carrier_id = ? AND r.start_at >= ? AND r.start_at < ?`,
    [TOL.start, TOL.start, new Date(MONTH_FROM), new Date(MONTH_TO), carrierName, carrierId, new Date(MONTH_FROM), new Date(MONTH_TO)],
  );
  return { seconds: (performance.now() - t0) / 1000, rows: Number(rows[0].n) };
}

export async function benchReconciliation(db: Db, o: ReconciliationBenchOptions, meta: { date: string; command: string }): Promise<ReconciliationBenchResult> {
  const machine = await describeMachine(db);
  const workMem = String((await db.raw('SHOW work_mem')).rows[0].work_mem);
  o.log(`(h) carrier reconciliation: ${o.legs.toLocaleString('en')} legs of a month and the carrier's records derived from them`);
  const s0 = performance.now();
  const seeded = o.reuse ? await seeded_(db, o.legs) : await seed(db, o);
  const seedSeconds = (performance.now() - s0) / 1000;
  o.log(`  seeded ${seeded.legs.toLocaleString('en')} legs and ${seeded.records.toLocaleString('en')} records in ${seedSeconds.toFixed(1)} s`);
  await db.raw('CHECKPOINT');

  const join = [await plainJoin(db, seeded.carrierId, seeded.carrierName)];
  o.log(`  plain join: ${join[0]!.rows.toLocaleString('en')} candidate pairs in ${join[0]!.seconds.toFixed(2)} s`);

  const load = { before: os.loadavg()[0] as number, after: 0 };
  const steps: Array<{ step: string; at: number; cpu: Map<number, number> | null }> = [];
  const r0 = performance.now();
  const onStep = (s: ReconStep) => {
    const label = s.step === 'matching' ? `matching round ${s.round}` : s.step;
    steps.push({ step: label, at: performance.now(), cpu: serverCpuSeconds(dbName) });
    if (s.step !== 'matching' || s.round <= 3 || s.round % 10 === 0) o.log(`    ${((performance.now() - r0) / 1000).toFixed(2)} s: ${label} ${JSON.stringify(s)}`);
  };
  const dbName = String((await db.raw('SELECT current_database() AS d')).rows[0].d);
  const cpu0 = serverCpuSeconds(dbName);
  const node0 = process.cpuUsage();
  const run = await runReconciliation(db, seeded.carrierId, MONTH_FROM, MONTH_TO, { trigger: 'manual', onStep });
  const runSeconds = (performance.now() - r0) / 1000;
  const nodeCpu = process.cpuUsage(node0);
  const cpu = { postgres: cpuBetween(cpu0, serverCpuSeconds(dbName)), node: (nodeCpu.user + nodeCpu.system) / 1e6 };
  o.log(`  CPU: Postgres ${cpu.postgres === null ? 'n/a' : `${cpu.postgres.toFixed(1)} s`} (parallel workers not counted), this process ${cpu.node.toFixed(1)} s`);
  steps.push({ step: 'end', at: performance.now(), cpu: serverCpuSeconds(dbName) });
  load.after = os.loadavg()[0] as number;
  o.log(`  runReconciliation: ${run.legs.toLocaleString('en')} legs, ${run.records.toLocaleString('en')} records, ${run.matchRounds} rounds in ${runSeconds.toFixed(2)} s`);

  join.push(await plainJoin(db, seeded.carrierId, seeded.carrierName));
  o.log(`  plain join again: ${join[1]!.seconds.toFixed(2)} s`);

  // Steps merged: the matching rounds as one line each up to 3, then the rest together.
  const stepTimes: Array<{ step: string; seconds: number; cpu: number | null }> = [];
  stepTimes.push({ step: 'start (run row, lock)', seconds: ((steps[0]?.at ?? r0) - r0) / 1000, cpu: cpuBetween(cpu0, steps[0]?.cpu ?? null) });
  for (let i = 0; i < steps.length - 1; i++) {
    const s = steps[i]!;
    const d = (steps[i + 1]!.at - s.at) / 1000;
    const c = cpuBetween(s.cpu, steps[i + 1]!.cpu);
    const m = /^matching round (\d+)$/.exec(s.step);
    const label = m && Number(m[1]) >= 3 ? 'matching rounds 3 on (the last finds nothing left)' : s.step === 'candidates' ? 'candidates (edges; alone pairs; contested)' : s.step;
    const last = stepTimes.find((x) => x.step === label);
    if (last) {
      last.seconds += d;
      last.cpu = last.cpu === null || c === null ? null : last.cpu + c;
    } else stepTimes.push({ step: label, seconds: d, cpu: c });
  }

  const want = expectedClasses(o.legs);
  const counts = {} as Record<ReconClass, { got: number; injected: number }>;
  for (const c of RECON_CLASSES) counts[c] = { got: run.totals?.[c]?.count ?? 0, injected: want.classes[c] };
  const countsMatch = RECON_CLASSES.every((c) => counts[c].got === counts[c].injected) && run.legs === want.legs && run.records === want.records;
  o.log(`  counts ${countsMatch ? 'as injected' : 'NOT as injected'}: ${RECON_CLASSES.map((c) => `${c} ${counts[c].got}/${counts[c].injected}`).join(', ')}; legs ${run.legs}/${want.legs}, records ${run.records}/${want.records}`);
  const items = RECON_CLASSES.reduce((s, c) => s + counts[c].got, 0);
  return {
    ...meta, machine, load, legs: run.legs, records: run.records, seedSeconds, ...(o.reuse ? { reused: o.reuse } : {}),
    run: { seconds: runSeconds, rounds: run.matchRounds, items, steps: stepTimes, cpu }, join, counts, countsMatch, workMem,
  };
}

const n0 = (x: number) => Math.round(x).toLocaleString('en');
const cpuText = (c: number | null) => (c === null ? 'n/a' : `${c.toFixed(1)} s`);

export function reconciliationMarkdown(r: ReconciliationBenchResult): string {
  const best = Math.min(...r.join.map((j) => j.seconds));
  const met = r.run.seconds < RECONCILIATION_TARGET_SECONDS;
  return [
    `### Carrier reconciliation, run of ${r.date}`,
    '',
    `\`${r.command}\`. ${machineLine(r.machine)}; work_mem=${r.workMem} (the server's; the run sets ${RECON_WORK_MEM} for its transaction). Load average (1 min) ${r.load.before.toFixed(2)} when the run started, ${r.load.after.toFixed(2)} when it ended.`,
    '',
    `One carrier, one month: ${n0(r.legs)} outbound rated legs through it (with wholesale, retail and carrier_cost charges) and its ${n0(r.records)} records derived from them, with injected differences (per thousand legs: 20 dropped, 5 extra, 5 billed twice, 10 durations off beyond tolerance and 10 within, 10 costs off beyond and 10 within, 5 wrong rates, 10 clocks shifted within tolerance and 5 beyond, 5 retried calls whose records need a second round); ${r.reused ? `the data of an earlier run's database (${r.reused}, its earlier runs of the month superseded by this one)` : `seeded in ${r.seedSeconds.toFixed(0)} s`}.`,
    '',
    '| | time | Postgres CPU | |',
    '|---|---:|---:|---|',
    `| \`runReconciliation\` end to end (one transaction: stage, match, classify, ${n0(r.run.items)} items written, totals) | **${r.run.seconds.toFixed(2)} s** | ${cpuText(r.run.cpu.postgres)} | ${r.run.rounds} matching rounds; target < ${RECONCILIATION_TARGET_SECONDS} s: **${met ? 'met' : 'missed'}** |`,
    ...r.run.steps.map((s) => `| &nbsp;&nbsp;${s.step} | ${s.seconds.toFixed(2)} s | ${cpuText(s.cpu)} | |`),
    ...r.join.map((j, i) => `| plain join of the same legs and records (same number, starts within 5 s), count(*), ${i === 0 ? 'before' : 'after'} the run | ${j.seconds.toFixed(2)} s | | ${n0(j.rows)} pairs |`),
    '',
    `- CPU during the run: Postgres ${r.run.cpu.postgres === null ? 'n/a' : `${r.run.cpu.postgres.toFixed(1)} s`} (the database's server processes; parallel workers not counted), this process ${r.run.cpu.node.toFixed(1)} s. On a busy machine the wall time is longer than the work: CPU time is the steadier figure.`,
    `- Run / plain join: **${(r.run.seconds / best).toFixed(1)}x** (the faster join). Counts per class ${r.countsMatch ? 'exactly as injected' : '**not** as injected'}: ${RECON_CLASSES.map((c) => `${c} ${n0(r.counts[c].got)}${r.counts[c].got === r.counts[c].injected ? '' : ` (injected ${n0(r.counts[c].injected)})`}`).join(', ')}.`,
    '',
  ].join('\n');
}

export const RC_START = '<!-- bench:reconciliation:start (written by npm run bench -- --only=h) -->';
export const RC_END = '<!-- bench:reconciliation:end -->';

/** Replaces the marked reconciliation section of docs/PERFORMANCE.md (added at the end if missing). */
export function writeReconciliationDoc(file: string, r: ReconciliationBenchResult): void {
  const section = `${RC_START}\n${reconciliationMarkdown(r)}${RC_END}`;
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Performance\n';
  const a = text.indexOf(RC_START);
  const b = text.indexOf(RC_END);
  if (a >= 0 && b > a) text = text.slice(0, a) + section + text.slice(b + RC_END.length);
  else text = `${text.trimEnd()}\n\n## Carrier reconciliation (the latest run of bench (h), written by it)\n\n${section}\n`;
  fs.writeFileSync(file, text);
}

/** Options from the command line; `prefix` 'rc-' when run as part (h) of bench/run.ts. */
export function reconciliationOptions(a: Map<string, string>, log: (msg: string) => void, prefix = ''): ReconciliationBenchOptions {
  const num = (k: string, d: number) => (a.has(`${prefix}${k}`) ? Number(a.get(`${prefix}${k}`)) : d);
  const legs = num('legs', 1_000_000);
  const chunk = num('chunk', 250_000);
  if (!Number.isInteger(legs) || legs < 1000) throw new Error(`--${prefix}legs: a whole number, at least 1000`);
  if (!Number.isInteger(chunk) || chunk < 1) throw new Error(`--${prefix}chunk: a whole number, at least 1`);
  return { legs, chunk, keep: a.has(`${prefix}keep`), reuse: a.get(`${prefix}reuse`), log };
}

async function main() {
  const a = benchArgs();
  const o = reconciliationOptions(a, benchLog);
  const meta = { date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC', command: `npx tsx bench/reconciliation.ts ${process.argv.slice(2).join(' ')}`.trim() };
  const work = async (db: Db) => {
    const r = await benchReconciliation(db, o, meta);
    process.stdout.write(`\n${reconciliationMarkdown(r)}\n`);
    if (!a.has('no-doc')) {
      writeReconciliationDoc(path.resolve(__dirname, '../docs/PERFORMANCE.md'), r);
      benchLog('written to docs/PERFORMANCE.md');
    }
  };
  if (o.reuse) await withKeptDatabase(o.reuse, work);
  else await withScratchDatabase('rc', { keep: o.keep, log: benchLog }, work);
}

if (require.main === module) runMain(main);
