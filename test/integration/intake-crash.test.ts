import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { makePlan, makeReseller, makeSubscriber } from '../support/factories';
import { makePlatform } from '../support/intake';
import { freePort } from '../support/net';

/**
 * Crash safety of the intake's promise: "acknowledged only after commit; re-posting is
 * idempotent". The real server (src/server.ts) runs as a child process on a test database; a
 * platform streams single-record posts at it, 8 in flight, and the server is SIGKILLed mid-stream.
 * After a restart on the same database the platform re-posts every leg it had sent, answered or
 * not, as a real switch retries. Then: every leg acknowledged before the kill is stored exactly
 * once and answers 'duplicate'; no leg is stored twice; every leg sent is stored.
 *
 * Runs with TEST_DATABASE_URL only (a fresh database there). On the embedded default it is skipped:
 * the test's PGlite serves every socket connection from ONE backend session, and a separate process
 * with a pool of connections sees their extended-protocol messages interleaved outside transactions
 * (checked: 8 concurrent posts against a child server, no kill at all, got 237 of 400 answered 500
 * with "bind message supplies 1 parameters, but prepared statement "" requires 2" and 16 wrongly
 * answered 401). That is a limit of the test harness, not of the intake: the embedded server runs
 * PGlite inside its own process, which a crash takes down with it.
 */
const SKIP = process.env.TEST_DATABASE_URL
  ? false
  : 'needs TEST_DATABASE_URL: the embedded PGlite shares one session among socket clients, so a second process with concurrent connections gets interleaved protocol messages (see the comment above)';

const ROOT = path.resolve(__dirname, '../..');
const STARTUP_MS = 45_000;
const IN_FLIGHT = 8;
const TOTAL = 400;
/** Kill once this many posts have been acknowledged (the stream is then well under way). */
const KILL_AFTER_ACKS = 60;

const children = new Set<ChildProcess>();

interface Server {
  child: ChildProcess;
  url: string;
  exited: Promise<void>;
  output(): string;
}

/** Starts src/server.ts on `databaseUrl` and waits until it says it is serving. */
async function startServer(databaseUrl: string): Promise<Server> {
  const port = await freePort();
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    NODE_ENV: 'production',
    LOG_LEVEL: process.env.CRASH_TEST_LOG_LEVEL ?? 'warn',
    HOST: '127.0.0.1',
    PORT: String(port),
    DATABASE_URL: databaseUrl,
    ADMIN_EMAIL: 'crash-test@example.com',
    ADMIN_PASSWORD: 'crash test password 0123',
  };
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      children.delete(child);
      resolve();
    }),
  );
  const deadline = Date.now() + STARTUP_MS;
  while (!out.includes('VoIP Billing is serving')) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`server exited (${child.exitCode ?? child.signalCode}): ${out}`);
    if (Date.now() > deadline) throw new Error(`server did not start within ${STARTUP_MS} ms: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, url: `http://127.0.0.1:${port}`, exited, output: () => out };
}

async function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  await done;
}

type Answer = { status: number; body: any } | { error: string };

function post(agent: http.Agent, url: string, token: string, body: string): Promise<Answer> {
  return new Promise((resolve) => {
    const req = http.request(
      new URL('/api/v1/cdrs', url),
      { method: 'POST', agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
          } catch {
            resolve({ status: res.statusCode ?? 0, body: text });
          }
        });
        res.on('error', (e) => resolve({ error: e.message }));
      },
    );
    req.on('error', (e) => resolve({ error: (e as NodeJS.ErrnoException).code ?? e.message }));
    req.end(body);
  });
}

const ok = (a: Answer): a is { status: number; body: any } => 'status' in a && a.status >= 200 && a.status < 300;

describe('CDR intake survives a crash: acknowledged legs are stored once, retries are idempotent', { skip: SKIP }, () => {
  let database: TestDatabase;
  let token: string;
  let platformId: number;
  let server: Server | undefined;

  before(async () => {
    database = await createTestDatabase();
    const { db } = database;
    const p = await makePlatform(db);
    token = p.token;
    platformId = p.id;
    // A rated path (two charges per leg), so a crash can fall between a leg and its charges.
    const wholesale = await makePlan(db, null, { name: 'Crash WS' });
    const reseller = await makeReseller(db, { wholesale_plan_id: wholesale.id });
    const retail = await makePlan(db, reseller.id, { name: 'Crash retail' });
    await makeSubscriber(db, reseller.id, { retail_plan_id: retail.id }, ['+12125550123']);
    const rate = (planId: number, resellerId: number | null, r: string) => ({
      rate_plan_id: planId, reseller_id: resellerId, prefix: '44', direction: 'outbound', effective_from: '2020-01-01T00:00:00Z', connect_fee: '0',
      steps: JSON.stringify([{ from: 0, rate: r, rate_unit: 60, increment: 1 }]),
    });
    await db('rates').insert([rate(wholesale.id, null, '0.0200'), rate(retail.id, reseller.id, '0.0500')]);
  });

  after(async () => {
    // Every child, even when a test failed half-way; then the database.
    await Promise.all([...children].map((c) => kill(c, 'SIGKILL')));
    await database?.close();
  });

  test('SIGKILL mid-stream, restart, re-post everything sent', { timeout: 120_000 }, async (t) => {
    const bodies = Array.from({ length: TOTAL }, (_, i) =>
      JSON.stringify({
        leg_id: `crash-${i}`, calling: '+12125550123', called: `+4420794${String(60000 + i).padStart(5, '0')}`,
        start: new Date(Date.UTC(2026, 10, 20, 12, 0, 0) + i * 1000).toISOString(),
        answer: new Date(Date.UTC(2026, 10, 20, 12, 0, 5) + i * 1000).toISOString(),
        end: new Date(Date.UTC(2026, 10, 20, 12, 1, 5) + i * 1000).toISOString(),
      }),
    );

    // ---- first run: stream, kill mid-stream -------------------------------------------------------
    server = await startServer(database.url);
    const first = server;
    const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
    const sent = new Set<number>();
    const acked = new Set<number>();
    let killed: Promise<void> | undefined;
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < TOTAL && !killed) {
          const i = next++;
          sent.add(i);
          const a = await post(agent, first.url, token, bodies[i] as string);
          if (ok(a)) {
            assert.equal(a.body.records[0].status, 'accepted', `leg ${i} is new in the first run`);
            acked.add(i);
          }
          // Kill while the other posts are in flight: no await before the signal is sent.
          if (acked.size >= KILL_AFTER_ACKS && !killed) killed = kill(first.child, 'SIGKILL');
        }
      }),
    );
    assert.ok(killed, `the stream ended before ${KILL_AFTER_ACKS} acknowledgements: ${first.output()}`);
    await killed;
    agent.destroy();
    assert.equal(first.child.signalCode, 'SIGKILL');
    const unacked = [...sent].filter((i) => !acked.has(i));
    assert.ok(unacked.length > 0, 'some posts were in flight (unanswered) at the kill');

    // ---- restart on the same database; re-post every leg sent, twice, concurrently --------------
    server = await startServer(database.url);
    const second = server;
    const agent2 = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
    // Each leg twice, the two copies side by side: a retry can race another retry (same group commit).
    const work = [...sent].sort((a, b) => a - b).flatMap((i) => [i, i]);
    const answers = new Map<number, string[]>();
    let w = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (w < work.length) {
          const i = work[w++] as number;
          const a = await post(agent2, second.url, token, bodies[i] as string);
          assert.ok(ok(a), `re-post of leg ${i} answered ${JSON.stringify(a)}; server said: ${second.output().slice(-3000)}`);
          const list = answers.get(i) ?? [];
          list.push(a.body.records[0].status as string);
          answers.set(i, list);
        }
      }),
    );
    agent2.destroy();

    const committedUnanswered = unacked.filter((i) => answers.get(i)?.every((s) => s === 'duplicate')).length;
    t.diagnostic(`sent ${sent.size}, acknowledged before the kill ${acked.size}, unanswered ${unacked.length} (of which committed before the kill ${committedUnanswered})`);
    for (const i of acked) assert.deepEqual(answers.get(i), ['duplicate', 'duplicate'], `leg ${i} was acknowledged before the kill`);
    for (const i of unacked) {
      const list = [...(answers.get(i) ?? [])].sort();
      // Committed before the kill but never answered: both duplicates; not committed: stored now, once.
      assert.ok(
        JSON.stringify(list) === JSON.stringify(['duplicate', 'duplicate']) || JSON.stringify(list) === JSON.stringify(['accepted', 'duplicate']),
        `leg ${i} (unanswered before the kill) got ${JSON.stringify(list)}`,
      );
    }

    // ---- the table: every leg sent exactly once, every rated leg with exactly its two charges ------
    const rows = (await database.db('call_legs').where({ platform_id: platformId }).select('id', 'leg_key', 'status')) as Array<{ id: number; leg_key: string; status: string }>;
    const byKey = new Map<string, number>();
    for (const r of rows) byKey.set(r.leg_key, (byKey.get(r.leg_key) ?? 0) + 1);
    const twice = [...byKey].filter(([, n]) => n > 1);
    assert.deepEqual(twice, [], 'no leg is stored twice');
    for (const i of sent) assert.equal(byKey.get(`crash-${i}`), 1, `leg crash-${i} is stored once`);
    assert.equal(rows.length, sent.size, 'nothing but the legs sent');
    assert.ok(rows.every((r) => r.status === 'rated'), 'every leg is rated');
    const charges = (await database.db('charges').whereIn('leg_id', rows.map((r) => r.id)).select('leg_id', 'kind')) as Array<{ leg_id: number; kind: string }>;
    assert.equal(charges.length, 2 * rows.length, 'each leg has one wholesale and one retail charge, never more');

    await kill(second.child, 'SIGTERM');
  });
});
