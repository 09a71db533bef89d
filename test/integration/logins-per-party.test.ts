/**
 * An email is unique within its party, not across the product (DOMAIN.md: "Logins"): the same
 * email may sign in to the operator, a reseller and a subscriber account, each with its password.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { hashPassword } from '../../src/modules/auth/passwords';
import { createTestApp, type TestApp } from '../support/app';
import { makeReseller, makeSubscriber, makeUser } from '../support/factories';
import { Client } from '../support/http';

function text(html: string): string {
  return html.replace(/&#34;|&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

describe('logins: one email in several parties', () => {
  let t: TestApp;

  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  /** The same email as an operator's login, a reseller admin of `Alpha…`, and a subscriber login of `Beta…`. */
  async function samePerson(email: string, passwords: { operator: string; alpha: string; beta: string }) {
    const alpha = await makeReseller(t.db, { name: `Alpha ${email}` });
    const beta = await makeReseller(t.db, { name: `Beta ${email}` });
    const betaSub = await makeSubscriber(t.db, beta.id, { name: `Beta Customer ${email}` });
    const gamma = await makeReseller(t.db, { name: `Gamma ${email}` });
    const operator = await makeUser(t.db, 'wholesale_support', { email });
    const alphaAdmin = await makeUser(t.db, 'reseller_admin', { resellerId: alpha.id, email });
    const betaLogin = await makeUser(t.db, 'subscriber', { resellerId: beta.id, subscriberId: betaSub.id, email });
    // A third reseller's login with the email and another password: never listed.
    const gammaAdmin = await makeUser(t.db, 'reseller_admin', { resellerId: gamma.id, email });
    await t.db('users').where({ id: gammaAdmin.id }).update({ password_hash: await hashPassword('gamma-only-password-77') });
    for (const [u, p] of [[operator, passwords.operator], [alphaAdmin, passwords.alpha], [betaLogin, passwords.beta]] as const) {
      await t.db('users').where({ id: u.id }).update({ password_hash: await hashPassword(p) });
    }
    return { alpha, beta, gamma, betaSub, operator, alphaAdmin, betaLogin };
  }

  const logIn = async (email: string, password: string) => {
    const c = Client.anonymous(t.app);
    const res = await c.submit('/login', { email, password }, '/login');
    return { c, res };
  };

  test('one password each: each password signs in to its own login', async () => {
    const p = await samePerson('multi@example.com', { operator: 'operator-password-1', alpha: 'alpha-password-22', beta: 'beta-password-333' });
    const asOperator = await logIn('Multi@Example.com', 'operator-password-1');
    assert.equal(asOperator.res.status, 303);
    assert.equal(asOperator.res.headers.location, '/wholesale');
    const asAlpha = await logIn('multi@example.com', 'alpha-password-22');
    assert.equal(asAlpha.res.headers.location, '/reseller');
    assert.match((await asAlpha.c.get('/reseller')).text, new RegExp(p.alpha.name));
    const asBeta = await logIn('multi@example.com', 'beta-password-333');
    assert.equal(asBeta.res.headers.location, '/me');
    assert.match((await asBeta.c.get('/me')).text, new RegExp(p.betaSub.name));
    // A password of none of them: the answer for an email that exists nowhere.
    const wrong = await logIn('multi@example.com', 'none-of-these-passwords');
    const nobody = await logIn('nobody-at-all@example.com', 'none-of-these-passwords');
    assert.equal(wrong.res.status, 401);
    assert.equal(nobody.res.status, 401);
    assert.match(text(wrong.res.text), /Email or password is incorrect\./);
    // The same page but for the token and the email typed back into the form.
    const form = (html: string) => text(html).replace(/(value|content)="[^"]*"/g, '');
    assert.equal(form(wrong.res.text), form(nobody.res.text));
  });

  test('one password for several: a page to choose between the logins it opens (and only those), then in as the chosen one', async () => {
    const p = await samePerson('same-pass@example.com', { operator: 'shared-password-44', alpha: 'shared-password-44', beta: 'shared-password-44' });
    const { c, res } = await logIn('same-pass@example.com', 'shared-password-44');
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/login/choose');
    const page = await c.get('/login/choose');
    assert.equal(page.status, 200);
    const shown = text(page.text);
    assert.match(shown, /Choose the account/);
    assert.match(shown, /The operator/);
    assert.match(shown, new RegExp(p.alpha.name));
    assert.match(shown, new RegExp(`${p.betaSub.name} at ${p.beta.name}`));
    assert.ok(!shown.includes(p.gamma.name), 'a login the password does not open is not listed');
    // Not logged in yet.
    assert.equal((await c.get('/reseller')).status, 302);

    // Only the listed logins can be chosen.
    c.csrf = (/name="_csrf" value="([^"]+)"/.exec(page.text) as RegExpExecArray)[1] as string;
    const gammaAdmin = await t.db('users').where({ reseller_id: p.gamma.id }).first();
    const forged = await c.submit('/login/choose', { user_id: String(gammaAdmin.id) });
    assert.equal(forged.status, 422);
    assert.equal((await c.get('/reseller')).status, 302);
    const chosen = await c.submit('/login/choose', { user_id: String(p.alphaAdmin.id) });
    assert.equal(chosen.status, 303);
    assert.equal(chosen.headers.location, '/reseller');
    const home = await c.get('/reseller');
    assert.equal(home.status, 200);
    assert.match(home.text, new RegExp(p.alpha.name));
    // The choice is spent.
    assert.equal((await Client.anonymous(t.app).get('/login/choose')).headers.location, '/login');
  });

  test('the chosen login still needs its second factor, and a deactivated reseller is refused as usual', async () => {
    const p = await samePerson('choose-2fa@example.com', { operator: 'shared-password-55', alpha: 'shared-password-55', beta: 'shared-password-55' });
    await t.db('users').where({ id: p.operator.id }).update({ totp_secret: 'x', totp_enabled_at: new Date() });
    const first = await logIn('choose-2fa@example.com', 'shared-password-55');
    const page = await first.c.get('/login/choose');
    first.c.csrf = (/name="_csrf" value="([^"]+)"/.exec(page.text) as RegExpExecArray)[1] as string;
    const totp = await first.c.submit('/login/choose', { user_id: String(p.operator.id) });
    assert.equal(totp.status, 303);
    assert.equal(totp.headers.location, '/login/totp');
    assert.equal((await first.c.get('/wholesale')).status, 302, 'not in before the code');

    await t.db('resellers').where({ id: p.alpha.id }).update({ status: 'inactive' });
    const second = await logIn('choose-2fa@example.com', 'shared-password-55');
    const page2 = await second.c.get('/login/choose');
    second.c.csrf = (/name="_csrf" value="([^"]+)"/.exec(page2.text) as RegExpExecArray)[1] as string;
    const refused = await second.c.submit('/login/choose', { user_id: String(p.alphaAdmin.id) });
    assert.equal(refused.status, 403);
    assert.equal((await second.c.get('/reseller')).status, 302);
  });
});
