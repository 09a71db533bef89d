import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { MAX_RECORD_BYTES, MAX_RECORDS_PER_POST } from '../../src/modules/intake/intake.service';
import { createTestApp, listen, type TestApp } from '../support/app';
import { makePlatform, postCdrs } from '../support/intake';

/** One platform's posts cannot hold up the others': limits per platform, answered 429 with Retry-After. */
describe('CDR intake: what one platform may ask at once', () => {
  let t: TestApp;
  let server: Awaited<ReturnType<typeof listen>>;
  before(async () => {
    t = await createTestApp({ INTAKE_MAX_IN_FLIGHT_PER_PLATFORM: '2', INTAKE_MAX_POSTS_PER_SECOND_PER_PLATFORM: '20', INTAKE_MAX_MB_IN_FLIGHT_PER_PLATFORM: '1', INTAKE_PARSE_THREADS: '1' });
    server = await listen(t.app);
  });
  after(async () => {
    await server.close();
    await t.close();
  });

  const leg = (id: string) => JSON.stringify({ leg_id: id, calling: '+12125550100', called: '+442079460000', start: '2026-11-25T12:00:00Z' });

  /** A post whose body arrives only when `finish` is called: a slow or stalled sender. */
  const slowPost = (token: string, body: string) => {
    const { port } = new URL(server.url);
    let answer!: Promise<number>;
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/api/v1/cdrs', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
    answer = new Promise((resolve, reject) => {
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
    });
    req.write(body.slice(0, 5));
    return { finish: () => (req.end(body.slice(5)), answer) };
  };

  test('a platform with its posts in flight at the limit is answered 429 with Retry-After; another platform is not held up', async () => {
    const slow = await makePlatform(t.db);
    const other = await makePlatform(t.db);
    const a = slowPost(slow.token, leg('S-1'));
    const b = slowPost(slow.token, leg('S-2'));
    await new Promise((r) => setTimeout(r, 200));
    const third = await postCdrs(t, slow.token, leg('S-3'));
    assert.equal(third.status, 429);
    assert.equal(third.headers['retry-after'], '1');
    assert.match(third.body.error, /posts in flight/);
    assert.equal((await postCdrs(t, other.token, leg('O-1'))).status, 200);
    assert.deepEqual(await Promise.all([a.finish(), b.finish()]), [200, 200]);
    assert.equal((await postCdrs(t, slow.token, leg('S-3'))).status, 200);
  });

  test('more posts a second than a platform may send: 429 with Retry-After, nothing stored of them; another platform unaffected', async () => {
    const busy = await makePlatform(t.db);
    const other = await makePlatform(t.db);
    // Sent at once (one after the other would depend on how fast this machine answers): 30 posts
    // against 20 a second. Past the rate they are refused before anything else is looked at.
    const post = async (i: number) => {
      const res = await fetch(new URL('/api/v1/cdrs', server.url), { method: 'POST', headers: { authorization: `Bearer ${busy.token}`, 'content-type': 'application/json' }, body: JSON.stringify(leg(`R-${i}`)) });
      return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as { error?: string } };
    };
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => post(i)));
    const refused = answers.filter((a) => a.status === 429 && /posts a second/.test(a.body.error ?? ''));
    assert.ok(refused.length >= 5, `${refused.length} refused for the rate of 30: ${JSON.stringify(answers.map((a) => a.status))}`);
    assert.ok(Number(refused[0]?.retryAfter) >= 1);
    const stored = Number((await t.db('call_legs').where({ platform_id: busy.id }).count('* as n').first())?.n);
    assert.equal(stored, answers.filter((a) => a.status === 200).length);
    assert.equal((await postCdrs(t, other.token, leg('O-2'))).status, 200);
  });

  test(`more than ${MAX_RECORDS_PER_POST} records in one post: 413, kept; a record longer than ${MAX_RECORD_BYTES} characters: refused alone`, async () => {
    const p = await makePlatform(t.db);
    const many = await postCdrs(t, p.token, JSON.stringify(Array.from({ length: MAX_RECORDS_PER_POST + 1 }, (_, i) => ({ leg_id: `M-${i}` }))));
    assert.equal(many.status, 413);
    assert.match(many.body.error, /10001 records, more than the 10000 a post may carry/);
    assert.ok(many.body.reject_id);
    await new Promise((r) => setTimeout(r, 1100)); // a fresh second of the rate limit
    // A FreeSWITCH CDR carries whatever variables the switch has: one of them absurdly long.
    const fs = await makePlatform(t.db, { format: 'freeswitch-json' });
    const cdr = (uuid: string, extra: Record<string, string> = {}) => ({
      variables: { uuid, caller_id_number: '2125550100', destination_number: '442079460000', start_epoch: '1764061200', answer_epoch: '1764061205', end_epoch: '1764061260', billsec: '55', hangup_cause: 'NORMAL_CLEARING', ...extra },
    });
    const ok = await postCdrs(t, fs.token, JSON.stringify(cdr('u-ok')));
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const res = await postCdrs(t, fs.token, JSON.stringify(cdr('u-long', { sip_x_header: 'x'.repeat(MAX_RECORD_BYTES) })));
    assert.equal(res.status, 422);
    assert.match(res.body.records[0].error, /characters long, more than the 262144 a record may be/);
  });

  /** A generic-json body of n records of about `size` characters each. */
  const records = (tag: string, n: number, size = 120) =>
    JSON.stringify(Array.from({ length: n }, (_, i) => ({ leg_id: `${tag}-${i}`, call_id: `${tag}-${i}-${'c'.repeat(Math.max(0, size - 120))}`, calling: '+12125550100', called: '+442079460000', start: '2026-11-25T12:00:00Z' })));

  test('bytes in flight: a platform whose posts in flight hold more than it may is answered 429; alone, a post larger than that is still taken; another platform is not held up', async () => {
    const big = await makePlatform(t.db);
    const other = await makePlatform(t.db);
    // 0.8 MB stalled mid-body, then 0.4 MB more from the same platform: past its 1 MB.
    const stalled = slowPost(big.token, records('B', 3000, 270));
    await new Promise((r) => setTimeout(r, 200));
    const more = await postCdrs(t, big.token, records('B2', 1500, 270));
    assert.equal(more.status, 429, JSON.stringify(more.body).slice(0, 200));
    assert.equal(more.headers['retry-after'], '2');
    assert.match(more.body.error, /MB of posts in flight/);
    assert.equal((await postCdrs(t, other.token, records('O3', 3000, 270))).status, 200, 'another platform is not counted against it');
    assert.equal(await stalled.finish(), 200);
    // Alone, a 1.6 MB post (more than the platform's 1 MB in flight) is taken: never refused for ever.
    await new Promise((r) => setTimeout(r, 1100));
    const alone = await postCdrs(t, big.token, records('B3', 6000, 270));
    assert.equal(alone.status, 200, JSON.stringify(alone.body).slice(0, 200));
    assert.equal(Number((await t.db('call_legs').where({ platform_id: big.id }).count('* as n').first())?.n), 9000);
  });

  test('large bodies are parsed in a worker thread: every record stored as from a small post; an unreadable large body is refused 400 and kept', async () => {
    const p = await makePlatform(t.db);
    const res = await postCdrs(t, p.token, records('W', 2000));
    assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 200));
    assert.equal(res.body.accepted, 2000);
    const legs = await t.db('call_legs').where({ platform_id: p.id }).orderBy('leg_key').select('leg_key', 'calling_number', 'start_at');
    assert.equal(legs.length, 2000);
    assert.equal(legs[0].calling_number, '+12125550100');
    const broken = `${records('X', 2000).slice(0, -1)},{"leg_id":`;
    const bad = await postCdrs(t, p.token, broken);
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /JSON/i);
    const kept = await t.db('cdr_rejects').where({ id: bad.body.reject_id }).first();
    assert.equal(kept.error, bad.body.error);
  });
});
