import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, type TestApp } from '../support/app';
import { makeReseller, makeSubscriber, makeUser, PASSWORD } from '../support/factories';
import { Client } from '../support/http';

const NEW_PASSWORD = 'a-fresh-staff-password';

/** Emails listed in a users page, in order. */
function listedEmails(html: string): string[] {
  return [...html.matchAll(/<tr[^>]*>\s*<td[^>]*>([^<]+@[^<]+)<\/td>/g)].map((m) => m[1] as string);
}

async function loginStatus(t: TestApp, email: string, password = PASSWORD) {
  return Client.anonymous(t.app).submit('/login', { email, password }, '/login');
}

describe('staff logins: wholesale users and reseller users', () => {
  let t: TestApp;

  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  async function wholesaleAdmin() {
    const user = await makeUser(t.db, 'wholesale_admin');
    return { user, client: await Client.login(t.app, user.email) };
  }

  async function resellerAdmin() {
    const reseller = await makeReseller(t.db);
    const user = await makeUser(t.db, 'reseller_admin', { resellerId: reseller.id });
    return { reseller, user, client: await Client.login(t.app, user.email) };
  }

  const editForm = (u: { name?: string; email: string; role: string }, over: Record<string, string> = {}) => ({
    name: u.name ?? 'Someone',
    email: u.email,
    role: u.role,
    status: 'active',
    password: '',
    ...over,
  });

  describe('wholesale admin manages wholesale users', () => {
    test('creates an admin and a support login, audited without secrets; each logs in to /wholesale and support stays read-only', async () => {
      const { user: me, client } = await wholesaleAdmin();
      const form = await client.get('/wholesale/users/new');
      assert.equal(form.status, 200);
      assert.match(form.text, /<option value="wholesale_admin"/);
      assert.match(form.text, /<option value="wholesale_support"/);
      assert.doesNotMatch(form.text, /<option value="reseller_admin"/);

      const res = await client.submit('/wholesale/users', { name: 'Wendy Admin', email: 'Wendy.Admin@Example.com', role: 'wholesale_admin', password: NEW_PASSWORD });
      assert.equal(res.status, 303);
      assert.equal(res.headers.location, '/wholesale/users');
      assert.match((await client.get('/wholesale/users')).text, /Login wendy.admin@example.com created/);
      const wendy = await t.db('users').where({ email: 'wendy.admin@example.com' }).first();
      assert.equal(wendy.role, 'wholesale_admin');
      assert.equal(wendy.reseller_id, null);
      assert.notEqual(wendy.password_hash, NEW_PASSWORD);
      const audit = await t.db('audit_log').where({ entity_type: 'user', entity_id: wendy.id, action: 'create' }).first();
      assert.equal(audit.actor_user_id, me.id);
      assert.equal(audit.actor_role, 'wholesale_admin');
      assert.equal(audit.after.email, 'wendy.admin@example.com');
      assert.ok(!JSON.stringify(audit).includes(NEW_PASSWORD) && !JSON.stringify(audit).includes('argon2'));

      assert.equal((await client.submit('/wholesale/users', { name: 'Sam Support', email: 'sam.support@example.com', role: 'wholesale_support', password: NEW_PASSWORD })).status, 303);
      const sam = await Client.login(t.app, 'sam.support@example.com', NEW_PASSWORD);
      assert.equal((await sam.get('/wholesale/users')).status, 200);
      const refused = await sam.submit('/wholesale/users', { name: 'Sneaky', email: 'sneaky@example.com', role: 'wholesale_admin', password: NEW_PASSWORD });
      assert.equal(refused.status, 403);
      assert.equal(await t.db('users').where({ email: 'sneaky@example.com' }).first(), undefined);

      const wendyClient = await Client.login(t.app, 'wendy.admin@example.com', NEW_PASSWORD);
      assert.equal((await wendyClient.get('/wholesale')).status, 200);
    });

    test("a duplicate email within the operator's staff (any case) is refused and nothing is written; one of another party's logins is not compared", async () => {
      const { client } = await wholesaleAdmin();
      const r = await makeReseller(t.db);
      const sub = await makeSubscriber(t.db, r.id);
      const subscriberLogin = await makeUser(t.db, 'subscriber', { resellerId: r.id, subscriberId: sub.id });
      const existing = await makeUser(t.db, 'wholesale_support');
      const before = await t.db('users').count<{ count: number }[]>('* as count');
      const res = await client.submit('/wholesale/users', { name: 'Copy Cat', email: existing.email.toUpperCase(), role: 'wholesale_support', password: NEW_PASSWORD });
      assert.equal(res.status, 422);
      assert.match(res.text, /A login with this email already exists/);
      assert.match(res.text, /value="Copy Cat"/, 'the form keeps what was typed');
      assert.deepEqual(await t.db('users').count<{ count: number }[]>('* as count'), before);
      // A reseller's subscriber is another party (DOMAIN.md: logins are unique within their party).
      const other = await client.submit('/wholesale/users', { name: 'Same Person', email: subscriberLogin.email, role: 'wholesale_support', password: NEW_PASSWORD });
      assert.equal(other.status, 303);
      assert.equal(await t.db('users').whereRaw('lower(email) = ?', [subscriberLogin.email]).count<{ count: number }[]>('* as count').then((x) => Number(x[0]?.count)), 2);
    });

    test('bad input is refused field by field: missing name, bad email, short password, a role from another portal', async () => {
      const { client } = await wholesaleAdmin();
      const res = await client.submit('/wholesale/users', { name: '', email: 'not-an-email', role: 'reseller_admin', password: 'short' });
      assert.equal(res.status, 422);
      assert.match(res.text, /Name is required/);
      assert.match(res.text, /Enter a valid email address/);
      assert.match(res.text, /Choose a role/);
      assert.match(res.text, /Password must be at least 12 characters/);
      const sub = await client.submit('/wholesale/users', { name: 'Sub', email: 'sub-role@example.com', role: 'subscriber', password: NEW_PASSWORD });
      assert.equal(sub.status, 422);
      assert.equal(await t.db('users').where({ email: 'sub-role@example.com' }).first(), undefined);
    });

    test('edit changes name, email and role, recorded with before and after', async () => {
      const { client, user: me } = await wholesaleAdmin();
      const u = await makeUser(t.db, 'wholesale_support');
      const form = await client.get(`/wholesale/users/${u.id}/edit`);
      assert.equal(form.status, 200);
      const res = await client.submit(`/wholesale/users/${u.id}`, editForm({ name: 'Promoted Person', email: 'Promoted@Example.com', role: 'wholesale_admin' }));
      assert.equal(res.status, 303);
      const row = await t.db('users').where({ id: u.id }).first();
      assert.deepEqual([row.name, row.email, row.role, row.status], ['Promoted Person', 'promoted@example.com', 'wholesale_admin', 'active']);
      const audit = await t.db('audit_log').where({ entity_type: 'user', entity_id: u.id, action: 'update' }).first();
      assert.equal(audit.actor_user_id, me.id);
      assert.equal(audit.before.role, 'wholesale_support');
      assert.equal(audit.after.role, 'wholesale_admin');
      assert.equal(audit.before.email, u.email);
      assert.equal(audit.after.email, 'promoted@example.com');
      assert.equal(audit.after.password_reset, undefined, 'no password change recorded');

      const taken = await makeUser(t.db, 'wholesale_admin');
      const dup = await client.submit(`/wholesale/users/${u.id}`, editForm({ name: 'Promoted Person', email: taken.email, role: 'wholesale_admin' }));
      assert.equal(dup.status, 422);
      assert.match(dup.text, /A login with this email already exists/);
      assert.equal((await t.db('users').where({ id: u.id }).first()).email, 'promoted@example.com');
    });

    test('disabling a user refuses their login with the disabled message and ends their open session; enabling restores it', async () => {
      const { client } = await wholesaleAdmin();
      const u = await makeUser(t.db, 'wholesale_support');
      const open = await Client.login(t.app, u.email);
      const off = await client.submit(`/wholesale/users/${u.id}`, editForm({ email: u.email, role: u.role }, { status: 'disabled', confirm: 'yes' }));
      assert.equal(off.status, 303);
      assert.equal((await t.db('users').where({ id: u.id }).first()).status, 'disabled');

      assert.equal((await open.get('/wholesale')).status, 302, 'the open session is ended');
      assert.match((await open.get('/login')).text, /This login has been disabled/);
      const refused = await loginStatus(t, u.email);
      assert.equal(refused.status, 403);
      assert.match(refused.text, /This login has been disabled. Ask your administrator to enable it./);

      const list = await client.get('/wholesale/users?status=disabled');
      assert.ok(listedEmails(list.text).includes(u.email));
      assert.ok(!listedEmails((await client.get('/wholesale/users?status=active')).text).includes(u.email));

      const on = await client.submit(`/wholesale/users/${u.id}`, editForm({ email: u.email, role: u.role }));
      assert.equal(on.status, 303);
      assert.equal((await loginStatus(t, u.email)).status, 303);
      const actions = await t.db('audit_log').where({ entity_type: 'user', entity_id: u.id }).orderBy('id').pluck('action');
      assert.deepEqual(actions, ['deactivate', 'activate']);
    });

    test('password reset: a blank password keeps the current one, a new one replaces it', async () => {
      const { client } = await wholesaleAdmin();
      const u = await makeUser(t.db, 'wholesale_support');
      const hash = (await t.db('users').where({ id: u.id }).first()).password_hash;
      assert.equal((await client.submit(`/wholesale/users/${u.id}`, editForm({ name: 'Kept', email: u.email, role: u.role }))).status, 303);
      assert.equal((await t.db('users').where({ id: u.id }).first()).password_hash, hash);
      assert.equal((await loginStatus(t, u.email)).status, 303);

      const short = await client.submit(`/wholesale/users/${u.id}`, editForm({ name: 'Kept', email: u.email, role: u.role }, { password: 'short' }));
      assert.equal(short.status, 422);
      assert.match(short.text, /Password must be at least 12 characters/);

      assert.equal((await client.submit(`/wholesale/users/${u.id}`, editForm({ name: 'Kept', email: u.email, role: u.role }, { password: NEW_PASSWORD }))).status, 303);
      assert.equal((await loginStatus(t, u.email)).status, 401, 'the old password no longer works');
      assert.equal((await loginStatus(t, u.email, NEW_PASSWORD)).status, 303);
      const audit = await t.db('audit_log').where({ entity_type: 'user', entity_id: u.id }).orderBy('id');
      assert.equal(audit.at(-1).after.password_reset, true);
      assert.ok(!JSON.stringify(audit).includes(NEW_PASSWORD));
    });

    test('a user cannot disable or demote themselves, but may edit their own name', async () => {
      const { client, user: me } = await wholesaleAdmin();
      const self = { name: 'Me Myself', email: me.email, role: 'wholesale_admin' };
      const disable = await client.submit(`/wholesale/users/${me.id}`, editForm(self, { status: 'disabled' }));
      assert.equal(disable.status, 422);
      assert.match(disable.text, /You cannot disable or demote your own login/);
      const demote = await client.submit(`/wholesale/users/${me.id}`, editForm({ ...self, role: 'wholesale_support' }));
      assert.equal(demote.status, 422);
      assert.match(demote.text, /You cannot disable or demote your own login/);
      const row = await t.db('users').where({ id: me.id }).first();
      assert.deepEqual([row.role, row.status], ['wholesale_admin', 'active']);
      assert.equal((await client.get('/wholesale')).status, 200, 'still logged in');

      const rename = await client.submit(`/wholesale/users/${me.id}`, editForm(self));
      assert.equal(rename.status, 303);
      assert.equal((await t.db('users').where({ id: me.id }).first()).name, 'Me Myself');
    });

    test("reseller staff and subscriber logins are not wholesale users: not listed, and their edit pages are 404", async () => {
      const { client } = await wholesaleAdmin();
      const r = await makeReseller(t.db);
      const staff = await makeUser(t.db, 'reseller_admin', { resellerId: r.id });
      const sub = await makeSubscriber(t.db, r.id);
      const subLogin = await makeUser(t.db, 'subscriber', { resellerId: r.id, subscriberId: sub.id });
      const emails = listedEmails((await client.get('/wholesale/users')).text);
      assert.ok(!emails.includes(staff.email) && !emails.includes(subLogin.email));
      for (const u of [staff, subLogin]) {
        assert.equal((await client.get(`/wholesale/users/${u.id}/edit`)).status, 404);
        const res = await client.submit(`/wholesale/users/${u.id}`, editForm({ email: u.email, role: 'wholesale_admin' }));
        assert.equal(res.status, 404);
        const row = await t.db('users').where({ id: u.id }).first();
        assert.equal(row.role, u.role);
      }
    });
  });

  describe('reseller admin manages its own staff', () => {
    test('creates reseller admin and support logins in its own reseller; they log in to /reseller', async () => {
      const { reseller, client, user: me } = await resellerAdmin();
      const form = await client.get('/reseller/users/new');
      assert.match(form.text, /<option value="reseller_support"/);
      assert.doesNotMatch(form.text, /<option value="wholesale_admin"/);
      for (const [email, role] of [['rita@reseller.example', 'reseller_admin'], ['rob@reseller.example', 'reseller_support']] as const) {
        const res = await client.submit('/reseller/users', { name: role, email, role, password: NEW_PASSWORD });
        assert.equal(res.status, 303);
        assert.equal(res.headers.location, '/reseller/users');
        const row = await t.db('users').where({ email }).first();
        assert.equal(row.reseller_id, reseller.id);
        assert.equal(row.role, role);
        const audit = await t.db('audit_log').where({ entity_type: 'user', entity_id: row.id, action: 'create' }).first();
        assert.equal(audit.reseller_id, reseller.id);
        assert.equal(audit.actor_user_id, me.id);
        const c = await Client.login(t.app, email, NEW_PASSWORD);
        assert.equal((await c.get('/reseller')).status, 200);
      }
    });

    test('only reseller roles may be given: wholesale_admin, wholesale_support and subscriber are refused, on create and on edit', async () => {
      const { reseller, client } = await resellerAdmin();
      for (const role of ['wholesale_admin', 'wholesale_support', 'subscriber', 'superuser']) {
        const res = await client.submit('/reseller/users', { name: 'Climber', email: `climber-${role}@example.com`, role, password: NEW_PASSWORD });
        assert.equal(res.status, 422, role);
        assert.match(res.text, /Choose a role/);
        assert.equal(await t.db('users').where({ email: `climber-${role}@example.com` }).first(), undefined);
      }
      const staff = await makeUser(t.db, 'reseller_support', { resellerId: reseller.id });
      const edit = await client.submit(`/reseller/users/${staff.id}`, editForm({ email: staff.email, role: 'wholesale_admin' }));
      assert.equal(edit.status, 422);
      assert.match(edit.text, /Choose a role/);
      const row = await t.db('users').where({ id: staff.id }).first();
      assert.deepEqual([row.role, row.reseller_id], ['reseller_support', reseller.id]);
    });

    test("its list shows only its own staff; another reseller's staff, subscriber logins and wholesale users are 404 to it", async () => {
      const { reseller, client } = await resellerAdmin();
      const mine = await makeUser(t.db, 'reseller_support', { resellerId: reseller.id });
      const other = await makeReseller(t.db);
      const theirs = await makeUser(t.db, 'reseller_admin', { resellerId: other.id });
      const sub = await makeSubscriber(t.db, reseller.id);
      const subLogin = await makeUser(t.db, 'subscriber', { resellerId: reseller.id, subscriberId: sub.id });
      const operator = await makeUser(t.db, 'wholesale_admin');

      const emails = listedEmails((await client.get('/reseller/users')).text);
      assert.ok(emails.includes(mine.email));
      for (const u of [theirs, subLogin, operator]) {
        assert.ok(!emails.includes(u.email), `${u.role} not listed`);
        assert.equal((await client.get(`/reseller/users/${u.id}/edit`)).status, 404, u.role);
        const res = await client.submit(`/reseller/users/${u.id}`, editForm({ email: u.email, role: 'reseller_support' }, { status: 'disabled' }));
        assert.equal(res.status, 404, u.role);
        const row = await t.db('users').where({ id: u.id }).first();
        assert.deepEqual([row.role, row.status], [u.role, 'active']);
      }
    });

    test('disables its own staff member (who then cannot log in), resets a password, and cannot disable itself', async () => {
      const { reseller, client, user: me } = await resellerAdmin();
      const staff = await makeUser(t.db, 'reseller_support', { resellerId: reseller.id });
      assert.equal((await client.submit(`/reseller/users/${staff.id}`, editForm({ email: staff.email, role: staff.role }, { status: 'disabled', confirm: 'yes' }))).status, 303);
      const refused = await loginStatus(t, staff.email);
      assert.equal(refused.status, 403);
      assert.match(refused.text, /This login has been disabled/);

      assert.equal((await client.submit(`/reseller/users/${staff.id}`, editForm({ email: staff.email, role: staff.role }, { password: NEW_PASSWORD }))).status, 303);
      assert.equal((await loginStatus(t, staff.email, NEW_PASSWORD)).status, 303);

      const self = await client.submit(`/reseller/users/${me.id}`, editForm({ email: me.email, role: 'reseller_admin' }, { status: 'disabled' }));
      assert.equal(self.status, 422);
      assert.match(self.text, /You cannot disable or demote your own login/);
      const demote = await client.submit(`/reseller/users/${me.id}`, editForm({ email: me.email, role: 'reseller_support' }));
      assert.equal(demote.status, 422);
      assert.equal((await t.db('users').where({ id: me.id }).first()).role, 'reseller_admin');
    });

    test('reseller support can see the staff list but not add or change anyone', async () => {
      const { reseller } = await resellerAdmin();
      const support = await makeUser(t.db, 'reseller_support', { resellerId: reseller.id });
      const c = await Client.login(t.app, support.email);
      const list = await c.get('/reseller/users');
      assert.equal(list.status, 200);
      assert.doesNotMatch(list.text, /New user/);
      const res = await c.submit('/reseller/users', { name: 'X', email: 'x-by-support@example.com', role: 'reseller_admin', password: NEW_PASSWORD });
      assert.equal(res.status, 403);
      const promote = await c.submit(`/reseller/users/${support.id}`, editForm({ email: support.email, role: 'reseller_admin' }));
      assert.equal(promote.status, 403);
      assert.equal((await t.db('users').where({ id: support.id }).first()).role, 'reseller_support');
      assert.equal(await t.db('users').where({ email: 'x-by-support@example.com' }).first(), undefined);
    });
  });

  test("/wholesale/resellers/:id/users lists that reseller's staff only, read-only", async () => {
    const { client } = await wholesaleAdmin();
    const r = await makeReseller(t.db, { name: 'Listed Reseller' });
    const admin = await makeUser(t.db, 'reseller_admin', { resellerId: r.id });
    const support = await makeUser(t.db, 'reseller_support', { resellerId: r.id });
    const sub = await makeSubscriber(t.db, r.id);
    const subLogin = await makeUser(t.db, 'subscriber', { resellerId: r.id, subscriberId: sub.id });
    const other = await makeUser(t.db, 'reseller_admin', { resellerId: (await makeReseller(t.db)).id });

    const page = await client.get(`/wholesale/resellers/${r.id}/users`);
    assert.equal(page.status, 200);
    assert.match(page.text, /Listed Reseller: staff logins/);
    assert.deepEqual(listedEmails(page.text).sort(), [admin.email, support.email].sort());
    assert.ok(!page.text.includes(subLogin.email) && !page.text.includes(other.email));
    assert.doesNotMatch(page.text, /\/edit"/, 'no edit links: the reseller manages its own staff');
    const disabled = await client.get(`/wholesale/resellers/${r.id}/users?status=disabled`);
    assert.deepEqual(listedEmails(disabled.text), []);
    assert.equal((await client.get('/wholesale/resellers/999999/users')).status, 404);

    // Not for reseller people, even about their own reseller.
    const resellerClient = await Client.login(t.app, admin.email);
    assert.equal((await resellerClient.get(`/wholesale/resellers/${r.id}/users`)).status, 403);
  });
});
