import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { after, before, describe, test } from 'node:test';
import { createTestApp, listen, type TestApp } from '../support/app';
import { makeUser } from '../support/factories';
import { Client } from '../support/http';
import { makePlatform } from '../support/intake';

/**
 * Posts that can never be stored are refused with a 4xx and the reason, and kept in the rejects;
 * 503 ("send it again") is only for a passing fault. A switch that follows the contract retries a
 * 503 for ever.
 */
describe('CDR intake: poison posts are refused and kept, never answered 503', () => {
  let t: TestApp;
  let server: Awaited<ReturnType<typeof listen>>;
  const tokens: Record<string, string> = {};
  const ids: Record<string, number> = {};

  before(async () => {
    t = await createTestApp();
    for (const format of ['generic-json', 'freeswitch-xml', 'generic-csv', 'asterisk-csv', 'freeswitch-json', 'cucm-csv']) {
      const p = await makePlatform(t.db, { format });
      tokens[format] = p.token;
      ids[format] = p.id;
    }
    server = await listen(t.app);
  });
  after(async () => {
    await server.close();
    await t.close();
  });

  /** Bytes exactly as given (a test client would re-encode a Buffer it was handed as JSON). */
  const post = async (format: string, body: Buffer | string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${server.url}/api/v1/cdrs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens[format]}`, 'content-type': 'application/json', ...headers },
      body: Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'),
    });
    return { status: res.status, body: (await res.json()) as { reject_id?: number; records?: Array<{ reject_id?: number }>; error?: string } };
  };
  const leg = (over: Record<string, unknown> = {}) => ({ leg_id: 'X-1', calling: '+12125550100', called: '+442079460000', start: '2026-11-25T12:00:00Z', answer: '2026-11-25T12:00:05Z', end: '2026-11-25T12:01:35Z', ...over });

  /** The reject the answer names, with the bytes it kept. */
  const kept = async (res: { body: { reject_id?: number; records?: Array<{ reject_id?: number }> } }) => {
    const id = res.body.reject_id ?? res.body.records?.find((r) => r.reject_id)?.reject_id;
    assert.ok(id, `no reject_id in ${JSON.stringify(res.body).slice(0, 300)}`);
    return t.db('cdr_rejects').where({ id }).first();
  };

  const cases: Array<[string, string, () => Buffer | string, Record<string, string>?]> = [
    ['JSON nested 5,000 levels deep', 'generic-json', () => '['.repeat(5000) + ']'.repeat(5000)],
    ['JSON objects nested 5,000 levels deep', 'generic-json', () => '{"a":'.repeat(5000) + '1' + '}'.repeat(5000)],
    ['XML nested over 100 tags deep', 'freeswitch-xml', () => '<cdr>' + '<x>'.repeat(150) + '</x>'.repeat(150) + '</cdr>', { 'content-type': 'application/xml' }],
    ['a raw NUL byte in the body', 'generic-json', () => Buffer.concat([Buffer.from('{"leg_id":"a'), Buffer.from([0]), Buffer.from('b"}')])],
    ['a NUL escaped inside a JSON string', 'generic-json', () => JSON.stringify(leg({ leg_id: 'nul\u0000id' }))],
    ['a start in December 9999', 'generic-json', () => JSON.stringify(leg({ start: '9999-12-31T23:00:00Z', answer: '9999-12-31T23:00:05Z', end: '9999-12-31T23:01:35Z' }))],
    ['a corrupt deflate body', 'generic-json', () => Buffer.from('this is not deflate at all'), { 'content-encoding': 'deflate' }],
    ['a corrupt br body', 'generic-json', () => Buffer.from([0xff, 0xfe, 0x00, 0x13, 0x37]), { 'content-encoding': 'br' }],
    ['a corrupt gzip body', 'generic-json', () => Buffer.concat([zlib.gzipSync('{"leg_id":"g"}').subarray(0, 12), Buffer.from('garbage')]), { 'content-encoding': 'gzip' }],
    ['invalid UTF-8 in a leg id', 'generic-json', () => Buffer.concat([Buffer.from('{"leg_id":"ab'), Buffer.from([0xc3, 0x28]), Buffer.from('","calling":"+12125550100","called":"+442079460000","start":"2026-11-25T12:00:00Z"}')])],
    ['a year 0050 start', 'generic-json', () => JSON.stringify(leg({ leg_id: 'Y-50', start: '0050-06-15T12:00:00Z', answer: '0050-06-15T12:00:05Z', end: '0050-06-15T12:01:35Z' }))],
  ];

  for (const [name, format, body, headers] of cases) {
    test(`${name}: a 4xx with the reason, and the body kept exactly`, async () => {
      const sent = body();
      const res = await post(format, sent, headers);
      assert.ok(res.status >= 400 && res.status < 500, `${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
      const r = await kept(res);
      const bytes = Buffer.isBuffer(sent) ? sent : Buffer.from(sent, 'utf8');
      assert.ok(r.error.length > 0);
      // What was posted, byte for byte (as received, before any Content-Encoding was undone).
      assert.ok(Buffer.from(r.body_bytes ?? Buffer.from(r.body, 'utf8')).equals(bytes) || (headers?.['content-encoding'] === undefined && r.body === bytes.toString('utf8')), 'the reject keeps the body as posted');
    });
  }

  test('a start in the year 0050 is read as 0050 (not moved 1,900 years to 1950) and refused as outside the window', async () => {
    const res = await post('generic-json', JSON.stringify(leg({ leg_id: 'Y-50b', start: '0050-06-15T12:00:00Z', answer: '0050-06-15T12:00:05Z', end: '0050-06-15T12:01:35Z' })));
    assert.equal(res.status, 422);
    assert.match(JSON.stringify(res.body), /starts 0050-06-15T12:00:00.000Z, outside what platform/);
  });

  // Records of each format as a switch sends them, to mutate.
  const SEEDS: Array<[string, string, string]> = [
    ['generic-json', 'application/json', JSON.stringify([leg({ leg_id: 'F-1' }), leg({ leg_id: 'F-2', disposition: 'busy', answer: undefined, end: undefined })])],
    ['generic-csv', 'text/csv', 'leg_id,call_id,calling,called,start,answer,end,billsec,disposition\r\nF-3,c,+12125550100,+442079460000,2026-11-25T12:00:00Z,2026-11-25T12:00:05Z,2026-11-25T12:01:00Z,55,answered\r\n'],
    ['asterisk-csv', 'text/csv', `"acc","+12125550100","+442079460000","default","","SIP/a-1","SIP/gw-2","Dial","SIP/gw","2026-11-25 09:00:00","2026-11-25 09:00:02","2026-11-25 09:01:02",62,60,"ANSWERED","DOCUMENTATION","1764061200.7",""\r\n`],
    ['freeswitch-xml', 'application/xml', '<cdr><variables><uuid>u-1</uuid><caller_id_number>2125550100</caller_id_number><destination_number>442079460000</destination_number><start_epoch>1764061200</start_epoch><answer_epoch>1764061205</answer_epoch><end_epoch>1764061260</end_epoch><billsec>55</billsec><hangup_cause>NORMAL_CLEARING</hangup_cause></variables></cdr>'],
    ['freeswitch-json', 'application/json', JSON.stringify({ variables: { uuid: 'u-2', caller_id_number: '2125550100', destination_number: '442079460000', start_epoch: '1764061200', answer_epoch: '1764061205', end_epoch: '1764061260', billsec: '55', hangup_cause: 'NORMAL_CLEARING' } })],
  ];

  // And real switches' files.
  const fixture = (...p: string[]) => fs.readFileSync(path.resolve(__dirname, '../fixtures/cdr', ...p), 'utf8');
  SEEDS.push(
    ['asterisk-csv', 'text/csv', fixture('asterisk', 'testsuite__lib_python_asterisk_self_test_Master.csv')],
    ['freeswitch-json', 'application/json', fixture('freeswitch', 'somleng_freeswitch_cdr_outbound.json')],
    ['cucm-csv', 'text/csv', fixture('cucm', 'cdr.txt')],
  );

  /** A seed with bytes flipped, inserted, deleted, truncated or repeated. */
  const mutation = fc.record({
    seed: fc.nat({ max: SEEDS.length - 1 }),
    edits: fc.array(
      fc.oneof(
        fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
        fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
        fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 16 }) }),
        fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
        fc.record({ kind: fc.constant('repeat' as const), times: fc.integer({ min: 2, max: 4 }) }),
      ),
      { minLength: 1, maxLength: 4 },
    ),
  });

  test('random mutations of every format: never a 5xx, and every refused body or record kept in the rejects', async () => {
    await fc.assert(
      fc.asyncProperty(mutation, async ({ seed, edits }) => {
        const [format, contentType, text] = SEEDS[seed] as [string, string, string];
        let b = Buffer.from(text, 'utf8');
        for (const e of edits) {
          const at = b.length ? e.kind === 'repeat' ? 0 : (e as { at: number }).at % b.length : 0;
          if (e.kind === 'flip') b = Buffer.concat([b.subarray(0, at), Buffer.from([e.byte]), b.subarray(at + 1)]);
          else if (e.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from(e.bytes), b.subarray(at)]);
          else if (e.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + e.n)]);
          else if (e.kind === 'truncate') b = b.subarray(0, at);
          else b = Buffer.concat(Array(e.times).fill(b));
        }
        const res = await post(format, b, { 'content-type': contentType });
        assert.ok(res.status < 500, `${format} answered ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
        // Refused as a whole: the body is kept; refused record by record: each record is.
        const records = (res.body as { records?: Array<{ status: string; reject_id?: number }> }).records ?? [];
        const kept = [...new Set([res.body.reject_id, ...records.filter((r) => r.status === 'rejected').map((r) => r.reject_id)].filter((id) => id !== undefined))];
        if (res.status >= 400) assert.ok(kept.length > 0, `refused without a reject: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
        assert.ok(records.every((r) => r.status !== 'rejected' || r.reject_id), 'a refused record without a reject');
        if (kept.length) assert.equal(Number((await t.db('cdr_rejects').whereIn('id', kept as number[]).count('* as n').first())?.n), kept.length);
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 150), seed: process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined },
    );
  });

  test('a call before the platform\'s "accept calls from" date, or over a day ahead, is refused; a wholesale admin sets the date earlier to load history', async () => {
    const p = await makePlatform(t.db, { accept_calls_from: '2026-01-01T00:00:00Z' });
    tokens.windowed = p.token;
    const old = leg({ leg_id: 'W-1', start: '2025-06-01T12:00:00Z', answer: '2025-06-01T12:00:05Z', end: '2025-06-01T12:01:00Z' });
    const refused = await post('windowed', JSON.stringify(old));
    assert.equal(refused.status, 422);
    assert.match(JSON.stringify(refused.body), /starts 2025-06-01T12:00:00.000Z, outside what platform .* accepts \(calls from 2026-01-01 to a day ahead of now\)/);
    const ahead = new Date(Date.now() + 26 * 3600_000);
    const future = await post('windowed', JSON.stringify(leg({ leg_id: 'W-2', start: ahead.toISOString(), answer: undefined, end: undefined })));
    assert.equal(future.status, 422);

    const admin = await makeUser(t.db, 'wholesale_admin');
    const client = await Client.login(t.app, admin.email);
    const form = { name: `windowed-${p.id}`, format: 'generic-json', time_zone: 'UTC', country_code: '1', active: 'on', accept_calls_from: '2025-01-01' };
    const saved = await client.submit(`/wholesale/platforms/${p.id}`, form, `/wholesale/platforms/${p.id}/edit`);
    assert.equal(saved.status, 303, saved.text.slice(0, 500));
    // The intake's copy of the platform is dropped on the change: the same record is now taken.
    const accepted = await post('windowed', JSON.stringify(old));
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
    const edit = await client.get(`/wholesale/platforms/${p.id}/edit`);
    assert.match(edit.text, /name="accept_calls_from" value="2025-01-01"/);
  });

  test('the Rejects page says a body is kept as the bytes that arrived, and gives them back exactly', async () => {
    const bytes = Buffer.concat([Buffer.from('{"leg_id":"z'), Buffer.from([0, 0xff]), Buffer.from('"}')]);
    const res = await post('generic-json', bytes);
    assert.equal(res.status, 400);
    const admin = await makeUser(t.db, 'wholesale_admin');
    const client = await Client.login(t.app, admin.email);
    const page = await client.get(`/wholesale/rejects/${res.body.reject_id}`);
    assert.match(page.text, /kept as the 16 bytes that arrived/);
    const body = await client.get(`/wholesale/rejects/${res.body.reject_id}/body`).buffer(true).parse((r, cb) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => cb(null, Buffer.concat(chunks)));
    });
    assert.equal(body.status, 200);
    assert.ok(Buffer.from(body.body as Buffer).equals(bytes));
  });
});
