/**
 * Record files (issue 12, "Automatic posting"): every rated leg in exactly one file across hour and
 * DST-day boundaries of the reseller's zone; a closing cut short and resumed gives one file, the
 * same bytes as an uninterrupted one; corrections after re-rating; late-rated legs; the cursor
 * ("files after number N") never skips or repeats a file or a leg while legs are posted.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import crypto from 'node:crypto';
import { parse } from 'csv-parse/sync';
import type { Db } from '../../src/db/knex';
import { presetSpec, RECORD_PRESETS } from '../../src/domain/records';
import { changesHorizon } from '../../src/modules/changes/changes.service';
import request from 'supertest';
import { closeDueFiles, createKey, fileBytes, filesAfter, type RecordFileRow } from '../../src/modules/record-files/record-files.service';
import { Client } from '../support/http';
import http from 'node:http';
import { pushDue, setPushTarget, signBody, SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../../src/modules/record-files/record-files.push';
import { SecretBox } from '../../src/modules/auth/secret-box';
import { FieldErrors } from '../../src/domain/errors';
import { createTestApp, TEST_INSTANCE_SECRET, type TestApp } from '../support/app';
import { makeCallLeg, makeCharge, makeTenants } from '../support/factories';
import { specFormValues } from '../../src/modules/record-specs/record-specs.schemas';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
type Fx = Awaited<ReturnType<typeof makeTenants>>;
type Tenant = Fx['a'];

async function bytesOf(db: Db, f: RecordFileRow): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of fileBytes(db, f)) parts.push(c);
  return Buffer.concat(parts);
}

/** A file's lines as objects of the plain preset (header = field ids). */
async function linesOf(db: Db, f: RecordFileRow): Promise<Array<Record<string, string>>> {
  return parse((await bytesOf(db, f)).toString('utf8'), { columns: true, bom: true }) as Array<Record<string, string>>;
}

describe('record files', () => {
  let t: TestApp;
  const box = new SecretBox(TEST_INSTANCE_SECRET);
  let fx: Fx;
  const plain = presetSpec(RECORD_PRESETS[0]!);

  /** A leg as the ledger stores one: the leg, its charges and its 'stored' change, in one transaction. */
  async function store(x: Tenant, startAt: Date, amount: string | null, holdMs = 0) {
    return t.db.transaction(async (tx) => {
      const leg = await makeCallLeg(tx as unknown as Db, { platformId: fx.platform.id, resellerId: x.reseller.id, subscriberId: x.subscriber.id, startAt, status: amount === null ? 'unrated' : 'rated' });
      if (amount !== null) {
        await makeCharge(tx as unknown as Db, leg, { kind: 'wholesale', resellerId: x.reseller.id, subscriberId: x.subscriber.id, ratePlanId: fx.operatorPlan.id, amount });
        await makeCharge(tx as unknown as Db, leg, { kind: 'retail', resellerId: x.reseller.id, subscriberId: x.subscriber.id, ratePlanId: x.plan.id, amount });
      }
      await tx('leg_changes').insert({ leg_id: leg.id, start_at: leg.start_at, reseller_id: x.reseller.id, kind: 'stored' });
      if (holdMs) await sleep(holdMs);
      return { id: Number(leg.id), start_at: leg.start_at };
    });
  }

  /** A re-rating as the ledger stores one: new charges, the leg rated, and a 'rerated' change. */
  async function rerate(x: Tenant, leg: { id: number; start_at: Date }, amount: string) {
    await t.db.transaction(async (tx) => {
      await tx('charges').where({ leg_id: leg.id }).delete();
      await tx('call_legs').where({ id: leg.id }).update({ status: 'rated', unrated_reason: null, rated_at: new Date() });
      await makeCharge(tx as unknown as Db, leg, { kind: 'wholesale', resellerId: x.reseller.id, subscriberId: x.subscriber.id, ratePlanId: fx.operatorPlan.id, amount });
      await makeCharge(tx as unknown as Db, leg, { kind: 'retail', resellerId: x.reseller.id, subscriberId: x.subscriber.id, ratePlanId: x.plan.id, amount });
      await tx('leg_changes').insert({ leg_id: leg.id, start_at: leg.start_at, reseller_id: x.reseller.id, kind: 'rerated' });
    });
  }

  async function makeSpec(x: Tenant, name: string, period: 'hourly' | 'daily', createdAt: string) {
    const [row] = await t.db('record_specifications').insert({ reseller_id: x.reseller.id, name, period, spec: JSON.stringify(plain), created_at: createdAt }).returning('id');
    return Number((row as { id: number }).id);
  }

  /**
   * Waits until every change stored so far may be read (the change log's horizon is held back by
   * any long transaction on the server, even in another database).
   */
  async function settled(x: Tenant, timeoutMs = Number(process.env.SETTLE_MS ?? 300_000)) {
    const { rows } = (await t.db.raw("SELECT xid::text || '.' || position AS c FROM leg_changes WHERE reseller_id = ? ORDER BY xid DESC, position DESC LIMIT 1", [x.reseller.id])) as { rows: Array<{ c: string }> };
    const last = rows[0]?.c ?? null;
    const until = Date.now() + timeoutMs;
    for (;;) {
      const horizon = await changesHorizon(t.db, { kind: 'reseller', resellerId: x.reseller.id }, null);
      if (horizon === last) break;
      assert.ok(Date.now() < until, `the change log did not settle: ${horizon} short of ${last}`);
      await sleep(200);
    }
  }

  const filesOf = async (specId: number): Promise<RecordFileRow[]> =>
    (await filesAfter(t.db, (await t.db('record_specifications').where({ id: specId }).first()).reseller_id, 0, 1000)).filter((f) => f.specId === specId);

  before(async () => {
    // Receivers listen on 127.0.0.1 here: private addresses allowed, as for a local receiver (outbound.test.ts and the test below refuse them).
    t = await createTestApp({ OUTBOUND_ALLOW_PRIVATE: 'true' });
    fx = await makeTenants(t.db);
    await t.db('resellers').where({ id: fx.a.reseller.id }).update({ time_zone: 'America/New_York' });
  });
  after(() => t.close());

  // 2026-03-08 is the US spring-forward day: in New York it is 23 hours long (05:00Z to 04:00Z next day).
  const DST_LEGS = ['2026-03-07T06:00:00Z', '2026-03-08T04:59:59Z', '2026-03-08T05:00:00Z', '2026-03-08T06:59:59Z', '2026-03-08T07:00:00Z', '2026-03-09T03:59:59Z', '2026-03-09T04:00:00Z', '2026-03-09T15:30:00Z'];
  const legs: Array<{ id: number; start_at: Date }> = [];
  let daily = 0;
  let hourly = 0;

  test('every rated leg is in exactly one file, the file of its period, across hours and the DST day of the reseller\'s zone', async () => {
    daily = await makeSpec(fx.a, 'Daily', 'daily', '2026-03-07T05:00:00Z');
    hourly = await makeSpec(fx.a, 'Hourly', 'hourly', '2026-03-07T05:00:00Z');
    for (const s of DST_LEGS) legs.push(await store(fx.a, new Date(s), '0.1000000000'));
    const unrated = await store(fx.a, new Date('2026-03-09T16:00:00Z'), null);
    legs.push(unrated);
    await settled(fx.a);
    await closeDueFiles(t.db, { nowMs: Date.parse('2026-03-10T12:00:00Z'), resellerIds: [fx.a.reseller.id] });

    const days = await filesOf(daily);
    assert.deepEqual(days.map((f) => [f.periodStart.toISOString(), f.periodEnd.toISOString()]), [
      ['2026-03-07T05:00:00.000Z', '2026-03-08T05:00:00.000Z'],
      ['2026-03-08T05:00:00.000Z', '2026-03-09T04:00:00.000Z'], // 23 hours
      ['2026-03-09T04:00:00.000Z', '2026-03-10T04:00:00.000Z'],
    ]);
    const hours = await filesOf(hourly);
    assert.equal(hours.length, Math.floor((Date.parse('2026-03-10T11:55:00Z') - Date.parse('2026-03-07T05:00:00Z')) / 3_600_000));
    for (const files of [days, hours]) {
      const seen = new Map<string, RecordFileRow>();
      for (const f of files) {
        assert.equal(f.status, 'closed');
        const bytes = await bytesOf(t.db, f);
        assert.equal(f.sha256, crypto.createHash('sha256').update(bytes).digest('hex'));
        assert.equal(f.byteSize, bytes.length);
        const lines = await linesOf(t.db, f);
        assert.equal(f.records, lines.length);
        for (const l of lines) {
          assert.ok(!seen.has(l.leg_id!), `leg ${l.leg_id} in two files`);
          seen.set(l.leg_id!, f);
          assert.equal(l.record_kind, 'original');
        }
        // Totals per currency: the sum of the lines.
        assert.equal(f.totals.wholesale?.USD ?? '0', lines.length ? (lines.length / 10).toFixed(10) : '0');
      }
      const rated = legs.filter((l) => l.id !== unrated.id);
      assert.deepEqual([...seen.keys()].map(Number).sort((a, b) => a - b), rated.map((l) => l.id).sort((a, b) => a - b));
      for (const l of rated) {
        const f = seen.get(String(l.id))!;
        const s = new Date(l.start_at).getTime();
        assert.ok(s >= f.periodStart.getTime() && s < f.periodEnd.getTime(), `leg at ${new Date(s).toISOString()} in ${f.filename}`);
      }
    }
    assert.match(hours.find((f) => f.periodStart.toISOString() === '2026-03-08T07:00:00.000Z')!.filename, /2026-03-08T03-0400/, 'the hour after the gap is 03:00 EDT');
    // Numbers are the reseller's, gapless, in closing order.
    const all = await filesAfter(t.db, fx.a.reseller.id, 0, 1000);
    assert.deepEqual(all.map((f) => f.number), all.map((_, i) => i + 1));
  });

  test('a leg re-rated after its file closed comes again as a correction with the difference; a leg rated late goes into the file closing then', async () => {
    const first = legs[0]!;
    const late = legs[legs.length - 1]!;
    await rerate(fx.a, first, '0.2500000000');
    await rerate(fx.a, late, '0.0300000000');
    await settled(fx.a);
    await closeDueFiles(t.db, { nowMs: Date.parse('2026-03-11T12:00:00Z'), resellerIds: [fx.a.reseller.id] });
    const days = await filesOf(daily);
    assert.equal(days.length, 4);
    const lines = await linesOf(t.db, days[3]!);
    const firstFile = days[0]!;
    assert.deepEqual(lines.map((l) => [Number(l.leg_id), l.record_kind, l.corrects_file, l.wholesale_difference]).sort((a, b) => Number(a[0]) - Number(b[0])), [
      [first.id, 'correction', String(firstFile.id), '0.1500'],
      [late.id, 'original', '', ''],
    ].sort((a, b) => Number(a[0]) - Number(b[0])));
    assert.equal(days[3]!.corrections, 1);
    assert.equal(days[3]!.totals.wholesale?.USD, '0.1800000000', 'the difference plus the late leg');
    // The earlier files did not change.
    assert.equal((await linesOf(t.db, firstFile)).find((l) => Number(l.leg_id) === first.id)?.wholesale_total, '0.1000');
    await assert.rejects(t.db('record_files').where({ id: firstFile.id }).update({ records: 0 }), /never changes/);
  });

  test('a leg that moved to another reseller after its file closed is taken back in the first one\'s next file and posted in the other\'s', async () => {
    const moved = legs[1]!;
    // The reseller it moves to is a new one, so the other tests' files of B stay as they are.
    const to = (await makeTenants(t.db)).a;
    const bSpec = await makeSpec(to, 'Moved in', 'daily', '2026-03-07T00:00:00Z');
    // As the ledger re-rates a leg whose number's history was corrected: B's charges, and a change for both.
    await t.db.transaction(async (tx) => {
      await tx('charges').where({ leg_id: moved.id }).delete();
      await tx('call_legs').where({ id: moved.id }).update({ reseller_id: to.reseller.id, subscriber_id: to.subscriber.id, rated_at: new Date() });
      await makeCharge(tx as unknown as Db, moved, { kind: 'wholesale', resellerId: to.reseller.id, subscriberId: to.subscriber.id, ratePlanId: fx.operatorPlan.id, amount: '0.4000000000' });
      await makeCharge(tx as unknown as Db, moved, { kind: 'retail', resellerId: to.reseller.id, subscriberId: to.subscriber.id, ratePlanId: to.plan.id, amount: '0.4000000000' });
      await tx('leg_changes').insert([
        { leg_id: moved.id, start_at: moved.start_at, reseller_id: to.reseller.id, kind: 'rerated' },
        { leg_id: moved.id, start_at: moved.start_at, reseller_id: fx.a.reseller.id, kind: 'rerated' },
      ]);
    });
    await settled(fx.a);
    await settled(to);
    await closeDueFiles(t.db, { nowMs: Date.parse('2026-03-12T12:00:00Z'), resellerIds: [fx.a.reseller.id, to.reseller.id] });
    const aDays = await filesOf(daily);
    assert.equal(aDays.length, 5);
    const taken = await linesOf(t.db, aDays[4]!);
    assert.equal(taken.length, 1);
    const line = taken[0]!;
    // Nothing of B's (subscriber, charges) in A's file: the call, and the whole first amount taken back.
    assert.deepEqual([Number(line.leg_id), line.record_kind, line.corrects_file, line.wholesale_difference, line.wholesale_total, line.account_number, line.status], [moved.id, 'correction', String(aDays[0]!.id), '-0.1000', '', '', 'unrated']);
    assert.equal(aDays[4]!.totals.wholesale?.USD, '-0.1000000000');
    const bLines = (await Promise.all((await filesOf(bSpec)).map((f) => linesOf(t.db, f)))).flat();
    assert.deepEqual(bLines.map((l) => [Number(l.leg_id), l.record_kind, l.wholesale_total]), [[moved.id, 'original', '0.4000']]);
  });

  test('a spec that posts from a date begins its files with that day, one per period since, and never posts a call before it', async () => {
    const x = (await makeTenants(t.db)).a;
    await t.db('resellers').where({ id: x.reseller.id }).update({ time_zone: 'America/New_York' });
    // New York days (EDT, UTC-4): 9 April from 04:00Z, 10 April, 11 April.
    const before = await store(x, new Date('2026-04-09T20:00:00Z'), '0.0100000000');
    const day1 = [await store(x, new Date('2026-04-10T04:00:00Z'), '0.0200000000'), await store(x, new Date('2026-04-11T03:59:59Z'), '0.0300000000')];
    const day2 = [await store(x, new Date('2026-04-11T04:00:00Z'), '0.0400000000')];
    // Made on the 12th, posting from the 10th.
    const [row] = await t.db('record_specifications').insert({ reseller_id: x.reseller.id, name: 'From the 10th', period: 'daily', posts_from: '2026-04-10', spec: JSON.stringify(plain), created_at: '2026-04-12T15:00:00Z' }).returning('id');
    const spec = Number((row as { id: number }).id);
    // Made on the 12th with nothing chosen: every call already stored, in the first file (the 12th's).
    const whole = await makeSpec(x, 'Everything', 'daily', '2026-04-12T15:00:00Z');
    await settled(x);
    await closeDueFiles(t.db, { nowMs: Date.parse('2026-04-13T12:00:00Z'), resellerIds: [x.reseller.id] });
    const files = await filesOf(spec);
    assert.deepEqual(files.map((f) => f.periodStart.toISOString()), ['2026-04-10T04:00:00.000Z', '2026-04-11T04:00:00.000Z', '2026-04-12T04:00:00.000Z']);
    const ids = async (f: RecordFileRow) => (await linesOf(t.db, f)).map((l) => Number(l.leg_id)).sort((a, b) => a - b);
    assert.deepEqual(await ids(files[0]!), day1.map((l) => l.id).sort((a, b) => a - b));
    assert.deepEqual(await ids(files[1]!), day2.map((l) => l.id));
    assert.deepEqual(await ids(files[2]!), []);
    // Re-rated later, the call before the date is still not this spec's.
    await rerate(x, before, '0.0500000000');
    await settled(x);
    await closeDueFiles(t.db, { nowMs: Date.parse('2026-04-14T12:00:00Z'), resellerIds: [x.reseller.id] });
    const after = await filesOf(spec);
    assert.equal(after.length, 4);
    assert.deepEqual(await ids(after[3]!), []);
    const everything = await filesOf(whole);
    assert.equal(everything[0]!.periodStart.toISOString(), '2026-04-12T04:00:00.000Z');
    assert.deepEqual(await ids(everything[0]!), [before, ...day1, ...day2].map((l) => l.id).sort((a, b) => a - b));
    // Where the files begin is fixed once one is begun.
    const admin = await Client.login(t.app, x.admin.email);
    const edit = await admin.get(`/reseller/record-specs/${spec}/edit`);
    assert.equal(edit.status, 200);
    assert.match(edit.text, /name="posts_from"[^>]*value="2026-04-10"/);
    const values = specFormValues({ name: 'From the 10th', period: 'daily', postsFrom: '2026-04-01' }, plain);
    const form = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined).map(([k, v]) => [k, Array.isArray(v) ? v : String(v)])) as Record<string, string>;
    const refused = await admin.submit(`/reseller/record-specs/${spec}`, form, `/reseller/record-specs/${spec}/edit`);
    assert.equal(refused.status, 422);
    assert.match(refused.text, /can no longer change/);
    assert.equal((await admin.submit(`/reseller/record-specs/${spec}`, { ...form, posts_from: '2026-04-10', name: 'From the tenth' }, `/reseller/record-specs/${spec}/edit`)).status, 303);
    assert.equal((await t.db('record_specifications').where({ id: spec }).first()).posts_from, '2026-04-10');
  });

  test('a closing cut short and resumed gives one file, byte for byte the file of an uninterrupted closing', async () => {
    const s1 = await makeSpec(fx.b, 'Cut', 'daily', '2026-05-01T00:00:00Z');
    const s2 = await makeSpec(fx.b, 'Whole', 'daily', '2026-05-01T00:00:00Z');
    for (let i = 0; i < 7; i++) await store(fx.b, new Date(Date.parse('2026-05-01T01:00:00Z') + i * 60_000), `0.0${i + 1}00000000`);
    await settled(fx.b);
    await assert.rejects(
      closeDueFiles(t.db, { nowMs: Date.parse('2026-05-02T01:00:00Z'), batch: 2, resellerIds: [fx.b.reseller.id], afterBatch: (f) => { if (f.specId === s1 && f.chunks >= 3) throw new Error('killed'); } }),
      /killed/,
    );
    const cut = await t.db('record_files').where({ spec_id: s1 });
    assert.equal(cut.length, 1);
    assert.equal(cut[0].status, 'closing');
    await closeDueFiles(t.db, { nowMs: Date.parse('2026-05-02T01:00:00Z'), batch: 2, resellerIds: [fx.b.reseller.id] });
    await closeDueFiles(t.db, { nowMs: Date.parse('2026-05-02T01:00:00Z'), resellerIds: [fx.b.reseller.id] });
    const [a] = await filesOf(s1);
    const [b] = await filesOf(s2);
    assert.equal((await filesOf(s1)).length, 1);
    assert.equal(a!.records, 7);
    assert.deepEqual(await bytesOf(t.db, a!), await bytesOf(t.db, b!));
    assert.equal(a!.sha256, b!.sha256);
    assert.deepEqual(a!.totals, b!.totals);
  });

  test('the cursor never skips or repeats a file or a leg while legs are posted and files close', async () => {
    const T0 = Date.parse('2026-06-01T00:00:00Z');
    const spec = await makeSpec(fx.b, 'Follow', 'hourly', new Date(T0).toISOString());
    // The month's partition first (writers creating it at once would race).
    const written: number[] = [(await store(fx.b, new Date(T0 + 60_000), '0.0100000000')).id];
    let stop = false;
    const writer = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const start = new Date(T0 + Math.floor(Math.random() * 6 * 3_600_000));
        const leg = await store(fx.b, start, '0.0100000000', t.embedded ? 0 : Math.floor(Math.random() * 30));
        written.push(leg.id);
      }
    };
    const taken = new Map<number, number>();
    const files = new Set<number>();
    let cursor = 0;
    // The reseller's client: the API with a record-files key, "files after the last one I took".
    const { key } = await createKey(t.db, fx.b.reseller.id, 'follower', null);
    const api = (path: string) => request(t.app).get(path).set('Authorization', `Bearer ${key}`);
    const page = async (): Promise<number> => {
      const res = await api(`/api/v1/record-files?after=${cursor}&limit=3`);
      assert.equal(res.status, 200, res.text);
      const got = res.body.files as Array<{ id: number; number: number; specification: { id: number }; download_url: string; sha256: string }>;
      for (const f of got) {
        assert.ok(!files.has(f.id), `file ${f.id} read twice`);
        assert.equal(f.number, cursor + 1, 'numbers come without a gap');
        files.add(f.id);
        cursor = f.number;
        if (f.specification.id !== spec) continue;
        const content = await api(f.download_url);
        assert.equal(content.status, 200);
        assert.equal(crypto.createHash('sha256').update(content.text).digest('hex'), f.sha256);
        const lines = parse(content.text, { columns: true, bom: true }) as Array<Record<string, string>>;
        for (const l of lines) taken.set(Number(l.leg_id), (taken.get(Number(l.leg_id)) ?? 0) + 1);
      }
      assert.equal(res.body.next_after, cursor);
      return got.length;
    };
    const closer = async () => {
      for (let h = 1; !stop; h = Math.min(h + 1, 8)) {
        await closeDueFiles(t.db, { nowMs: T0 + h * 3_600_000, graceMs: 0, batch: 7, resellerIds: [fx.b.reseller.id] });
        await page();
        await sleep(5);
      }
    };
    const closing = closer();
    await Promise.all([writer(40), writer(40), writer(40)]);
    stop = true;
    await closing;
    await settled(fx.b);
    await closeDueFiles(t.db, { nowMs: T0 + 12 * 3_600_000, graceMs: 0, resellerIds: [fx.b.reseller.id] });
    while ((await page()) > 0);
    assert.equal(written.length, 121);
    for (const id of written) assert.equal(taken.get(id), 1, `leg ${id} in ${taken.get(id) ?? 0} files`);
    // The spec's first file also holds the reseller's legs from before it (the earlier tests'): each once too.
    for (const [id, n] of taken) assert.equal(n, 1, `leg ${id} in ${n} files`);
  });

  test('the portal lists and downloads a reseller\'s own files only; keys are shown once, stored hashed, narrow, revocable', async () => {
    const admin = await Client.login(t.app, fx.a.admin.email);
    const support = await Client.login(t.app, fx.a.support.email);
    const ops = await Client.login(t.app, fx.wholesaleAdmin.email);
    const aFiles = await filesAfter(t.db, fx.a.reseller.id, 0, 1000);
    const bFiles = await filesAfter(t.db, fx.b.reseller.id, 0, 1000);
    assert.ok(aFiles.length > 0 && bFiles.length > 0);
    const own = aFiles[aFiles.length - 1]!;
    const foreign = bFiles[0]!;

    const list = await admin.get('/reseller/record-files');
    assert.equal(list.status, 200);
    assert.match(list.text, new RegExp(own.filename.replace(/[.+]/g, '\\$&')));
    assert.doesNotMatch(list.text, new RegExp(`record-files/${foreign.id}/download`));
    assert.match(list.text, /EST|EDT/, 'periods in the reseller\'s zone');
    const dl = await support.get(`/reseller/record-files/${own.id}/download`);
    assert.equal(dl.status, 200);
    assert.equal(crypto.createHash('sha256').update(dl.text).digest('hex'), own.sha256);
    assert.equal((await admin.get(`/reseller/record-files/${foreign.id}/download`)).status, 404);
    assert.equal((await ops.get(`/wholesale/resellers/${fx.b.reseller.id}/record-files/${foreign.id}/download`)).status, 200);
    assert.equal((await ops.get(`/wholesale/resellers/${fx.a.reseller.id}/record-files/${foreign.id}/download`)).status, 404);

    // Support reads only.
    const refused = await support.submit('/reseller/record-files/keys', { label: 'x' }, '/reseller/record-files');
    assert.equal(refused.status, 403);
    const made = await admin.submit('/reseller/record-files/keys', { label: 'Accounting' }, '/reseller/record-files');
    assert.equal(made.status, 200);
    const key = /data-testid="key">([^<]+)</.exec(made.text)?.[1] as string;
    assert.match(key, /^rfk_/);
    const stored = await t.db('record_file_keys').where({ reseller_id: fx.a.reseller.id, label: 'Accounting' }).first();
    assert.equal(stored.key_hash, crypto.createHash('sha256').update(key).digest('hex'));
    assert.ok(!JSON.stringify(stored).includes(key), 'the key itself is not stored');
    assert.doesNotMatch((await admin.get('/reseller/record-files')).text, new RegExp(key), 'shown once');

    const api = (path: string, k = key) => request(t.app).get(path).set('Authorization', `Bearer ${k}`);
    const page = await api('/api/v1/record-files?after=0&limit=1000');
    assert.equal(page.status, 200);
    assert.deepEqual(page.body.files.map((f: { id: number }) => f.id), aFiles.map((f) => f.id));
    assert.equal((await api(`/api/v1/record-files/${foreign.id}/content`)).status, 404, 'another reseller\'s file is none');
    assert.equal((await api('/api/v1/record-files?after=-1')).status, 400);
    assert.equal((await api('/api/v1/')).status, 401, 'a record-files key opens nothing else');
    await admin.submit(`/reseller/record-files/keys/${stored.id}/revoke`, {}, '/reseller/record-files');
    assert.equal((await api('/api/v1/record-files')).status, 401, 'a revoked key is no key');
  });

  test('push: each closed file is posted signed to the reseller\'s address, retried after failures until it is taken, every attempt kept; send again', async () => {
    const SECRET = 'a-shared-secret-of-the-reseller';
    let failuresLeft = 2;
    const received: Array<{ id: number; sha: string }> = [];
    let badSignatures = 0;
    const server = http.createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        const body = Buffer.concat(parts);
        const ts = String(req.headers[TIMESTAMP_HEADER]);
        // The receiver's checks: the signature over timestamp and body, and a fresh timestamp.
        const good = signBody(SECRET, ts, body);
        const sent = String(req.headers[SIGNATURE_HEADER]);
        const fresh = Math.abs(Date.now() / 1000 - Number(ts)) < 300;
        if (sent.length !== good.length || !crypto.timingSafeEqual(Buffer.from(sent), Buffer.from(good)) || !fresh) {
          badSignatures++;
          res.writeHead(401).end('bad signature');
          return;
        }
        // A body changed on the way (or signed with another secret) does not verify.
        assert.notEqual(signBody(SECRET, ts, Buffer.concat([body, Buffer.from('x')])), sent);
        assert.notEqual(signBody('another-secret-entirely', ts, body), sent);
        if (failuresLeft > 0) {
          failuresLeft--;
          res.writeHead(503).end('busy, try later');
          return;
        }
        received.push({ id: Number(req.headers['x-record-file-id']), sha: crypto.createHash('sha256').update(body).digest('hex') });
        res.writeHead(200).end('thanks');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/record-files`;
    try {
      const admin = await Client.login(t.app, fx.b.admin.email);
      assert.equal((await admin.submit('/reseller/record-files/push', { url: 'ftp://example.com/x', secret: SECRET }, '/reseller/record-files')).status, 422);
      assert.equal((await admin.submit('/reseller/record-files/push', { url, secret: SECRET }, '/reseller/record-files')).status, 303);
      const before = (await filesAfter(t.db, fx.b.reseller.id, 0, 1000)).length;
      await settled(fx.b);
      await closeDueFiles(t.db, { nowMs: Date.parse('2026-06-02T03:00:00Z'), graceMs: 0, resellerIds: [fx.b.reseller.id] });
      const closed = (await filesAfter(t.db, fx.b.reseller.id, before, 1000));
      assert.ok(closed.length > 2);
      const deliveries = await t.db('record_file_deliveries').where({ reseller_id: fx.b.reseller.id });
      assert.deepEqual(deliveries.map((d) => Number(d.file_id)).sort((a, b) => a - b), closed.map((f) => f.id).sort((a, b) => a - b), 'one delivery per closed file');
      // And a record_file.closed event per file in the outbox (webhooks), written with its close.
      const events = await t.db('outbox_events').where({ type: 'record_file.closed', reseller_id: fx.b.reseller.id }).whereIn('entity_id', closed.map((f) => f.id));
      assert.deepEqual(events.map((e) => Number(e.entity_id)).sort((a, b) => a - b), closed.map((f) => f.id).sort((a, b) => a - b));
      assert.ok(events.every((e) => e.payload.after.sha256 === closed.find((f) => f.id === Number(e.entity_id))?.sha256));

      const stored = await t.db('record_file_push_targets').where({ reseller_id: fx.b.reseller.id }).first();
      assert.ok(!stored.secret.includes(SECRET), 'the shared secret is not stored in clear');
      const first = await pushDue(t.db, box, { allowPrivate: true, nowMs: Date.now() });
      assert.equal(first.tried, closed.length);
      assert.equal(first.delivered, closed.length - 2);
      // Not due again before the back-off.
      assert.equal((await pushDue(t.db, box, { allowPrivate: true, nowMs: Date.now() + 30_000 })).tried, 0);
      const second = await pushDue(t.db, box, { allowPrivate: true, nowMs: Date.now() + 61_000 });
      assert.deepEqual(second, { tried: 2, delivered: 2 });
      assert.equal(badSignatures, 0);
      assert.equal(received.length, closed.length);
      for (const f of closed) assert.deepEqual(received.filter((r) => r.id === f.id).map((r) => r.sha), [f.sha256]);
      const attempts = await t.db('record_file_delivery_attempts as a').join('record_file_deliveries as d', 'd.id', 'a.delivery_id').where('d.reseller_id', fx.b.reseller.id).orderBy('a.id').select('a.status_code', 'a.answer');
      assert.equal(attempts.filter((a) => a.status_code === 503).length, 2);
      assert.equal(attempts.length, closed.length + 2);
      const page = await admin.get('/reseller/record-files');
      assert.match(page.text, /503 busy, try later/, 'every attempt and its answer is shown');

      // Send again: a new delivery of the same file, delivered on the next run.
      const again = closed[0]!;
      assert.equal((await admin.submit(`/reseller/record-files/${again.id}/push`, {}, '/reseller/record-files')).status, 303);
      assert.deepEqual(await pushDue(t.db, box, { allowPrivate: true, nowMs: Date.now() }), { tried: 1, delivered: 1 });
      assert.equal(received.filter((r) => r.id === again.id).length, 2);
      // A secret stored in clear before secrets were sealed still signs, and is sealed on the next run.
      await t.db('record_file_push_targets').where({ reseller_id: fx.b.reseller.id }).update({ secret: SECRET });
      assert.equal((await admin.submit(`/reseller/record-files/${again.id}/push`, {}, '/reseller/record-files')).status, 303);
      assert.deepEqual(await pushDue(t.db, box, { allowPrivate: true, nowMs: Date.now() }), { tried: 1, delivered: 1 });
      assert.equal(badSignatures, 0);
      const resealed = await t.db('record_file_push_targets').where({ reseller_id: fx.b.reseller.id }).first();
      assert.ok(resealed.secret.startsWith('v1.') && box.open(resealed.secret) === SECRET);
      // A post signed with another secret is refused by the receiver.
      const ts = String(Math.floor(Date.now() / 1000));
      const forged = await fetch(url, { method: 'POST', body: 'leg_id\n1\n', headers: { [TIMESTAMP_HEADER]: ts, [SIGNATURE_HEADER]: signBody('not-the-shared-secret', ts, Buffer.from('leg_id\n1\n')) } });
      assert.equal(forged.status, 401);
      assert.equal(badSignatures, 1);
      // Private addresses not allowed (the default): the local receiver is refused at the send, the attempt says why.
      const seen = received.length;
      assert.equal((await admin.submit(`/reseller/record-files/${again.id}/push`, {}, '/reseller/record-files')).status, 303);
      assert.deepEqual(await pushDue(t.db, box, { nowMs: Date.now() }), { tried: 1, delivered: 0 });
      const refused = await t.db('record_file_delivery_attempts as a').join('record_file_deliveries as d', 'd.id', 'a.delivery_id').where('d.reseller_id', fx.b.reseller.id).orderBy('a.id', 'desc').first('a.status_code', 'a.answer');
      assert.equal(refused.status_code, null);
      assert.match(refused.answer, /not reached: refused: 127\.0\.0\.1 is a loopback address/);
      assert.equal(received.length, seen, 'nothing reached the receiver');
      // And refused when saved as such.
      await assert.rejects(setPushTarget(t.db, box, fx.b.reseller.id, { url: 'https://169.254.169.254/latest', secret: SECRET }, { allowPrivate: false }), (err: unknown) => err instanceof FieldErrors && /Not a public address/.test(err.fields.url ?? ''));
      // Another reseller's file cannot be sent again.
      const aFile = (await filesAfter(t.db, fx.a.reseller.id, 0, 1))[0]!;
      assert.equal((await admin.submit(`/reseller/record-files/${aFile.id}/push`, {}, '/reseller/record-files')).status, 404);
    } finally {
      server.close();
    }
  });
});
