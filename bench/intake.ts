import fs from 'node:fs';
import http from 'node:http';
import inspector from 'node:inspector';
import os from 'node:os';
import path from 'node:path';
import { constants, monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { Db } from '../src/db/knex';
import { makeRecords, type Fixture } from './fixture';
import type { HostileInput, HostileOutput } from './hostile-worker';
import type { LoadInput, LoadOutput } from './load-worker';

// ---- HTTP client -------------------------------------------------------------------------------

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

export function post(url: string, token: string, body: string): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      new URL('/api/v1/cdrs', url),
      { method: 'POST', agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => {
          const text = Buffer.concat(parts).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = text;
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export function closeClient(): void {
  agent.destroy();
}

/** Runs `tasks` with at most `concurrency` in flight. */
async function pool<T>(items: T[], concurrency: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i] as T, i);
      }
    }),
  );
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx] as number;
}

// ---- (a) batch intake beside raw COPY ------------------------------------------------------------

export interface BatchResult {
  legs: number;
  perRequest: number;
  concurrency: number;
  intakeSeconds: number;
  intakeLegsPerSecond: number;
  requestP50Ms: number;
  requestMaxMs: number;
  rated: number;
  legRows: number;
  chargeRows: number;
  copySeconds: number;
  copyLegsPerSecond: number;
  copyWithCdrsSeconds: number;
  copyWithCdrsLegsPerSecond: number;
  /**
   * CPU time per 1,000 legs: of this process (the app, and the client posting) during the intake,
   * and of the Postgres server's processes during the intake and during the COPY baseline (null
   * when the server is not on this host). Tells where the time goes and what the two cores allow.
   */
  cpuPer1000: { app: number; postgres: number | null; copyPostgres: number | null };
}

/** CPU time used so far, in ms: this process (all threads), and every process named postgres on this host. */
function cpuNow(): { app: number; postgres: number | null } {
  const u = process.cpuUsage();
  let ticks = 0;
  let seen = false;
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'postgres') continue;
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
      seen = true;
    } catch {
      // A process that ended meanwhile, or no /proc: nothing to add.
    }
  }
  // Linux reports these in USER_HZ, 100 a second on every architecture Node runs on.
  return { app: (u.user + u.system) / 1000, postgres: seen ? ticks * 10 : null };
}

function cpuSince(before: { app: number; postgres: number | null }, legs: number) {
  const now = cpuNow();
  return {
    app: ((now.app - before.app) * 1000) / legs,
    postgres: now.postgres === null || before.postgres === null ? null : ((now.postgres - before.postgres) * 1000) / legs,
  };
}

interface CopyBatch {
  legs: string[];
  charges: string[];
  cdrs: string[];
}

/** The rows of a table as COPY text lines, for the query given. */
async function copyOut(client: pg.Client, sql: string): Promise<string[]> {
  const stream = client.query(copyTo(`COPY (${sql}) TO STDOUT`));
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  const text = Buffer.concat(parts).toString('utf8');
  return text === '' ? [] : text.replace(/\n$/, '').split('\n');
}

async function copyIn(client: pg.Client, table: string, lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  await pipeline(Readable.from([`${lines.join('\n')}\n`]), client.query(copyFrom(`COPY ${table} FROM STDIN`)));
}

/** Writes each batch in its own transaction (COPY legs, COPY charges[, COPY cdrs], COMMIT), `concurrency` connections. */
async function copyBatches(url: string, batches: CopyBatch[], concurrency: number, withCdrs: boolean): Promise<{ seconds: number; postgresMs: number | null }> {
  const clients = await Promise.all(
    Array.from({ length: concurrency }, async () => {
      const c = new pg.Client({ connectionString: url, application_name: 'bench copy' });
      await c.connect();
      return c;
    }),
  );
  const free = [...clients];
  const cpu0 = cpuNow();
  const t0 = performance.now();
  await pool(batches, concurrency, async (b) => {
    const c = free.pop() as pg.Client;
    try {
      await c.query('BEGIN');
      if (withCdrs) await copyIn(c, 'cdrs', b.cdrs);
      await copyIn(c, 'call_legs', b.legs);
      await copyIn(c, 'charges', b.charges);
      await c.query('COMMIT');
    } finally {
      free.push(c);
    }
  });
  const seconds = (performance.now() - t0) / 1000;
  // Before the connections close: their backends' time goes with them.
  const cpu1 = cpuNow();
  const postgresMs = cpu0.postgres === null || cpu1.postgres === null ? null : cpu1.postgres - cpu0.postgres;
  await Promise.all(clients.map((c) => c.end()));
  return { seconds, postgresMs };
}

export async function benchBatchIntake(o: { url: string; dbUrl: string; db: Db; fixture: Fixture; legs: number; perRequest: number; concurrency: number; log(msg: string): void }): Promise<BatchResult> {
  const { fixture: f, db } = o;
  const bodies = (tag: string, count: number, seed: number) => {
    const recs = makeRecords(f, count, { tag, seed });
    const out: string[] = [];
    for (let i = 0; i < recs.length; i += o.perRequest) out.push(JSON.stringify({ records: recs.slice(i, i + o.perRequest) }));
    return out;
  };
  // Warm-up (plan compile, JIT, partitions, connections); not measured.
  for (const b of bodies('W', 2 * o.perRequest, 7)) {
    const r = await post(o.url, f.token, b);
    if (r.status !== 200) throw new Error(`warm-up post answered ${r.status}: ${JSON.stringify(r.json).slice(0, 500)}`);
  }
  const measured = bodies('A', o.legs, 11);
  await db.raw('CHECKPOINT');

  o.log(`  intake: ${measured.length} posts of ${o.perRequest} legs, ${o.concurrency} in flight`);
  const latencies: number[] = [];
  let rated = 0;
  const profile = process.env.BENCH_PROFILE ? await startProfile(process.env.BENCH_PROFILE) : undefined;
  const cpu0 = cpuNow();
  const t0 = performance.now();
  await pool(measured, o.concurrency, async (body) => {
    const s = performance.now();
    const r = await post(o.url, f.token, body);
    latencies.push(performance.now() - s);
    if (r.status !== 200 || r.json.accepted !== o.perRequest) throw new Error(`batch post answered ${r.status}: ${JSON.stringify(r.json).slice(0, 500)}`);
    for (const rec of r.json.records) for (const leg of rec.legs) if (leg.status === 'rated') rated++;
  });
  const intakeSeconds = (performance.now() - t0) / 1000;
  const intakeCpu = cpuSince(cpu0, o.legs);
  if (profile) o.log(`  profile of the intake: ${await profile.stop('A')}`);
  latencies.sort((a, b) => a - b);

  // The rows the intake stored, as COPY text, grouped into the same batches.
  const admin = new pg.Client({ connectionString: o.dbUrl });
  await admin.connect();
  const platformId = Number(f.platformId);
  const where = `platform_id = ${platformId} AND leg_key LIKE 'A-%'`;
  const legLines = await copyOut(admin, `SELECT * FROM call_legs WHERE ${where} ORDER BY id`);
  const chargeLines = await copyOut(
    admin,
    `SELECT c.* FROM charges c JOIN call_legs l ON l.id = c.leg_id AND l.start_at = c.start_at WHERE l.platform_id = ${platformId} AND l.leg_key LIKE 'A-%' ORDER BY c.leg_id, c.kind`,
  );
  const cdrLines = await copyOut(admin, `SELECT * FROM cdrs WHERE id IN (SELECT cdr_id FROM call_legs WHERE ${where}) ORDER BY id`);
  if (legLines.length !== o.legs) throw new Error(`expected ${o.legs} stored legs, found ${legLines.length}`);

  const firstCol = (line: string) => Number(line.slice(0, line.indexOf('\t')));
  const chargesByLeg = new Map<number, string[]>();
  for (const line of chargeLines) {
    const id = firstCol(line);
    const list = chargesByLeg.get(id) ?? [];
    list.push(line);
    chargesByLeg.set(id, list);
  }
  const cdrById = new Map(cdrLines.map((line) => [firstCol(line), line]));
  const cdrCol = (line: string) => Number(line.split('\t')[3]);
  const batches: CopyBatch[] = [];
  for (let i = 0; i < legLines.length; i += o.perRequest) {
    const legs = legLines.slice(i, i + o.perRequest);
    batches.push({
      legs,
      charges: legs.flatMap((l) => chargesByLeg.get(firstCol(l)) ?? []),
      cdrs: [...new Set(legs.map(cdrCol))].map((id) => cdrById.get(id)).filter((l): l is string => l !== undefined),
    });
  }

  const reset = async () => {
    await admin.query('TRUNCATE call_legs, charges, cdrs, leg_keys');
    await admin.query('CHECKPOINT');
  };
  await reset();
  o.log('  baseline: COPY of the same leg and charge rows');
  const copy = await copyBatches(o.dbUrl, batches, o.concurrency, false);
  const copySeconds = copy.seconds;
  await reset();
  o.log('  baseline: COPY of the same legs, charges and raw records');
  const copyWithCdrsSeconds = (await copyBatches(o.dbUrl, batches, o.concurrency, true)).seconds;
  await admin.end();

  return {
    legs: o.legs,
    perRequest: o.perRequest,
    concurrency: o.concurrency,
    intakeSeconds,
    intakeLegsPerSecond: o.legs / intakeSeconds,
    requestP50Ms: percentile(latencies, 50),
    requestMaxMs: latencies[latencies.length - 1] ?? NaN,
    rated,
    legRows: legLines.length,
    chargeRows: chargeLines.length,
    copySeconds,
    copyLegsPerSecond: o.legs / copySeconds,
    copyWithCdrsSeconds,
    copyWithCdrsLegsPerSecond: o.legs / copyWithCdrsSeconds,
    cpuPer1000: { app: intakeCpu.app, postgres: intakeCpu.postgres, copyPostgres: copy.postgresMs === null ? null : (copy.postgresMs * 1000) / o.legs },
  };
}

// ---- (b) single-record posts, open loop ----------------------------------------------------------

export interface LoadResult {
  clients: number;
  targetRate: number;
  durationS: number;
  due: number;
  sent: number;
  ok: number;
  errors: Record<string, number>;
  achievedRate: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  maxSendLagMs: number;
  storedOk: number;
  /** The server's event loop delay over the measured run (a stall in our own code, not a wait). */
  loopP99Ms?: number;
  loopMaxMs?: number;
}

function runLoad(input: LoadInput): Promise<LoadOutput> {
  return inWorker<LoadInput, LoadOutput>('load-worker.ts', input);
}

/** A hostile platform beside the load, in a thread of its own (hostile-worker.ts). */
export function runHostile(input: HostileInput): Promise<HostileOutput> {
  return inWorker<HostileInput, HostileOutput>('hostile-worker.ts', input);
}

function inWorker<I, O>(name: string, input: I): Promise<O> {
  return new Promise((resolve, reject) => {
    // Workers do not inherit tsx's loader: register its CommonJS hook first, then load the TS file.
    const file = JSON.stringify(path.join(__dirname, name));
    const w = new Worker(`require('tsx/cjs'); require(${file});`, { eval: true, workerData: input });
    w.once('message', (m: O) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
    w.once('exit', (code) => code !== 0 && code !== 1 && reject(new Error(`${name} exited with ${code}`)));
  });
}

const WARM_UP_S = 3;

/**
 * BENCH_PROFILE=cpu: a CPU profile of this thread (the app) over the measured run, for Chrome
 * DevTools. BENCH_PROFILE=promoted: a sampling heap profile of what survived the young generation
 * (objects a minor collection freed are left out), by allocation site: what fills the old
 * generation and brings on the major collections. BENCH_PROFILE=alloc: everything allocated, by
 * site. Written to the system's temporary folder.
 */
async function startProfile(kind: string): Promise<{ stop(tag: string): Promise<string> }> {
  if (kind !== 'cpu' && kind !== 'promoted' && kind !== 'alloc') throw new Error(`BENCH_PROFILE is cpu, promoted or alloc, not ${kind}`);
  const session = new inspector.Session();
  session.connect();
  const post = (method: string, params: object = {}) =>
    new Promise<Record<string, unknown>>((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res as Record<string, unknown>))));
  if (kind === 'cpu') {
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 200 });
    await post('Profiler.start');
  } else {
    await post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: kind === 'alloc' });
  }
  return {
    async stop(tag) {
      const { profile } = await post(kind === 'cpu' ? 'Profiler.stop' : 'HeapProfiler.stopSampling');
      session.disconnect();
      const file = path.join(os.tmpdir(), `bench-${tag}-${kind}.${kind === 'cpu' ? 'cpuprofile' : 'heapprofile'}`);
      fs.writeFileSync(file, JSON.stringify(profile));
      return file;
    },
  };
}

export async function benchSinglePosts(o: {
  url: string;
  db: Db;
  fixture: Fixture;
  clients: number;
  rate: number;
  durationS: number;
  timeoutMs: number;
  tag: string;
  log(msg: string): void;
  /** Started with the measured run and awaited after it (a hostile platform posting beside it). */
  beside?: () => Promise<unknown>;
}): Promise<LoadResult> {
  const { fixture: f } = o;
  const single = (tag: string, count: number, seed: number) => makeRecords(f, count, { tag, seed }).map((r) => JSON.stringify(r));
  // A checkpoint first, then a warm-up at the measured rate: the pages the posts touch get their
  // first write after the checkpoint (a full page image in the WAL each) in the warm-up, the
  // clients open their connections, and the measured run starts in the steady state.
  await o.db.raw('CHECKPOINT');
  o.log(`  warm-up: ${WARM_UP_S} s at ${o.rate} posts/s`);
  const warm = await runLoad({ url: o.url, token: f.token, bodies: single(`${o.tag}W`, Math.round(o.rate * WARM_UP_S), 21), clients: o.clients, rate: o.rate, durationMs: WARM_UP_S * 1000, timeoutMs: o.timeoutMs });
  if (warm.ok !== warm.due) throw new Error(`warm-up: ${warm.ok} of ${warm.due} posts answered 2xx: ${JSON.stringify(warm.errors)}`);

  o.log(`  measured: ${o.clients} clients, ${o.rate} posts/s for ${o.durationS} s (open loop)`);
  const bodies = single(o.tag, Math.round(o.rate * o.durationS), 31);
  // How long the server's event loop (this thread) was ever blocked: tells a stall in our own code
  // from a wait on Postgres or the network. And the major garbage collections of the run: each
  // marks the whole heap, on this thread and a helper that takes the second core from Postgres.
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const majors: number[] = [];
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if ((e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors.push(e.duration);
  });
  gc.observe({ entryTypes: ['gc'] });
  const profile = process.env.BENCH_PROFILE ? await startProfile(process.env.BENCH_PROFILE) : undefined;
  const beside = o.beside?.();
  const r = await runLoad({ url: o.url, token: f.token, bodies, clients: o.clients, rate: o.rate, durationMs: o.durationS * 1000, timeoutMs: o.timeoutMs });
  await beside;
  if (profile) o.log(`  profile of the measured run: ${await profile.stop(o.tag)}`);
  gc.disconnect();
  const lat = [...r.latencies].sort((a, b) => a - b);
  // Where in the run the slow answers were: p99 of the posts due in each second.
  const bySecond = new Map<number, number[]>();
  r.latencies.forEach((ms, i) => {
    const s = Math.floor((r.dueAtMs[i] as number) / 1000);
    bySecond.set(s, [...(bySecond.get(s) ?? []), ms]);
  });
  const perSecond = [...bySecond].sort((a, b) => a[0] - b[0]).map(([, l]) => percentile(l.sort((a, b) => a - b), 99).toFixed(0));
  loop.disable();
  o.log(`  p99 (ms) of the posts due in each second: ${perSecond.join(' ')}`);
  o.log(`  server event loop delay: p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms, max ${(loop.max / 1e6).toFixed(1)} ms`);
  o.log(`  major garbage collections: ${majors.length}${majors.length ? ` (pauses ${majors.map((d) => d.toFixed(1)).join(', ')} ms)` : ''}`);
  // Every acknowledged leg is in the table.
  const stored = await o.db('call_legs').where('platform_id', f.platformId).where('leg_key', 'like', `${o.tag}-%`).count('* as n').first();
  return {
    clients: o.clients,
    targetRate: o.rate,
    durationS: o.durationS,
    due: r.due,
    sent: r.sent,
    ok: r.ok,
    errors: r.errors,
    achievedRate: r.ok / (Math.max(r.lastDoneMs, r.lastSendMs) / 1000),
    p50Ms: percentile(lat, 50),
    p95Ms: percentile(lat, 95),
    p99Ms: percentile(lat, 99),
    maxMs: lat[lat.length - 1] ?? NaN,
    maxSendLagMs: r.maxSendLagMs,
    storedOk: Number(stored?.n ?? 0),
    loopP99Ms: loop.percentile(99) / 1e6,
    loopMaxMs: loop.max / 1e6,
  };
}
