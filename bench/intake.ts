import { monitorEventLoopDelay } from 'node:perf_hooks';
import http from 'node:http';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { Db } from '../src/db/knex';
import { makeRecords, type Fixture } from './fixture';
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
async function copyBatches(url: string, batches: CopyBatch[], concurrency: number, withCdrs: boolean): Promise<number> {
  const clients = await Promise.all(
    Array.from({ length: concurrency }, async () => {
      const c = new pg.Client({ connectionString: url, application_name: 'bench copy' });
      await c.connect();
      return c;
    }),
  );
  const free = [...clients];
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
  await Promise.all(clients.map((c) => c.end()));
  return seconds;
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
  const t0 = performance.now();
  await pool(measured, o.concurrency, async (body) => {
    const s = performance.now();
    const r = await post(o.url, f.token, body);
    latencies.push(performance.now() - s);
    if (r.status !== 200 || r.json.accepted !== o.perRequest) throw new Error(`batch post answered ${r.status}: ${JSON.stringify(r.json).slice(0, 500)}`);
    for (const rec of r.json.records) for (const leg of rec.legs) if (leg.status === 'rated') rated++;
  });
  const intakeSeconds = (performance.now() - t0) / 1000;
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
    await admin.query('TRUNCATE call_legs, charges, cdrs');
    await admin.query('CHECKPOINT');
  };
  await reset();
  o.log('  baseline: COPY of the same leg and charge rows');
  const copySeconds = await copyBatches(o.dbUrl, batches, o.concurrency, false);
  await reset();
  o.log('  baseline: COPY of the same legs, charges and raw records');
  const copyWithCdrsSeconds = await copyBatches(o.dbUrl, batches, o.concurrency, true);
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
}

function runLoad(input: LoadInput): Promise<LoadOutput> {
  return new Promise((resolve, reject) => {
    // Workers do not inherit tsx's loader: register its CommonJS hook first, then load the TS file.
    const file = JSON.stringify(path.join(__dirname, 'load-worker.ts'));
    const w = new Worker(`require('tsx/cjs'); require(${file});`, { eval: true, workerData: input });
    w.once('message', (m: LoadOutput) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
    w.once('exit', (code) => code !== 0 && code !== 1 && reject(new Error(`load worker exited with ${code}`)));
  });
}

export async function benchSinglePosts(o: { url: string; db: Db; fixture: Fixture; clients: number; rate: number; durationS: number; timeoutMs: number; tag: string; log(msg: string): void }): Promise<LoadResult> {
  const { fixture: f } = o;
  const single = (tag: string, count: number, seed: number) => makeRecords(f, count, { tag, seed }).map((r) => JSON.stringify(r));
  o.log(`  warm-up: 2 s at ${Math.round(o.rate / 5)} posts/s`);
  const warm = await runLoad({ url: o.url, token: f.token, bodies: single(`${o.tag}W`, Math.round((o.rate / 5) * 2), 21), clients: o.clients, rate: o.rate / 5, durationMs: 2000, timeoutMs: o.timeoutMs });
  if (warm.ok !== warm.due) throw new Error(`warm-up: ${warm.ok} of ${warm.due} posts answered 2xx: ${JSON.stringify(warm.errors)}`);
  await o.db.raw('CHECKPOINT');

  o.log(`  measured: ${o.clients} clients, ${o.rate} posts/s for ${o.durationS} s (open loop)`);
  const bodies = single(o.tag, Math.round(o.rate * o.durationS), 31);
  // How long the server's event loop (this thread) was ever blocked: tells a stall in our own code
  // from a wait on Postgres or the network.
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const r = await runLoad({ url: o.url, token: f.token, bodies, clients: o.clients, rate: o.rate, durationMs: o.durationS * 1000, timeoutMs: o.timeoutMs });
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
  };
}
