import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { createTestApp, type TestApp } from '../support/app';
import { makeUser } from '../support/factories';
import { Client } from '../support/http';
import { makePlatform, postCdrs } from '../support/intake';
import { dumpObjects } from '../fixtures/cdr/sql-dump';
import { expireStalePending } from '../../src/modules/intake/pending.service';
import { loadLegsForRating } from '../../src/modules/ledger/ledger.repository';

const FIXTURES = path.resolve(__dirname, '../fixtures/cdr');
const fixture = (p: string) => fs.readFileSync(path.join(FIXTURES, p), 'utf8');

/** The real switch records, posted through intake as each platform would, end to end. */
describe('CDR intake: every platform format over HTTP', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  const countLegs = async (platformId: number) => Number((await t.db('call_legs').where({ platform_id: platformId }).count('* as n').first())?.n);

  test('FreeSWITCH mod_json_cdr: raw JSON and the cdr= form body, one leg per channel; a re-post is a duplicate', async () => {
    const p = await makePlatform(t.db, { format: 'freeswitch-json', country_code: '855' });
    const raw = await postCdrs(t, p.token, fixture('freeswitch/somleng_freeswitch_cdr.json'));
    assert.equal(raw.status, 200, JSON.stringify(raw.body));
    assert.equal(raw.body.accepted, 1);
    const form = await postCdrs(t, p.token, `cdr=${encodeURIComponent(fixture('freeswitch/somleng_freeswitch_cdr_leg_b.json'))}`, 'application/x-www-form-urlencoded');
    assert.equal(form.status, 200, JSON.stringify(form.body));
    assert.equal(form.body.accepted, 1);
    const again = await postCdrs(t, p.token, fixture('freeswitch/somleng_freeswitch_cdr.json'));
    assert.equal(again.body.records[0].status, 'duplicate');
    assert.equal(await countLegs(p.id), 2);
    // No subscriber has these numbers here: kept as unrated with the reason, not dropped.
    const legs = await t.db('call_legs').where({ platform_id: p.id });
    assert.ok(legs.every((l) => l.status === 'unrated' && l.unrated_reason));
    // One vocabulary, with the switch's own cause and direction kept beside ours.
    const inbound = legs.find((l) => l.leg_key === '77e3b4f2-cac1-4724-81f6-f1cd5e01770c');
    assert.deepEqual([inbound.disposition, inbound.switch_cause, inbound.switch_direction], ['answered', 'NORMAL_UNSPECIFIED', 'inbound']);
  });

  test('FreeSWITCH mod_xml_cdr: the not-well-formed sample is refused with a clear error and kept', async () => {
    const p = await makePlatform(t.db, { format: 'freeswitch-xml' });
    const res = await postCdrs(t, p.token, fixture('freeswitch/not-well-formed_xmlcdr.xml'), 'application/xml');
    assert.equal(res.status, 400);
    assert.match(res.body.error, /not well-formed XML at line \d+, column \d+/);
    assert.ok(await t.db('cdr_rejects').where({ id: res.body.reject_id, platform_id: p.id }).first());
    assert.equal(await countLegs(p.id), 0);
  });

  test('Asterisk Master.csv in the platform time zone; the cdrlib sample gives five legs of one call', async () => {
    const p = await makePlatform(t.db, { format: 'asterisk-csv', time_zone: 'America/Chicago' });
    const res = await postCdrs(t, p.token, fixture('asterisk/testsuite__asttest_self-tests_cdrlib_good.csv'), 'text/csv');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.accepted, 5);
    const legs = await t.db('call_legs').where({ platform_id: p.id }).orderBy('id');
    assert.equal(legs.length, 5);
    assert.equal(new Set(legs.map((l) => l.call_id)).size, 1);
    assert.deepEqual(legs.map((l) => l.answered), [true, true, false, false, false]);
    assert.deepEqual(
      legs.map((l) => [l.disposition, l.switch_cause, l.switch_direction]),
      [['answered', 'ANSWERED', null], ['answered', 'ANSWERED', null], ['failed', 'FAILED', null], ['no_answer', 'NO ANSWER', null], ['busy', 'BUSY', null]],
    );
    const master = await postCdrs(t, p.token, fixture('asterisk/testsuite__lib_python_asterisk_self_test_Master.csv'), 'text/csv');
    assert.equal(master.body.accepted, 2);
  });

  test('Kamailio acc rows: INVITE/BYE pairs become legs, also when the BYE comes in a later post', async () => {
    const p = await makePlatform(t.db, { format: 'kamailio-acc' });
    const rows = dumpObjects(fixture('kamailio/dsiprouter-acc-cdrs-dump.sql'), 'acc');
    // Split where a call's INVITE 200 is in the first post and its BYE in the second, as a switch
    // posting in real time would.
    const at = rows.findIndex((r) => r.id === '544');
    const first = await postCdrs(t, p.token, JSON.stringify(rows.slice(0, at)));
    assert.equal(first.status, 200);
    assert.equal(first.body.rejected, 0);
    assert.equal(first.body.pending, 1, 'the INVITE without its BYE is kept, acknowledged, until the BYE comes');
    const waiting = await t.db('pending_records').where({ platform_id: p.id });
    assert.deepEqual(waiting.map((w) => w.correlation), ['UoGgthPn7FKd6Bc17u-4GA..']);
    assert.equal(await t.db('call_legs').where({ platform_id: p.id, call_id: 'UoGgthPn7FKd6Bc17u-4GA..' }).first(), undefined);

    const second = await postCdrs(t, p.token, JSON.stringify(rows.slice(at)));
    assert.equal(second.status, 200);
    assert.equal(second.body.pending, 0);
    const leg = await t.db('call_legs').where({ platform_id: p.id, call_id: 'UoGgthPn7FKd6Bc17u-4GA..' }).first();
    assert.ok(leg, 'the call closed by the later BYE is a leg');
    assert.equal(leg.billable_seconds, 7);
    assert.equal(new Date(leg.end_at).toISOString(), '2026-03-11T21:45:32.000Z');
    assert.equal(await t.db('pending_records').where({ platform_id: p.id }).first(), undefined, 'the stored half is consumed');
    // Every call of the dump, as if posted at once: dSIPRouter's 225 answered calls and 59 attempts.
    assert.equal(await countLegs(p.id), 225 + 59);
    // The first post is large enough for the COPY path on a Postgres server: the cause and the
    // vocabulary are stored by it too (403 Forbidden and 488 failed, 487 the caller's CANCEL).
    const kinds = await t.db('call_legs').where({ platform_id: p.id }).select('disposition', 'switch_cause').count('* as n').groupBy('disposition', 'switch_cause').orderBy(['disposition', 'switch_cause']);
    assert.deepEqual(kinds.map((k) => [k.disposition, k.switch_cause, Number(k.n)]), [['answered', '200', 225], ['cancelled', '487', 31], ['failed', '403', 24], ['failed', '488', 4]]);
  });

  test('Kamailio acc: the two halves of calls posted at the same moment, each alone, still pair into legs', async () => {
    const p = await makePlatform(t.db, { format: 'kamailio-acc' });
    const rows = dumpObjects(fixture('kamailio/dsiprouter-acc-cdrs-dump.sql'), 'acc');
    const invite = rows.find((r) => r.method === 'INVITE' && r.sip_code === '200') as Record<string, string>;
    const bye = rows.find((r) => r.method === 'BYE' && r.callid === invite.callid) as Record<string, string>;
    assert.ok(bye, 'the fixture has the BYE of that call');
    // Ten calls, each half in its own post, all posts at once: no post sees the other half stored.
    const calls = Array.from({ length: 10 }, (_, i) => `race-${i}`);
    const answers = await Promise.all(calls.flatMap((c) => [postCdrs(t, p.token, JSON.stringify([{ ...invite, callid: c }])), postCdrs(t, p.token, JSON.stringify([{ ...bye, callid: c }]))]));
    assert.ok(answers.every((a) => a.status === 200));
    // Halves that missed each other are paired right after their commit.
    for (let tries = 0; tries < 50 && (await t.db('pending_records').where({ platform_id: p.id }).first()); tries++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await t.db('pending_records').where({ platform_id: p.id }).first(), undefined, 'no half left waiting');
    const legs = await t.db('call_legs').where({ platform_id: p.id }).select('call_id');
    assert.deepEqual(legs.map((l) => l.call_id).sort(), [...calls].sort());
  });

  test('a half that never gets its other half is moved to the rejects after the waiting time, with the reason', async () => {
    const p = await makePlatform(t.db, { format: 'kamailio-acc' });
    const rows = dumpObjects(fixture('kamailio/dsiprouter-acc-cdrs-dump.sql'), 'acc');
    const invite = rows.find((r) => r.method === 'INVITE' && r.sip_code === '200');
    const res = await postCdrs(t, p.token, JSON.stringify([{ ...invite, callid: 'never-closed' }]));
    assert.equal(res.body.pending, 1);
    assert.equal(await expireStalePending(t.db, 24), 0, 'not yet: it has waited no time');
    await t.db('pending_records').where({ platform_id: p.id }).update({ received_at: t.db.raw(`now() - interval '25 hours'`) });
    assert.equal(await expireStalePending(t.db, 24), 1);
    assert.equal(await t.db('pending_records').where({ platform_id: p.id }).first(), undefined);
    const reject = await t.db('cdr_rejects').where({ platform_id: p.id }).orderBy('id', 'desc').first();
    assert.match(reject.error, /half of call never-closed got no other half within 24 hours/);
    assert.match(reject.body, /never-closed/);
  });

  test('generic CSV: header row, one leg per line', async () => {
    const p = await makePlatform(t.db, { format: 'generic-csv' });
    const csv = 'leg_id,calling,called,start,answer,end\ng-1,+12125550100,+442079460000,2026-11-25T12:00:00Z,2026-11-25T12:00:05Z,2026-11-25T12:01:05Z\ng-2,+12125550100,+442079460001,2026-11-25T12:05:00Z,,\n';
    const res = await postCdrs(t, p.token, csv, 'text/csv');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.accepted, 2);
    const legs = await t.db('call_legs').where({ platform_id: p.id }).orderBy('leg_key');
    assert.deepEqual(legs.map((l) => [l.leg_key, l.billable_seconds, l.answered]), [['g-1', 60, true], ['g-2', 0, false]]);
  });

  test("the call page and the CSV export show the switch's cause beside the disposition; re-rating reads both back", async () => {
    const p = await makePlatform(t.db, { format: 'freeswitch-json', name: 'fs-causes' });
    const cdr = {
      channel_data: { direction: 'outbound' },
      variables: { uuid: 'busy-leg-1', sip_from_user: '+12125550100', sip_to_user: '+13125550199', start_epoch: String(Math.floor(Date.now() / 1000) - 600), answer_epoch: '0', end_epoch: String(Math.floor(Date.now() / 1000) - 590), billsec: '0', hangup_cause: 'USER_BUSY' },
    };
    const res = await postCdrs(t, p.token, JSON.stringify(cdr));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const id = res.body.records[0].legs[0].id as number;
    const stored = await t.db('call_legs').where({ id }).first();
    assert.deepEqual([stored.disposition, stored.switch_cause, stored.switch_direction], ['busy', 'USER_BUSY', 'outbound']);

    const admin = await Client.login(t.app, (await makeUser(t.db, 'wholesale_admin')).email);
    const page = await admin.get(`/wholesale/calls/${id}`);
    assert.equal(page.status, 200);
    assert.match(page.text, /<dt>Disposition<\/dt><dd>busy <small class="muted">switch cause <code>USER_BUSY<\/code><\/small><\/dd>/);
    assert.match(page.text, /<dt>Direction<\/dt><dd>[^<]*<small class="muted">switch said <code>outbound<\/code><\/small><\/dd>/);
    const rows = parse((await admin.get(`/wholesale/calls.csv?platform=${p.id}`)).text, { columns: true }) as Array<Record<string, string>>;
    assert.deepEqual(rows.map((r) => [r.disposition, r.switch_cause]), [['busy', 'USER_BUSY']]);

    const [again] = await loadLegsForRating(t.db, { kind: 'wholesale' }, { ids: [id] });
    assert.deepEqual([again?.leg.disposition, again?.leg.switchCause, again?.leg.platformDirection], ['busy', 'USER_BUSY', 'outbound']);
  });

  test('Cisco CUCM: the operator picks cucm-csv in the platform form; the CDR file is posted as it is (header row, type row, records)', async () => {
    const admin = await Client.login(t.app, (await makeUser(t.db, 'wholesale_admin')).email);
    const form = await admin.get('/wholesale/platforms/new');
    assert.match(form.text, /<option value="cucm-csv"/);
    const created = await admin.submit('/wholesale/platforms', { name: 'cucm-cluster', format: 'cucm-csv', time_zone: 'UTC', country_code: '1', allowed_sources: '', trunk_carriers: '', active: 'on', accept_calls_from: '2000-01-01' }, '/wholesale/platforms/new');
    assert.equal(created.status, 201);
    const token = /data-testid="platform-credential">([^<]+)</.exec(created.text)?.[1] as string;
    const platform = await t.db('platforms').where({ name: 'cucm-cluster' }).first();
    assert.equal(platform.format, 'cucm-csv');

    const res = await postCdrs(t, token, fixture('cucm/cdr.txt'), 'text/csv');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.accepted, 3);
    const legs = await t.db('call_legs').where({ platform_id: platform.id }).orderBy('leg_key');
    assert.deepEqual(
      legs.map((l) => [l.leg_key, l.call_id, l.answered, l.billable_seconds, l.disposition, l.switch_cause, l.switch_direction, l.calling_number, l.called_number]),
      [
        ['2-25447-47874239-47874240', '2-25447', true, 11, 'answered', 'orig 16, dest 0', null, '+15033466594', '+15033466593'],
        ['2-25448-47874243-47874250', '2-25448', false, 0, 'failed', 'orig 0, dest 1459617833', null, null, '+15030079981'],
        ['2-25449-47874246-47874248', '2-25449', false, 0, 'failed', 'orig 0, dest 1459617833', null, null, '+15030079981'],
      ],
    );
    assert.equal(new Date(legs[0].start_at).toISOString(), '2025-04-18T16:32:08.000Z');
    const again = await postCdrs(t, token, fixture('cucm/cdr.txt'), 'text/csv');
    assert.deepEqual(again.body.records.map((r: { status: string }) => r.status), ['duplicate', 'duplicate', 'duplicate']);
    assert.equal(await countLegs(platform.id), 3);
    // The platform list counts the records received in the last day (the ledger's read).
    const list = await admin.get('/wholesale/platforms');
    const row = new RegExp(`cucm-cluster[\\s\\S]*?<td class="num"[^>]*>(?:<a [^>]*>)?(\\d+)(?:</a>)?</td>`).exec(list.text);
    assert.equal(row?.[1], '3', 'three records received today');
  });
});
