/**
 * Real-time provisioning of the switch (issue 14): SIP credentials set on the subscriber page
 * (typed or generated, HA1 hashes only, audited without a secret), the `kamailio` views and their
 * read-only role, and FreeSWITCH's mod_xml_curl directory endpoint answered for an active, a
 * deactivated (subscriber or reseller), a released and an unknown user, with requests shaped as
 * FreeSWITCH posts them. The real Kamailio is in kamailio.test.ts.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { createTestApp, type TestApp } from '../support/app';
import { makeReseller, makeSubscriber, makeUser } from '../support/factories';
import { Client } from '../support/http';
import { makePlatform } from '../support/intake';

const md5 = (s: string) => crypto.createHash('md5').update(s).digest('hex');
const DOMAIN = `pbx-${crypto.randomBytes(3).toString('hex')}.example`;

/** A sip_auth directory request as FreeSWITCH's sofia posts it for a REGISTER (mod_xml_curl, binding "directory"). */
function sipAuthRequest(user: string, domain: string): Record<string, string> {
  return {
    hostname: 'fs1', section: 'directory', tag_name: 'domain', key_name: 'name', key_value: domain,
    'Event-Name': 'REQUEST_PARAMS', 'Core-UUID': '3c6b4a44-3b1b-4b6e-9d8e-0c8f4a1f2b11', 'FreeSWITCH-Hostname': 'fs1', 'FreeSWITCH-Switchname': 'fs1',
    'FreeSWITCH-IPv4': '10.0.0.5', 'FreeSWITCH-IPv6': '::1', 'Event-Date-Local': '2026-12-07 18:00:00', 'Event-Date-GMT': 'Mon, 07 Dec 2026 18:00:00 GMT',
    'Event-Date-Timestamp': '1796666400000000', 'Event-Calling-File': 'sofia_reg.c', 'Event-Calling-Function': 'sofia_reg_parse_auth', 'Event-Calling-Line-Number': '2880',
    'Event-Sequence': '5312', action: 'sip_auth', sip_profile: 'internal', sip_user_agent: 'Yealink SIP-T46S 66.86.0.15',
    sip_auth_username: user, sip_auth_realm: domain, sip_auth_nonce: 'b1b5c2e6-38d6-11ef-a8b5-7b6b3b0d4f1c', sip_auth_uri: `sip:${domain}`,
    sip_contact_user: user, sip_contact_host: '192.0.2.10', sip_to_user: user, sip_to_host: domain, sip_via_protocol: 'udp',
    sip_from_user: user, sip_from_host: domain, sip_call_id: 'a84b4c76e66710@192.0.2.10', sip_request_host: domain, sip_auth_qop: 'auth',
    sip_auth_cnonce: '0a4f113b', sip_auth_nc: '00000001', sip_auth_response: '6629fae49393a05397450978507c4ef1', sip_auth_method: 'REGISTER',
    client_port: '5060', key: 'id', user, domain, ip: '192.0.2.10',
  };
}

/** A user_call lookup (bridging to user/1001@domain), which carries no sip_auth_* fields. */
function userCallRequest(user: string, domain: string): Record<string, string> {
  return { hostname: 'fs1', section: 'directory', tag_name: 'domain', key_name: 'name', key_value: domain, 'Event-Name': 'GENERAL', action: 'user_call', key: 'id', user, domain };
}

describe('switch provisioning', () => {
  let t: TestApp;
  let admin: Client;
  let reseller: { id: number };
  let sub: { id: number; account_number: string; name: string };
  let identityId: number;
  let token: string;
  const NUMBER = '+12125550187';

  const directory = (form: Record<string, string>, auth: string | null = `Basic ${Buffer.from(`freeswitch:${token}`).toString('base64')}`) => {
    const req = request(t.app).post('/api/v1/freeswitch/directory').type('form');
    if (auth) req.set('Authorization', auth);
    return req.send(form);
  };
  const found = (text: string) => /<section name="directory">/.test(text);
  const notFound = (text: string) => /<section name="result">\s*<result status="not found"\/>/.test(text);

  before(async () => {
    t = await createTestApp();
    reseller = await makeReseller(t.db, { sip_domain: DOMAIN });
    sub = await makeSubscriber(t.db, reseller.id, {}, [NUMBER]);
    const user = await makeUser(t.db, 'reseller_admin', { resellerId: reseller.id });
    admin = await Client.login(t.app, user.email);
    // The extension through the portal, as a reseller's staff assigns it.
    const added = await admin.submit(`/reseller/subscribers/${sub.id}/numbers`, { number: '1001', label: '' }, `/reseller/subscribers/${sub.id}`);
    assert.equal(added.status, 303, added.text);
    identityId = Number((await t.db('subscriber_identities').where({ subscriber_id: sub.id, identity: '1001' }).first()).id);
    token = (await makePlatform(t.db, { short_numbers: 'extension', sip_domain: DOMAIN })).token;

    // A feature package with voicemail and call forwarding, assigned to the subscriber since yesterday.
    const [vm] = await t.db('features').insert({ code: 'voicemail', name: 'Voicemail' }).returning('id');
    const [cf] = await t.db('features').insert({ code: 'call-forward', name: 'Call forwarding' }).returning('id');
    const [base] = await t.db('feature_packages').insert({ name: `Base ${DOMAIN}`, currency: 'USD' }).returning('id');
    const [pkg] = await t.db('feature_packages').insert({ name: `Office ${DOMAIN}`, currency: 'USD', reseller_id: reseller.id, base_package_id: base.id }).returning('id');
    await t.db('feature_package_features').insert([{ package_id: pkg.id, feature_id: vm.id }, { package_id: pkg.id, feature_id: cf.id }]);
    await t.db('package_assignments').insert({ reseller_id: reseller.id, subscriber_id: sub.id, feature_package_id: pkg.id, starts_at: new Date(Date.now() - 86_400_000) });
  });

  after(() => t?.close());

  test('a SIP password set on the subscriber page is kept as its HA1 hashes only, and audited without it', async () => {
    const page = await admin.get(`/reseller/subscribers/${sub.id}`);
    assert.match(page.text, /data-testid="sip-credentials"/);
    assert.match(page.text, /none: cannot register/);

    const short = await admin.submit(`/reseller/subscribers/${sub.id}/identities/${identityId}/sip-password`, { sip_password: 'short' });
    assert.equal(short.status, 422);
    assert.match(short.text, /12 to 64 printable characters/);
    const empty = await admin.submit(`/reseller/subscribers/${sub.id}/identities/${identityId}/sip-password`, {});
    assert.equal(empty.status, 422);

    const password = 'Kx9!pass-word-1001';
    const res = await admin.submit(`/reseller/subscribers/${sub.id}/identities/${identityId}/sip-password`, { sip_password: password });
    assert.equal(res.status, 303, res.text);
    const row = await t.db('sip_credentials').where({ identity_id: identityId }).first();
    assert.equal(row.ha1, md5(`1001:${DOMAIN}:${password}`));
    assert.equal(row.ha1b, md5(`1001@${DOMAIN}:${DOMAIN}:${password}`));
    assert.equal(Number(row.reseller_id), reseller.id);
    // The password is nowhere: not in the audit log, nor in any column of the credential.
    const audit = await t.db('audit_log').where({ entity_type: 'sip_credential', entity_id: identityId });
    assert.equal(audit.length, 1);
    assert.equal(audit[0].action, 'create');
    const logged = JSON.stringify(audit);
    assert.ok(!logged.includes(password) && !logged.includes(row.ha1), logged);
    assert.match(logged, new RegExp(`1001@${DOMAIN.replace(/\./g, '\\.')}`));

    // Announced in the outbox beside the audit row (webhooks), without the secret either.
    const events = await t.db('outbox_events').where({ reseller_id: reseller.id }).where('type', 'like', 'sip_credential.%');
    assert.deepEqual(events.map((e: { type: string }) => e.type), ['sip_credential.created']);
    assert.ok(!JSON.stringify(events).includes(password) && !JSON.stringify(events).includes(row.ha1));

    const shown = await admin.get(`/reseller/subscribers/${sub.id}`);
    assert.doesNotMatch(shown.text, /none: cannot register/);
    assert.ok(!shown.text.includes(row.ha1));
  });

  test('a generated SIP password is shown once and only its hashes are kept', async () => {
    const res = await admin.submit(`/reseller/subscribers/${sub.id}/identities/${identityId}/sip-password`, { generate: '1' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['cache-control'], 'no-store');
    const password = /data-testid="sip-password">([^<]+)</.exec(res.text)?.[1] as string;
    assert.ok(password && password.length >= 20, res.text);
    const row = await t.db('sip_credentials').where({ identity_id: identityId }).first();
    assert.equal(row.ha1, md5(`1001:${DOMAIN}:${password}`));
    const audit = await t.db('audit_log').where({ entity_type: 'sip_credential', entity_id: identityId }).orderBy('id');
    assert.deepEqual(audit.map((a: { action: string }) => a.action), ['create', 'update']);
    assert.ok(!JSON.stringify(audit).includes(password));
  });

  test('another reseller’s staff and a support login cannot set it', async () => {
    const other = await makeReseller(t.db);
    const otherAdmin = await Client.login(t.app, (await makeUser(t.db, 'reseller_admin', { resellerId: other.id })).email);
    await otherAdmin.refreshCsrf();
    const res = await otherAdmin.submit(`/reseller/subscribers/${sub.id}/identities/${identityId}/sip-password`, { generate: '1' });
    assert.equal(res.status, 404);
    // Its own subscriber with another subscriber's identity: not found, before the form is read.
    const sibling = await makeSubscriber(t.db, reseller.id);
    const mixed = await admin.submit(`/reseller/subscribers/${sibling.id}/identities/${identityId}/sip-password`, {});
    assert.equal(mixed.status, 404);
    const support = await Client.login(t.app, (await makeUser(t.db, 'reseller_support', { resellerId: reseller.id })).email);
    const refused = await support.submit(`/reseller/subscribers/${sub.id}/identities/${identityId}/sip-password`, { generate: '1' });
    assert.equal(refused.status, 403);
  });

  test('FreeSWITCH: an active user gets its a1-hash and variables for its features', async () => {
    const ha1 = (await t.db('sip_credentials').where({ identity_id: identityId }).first()).ha1 as string;
    for (const form of [sipAuthRequest('1001', DOMAIN), userCallRequest('1001', DOMAIN.toUpperCase())]) {
      const res = await directory(form);
      assert.equal(res.status, 200);
      assert.match(String(res.headers['content-type']), /^text\/xml/);
      assert.ok(found(res.text), res.text);
      assert.match(res.text, /<document type="freeswitch\/xml">/);
      assert.match(res.text, new RegExp(`<domain name="${DOMAIN.replace(/\./g, '\\.')}">`));
      assert.match(res.text, /<user id="1001">/);
      assert.match(res.text, new RegExp(`<param name="a1-hash" value="${ha1}"/>`));
      assert.doesNotMatch(res.text, /name="password"/);
      assert.match(res.text, /<variable name="user_context" value="default"\/>/);
      assert.match(res.text, new RegExp(`<variable name="accountcode" value="${sub.account_number}"/>`));
      assert.match(res.text, new RegExp(`<variable name="effective_caller_id_number" value="\\${NUMBER}"/>`));
      assert.match(res.text, /<variable name="feature_voicemail" value="true"\/>/);
      assert.match(res.text, /<variable name="feature_call_forward" value="true"\/>/);
    }
    // Bearer works as well as basic auth.
    const bearer = await directory(sipAuthRequest('1001', DOMAIN), `Bearer ${token}`);
    assert.ok(found(bearer.text));
  });

  test('FreeSWITCH: unknown users, other lookups, and users without a credential are not found', async () => {
    for (const form of [
      sipAuthRequest('1999', DOMAIN),
      sipAuthRequest('1001', 'other.example'),
      // What sofia asks for at start-up: the domain's gateways, no user.
      { hostname: 'fs1', section: 'directory', tag_name: '', key_name: '', key_value: '', 'Event-Name': 'REQUEST_PARAMS', purpose: 'gateways', profile: 'internal' },
      { ...sipAuthRequest('1001', DOMAIN), section: 'dialplan' },
    ]) {
      const res = await directory(form);
      assert.equal(res.status, 200);
      assert.ok(notFound(res.text), res.text);
    }
    const added = await admin.submit(`/reseller/subscribers/${sub.id}/numbers`, { number: '1002', label: '' });
    assert.equal(added.status, 303);
    assert.ok(notFound((await directory(sipAuthRequest('1002', DOMAIN))).text), 'an identity without a SIP password cannot register');
  });

  test('FreeSWITCH: a deactivated subscriber or reseller is not found, and found again once reactivated', async () => {
    assert.ok(found((await directory(sipAuthRequest('1001', DOMAIN))).text));
    const off = await admin.submit(`/reseller/subscribers/${sub.id}/deactivate`, { confirm: 'yes' });
    assert.equal(off.status, 303, off.text);
    assert.equal((await t.db('subscribers').where({ id: sub.id }).first()).status, 'inactive');
    assert.ok(notFound((await directory(sipAuthRequest('1001', DOMAIN))).text), 'deactivated subscriber');
    assert.equal((await admin.submit(`/reseller/subscribers/${sub.id}/activate`, {})).status, 303);
    assert.ok(found((await directory(sipAuthRequest('1001', DOMAIN))).text));

    await t.db('resellers').where({ id: reseller.id }).update({ status: 'inactive' });
    assert.ok(notFound((await directory(sipAuthRequest('1001', DOMAIN))).text), 'suspended by its reseller');
    await t.db('resellers').where({ id: reseller.id }).update({ status: 'active' });
    assert.ok(found((await directory(sipAuthRequest('1001', DOMAIN))).text));
  });

  test('FreeSWITCH: the endpoint wants an active platform’s credential', async () => {
    const none = await directory(sipAuthRequest('1001', DOMAIN), null);
    assert.equal(none.status, 401);
    assert.match(String(none.headers['www-authenticate']), /^Basic /);
    assert.match(String(none.headers['content-type']), /^application\/problem\+json/);
    assert.doesNotMatch(none.text, /a1-hash/);
    const wrong = await directory(sipAuthRequest('1001', DOMAIN), `Basic ${Buffer.from(`freeswitch:${token.slice(0, -2)}xx`).toString('base64')}`);
    assert.equal(wrong.status, 401);
    const inactive = await makePlatform(t.db, { active: false });
    const refused = await directory(sipAuthRequest('1001', DOMAIN), `Bearer ${inactive.token}`);
    assert.equal(refused.status, 403);
    const fenced = await makePlatform(t.db, { allowed_sources: t.db.raw(`'{192.0.2.0/24}'::cidr[]`) });
    assert.equal((await directory(sipAuthRequest('1001', DOMAIN), `Bearer ${fenced.token}`)).status, 403);
  });

  test('the kamailio views hold active credentialed users and their numbers, and its role reads nothing else', async () => {
    const ha1 = (await t.db('sip_credentials').where({ identity_id: identityId }).first()).ha1 as string;
    const subscribers = await t.db('kamailio.subscriber').where({ domain: DOMAIN });
    assert.deepEqual(subscribers.map((s: Record<string, unknown>) => [s.username, s.password, s.ha1]), [['1001', '', ha1]]);
    const aliases = await t.db('kamailio.dbaliases').where({ domain: DOMAIN }).orderBy('alias_username');
    assert.deepEqual(aliases.map((a: Record<string, unknown>) => [a.alias_username, a.alias_domain, a.username, a.domain]), [
      [NUMBER, DOMAIN, '1001', DOMAIN],
      [NUMBER.slice(1), DOMAIN, '1001', DOMAIN],
    ]);
    assert.deepEqual((await t.db('kamailio.version').orderBy('table_name')).map((v: Record<string, unknown>) => [v.table_name, Number(v.table_version)]), [['dbaliases', 1], ['subscriber', 7]]);

    await t.db('subscribers').where({ id: sub.id }).update({ status: 'inactive' });
    assert.equal((await t.db('kamailio.subscriber').where({ domain: DOMAIN })).length, 0);
    assert.equal((await t.db('kamailio.dbaliases').where({ domain: DOMAIN })).length, 0);
    await t.db('subscribers').where({ id: sub.id }).update({ status: 'active' });

    // As the role Kamailio logs in with: its search_path finds the views by their bare names.
    await t.db.transaction(async (tx) => {
      await tx.raw('SET LOCAL ROLE kamailio_ro');
      await tx.raw('SET LOCAL search_path = kamailio');
      assert.equal((await tx.raw(`SELECT ha1 FROM subscriber WHERE username = '1001' AND domain = ?`, [DOMAIN])).rows[0]?.ha1, ha1);
      await assert.rejects(tx.transaction((sp) => sp.raw('SELECT 1 FROM public.subscribers LIMIT 1')), /permission denied/);
      await assert.rejects(tx.transaction((sp) => sp.raw('SELECT 1 FROM public.sip_credentials LIMIT 1')), /permission denied/);
      await assert.rejects(tx.transaction((sp) => sp.raw(`UPDATE subscriber SET ha1 = '' WHERE false`)), /permission denied|cannot update/);
    });
  });

  test('the operator’s admins set and remove it on their view of the subscriber, audited as theirs; the operator’s support cannot', async () => {
    const opAdmin = await makeUser(t.db, 'wholesale_admin');
    const operator = await Client.login(t.app, opAdmin.email);
    const base = `/wholesale/resellers/${reseller.id}/subscribers/${sub.id}`;
    const page = await operator.get(base);
    assert.equal(page.status, 200);
    assert.ok(page.text.includes(`action="${base}/identities/${identityId}/sip-password"`), 'the form posts to the operator’s address');
    const made = await operator.submit(`${base}/identities/${identityId}/sip-password`, { generate: '1' });
    assert.equal(made.status, 200);
    const password = /data-testid="sip-password">([^<]+)</.exec(made.text)?.[1] as string;
    assert.ok(password && password.length >= 20, made.text);
    assert.equal((await t.db('sip_credentials').where({ identity_id: identityId }).first()).ha1, md5(`1001:${DOMAIN}:${password}`));
    assert.ok(found((await directory(sipAuthRequest('1001', DOMAIN))).text));
    const audit = await t.db('audit_log').where({ entity_type: 'sip_credential', entity_id: identityId }).orderBy('id', 'desc').first();
    assert.deepEqual([audit.action, Number(audit.actor_user_id), audit.actor_role, Number(audit.reseller_id)], ['update', opAdmin.id, 'wholesale_admin', reseller.id]);

    // Another reseller in the address: not found, nothing changed.
    const other = await makeReseller(t.db);
    assert.equal((await operator.submit(`/wholesale/resellers/${other.id}/subscribers/${sub.id}/identities/${identityId}/sip-password/remove`, {})).status, 404);
    const support = await Client.login(t.app, (await makeUser(t.db, 'wholesale_support')).email);
    assert.doesNotMatch((await support.get(base)).text, /sip-password"/, 'support sees no form');
    assert.equal((await support.submit(`${base}/identities/${identityId}/sip-password`, { generate: '1' }, base)).status, 403);
    assert.equal((await support.submit(`${base}/identities/${identityId}/sip-password/remove`, {}, base)).status, 403);
    assert.ok(found((await directory(sipAuthRequest('1001', DOMAIN))).text), 'still set');

    const removed = await operator.submit(`${base}/identities/${identityId}/sip-password/remove`, {});
    assert.equal(removed.status, 303);
    assert.equal(removed.headers.location, base);
    assert.ok(notFound((await directory(sipAuthRequest('1001', DOMAIN))).text));
    const deleted = await t.db('audit_log').where({ entity_type: 'sip_credential', entity_id: identityId, action: 'delete' }).orderBy('id', 'desc').first();
    assert.equal(Number(deleted.actor_user_id), opAdmin.id);
    // A typed one; a bad one is named on the operator's page.
    const short = await operator.submit(`${base}/identities/${identityId}/sip-password`, { sip_password: 'short' });
    assert.equal(short.status, 422);
    assert.match(short.text, /12 to 64/);
    assert.equal((await operator.submit(`${base}/identities/${identityId}/sip-password`, { sip_password: 'operator-set-1001' })).status, 303);
    assert.equal((await t.db('sip_credentials').where({ identity_id: identityId }).first()).ha1, md5(`1001:${DOMAIN}:operator-set-1001`));
    // Set again by the reseller's admin: the test below starts from a credential it set.
    assert.equal((await admin.submit(`/reseller/subscribers/${sub.id}/identities/${identityId}/sip-password`, { sip_password: 'reseller-set-1001' })).status, 303);
  });

  test('a released identity, or a removed credential, is refused from the next request', async () => {
    assert.ok(found((await directory(sipAuthRequest('1001', DOMAIN))).text));
    const deletes = (await t.db('audit_log').where({ entity_type: 'sip_credential', entity_id: identityId, action: 'delete' })).length;
    const removed = await admin.submit(`/reseller/subscribers/${sub.id}/identities/${identityId}/sip-password/remove`, {});
    assert.equal(removed.status, 303);
    assert.ok(notFound((await directory(sipAuthRequest('1001', DOMAIN))).text));
    const audit = await t.db('audit_log').where({ entity_type: 'sip_credential', entity_id: identityId, action: 'delete' });
    assert.equal(audit.length, deletes + 1);

    assert.equal((await admin.submit(`/reseller/subscribers/${sub.id}/identities/${identityId}/sip-password`, { sip_password: 'another-password-1001' })).status, 303);
    assert.ok(found((await directory(sipAuthRequest('1001', DOMAIN))).text));
    assert.equal((await admin.submit(`/reseller/subscribers/${sub.id}/identities/${identityId}/release`, {})).status, 303);
    assert.ok(notFound((await directory(sipAuthRequest('1001', DOMAIN))).text));
    assert.equal((await t.db('kamailio.subscriber').where({ domain: DOMAIN })).length, 0);
    // A released identity has no credential to set: refused (flash and back), nothing stored or shown.
    const before = (await t.db('sip_credentials').where({ identity_id: identityId }).first()).set_at;
    const again = await admin.submit(`/reseller/subscribers/${sub.id}/identities/${identityId}/sip-password`, { generate: '1' });
    assert.equal(again.status, 303);
    assert.doesNotMatch(again.text, /data-testid="sip-password"/);
    assert.deepEqual((await t.db('sip_credentials').where({ identity_id: identityId }).first()).set_at, before);
  });
});
