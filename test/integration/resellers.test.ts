import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, type TestApp } from '../support/app';
import { makeReseller, makeSubscriber, makeUser, PASSWORD, randomNumber } from '../support/factories';
import { Client } from '../support/http';

describe('wholesale: resellers', () => {
  let t: TestApp;
  let admin: Client;

  before(async () => {
    t = await createTestApp();
    const u = await makeUser(t.db, 'wholesale_admin');
    admin = await Client.login(t.app, u.email);
  });
  after(() => t.close());

  test('creates a reseller with its first admin in one form, audited, and the admin can log in', async () => {
    const res = await admin.submit('/wholesale/resellers', {
      name: 'Acme Voice',
      code: 'acme-voice',
      currency: 'eur',
      billing_service: 'on',
      contact_email: 'ops@acme.example',
      admin_name: 'Ann Admin',
      admin_email: 'ann@acme.example',
      admin_password: 'a-long-enough-password',
    });
    assert.equal(res.status, 303);
    const reseller = await t.db('resellers').where({ code: 'acme-voice' }).first();
    assert.equal(reseller.currency, 'EUR');
    assert.equal(res.headers.location, `/wholesale/resellers/${reseller.id}`);
    const user = await t.db('users').where({ email: 'ann@acme.example' }).first();
    assert.equal(user.role, 'reseller_admin');
    assert.equal(user.reseller_id, reseller.id);
    const audit = await t.db('audit_log').where({ reseller_id: reseller.id }).orderBy('id');
    assert.deepEqual(audit.map((a) => [a.entity_type, a.action]), [['reseller', 'create'], ['user', 'create']]);
    assert.ok(!JSON.stringify(audit).includes('password_hash'));
    const ann = await Client.login(t.app, 'ann@acme.example', 'a-long-enough-password');
    const home = await ann.get('/reseller');
    assert.equal(home.status, 200);
    assert.match(home.text, /Acme Voice/);
  });

  test('bad input re-renders with a message beside each field and keeps the values; nothing is written', async () => {
    const before = await t.db('resellers').count<{ count: number }[]>('* as count');
    const res = await admin.submit('/wholesale/resellers', { name: 'Half Made', code: 'X', currency: 'dollars', admin_name: '', admin_email: 'nope', admin_password: 'short' });
    assert.equal(res.status, 422);
    assert.match(res.text, /Code must be 2-32 lowercase/);
    assert.match(res.text, /Currency must be a three-letter/);
    assert.match(res.text, /Admin name is required/);
    assert.match(res.text, /Enter a valid email address/);
    assert.match(res.text, /Password must be at least 12/);
    assert.match(res.text, /value="Half Made"/);
    const afterCount = await t.db('resellers').count<{ count: number }[]>('* as count');
    assert.deepEqual(afterCount, before);
  });

  test("a duplicate code is refused with a clear message; an admin email another party uses is no duplicate (a new reseller is a party of its own)", async () => {
    const existing = await makeReseller(t.db);
    const taken = await makeUser(t.db, 'wholesale_support');
    const dupCode = await admin.submit('/wholesale/resellers', {
      name: 'Another', code: existing.code, currency: 'USD', admin_name: 'X', admin_email: 'x1@example.com', admin_password: 'a-long-enough-password',
    });
    assert.equal(dupCode.status, 422);
    assert.match(dupCode.text, /Another reseller already uses this code/);
    assert.equal(await t.db('users').where({ email: 'x1@example.com' }).first(), undefined, 'nothing of it kept');
    // Emails are unique within a party (DOMAIN.md): the operator's login and the new reseller's admin are two parties.
    const sameEmail = await admin.submit('/wholesale/resellers', {
      name: 'Yet another', code: 'yet-another', currency: 'USD', admin_name: 'X', admin_email: taken.email, admin_password: 'a-long-enough-password',
    });
    assert.equal(sameEmail.status, 303);
    const created = await t.db('resellers').where({ code: 'yet-another' }).first();
    assert.deepEqual(await t.db('users').whereRaw('lower(email) = ?', [taken.email]).orderBy('id').pluck('reseller_id'), [null, created.id]);
  });

  test('list searches, filters and pages by keyset', async () => {
    const tag = `zz${Date.now()}`;
    for (let i = 0; i < 30; i++) await makeReseller(t.db, { name: `${tag} ${String(i).padStart(2, '0')}`, status: i % 3 === 0 ? 'inactive' : 'active' });
    const first = await admin.get(`/wholesale/resellers?q=${tag}`);
    assert.equal(first.status, 200);
    const names = (html: string) => [...html.matchAll(new RegExp(`>(${tag} \\d\\d)<`, 'g'))].map((m) => m[1]);
    assert.equal(names(first.text).length, 25);
    const next = /href="([^"]*cursor=[^"]+)"/.exec(first.text)?.[1]?.replace(/&amp;/g, '&');
    assert.ok(next, 'a next-page link');
    const second = await admin.get(`/wholesale/resellers${next}`);
    assert.deepEqual(names(second.text), ['25', '26', '27', '28', '29'].map((n) => `${tag} ${n}`));
    const inactive = await admin.get(`/wholesale/resellers?q=${tag}&status=inactive`);
    assert.equal(names(inactive.text).length, 10);
  });

  test('deactivation cascades to subscribers and logins, shows the count, and reactivation restores access', async () => {
    const r = await makeReseller(t.db);
    const s1 = await makeSubscriber(t.db, r.id, {}, [randomNumber()]);
    await makeSubscriber(t.db, r.id);
    await makeSubscriber(t.db, r.id, { status: 'inactive' });
    const subUser = await makeUser(t.db, 'subscriber', { resellerId: r.id, subscriberId: s1.id });
    const resAdmin = await makeUser(t.db, 'reseller_admin', { resellerId: r.id });
    const loggedIn = await Client.login(t.app, subUser.email);

    const page = await admin.get(`/wholesale/resellers/${r.id}`);
    assert.match(page.text, /data-testid="impact-subscribers">2</);

    const off = await admin.submit(`/wholesale/resellers/${r.id}/deactivate`, { confirm: 'yes' });
    assert.equal(off.status, 303);
    const flashPage = await admin.get(off.headers.location as string);
    assert.match(flashPage.text, /2 subscribers and 2 logins are suspended/);

    // An open session loses access on its next request.
    const kicked = await loggedIn.get('/me');
    assert.equal(kicked.status, 302);
    const loginPage = await loggedIn.get('/login');
    assert.match(loginPage.text, /This account is suspended/);
    const refused = await Client.anonymous(t.app).submit('/login', { email: subUser.email, password: PASSWORD }, '/login');
    assert.equal(refused.status, 403);
    assert.match(refused.text, /This account is suspended/);
    await assert.rejects(Client.login(t.app, resAdmin.email));

    const on = await admin.submit(`/wholesale/resellers/${r.id}/activate`);
    assert.equal(on.status, 303);
    const back = await Client.login(t.app, subUser.email);
    assert.equal((await back.get('/me')).status, 200);
    const actions = await t.db('audit_log').where({ entity_type: 'reseller', entity_id: r.id }).orderBy('id').pluck('action');
    assert.deepEqual(actions, ['deactivate', 'activate']);
  });

  test('edit saves and records before and after', async () => {
    const r = await makeReseller(t.db);
    const form = await admin.get(`/wholesale/resellers/${r.id}/edit`);
    assert.equal(form.status, 200);
    const res = await admin.submit(`/wholesale/resellers/${r.id}`, { name: 'Renamed Co', code: r.code, currency: 'GBP', contact_email: '', notes: 'VIP' });
    assert.equal(res.status, 303);
    const row = await t.db('resellers').where({ id: r.id }).first();
    assert.equal(row.name, 'Renamed Co');
    assert.equal(row.billing_service, false);
    const audit = await t.db('audit_log').where({ entity_type: 'reseller', entity_id: r.id, action: 'update' }).first();
    assert.equal(audit.before.name, r.name);
    assert.equal(audit.after.name, 'Renamed Co');
    assert.equal(audit.actor_role, 'wholesale_admin');
  });

  test('an unknown reseller id answers 404', async () => {
    assert.equal((await admin.get('/wholesale/resellers/999999')).status, 404);
    assert.equal((await admin.get('/wholesale/resellers/abc')).status, 404);
  });
});
