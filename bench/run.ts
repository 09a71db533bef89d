/**
 * npm run bench [-- options]
 *
 * Against real Postgres: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres)
 * names a server and a database to connect to first; a fresh database bench_<timestamp> is created
 * beside it, used, and dropped at the end. DATABASE_URL is never read.
 *
 * Measures (docs/PERFORMANCE.md has the latest results and their reading):
 *   (a) batch intake of generic JSON through the real app, beside raw COPY of the same rows;
 *   (b) single-record posts from many clients, open loop, latency percentiles;
 *   (c) the pure rating engine on one core, beside findRate alone and a no-op loop;
 *   (d) only when asked (--only=d): the dashboards' queries over N legs stored by COPY across
 *       100,000 subscribers (bench/dashboards.ts; its options prefixed dash-: --dash-legs=N);
 *   (e) only when asked (--only=e): the subscriber calls and account pages, and the dashboards, at
 *       each size of one ledger grown by COPY across 100,000 subscribers, by default 1 million then
 *       10 million legs (bench/pages.ts; its options prefixed pages-: --pages-steps=N,M,
 *       --pages-stop-at=HH:MM). Written to its own section of docs/PERFORMANCE.md.
 *   (f) only when asked (--only=f): the closing of one reseller's day of N rated legs into a record
 *       file, beside COPY (SELECT ...) TO STDOUT of the same rows, and the closing's peak RSS
 *       (bench/record-files.ts; its options prefixed rf-: --rf-legs=N, --rf-preset=plain|cgrates).
 *       Written to its own section of docs/PERFORMANCE.md.
 *   (g) only when asked (--only=g): a generic carrier CSV of N rows stored through the carrier data
 *       service, beside raw COPY of the same rows into carrier_records (bench/carrier-data.ts; its
 *       options prefixed cd-: --cd-rows=N, default 1,000,000). Written to its own section of docs/PERFORMANCE.md.
 *   (h) only when asked (--only=h): a carrier's month of N rated legs and its records derived from them
 *       with injected differences, reconciled by the real service (runReconciliation, step by step
 *       timed) beside a plain join of the same legs and records (bench/reconciliation.ts; its options
 *       prefixed rc-: --rc-legs=N, default 1,000,000). Written to its own section of docs/PERFORMANCE.md.
 *   (i) only when asked (--only=i): N subscribers with a number each created through the JSON API's
 *       POST /subscribers/bulk, beside COPY of the same rows into subscribers and phone_numbers
 *       (bench/api-bulk.ts; its options prefixed bulk-: --bulk-subscribers=N, default 100,000,
 *       --bulk-per-request=N, --bulk-concurrency=N). Written to its own section of docs/PERFORMANCE.md.
 *   (j) only when asked (--only=j): single API reads (GET /api/v1/calls/:legId and
 *       /resellers/:resellerId) at 500 requests/s from 20 clients, each with its own API key, open
 *       loop, latency percentiles (bench/api-reads.ts; its options prefixed ar-: --ar-rate=N,
 *       --ar-clients=N, --ar-duration=S, --ar-legs=N). Written to its own section of docs/PERFORMANCE.md.
 *
 * Options: --quick (small sizes, for checking the harness), --only=a,b,c, --legs=N, --rate=N,
 * --low-rate=N (a first (b) run below saturation; 0: none), --duration=S, --clients=N,
 * --no-hostile (skip (b) at the low rate again with a hostile platform beside it),
 * --hostile-bad-rate=N (its bad posts a second), --hostile-huge-every=S (a huge post every S seconds),
 * --concurrency=N, --no-doc (do not touch docs/PERFORMANCE.md), --json=FILE (also write the raw results),
 * --toll-packages (after (b), give every subscriber a toll package and run (b) again at the same
 * rate: issue 11's target is a p99 at most 20% above (b) without packages, in the same run;
 * --toll-seconds=N sets each package's included seconds, default 3600).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import pino from 'pino';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { openDatabase } from '../src/server';
import { benchDashboards, dashboardOptions, printDashboards } from './dashboards';
import { benchArgs } from './cli';
import { benchEngine } from './engine';
import { giveTollPackages, hostilePlatform, seed } from './fixture';
import { benchBatchIntake, benchSinglePosts, closeClient, runHostile } from './intake';
import { describeMachine } from './machine';
import { benchPages, pagesOptions, pagesMarkdown, writePagesDoc, type PagesBenchResult } from './pages';
import { benchRecordFiles, recordFilesMarkdown, recordFilesOptions, writeRecordFilesDoc, type RecordFilesBenchResult } from './record-files';
import { benchCarrierData, carrierDataMarkdown, carrierDataOptions, writeCarrierDataDoc, type CarrierDataBenchResult } from './carrier-data';
import { apiBulkMarkdown, apiBulkOptions, benchApiBulk, writeApiBulkDoc, type ApiBulkBenchResult } from './api-bulk';
import { benchReconciliation, reconciliationMarkdown, reconciliationOptions, writeReconciliationDoc, type ReconciliationBenchResult } from './reconciliation';
import { apiReadsMarkdown, apiReadsOptions, benchApiReads, writeApiReadsDoc, type ApiReadsResult } from './api-reads';
import type { HostileOutput } from './hostile-worker';
import { printTable, writeDoc, type BenchResults } from './report';

function args() {
  const a = benchArgs();
  const quick = a.has('quick');
  const num = (k: string, full: number, small: number) => (a.has(k) ? Number(a.get(k)) : quick ? small : full);
  return {
    quick,
    only: new Set((a.get('only') ?? 'a,b,c').split(',')),
    legs: num('legs', 50_000, 5_000),
    perRequest: num('per-request', 1_000, 1_000),
    concurrency: num('concurrency', 2, 2),
    rate: num('rate', 1_000, 200),
    lowRate: num('low-rate', 200, 0),
    durationS: num('duration', 20, 3),
    clients: num('clients', 50, 10),
    resellers: num('resellers', 20, 4),
    subscribers: num('subscribers', 10_000, 1_000),
    prefixes: num('prefixes', 3_000, 500),
    enginePrefixes: num('engine-prefixes', 50_000, 5_000),
    engineLegs: num('engine-legs', 50_000, 10_000),
    engineMs: num('engine-ms', 2_000, 300),
    doc: !a.has('no-doc'),
    hostile: !a.has('no-hostile'),
    hostileBadRate: num('hostile-bad-rate', 20, 20),
    hostileHugeEveryS: num('hostile-huge-every', 5, 2),
    json: a.get('json'),
    tolls: a.has('toll-packages'),
    tollSeconds: num('toll-seconds', 3600, 3600),
    /** Every option as given, for part (d)'s own (bench/dashboards.ts dashboardOptions). */
    raw: a,
  };
}

const log = (msg: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${msg}\n`);

async function main() {
  const o = args();
  const base = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const name = `bench_${stamp}_${crypto.randomBytes(2).toString('hex')}`;
  const url = new URL(base);
  url.pathname = `/${name}`;
  const dbUrl = url.toString();
  const logFile = path.join(os.tmpdir(), `${name}.log`);

  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}" TEMPLATE template0`);
  log(`created database ${name} on ${url.host}; app log (level info) in ${logFile}`);

  const cleanups: Array<() => Promise<void>> = [];
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    for (const c of cleanups.reverse()) await c().catch((err) => log(`cleanup: ${(err as Error).message}`));
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch((err) => log(`could not drop ${name}: ${(err as Error).message}`));
    await admin.end().catch(() => undefined);
    if (!process.env.BENCH_KEEP_LOG) fs.rmSync(logFile, { force: true });
    log(`dropped database ${name}`);
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));

  try {
    const config = loadConfig({ NODE_ENV: 'production', DATABASE_URL: dbUrl, LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: '0' });
    const { db } = await openDatabase(config);
    cleanups.push(() => db.destroy());
    const results: BenchResults = {
      date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
      command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
      machine: await describeMachine(db),
      load: {},
    };
    const loadNow = (part: string) => (results.load[part] = os.loadavg()[0] as number);

    if (o.only.has('c')) {
      loadNow('c');
      log(`(c) rating engine: ${o.enginePrefixes} prefixes, ${o.engineLegs} legs`);
      results.engine = benchEngine({ prefixes: o.enginePrefixes, legs: o.engineLegs, minMs: o.engineMs });
    }

    if (o.only.has('a') || o.only.has('b')) {
      log(`setting up ${o.resellers} resellers, ${o.subscribers} subscribers, decks of ${o.prefixes} prefixes`);
      const t0 = performance.now();
      const fixture = await seed(db, { resellers: o.resellers, subscribers: o.subscribers, prefixes: o.prefixes });
      results.setup = { resellers: o.resellers, subscribers: o.subscribers, prefixes: o.prefixes, rateRows: fixture.rateRows, taxes: fixture.taxes, seconds: (performance.now() - t0) / 1000 };

      // The real app, as src/server.ts builds it, on a loopback port; its log at info goes to a file.
      const logger = pino({ level: 'info', base: { service: 'voip-billing' } }, pino.destination({ dest: logFile, sync: false }));
      const built = createApp({ config, db, databaseUrl: dbUrl, instanceSecret: crypto.randomBytes(32).toString('hex'), logger });
      const server = http.createServer(built.app);
      // Requests still being handled: the app is closed only once they are done (a client that
      // gave up does not stop the server's work).
      let inFlight = 0;
      server.on('request', (_req, res: http.ServerResponse) => {
        inFlight++;
        // Counted down when the handler answers, even to a client that has already gone.
        const end = res.end.bind(res) as (...a: unknown[]) => http.ServerResponse;
        let ended = false;
        res.end = ((...a: unknown[]) => {
          if (!ended) inFlight--;
          ended = true;
          return end(...a);
        }) as typeof res.end;
      });
      await built.warmUp();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const appUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      cleanups.push(async () => {
        for (let waited = 0; inFlight > 0 && waited < 60_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
        closeClient();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await built.close();
        logger.flush();
      });
      log(`app listening on ${appUrl}`);

      if (o.only.has('a')) {
        loadNow('a');
        log(`(a) batch intake of ${o.legs} legs beside COPY`);
        results.batch = await benchBatchIntake({ url: appUrl, dbUrl, db, fixture, legs: o.legs, perRequest: o.perRequest, concurrency: o.concurrency, log });
      }
      if (o.only.has('b')) {
        if (o.lowRate > 0) {
          // First below saturation (what latency looks like when the box keeps up), then the target.
          loadNow('b-low');
          log(`(b) single-record posts at ${o.lowRate}/s`);
          results.singleLow = await benchSinglePosts({ url: appUrl, db, fixture, clients: o.clients, rate: o.lowRate, durationS: o.durationS, timeoutMs: 10_000, tag: 'L', log });
          if (o.hostile) {
            // The same again with a hostile platform beside it: its bad and huge posts must not
            // hold up the good platform's (issue 9: within 2x of the p99 alone).
            loadNow('b-hostile');
            const hostile = await hostilePlatform(db);
            log(`(b) single-record posts at ${o.lowRate}/s, with platform ${hostile.name} posting ${o.hostileBadRate} bad posts a second and a huge post every ${o.hostileHugeEveryS} s beside them`);
            let beside: HostileOutput | undefined;
            const singleHostile = await benchSinglePosts({
              url: appUrl, db, fixture, clients: o.clients, rate: o.lowRate, durationS: o.durationS, timeoutMs: 60_000, tag: 'H', log,
              beside: async () => (beside = await runHostile({ url: appUrl, token: hostile.token, durationMs: o.durationS * 1000, badRate: o.hostileBadRate, hugeEveryMs: o.hostileHugeEveryS * 1000, tag: 'X' })),
            });
            results.singleHostile = { ...singleHostile, hostile: beside as HostileOutput };
            log(`  hostile platform: ${JSON.stringify(beside?.answers)}; slowest answer to a huge post ${beside?.hugeMaxMs.toFixed(0)} ms`);
          }
        }
        loadNow('b');
        log(`(b) single-record posts at ${o.rate}/s`);
        results.single = await benchSinglePosts({ url: appUrl, db, fixture, clients: o.clients, rate: o.rate, durationS: o.durationS, timeoutMs: 10_000, tag: 'S', log });
        if (o.tolls) {
          // The same again with every subscriber holding a toll package (issue 11): rating finds
          // the allowance, and every write settles it under the balances' row locks.
          const { assignments } = await giveTollPackages(db, o.tollSeconds);
          loadNow('b-tolls');
          log(`(b) single-record posts at ${o.rate}/s, ${assignments} subscribers holding a toll package of ${o.tollSeconds} s`);
          results.singleTolls = await benchSinglePosts({ url: appUrl, db, fixture, clients: o.clients, rate: o.rate, durationS: o.durationS, timeoutMs: 10_000, tag: 'T', log });
        }
      }
    }

    if (o.only.has('d')) {
      loadNow('d');
      printDashboards(await benchDashboards(db, dashboardOptions(o.raw, log, 'dash-')), log);
    }

    let pages: PagesBenchResult | undefined;
    if (o.only.has('e')) {
      loadNow('e');
      pages = await benchPages(db, pagesOptions(o.raw, log, 'pages-'), { date: results.date, command: results.command });
      process.stdout.write(`\n${pagesMarkdown(pages)}\n`);
    }

    let recordFiles: RecordFilesBenchResult | undefined;
    if (o.only.has('f')) {
      loadNow('f');
      recordFiles = await benchRecordFiles(db, recordFilesOptions(o.raw, log, 'rf-'), { date: results.date, command: results.command });
      process.stdout.write(`\n${recordFilesMarkdown(recordFiles)}\n`);
    }

    let carrierData: CarrierDataBenchResult | undefined;
    if (o.only.has('g')) {
      loadNow('g');
      carrierData = await benchCarrierData(db, carrierDataOptions(o.raw, log, 'cd-'), { date: results.date, command: results.command });
      process.stdout.write(`\n${carrierDataMarkdown(carrierData)}\n`);
    }

    let apiBulk: ApiBulkBenchResult | undefined;
    if (o.only.has('i')) {
      loadNow('i');
      apiBulk = await benchApiBulk({ db, config, databaseUrl: dbUrl }, apiBulkOptions(o.raw, log, 'bulk-'), { date: results.date, command: results.command });
      process.stdout.write(`\n${apiBulkMarkdown(apiBulk)}\n`);
    }

    let reconciliation: ReconciliationBenchResult | undefined;
    if (o.only.has('h')) {
      loadNow('h');
      const ro = reconciliationOptions(o.raw, log, 'rc-');
      if (ro.reuse) throw new Error('--rc-reuse: only when bench/reconciliation.ts is run alone');
      reconciliation = await benchReconciliation(db, ro, { date: results.date, command: results.command });
      process.stdout.write(`\n${reconciliationMarkdown(reconciliation)}\n`);
    }

    let apiReads: ApiReadsResult | undefined;
    if (o.only.has('j')) {
      apiReads = await benchApiReads(db, config, dbUrl, apiReadsOptions(o.raw, log, 'ar-'), { date: results.date, command: results.command });
      process.stdout.write(`\n${apiReadsMarkdown(apiReads)}\n`);
    }

    const doc = path.resolve(__dirname, '../docs/PERFORMANCE.md');
    // The "Latest run" section holds (a) to (c): a run of only (d) or (e) leaves it as it was.
    const main = ['a', 'b', 'c'].some((p) => o.only.has(p));
    if (main) printTable(results);
    if (o.json) fs.writeFileSync(o.json, JSON.stringify({ ...results, ...(pages ? { pages } : {}), ...(recordFiles ? { recordFiles } : {}), ...(carrierData ? { carrierData } : {}), ...(apiBulk ? { apiBulk } : {}), ...(reconciliation ? { reconciliation } : {}), ...(apiReads ? { apiReads } : {}) }, null, 2));
    if (o.doc && main) {
      writeDoc(doc, results);
      log(`results written to ${path.relative(process.cwd(), doc)}`);
    }
    if (o.doc && pages) {
      writePagesDoc(doc, pages);
      log(`pages at scale written to ${path.relative(process.cwd(), doc)}`);
    }
    if (o.doc && recordFiles) {
      writeRecordFilesDoc(doc, recordFiles);
      log(`record files written to ${path.relative(process.cwd(), doc)}`);
    }
    if (o.doc && apiReads) {
      writeApiReadsDoc(doc, apiReads);
      log(`API reads written to ${path.relative(process.cwd(), doc)}`);
    }
    if (o.doc && carrierData) {
      writeCarrierDataDoc(doc, carrierData);
      log(`carrier data written to ${path.relative(process.cwd(), doc)}`);
    }
    if (o.doc && apiBulk) {
      writeApiBulkDoc(doc, apiBulk);
      log(`bulk API written to ${path.relative(process.cwd(), doc)}`);
    }
    if (o.doc && reconciliation) {
      writeReconciliationDoc(doc, reconciliation);
      log(`carrier reconciliation written to ${path.relative(process.cwd(), doc)}`);
    }
  } finally {
    await cleanup();
  }
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
