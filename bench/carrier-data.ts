/**
 * Carrier billing data at scale (issue 13): one generic carrier CSV of N rows (default 1,000,000)
 * stored through the real service (receiveCarrierFile: parse, the file kept as received, every
 * record's key claimed, the records written in set-based batches, one transaction), beside a raw
 * `COPY carrier_records FROM STDIN` of the same rows (already parsed, as COPY text) in the same run.
 * Then the same file again through the service: all duplicates.
 *
 *   npx tsx bench/carrier-data.ts --rows=100000             (alone: creates and drops its database)
 *   npm run bench -- --only=g --cd-rows=1000000             (as part (g) of bench/run.ts; options with cd-)
 *
 * The HTTP POST takes at most 25 MB a body (some 280,000 rows of this CSV): a file this size is the
 * upload's or the service's. Not asserted anywhere.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Db } from '../src/db/knex';
import { parseCarrierFile } from '../src/domain/reconciliation';
import { receiveCarrierFile } from '../src/modules/carrier-data/carrier-data.service';
import { getOrThrow } from '../src/modules/carriers/carriers.service';
import { ensurePartitions } from '../src/modules/ledger/partitions';
import { benchArgs, benchLog, runMain, withScratchDatabase } from './cli';
import { describeMachine, machineLine, type Machine } from './machine';

export interface CarrierDataBenchOptions {
  rows: number;
  keep: boolean;
  log: (msg: string) => void;
}

export interface CarrierDataBenchResult {
  date: string;
  command: string;
  machine: Machine;
  load: { before: number; after: number };
  rows: number;
  bytes: number;
  parseSeconds: number;
  service: { seconds: number; stored: number; rowsPerSecond: number; peakRssMB: number; rssBeforeMB: number };
  repost: { seconds: number; duplicates: number; rowsPerSecond: number };
  copy: { seconds: number; rows: number; rowsPerSecond: number };
  ratio: number;
}

const MONTH_START = Date.parse('2026-11-01T00:00:00Z');
const MONTH_MS = 30 * 86_400_000;

/** A generic carrier CSV of n rows (docs/CARRIER-FORMATS.md), calls spread over November 2026. */
function genericCsv(n: number): string {
  const parts = ['record_id,calling,called,start,seconds,cost,currency,rate'];
  for (let i = 0; i < n; i++) {
    const start = new Date(MONTH_START + Math.floor((i * 2654435761) % MONTH_MS)).toISOString().replace('.000Z', 'Z');
    const seconds = 1 + ((i * 7919) % 1800);
    const cost = ((seconds * 2) / 6000).toFixed(6);
    parts.push(`B-${i},+1212555${String(i % 10_000).padStart(4, '0')},+4420${String(70_000_000 + (i % 9_000_000)).padStart(8, '0')},${start},${seconds},${cost},USD,0.0200`);
  }
  return `${parts.join('\n')}\n`;
}

/** COPY text of one column's value (\N for null; tabs, newlines and backslashes escaped). */
const copyText = (v: string | number | null): string => (v === null ? '\\N' : String(v).replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r'));

export async function benchCarrierData(db: Db, o: CarrierDataBenchOptions, meta: { date: string; command: string }): Promise<CarrierDataBenchResult> {
  const machine = await describeMachine(db);
  const [row] = await db('carriers').insert({ name: 'Bench carrier', currency: 'USD' }).returning('id');
  const [other] = await db('carriers').insert({ name: 'Bench carrier (COPY)', currency: 'USD' }).returning('id');
  const carrier = await getOrThrow(db, Number((row as { id: number }).id));
  const copyCarrierId = Number((other as { id: number }).id);
  const text = genericCsv(o.rows);
  const raw = Buffer.from(text, 'utf8');
  o.log(`(g) carrier data: a generic carrier CSV of ${o.rows.toLocaleString('en')} rows, ${(raw.length / 1024 / 1024).toFixed(1)} MB`);
  await ensurePartitions(db, [MONTH_START, MONTH_START + MONTH_MS], ['carrier_records']);
  await db.raw('CHECKPOINT');

  // The service first, while the process holds only the file (as text and as received): its peak
  // RSS is the service's own, not the parsed copy the COPY below is made from.
  global.gc?.();
  const load = { before: os.loadavg()[0] as number, after: 0 };
  const rssBefore = process.memoryUsage().rss;
  let peakRss = rssBefore;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
  const s0 = performance.now();
  const outcome = await receiveCarrierFile(db, carrier, { raw, text, via: 'upload', filename: 'bench.csv' });
  const serviceSeconds = (performance.now() - s0) / 1000;
  clearInterval(sampler);
  if (outcome.records !== o.rows) throw new Error(`the service stored ${outcome.records} of ${o.rows}`);
  o.log(`  service: ${outcome.records.toLocaleString('en')} records in ${serviceSeconds.toFixed(2)} s; peak RSS ${(peakRss / 1024 / 1024).toFixed(0)} MB (${(rssBefore / 1024 / 1024).toFixed(0)} MB before)`);
  await db.raw('CHECKPOINT');

  // The parse alone, for the reading of the figures (the service's own is inside its time).
  const p0 = performance.now();
  const parsed = parseCarrierFile('carrier-generic-csv', text);
  const parseSeconds = (performance.now() - p0) / 1000;
  if (parsed.records.length !== o.rows) throw new Error(`parsed ${parsed.records.length} of ${o.rows} rows: ${parsed.badRows[0]?.reason}`);
  o.log(`  parse alone: ${parseSeconds.toFixed(2)} s`);

  // The same rows as COPY text lines, made before the COPY is timed.
  const lines = parsed.records.map((r) =>
    [copyCarrierId, `id:${r.carrierRecordId}`, r.carrierRecordId, r.calling, r.called, r.startUtc.toISOString(), r.secondsBilled, r.cost, r.currency, r.rate, 0, r.line, r.raw].map(copyText).join('\t'),
  );

  const client = (db as unknown as { client: { acquireConnection(): Promise<PoolClient>; releaseConnection(c: PoolClient): Promise<void> } }).client;
  const conn = await client.acquireConnection();
  let copySeconds: number;
  try {
    const c0 = performance.now();
    await conn.query('BEGIN');
    await pipeline(
      Readable.from((function* () {
        for (let i = 0; i < lines.length; i += 10_000) yield `${lines.slice(i, i + 10_000).join('\n')}\n`;
      })()),
      conn.query(copyFrom('COPY carrier_records (carrier_id, record_key, carrier_record_id, calling, called, start_at, seconds, cost, currency, rate, file_id, line, raw) FROM STDIN')),
    );
    await conn.query('COMMIT');
    copySeconds = (performance.now() - c0) / 1000;
  } finally {
    await client.releaseConnection(conn);
  }
  o.log(`  COPY carrier_records FROM STDIN: ${lines.length.toLocaleString('en')} rows in ${copySeconds.toFixed(2)} s`);
  await db.raw('CHECKPOINT');

  const r0 = performance.now();
  const again = await receiveCarrierFile(db, carrier, { raw, text, via: 'upload', filename: 'bench.csv' });
  const repostSeconds = (performance.now() - r0) / 1000;
  if (again.duplicates !== o.rows || again.records !== 0) throw new Error(`the re-post stored ${again.records}, ${again.duplicates} duplicates`);
  o.log(`  the same file again: ${again.duplicates.toLocaleString('en')} duplicates in ${repostSeconds.toFixed(2)} s`);
  load.after = os.loadavg()[0] as number;

  const service = { seconds: serviceSeconds, stored: outcome.records, rowsPerSecond: outcome.records / serviceSeconds, peakRssMB: peakRss / 1024 / 1024, rssBeforeMB: rssBefore / 1024 / 1024 };
  const copy = { seconds: copySeconds, rows: lines.length, rowsPerSecond: lines.length / copySeconds };
  return {
    ...meta, machine, load, rows: o.rows, bytes: raw.length, parseSeconds, service,
    repost: { seconds: repostSeconds, duplicates: again.duplicates, rowsPerSecond: again.duplicates / repostSeconds }, copy, ratio: service.rowsPerSecond / copy.rowsPerSecond,
  };
}

const n0 = (x: number) => Math.round(x).toLocaleString('en');

export function carrierDataMarkdown(r: CarrierDataBenchResult): string {
  return [
    `### Carrier billing data, run of ${r.date}`,
    '',
    `\`${r.command}\`. ${machineLine(r.machine)}. Load average (1 min) ${r.load.before.toFixed(2)} when the timing started, ${r.load.after.toFixed(2)} when it ended.`,
    '',
    `One generic carrier CSV of ${n0(r.rows)} rows (${(r.bytes / 1024 / 1024).toFixed(1)} MB, record ids, one month, its partition made beforehand), stored through \`receiveCarrierFile\`: read in batches of 5,000, each batch's keys and new records COPYed into carrier_record_keys and carrier_records while the next batch is read (the first batch's keys looked up first; none found, the later ones are not), the file kept, one transaction. The parse alone (the whole file, after the service's run) took ${r.parseSeconds.toFixed(2)} s.`,
    '',
    '| | rows | time | rows/s |',
    '|---|---:|---:|---:|',
    `| the service (receiveCarrierFile) | ${n0(r.service.stored)} | ${r.service.seconds.toFixed(2)} s | ${n0(r.service.rowsPerSecond)} |`,
    `| raw COPY carrier_records FROM STDIN of the same rows | ${n0(r.copy.rows)} | ${r.copy.seconds.toFixed(2)} s | ${n0(r.copy.rowsPerSecond)} |`,
    `| the same file again (all duplicates) | ${n0(r.repost.duplicates)} | ${r.repost.seconds.toFixed(2)} s | ${n0(r.repost.rowsPerSecond)} |`,
    '',
    `- Service / COPY rows/s: **${r.ratio.toFixed(2)}** (target at least 0.5: **${r.ratio >= 0.5 ? 'met' : 'not met'}**).`,
    `- Peak RSS of the process during the service's store: ${r.service.peakRssMB.toFixed(0)} MB; ${r.service.rssBeforeMB.toFixed(0)} MB before it started (Node, tsx, the app's modules, the file as its text and as its bytes, which the caller holds, and what making them left for the collector).`,
    `- The same file again is looked up batch by batch (every key found claimed, nothing written but the file and its counts).`,
    '',
  ].join('\n');
}

export const CD_START = '<!-- bench:carrier-data:start (written by npm run bench -- --only=g) -->';
export const CD_END = '<!-- bench:carrier-data:end -->';

/** Replaces the marked carrier-data section of docs/PERFORMANCE.md (added at the end if missing). */
export function writeCarrierDataDoc(file: string, r: CarrierDataBenchResult): void {
  const section = `${CD_START}\n${carrierDataMarkdown(r)}${CD_END}`;
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Performance\n';
  const a = text.indexOf(CD_START);
  const b = text.indexOf(CD_END);
  if (a >= 0 && b > a) text = text.slice(0, a) + section + text.slice(b + CD_END.length);
  else text = `${text.trimEnd()}\n\n## Carrier billing data (the latest run of bench (g), written by it)\n\n${section}\n`;
  fs.writeFileSync(file, text);
}

/** Options from the command line; `prefix` 'cd-' when run as part (g) of bench/run.ts. */
export function carrierDataOptions(a: Map<string, string>, log: (msg: string) => void, prefix = ''): CarrierDataBenchOptions {
  const rows = a.has(`${prefix}rows`) ? Number(a.get(`${prefix}rows`)) : 1_000_000;
  if (!Number.isInteger(rows) || rows < 1) throw new Error(`--${prefix}rows: a whole number, at least 1`);
  return { rows, keep: a.has(`${prefix}keep`), log };
}

async function main() {
  const a = benchArgs();
  const o = carrierDataOptions(a, benchLog);
  const meta = { date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC', command: `npx tsx bench/carrier-data.ts ${process.argv.slice(2).join(' ')}`.trim() };
  await withScratchDatabase('cd', { keep: o.keep, log: benchLog }, async (db) => {
    const r = await benchCarrierData(db, o, meta);
    process.stdout.write(`\n${carrierDataMarkdown(r)}\n`);
    if (!a.has('no-doc')) {
      writeCarrierDataDoc(path.resolve(__dirname, '../docs/PERFORMANCE.md'), r);
      benchLog('written to docs/PERFORMANCE.md');
    }
  });
}

if (require.main === module) runMain(main);
