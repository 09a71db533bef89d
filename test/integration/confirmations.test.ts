/**
 * Hard-to-undo actions ask first: the form posted without confirm=yes answers a page that says
 * what will happen (and changes nothing); the page's own form, posted, does it; support roles are
 * refused before any such page.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, type TestApp } from '../support/app';
import { makeCallLeg, makeTenants, makeUser } from '../support/factories';
import { Client } from '../support/http';

type Fixture = Awaited<ReturnType<typeof makeTenants>>;

/** The confirmation page's form: where it posts and the fields it carries (hidden inputs). */
function confirmForm(html: string): { action: string; fields: Array<[string, string]> } {
  const section = /<section class="card confirm"[\s\S]*?<\/section>/.exec(html)?.[0];
  assert.ok(section, 'no confirmation page');
  const unescape = (s: string) => s.replace(/&#34;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  const action = unescape(/<form method="post" action="([^"]+)"/.exec(section)?.[1] ?? '');
  const fields = [...section.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [m[1], unescape(m[2] as string)] as [string, string]);
  return { action, fields };
}

/** Posts the confirmation page's form as a browser would (the button). */
async function pressConfirm(c: Client, page: { text: string }) {
  const { action, fields } = confirmForm(page.text);
  assert.ok(fields.some(([k, v]) => k === 'confirm' && v === 'yes'));
  const body = fields.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  return c.agent.post(action).type('form').send(body);
}

const consequences = (html: string) =>
  [...(/<ul class="consequences"[\s\S]*?<\/ul>/.exec(html)?.[0] ?? '').matchAll(/<li>([\s\S]*?)<\/li>/g)].map((m) => (m[1] as string).replace(/&#39;/g, "'"));

describe('confirmations', () => {
  let t: TestApp;
  let fx: Fixture;
  let operator: Client;
  let operatorSupport: Client;
  let admin: Client;
  let support: Client;

  before(async () => {
    t = await createTestApp();
    fx = await makeTenants(t.db);
    operator = await Client.login(t.app, fx.wholesaleAdmin.email);
    operatorSupport = await Client.login(t.app, fx.wholesaleSupport.email);
    admin = await Client.login(t.app, fx.a.admin.email);
    support = await Client.login(t.app, fx.a.support.email);
  });
  after(() => t?.close());

  const auditCount = async () => Number((await t.db('audit_log').count<{ n: number }[]>('* as n'))[0]?.n);

  test('deactivating a reseller asks first, saying whose logins stop and that calls will be blocked', async () => {
    const id = fx.b.reseller.id;
    const audits = await auditCount();
    const ask = await operator.submit(`/wholesale/resellers/${id}/deactivate`, {}, `/wholesale/resellers/${id}`);
    assert.equal(ask.status, 200);
    const said = consequences(ask.text);
    assert.match(said[0] ?? '', new RegExp(`Deactivating ${fx.b.reseller.name} suspends its 1 active subscriber and stops 3 logins`));
    assert.match(said.join(' '), /new calls will be stored as blocked/);
    assert.equal((await t.db('resellers').where({ id }).first()).status, 'active', 'nothing changed before the confirmation');
    assert.equal(await auditCount(), audits);

    const refused = await operatorSupport.submit(`/wholesale/resellers/${id}/deactivate`, {}, `/wholesale/resellers/${id}`);
    assert.equal(refused.status, 403);
    assert.doesNotMatch(refused.text, /data-testid="confirm"/);

    const done = await pressConfirm(operator, ask);
    assert.equal(done.status, 303);
    assert.equal((await t.db('resellers').where({ id }).first()).status, 'inactive');
    // Reactivating restores, and asks nothing.
    assert.equal((await operator.submit(`/wholesale/resellers/${id}/activate`)).status, 303);
    assert.equal((await t.db('resellers').where({ id }).first()).status, 'active');
  });

  test('deactivating a subscriber asks first, naming its login and numbers', async () => {
    const id = fx.a.subscriber.id;
    const ask = await admin.submit(`/reseller/subscribers/${id}/deactivate`, {}, `/reseller/subscribers/${id}`);
    assert.equal(ask.status, 200);
    const said = consequences(ask.text).join(' ');
    assert.match(said, new RegExp(`stops its portal login \\(${fx.a.subscriberUser.email}\\)`));
    assert.match(said, new RegExp(`New calls of its 1 number \\(\\${fx.a.number.number}\\) will be stored as blocked`));
    assert.equal((await t.db('subscribers').where({ id }).first()).status, 'active');

    const refused = await support.submit(`/reseller/subscribers/${id}/deactivate`, {}, `/reseller/subscribers/${id}`);
    assert.equal(refused.status, 403);
    assert.doesNotMatch(refused.text, /data-testid="confirm"/);

    assert.equal((await pressConfirm(admin, ask)).status, 303);
    assert.equal((await t.db('subscribers').where({ id }).first()).status, 'inactive');
    assert.equal((await admin.submit(`/reseller/subscribers/${id}/activate`)).status, 303);
  });

  test('releasing a number asks first; another subscriber’s number is not found, not asked about', async () => {
    const { subscriber, number } = fx.a;
    const path = `/reseller/subscribers/${subscriber.id}/numbers/${number.id}/release`;
    const ask = await admin.submit(path, {}, `/reseller/subscribers/${subscriber.id}`);
    assert.equal(ask.status, 200);
    assert.match(consequences(ask.text)[0] ?? '', new RegExp(`Releasing \\${number.number} takes it from ${subscriber.account_number}`));
    assert.equal((await t.db('phone_numbers').where({ id: number.id }).first()).released_at, null);

    assert.equal((await support.submit(path, {}, `/reseller/subscribers/${subscriber.id}`)).status, 403);
    assert.equal((await admin.submit(`/reseller/subscribers/${subscriber.id}/numbers/${fx.b.number.id}/release`)).status, 404);

    assert.equal((await pressConfirm(admin, ask)).status, 303);
    assert.notEqual((await t.db('phone_numbers').where({ id: number.id }).first()).released_at, null);
  });

  test('issuing a new platform credential asks first, saying the current one stops working', async () => {
    const id = fx.platform.id;
    const hash = async () => (await t.db('platforms').where({ id }).first()).credential_hash;
    const old = await hash();
    const ask = await operator.submit(`/wholesale/platforms/${id}/rotate`, {}, `/wholesale/platforms/${id}`);
    assert.equal(ask.status, 200);
    assert.match(consequences(ask.text)[0] ?? '', /stops working at once: its posts are refused \(401\)/);
    assert.equal(await hash(), old);

    assert.equal((await operatorSupport.submit(`/wholesale/platforms/${id}/rotate`, {}, `/wholesale/platforms/${id}`)).status, 403);
    assert.equal(await hash(), old);

    const done = await pressConfirm(operator, ask);
    assert.equal(done.status, 200);
    assert.match(done.text, /plt_/, 'the new credential, shown once');
    assert.notEqual(await hash(), old);
  });

  test('deactivating a platform on its form asks first and keeps the form’s other changes', async () => {
    const id = fx.platform.id;
    const form = { name: 'renamed-switch', format: 'generic-json', time_zone: 'UTC', country_code: '1', allowed_sources: '', trunk_carriers: '', active: '' };
    const ask = await operator.submit(`/wholesale/platforms/${id}`, form, `/wholesale/platforms/${id}/edit`);
    assert.equal(ask.status, 200);
    assert.match(consequences(ask.text)[0] ?? '', /is refused \(403\) and not stored/);
    assert.equal((await t.db('platforms').where({ id }).first()).active, true);

    assert.equal((await pressConfirm(operator, ask)).status, 303);
    const row = await t.db('platforms').where({ id }).first();
    assert.deepEqual([row.active, row.name], [false, 'renamed-switch']);
    // Making it active again asks nothing.
    assert.equal((await operator.submit(`/wholesale/platforms/${id}`, { ...form, active: 'on' })).status, 303);
    assert.equal((await t.db('platforms').where({ id }).first()).active, true);
  });

  test('disabling a staff login asks first; the typed password is not carried in the page', async () => {
    const u = await makeUser(t.db, 'reseller_support', { resellerId: fx.a.reseller.id });
    const form = { name: 'Pat Support', email: u.email, role: 'reseller_support', status: 'disabled', password: 'a brand new password 123' };
    const ask = await admin.submit(`/reseller/users/${u.id}`, form, `/reseller/users/${u.id}/edit`);
    assert.equal(ask.status, 200);
    assert.match(consequences(ask.text)[0] ?? '', /can no longer log in/);
    assert.doesNotMatch(ask.text, /a brand new password 123/);
    assert.match(ask.text, /not carried over/);
    assert.equal((await t.db('users').where({ id: u.id }).first()).status, 'active');

    assert.equal((await pressConfirm(admin, ask)).status, 303);
    const row = await t.db('users').where({ id: u.id }).first();
    assert.deepEqual([row.status, row.name], ['disabled', 'Pat Support']);
  });

  test('re-rating every call of a period asks first with the count and the filter in words', async () => {
    const leg = await makeCallLeg(t.db, { platformId: fx.platform.id, resellerId: fx.a.reseller.id, subscriberId: fx.a.subscriber.id, startAt: new Date('2026-12-03T10:00:00Z') });
    const filter = { from: '2026-12-03', to: '2026-12-03', reseller: String(fx.a.reseller.id) };
    const audits = await auditCount();
    const ask = await operator.submit('/wholesale/calls/rerate', filter, '/wholesale/calls');
    assert.equal(ask.status, 200);
    const said = consequences(ask.text);
    assert.match(said[0] ?? '', new RegExp(`every one of the 1 call matching 2026-12-03 to 2026-12-03 \\(days in UTC\\), reseller ${fx.a.reseller.name} \\(${fx.a.reseller.code}\\), rated ones included`));
    assert.match(said[1] ?? '', /replaced by the new ones/);
    assert.equal(await auditCount(), audits, 'nothing re-rated yet');
    assert.equal((await t.db('call_legs').where({ id: leg.id }).first()).status, 'rated');

    assert.equal((await operatorSupport.submit('/wholesale/calls/rerate', filter, '/wholesale/calls')).status, 403);

    assert.equal((await pressConfirm(operator, ask)).status, 303);
    const rerun = await t.db('audit_log').where({ action: 'rerate' }).orderBy('id', 'desc').first();
    assert.equal(rerun?.after?.total, 1);
  });

  test('re-rating the unrated calls matching a filter asks first; ticked calls do not', async () => {
    const unrated = (startAt: Date) => makeCallLeg(t.db, { platformId: fx.platform.id, resellerId: fx.a.reseller.id, subscriberId: fx.a.subscriber.id, status: 'unrated', startAt });
    await unrated(new Date('2026-12-04T10:00:00Z'));
    const filter = { from: '2026-12-04', to: '2026-12-04', mode: 'filter' };
    const reruns = async () => Number((await t.db('audit_log').where({ action: 'rerate' }).count<{ n: number }[]>('* as n'))[0]?.n);
    const before = await reruns();
    const ask = await admin.submit('/reseller/unrated/rerate', filter, '/reseller/unrated');
    assert.equal(ask.status, 200);
    assert.match(consequences(ask.text)[0] ?? '', /the 1 unrated or blocked call matching 2026-12-04 to 2026-12-04/);
    assert.equal(await reruns(), before);

    assert.equal((await support.submit('/reseller/unrated/rerate', filter, '/reseller/unrated')).status, 403);

    assert.equal((await pressConfirm(admin, ask)).status, 303);
    assert.equal(await reruns(), before + 1);

    // Re-rated, the leg above has no holder any more (its number is a random one): tick another.
    const leg = await unrated(new Date('2026-12-05T10:00:00Z'));
    const ticked = await admin.submit('/reseller/unrated/rerate', { mode: 'selected', ids: String(leg.id) }, '/reseller/unrated');
    assert.equal(ticked.status, 303, 'a choice of ticked calls is its own confirmation');
    assert.equal(await reruns(), before + 2);
  });
});
