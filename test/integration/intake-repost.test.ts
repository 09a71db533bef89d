import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, type TestApp } from '../support/app';
import { makePlan, makeReseller, makeSubscriber, makeRates, rateRow } from '../support/factories';
import { makePlatform, postCdrs } from '../support/intake';

/**
 * A platform's leg key names one leg, whatever else a re-post says (issue: a re-post whose start
 * differed only in precision was stored and charged a second time, since call_legs' unique key had
 * to include the start, its partition key).
 */
describe('CDR intake: a re-post with another start is the same leg', () => {
  let t: TestApp;

  before(async () => {
    t = await createTestApp();
    const wholesale = await makePlan(t.db, null, { name: 'WS' });
    const reseller = await makeReseller(t.db, { wholesale_plan_id: wholesale.id });
    const retail = await makePlan(t.db, reseller.id, { name: 'Retail' });
    await makeSubscriber(t.db, reseller.id, { retail_plan_id: retail.id }, ['+12125550100']);
    await makeRates(t.db, rateRow(wholesale, { rate: '0.02' }), rateRow(retail, { rate: '0.02' }));
  });
  after(() => t.close());

  const leg = (id: string, start: string, seconds = 90) => {
    const s = new Date(start).getTime();
    return { leg_id: id, calling: '+12125550100', called: '+442079460000', start, answer: new Date(s).toISOString(), end: new Date(s + seconds * 1000).toISOString() };
  };
  const count = async (table: 'call_legs' | 'charges', platformId: number, key: string) => {
    const q = table === 'call_legs' ? t.db('call_legs').where({ platform_id: platformId, leg_key: key }) : t.db('charges as c').join('call_legs as l', 'l.id', 'c.leg_id').where({ 'l.platform_id': platformId, 'l.leg_key': key });
    return Number((await q.count('* as n').first())?.n);
  };

  test('the start with its precision changed (…:26.597552 vs …:26): duplicate, no second leg or charge, the differing body kept for review', async () => {
    const p = await makePlatform(t.db);
    const first = await postCdrs(t, p.token, { ...leg('P-1', '2026-11-25T12:00:26.597552+00:00'), answer: '2026-11-25T12:00:26.597552+00:00', end: '2026-11-25T12:01:56.597552+00:00' });
    assert.equal(first.body.records[0].status, 'accepted', JSON.stringify(first.body));
    const again = await postCdrs(t, p.token, leg('P-1', '2026-11-25T12:00:26Z'));
    assert.equal(again.status, 200);
    const rec = again.body.records[0];
    assert.equal(rec.status, 'duplicate');
    assert.equal(rec.legs[0].id, first.body.records[0].legs[0].id);
    assert.deepEqual(rec.legs[0].differs, [
      'start: stored 2026-11-25T12:00:26.597Z, posted 2026-11-25T12:00:26.000Z',
      'answer: stored 2026-11-25T12:00:26.597Z, posted 2026-11-25T12:00:26.000Z',
      'end: stored 2026-11-25T12:01:56.597Z, posted 2026-11-25T12:01:56.000Z',
    ]);
    assert.equal(await count('call_legs', p.id, 'P-1'), 1);
    assert.equal(await count('charges', p.id, 'P-1'), 2);
    const reject = await t.db('cdr_rejects').where({ id: rec.reject_id }).first();
    assert.equal(reject.platform_id, p.id);
    assert.match(reject.error, /re-post of a stored leg that says something else; answered as a duplicate, nothing of it stored: leg P-1: start: stored/);
    assert.equal(JSON.parse(reject.body).start, '2026-11-25T12:00:26Z');
  });

  test('the start shifted by hours, or into another month: duplicate, one leg and one pair of charges', async () => {
    const p = await makePlatform(t.db);
    assert.equal((await postCdrs(t, p.token, leg('S-1', '2026-11-30T23:30:00Z'))).body.records[0].status, 'accepted');
    for (const start of ['2026-11-30T20:30:00Z', '2026-12-01T00:30:00Z', '2026-10-15T09:00:00Z']) {
      const res = await postCdrs(t, p.token, leg('S-1', start));
      assert.equal(res.status, 200);
      assert.equal(res.body.records[0].status, 'duplicate', start);
      assert.match(res.body.records[0].legs[0].differs[0], /^start: stored 2026-11-30T23:30:00.000Z, posted /);
    }
    assert.equal(await count('call_legs', p.id, 'S-1'), 1);
    assert.equal(await count('charges', p.id, 'S-1'), 2);
    assert.equal(Number((await t.db('cdr_rejects').where({ platform_id: p.id }).count('* as n').first())?.n), 3);
  });

  test('an identical re-post is a plain duplicate: nothing differs, nothing kept in the rejects', async () => {
    const p = await makePlatform(t.db);
    const body = leg('I-1', '2026-11-25T08:00:00Z');
    await postCdrs(t, p.token, body);
    const again = await postCdrs(t, p.token, body);
    assert.equal(again.body.records[0].status, 'duplicate');
    assert.equal(again.body.records[0].legs[0].differs, undefined);
    assert.equal(again.body.records[0].reject_id, undefined);
    assert.equal(Number((await t.db('cdr_rejects').where({ platform_id: p.id }).count('* as n').first())?.n), 0);
  });

  test('concurrent re-posts of one leg with different starts (across months) store exactly one leg', async () => {
    const p = await makePlatform(t.db);
    const starts = Array.from({ length: 24 }, (_, i) => new Date(Date.UTC(2026, 8 + (i % 3), 2 + i, i % 24, 0, i)).toISOString());
    const answers = await Promise.all(starts.map((s) => postCdrs(t, p.token, leg('C-1', s))));
    assert.ok(answers.every((a) => a.status === 200), answers.map((a) => a.status).join());
    assert.equal(answers.filter((a) => a.body.records[0].status === 'accepted').length, 1);
    assert.equal(answers.filter((a) => a.body.records[0].status === 'duplicate').length, starts.length - 1);
    assert.equal(new Set(answers.map((a) => a.body.records[0].legs[0].id)).size, 1);
    assert.equal(await count('call_legs', p.id, 'C-1'), 1);
    assert.equal(await count('charges', p.id, 'C-1'), 2);
  });

  test('a large post (COPY on a Postgres server) with a leg stored earlier under another start: that one duplicate, the rest stored once', async () => {
    const p = await makePlatform(t.db);
    await postCdrs(t, p.token, leg('L-7', '2026-11-25T10:00:00Z'));
    const records = Array.from({ length: 240 }, (_, i) => leg(`L-${i}`, '2026-11-25T11:00:00Z'));
    const res = await postCdrs(t, p.token, records);
    assert.equal(res.status, 200);
    assert.equal(res.body.accepted, 239);
    assert.equal(res.body.duplicates, 1);
    assert.equal(res.body.records[7].status, 'duplicate');
    assert.ok(res.body.records[7].reject_id > 0);
    assert.equal(Number((await t.db('call_legs').where({ platform_id: p.id }).count('* as n').first())?.n), 240);
    assert.equal(await count('charges', p.id, 'L-7'), 2);
  });

  test('the same record twice in one post of a format that does not refuse it (Asterisk CSV): the first accepted, the second its duplicate', async () => {
    const p = await makePlatform(t.db, { format: 'asterisk-csv' });
    const row = `"acc","+12125550100","+442079460000","default","","SIP/a-1","SIP/gw-2","Dial","SIP/gw","2026-11-25 09:00:00","2026-11-25 09:00:02","2026-11-25 09:01:02",62,60,"ANSWERED","DOCUMENTATION","1764061200.7",""`;
    const res = await postCdrs(t, p.token, `${row}\r\n${row}\r\n`, 'text/csv');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.records.map((r: { status: string }) => r.status), ['accepted', 'duplicate']);
    assert.equal(res.body.records[1].legs[0].id, res.body.records[0].legs[0].id);
    assert.equal(res.body.records[1].legs[0].differs, undefined);
    const key = res.body.records[0].legs[0].leg_key;
    assert.equal(await count('call_legs', p.id, key), 1);
    assert.equal(await count('charges', p.id, key), 2);
  });
});
