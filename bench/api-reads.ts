/**
 * Single API reads (issue 14: "Single API reads at 500 requests/s from 20 clients: p99 target
 * 20 ms"), part (j) of bench/run.ts, only when asked (--only=j; its options prefixed ar-):
 * GET /api/v1/calls/:legId (a leg with its charges in detail, as a reseller's key sees it) and
 * GET /api/v1/resellers/:resellerId, each from 20 clients, open loop, through the real app on a
 * loopback port. Each client has its own reseller and that reseller's read-only API key, so the
 * per-key throttle (API_MAX_REQUESTS_PER_SECOND_PER_KEY, default 100) is never reached: 500/s over
 * 20 keys is 25/s a key. Each key reads its own reseller's legs only (another's would be a 404).
 *
 *   npm run bench -- --only=j [--ar-rate=500 --ar-clients=20 --ar-duration=20 --ar-legs=50]
 *
 * Not asserted anywhere; written to its own section of docs/PERFORMANCE.md.
 */
import { fork } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import pino from 'pino';
import { createApp } from '../src/app';
import type { Config } from '../src/config';
import type { Db } from '../src/db/knex';
import { SYSTEM_ACTOR } from '../src/domain/tenancy/actor';
import { createKey } from '../src/modules/api-keys/api-keys.service';
import { makeCallLeg, makeCharge, makePlan, makeReseller, makeSubscriber } from '../test/support/factories';
import type { ReadLoadInput, ReadLoadOutput } from './api-reads-worker';
import { percentile } from './intake';
import { describeMachine, machineLine, type Machine } from './machine';

export interface ApiReadsOptions {
  rate: number;
  clients: number;
  durationS: number;
  /** Legs (with a wholesale and a retail charge each) of each client's reseller. */
  legs: number;
  log: (msg: string) => void;
}

export interface ReadRun {
  operation: string;
  /** One client, one read at a time (closed loop): the service time of a read on this machine now. */
  sequential: { n: number; p50Ms: number; p99Ms: number };
  due: number;
  ok: number;
  errors: Record<string, number>;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  maxSendLagMs: number;
  loopP99Ms: number;
  load: number;
}

export interface ApiReadsResult {
  date: string;
  command: string;
  machine: Machine;
  rate: number;
  clients: number;
  durationS: number;
  legs: number;
  throttle: number;
  runs: ReadRun[];
}

const WARM_UP_S = 3;
const SEQUENTIAL = 200;

/**
 * `n` reads one after another from one keep-alive client: each read's time from send to its last
 * byte. The reads go round the keys (each with its own reseller's paths): one key alone would pass
 * its throttle on a fast machine.
 */
async function sequentialReads(url: string, tokens: string[], pathsOf: string[][], n: number): Promise<{ n: number; p50Ms: number; p99Ms: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const status = await new Promise<number>((resolve, reject) => {
      const k = i % tokens.length;
      const paths = pathsOf[k] as string[];
      http.get(new URL(`/api/v1${paths[Math.floor(i / tokens.length) % paths.length]}`, url), { agent, headers: { authorization: `Bearer ${tokens[k]}` } }, (res) => {
        res.on('data', () => undefined);
        res.on('end', () => resolve(res.statusCode ?? 0));
      }).on('error', reject);
    });
    if (status !== 200) throw new Error(`sequential read answered ${status}`);
    times.push(performance.now() - t0);
  }
  agent.destroy();
  times.sort((a, b) => a - b);
  return { n, p50Ms: percentile(times, 50), p99Ms: percentile(times, 99) };
}

function readLoad(input: ReadLoadInput): Promise<ReadLoadOutput> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'api-reads-worker.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('message', (m) => resolve(m as ReadLoadOutput));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`the read load process ended with ${code}`))));
    child.send(input);
  });
}

export async function benchApiReads(db: Db, config: Config, dbUrl: string, o: ApiReadsOptions, meta: { date: string; command: string }): Promise<ApiReadsResult> {
  o.log(`(j) API reads: seeding ${o.clients} resellers, each with a read-only API key and ${o.legs} legs with their charges`);
  const operatorPlan = await makePlan(db, null);
  const { rows: platforms } = await db.raw(`INSERT INTO platforms (name, format, credential_hash) VALUES (?, 'generic-json', ?) RETURNING id`, [`bench-api-${crypto.randomBytes(3).toString('hex')}`, '0'.repeat(64)]);
  const platformId = Number(platforms[0].id);
  const tokens: string[] = [];
  const legPaths: string[][] = [];
  const resellerPaths: string[][] = [];
  for (let c = 0; c < o.clients; c++) {
    const reseller = await makeReseller(db, { wholesale_plan_id: operatorPlan.id });
    const plan = await makePlan(db, reseller.id);
    const sub = await makeSubscriber(db, reseller.id, { retail_plan_id: plan.id });
    const mine: string[] = [];
    for (let i = 0; i < o.legs; i++) {
      const leg = await makeCallLeg(db, { platformId, resellerId: reseller.id, subscriberId: sub.id, startAt: new Date(Date.now() - (i + 1) * 60_000) });
      await makeCharge(db, leg, { kind: 'wholesale', resellerId: reseller.id, subscriberId: sub.id, ratePlanId: operatorPlan.id, amount: '0.0123' });
      await makeCharge(db, leg, { kind: 'retail', resellerId: reseller.id, subscriberId: sub.id, ratePlanId: plan.id, amount: '0.05' });
      mine.push(`/calls/${leg.id}`);
    }
    legPaths.push(mine);
    resellerPaths.push([`/resellers/${reseller.id}`]);
    tokens.push((await createKey(db, SYSTEM_ACTOR, { kind: 'reseller', resellerId: reseller.id }, { name: `bench ${c}`, access: 'read' })).token);
  }
  await db.raw('ANALYZE');

  const logFile = path.join(os.tmpdir(), `bench-api-reads-${process.pid}.log`);
  const logger = pino({ level: 'info', base: { service: 'voip-billing' } }, pino.destination({ dest: logFile, sync: false }));
  const built = createApp({ config, db, databaseUrl: dbUrl, instanceSecret: crypto.randomBytes(32).toString('hex'), logger });
  const server = http.createServer(built.app);
  await built.warmUp();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const runs: ReadRun[] = [];
  try {
    for (const [operation, paths] of [['GET /calls/:legId', legPaths], ['GET /resellers/:resellerId', resellerPaths]] as const) {
      const sequential = await sequentialReads(url, tokens, paths as string[][], SEQUENTIAL);
      // The keys' throttle windows start afresh before the load.
      await new Promise((r) => setTimeout(r, 1100));
      o.log(`  ${operation}: ${SEQUENTIAL} reads one at a time: p50 ${sequential.p50Ms.toFixed(1)} ms, p99 ${sequential.p99Ms.toFixed(1)} ms`);
      const input = (durationS: number): ReadLoadInput => ({ url, tokens, paths: paths as string[][], clients: o.clients, rate: o.rate, durationMs: durationS * 1000, timeoutMs: 10_000 });
      o.log(`  ${operation}: warm-up ${WARM_UP_S} s at ${o.rate}/s`);
      const warm = await readLoad(input(WARM_UP_S));
      // Recorded, not fatal: on a saturated machine the warm-up already falls behind, and that is a figure too.
      if (warm.ok !== warm.due) o.log(`  warm-up of ${operation}: ${warm.ok} of ${warm.due} answered 200: ${JSON.stringify(warm.errors)}`);
      // Each key's throttle window starts afresh, and the warm-up's stragglers are done: a pause.
      await new Promise((r) => setTimeout(r, 2000));
      const load = os.loadavg()[0] as number;
      o.log(`  ${operation}: measured, ${o.clients} clients, ${o.rate}/s for ${o.durationS} s (open loop); load average ${load.toFixed(2)}`);
      const loop = monitorEventLoopDelay({ resolution: 5 });
      loop.enable();
      const r = await readLoad(input(o.durationS));
      loop.disable();
      const lat = [...r.latencies].sort((a, b) => a - b);
      const run: ReadRun = {
        operation, sequential, due: r.due, ok: r.ok, errors: r.errors, p50Ms: percentile(lat, 50), p95Ms: percentile(lat, 95), p99Ms: percentile(lat, 99), maxMs: lat[lat.length - 1] ?? NaN,
        maxSendLagMs: r.maxSendLagMs, loopP99Ms: loop.percentile(99) / 1e6, load,
      };
      o.log(`  ${operation}: ${r.ok}/${r.due} ok, p50 ${run.p50Ms.toFixed(1)} ms, p95 ${run.p95Ms.toFixed(1)} ms, p99 ${run.p99Ms.toFixed(1)} ms, max ${run.maxMs.toFixed(1)} ms${Object.keys(r.errors).length ? `, errors ${JSON.stringify(r.errors)}` : ''}`);
      runs.push(run);
    }
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await built.close();
    logger.flush();
    fs.rmSync(logFile, { force: true });
  }
  return {
    ...meta, machine: await describeMachine(db), rate: o.rate, clients: o.clients, durationS: o.durationS, legs: o.legs,
    throttle: config.apiRequestsPerSecondPerKey, runs,
  };
}

const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '—');

export function apiReadsMarkdown(r: ApiReadsResult): string {
  return [
    `### API reads, run of ${r.date}`,
    '',
    `\`${r.command}\`. ${machineLine(r.machine)}.`,
    '',
    `${r.clients} clients, each with its own reseller's read-only API key (per-key throttle ${r.throttle}/s, unchanged: ${(r.rate / r.clients).toFixed(0)}/s a key), open loop at ${r.rate} requests/s for ${r.durationS} s after a ${WARM_UP_S} s warm-up; latency from each request's due time. Each reseller has ${r.legs} legs with a wholesale and a retail charge each. Target (issue 14): p99 at most 20 ms.`,
    '',
    'Percentiles are of the reads answered 200 (a read not answered within 10 s counts as an error, beside). "One at a time": one client, one read after another, before the open loop: the service time of a read on the machine as it was.',
    '',
    '| operation | load avg (1 min) | one at a time p50 / p99 | answered 200 | p50 | p95 | p99 | max | event loop p99 |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...r.runs.map((x) => `| ${x.operation} | ${x.load.toFixed(2)} | ${ms(x.sequential.p50Ms)} / ${ms(x.sequential.p99Ms)} ms | ${x.ok} / ${x.due}${Object.keys(x.errors).length ? ` (${Object.entries(x.errors).map(([k, v]) => `${k}: ${v}`).join(', ')})` : ''} | ${ms(x.p50Ms)} ms | ${ms(x.p95Ms)} ms | **${ms(x.p99Ms)} ms** | ${ms(x.maxMs)} ms | ${ms(x.loopP99Ms)} ms |`),
    '',
  ].join('\n');
}

export const AR_START = '<!-- bench:api-reads:start (written by npm run bench -- --only=j) -->';
export const AR_END = '<!-- bench:api-reads:end -->';

/** Replaces the marked API reads section of docs/PERFORMANCE.md (added at the end if missing). */
export function writeApiReadsDoc(file: string, r: ApiReadsResult, note = ''): void {
  const section = `${AR_START}\n${apiReadsMarkdown(r)}${note ? `\n${note}\n` : ''}${AR_END}`;
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Performance\n';
  const a = text.indexOf(AR_START);
  const b = text.indexOf(AR_END);
  if (a >= 0 && b > a) text = text.slice(0, a) + section + text.slice(b + AR_END.length);
  else text = `${text.trimEnd()}\n\n## API reads (the latest run of bench (j), written by it)\n\n${section}\n`;
  fs.writeFileSync(file, text);
}

/** Options from the command line, prefixed ar- as part (j) of bench/run.ts. */
export function apiReadsOptions(a: Map<string, string>, log: (msg: string) => void, prefix = 'ar-'): ApiReadsOptions {
  const num = (k: string, d: number) => {
    const v = a.has(`${prefix}${k}`) ? Number(a.get(`${prefix}${k}`)) : d;
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${prefix}${k}: a whole number, at least 1`);
    return v;
  };
  return { rate: num('rate', 500), clients: num('clients', 20), durationS: num('duration', 20), legs: num('legs', 50), log };
}
