/**
 * A hostile or broken platform, run in a worker thread beside (b)'s load generator: for the length
 * of the run it posts bad bodies at a steady rate (every class the intake refuses: JSON nested
 * thousands deep, a NUL byte, bytes that are not UTF-8, a corrupt deflate body, a start in the
 * year 9999, records with unknown fields) and, in turn, huge ones: a post of 100,000 small records
 * (over the cap) and a 10 MB post of 10,000 long records (under it, so parsed, rated and stored).
 * Bodies are built before the clock starts, here, not on the server's thread.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';

export interface HostileInput {
  url: string;
  token: string;
  durationMs: number;
  /** Bad (small) posts a second. */
  badRate: number;
  /** A huge post every this many ms, alternating the two kinds. */
  hugeEveryMs: number;
  tag: string;
}

export interface HostileOutput {
  sent: number;
  /** Answers by kind of post and HTTP status (or network error). */
  answers: Record<string, Record<string, number>>;
  /** Slowest answer to a huge post, ms. */
  hugeMaxMs: number;
}

interface Body {
  kind: string;
  bytes: Buffer;
  headers?: Record<string, string>;
}

function bodies(tag: string): { bad: Body[]; huge: Body[] } {
  const rec = (id: string, extra: Record<string, unknown> = {}) => ({ leg_id: id, calling: '+12125550100', called: '+442079460000', start: '2026-11-25T12:00:00Z', ...extra });
  const j = (v: unknown) => Buffer.from(JSON.stringify(v));
  const bad: Body[] = [
    { kind: 'deep JSON', bytes: Buffer.from('['.repeat(5000) + ']'.repeat(5000)) },
    { kind: 'NUL byte', bytes: Buffer.concat([j([rec(`${tag}-nul`)]).subarray(0, 20), Buffer.from([0]), Buffer.from('"}]')]) },
    { kind: 'not UTF-8', bytes: Buffer.concat([Buffer.from(`[{"leg_id":"${tag}-`), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}]')]) },
    { kind: 'corrupt deflate', bytes: crypto.randomBytes(2048), headers: { 'content-encoding': 'deflate' } },
    { kind: 'year 9999', bytes: j([rec(`${tag}-y9999`, { start: '9999-12-31T23:00:00Z' })]) },
    { kind: 'unknown fields', bytes: j(Array.from({ length: 50 }, (_, i) => ({ foo: i }))) },
  ];
  const many = Buffer.from(JSON.stringify(Array.from({ length: 100_000 }, (_, i) => ({ leg_id: `${tag}-m${i}` }))));
  // Records as long as the generic format lets them be (about 1 KB each), all valid: stored.
  const long = (s: string, n: number) => s + 'x'.repeat(n - s.length);
  const tenMb = Buffer.from(
    JSON.stringify(
      Array.from({ length: 10_000 }, (_, i) =>
        rec(long(`${tag}-b${i}-`, 255), { call_id: long(`${tag}-c${i}-`, 255), trunk: long('gw-', 100), account_code: long('acct-', 100), answer: '2026-11-25T12:00:05Z', end: '2026-11-25T12:01:00Z', billsec: 55 }),
      ),
    ),
  );
  return { bad, huge: [{ kind: '100,000 records', bytes: many }, { kind: `${(tenMb.length / 1e6).toFixed(0)} MB`, bytes: tenMb }] };
}

function run(input: HostileInput): Promise<HostileOutput> {
  const target = new URL('/api/v1/cdrs', input.url);
  const { bad, huge } = bodies(input.tag);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const out: HostileOutput = { sent: 0, answers: {}, hugeMaxMs: 0 };
  const note = (kind: string, status: string) => {
    const k = (out.answers[kind] ??= {});
    k[status] = (k[status] ?? 0) + 1;
  };
  let pending = 0;
  let stopped = false;
  let resolve!: (o: HostileOutput) => void;
  const done = new Promise<HostileOutput>((r) => (resolve = r));
  const finishIfDone = () => {
    if (stopped && pending === 0) {
      agent.destroy();
      resolve(out);
    }
  };
  const send = (b: Body, isHuge: boolean) => {
    out.sent++;
    pending++;
    const t = performance.now();
    const req = http.request(target, {
      method: 'POST',
      agent,
      headers: { authorization: `Bearer ${input.token}`, 'content-type': 'application/json', 'content-length': b.bytes.length, ...b.headers },
    }, (res) => {
      res.resume();
      res.on('end', () => {
        note(b.kind, `HTTP ${res.statusCode}`);
        if (isHuge) out.hugeMaxMs = Math.max(out.hugeMaxMs, performance.now() - t);
        pending--;
        finishIfDone();
      });
    });
    req.setTimeout(120_000, () => req.destroy(new Error('timeout')));
    req.on('error', (e) => {
      note(b.kind, `network: ${(e as NodeJS.ErrnoException).code ?? e.message}`);
      pending--;
      finishIfDone();
    });
    req.end(b.bytes);
  };
  const t0 = performance.now();
  let k = 0;
  const badTimer = setInterval(() => {
    if (performance.now() - t0 >= input.durationMs) return;
    send(bad[k++ % bad.length] as Body, false);
  }, 1000 / input.badRate);
  let h = 0;
  const sendHuge = () => send(huge[h++ % huge.length] as Body, true);
  setTimeout(sendHuge, 500); // the first one early, while the good posts flow
  const hugeTimer = setInterval(() => performance.now() - t0 < input.durationMs - 1000 && sendHuge(), input.hugeEveryMs);
  setTimeout(() => {
    clearInterval(badTimer);
    clearInterval(hugeTimer);
    stopped = true;
    finishIfDone();
  }, input.durationMs);
  return done;
}

if (parentPort) {
  const port = parentPort;
  run(workerData as HostileInput).then((r) => port.postMessage(r));
}
