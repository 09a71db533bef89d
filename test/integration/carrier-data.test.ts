/**
 * LD carriers' billing data in (issue 13, "Carrier billing data in"): the POST with the carrier's
 * credential (every format, gzip, bad rows beside good ones, re-posts, refusals), the upload on the
 * carrier's page, its files and their bad rows, the mapped-CSV preview, and the missing-file watch.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { createTestApp, type TestApp } from '../support/app';
import { makeTenants } from '../support/factories';
import { Client } from '../support/http';
import { newCarrierCredential } from '../../src/modules/carriers/credentials';
import { recordMissingFiles } from '../../src/modules/carrier-data/carrier-data.service';
import { fileDeadlines, fileMissing } from '../../src/modules/carrier-data/deadlines';

const FIXTURES = path.resolve(__dirname, '../fixtures/carrier');
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name));

const MAPPING = {
  delimiter: ';', skipLines: 1, header: true,
  columns: { recordId: 'Call Ref', start: 'Date', calling: 'From', called: 'Dialled', duration: 'Duration', rate: 'Rate/min', cost: 'Charge' },
  dateFormat: 'DD/MM/YYYY HH:mm:ss', timeZone: 'Europe/London', durationFormat: 'mm:ss', currency: { column: 'Currency' }, decimalSeparator: ',', countryCode: '44',
};

describe('carrier billing data in', () => {
  let t: TestApp;
  let fx: Awaited<ReturnType<typeof makeTenants>>;
  let admin: Client;
  let support: Client;

  /** A carrier straight into the table, with a credential we know. */
  async function carrier(over: Record<string, unknown> = {}): Promise<{ id: number; token: string }> {
    const [row] = await t.db('carriers').insert({ name: `LD ${crypto.randomBytes(4).toString('hex')}`, currency: 'USD', ...over }).returning('id');
    const id = Number((row as { id: number }).id);
    const { token, hash } = newCarrierCredential(id);
    await t.db('carriers').where({ id }).update({ credential_hash: hash, credential_rotated_at: new Date() });
    return { id, token };
  }
  const post = (token: string, body: Buffer | string, headers: Record<string, string> = {}) => {
    const req = request(t.app).post('/api/v1/carrier-data').set('Authorization', `Bearer ${token}`).set('Content-Type', headers['Content-Type'] ?? 'text/csv');
    for (const [k, v] of Object.entries(headers)) req.set(k, v);
    // As sent: superagent would otherwise write a Buffer as JSON under a JSON content type.
    return req.serialize((x: unknown) => x as string).send(Buffer.isBuffer(body) ? body : Buffer.from(body));
  };
  const records = async (carrierId: number) => t.db('carrier_records').where({ carrier_id: carrierId }).orderBy('line');

  before(async () => {
    t = await createTestApp();
    fx = await makeTenants(t.db);
    admin = await Client.login(t.app, fx.wholesaleAdmin.email);
    support = await Client.login(t.app, fx.wholesaleSupport.email);
  });
  after(() => t.close());

  test('the generic CSV: every record stored with its values exact, the file kept as received, answered after the commit', async () => {
    const c = await carrier();
    const body = fixture('generic.csv');
    const res = await post(c.token, body);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.file_status, 'stored');
    assert.equal(res.body.records, 3);
    assert.equal(res.body.duplicates, 0);
    assert.deepEqual(res.body.bad_rows, []);
    const rows = await records(c.id);
    assert.deepEqual(rows.map((r) => [r.carrier_record_id, r.called, new Date(r.start_at).toISOString(), r.seconds, r.cost, r.currency]), [
      ['C-1001', '+442071234567', '2026-11-03T14:05:09.000Z', 125, '0.0417000000', 'USD'],
      ['C-1002', '+33142685300', '2026-11-03T14:10:00.000Z', 60, '0.0150000000', 'USD'],
      ['C-1003', '+4915112345678', '2026-11-03T14:00:00.250Z', 7, '0.0116667000', 'USD'],
    ]);
    const file = await t.db('carrier_files').where({ id: res.body.file_id }).first();
    assert.ok(Buffer.from(file.body).equals(body), 'the body is kept byte for byte');
    assert.equal(file.sha256, crypto.createHash('sha256').update(body).digest('hex'));
    assert.equal(file.via, 'post');
    assert.equal(file.records, 3);
    assert.equal(Number(rows[0].file_id), res.body.file_id);
  });

  test('re-posting the same file stores nothing twice: a second receipt, all duplicates (also gzipped)', async () => {
    const c = await carrier();
    const first = await post(c.token, fixture('generic.csv'));
    assert.equal(first.body.records, 3);
    const again = await post(c.token, zlib.gzipSync(fixture('generic.csv')), { 'Content-Encoding': 'gzip' });
    assert.equal(again.status, 200, again.text);
    assert.equal(again.body.records, 0);
    assert.equal(again.body.duplicates, 3);
    assert.notEqual(again.body.file_id, first.body.file_id);
    assert.equal((await records(c.id)).length, 3);
    assert.equal((await t.db('carrier_files').where({ carrier_id: c.id })).length, 2);
  });

  test('a file without record ids re-posted: keyed by its text and line, nothing stored twice', async () => {
    const c = await carrier();
    const text = 'called,start,seconds,cost,currency\n+442071234567,2026-11-03T10:00:00Z,60,0.01,USD\n+442071234568,2026-11-03T10:01:00Z,30,0.005,USD\n';
    assert.equal((await post(c.token, text)).body.records, 2);
    const again = await post(c.token, text);
    assert.deepEqual([again.body.records, again.body.duplicates], [0, 2]);
    // Another file with the same rows is other records (no id to say they are the same).
    assert.equal((await post(c.token, `${text}+442071234569,2026-11-03T10:02:00Z,30,0.005,USD\n`)).body.records, 3);
  });

  test('bad rows are listed by line and reason while the good rows are stored', async () => {
    const c = await carrier();
    const text = [
      'record_id,calling,called,start,seconds,cost,currency,rate',
      'A-1,,+442071234567,2026-11-03T10:00:00Z,60,0.01,USD,',
      'A-2,,not a number,2026-11-03T10:00:00Z,60,0.01,USD,',
      'A-3,,+442071234567,2026-11-03T10:00:00Z,60,$1.20,USD,',
      'A-4,,+442071234567,2026-12-03T10:00:00Z,60,0.02,USD,',
    ].join('\n');
    const res = await post(c.token, text);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.records, 2);
    assert.equal(res.body.bad_row_count, 2);
    assert.deepEqual(res.body.bad_rows.map((b: { line: number }) => b.line), [3, 4]);
    assert.match(res.body.bad_rows[1].reason, /cost/);
    assert.deepEqual((await records(c.id)).map((r) => r.carrier_record_id), ['A-1', 'A-4']);
    const bad = await t.db('carrier_file_bad_rows').where({ file_id: res.body.file_id }).orderBy('line');
    assert.deepEqual(bad.map((b) => [b.line, b.raw]), [[3, 'A-2,,not a number,2026-11-03T10:00:00Z,60,0.01,USD,'], [4, 'A-3,,+442071234567,2026-11-03T10:00:00Z,60,$1.20,USD,']]);
    // Two months: each record in its month's partition.
    const parts = await t.db.raw("SELECT tableoid::regclass::text AS p, count(*)::int AS n FROM carrier_records WHERE carrier_id = ? GROUP BY 1 ORDER BY 1", [c.id]);
    assert.deepEqual(parts.rows.map((r: { p: string }) => r.p), ['carrier_records_p2026_11', 'carrier_records_p2026_12']);
  });

  test('a mapped CSV is read with the carrier\'s mapping', async () => {
    const c = await carrier({ data_format: 'carrier-mapped-csv', csv_mapping: JSON.stringify(MAPPING), currency: 'GBP' });
    const res = await post(c.token, fixture('mapped-semicolon.csv'));
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.records, 4);
    assert.deepEqual((await records(c.id)).map((r) => [r.carrier_record_id, r.called, r.seconds, r.cost, r.currency]), [
      ['X-1', '+447700900123', 125, '0.1667000000', 'GBP'], ['X-2', '+33142685300', 45, '0.0300000000', 'GBP'], ['X-3', '+441614960000', 60, '0.0100000000', 'GBP'], ['X-4', '+441614960001', 30, '0.0050000000', 'GBP'],
    ]);
  });

  test('DIDWW: the CDR export (an unanswered attempt skipped) and the stream posted gzip, with and without Content-Encoding', async () => {
    const out = await carrier({ data_format: 'didww-cdr-out' });
    const res = await post(out.token, fixture('didww/cdr_out.csv'));
    assert.equal(res.status, 200, res.text);
    assert.ok(res.body.records >= 2, res.text);
    assert.ok(res.body.skipped >= 1, res.text);
    assert.equal((await records(out.id)).length, res.body.records);

    const stream = await carrier({ data_format: 'didww-cdr-stream' });
    const gz = fixture('didww/voice-out-stream.jsonl.gz');
    const a = await post(stream.token, gz, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' });
    assert.equal(a.status, 200, a.text);
    assert.equal(a.body.records, 2);
    assert.equal(a.body.skipped, 2);
    // Raw gzip bytes without the header, as DIDWW's stream sends them: gunzipped all the same, and all duplicates now.
    const b = await post(stream.token, gz, { 'Content-Type': 'application/json' });
    assert.equal(b.status, 200, b.text);
    assert.deepEqual([b.body.records, b.body.duplicates], [0, 2]);
    const kept = await t.db('carrier_files').where({ id: b.body.file_id }).first();
    assert.ok(Buffer.from(kept.body).equals(gz), 'kept gzipped, as received');
    assert.equal((await records(stream.id)).length, 2);
  });

  test('a file that cannot be read at all is kept as refused and answered 422; bad gzip too', async () => {
    const c = await carrier();
    const res = await post(c.token, 'this,is,not,our,header\n1,2,3,4,5\n');
    assert.equal(res.status, 422, res.text);
    assert.match(String(res.headers['content-type']), /problem\+json/);
    const file = await t.db('carrier_files').where({ id: res.body.file_id }).first();
    assert.equal(file.status, 'refused');
    assert.ok(file.error.length > 0);
    assert.equal(res.body.error, file.error);
    const gz = await post(c.token, 'not gzip at all', { 'Content-Encoding': 'gzip' });
    assert.equal(gz.status, 422, gz.text);
    assert.equal((await t.db('carrier_files').where({ id: gz.body.file_id }).first()).status, 'refused');
    assert.equal((await records(c.id)).length, 0);
  });

  test('wrong credential 401, inactive carrier and wrong source 403, a body too large 413: nothing kept', async () => {
    const c = await carrier();
    const before = (await t.db('carrier_files').count('* as n').first())?.n;
    const wrong = await post(`ldc_${c.id}_${crypto.randomBytes(32).toString('base64url')}`, fixture('generic.csv'));
    assert.equal(wrong.status, 401);
    assert.match(String(wrong.headers['www-authenticate']), /Bearer/);
    assert.equal((await request(t.app).post('/api/v1/carrier-data').send('x')).status, 401);
    const walled = await carrier({ allowed_sources: t.db.raw("'{192.0.2.0/24}'::cidr[]") });
    const src = await post(walled.token, fixture('generic.csv'));
    assert.equal(src.status, 403, src.text);
    assert.match(src.body.detail, /not allowed/);
    const off = await carrier({ active: false });
    assert.equal((await post(off.token, fixture('generic.csv'))).status, 403);
    const big = await request(t.app).post('/api/v1/carrier-data').set('Authorization', `Bearer ${c.token}`).set('Content-Length', String(26 * 1024 * 1024)).send('x');
    assert.ok([413, 400].includes(big.status), String(big.status));
    assert.equal((await t.db('carrier_files').count('* as n').first())?.n, before);
  });
});
