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
import { receiveCarrierFile, reconcileReceivedFiles, recordMissingFiles } from '../../src/modules/carrier-data/carrier-data.service';
import { getOrThrow as getCarrier } from '../../src/modules/carriers/carriers.service';
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

  test('a stored file is reconciled automatically by the carrier-reconcile job, once: the months of its records, as an automatic run', async () => {
    // Files of the other tests are taken too: this one looks at its own carrier.
    const c = await carrier();
    const res = await post(c.token, fixture('generic.csv'));
    assert.equal(res.body.records, 3);
    const first = await reconcileReceivedFiles(t.db);
    assert.ok(first.files >= 1 && first.runs >= 1);
    const runs = await t.db('reconciliation_runs').where({ carrier_id: c.id });
    assert.deepEqual(runs.map((r) => [r.trigger, r.status, new Date(r.period_from).toISOString(), new Date(r.period_to).toISOString()]), [['automatic', 'done', '2026-11-01T00:00:00.000Z', '2026-12-01T00:00:00.000Z']]);
    // No leg of ours: the carrier's three records are records we do not have.
    const items = await t.db('reconciliation_items').where({ run_id: runs[0].id });
    assert.deepEqual(items.map((i) => i.class).sort(), ['not_in_our_records', 'not_in_our_records', 'not_in_our_records']);
    assert.ok((await t.db('carrier_files').where({ id: res.body.file_id }).first()).reconciled_at);
    assert.deepEqual(await reconcileReceivedFiles(t.db), { files: 0, runs: 0 }, 'nothing left to take');
    // A re-post (all duplicates) stores no records: no new run.
    await post(c.token, fixture('generic.csv'));
    assert.deepEqual(await reconcileReceivedFiles(t.db), { files: 0, runs: 0 });
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

  describe('a file read and stored batch by batch', () => {
    /** The service with batches of `batch` records and bad rows (RECORD_BATCH in production). */
    const receive = async (carrierId: number, text: string, batch: number) =>
      receiveCarrierFile(t.db, await getCarrier(t.db, carrierId), { raw: Buffer.from(text), text, via: 'upload', filename: 'batched.csv' }, { batch });
    const HEADER = 'record_id,calling,called,start,seconds,cost,currency,rate';
    const row = (id: string, start: string, cost = '0.01') => `${id},,+442071234567,${start},60,${cost},USD,`;

    test('bad rows spread across batches: exactly the good rows stored, every bad row listed by line and reason', async () => {
      const c = await carrier();
      const lines = [HEADER];
      const good: string[] = [];
      for (let i = 1; i <= 23; i++) {
        // Every third row is bad, so bad rows fall in every batch of 4.
        if (i % 3 === 0) lines.push(row(`S-${i}`, '2026-11-05T10:00:00Z', 'n/a'));
        else {
          lines.push(row(`S-${i}`, `2026-11-05T10:${String(i).padStart(2, '0')}:00Z`));
          good.push(`S-${i}`);
        }
      }
      const out = await receive(c.id, `${lines.join('\n')}\n`, 4);
      assert.deepEqual([out.status, out.records, out.duplicates, out.badRowCount], ['stored', good.length, 0, 7]);
      const badLines = [3, 6, 9, 12, 15, 18, 21].map((i) => i + 1);
      assert.deepEqual(out.badRows.map((b) => b.line), badLines);
      assert.ok(out.badRows.every((b) => /cost/.test(b.reason)));
      assert.deepEqual((await records(c.id)).map((r) => r.carrier_record_id), good);
      assert.deepEqual((await t.db('carrier_file_bad_rows').where({ file_id: out.fileId }).orderBy('line')).map((b) => b.line), badLines);
      const file = await t.db('carrier_files').where({ id: out.fileId }).first();
      assert.deepEqual([file.records, file.duplicates, file.bad_rows, file.status], [good.length, 0, 7, 'stored']);
    });

    test('a record id given again in a later batch is a bad row naming the first; a re-post stores nothing twice', async () => {
      const c = await carrier();
      const text = `${[HEADER, row('D-1', '2026-11-06T10:00:00Z'), row('D-2', '2026-11-06T10:01:00Z'), row('D-3', '2026-11-06T10:02:00Z'), row('D-1', '2026-11-06T10:03:00Z'), row('D-4', '2026-11-06T10:04:00Z')].join('\n')}\n`;
      const out = await receive(c.id, text, 2);
      assert.deepEqual([out.records, out.badRowCount], [4, 1]);
      assert.equal(out.badRows[0]?.line, 5);
      assert.match(out.badRows[0]?.reason ?? '', /"D-1" was already given on line 2/);
      assert.deepEqual((await records(c.id)).map((r) => [r.carrier_record_id, r.line]), [['D-1', 2], ['D-2', 3], ['D-3', 4], ['D-4', 6]]);
      const again = await receive(c.id, text, 2);
      assert.deepEqual([again.records, again.duplicates, again.badRowCount], [0, 4, 1]);
      // New records first and stored ones in a later batch: the new stored, the others duplicates.
      const overlap = await receive(c.id, `${[HEADER, row('D-5', '2026-11-06T10:05:00Z'), row('D-6', '2026-11-06T10:06:00Z'), row('D-7', '2026-11-06T10:07:00Z'), row('D-2', '2026-11-06T10:01:00Z'), row('D-8', '2026-11-06T10:08:00Z')].join('\n')}\n`, 2);
      assert.deepEqual([overlap.records, overlap.duplicates, overlap.badRowCount], [4, 1, 0]);
      assert.deepEqual((await records(c.id)).map((r) => r.carrier_record_id).sort(), ['D-1', 'D-2', 'D-3', 'D-4', 'D-5', 'D-6', 'D-7', 'D-8']);
      assert.equal((await t.db('carrier_files').where({ carrier_id: c.id })).length, 3, 'a file stored again the slow way is kept once');
      // A file without ids, posted twice, batch by batch: keyed by its checksum and line.
      const plain = `called,start,seconds,cost,currency\n${Array.from({ length: 9 }, (_, i) => `+4420712345${60 + i},2026-11-07T10:0${i}:00Z,30,0.005,USD`).join('\n')}\n`;
      assert.equal((await receive(c.id, plain, 4)).records, 9);
      assert.deepEqual(await receive(c.id, plain, 3).then((o) => [o.records, o.duplicates]), [0, 9]);
      assert.equal((await records(c.id)).length, 17);
    });

    test('records spanning three months no partition has yet, the later months first met in later batches: each stored in its month', async () => {
      const c = await carrier();
      const months = ['2031-01', '2031-02', '2031-03'];
      const lines = [HEADER, 'M-bad,,nope,2031-01-01T00:00:00Z,60,0.01,USD,'];
      let n = 0;
      for (const m of months) for (let d = 10; d < 15; d++) lines.push(row(`M-${++n}`, `${m}-${d}T12:00:00Z`));
      const text = `${lines.join('\n')}\n`;
      const out = await receive(c.id, text, 3);
      assert.deepEqual([out.status, out.records, out.badRowCount], ['stored', 15, 1]);
      const parts = await t.db.raw('SELECT tableoid::regclass::text AS p, count(*)::int AS n FROM carrier_records WHERE carrier_id = ? GROUP BY 1 ORDER BY 1', [c.id]);
      assert.deepEqual(parts.rows.map((r: { p: string; n: number }) => [r.p, r.n]), [['carrier_records_p2031_01', 5], ['carrier_records_p2031_02', 5], ['carrier_records_p2031_03', 5]]);
      const file = await t.db('carrier_files').where({ id: out.fileId }).first();
      assert.deepEqual([new Date(file.first_start_at).toISOString(), new Date(file.last_start_at).toISOString()], ['2031-01-10T12:00:00.000Z', '2031-03-14T12:00:00.000Z']);
      assert.equal((await t.db('carrier_files').where({ carrier_id: c.id })).length, 1, 'one file kept, whatever way it was stored');
      assert.deepEqual((await t.db('carrier_file_bad_rows').where({ file_id: out.fileId })).map((b) => b.line), [2]);
      // Once more, and a file whose later batch brings a fourth month: nothing twice, the new month stored.
      assert.deepEqual(await receive(c.id, text, 3).then((o) => [o.records, o.duplicates]), [0, 15]);
      const more = await receive(c.id, `${[HEADER, row('M-1', '2031-01-10T12:00:00Z'), row('M-2', '2031-01-11T12:00:00Z'), row('M-20', '2031-04-01T00:00:00Z')].join('\n')}\n`, 2);
      assert.deepEqual([more.records, more.duplicates], [1, 2]);
      assert.equal((await records(c.id)).length, 16);
      assert.deepEqual((await t.db('carrier_record_keys').where({ carrier_id: c.id })).length, 16);
    });

    test('a file of only bad rows, longer than a batch: all listed, nothing stored', async () => {
      const c = await carrier();
      const text = `${[HEADER, ...Array.from({ length: 7 }, (_, i) => row(`B-${i}`, 'yesterday'))].join('\n')}\n`;
      const out = await receive(c.id, text, 3);
      assert.deepEqual([out.status, out.records, out.duplicates, out.badRowCount], ['stored', 0, 0, 7]);
      assert.equal((await t.db('carrier_file_bad_rows').where({ file_id: out.fileId })).length, 7);
      const file = await t.db('carrier_files').where({ id: out.fileId }).first();
      assert.deepEqual([file.records, file.bad_rows, file.first_start_at], [0, 7, null]);
    });
  });
});

describe('carrier billing data in the portal', () => {
  let t: TestApp;
  let fx: Awaited<ReturnType<typeof makeTenants>>;
  let admin: Client;
  let support: Client;

  before(async () => {
    t = await createTestApp();
    fx = await makeTenants(t.db);
    admin = await Client.login(t.app, fx.wholesaleAdmin.email);
    support = await Client.login(t.app, fx.wholesaleSupport.email);
  });
  after(() => t.close());

  async function carrier(over: Record<string, unknown> = {}): Promise<number> {
    const [row] = await t.db('carriers').insert({ name: `LD ${crypto.randomBytes(4).toString('hex')}`, currency: 'USD', ...over }).returning('id');
    return Number((row as { id: number }).id);
  }
  const upload = async (c: Client, id: number, body: Buffer, filename: string) => {
    await c.refreshCsrf(`/wholesale/carriers/${id}`);
    return c.agent.post(`/wholesale/carriers/${id}/files`).field('_csrf', c.csrf).attach('file', body, filename);
  };

  test('an upload on the carrier\'s page is stored as a post would be, by the user, and its page shows the outcome and bad rows', async () => {
    const id = await carrier();
    const page = await admin.get(`/wholesale/carriers/${id}`);
    assert.match(page.text, /data-testid="carrier-file-upload"/);
    const body = Buffer.from('record_id,called,start,seconds,cost,currency\nU-1,+442071234567,2026-11-05T10:00:00Z,60,0.01,USD\nU-2,not-a-number,2026-11-05T10:00:00Z,60,0.01,USD\n');
    const res = await upload(admin, id, zlib.gzipSync(body), 'nov.csv.gz');
    assert.equal(res.status, 303, res.text);
    const fileId = Number(/files\/(\d+)$/.exec(String(res.headers.location))?.[1]);
    const file = await t.db('carrier_files').where({ id: fileId }).first();
    assert.deepEqual([file.via, file.filename, Number(file.uploaded_by), file.records, file.bad_rows], ['upload', 'nov.csv.gz', fx.wholesaleAdmin.id, 1, 1]);
    const shown = await admin.get(String(res.headers.location));
    assert.equal(shown.status, 200);
    assert.match(shown.text, /1 record stored, 0 duplicates \(already stored\), 1 bad row/);
    assert.match(shown.text, /data-testid="carrier-file-bad-rows"[\s\S]*<td class="num">3<\/td>[\s\S]*U-2,not-a-number/);
    // The viewer's zone, named.
    assert.match(shown.text, /Received<\/dt><dd>[^<]*\b(UTC|GMT|[A-Z]{2,5})\b/);
    // The download is the file as received (gzip), not its text.
    const dl = await admin.agent.get(`/wholesale/carriers/${id}/files/${fileId}/download`).buffer(true).parse((r, cb) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => cb(null, Buffer.concat(chunks)));
    });
    assert.equal(dl.status, 200);
    assert.ok((dl.body as Buffer).equals(zlib.gzipSync(body)));
    assert.match(String(dl.headers["content-disposition"]), /attachment; filename="?nov.csv.gz"?/);
    // Uploaded again: all duplicates.
    const again = await upload(admin, id, body, 'nov.csv');
    const second = await t.db('carrier_files').where({ id: Number(/files\/(\d+)$/.exec(String(again.headers.location))?.[1]) }).first();
    assert.deepEqual([second.records, second.duplicates], [0, 1]);
    assert.equal((await t.db('carrier_records').where({ carrier_id: id })).length, 1);
  });

  test('the files list: sortable, totals, CSV; support reads it but cannot upload; a reseller gets the wholesale guard; another carrier\'s file is not found', async () => {
    const id = await carrier();
    await upload(admin, id, fixture('generic.csv'), 'a.csv');
    await upload(admin, id, Buffer.from('nonsense header\n1\n'), 'b.csv');
    const list = await support.get(`/wholesale/carriers/${id}/files?sort=records&dir=asc`);
    assert.equal(list.status, 200);
    assert.match(list.text, /<strong>2<\/strong> files/);
    assert.match(list.text, /3 records stored, 0 duplicates, 0 bad rows, 0 skipped/);
    assert.match(list.text, /1 refused/);
    const order = [...list.text.matchAll(/data-carrier-file="(\d+)"/g)].map((m) => Number(m[1]));
    const byRecords = await t.db('carrier_files').where({ carrier_id: id }).orderBy('records', 'asc').pluck('id');
    assert.deepEqual(order, byRecords.map(Number));
    const csv = await support.get(`/wholesale/carriers/${id}/files.csv`);
    assert.equal(csv.status, 200);
    assert.match(csv.text, /^Received,How,File,Status,Records stored,Duplicates,Bad rows,Skipped,Size,Error/);
    assert.equal(csv.text.trim().split('\n').length, 3);
    assert.doesNotMatch((await support.get(`/wholesale/carriers/${id}`)).text, /data-testid="carrier-file-upload"/);
    const refused = await upload(support, id, fixture('generic.csv'), 'c.csv').catch((e: { status?: number }) => e);
    assert.equal((refused as { status: number }).status, 403);
    const reseller = await Client.login(t.app, fx.a.admin.email);
    assert.equal((await reseller.get(`/wholesale/carriers/${id}/files`)).status, 403);
    const other = await carrier();
    const fileId = (await t.db('carrier_files').where({ carrier_id: id }).first()).id;
    assert.equal((await admin.get(`/wholesale/carriers/${other}/files/${fileId}`)).status, 404);
    assert.equal((await admin.get(`/wholesale/carriers/${other}/files/${fileId}/download`)).status, 404);
  });

  test('the mapped-CSV preview reads a pasted or uploaded sample with the form\'s mapping, each field\'s error shown, nothing saved', async () => {
    const id = await carrier({ data_format: 'carrier-mapped-csv', csv_mapping: JSON.stringify(MAPPING), currency: 'GBP' });
    const before = await t.db('carriers').where({ id }).first();
    const form = {
      carrier_id: String(id), name: before.name, currency: 'GBP', time_zone: 'UTC', data_format: 'carrier-mapped-csv', file_due_zone: 'UTC', start_tolerance_seconds: '5', duration_tolerance_seconds: '1', cost_tolerance: '0.01',
      map_called: 'Dialled', map_calling: 'From', map_start: 'Date', map_duration: 'Duration', map_cost: 'Charge', map_rate: 'Rate/min', map_record_id: 'Call Ref',
      map_date_format: 'DD/MM/YYYY HH:mm:ss', map_time_zone: 'Europe/London', map_duration_format: 'mm:ss', map_currency_column: 'Currency', map_skip_lines: '1', map_header: 'on', map_delimiter: ';', map_decimal_separator: ',', map_country_code: '44',
    };
    const sample = `${fixture('mapped-semicolon.csv').toString('utf8')}X-9;31/02/2026 00:30:00;;07700 900123;02:05;0,0800;abc;GBP\n`;
    const pasted = await admin.submit('/wholesale/carriers/preview', { ...form, preview_sample: sample }, `/wholesale/carriers/${id}/edit`);
    assert.equal(pasted.status, 200, pasted.text.slice(0, 3000));
    assert.match(pasted.text, /data-testid="mapping-preview"/);
    assert.match(pasted.text, /<tr data-line="3" class="">/);
    assert.match(pasted.text, /\+447700900123/);
    // The bad row: its start and its cost each say what is wrong.
    const bad = /<tr data-line="7"[\s\S]*?<\/tr>/.exec(pasted.text)?.[0] ?? '';
    assert.match(bad, /data-field="start"/);
    assert.match(bad, /data-field="cost"/);
    // Still the edit form, with what was typed.
    assert.match(pasted.text, new RegExp(`action="/wholesale/carriers/${id}"`));
    // As an uploaded file, with another delimiter typed: the file cannot be read as a whole, said so.
    await admin.refreshCsrf(`/wholesale/carriers/${id}/edit`);
    const multi = admin.agent.post('/wholesale/carriers/preview').field('_csrf', admin.csrf);
    for (const [k, v] of Object.entries({ ...form, map_delimiter: ',' })) multi.field(k, v);
    const up = await multi.attach('file', fixture('mapped-semicolon.csv'), 'sample.csv');
    assert.equal(up.status, 200);
    assert.match(up.text, /data-testid="mapping-preview-error"/);
    // A bad mapping is the field's error, no preview.
    const nocol = await admin.submit('/wholesale/carriers/preview', { ...form, map_called: '', preview_sample: sample }, `/wholesale/carriers/${id}/edit`);
    assert.match(nocol.text, /id="f-map_called-error">Which column holds the called number/);
    assert.deepEqual(await t.db('carriers').where({ id }).first(), before);
    assert.equal((await t.db('carrier_files').where({ carrier_id: id })).length, 0);
    // The new-carrier form previews too.
    const fresh = await admin.submit('/wholesale/carriers/preview', { ...form, carrier_id: '', preview_sample: sample }, '/wholesale/carriers/new');
    assert.match(fresh.text, /action="\/wholesale\/carriers"/);
    assert.match(fresh.text, /data-testid="mapping-preview"/);
  });

  test('a missing file: past its time with none since the deadline before, marked on the list and page and recorded once by the watch', async () => {
    // Deadlines in New York: 06:00 on 7 December 2026 is 11:00 UTC.
    const d = fileDeadlines('06:00', 'America/New_York', Date.parse('2026-12-07T12:00:00Z'));
    assert.deepEqual([new Date(d.today).toISOString(), new Date(d.previous).toISOString(), d.passed], ['2026-12-07T11:00:00.000Z', '2026-12-06T11:00:00.000Z', true]);
    // Across the change to summer time: the day before was 23 hours.
    const spring = fileDeadlines('06:00', 'America/New_York', Date.parse('2026-03-08T12:00:00Z'));
    assert.equal(spring.today - spring.previous, 23 * 3600_000);
    const c = { fileDueAt: '06:00', fileDueZone: 'America/New_York', active: true, createdAt: new Date('2026-01-01T00:00:00Z') };
    const at = Date.parse('2026-12-07T12:00:00Z');
    assert.equal(fileMissing(c, undefined, at).missing, true);
    assert.equal(fileMissing(c, new Date('2026-12-06T10:59:00Z'), at).missing, true, 'a file before the previous deadline is yesterday\'s');
    assert.equal(fileMissing(c, new Date('2026-12-06T11:01:00Z'), at).missing, false);
    assert.equal(fileMissing(c, undefined, Date.parse('2026-12-07T10:59:00Z')).missing, false, 'not yet due today');
    assert.equal(fileMissing({ ...c, active: false }, undefined, at).missing, false);
    assert.equal(fileMissing({ ...c, fileDueAt: null }, undefined, at).missing, false);

    // Now, through the app: a deadline that passed a minute ago in UTC (or, just after midnight, skip to one that is sure to have).
    const now = new Date();
    const due = new Date(Math.max(now.getTime() - 60_000, Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())));
    const hhmm = `${String(due.getUTCHours()).padStart(2, '0')}:${String(due.getUTCMinutes()).padStart(2, '0')}`;
    const late = await carrier({ file_due_at: hhmm, file_due_zone: 'UTC', created_at: new Date(Date.now() - 3 * 86_400_000) });
    const onTime = await carrier({ file_due_at: hhmm, file_due_zone: 'UTC', created_at: new Date(Date.now() - 3 * 86_400_000) });
    const { token, hash } = newCarrierCredential(onTime);
    await t.db('carriers').where({ id: onTime }).update({ credential_hash: hash });
    assert.equal((await request(t.app).post('/api/v1/carrier-data').set('Authorization', `Bearer ${token}`).type('text/csv').send(fixture('generic.csv'))).status, 200);

    const list = await support.get('/wholesale/carriers');
    const rowOf = (cid: number) => new RegExp(`<tr[^>]*data-carrier="${cid}"[\\s\\S]*?</tr>`).exec(list.text)?.[0] ?? '';
    assert.match(rowOf(late), /file missing/);
    assert.doesNotMatch(rowOf(onTime), /file missing/);
    assert.match((await support.get(`/wholesale/carriers/${late}`)).text, /data-testid="carrier-file-missing"/);
    assert.doesNotMatch((await support.get(`/wholesale/carriers/${onTime}`)).text, /data-testid="carrier-file-missing"/);

    const first = await recordMissingFiles(t.db);
    assert.ok(first.some((m) => m.carrierId === late));
    assert.ok(!first.some((m) => m.carrierId === onTime));
    assert.deepEqual(await recordMissingFiles(t.db).then((x) => x.filter((m) => m.carrierId === late)), [], 'recorded once per deadline');
    const rows = await t.db('carrier_missing_files').where({ carrier_id: late });
    assert.equal(rows.length, 1);
    assert.equal((await t.db('audit_log').where({ entity_type: 'carrier', entity_id: late, action: 'file_missing' })).length, 1);
  });
});
