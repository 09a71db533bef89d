/**
 * Record files at scale (issue 12, speed point): one reseller's day of N rated legs (both charges,
 * their 'stored' changes in the change log, committed chunk by chunk as the intake commits them,
 * among other resellers' changes), a specification from a preset, then the real closing of that
 * day's file (closeDueFiles, the job's call) timed in a child process of its own, whose peak RSS is
 * the closing's; in the same run, `COPY (SELECT <the columns the closing reads> ...) TO STDOUT` of
 * the same legs through pg-copy-streams into a null sink, before and after the closing.
 *
 *   npx tsx bench/record-files.ts --legs=100000                 (alone: creates and drops its database)
 *   npm run bench -- --only=f --rf-legs=1000000                 (as part (f) of bench/run.ts; options with rf-)
 *
 * Options: --legs=N (default 1,000,000), --subscribers=N (the reseller's, 5,000), --other-changes=N
 * (other resellers' changes interleaved in the log, default as many as the legs), --chunk=N (legs a
 * committed transaction when seeding, 50,000), --preset=plain|cgrates|sipwise (default plain: every
 * field), --batch=N (legs a batch of the closing; the service's default when absent), --keep (leave
 * the database for EXPLAIN). Targets (issue 12): the closing at least half the rows/s of the COPY,
 * and a peak RSS under 200 MB. Not asserted anywhere.
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { Db } from '../src/db/knex';
import { presetByKey, presetSpec } from '../src/domain/records';
import { changesHorizon } from '../src/modules/changes/changes.service';
import { ensurePartitions } from '../src/modules/ledger/partitions';
import { recordLegsQuery } from '../src/modules/ledger/record-reads';
import { benchArgs, benchLog, runMain, withScratchDatabase } from './cli';
import { seedParties } from './dashboards';
import { describeMachine, machineLine, type Machine } from './machine';
import type { CloseInput, CloseOutput } from './record-files-worker';

export const RECORD_FILE_TARGETS = { ratio: 0.5, maxRssMB: 200 };

/** The day closed: 2026-11-10 in New York (EST: 05:00Z to 05:00Z), the reseller's zone. */
const ZONE = 'America/New_York';
const DAY_START = Date.parse('2026-11-10T05:00:00Z');
const DAY_END = Date.parse('2026-11-11T05:00:00Z');

export interface RecordFilesBenchOptions {
  legs: number;
  subscribers: number;
  otherChanges: number;
  chunk: number;
  preset: string;
  batch?: number;
  keep: boolean;
  log: (msg: string) => void;
}

export interface RecordFilesBenchResult {
  date: string;
  command: string;
  machine: Machine;
  /** 1-minute load average when the timing started and when it ended. */
  load: { before: number; after: number };
  legs: number;
  otherChanges: number;
  preset: string;
  seedSeconds: number;
  close: CloseOutput & { records: number; bytes: number; rowsPerSecond: number; chunks: number };
  /** The COPY reference, run before and after the closing; the faster is the one compared. */
  copy: Array<{ seconds: number; rows: number; bytes: number; rowsPerSecond: number }>;
  ratio: number;
}

const MB = 1024 * 1024;

/** The SQL of the legs of chunk [a, b] (1-based leg numbers), every column derived from the number: the same legs on every run. */
function legsOfChunk(o: { legs: number; firstId: number; resellerId: number; subscriberIds: number[]; platformId: number }, a: number, b: number) {
  return {
    sql: `
      SELECT i, ? + i - 1 AS id,
             to_timestamp((? + floor((i - 1)::numeric * ? / ?)) / 1000.0) AS start_at,
             (?::bigint[])[1 + (i * 7919) % ?] AS subscriber_id,
             CASE WHEN i % 50 < 35 THEN 'outbound' WHEN i % 50 < 42 THEN 'inbound' WHEN i % 50 < 48 THEN 'onnet' ELSE 'forwarded' END AS direction,
             (i * 31) % 300 AS dest,
             i % 5 <> 0 AS answered,
             CASE WHEN i % 5 <> 0 THEN CASE WHEN i % 10 < 7 THEN 1 + (i * 7907) % 180 ELSE 181 + (i * 7907) % 1020 END ELSE 0 END AS seconds
        FROM generate_series(?::bigint, ?::bigint) AS i`,
    bindings: [o.firstId, DAY_START, DAY_END - DAY_START, o.legs, o.subscriberIds, o.subscriberIds.length, a, b],
  };
}

/**
 * The reseller, its subscribers, a platform, the legs and their charges by INSERT ... SELECT, and
 * their changes interleaved with other resellers' (whose legs are not stored: the closing of this
 * reseller reads only its own legs, but passes over every change of the log's window).
 */
async function seed(db: Db, o: RecordFilesBenchOptions): Promise<{ resellerId: number; specId: number; copySql: string }> {
  const parties = await seedParties(db, { resellers: 2, subscribers: o.subscribers * 2 });
  const [resellerId, otherId] = parties.resellerIds as [number, number];
  await db('resellers').where({ id: resellerId }).update({ time_zone: ZONE });
  const subscriberIds = parties.subscribers.filter((s) => s.resellerId === resellerId).map((s) => s.id);
  const [platform] = await db('platforms').insert({ name: 'rf-bench', format: 'generic-json', credential_hash: '0'.repeat(64) }).returning('id');
  const platformId = Number((platform as { id: number }).id);
  await ensurePartitions(db, [DAY_START, DAY_END - 1]);
  const { rows } = (await db.raw(`SELECT setval('call_legs_id_seq', nextval('call_legs_id_seq') + ?) AS last`, [o.legs])) as { rows: Array<{ last: string }> };
  const firstId = Number(rows[0]?.last) - o.legs + 1;
  const g = { legs: o.legs, firstId, resellerId, subscriberIds, platformId };
  const ratedAt = new Date(DAY_END + 10 * 60_000).toISOString();
  const t0 = performance.now();
  for (let a = 1; a <= o.legs; a += o.chunk) {
    const b = Math.min(o.legs, a + o.chunk - 1);
    const legs = legsOfChunk(g, a, b);
    await db.transaction(async (tx) => {
      await tx.raw(
        `INSERT INTO call_legs (id, start_at, platform_id, cdr_id, leg_key, call_id, reseller_id, subscriber_id, direction, calling_number, called_number, raw_calling, raw_called,
                                answer_at, end_at, billable_seconds, answered, disposition, trunk, carrier, status, rated_at)
         SELECT id, start_at, ?, 0, 'rf' || id, 'call-' || id || '@rf-bench', ?, subscriber_id, direction,
                CASE WHEN direction = 'inbound' THEN '+' || (30 + dest % 60) || dest || lpad((i % 10000000)::text, 7, '0') ELSE '+1212' || lpad((5000000 + subscriber_id % 1000000)::text, 7, '0') END,
                CASE WHEN direction = 'inbound' THEN '+1212' || lpad((5000000 + subscriber_id % 1000000)::text, 7, '0') ELSE '+' || (30 + dest % 60) || dest || lpad((i % 10000000)::text, 7, '0') END,
                'raw-' || i, 'raw-' || i,
                CASE WHEN answered THEN start_at + (2 + i % 20) * interval '1 second' END,
                start_at + (CASE WHEN answered THEN 2 + i % 20 + seconds ELSE 5 + i % 30 END) * interval '1 second',
                seconds, answered,
                CASE WHEN answered THEN 'answered' ELSE (ARRAY['no_answer','no_answer','busy','cancelled','failed'])[1 + (i / 5) % 5] END,
                CASE WHEN direction IN ('outbound','forwarded') THEN CASE WHEN i % 2 = 0 THEN 'gw-1' ELSE 'gw-2' END END,
                CASE WHEN direction IN ('outbound','forwarded') THEN CASE WHEN i % 2 = 0 THEN 'Level3' ELSE 'Lumen' END END,
                'rated', ?::timestamptz
           FROM (${legs.sql}) g`,
        [platformId, resellerId, ratedAt, ...legs.bindings],
      );
      // Both charges: wholesale per second, retail per started minute taxed 8.875%, amounts as numeric (never a float).
      await tx.raw(
        `INSERT INTO charges (leg_id, start_at, kind, reseller_id, subscriber_id, rate_plan_id, plan_revision, direction, prefix, description, rate_effective_from,
                              billable_seconds, charged_seconds, pieces, currency, connect_fee, usage, amount, tax_amount, total, billed_currency, exchange_rate, billed_total, rated_at, covered_seconds)
         SELECT id, start_at, k.kind, ?, subscriber_id, k.plan, 1, direction,
                CASE WHEN direction IN ('inbound','onnet') THEN '1212' ELSE (30 + dest % 60) || '' || dest END,
                CASE WHEN direction = 'inbound' THEN 'Inbound' WHEN direction = 'onnet' THEN 'On-net' ELSE 'Destination ' || dest END,
                '2020-01-01T00:00:00Z', seconds, CASE WHEN k.kind = 'retail' THEN ceil(seconds / 60.0) * 60 ELSE seconds END, '[]', 'USD', 0,
                m.usage, m.usage, m.tax, m.usage + m.tax, 'USD', 1, m.usage + m.tax, ?::timestamptz, 0
           FROM (${legs.sql}) g
          CROSS JOIN (VALUES ('wholesale', 1), ('retail', 2)) AS k(kind, plan)
          CROSS JOIN LATERAL (
            SELECT CASE WHEN k.kind = 'wholesale'
                        THEN round((CASE direction WHEN 'onnet' THEN 0 WHEN 'inbound' THEN 0.0030 ELSE 0.0040 + (dest % 200) / 10000.0 END) * seconds / 60, 6)
                        ELSE round((CASE direction WHEN 'onnet' THEN 0 WHEN 'inbound' THEN 0.0100 ELSE 0.0150 + 2 * (dest % 200) / 10000.0 END) * ceil(seconds / 60.0), 6) END AS usage
          ) u
          CROSS JOIN LATERAL (SELECT u.usage, CASE WHEN k.kind = 'retail' THEN round(u.usage * 0.08875, 6) ELSE 0 END AS tax) m`,
        [resellerId, ratedAt, ...legs.bindings],
      );
      // The chunk's changes, the other resellers' among them in turn, in one transaction (as the intake writes them).
      const others = Math.round((o.otherChanges * (b - a + 1)) / o.legs);
      await tx.raw(
        `INSERT INTO leg_changes (leg_id, start_at, reseller_id, kind)
         SELECT leg_id, start_at, reseller_id, 'stored' FROM (
           SELECT id AS leg_id, start_at, ?::bigint AS reseller_id, (i - ?)::float8 / ? AS ord FROM (${legs.sql}) g
           UNION ALL
           SELECT ?::bigint + ?::bigint + j, to_timestamp((?::bigint + j % ?::bigint) / 1000.0), ?::bigint, (j + 0.5)::float8 / ? FROM generate_series(0, ?::int - 1) AS j
         ) c ORDER BY ord`,
        [resellerId, a, b - a + 1, ...legs.bindings, firstId + o.legs, a * 10, DAY_START, DAY_END - DAY_START, otherId, Math.max(1, others), others],
      );
    });
    o.log(`  stored ${b.toLocaleString('en')} legs (${Math.round(b / ((performance.now() - t0) / 1000)).toLocaleString('en')} legs/s)`);
  }
  await db.raw('ANALYZE call_legs, charges, leg_changes, subscribers, resellers, platforms');
  const preset = presetByKey(o.preset);
  if (!preset) throw new Error(`--preset: one of plain, cgrates, sipwise (not ${o.preset})`);
  const spec = presetSpec(preset, ZONE);
  const [row] = await db('record_specifications').insert({ reseller_id: resellerId, name: `Bench ${preset.key}`, period: 'daily', spec: JSON.stringify(spec), created_at: new Date(DAY_START) }).returning('id');
  // The reference: the columns and joins the closing reads legs with (record-reads.ts), its filter, the day's legs, in no order.
  const copySql = recordLegsQuery(db, resellerId, { filter: spec.filter, fromMs: DAY_START, toMs: DAY_END }).toString();
  return { resellerId, specId: Number((row as { id: number }).id), copySql };
}

/** Waits until every change stored is below the horizon (a long transaction anywhere on the server holds it back). */
async function settled(db: Db, resellerId: number, log: (msg: string) => void): Promise<void> {
  const { rows } = (await db.raw("SELECT xid::text || '.' || position AS c FROM leg_changes WHERE reseller_id = ? ORDER BY xid DESC, position DESC LIMIT 1", [resellerId])) as { rows: Array<{ c: string }> };
  const last = rows[0]?.c ?? null;
  for (let waited = 0; ; waited += 500) {
    if ((await changesHorizon(db, { kind: 'reseller', resellerId }, null)) === last) return;
    if (waited % 10_000 === 0) log(`  waiting for the change log's horizon (a transaction somewhere on the server is older than the last change)`);
    if (waited > 600_000) throw new Error('the change log did not settle in 10 minutes');
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** COPY (sql) TO STDOUT into a sink that only counts. */
async function copyOut(db: Db, sql: string): Promise<{ seconds: number; rows: number; bytes: number; rowsPerSecond: number }> {
  const client = (db as unknown as { client: { acquireConnection(): Promise<PoolClient>; releaseConnection(c: PoolClient): Promise<void> } }).client;
  const conn = await client.acquireConnection();
  try {
    let bytes = 0;
    let rows = 0;
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        bytes += chunk.length;
        // One row per newline (COPY text escapes newlines inside values).
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) rows++;
        cb();
      },
    });
    const t0 = performance.now();
    await pipeline(conn.query(copyTo(`COPY (${sql}) TO STDOUT`)), sink);
    const seconds = (performance.now() - t0) / 1000;
    return { seconds, rows, bytes, rowsPerSecond: rows / seconds };
  } finally {
    await client.releaseConnection(conn);
  }
}

/** The closing, in a child process: its time and its own peak RSS. */
function closeInChild(input: CloseInput): Promise<CloseOutput> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'record-files-worker.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let done = false;
    child.on('message', (m: { ok: boolean; out?: CloseOutput; error?: string }) => {
      done = true;
      if (m.ok) resolve(m.out as CloseOutput);
      else reject(new Error(`the closing failed: ${m.error}`));
    });
    child.on('exit', (code) => {
      if (!done) reject(new Error(`the closing's process ended with ${code} before answering`));
    });
    child.send(input);
  });
}

export async function benchRecordFiles(db: Db, o: RecordFilesBenchOptions, meta: { date: string; command: string }): Promise<RecordFilesBenchResult> {
  const machine = await describeMachine(db);
  o.log(`(f) record files: seeding ${o.legs.toLocaleString('en')} rated legs of one reseller in one day, ${o.otherChanges.toLocaleString('en')} other resellers' changes beside them`);
  const s0 = performance.now();
  const { resellerId, specId, copySql } = await seed(db, o);
  const seedSeconds = (performance.now() - s0) / 1000;
  await settled(db, resellerId, o.log);
  await db.raw('CHECKPOINT');
  const url = (db.client.config.connection as { connectionString: string }).connectionString;
  const load = { before: os.loadavg()[0] as number, after: 0 };
  o.log(`  seeded in ${seedSeconds.toFixed(1)} s; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);

  const copy = [await copyOut(db, copySql)];
  o.log(`  COPY ... TO STDOUT: ${copy[0]!.rows.toLocaleString('en')} rows in ${copy[0]!.seconds.toFixed(2)} s`);
  await db.raw('CHECKPOINT');
  const closed = await closeInChild({ url, resellerId, nowMs: DAY_END + 3_600_000, batch: o.batch });
  const [file] = (await db('record_files').where({ spec_id: specId })) as Array<Record<string, any>>;
  if (!file || file.status !== 'closed' || closed.closed !== 1) throw new Error(`expected one closed file, got ${closed.closed} (${file?.status})`);
  o.log(`  closing: ${Number(file.records).toLocaleString('en')} records in ${closed.seconds.toFixed(2)} s, peak RSS ${(closed.maxRssBytes / MB).toFixed(0)} MB`);
  copy.push(await copyOut(db, copySql));
  o.log(`  COPY ... TO STDOUT again: ${copy[1]!.rows.toLocaleString('en')} rows in ${copy[1]!.seconds.toFixed(2)} s`);
  load.after = os.loadavg()[0] as number;

  const records = Number(file.records);
  if (records !== copy[0]!.rows) throw new Error(`the file holds ${records} records, the COPY ${copy[0]!.rows} rows: not the same rows`);
  const close = { ...closed, records, bytes: Number(file.byte_size), chunks: Number(file.chunks), rowsPerSecond: records / closed.seconds };
  const best = copy.reduce((x, y) => (y.rowsPerSecond > x.rowsPerSecond ? y : x));
  return { ...meta, machine, load, legs: o.legs, otherChanges: o.otherChanges, preset: o.preset, seedSeconds, close, copy, ratio: close.rowsPerSecond / best.rowsPerSecond };
}

const n0 = (x: number) => Math.round(x).toLocaleString('en');

export function recordFilesMarkdown(r: RecordFilesBenchResult): string {
  const best = r.copy.reduce((x, y) => (y.rowsPerSecond > x.rowsPerSecond ? y : x));
  const ok = (b: boolean) => (b ? 'met' : '**not met**');
  const rss = r.close.maxRssBytes / MB;
  return [
    `### Record files, run of ${r.date}`,
    '',
    `\`${r.command}\`. ${machineLine(r.machine)}. Load average (1 min) ${r.load.before.toFixed(2)} when the timing started, ${r.load.after.toFixed(2)} when it ended.`,
    '',
    `One reseller's day (America/New_York) of ${n0(r.legs)} rated legs with both charges, ${n0(r.otherChanges)} other resellers' changes interleaved in the change log; spec: the \`${r.preset}\` preset; seeded in ${r.seedSeconds.toFixed(0)} s.`,
    '',
    '| | rows | time | rows/s | bytes |',
    '|---|---:|---:|---:|---:|',
    `| closing (closeDueFiles, in its own process) | ${n0(r.close.records)} | ${r.close.seconds.toFixed(2)} s | ${n0(r.close.rowsPerSecond)} | ${n0(r.close.bytes)} (${r.close.chunks} chunks) |`,
    ...r.copy.map((c, i) => `| COPY (SELECT ...) TO STDOUT, ${i === 0 ? 'before' : 'after'} the closing${c === best ? ' (compared)' : ''} | ${n0(c.rows)} | ${c.seconds.toFixed(2)} s | ${n0(c.rowsPerSecond)} | ${n0(c.bytes)} |`),
    '',
    `- Closing / COPY rows/s: **${r.ratio.toFixed(2)}** (target at least ${RECORD_FILE_TARGETS.ratio}: ${ok(r.ratio >= RECORD_FILE_TARGETS.ratio)}).`,
    `- Peak RSS of the closing's process: **${rss.toFixed(0)} MB** (target under ${RECORD_FILE_TARGETS.maxRssMB} MB: ${ok(rss < RECORD_FILE_TARGETS.maxRssMB)}); ${(r.close.rssBeforeBytes / MB).toFixed(0)} MB before the closing started (Node, tsx, the app's modules, a pool), V8 heap at most ${(r.close.heapPeakBytes / MB).toFixed(0)} MB after a batch; ${r.close.batches} batches.`,
    '',
  ].join('\n');
}

export const RF_START = '<!-- bench:record-files:start (written by npm run bench -- --only=f) -->';
export const RF_END = '<!-- bench:record-files:end -->';

/** Replaces the marked record-files section of docs/PERFORMANCE.md (added at the end if missing). */
export function writeRecordFilesDoc(file: string, r: RecordFilesBenchResult): void {
  const section = `${RF_START}\n${recordFilesMarkdown(r)}${RF_END}`;
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Performance\n';
  const a = text.indexOf(RF_START);
  const b = text.indexOf(RF_END);
  if (a >= 0 && b > a) text = text.slice(0, a) + section + text.slice(b + RF_END.length);
  else text = `${text.trimEnd()}\n\n## Record files (the latest run of bench (f), written by it)\n\n${section}\n`;
  fs.writeFileSync(file, text);
}

/** Options from the command line; `prefix` 'rf-' when run as part (f) of bench/run.ts. */
export function recordFilesOptions(a: Map<string, string>, log: (msg: string) => void, prefix = ''): RecordFilesBenchOptions {
  const num = (k: string, d: number) => {
    const v = a.has(prefix + k) ? Number(a.get(prefix + k)) : d;
    if (!Number.isInteger(v) || v < 0) throw new Error(`--${prefix}${k}: a whole number`);
    return v;
  };
  const legs = num('legs', 1_000_000);
  if (legs < 1) throw new Error(`--${prefix}legs: at least 1`);
  const batch = a.has(`${prefix}batch`) ? num('batch', 0) : undefined;
  return {
    legs, subscribers: num('subscribers', 5_000), otherChanges: num('other-changes', legs), chunk: Math.max(1, num('chunk', 50_000)),
    preset: a.get(`${prefix}preset`) ?? 'plain', ...(batch ? { batch } : {}), keep: a.has(`${prefix}keep`), log,
  };
}

async function main() {
  const a = benchArgs();
  const o = recordFilesOptions(a, benchLog);
  const meta = { date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC', command: `npx tsx bench/record-files.ts ${process.argv.slice(2).join(' ')}`.trim() };
  await withScratchDatabase('rf', { keep: o.keep, log: benchLog }, async (db) => {
    const r = await benchRecordFiles(db, o, meta);
    process.stdout.write(`\n${recordFilesMarkdown(r)}\n`);
    if (!a.has('no-doc')) {
      writeRecordFilesDoc(path.resolve(__dirname, '../docs/PERFORMANCE.md'), r);
      benchLog('written to docs/PERFORMANCE.md');
    }
  });
}

if (require.main === module) runMain(main);
