/**
 * Hosted PBX: extensions and SIP user names held by subscribers within a SIP domain, matched on
 * the legs of a platform that writes short numbers as extensions; ext-to-ext calls are on-net and
 * priced by the on-net rate for the platform's country code. The intake's holders cache sees a
 * new extension at once (party_version moves with subscriber_identities).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, type TestApp } from '../support/app';
import { makePlan, makeReseller, makeSubscriber, makeUser, makeRates, rateRow } from '../support/factories';
import { Client } from '../support/http';
import { rerateLegs } from '../../src/modules/rating/rerate.service';
import { makePlatform, postCdrs } from '../support/intake';

const DOMAIN = 'pbx.acme.example';

describe('CDR intake: extensions and SIP user names', () => {
  let t: TestApp;
  let pbx: string;
  let national: string;
  let reseller: { id: number };
  let a: { id: number };
  let b: { id: number };

  const identity = (subscriberId: number, id: string, domain = DOMAIN) =>
    t.db('subscriber_identities').insert({ reseller_id: reseller.id, subscriber_id: subscriberId, domain, identity: id, assigned_at: '2000-01-01T00:00:00Z' });
  const leg = (id: string, calling: string, called: string) => ({
    leg_id: id, calling, called, start: '2026-11-25T12:00:00Z', answer: '2026-11-25T12:00:05Z', end: '2026-11-25T12:01:05Z',
  });
  const post = async (token: string, l: object) => {
    const res = await postCdrs(t, token, l);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const out = res.body.records[0].legs[0] as { id: number; status: string; reason: string | null; direction: string | null };
    return { ...out, row: await t.db('call_legs').where({ id: out.id }).first() };
  };

  before(async () => {
    t = await createTestApp();
    pbx = (await makePlatform(t.db, { short_numbers: 'extension', sip_domain: DOMAIN })).token;
    national = (await makePlatform(t.db)).token;
    const wholesale = await makePlan(t.db, null, { name: 'WS', currency: 'USD', rounding_decimals: 4 });
    reseller = await makeReseller(t.db, { wholesale_plan_id: wholesale.id, billing_service: false });
    a = await makeSubscriber(t.db, reseller.id);
    b = await makeSubscriber(t.db, reseller.id, {}, ['+12125550142']);
    await identity(a.id, '1001');
    await identity(b.id, '1002');
    await identity(b.id, 'alice');
    // The on-net catch-all of the platform's country code prices calls inside the PBX.
    await makeRates(t.db, rateRow(wholesale, { prefix: '1', description: 'On-net', direction: 'onnet', rate: '0.0100', increment: 60 }));
  });
  after(() => t.close());

  test('an extension calls another: on-net, the caller pays at the on-net rate of the country code, the callee is kept', async () => {
    const l = await post(pbx, leg('X-1', '1001', '1002'));
    assert.deepEqual([l.direction, l.status], ['onnet', 'rated'], JSON.stringify(l));
    assert.deepEqual([l.row.subscriber_id, l.row.callee_subscriber_id, l.row.calling_number, l.row.called_number], [a.id, b.id, null, null]);
    const [charge] = await t.db('charges').where({ leg_id: l.id });
    assert.deepEqual([charge.kind, charge.prefix, charge.billed_total], ['wholesale', '1', '0.0100000000']);
  });

  test('SIP user names (any case, with their domain) and E.164 numbers match on the same leg', async () => {
    const byName = await post(pbx, leg('X-2', `sip:1001@${DOMAIN}`, 'sip:Alice@PBX.acme.example'));
    assert.deepEqual([byName.direction, byName.row.subscriber_id, byName.row.callee_subscriber_id], ['onnet', a.id, b.id]);
    const toNumber = await post(pbx, leg('X-3', '1001', '+12125550142'));
    assert.deepEqual([toNumber.direction, toNumber.row.callee_subscriber_id, toNumber.row.called_number], ['onnet', b.id, '+12125550142']);
  });

  test('an extension of another domain, or of nobody, is not ours; on a platform reading short numbers as national, 1002 is not a phone number', async () => {
    const elsewhere = await post(pbx, leg('X-4', '1001', `1002@other.example`));
    assert.equal(elsewhere.status, 'unrated');
    assert.match(elsewhere.reason ?? '', /called number "1002@other.example" is not a phone number, nor an extension or SIP user name of ours/);
    const nat = await post(national, leg('X-5', '1001', '1002'));
    assert.deepEqual([nat.status, nat.reason], ['unrated', 'called number "1002" is not a phone number']);
  });

  test('a new extension is matched on the next post (the holders cache moves with subscriber_identities), and only from its assignment on', async () => {
    const before = await post(pbx, leg('X-6', '1001', '1003'));
    assert.equal(before.status, 'unrated');
    await t.db('subscriber_identities').insert({ reseller_id: reseller.id, subscriber_id: a.id, domain: DOMAIN, identity: '1003', assigned_at: '2026-11-25T12:30:00Z' });
    const early = await post(pbx, leg('X-7', '1001', '1003'));
    assert.deepEqual([early.status, early.reason], ['unrated', "nobody held 1003@pbx.acme.example at the call's time (first assigned 2026-11-25T12:30:00.000Z)"]);
    const later = await post(pbx, { ...leg('X-8', '1002', '1003'), start: '2026-11-25T13:00:00Z', answer: '2026-11-25T13:00:05Z', end: '2026-11-25T13:01:05Z' });
    assert.deepEqual([later.direction, later.status, later.row.subscriber_id, later.row.callee_subscriber_id], ['onnet', 'rated', b.id, a.id]);
  });

  test('a FreeSWITCH record names its domain (domain_name): matched there with no platform default, and re-rated the same from the stored leg', async () => {
    const fs = await makePlatform(t.db, { format: 'freeswitch-json', short_numbers: 'extension', sip_domain: null });
    const cdr = {
      variables: {
        uuid: 'fs-ext-1', direction: 'inbound', start_epoch: '1764072000', answer_epoch: '1764072002', end_epoch: '1764072062', billsec: '60',
        caller_id_number: '1001', destination_number: '1002', hangup_cause: 'NORMAL_CLEARING', domain_name: DOMAIN,
      },
      callflow: [],
    };
    const l = await post(fs.token, cdr);
    assert.deepEqual([l.direction, l.status, l.row.subscriber_id, l.row.callee_subscriber_id, l.row.sip_domain], ['onnet', 'rated', a.id, b.id, DOMAIN], JSON.stringify(l));
    await t.db('call_legs').where({ id: l.id }).update({ subscriber_id: null, callee_subscriber_id: null, status: 'unrated' });
    await rerateLegs(t.db, { plans: t.planCache, refs: t.referenceData }, { kind: 'wholesale' }, { ids: [l.id] });
    const again = await t.db('call_legs').where({ id: l.id }).first();
    assert.deepEqual([again.direction, again.status, again.subscriber_id, again.callee_subscriber_id], ['onnet', 'rated', a.id, b.id]);
  });

  test('the operator sets a platform to read extensions with its default SIP domain, and a reseller\'s SIP domain (unique), through their forms', async () => {
    const admin = await Client.login(t.app, (await makeUser(t.db, 'wholesale_admin')).email);
    const platform = { name: 'pbx-form', format: 'generic-json', time_zone: 'UTC', country_code: '1', allowed_sources: '', trunk_carriers: '', active: 'on' };
    const bad = await admin.submit('/wholesale/platforms', { ...platform, short_numbers: 'extension', sip_domain: 'not a domain' }, '/wholesale/platforms/new');
    assert.equal(bad.status, 422);
    assert.match(bad.text, /A SIP domain name such as pbx\.example\.com/);
    const created = await admin.submit('/wholesale/platforms', { ...platform, short_numbers: 'extension', sip_domain: 'PBX.Tenant.example' }, '/wholesale/platforms/new');
    assert.ok(created.status < 400, created.text.slice(0, 200));
    const row = await t.db('platforms').where({ name: 'pbx-form' }).first();
    assert.deepEqual([row.short_numbers, row.sip_domain], ['extension', 'pbx.tenant.example']);
    const edit = await admin.get(`/wholesale/platforms/${row.id}/edit`);
    assert.match(edit.text, /value="pbx\.tenant\.example"/);
    assert.match(edit.text, /<option value="extension" selected>/);

    const other = await makeReseller(t.db, { sip_domain: 'taken.example' });
    const r = await t.db('resellers').where({ id: reseller.id }).first();
    const form = { name: r.name, code: r.code, currency: r.currency, billing_service: '', contact_name: '', contact_email: r.contact_email ?? '', contact_phone: '', notes: '' };
    const dup = await admin.submit(`/wholesale/resellers/${reseller.id}`, { ...form, sip_domain: 'Taken.example' }, `/wholesale/resellers/${reseller.id}/edit`);
    assert.equal(dup.status, 422);
    assert.match(dup.text, /Another reseller already has this SIP domain/);
    assert.ok(other.id);
    assert.equal((await admin.submit(`/wholesale/resellers/${reseller.id}`, { ...form, sip_domain: DOMAIN }, `/wholesale/resellers/${reseller.id}/edit`)).status, 303);
    assert.equal((await t.db('resellers').where({ id: reseller.id }).first()).sip_domain, DOMAIN);
  });

  test('an extension is held by one subscriber at a time within its domain', async () => {
    await assert.rejects(identity(b.id, '1001'), /subscriber_identities_active_key/);
    await identity(b.id, '1001', 'other.example');
  });
});
