/**
 * Bulk provisioning through the JSON API (issue 14): N subscribers with a number each created by
 * POST /api/v1/subscribers/bulk (items per request and requests in flight as given), through the
 * real app on a loopback port with a reseller's read-write API key, each request with its
 * Idempotency-Key; beside `COPY subscribers` and `COPY phone_numbers` of the same rows (for another
 * reseller, with its own range) in the same run. The API writes what COPY does not: the audit rows
 * (and their outbox events) of every subscriber and number, the range check, the savepoints.
 *
 *   npm run bench -- --only=i --bulk-subscribers=100000      (part (i) of bench/run.ts; options with bulk-)
 *
 * Options: --bulk-subscribers=N (default 100,000), --bulk-per-request=N (default 1,000, the API's
 * most), --bulk-concurrency=N (requests in flight, default 2). Not asserted anywhere.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import pino from 'pino';
import { createApp } from '../src/app';
import type { Config } from '../src/config';
import type { Db } from '../src/db/knex';
import { SYSTEM_ACTOR } from '../src/domain/tenancy/actor';
import { createKey } from '../src/modules/api-keys/api-keys.service';
import { describeMachine, machineLine, type Machine } from './machine';

export interface ApiBulkBenchOptions {
  subscribers: number;
  perRequest: number;
  concurrency: number;
  log: (msg: string) => void;
}

export interface ApiBulkBenchResult {
  date: string;
  command: string;
  machine: Machine;
  load: { before: number; after: number };
  subscribers: number;
  perRequest: number;
  concurrency: number;
  api: { seconds: number; created: number; failed: number; perSecond: number; requests: number; p50RequestMs: number; maxRequestMs: number; auditRows: number };
  copy: { seconds: number; rows: number; perSecond: number };
  /** COPY of every row the API writes for a subscriber: its row and number, and their two audit rows and two outbox events. */
  copyAll: { seconds: number; rows: number; perSecond: number };
  ratio: number;
  ratioAll: number;
}

/** A range of numbers for one reseller: +1 (area) 000 0000 onwards, one per subscriber. */
const numberOf = (area: number, i: number) => `+1${area}${String(2_000_000 + i).padStart(7, '0')}`;

function post(url: string, path: string, token: string, body: string, idempotencyKey: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}${path}`, {
      method: 'POST',
      agent: keepAlive,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Authorization: `Bearer ${token}`, 'Idempotency-Key': idempotencyKey },
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 16 });

const copyText = (v: string | number | null): string => (v === null ? '\\N' : String(v).replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n'));

export async function benchApiBulk(deps: { db: Db; config: Config; databaseUrl: string }, o: ApiBulkBenchOptions, meta: { date: string; command: string }): Promise<ApiBulkBenchResult> {
  const { db } = deps;
  const machine = await describeMachine(db);
  const [apiReseller] = await db('resellers').insert({ name: 'Bulk API reseller', code: `bulk-api-${crypto.randomBytes(2).toString('hex')}`, currency: 'USD' }).returning('id');
  const [copyReseller] = await db('resellers').insert({ name: 'Bulk COPY reseller', code: `bulk-copy-${crypto.randomBytes(2).toString('hex')}`, currency: 'USD' }).returning('id');
  const [allReseller] = await db('resellers').insert({ name: 'Bulk COPY-all reseller', code: `bulk-all-${crypto.randomBytes(2).toString('hex')}`, currency: 'USD' }).returning('id');
  const allResellerId = Number((allReseller as { id: number }).id);
  const apiResellerId = Number((apiReseller as { id: number }).id);
  const copyResellerId = Number((copyReseller as { id: number }).id);
  const [apiArea, copyArea, allArea] = [332, 646, 917];
  await db('number_ranges').insert([
    { reseller_id: apiResellerId, first_number: numberOf(apiArea, 0), last_number: numberOf(apiArea, o.subscribers - 1) },
    { reseller_id: copyResellerId, first_number: numberOf(copyArea, 0), last_number: numberOf(copyArea, o.subscribers - 1) },
  ]);
  const { token } = await createKey(db, SYSTEM_ACTOR, { kind: 'reseller', resellerId: apiResellerId }, { name: 'Bulk migration', access: 'write' });

  const logFile = `${os.tmpdir()}/bench_api_bulk_${process.pid}.log`;
  const logger = pino({ level: 'warn', base: { service: 'voip-billing' } }, pino.destination({ dest: logFile, sync: false }));
  const built = createApp({ config: { ...deps.config, apiRequestsPerSecondPerKey: 1_000_000 }, db, databaseUrl: deps.databaseUrl, instanceSecret: crypto.randomBytes(32).toString('hex'), logger });
  const server = http.createServer(built.app);
  await built.warmUp();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  o.log(`(i) bulk API: ${o.subscribers.toLocaleString('en')} subscribers with a number each, ${o.perRequest} a request, ${o.concurrency} in flight; app on ${url}`);

  const item = (i: number) => ({ account_number: `MIG-${i}`, name: `Migrated subscriber ${i}`, country: 'US', city: 'New York', email: `m${i}@example.com`, numbers: [numberOf(apiArea, i)] });
  const batches: number[][] = [];
  for (let i = 0; i < o.subscribers; i += o.perRequest) batches.push(Array.from({ length: Math.min(o.perRequest, o.subscribers - i) }, (_, k) => i + k));
  // The request bodies, made before the clock starts.
  const bodies = batches.map((b) => JSON.stringify({ items: b.map(item) }));
  await db.raw('CHECKPOINT');
  const load = { before: os.loadavg()[0] as number, after: 0 };
  const times: number[] = [];
  let created = 0;
  let failed = 0;
  let next = 0;
  let lastLog = performance.now();
  const a0 = performance.now();
  try {
    await Promise.all(Array.from({ length: o.concurrency }, async () => {
      while (next < bodies.length) {
        const k = next++;
        const r0 = performance.now();
        const res = await post(url, '/api/v1/subscribers/bulk', token, bodies[k] as string, `bulk-${k}`);
        times.push(performance.now() - r0);
        if (res.status !== 200) throw new Error(`request ${k}: ${res.status} ${res.text.slice(0, 300)}`);
        const answer = JSON.parse(res.text) as { created: number; failed: number; items: Array<{ status: string; problem?: unknown }> };
        created += answer.created;
        failed += answer.failed;
        if (answer.failed && failed === answer.failed) o.log(`  first failure: ${JSON.stringify(answer.items.find((x) => x.status === 'failed'))}`);
        if (performance.now() - lastLog > 15_000) {
          lastLog = performance.now();
          o.log(`  ${created.toLocaleString('en')} created, ${((created * 1000) / (lastLog - a0)).toFixed(0)}/s`);
        }
      }
    }));
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await built.close();
    keepAlive.destroy();
    logger.flush();
    fs.rmSync(logFile, { force: true });
  }
  const apiSeconds = (performance.now() - a0) / 1000;
  const auditRows = Number((await db('audit_log').where({ reseller_id: apiResellerId }).count('* as c'))[0]?.c ?? 0);
  o.log(`  API: ${created.toLocaleString('en')} created (${failed} failed) in ${apiSeconds.toFixed(1)} s, ${(created / apiSeconds).toFixed(0)}/s; ${auditRows.toLocaleString('en')} audit rows`);
  await db.raw('CHECKPOINT');

  // COPY of the same rows for the other reseller: subscribers with ids reserved from their sequence, then their numbers.
  const { rows: seq } = await db.raw(`SELECT setval(pg_get_serial_sequence('subscribers', 'id'), nextval(pg_get_serial_sequence('subscribers', 'id')) + ?) AS last`, [o.subscribers]);
  const firstId = Number(seq[0].last) - o.subscribers;
  const subLines: string[] = [];
  const numLines: string[] = [];
  for (let i = 0; i < o.subscribers; i++) {
    const it = item(i);
    subLines.push([firstId + i, copyResellerId, it.account_number, it.name, it.country, it.city, it.email].map(copyText).join('\t'));
    numLines.push([copyResellerId, firstId + i, numberOf(copyArea, i)].map(copyText).join('\t'));
  }
  const client = (db as unknown as { client: { acquireConnection(): Promise<PoolClient>; releaseConnection(c: PoolClient): Promise<void> } }).client;
  const conn = await client.acquireConnection();
  let copySeconds: number;
  const chunks = (lines: string[]) => Readable.from((function* () {
    for (let i = 0; i < lines.length; i += 10_000) yield `${lines.slice(i, i + 10_000).join('\n')}\n`;
  })());
  try {
    const c0 = performance.now();
    await conn.query('BEGIN');
    await pipeline(chunks(subLines), conn.query(copyFrom('COPY subscribers (id, reseller_id, account_number, name, country, city, email) FROM STDIN')));
    await pipeline(chunks(numLines), conn.query(copyFrom('COPY phone_numbers (reseller_id, subscriber_id, number) FROM STDIN')));
    await conn.query('COMMIT');
    copySeconds = (performance.now() - c0) / 1000;
  } finally {
    await client.releaseConnection(conn);
  }
  o.log(`  COPY subscribers + phone_numbers: ${o.subscribers.toLocaleString('en')} in ${copySeconds.toFixed(2)} s`);
  await db.raw('CHECKPOINT');

  // COPY of every row the API writes (a third reseller): the subscriber and its number, an audit row
  // for each (ids reserved, as the API takes them) and their two outbox events, the JSON as the API's.
  const reserve = async (seq: string, n: number) => Number((await db.raw(`SELECT setval(?, nextval(?) + ?) AS last`, [seq, seq, n])).rows[0].last) - n;
  const subBase = await reserve('subscribers_id_seq', o.subscribers);
  const numBase = await reserve('phone_numbers_id_seq', o.subscribers);
  const auditBase = await reserve('audit_log_id_seq', 2 * o.subscribers);
  const all = { subs: [] as string[], nums: [] as string[], audits: [] as string[], events: [] as string[] };
  for (let i = 0; i < o.subscribers; i++) {
    const it = item(i);
    const [sid, nid, number] = [subBase + i, numBase + i, numberOf(allArea, i)];
    all.subs.push([sid, allResellerId, it.account_number, it.name, it.country, it.city, it.email].map(copyText).join('\t'));
    all.nums.push([nid, allResellerId, sid, number].map(copyText).join('\t'));
    const subAfter = JSON.stringify({ id: sid, reseller_id: allResellerId, account_number: it.account_number, name: it.name, status: 'active', email: it.email, city: it.city, country: it.country, numbers: [number], identities: [] });
    const numAfter = JSON.stringify({ number, subscriber_id: sid, account_number: it.account_number, label: null });
    for (const [k, type, entity, id, action, after] of [[0, 'subscriber.created', 'subscriber', sid, 'create', subAfter], [1, 'number.assigned', 'phone_number', nid, 'assign', numAfter]] as const) {
      const auditId = auditBase + 2 * i + k;
      all.audits.push([auditId, allResellerId, 'bulk migration', 'reseller_admin', entity, id, action, after, 'bulk'].map(copyText).join('\t'));
      all.events.push([allResellerId, auditId, type, entity, id, JSON.stringify({ entity_type: entity, entity_id: id, action, before: null, after: JSON.parse(after) })].map(copyText).join('\t'));
    }
  }
  const conn2 = await client.acquireConnection();
  let copyAllSeconds: number;
  try {
    const c0 = performance.now();
    await conn2.query('BEGIN');
    await pipeline(chunks(all.subs), conn2.query(copyFrom('COPY subscribers (id, reseller_id, account_number, name, country, city, email) FROM STDIN')));
    await pipeline(chunks(all.nums), conn2.query(copyFrom('COPY phone_numbers (id, reseller_id, subscriber_id, number) FROM STDIN')));
    await pipeline(chunks(all.audits), conn2.query(copyFrom('COPY audit_log (id, reseller_id, actor_email, actor_role, entity_type, entity_id, action, after, request_id) FROM STDIN')));
    await pipeline(chunks(all.events), conn2.query(copyFrom('COPY outbox_events (reseller_id, audit_id, type, entity_type, entity_id, payload) FROM STDIN')));
    await conn2.query('COMMIT');
    copyAllSeconds = (performance.now() - c0) / 1000;
  } finally {
    await client.releaseConnection(conn2);
  }
  load.after = os.loadavg()[0] as number;
  o.log(`  COPY of every row the API writes: ${o.subscribers.toLocaleString('en')} subscribers in ${copyAllSeconds.toFixed(2)} s`);

  const sorted = [...times].sort((a, b) => a - b);
  const api = {
    seconds: apiSeconds, created, failed, perSecond: created / apiSeconds, requests: times.length,
    p50RequestMs: sorted[Math.floor(sorted.length / 2)] ?? 0, maxRequestMs: sorted[sorted.length - 1] ?? 0, auditRows,
  };
  const copy = { seconds: copySeconds, rows: o.subscribers, perSecond: o.subscribers / copySeconds };
  const copyAll = { seconds: copyAllSeconds, rows: o.subscribers, perSecond: o.subscribers / copyAllSeconds };
  return { ...meta, machine, load, subscribers: o.subscribers, perRequest: o.perRequest, concurrency: o.concurrency, api, copy, copyAll, ratio: api.perSecond / copy.perSecond, ratioAll: api.perSecond / copyAll.perSecond };
}

const n0 = (x: number) => Math.round(x).toLocaleString('en');

export function apiBulkMarkdown(r: ApiBulkBenchResult): string {
  return [
    `### Bulk subscribers through the API, run of ${r.date}`,
    '',
    `\`${r.command}\`. ${machineLine(r.machine)}. Load average (1 min) ${r.load.before.toFixed(2)} when the timing started, ${r.load.after.toFixed(2)} when it ended.`,
    '',
    `${n0(r.subscribers)} subscribers with a number each, created by POST /api/v1/subscribers/bulk with a reseller’s read-write key (${n0(r.perRequest)} items a request, ${r.concurrency} requests in flight, each with its Idempotency-Key), through the real app on a loopback port; beside COPY of the same rows into subscribers and phone_numbers (another reseller, its own range), and COPY of every row the API writes for them (a third reseller), in the same run.`,
    '',
    '| | subscribers | time | subscribers/s |',
    '|---|---:|---:|---:|',
    `| the API (bulk) | ${n0(r.api.created)}${r.api.failed ? ` (${n0(r.api.failed)} failed)` : ''} | ${r.api.seconds.toFixed(1)} s | ${n0(r.api.perSecond)} |`,
    `| COPY subscribers + COPY phone_numbers | ${n0(r.copy.rows)} | ${r.copy.seconds.toFixed(2)} s | ${n0(r.copy.perSecond)} |`,
    `| COPY of every row the API writes (subscriber, number, 2 audit rows, 2 outbox events) | ${n0(r.copyAll.rows)} | ${r.copyAll.seconds.toFixed(2)} s | ${n0(r.copyAll.perSecond)} |`,
    '',
    `- API / COPY subscribers/s: **${r.ratio.toFixed(3)}** (issue 14's target: at least 0.25); against COPY of every row the API writes: **${r.ratioAll.toFixed(3)}**. ${n0(r.api.requests)} requests, median ${n0(r.api.p50RequestMs)} ms, slowest ${n0(r.api.maxRequestMs)} ms. The API wrote ${n0(r.api.auditRows)} audit rows beside the rows.`,
    '',
  ].join('\n');
}

export const BULK_START = '<!-- bench:api-bulk:start (written by npm run bench -- --only=i) -->';
export const BULK_END = '<!-- bench:api-bulk:end -->';

/** Replaces the marked bulk-API section of docs/PERFORMANCE.md (added at the end if missing). */
export function writeApiBulkDoc(file: string, r: ApiBulkBenchResult): void {
  const section = `${BULK_START}\n${apiBulkMarkdown(r)}${BULK_END}`;
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Performance\n';
  const a = text.indexOf(BULK_START);
  const b = text.indexOf(BULK_END);
  if (a >= 0 && b > a) text = text.slice(0, a) + section + text.slice(b + BULK_END.length);
  else text = `${text.trimEnd()}\n\n## Bulk subscribers through the API (the latest run of bench (i), written by it)\n\n${section}\n`;
  fs.writeFileSync(file, text);
}

/** Options from the command line, prefixed bulk- as part (i) of bench/run.ts. */
export function apiBulkOptions(a: Map<string, string>, log: (msg: string) => void, prefix = 'bulk-'): ApiBulkBenchOptions {
  const num = (k: string, d: number) => {
    const v = a.has(`${prefix}${k}`) ? Number(a.get(`${prefix}${k}`)) : d;
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${prefix}${k}: a whole number, at least 1`);
    return v;
  };
  const perRequest = num('per-request', 1000);
  if (perRequest > 1000) throw new Error(`--${prefix}per-request: at most 1000 (the API's limit)`);
  return { subscribers: num('subscribers', 100_000), perRequest, concurrency: num('concurrency', 2), log };
}
