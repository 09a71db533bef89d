/**
 * SIP credentials through the JSON API (issue 14): a subscriber created through the API with an
 * extension gets its SIP password from a provisioning system, and the switch's directory knows it
 * at once; removed, it is refused. Every answer held to the served OpenAPI document.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { SYSTEM_ACTOR } from '../../src/domain/tenancy/actor';
import { createKey } from '../../src/modules/api-keys/api-keys.service';
import { createTestApp, type TestApp } from '../support/app';
import { makeReseller, makeTenants } from '../support/factories';
import { makePlatform } from '../support/intake';
import { OpenApiChecker } from '../support/openapi';

const md5 = (s: string) => crypto.createHash('md5').update(s).digest('hex');

describe('SIP credentials through the API, seen by the switch at once', () => {
  let t: TestApp;
  let oa: OpenApiChecker;
  let key: string;
  let operatorKey: string;
  let operatorReadKey: string;
  let otherKey: string;
  let platformToken: string;
  let reseller: { id: number };
  const DOMAIN = `pbx-${crypto.randomBytes(3).toString('hex')}.example`;
  const IDS = '/subscribers/{subscriberId}/identities';
  const CRED = '/subscribers/{subscriberId}/identities/{identityId}/sip-credential';

  const api = (k: string) => oa.caller(t.app, k);
  const directory = (user: string) =>
    request(t.app).post('/api/v1/freeswitch/directory').type('form').set('Authorization', `Basic ${Buffer.from(`freeswitch:${platformToken}`).toString('base64')}`)
      .send({ section: 'directory', tag_name: 'domain', key_name: 'name', key_value: DOMAIN, action: 'sip_auth', key: 'id', user, domain: DOMAIN, sip_auth_username: user, sip_auth_realm: DOMAIN });

  before(async () => {
    t = await createTestApp();
    oa = new OpenApiChecker((await request(t.app).get('/api/v1/openapi.json')).body);
    reseller = await makeReseller(t.db, { sip_domain: DOMAIN });
    key = (await createKey(t.db, SYSTEM_ACTOR, { kind: 'reseller', resellerId: reseller.id }, { name: 'provisioning', access: 'write' })).token;
    operatorKey = (await createKey(t.db, SYSTEM_ACTOR, { kind: 'operator' }, { name: 'operator', access: 'write' })).token;
    operatorReadKey = (await createKey(t.db, SYSTEM_ACTOR, { kind: 'operator' }, { name: 'operator read', access: 'read' })).token;
    const fx = await makeTenants(t.db);
    otherKey = (await createKey(t.db, SYSTEM_ACTOR, { kind: 'reseller', resellerId: fx.a.reseller.id }, { name: 'other', access: 'write' })).token;
    platformToken = (await makePlatform(t.db, { short_numbers: 'extension', sip_domain: DOMAIN })).token;
  });
  after(() => t.close());

  test('created with an extension, given a generated password, found by the directory with its HA1; removed, not found', async () => {
    const made = await api(key).post('/subscribers', '/subscribers', { account_number: `DESK-${crypto.randomBytes(3).toString('hex')}`, name: 'Desk phone', country: 'US', numbers: ['1001'] });
    assert.equal(made.status, 201, made.text);
    const subId = made.body.id as number;
    const listed = await api(key).get(IDS, `/subscribers/${subId}/identities`);
    assert.equal(listed.status, 200);
    const identity = listed.body.data.find((i: { sip_user: string }) => i.sip_user === `1001@${DOMAIN}`);
    assert.ok(identity, JSON.stringify(listed.body));
    assert.equal(identity.credential_set_at, null);
    assert.match((await directory('1001')).text, /status="not found"/, 'no password yet: not found');

    const set = await api(key).put(CRED, `/subscribers/${subId}/identities/${identity.id}/sip-credential`, { generate: true });
    assert.equal(set.status, 200);
    assert.equal(set.body.sip_user, `1001@${DOMAIN}`);
    const password = set.body.password as string;
    assert.ok(password.length >= 12);
    const row = await t.db('sip_credentials').where({ identity_id: identity.id }).first();
    assert.equal(row.ha1, md5(`1001:${DOMAIN}:${password}`));
    assert.ok(!JSON.stringify(row).includes(password), 'only hashes are kept');
    const found = await directory('1001');
    assert.match(found.text, new RegExp(`name="a1-hash" value="${row.ha1}"`));
    assert.ok((await api(key).get(IDS, `/subscribers/${subId}/identities`)).body.data[0].credential_set_at);
    const audit = await t.db('audit_log').where({ entity_type: 'sip_credential', entity_id: identity.id }).first();
    assert.ok(Number(audit.actor_api_key_id) > 0);

    // A typed password: answered as null (the caller knows it).
    const typed = await api(key).put(CRED, `/subscribers/${subId}/identities/${identity.id}/sip-credential`, { password: 'a-typed-Passw0rd' });
    assert.equal(typed.body.password, null);
    assert.equal((await t.db('sip_credentials').where({ identity_id: identity.id }).first()).ha1, md5(`1001:${DOMAIN}:a-typed-Passw0rd`));

    const removed = await api(key).delete(CRED, `/subscribers/${subId}/identities/${identity.id}/sip-credential`);
    assert.equal(removed.status, 204);
    assert.match((await directory('1001')).text, /status="not found"/);
    assert.equal((await api(key).delete(CRED, `/subscribers/${subId}/identities/${identity.id}/sip-credential`)).status, 409);
  });

  test('bad input names the field; another tenant’s key gets 404; the operator’s key sets and removes it (audited as its), its read-only key 403', async () => {
    const made = await api(key).post('/subscribers', '/subscribers', { account_number: `DESK-${crypto.randomBytes(3).toString('hex')}`, name: 'Second phone', country: 'US', numbers: ['1002'] });
    const subId = made.body.id as number;
    const identityId = (await api(key).get(IDS, `/subscribers/${subId}/identities`)).body.data[0].id as number;
    const path = `/subscribers/${subId}/identities/${identityId}/sip-credential`;
    const bad = await api(key).put(CRED, path, { password: 'short' });
    assert.equal(bad.status, 422);
    assert.ok(bad.body.errors.some((e: { detail: string }) => /12 to 64/.test(e.detail)));
    assert.equal((await api(key).put(CRED, path, { password: 'a-long-enough-one', generate: true })).status, 422);
    assert.equal((await api(otherKey).put(CRED, path, { generate: true })).status, 404);
    assert.equal((await api(otherKey).get(IDS, `/subscribers/${subId}/identities`)).status, 404);
    assert.equal((await api(operatorKey).get(IDS, `/subscribers/${subId}/identities`)).status, 200);
    assert.equal(await t.db('sip_credentials').where({ identity_id: identityId }).first(), undefined);
    assert.equal((await api(operatorReadKey).put(CRED, path, { generate: true })).status, 403);
    assert.equal((await api(operatorReadKey).delete(CRED, path)).status, 403);
    assert.equal(await t.db('sip_credentials').where({ identity_id: identityId }).first(), undefined);
    const set = await api(operatorKey).put(CRED, path, { password: 'set-by-the-operator' });
    assert.equal(set.status, 200, set.text);
    assert.equal((await t.db('sip_credentials').where({ identity_id: identityId }).first()).ha1, md5(`1002:${DOMAIN}:set-by-the-operator`));
    const operatorKeyId = (await t.db('api_keys').where({ name: 'operator' }).whereNull('reseller_id').orderBy('id', 'desc').first()).id;
    const audit = await t.db('audit_log').where({ entity_type: 'sip_credential', entity_id: identityId }).orderBy('id', 'desc').first();
    assert.deepEqual([audit.action, Number(audit.actor_api_key_id), Number(audit.reseller_id)], ['create', Number(operatorKeyId), reseller.id]);
    assert.equal((await api(operatorKey).delete(CRED, path)).status, 204);
    assert.equal(await t.db('sip_credentials').where({ identity_id: identityId }).first(), undefined);
    assert.equal(Number((await t.db('audit_log').where({ entity_type: 'sip_credential', entity_id: identityId, action: 'delete' }).first()).actor_api_key_id), Number(operatorKeyId));
  });
});
