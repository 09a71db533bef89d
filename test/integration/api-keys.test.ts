/**
 * API keys (issue 14): the operator's and each reseller's, read-only or read-write, made and
 * revoked in the portals, shown once and stored hashed, last use shown, acting as the party's
 * support or admin role at /api/v1, refused once revoked or when the reseller is deactivated,
 * throttled per key with 429 and Retry-After.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { createTestApp, type TestApp } from '../support/app';
import { makeTenants } from '../support/factories';
import { Client } from '../support/http';

const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');
const keyOf = (html: string) => /data-testid="key"[^>]*>([^<]+)</.exec(html)?.[1];
const rowOf = (html: string, id: number) => new RegExp(`<tr data-key-id="${id}">([\\s\\S]*?)</tr>`).exec(html)?.[1] ?? '';
const errorOf = (html: string, field: string) => new RegExp(`id="f-${field}-error">([^<]*)<`).exec(html)?.[1];

describe('API keys: made in the portals, shown once, acting for their party', () => {
  let t: TestApp;
  let fx: Awaited<ReturnType<typeof makeTenants>>;
  let admin: Client;
  const api = (key: string) => ({
    get: (path: string) => request(t.app).get(path).set('Authorization', `Bearer ${key}`),
    post: (path: string, body: unknown) => request(t.app).post(path).set('Authorization', `Bearer ${key}`).send(body as object),
  });
  const make = async (client: Client, path: string, form: Record<string, string>) => {
    const res = await client.submit(path, form, path);
    assert.equal(res.status, 201, res.text.slice(0, 1500));
    const token = keyOf(res.text) as string;
    assert.match(token, /^apk_\d+_[A-Za-z0-9_-]{43}$/);
    const row = await t.db('api_keys').where({ id: Number(/^apk_(\d+)_/.exec(token)?.[1]) }).first();
    return { res, token, row };
  };

  before(async () => {
    t = await createTestApp();
    fx = await makeTenants(t.db);
    admin = await Client.login(t.app, fx.wholesaleAdmin.email);
  });
  after(() => t.close());

  test('the operator’s read and write key: shown once, stored as its hash, audited without it, and acting as a wholesale admin', async () => {
    const { res, token, row } = await make(admin, '/wholesale/api-keys', { name: 'CRM provisioning', access: 'write' });
    assert.match(res.headers['cache-control'] ?? '', /no-store/);
    assert.equal(row.reseller_id, null);
    assert.equal(row.access, 'write');
    assert.equal(row.key_hash, sha256(token));
    assert.equal(row.key_hint, token.slice(-4));
    assert.equal(Number(row.created_by), fx.wholesaleAdmin.id);
    const audit = await t.db('audit_log').where({ entity_type: 'api_key', entity_id: row.id });
    assert.deepEqual(audit.map((a) => [a.action, a.after.name, a.after.access]), [['create', 'CRM provisioning', 'write']]);
    assert.ok(!JSON.stringify(audit).includes(token) && !JSON.stringify(audit).includes(row.key_hash));

    const me = await api(token).get('/api/v1/');
    assert.equal(me.status, 200);
    assert.deepEqual(me.body.principal, { role: 'wholesale_admin', reseller_id: null, subscriber_id: null });
    // The list names it, without the key, with its total; the key is never shown again.
    const page = await admin.get('/wholesale/api-keys');
    assert.equal(page.status, 200);
    assert.ok(!page.text.includes(token));
    const shown = rowOf(page.text, row.id);
    for (const text of ['CRM provisioning', 'read and write', `…${row.key_hint}`, 'UTC']) assert.ok(shown.includes(text), text);
    assert.match(page.text, /data-testid="keys-total">\d+ keys?, \d+ active/);
  });

  test('a read-only key reads as support and writes nothing (403)', async () => {
    const { token } = await make(admin, '/wholesale/api-keys', { name: 'Reporting', access: 'read' });
    const me = await api(token).get('/api/v1/');
    assert.equal(me.body.principal.role, 'wholesale_support');
    const post = await api(token).post('/api/v1/', {});
    assert.equal(post.status, 403);
    assert.match(String(post.headers['content-type']), /problem\+json/);
  });

  test('bad input is refused field by field and nothing is written', async () => {
    const before = await t.db('api_keys').count<{ count: string }[]>('* as count');
    const res = await admin.submit('/wholesale/api-keys', { name: '  ', access: 'everything' }, '/wholesale/api-keys');
    assert.equal(res.status, 422);
    assert.ok(errorOf(res.text, 'name'));
    assert.ok(errorOf(res.text, 'access'));
    const after = await t.db('api_keys').count<{ count: string }[]>('* as count');
    assert.equal(after[0]?.count, before[0]?.count);
  });

  test('a reseller’s key acts for that reseller only; its people manage their own keys, support only looks, others get 404', async () => {
    const resellerAdmin = await Client.login(t.app, fx.a.admin.email);
    const { token, row } = await make(resellerAdmin, '/reseller/api-keys', { name: 'Billing sync', access: 'write' });
    assert.equal(Number(row.reseller_id), fx.a.reseller.id);
    assert.deepEqual((await api(token).get('/api/v1/')).body.principal, { role: 'reseller_admin', reseller_id: fx.a.reseller.id, subscriber_id: null });

    // Reseller b's admin neither sees nor revokes it.
    const otherAdmin = await Client.login(t.app, fx.b.admin.email);
    assert.ok(!(await otherAdmin.get('/reseller/api-keys')).text.includes('Billing sync'));
    assert.equal((await otherAdmin.submit(`/reseller/api-keys/${row.id}/revoke`, { confirm: 'yes' }, '/reseller/api-keys')).status, 404);
    // Reseller a's support sees the list but cannot make or revoke a key.
    const support = await Client.login(t.app, fx.a.support.email);
    const seen = await support.get('/reseller/api-keys');
    assert.equal(seen.status, 200);
    assert.match(seen.text, /Billing sync/);
    assert.ok(!seen.text.includes('Make the key'));
    assert.equal((await support.submit('/reseller/api-keys', { name: 'x', access: 'write' }, '/reseller/api-keys')).status, 403);
    assert.equal((await support.submit(`/reseller/api-keys/${row.id}/revoke`, { confirm: 'yes' }, '/reseller/api-keys')).status, 403);
    // A subscriber has no such page.
    const sub = await Client.login(t.app, fx.a.subscriberUser.email);
    assert.notEqual((await sub.get('/reseller/api-keys')).status, 200);
    // The operator's staff see it on the reseller's page; support only looks.
    const ws = await Client.login(t.app, fx.wholesaleSupport.email);
    const wpage = await ws.get(`/wholesale/resellers/${fx.a.reseller.id}/api-keys`);
    assert.equal(wpage.status, 200);
    assert.match(wpage.text, /Billing sync/);
    assert.equal((await ws.submit(`/wholesale/resellers/${fx.a.reseller.id}/api-keys/${row.id}/revoke`, { confirm: 'yes' }, `/wholesale/resellers/${fx.a.reseller.id}/api-keys`)).status, 403);
    // A key of reseller a is not reseller b's, even on the wholesale pages.
    assert.equal((await admin.submit(`/wholesale/resellers/${fx.b.reseller.id}/api-keys/${row.id}/revoke`, { confirm: 'yes' }, `/wholesale/resellers/${fx.b.reseller.id}/api-keys`)).status, 404);
  });

  test('revoking asks first; once confirmed the key is refused at once (401), audited, and shown as revoked', async () => {
    const { token, row } = await make(admin, '/wholesale/api-keys', { name: 'Old CRM', access: 'write' });
    const ask = await admin.submit(`/wholesale/api-keys/${row.id}/revoke`, {}, '/wholesale/api-keys');
    assert.equal(ask.status, 200);
    assert.match(ask.text, /Revoke the API key “Old CRM”\?/);
    assert.equal((await api(token).get('/api/v1/')).status, 200, 'not revoked before the confirmation');
    const done = await admin.submit(`/wholesale/api-keys/${row.id}/revoke`, { confirm: 'yes' }, '/wholesale/api-keys');
    assert.equal(done.status, 303);
    const refused = await api(token).get('/api/v1/');
    assert.equal(refused.status, 401);
    assert.match(String(refused.headers['www-authenticate']), /invalid_token/);
    const audit = await t.db('audit_log').where({ entity_type: 'api_key', entity_id: row.id }).orderBy('id');
    assert.deepEqual(audit.map((a) => a.action), ['create', 'revoke']);
    assert.equal((await admin.submit(`/wholesale/api-keys/${row.id}/revoke`, { confirm: 'yes' }, '/wholesale/api-keys')).status, 303, 'a second revoke says so, changes nothing');
    assert.equal((await t.db('audit_log').where({ entity_type: 'api_key', entity_id: row.id })).length, 2);
    const page = await admin.get('/wholesale/api-keys');
    assert.match(rowOf(page.text, row.id), /revoked .* by /);
  });

  test('a forged key is refused: the right id with another secret, a malformed key, a key never issued', async () => {
    const { row } = await make(admin, '/wholesale/api-keys', { name: 'Target', access: 'write' });
    for (const forged of [`apk_${row.id}_${crypto.randomBytes(32).toString('base64url')}`, `apk_${row.id}_short`, `apk_999999_${crypto.randomBytes(32).toString('base64url')}`, 'plt_1_abc']) {
      assert.equal((await api(forged).get('/api/v1/')).status, 401, forged);
    }
  });

  test('a deactivated reseller’s keys are refused as its people are, and work again on reactivation', async () => {
    const resellerAdmin = await Client.login(t.app, fx.b.admin.email);
    const { token } = await make(resellerAdmin, '/reseller/api-keys', { name: 'Sync', access: 'read' });
    await t.db('resellers').where({ id: fx.b.reseller.id }).update({ status: 'inactive' });
    try {
      const res = await api(token).get('/api/v1/');
      assert.equal(res.status, 401);
      assert.match(res.body.detail, /suspended/);
    } finally {
      await t.db('resellers').where({ id: fx.b.reseller.id }).update({ status: 'active' });
    }
    assert.equal((await api(token).get('/api/v1/')).status, 200);
  });

  test('the last use is noted (when and from where) and shown', async () => {
    const { token, row } = await make(admin, '/wholesale/api-keys', { name: 'Watcher', access: 'read' });
    assert.equal(row.last_used_at, null);
    assert.match(rowOf((await admin.get('/wholesale/api-keys')).text, row.id), /<td>never<\/td>/);
    await api(token).get('/api/v1/');
    let used: any;
    for (let i = 0; i < 50 && !used?.last_used_at; i++) {
      used = await t.db('api_keys').where({ id: row.id }).first();
      if (!used.last_used_at) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(used.last_used_at instanceof Date);
    assert.ok(used.last_used_ip);
    const shown = rowOf((await admin.get('/wholesale/api-keys')).text, row.id);
    assert.doesNotMatch(shown, /<td>never<\/td>/);
    assert.match(shown, /from (127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)/);
  });
});

describe('API keys: throttled per key', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ API_MAX_REQUESTS_PER_SECOND_PER_KEY: '3' });
  });
  after(() => t.close());

  test('past the key’s requests a second: 429 with Retry-After in problem details; another key is not held up', async () => {
    const fx = await makeTenants(t.db);
    const admin = await Client.login(t.app, fx.wholesaleAdmin.email);
    const tokens: string[] = [];
    for (const name of ['Busy', 'Quiet']) {
      const res = await admin.submit('/wholesale/api-keys', { name, access: 'read' }, '/wholesale/api-keys');
      tokens.push(keyOf(res.text) as string);
    }
    const get = (k: string) => request(t.app).get('/api/v1/').set('Authorization', `Bearer ${k}`);
    const answers = await Promise.all([0, 1, 2, 3, 4].map(() => get(tokens[0] as string)));
    const statuses = answers.map((a) => a.status).sort();
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
    const refused = answers.find((a) => a.status === 429)!;
    assert.match(String(refused.headers['retry-after']), /^[1-9]\d*$/);
    assert.match(String(refused.headers['content-type']), /problem\+json/);
    assert.equal((await get(tokens[1] as string)).status, 200);
  });
});
