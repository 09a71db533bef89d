import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, type TestApp } from '../support/app';
import { makeNumberRange, makeReseller, makeSubscriber, makeUser, PASSWORD } from '../support/factories';
import { Client } from '../support/http';

/** Page text with the HTML entities EJS writes turned back into characters. */
function text(html: string): string {
  return html.replace(/&#34;|&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

const LOGIN_PASSWORD = 'subscriber-portal-pass';

function subscriberForm(over: Record<string, string> = {}): Record<string, string> {
  return {
    account_number: 'ACC-1',
    name: 'Acme Dental',
    contact_name: 'Dana Dentist',
    email: 'office@acme-dental.example',
    phone: '',
    address_line1: '1 Main St',
    address_line2: '',
    city: 'New York',
    region: 'NY',
    postal_code: '10001',
    country: 'US',
    numbers: '',
    login_email: '',
    login_password: '',
    ...over,
  };
}

/** Account numbers shown in a subscriber list page, in order. */
function listedAccounts(html: string, base: string): string[] {
  return [...html.matchAll(new RegExp(`href="${base}/\\d+">([^<]+)</a>`, 'g'))].map((m) => m[1] as string);
}

describe('reseller: subscribers, numbers and portal logins', () => {
  let t: TestApp;

  /** A reseller with its admin logged in. */
  async function tenant(name?: string) {
    const reseller = await makeReseller(t.db, name ? { name } : {});
    const adminUser = await makeUser(t.db, 'reseller_admin', { resellerId: reseller.id });
    const admin = await Client.login(t.app, adminUser.email);
    return { reseller, adminUser, admin };
  }

  /** Ranges of one number each for the reseller: a reseller assigns only numbers of its ranges. */
  async function ranges(resellerId: number, ...numbers: string[]) {
    for (const n of numbers) await makeNumberRange(t.db, resellerId, n);
  }

  async function activeNumbers(subscriberId: number): Promise<string[]> {
    return t.db('phone_numbers').where({ subscriber_id: subscriberId }).whereNull('released_at').orderBy('number').pluck('number');
  }

  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  test('creates a subscriber with numbers typed nationally and internationally (normalised to E.164 by the service country) and a portal login', async () => {
    const { reseller, admin, adminUser } = await tenant();
    await ranges(reseller.id, '+12125550100', '+12125550111', '+16465550199', '+17185550123', '+19175550104', '+442079460018', '+33123456789');
    const res = await admin.submit('/reseller/subscribers', subscriberForm({
      account_number: 'NYC-100',
      numbers: '(212) 555-0100\n+1 646 555 0199, 1-718-555-0123\n0012125550111\n011 1 917 555 0104',
      login_email: 'Dana@Acme-Dental.example',
      login_password: LOGIN_PASSWORD,
    }));
    assert.equal(res.status, 303);
    const sub = await t.db('subscribers').where({ reseller_id: reseller.id, account_number: 'NYC-100' }).first();
    assert.ok(sub);
    assert.equal(res.headers.location, `/reseller/subscribers/${sub.id}`);
    assert.deepEqual(await activeNumbers(sub.id), ['+12125550100', '+12125550111', '+16465550199', '+17185550123', '+19175550104']);
    const login = await t.db('users').where({ subscriber_id: sub.id }).first();
    assert.equal(login.email, 'dana@acme-dental.example');
    assert.equal(login.role, 'subscriber');
    assert.equal(login.reseller_id, reseller.id);

    const page = await admin.get(res.headers.location as string);
    assert.match(text(page.text), /Subscriber NYC-100 \(Acme Dental\) created/);
    assert.match(page.text, /<code>\+12125550100<\/code>/);

    // A service address abroad: national numbers take that country's code and trunk prefix.
    const gb = await admin.submit('/reseller/subscribers', subscriberForm({ account_number: 'LDN-1', name: 'London Office', country: 'gb', region: '', city: 'London', numbers: '020 7946 0018\n+33 1 23 45 67 89' }));
    assert.equal(gb.status, 303);
    const gbSub = await t.db('subscribers').where({ reseller_id: reseller.id, account_number: 'LDN-1' }).first();
    assert.equal(gbSub.country, 'GB');
    assert.deepEqual(await activeNumbers(gbSub.id), ['+33123456789', '+442079460018']);

    const audit = await t.db('audit_log').where({ reseller_id: reseller.id }).whereIn('entity_type', ['subscriber', 'phone_number', 'user']).orderBy('id');
    const forSub = audit.filter(
      (a) => (a.entity_type === 'subscriber' && a.entity_id === sub.id) || (a.entity_type === 'phone_number' && a.after?.subscriber_id === sub.id) || (a.entity_type === 'user' && a.entity_id === login.id),
    );
    assert.deepEqual(forSub.map((a) => `${a.entity_type}:${a.action}`), ['subscriber:create', ...Array(5).fill('phone_number:assign'), 'user:create']);
    for (const a of forSub) {
      assert.equal(a.actor_user_id, adminUser.id);
      assert.equal(a.actor_email, adminUser.email);
      assert.equal(a.actor_role, 'reseller_admin');
      assert.ok(a.after, 'after recorded');
    }
    assert.equal(forSub[0].after.account_number, 'NYC-100');
    assert.deepEqual(forSub[0].after.numbers, ['+12125550100', '+16465550199', '+17185550123', '+12125550111', '+19175550104']);
    assert.ok(!JSON.stringify(audit).includes(LOGIN_PASSWORD));
    assert.ok(!JSON.stringify(audit).includes('password_hash'));
  });

  test('the subscriber logs in to /me and sees their own account and numbers', async () => {
    const { reseller, admin } = await tenant('Bright Telecom');
    await makeNumberRange(t.db, reseller.id, '+12125550130', '+12125550139');
    await admin.submit('/reseller/subscribers', subscriberForm({ account_number: 'ME-1', name: 'Corner Bakery', numbers: '2125550131\n2125550132', login_email: 'bakery@example.com', login_password: LOGIN_PASSWORD }));
    const me = await Client.login(t.app, 'bakery@example.com', LOGIN_PASSWORD);
    const page = await me.get('/me');
    assert.equal(page.status, 200);
    assert.match(page.text, /data-testid="account-number">ME-1</);
    assert.match(page.text, /Corner Bakery/);
    assert.match(page.text, /Bright Telecom/);
    assert.match(page.text, /<code>\+12125550131<\/code>/);
    assert.match(page.text, /<code>\+12125550132<\/code>/);
    // The subscriber portal is theirs only.
    assert.equal((await me.get('/reseller/subscribers')).status, 403);
    assert.equal((await me.get('/wholesale')).status, 403);
    assert.ok(reseller.id);
  });

  test('bad numbers are refused with a message naming each one; the form keeps what was typed and nothing is written', async () => {
    const { reseller, admin } = await tenant();
    const auditBefore = await t.db('audit_log').count<{ count: number }[]>('* as count');
    const res = await admin.submit('/reseller/subscribers', subscriberForm({ account_number: 'BAD-1', numbers: '2125550140\n12345\n212-CALL-NOW\n+1234567890123456', login_email: 'bad@example.com', login_password: LOGIN_PASSWORD }));
    assert.equal(res.status, 422);
    const page = text(res.text);
    assert.match(page, /"12345" is not a 10-digit North American number/);
    assert.match(page, /"212-CALL-NOW" has characters other than digits/);
    assert.match(page, /"\+1234567890123456" is longer than 15 digits/);
    assert.doesNotMatch(page, /"2125550140"/, 'the good number is not blamed');
    assert.match(page, /212-CALL-NOW/);
    assert.match(res.text, /value="BAD-1"/);
    assert.doesNotMatch(res.text, new RegExp(LOGIN_PASSWORD), 'the password is not sent back');
    assert.equal(await t.db('subscribers').where({ reseller_id: reseller.id }).first(), undefined);
    assert.equal(await t.db('phone_numbers').where({ number: '+12125550140' }).first(), undefined);
    assert.equal(await t.db('users').where({ email: 'bad@example.com' }).first(), undefined);
    assert.deepEqual(await t.db('audit_log').count<{ count: number }[]>('* as count'), auditBefore);

    const sub = await makeSubscriber(t.db, reseller.id);
    const one = await admin.submit(`/reseller/subscribers/${sub.id}/numbers`, { number: '555-01', label: '' });
    assert.equal(one.status, 422);
    assert.match(text(one.text), /"555-01" is not a 10-digit North American number/);
    assert.deepEqual(await activeNumbers(sub.id), []);
  });

  test('extensions and SIP user names are accepted beside numbers, only in the reseller\'s own SIP domain; one held in it is refused; they are released like numbers', async () => {
    const { reseller, admin } = await tenant();
    // Without a SIP domain, an extension must name its own; the number's reason comes first.
    const none = await admin.submit('/reseller/subscribers', subscriberForm({ account_number: 'PBX-0', numbers: '1001' }));
    assert.equal(none.status, 422);
    assert.match(text(none.text), /"1001" is not a 10-digit North American number; as an extension, "1001" needs its SIP domain \(1001@pbx\.example\): the reseller has no default SIP domain/);

    await t.db('resellers').where({ id: reseller.id }).update({ sip_domain: `${reseller.code}.pbx.example` });
    const domain = `${reseller.code}.pbx.example`;
    await ranges(reseller.id, '+12125550161');
    // Only in its own SIP domain: another domain may be another tenant's.
    const foreign = await admin.submit('/reseller/subscribers', subscriberForm({ account_number: 'PBX-1', numbers: '2125550161\n1001\nAlice\n2002@Other.Example' }));
    assert.equal(foreign.status, 422);
    assert.match(text(foreign.text), /2002@other\.example: other\.example is not your SIP domain/);
    const res = await admin.submit('/reseller/subscribers', subscriberForm({ account_number: 'PBX-1', numbers: `2125550161\n1001\nAlice\n2002@${domain.toUpperCase()}` }));
    assert.equal(res.status, 303, text(res.text));
    const sub = await t.db('subscribers').where({ reseller_id: reseller.id, account_number: 'PBX-1' }).first();
    assert.deepEqual(await activeNumbers(sub.id), ['+12125550161']);
    const held = async (id: number) => (await t.db('subscriber_identities').where({ subscriber_id: id }).whereNull('released_at').orderBy(['domain', 'identity'])).map((r) => `${r.identity}@${r.domain}`);
    assert.deepEqual(await held(sub.id), [`1001@${domain}`, `2002@${domain}`, `alice@${domain}`]);
    const page = await admin.get(`/reseller/subscribers/${sub.id}`);
    assert.match(page.text, new RegExp(`1001@${domain.replace(/\./g, '\\.')}</code> <small class="muted">extension`));

    const other = await makeSubscriber(t.db, reseller.id);
    const taken = await admin.submit(`/reseller/subscribers/${other.id}/numbers`, { number: '1001', label: '' });
    assert.equal(taken.status, 422);
    assert.match(text(taken.text), new RegExp(`1001@${domain} is already held by another subscriber`));
    const bad = await admin.submit(`/reseller/subscribers/${other.id}/numbers`, { number: '1234567', label: '' });
    assert.match(text(bad.text), /"1234567" is not a 10-digit North American number \(an extension has at most 6 digits\)/);
    const odd = await admin.submit(`/reseller/subscribers/${other.id}/numbers`, { number: 'bob@not a domain', label: '' });
    assert.match(text(odd.text), /"not a domain" is not a SIP domain name/);

    const ext = await t.db('subscriber_identities').where({ subscriber_id: sub.id, identity: '1001' }).first();
    const rel = await admin.submit(`/reseller/subscribers/${sub.id}/identities/${ext.id}/release`);
    assert.equal(rel.status, 303);
    const add = await admin.submit(`/reseller/subscribers/${other.id}/numbers`, { number: '1001', label: 'Front desk' });
    assert.equal(add.status, 303, text(add.text));
    assert.deepEqual(await held(other.id), [`1001@${domain}`]);
    assert.ok((await t.db('subscriber_identities').where({ id: ext.id }).first()).released_at, 'the history keeps the release');
    const audit = await t.db('audit_log').where({ entity_type: 'subscriber_identity', reseller_id: reseller.id }).orderBy('id').pluck('action');
    assert.deepEqual(audit, ['assign', 'assign', 'assign', 'release', 'assign'], 'three at creation, the release, the new holder');
    // Another reseller's admin reaches neither the subscriber nor its extension.
    const stranger = await tenant();
    assert.equal((await stranger.admin.submit(`/reseller/subscribers/${other.id}/identities/${ext.id}/release`)).status, 404);
  });

  test('a duplicate account number is refused within a reseller (any case), but another reseller may use it', async () => {
    const a = await tenant();
    const b = await tenant();
    assert.equal((await a.admin.submit('/reseller/subscribers', subscriberForm({ account_number: 'DUP-1' }))).status, 303);
    await ranges(a.reseller.id, '+12125550150');
    const dup = await a.admin.submit('/reseller/subscribers', subscriberForm({ account_number: 'dup-1', name: 'Someone Else', numbers: '2125550150' }));
    assert.equal(dup.status, 422);
    assert.match(dup.text, /Another subscriber already has this account number/);
    assert.equal(await t.db('phone_numbers').where({ number: '+12125550150' }).first(), undefined, 'its numbers were not kept either');
    assert.equal(await t.db('subscribers').where({ reseller_id: a.reseller.id }).count<{ count: number }[]>('* as count').then((r) => Number(r[0]?.count)), 1);

    const other = await b.admin.submit('/reseller/subscribers', subscriberForm({ account_number: 'DUP-1' }));
    assert.equal(other.status, 303);

    // Renaming onto a taken account number is refused the same way.
    const second = await makeSubscriber(t.db, a.reseller.id, { account_number: 'DUP-2' });
    const edit = await a.admin.submit(`/reseller/subscribers/${second.id}`, subscriberForm({ account_number: 'DUP-1', name: second.name }));
    assert.equal(edit.status, 422);
    assert.match(edit.text, /Another subscriber already has this account number/);
    assert.equal((await t.db('subscribers').where({ id: second.id }).first()).account_number, 'DUP-2');
  });

  test("another reseller's number gets the same answer as a number nobody holds (outside the reseller's ranges); nothing of the new subscriber is written", async () => {
    const a = await tenant();
    const otherReseller = await makeReseller(t.db, { name: 'Hidden Competitor Ltd' });
    await makeSubscriber(t.db, otherReseller.id, { account_number: 'SECRET-77', name: 'Secret Owner Inc' }, ['+12125550177']);
    await ranges(a.reseller.id, '+12125550178');
    const auditBefore = await t.db('audit_log').count<{ count: number }[]>('* as count');

    const res = await a.admin.submit('/reseller/subscribers', subscriberForm({ account_number: 'NEW-9', name: 'Newcomer', numbers: '2125550178\n(212) 555-0177', login_email: 'newcomer@example.com', login_password: LOGIN_PASSWORD }));
    assert.equal(res.status, 422);
    assert.match(text(res.text), /\+12125550177 is not in your number ranges \(your operator assigns them\)/);
    for (const secret of ['SECRET-77', 'Secret Owner', 'Hidden Competitor', 'already']) assert.ok(!res.text.includes(secret), `does not reveal ${secret}`);
    // All or nothing: the subscriber, the number inserted before the clash, the login and the audit rows are gone.
    assert.equal(await t.db('subscribers').where({ reseller_id: a.reseller.id, account_number: 'NEW-9' }).first(), undefined);
    assert.equal(await t.db('phone_numbers').where({ number: '+12125550178' }).first(), undefined);
    assert.equal(await t.db('users').where({ email: 'newcomer@example.com' }).first(), undefined);
    assert.deepEqual(await t.db('audit_log').count<{ count: number }[]>('* as count'), auditBefore);

    // Adding it to an existing subscriber: word for word the answer for a number that exists nowhere.
    const mine = await makeSubscriber(t.db, a.reseller.id);
    const held = await a.admin.submit(`/reseller/subscribers/${mine.id}/numbers`, { number: '+1 212 555 0177', label: 'main' });
    const nowhere = await a.admin.submit(`/reseller/subscribers/${mine.id}/numbers`, { number: '+1 212 555 0176', label: 'main' });
    assert.equal(held.status, 422);
    assert.equal(nowhere.status, 422);
    const errorOf = (html: string) => text(html).match(/<span class="error"[^>]*>([^<]*)<\/span>/)?.[1];
    assert.equal(errorOf(held.text), '+12125550177 is not in your number ranges (your operator assigns them)');
    assert.equal(errorOf(nowhere.text)?.replace('0176', '0177'), errorOf(held.text), 'the same words for a held number and a free one');
    assert.equal(held.text.replace(/0177/g, 'NNNN').replace(/name="_csrf" value="[^"]*"/g, ''), nowhere.text.replace(/0176/g, 'NNNN').replace(/name="_csrf" value="[^"]*"/g, ''), 'the same page');
    assert.deepEqual(await activeNumbers(mine.id), []);
  });

  test("a number of the reseller's own range held by one of its subscribers is refused naming that subscriber", async () => {
    const a = await tenant();
    const holder = await makeSubscriber(t.db, a.reseller.id, { account_number: 'OWN-1', name: 'Own Holder Co' }, ['+12125550179']);
    const mine = await makeSubscriber(t.db, a.reseller.id);
    const add = await a.admin.submit(`/reseller/subscribers/${mine.id}/numbers`, { number: '212 555 0179' });
    assert.equal(add.status, 422);
    assert.match(text(add.text), /\+12125550179 is already assigned to OWN-1 \(Own Holder Co\)/);
    assert.deepEqual(await activeNumbers(mine.id), []);
    assert.deepEqual(await activeNumbers(holder.id), ['+12125550179']);
  });

  test("a portal login email is refused only when a login of the reseller's own has it; another tenant's email is not disclosed (the login is made)", async () => {
    const { reseller, admin } = await tenant();
    const own = await makeUser(t.db, 'reseller_support', { resellerId: reseller.id });
    await ranges(reseller.id, '+12125550185', '+12125550186');
    const res = await admin.submit('/reseller/subscribers', subscriberForm({ account_number: 'LOG-1', numbers: '2125550185', login_email: own.email.toUpperCase(), login_password: LOGIN_PASSWORD }));
    assert.equal(res.status, 422);
    assert.match(res.text, /A login with this email already exists/);
    assert.equal(await t.db('subscribers').where({ reseller_id: reseller.id, account_number: 'LOG-1' }).first(), undefined);
    assert.equal(await t.db('phone_numbers').where({ number: '+12125550185' }).first(), undefined);
    assert.equal(await t.db('audit_log').where({ reseller_id: reseller.id }).first(), undefined);

    // The operator's staff and another reseller's people are other parties: nothing is said of them.
    const operators = await makeUser(t.db, 'wholesale_support');
    const otherReseller = await makeReseller(t.db);
    const theirs = await makeUser(t.db, 'reseller_admin', { resellerId: otherReseller.id });
    const ok1 = await admin.submit('/reseller/subscribers', subscriberForm({ account_number: 'LOG-2', numbers: '2125550186', login_email: operators.email.toUpperCase(), login_password: LOGIN_PASSWORD }));
    assert.equal(ok1.status, 303, text(ok1.text));
    const sub3 = await makeSubscriber(t.db, reseller.id, { account_number: 'LOG-3' });
    const ok2 = await admin.submit(`/reseller/subscribers/${sub3.id}/login`, { login_email: theirs.email, login_password: LOGIN_PASSWORD });
    assert.equal(ok2.status, 303, text(ok2.text));
    assert.equal(await t.db('users').whereRaw('lower(email) = ?', [operators.email]).count<{ count: number }[]>('* as count').then((r) => Number(r[0]?.count)), 2);
    // A staff login of the reseller's own with an email of another party's: made as well.
    const staff = await admin.submit('/reseller/users', { name: 'Second Admin', email: theirs.email, role: 'reseller_support', password: LOGIN_PASSWORD });
    assert.equal(staff.status, 422, 'taken within the reseller now (its subscriber LOG-3 has it)');
    assert.match(staff.text, /A login with this email already exists/);
  });

  test('a released number can be assigned to another subscriber; the history keeps released_at', async () => {
    const { reseller, admin } = await tenant();
    const first = await makeSubscriber(t.db, reseller.id, { account_number: 'REL-1' }, ['+12125550190']);
    const second = await makeSubscriber(t.db, reseller.id, { account_number: 'REL-2' });
    const n = await t.db('phone_numbers').where({ subscriber_id: first.id }).first();

    const taken = await admin.submit(`/reseller/subscribers/${second.id}/numbers`, { number: '212 555 0190' }, `/reseller/subscribers/${second.id}`);
    assert.equal(taken.status, 422, 'not while the first subscriber has it');

    const rel = await admin.submit(`/reseller/subscribers/${first.id}/numbers/${n.id}/release`, { confirm: 'yes' });
    assert.equal(rel.status, 303);
    const released = await t.db('phone_numbers').where({ id: n.id }).first();
    assert.ok(released.released_at, 'released_at set');

    const add = await admin.submit(`/reseller/subscribers/${second.id}/numbers`, { number: '212 555 0190', label: 'Front desk' });
    assert.equal(add.status, 303);
    const rows = await t.db('phone_numbers').where({ number: '+12125550190' }).orderBy('id');
    assert.deepEqual(rows.map((r) => [r.subscriber_id, r.released_at === null, r.label]), [[first.id, false, null], [second.id, true, 'Front desk']]);

    const firstPage = await admin.get(`/reseller/subscribers/${first.id}`);
    assert.match(firstPage.text, /Released numbers \(1\)/);
    assert.match(firstPage.text, /<code>\+12125550190<\/code>/);

    // Releasing twice is a conflict, shown as a message, not an error page.
    const again = await admin.submit(`/reseller/subscribers/${first.id}/numbers/${n.id}/release`, { confirm: 'yes' });
    assert.equal(again.status, 303);
    const flashPage = await admin.get(`/reseller/subscribers/${first.id}`);
    assert.match(flashPage.text, /was already released/);
    // A number id under the wrong subscriber is not found.
    const active = rows[1];
    assert.equal((await admin.submit(`/reseller/subscribers/${first.id}/numbers/${active.id}/release`)).status, 404);

    const audit = await t.db('audit_log').where({ reseller_id: reseller.id, entity_type: 'phone_number' }).orderBy('id');
    assert.deepEqual(audit.map((a) => a.action), ['release', 'assign']);
    assert.equal(audit[0].before.subscriber_id, first.id);
    assert.ok(audit[0].after.released_at);
    assert.equal(audit[1].after.subscriber_id, second.id);
  });

  test('edit saves the fields and records before and after', async () => {
    const { reseller, admin, adminUser } = await tenant();
    const sub = await makeSubscriber(t.db, reseller.id, { account_number: 'ED-1', name: 'Old Name' });
    const form = await admin.get(`/reseller/subscribers/${sub.id}/edit`);
    assert.equal(form.status, 200);
    assert.match(form.text, /value="Old Name"/);
    const res = await admin.submit(`/reseller/subscribers/${sub.id}`, subscriberForm({ account_number: 'ED-1', name: 'New Name', city: 'Albany', email: '' }));
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, `/reseller/subscribers/${sub.id}`);
    const row = await t.db('subscribers').where({ id: sub.id }).first();
    assert.equal(row.name, 'New Name');
    assert.equal(row.city, 'Albany');
    assert.equal(row.email, null, 'a blank optional field is stored as null');
    const audit = await t.db('audit_log').where({ entity_type: 'subscriber', entity_id: sub.id, action: 'update' }).first();
    assert.equal(audit.before.name, 'Old Name');
    assert.equal(audit.after.name, 'New Name');
    assert.equal(audit.before.city, 'New York');
    assert.equal(audit.after.city, 'Albany');
    assert.equal(audit.actor_user_id, adminUser.id);

    const bad = await admin.submit(`/reseller/subscribers/${sub.id}`, subscriberForm({ account_number: 'ED-1', name: '', country: 'XX' }));
    assert.equal(bad.status, 422);
    assert.match(bad.text, /Name is required/);
    const unknownCountry = await admin.submit(`/reseller/subscribers/${sub.id}`, subscriberForm({ account_number: 'ED-1', name: 'New Name', country: 'XX' }));
    assert.equal(unknownCountry.status, 422);
    assert.match(unknownCountry.text, /Unknown country code XX/);
  });

  test('deactivating a subscriber refuses its login with the deactivated message and ends its open session; reactivating restores it', async () => {
    const { reseller, admin } = await tenant();
    const sub = await makeSubscriber(t.db, reseller.id, { name: 'Sleepy Co' });
    const login = await makeUser(t.db, 'subscriber', { resellerId: reseller.id, subscriberId: sub.id });
    const open = await Client.login(t.app, login.email);

    const off = await admin.submit(`/reseller/subscribers/${sub.id}/deactivate`, { confirm: 'yes' });
    assert.equal(off.status, 303);
    assert.match((await admin.get(off.headers.location as string)).text, /Sleepy Co is deactivated/);
    assert.equal((await t.db('subscribers').where({ id: sub.id }).first()).status, 'inactive');

    const kicked = await open.get('/me');
    assert.equal(kicked.status, 302);
    assert.match((await open.get('/login')).text, /This account is deactivated/);
    const refused = await Client.anonymous(t.app).submit('/login', { email: login.email, password: PASSWORD }, '/login');
    assert.equal(refused.status, 403);
    assert.match(refused.text, /This account is deactivated. Please contact your service provider./);

    const twice = await admin.submit(`/reseller/subscribers/${sub.id}/deactivate`, { confirm: 'yes' });
    assert.equal(twice.status, 303);
    assert.match((await admin.get(`/reseller/subscribers/${sub.id}`)).text, /already inactive/);

    const on = await admin.submit(`/reseller/subscribers/${sub.id}/activate`);
    assert.equal(on.status, 303);
    const back = await Client.login(t.app, login.email);
    assert.equal((await back.get('/me')).status, 200);

    const audit = await t.db('audit_log').where({ entity_type: 'subscriber', entity_id: sub.id }).orderBy('id');
    assert.deepEqual(audit.map((a) => [a.action, a.before.status, a.after.status]), [['deactivate', 'active', 'inactive'], ['activate', 'inactive', 'active']]);
  });

  test('search finds by name, account number and phone-number digits; the status filter narrows', async () => {
    const { reseller, admin } = await tenant();
    await makeSubscriber(t.db, reseller.id, { account_number: 'SR-ALPHA', name: 'Zebra Plumbing' }, ['+13125550142']);
    await makeSubscriber(t.db, reseller.id, { account_number: 'SR-BETA', name: 'Yak Bakery' }, ['+13125550143']);
    await makeSubscriber(t.db, reseller.id, { account_number: 'SR-GAMMA', name: 'Xylo Music', status: 'inactive' }, ['+13125550999']);
    const other = await makeReseller(t.db);
    await makeSubscriber(t.db, other.id, { account_number: 'SR-OTHER', name: 'Zebra Elsewhere' }, ['+13125550144']);

    const base = '/reseller/subscribers';
    const find = async (qs: string) => listedAccounts((await admin.get(`${base}?${qs}`)).text, base);
    assert.deepEqual(await find('q=zebra'), ['SR-ALPHA'], 'by name, case-insensitive, own reseller only');
    assert.deepEqual(await find('q=sr-be'), ['SR-BETA'], 'by account number');
    assert.deepEqual(await find(`q=${encodeURIComponent('555 0142')}`), ['SR-ALPHA'], 'by number digits, spaces ignored');
    assert.deepEqual(await find(`q=${encodeURIComponent('(312) 555-01')}`), ['SR-ALPHA', 'SR-BETA'], 'by partial number as typed');
    assert.deepEqual(await find('q=SR-&status=inactive'), ['SR-GAMMA']);
    assert.deepEqual(await find('q=SR-&status=active'), ['SR-ALPHA', 'SR-BETA']);
    assert.deepEqual(await find('status=bogus&q=SR-'), ['SR-ALPHA', 'SR-BETA', 'SR-GAMMA'], 'an unknown status is ignored');
    const none = await admin.get(`${base}?q=nothing-matches-this`);
    assert.match(none.text, /No subscribers match/);
  });

  test('the list pages by keyset: 25 then the rest, in account order, without overlap', async () => {
    const { reseller, admin } = await tenant();
    for (let i = 0; i < 30; i++) await makeSubscriber(t.db, reseller.id, { account_number: `PG-${String(i).padStart(2, '0')}` });
    const base = '/reseller/subscribers';
    const first = await admin.get(base);
    const one = listedAccounts(first.text, base);
    assert.equal(one.length, 25);
    assert.deepEqual(one, Array.from({ length: 25 }, (_, i) => `PG-${String(i).padStart(2, '0')}`));
    const next = /href="([^"]*cursor=[^"]+)" rel="next"/.exec(first.text)?.[1]?.replace(/&amp;/g, '&');
    assert.ok(next, 'a next-page link');
    const second = await admin.get(`${base}${next}`);
    assert.deepEqual(listedAccounts(second.text, base), ['PG-25', 'PG-26', 'PG-27', 'PG-28', 'PG-29']);
    assert.doesNotMatch(second.text, /rel="next"/);
    // A tampered cursor is a bad request (400) with a way back, not a server error.
    const tampered = await admin.get(`${base}?cursor=not-a-cursor`);
    assert.equal(tampered.status, 400);
    assert.match(tampered.text, /start again from the first page/);
  });

  test('the portal login can be set, then reset with a new password (old one stops working), audited', async () => {
    const { reseller, admin } = await tenant();
    const sub = await makeSubscriber(t.db, reseller.id, { name: 'Login Later LLC' });
    const page = await admin.get(`/reseller/subscribers/${sub.id}`);
    assert.match(page.text, /No portal login/);

    const short = await admin.submit(`/reseller/subscribers/${sub.id}/login`, { login_email: 'later@example.com', login_password: 'short' });
    assert.equal(short.status, 422);
    assert.match(short.text, /Password must be at least 12 characters/);

    const created = await admin.submit(`/reseller/subscribers/${sub.id}/login`, { login_email: 'later@example.com', login_password: LOGIN_PASSWORD });
    assert.equal(created.status, 303);
    assert.match((await admin.get(`/reseller/subscribers/${sub.id}`)).text, /Portal login later@example.com created/);
    const me = await Client.login(t.app, 'later@example.com', LOGIN_PASSWORD);
    assert.match((await me.get('/me')).text, /Login Later LLC/);

    const NEW = 'a-reset-portal-password';
    const reset = await admin.submit(`/reseller/subscribers/${sub.id}/login`, { login_email: 'later@example.com', login_password: NEW });
    assert.equal(reset.status, 303);
    assert.match((await admin.get(`/reseller/subscribers/${sub.id}`)).text, /Portal login updated with the new password/);
    assert.equal((await Client.anonymous(t.app).submit('/login', { email: 'later@example.com', password: LOGIN_PASSWORD }, '/login')).status, 401);
    await Client.login(t.app, 'later@example.com', NEW);
    assert.equal(await t.db('users').where({ subscriber_id: sub.id }).count<{ count: number }[]>('* as count').then((r) => Number(r[0]?.count)), 1, 'still one login');

    const taken = await makeUser(t.db, 'reseller_support', { resellerId: reseller.id });
    const dup = await admin.submit(`/reseller/subscribers/${sub.id}/login`, { login_email: taken.email, login_password: NEW });
    assert.equal(dup.status, 422);
    assert.match(dup.text, /A login with this email already exists/);

    const login = await t.db('users').where({ subscriber_id: sub.id }).first();
    const audit = await t.db('audit_log').where({ entity_type: 'user', entity_id: login.id }).orderBy('id');
    assert.deepEqual(audit.map((a) => a.action), ['create', 'password_reset']);
    assert.ok(!JSON.stringify(audit).includes(NEW) && !JSON.stringify(audit).includes(LOGIN_PASSWORD));
  });

  test("a reseller's people never reach another reseller's subscribers: 404, nothing changed", async () => {
    const a = await tenant();
    const otherReseller = await makeReseller(t.db);
    const theirs = await makeSubscriber(t.db, otherReseller.id, { name: 'Not Yours' }, ['+12125550160']);
    const n = await t.db('phone_numbers').where({ subscriber_id: theirs.id }).first();
    assert.equal((await a.admin.get(`/reseller/subscribers/${theirs.id}`)).status, 404);
    assert.equal((await a.admin.get(`/reseller/subscribers/${theirs.id}/edit`)).status, 404);
    assert.equal((await a.admin.submit(`/reseller/subscribers/${theirs.id}`, subscriberForm({ name: 'Hijacked' }))).status, 404);
    assert.equal((await a.admin.submit(`/reseller/subscribers/${theirs.id}/deactivate`)).status, 404);
    assert.equal((await a.admin.submit(`/reseller/subscribers/${theirs.id}/numbers`, { number: '2125550161' })).status, 404);
    assert.equal((await a.admin.submit(`/reseller/subscribers/${theirs.id}/numbers/${n.id}/release`)).status, 404);
    assert.equal((await a.admin.submit(`/reseller/subscribers/${theirs.id}/login`, { login_email: 'thief@example.com', login_password: LOGIN_PASSWORD })).status, 404);
    const row = await t.db('subscribers').where({ id: theirs.id }).first();
    assert.equal(row.name, 'Not Yours');
    assert.equal(row.status, 'active');
    assert.equal((await t.db('phone_numbers').where({ id: n.id }).first()).released_at, null);
    assert.equal(await t.db('users').where({ email: 'thief@example.com' }).first(), undefined);
    assert.deepEqual(listedAccounts((await a.admin.get('/reseller/subscribers?q=Not%20Yours')).text, '/reseller/subscribers'), []);
  });

  test('reseller support can look but not change: writes are refused and nothing is written', async () => {
    const { reseller } = await tenant();
    const sub = await makeSubscriber(t.db, reseller.id);
    const support = await Client.login(t.app, (await makeUser(t.db, 'reseller_support', { resellerId: reseller.id })).email);
    assert.equal((await support.get(`/reseller/subscribers/${sub.id}`)).status, 200);
    const res = await support.submit('/reseller/subscribers', subscriberForm({ account_number: 'SUP-1' }));
    assert.equal(res.status, 403);
    assert.equal((await support.submit(`/reseller/subscribers/${sub.id}/deactivate`)).status, 403);
    assert.equal(await t.db('subscribers').where({ reseller_id: reseller.id, account_number: 'SUP-1' }).first(), undefined);
    assert.equal((await t.db('subscribers').where({ id: sub.id }).first()).status, 'active');
  });

  test("the wholesale admin views a reseller's subscribers and one subscriber; a subscriber of another reseller under that URL is 404", async () => {
    const a = await tenant('Alpha Resale');
    const b = await tenant('Beta Resale');
    const subA = await makeSubscriber(t.db, a.reseller.id, { account_number: 'WA-1', name: 'Alpha Customer' }, ['+12125550170']);
    const subB = await makeSubscriber(t.db, b.reseller.id, { account_number: 'WB-1', name: 'Beta Customer' });
    const ws = await Client.login(t.app, (await makeUser(t.db, 'wholesale_admin')).email);

    const base = `/wholesale/resellers/${a.reseller.id}/subscribers`;
    const list = await ws.get(base);
    assert.equal(list.status, 200);
    assert.match(list.text, /Alpha Resale: subscribers/);
    assert.deepEqual(listedAccounts(list.text, base), ['WA-1']);
    assert.ok(!list.text.includes('Beta Customer'));

    const one = await ws.get(`${base}/${subA.id}`);
    assert.equal(one.status, 200);
    assert.match(one.text, /Alpha Customer/);
    assert.match(one.text, /\+12125550170/);
    assert.doesNotMatch(one.text, /Deactivate subscriber|Assign number|Create login/, 'the operator view is read only');

    assert.equal((await ws.get(`${base}/${subB.id}`)).status, 404, 'mismatched reseller and subscriber');
    assert.equal((await ws.get(`/wholesale/resellers/${b.reseller.id}/subscribers/${subA.id}`)).status, 404);
    assert.equal((await ws.get('/wholesale/resellers/999999/subscribers')).status, 404);
    assert.equal((await ws.get(`${base}/999999`)).status, 404);
    // Changes are the reseller's to make: the reseller portal is closed to operator staff.
    assert.equal((await ws.submit(`/reseller/subscribers/${subA.id}/deactivate`)).status, 403);
  });

  test("the reseller's audit page shows its own changes and never another reseller's", async () => {
    const a = await tenant();
    const b = await tenant();
    await ranges(a.reseller.id, '+12125550181');
    await ranges(b.reseller.id, '+12125550182');
    await a.admin.submit('/reseller/subscribers', subscriberForm({ account_number: 'AUD-A', name: 'Visible Alpha Audit', numbers: '2125550181' }));
    await b.admin.submit('/reseller/subscribers', subscriberForm({ account_number: 'AUD-B', name: 'Hidden Beta Audit', numbers: '2125550182' }));
    const subB = await t.db('subscribers').where({ reseller_id: b.reseller.id, account_number: 'AUD-B' }).first();
    await b.admin.submit(`/reseller/subscribers/${subB.id}/deactivate`, { confirm: 'yes' });

    const page = await a.admin.get('/reseller/audit');
    assert.equal(page.status, 200);
    assert.match(page.text, /Visible Alpha Audit/);
    assert.match(page.text, /\+12125550181/);
    assert.ok(!page.text.includes('Hidden Beta Audit'));
    assert.ok(!page.text.includes('+12125550182'));
    assert.ok(!page.text.includes(b.adminUser.email));
    // A reseller cannot widen its view with the operator's filter.
    const widened = await a.admin.get(`/reseller/audit?resellerId=${b.reseller.id}`);
    assert.ok(!widened.text.includes('Hidden Beta Audit'));
    // The filters work within the reseller's own rows.
    const onlyNumbers = await a.admin.get('/reseller/audit?entityType=phone_number');
    assert.match(onlyNumbers.text, /\+12125550181/);
    assert.doesNotMatch(onlyNumbers.text, /Visible Alpha Audit/);
    // The operator sees both.
    const ws = await Client.login(t.app, (await makeUser(t.db, 'wholesale_admin')).email);
    const all = await ws.get('/wholesale/audit');
    assert.match(all.text, /Hidden Beta Audit/);
    assert.match(all.text, /Visible Alpha Audit/);
  });
});
