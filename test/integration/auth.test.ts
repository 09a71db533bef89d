import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { checkTotp, currentTotp } from '../../src/modules/auth/totp';
import { createTestApp, type TestApp } from '../support/app';
import { makeReseller, makeSubscriber, makeUser, PASSWORD } from '../support/factories';
import { Client, csrfFrom } from '../support/http';

/** The value of the session cookie a response sets, if any. */
function sessionCookie(res: { headers: Record<string, unknown> }): string | undefined {
  const raw = res.headers['set-cookie'];
  const cookies = Array.isArray(raw) ? (raw as string[]) : typeof raw === 'string' ? [raw] : [];
  const hit = cookies.find((c) => c.startsWith('vb.sid='));
  return hit?.split(';')[0];
}

/** The session id inside a signed `vb.sid=s%3A<id>.<signature>` cookie. */
function sessionId(cookie: string): string {
  const value = decodeURIComponent(cookie.slice('vb.sid='.length));
  return value.slice(2, value.lastIndexOf('.'));
}

/** A 6-digit code that the secret does not accept now (nor one step either side). */
function wrongCode(secret: string): string {
  for (let n = Number(currentTotp(secret)) + 1; ; n++) {
    const code = String(n % 1_000_000).padStart(6, '0');
    if (!checkTotp(secret, code)) return code;
  }
}

/** Waits out the end of a 30 s TOTP window, so a test's codes all fall in one known step. */
async function freshTotpWindow(): Promise<void> {
  const left = 30_000 - (Date.now() % 30_000);
  if (left < 5_000) await new Promise((r) => setTimeout(r, left + 50));
}

/** The TOTP secret shown on the enrolment page. */
function secretFrom(html: string): string {
  const m = /data-testid="totp-secret">([A-Z2-7]+)</.exec(html);
  if (!m?.[1]) throw new Error('no TOTP secret on the page');
  return m[1];
}

describe('auth: login, sessions, passwords, two-factor, CSRF, headers', () => {
  let t: TestApp;

  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  test('login sends each role to its own portal home', async () => {
    const reseller = await makeReseller(t.db);
    const subscriber = await makeSubscriber(t.db, reseller.id);
    const cases = [
      [await makeUser(t.db, 'wholesale_admin'), '/wholesale'],
      [await makeUser(t.db, 'wholesale_support'), '/wholesale'],
      [await makeUser(t.db, 'reseller_admin', { resellerId: reseller.id }), '/reseller'],
      [await makeUser(t.db, 'reseller_support', { resellerId: reseller.id }), '/reseller'],
      [await makeUser(t.db, 'subscriber', { resellerId: reseller.id, subscriberId: subscriber.id }), '/me'],
    ] as const;
    for (const [user, home] of cases) {
      const c = Client.anonymous(t.app);
      const res = await c.submit('/login', { email: user.email, password: PASSWORD }, '/login');
      assert.equal(res.status, 303, user.role);
      assert.equal(res.headers.location, home, user.role);
      assert.equal((await c.get(home)).status, 200, user.role);
      const row = await t.db('users').where({ id: user.id }).first();
      assert.ok(row.last_login_at, `${user.role} last login recorded`);
    }
  });

  test('login is case-insensitive on the email', async () => {
    const u = await makeUser(t.db, 'wholesale_admin');
    const res = await Client.anonymous(t.app).submit('/login', { email: `  ${u.email.toUpperCase()} `, password: PASSWORD }, '/login');
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/wholesale');
  });

  test('a wrong password and an unknown email get the same 401 message', async () => {
    const u = await makeUser(t.db, 'reseller_admin', { resellerId: (await makeReseller(t.db)).id });
    const wrong = await Client.anonymous(t.app).submit('/login', { email: u.email, password: 'not the password at all' }, '/login');
    assert.equal(wrong.status, 401);
    assert.match(wrong.text, /Email or password is incorrect/);
    assert.match(wrong.text, new RegExp(`value="${u.email}"`), 'the email is kept');
    const unknown = await Client.anonymous(t.app).submit('/login', { email: 'nobody-here@example.com', password: 'whatever password' }, '/login');
    assert.equal(unknown.status, 401);
    assert.match(unknown.text, /Email or password is incorrect/);
    // Neither page says which part was wrong.
    for (const page of [wrong.text, unknown.text]) assert.doesNotMatch(page, /no such|unknown|not found/i);
  });

  test('an empty login form is refused with a message per field', async () => {
    const res = await Client.anonymous(t.app).submit('/login', { email: '', password: '' }, '/login');
    assert.equal(res.status, 422);
    assert.match(res.text, /Enter your email/);
    assert.match(res.text, /Enter your password/);
  });

  test('the session id changes at login, and the pre-login id is worthless afterwards', async () => {
    const u = await makeUser(t.db, 'wholesale_admin');
    const c = Client.anonymous(t.app);
    const page = await c.get('/login');
    const beforeLogin = sessionCookie(page);
    assert.ok(beforeLogin, 'the login page starts a session (it holds the CSRF token)');
    c.csrf = csrfFrom(page.text);
    const res = await c.submit('/login', { email: u.email, password: PASSWORD });
    assert.equal(res.status, 303);
    const afterLogin = sessionCookie(res);
    assert.ok(afterLogin, 'login sets a new session cookie');
    assert.notEqual(afterLogin, beforeLogin);
    // Someone holding the old cookie (session fixation) is not logged in.
    const fixated = await request(t.app).get('/wholesale').set('Cookie', beforeLogin);
    assert.equal(fixated.status, 302);
    assert.equal(fixated.headers.location, '/login');
    const owner = await request(t.app).get('/wholesale').set('Cookie', afterLogin);
    assert.equal(owner.status, 200);
  });

  test('logout ends the session: the page is gone and the old cookie no longer works', async () => {
    const u = await makeUser(t.db, 'wholesale_admin');
    const c = Client.anonymous(t.app);
    await c.get('/login').then((p) => (c.csrf = csrfFrom(p.text)));
    const login = await c.submit('/login', { email: u.email, password: PASSWORD });
    const cookie = sessionCookie(login) as string;
    await c.refreshCsrf();
    const sid = sessionId(cookie);
    assert.ok(await t.db('sessions').where({ sid }).first(), 'the session is stored in Postgres');
    const out = await c.submit('/logout');
    assert.equal(out.status, 303);
    assert.equal(out.headers.location, '/login');
    const home = await c.get('/wholesale');
    assert.equal(home.status, 302);
    assert.equal(home.headers.location, '/login');
    const replay = await request(t.app).get('/wholesale').set('Cookie', cookie);
    assert.equal(replay.status, 302, 'a copy of the cookie taken before logout is dead');
    assert.equal(await t.db('sessions').where({ sid }).first(), undefined, 'the session row is deleted');
  });

  test('a disabled login is refused with the "disabled" message even with the right password', async () => {
    const u = await makeUser(t.db, 'wholesale_support', { status: 'disabled' });
    const res = await Client.anonymous(t.app).submit('/login', { email: u.email, password: PASSWORD }, '/login');
    assert.equal(res.status, 403);
    assert.match(res.text, /This login has been disabled/);
    // A wrong password on a disabled login still says only "incorrect": status is not revealed to guessers.
    const wrong = await Client.anonymous(t.app).submit('/login', { email: u.email, password: 'a wrong password' }, '/login');
    assert.equal(wrong.status, 401);
    assert.doesNotMatch(wrong.text, /disabled/);
  });

  test('a login disabled while its session is open is logged out on the next request', async () => {
    const u = await makeUser(t.db, 'wholesale_support');
    const c = await Client.login(t.app, u.email);
    await t.db('users').where({ id: u.id }).update({ status: 'disabled' });
    const res = await c.get('/wholesale');
    assert.equal(res.status, 302);
    assert.equal(res.headers.location, '/login');
    const page = await c.get('/login');
    assert.match(page.text, /This login has been disabled/);
    assert.equal((await c.get('/wholesale')).status, 302);
  });

  describe('password change', () => {
    const NEW_PASSWORD = 'a brand new passphrase 42';

    test('a wrong current password is refused with a message and changes nothing', async () => {
      const u = await makeUser(t.db, 'wholesale_admin');
      const c = await Client.login(t.app, u.email);
      const hash = (await t.db('users').where({ id: u.id }).first()).password_hash;
      const res = await c.submit('/account/password', { current_password: 'not my password', new_password: NEW_PASSWORD, confirm_password: NEW_PASSWORD });
      assert.equal(res.status, 422);
      assert.match(res.text, /Current password is not correct/);
      assert.equal((await t.db('users').where({ id: u.id }).first()).password_hash, hash);
    });

    test('two different new passwords are refused', async () => {
      const u = await makeUser(t.db, 'wholesale_admin');
      const c = await Client.login(t.app, u.email);
      const res = await c.submit('/account/password', { current_password: PASSWORD, new_password: NEW_PASSWORD, confirm_password: `${NEW_PASSWORD}x` });
      assert.equal(res.status, 422);
      assert.match(res.text, /The two new passwords differ/);
      await Client.login(t.app, u.email); // the old one still works
    });

    test('a too-short new password is refused', async () => {
      const u = await makeUser(t.db, 'wholesale_admin');
      const c = await Client.login(t.app, u.email);
      const res = await c.submit('/account/password', { current_password: PASSWORD, new_password: 'short', confirm_password: 'short' });
      assert.equal(res.status, 422);
      assert.match(res.text, /Password must be at least 12 characters/);
    });

    test('a successful change retires the old password, the new one works, and it is audited as password_change', async () => {
      const r = await makeReseller(t.db);
      const sub = await makeSubscriber(t.db, r.id);
      // A subscriber may change their own password too.
      const u = await makeUser(t.db, 'subscriber', { resellerId: r.id, subscriberId: sub.id });
      const c = await Client.login(t.app, u.email);
      const res = await c.submit('/account/password', { current_password: PASSWORD, new_password: NEW_PASSWORD, confirm_password: NEW_PASSWORD });
      assert.equal(res.status, 303);
      assert.equal(res.headers.location, '/account');
      assert.match((await c.get('/account')).text, /Your password has been changed/);

      const old = await Client.anonymous(t.app).submit('/login', { email: u.email, password: PASSWORD }, '/login');
      assert.equal(old.status, 401);
      const fresh = await Client.login(t.app, u.email, NEW_PASSWORD);
      assert.equal((await fresh.get('/me')).status, 200);

      const audit = await t.db('audit_log').where({ entity_type: 'user', entity_id: u.id, action: 'password_change' });
      assert.equal(audit.length, 1);
      assert.equal(audit[0].actor_user_id, u.id);
      assert.equal(audit[0].reseller_id, r.id);
      assert.ok(!JSON.stringify(audit).includes(NEW_PASSWORD));
      assert.ok(!JSON.stringify(audit).includes('argon2'));
    });

    test('support roles, read-only elsewhere, may still change their own password', async () => {
      const u = await makeUser(t.db, 'reseller_support', { resellerId: (await makeReseller(t.db)).id });
      const c = await Client.login(t.app, u.email);
      const res = await c.submit('/account/password', { current_password: PASSWORD, new_password: NEW_PASSWORD, confirm_password: NEW_PASSWORD });
      assert.equal(res.status, 303);
      await Client.login(t.app, u.email, NEW_PASSWORD);
    });
  });

  describe('two-factor login (TOTP)', () => {
    test('enrolment: a wrong code is refused, the right code turns it on, and it is audited', async () => {
      const u = await makeUser(t.db, 'wholesale_admin');
      const c = await Client.login(t.app, u.email);
      const page = await c.get('/account/totp');
      assert.equal(page.status, 200);
      const secret = secretFrom(page.text);
      assert.match(page.text, /<img src="data:image\/png;base64,/, 'a QR code is shown');
      c.csrf = csrfFrom(page.text);

      const wrong = await c.submit('/account/totp', { code: wrongCode(secret) });
      assert.equal(wrong.status, 422);
      assert.match(wrong.text, /That code does not match/);
      assert.equal(secretFrom(wrong.text), secret, 'the same secret is offered again');
      assert.equal((await t.db('users').where({ id: u.id }).first()).totp_enabled_at, null);

      const right = await c.submit('/account/totp', { code: currentTotp(secret) });
      assert.equal(right.status, 303);
      assert.equal(right.headers.location, '/account');
      const row = await t.db('users').where({ id: u.id }).first();
      assert.ok(row.totp_enabled_at);
      assert.ok(row.totp_secret && !row.totp_secret.includes(secret), 'the secret is stored encrypted');
      const account = await c.get('/account');
      assert.match(account.text, /Two-factor login is on/);
      assert.equal((await c.get('/account/totp')).status, 302, 'no second enrolment while it is on');
      const audit = await t.db('audit_log').where({ entity_type: 'user', entity_id: u.id, action: 'totp_enable' });
      assert.equal(audit.length, 1);
      assert.ok(!JSON.stringify(audit).includes(secret));
    });

    test('with TOTP on, login asks for a code: a wrong or spent one gets 401, the right one logs in once; disabling needs the password', async () => {
      const u = await makeUser(t.db, 'reseller_admin', { resellerId: (await makeReseller(t.db)).id });
      const setup = await Client.login(t.app, u.email);
      await freshTotpWindow();
      const enrol = await setup.get('/account/totp');
      const secret = secretFrom(enrol.text);
      setup.csrf = csrfFrom(enrol.text);
      assert.equal((await setup.submit('/account/totp', { code: currentTotp(secret) })).status, 303);

      const c = Client.anonymous(t.app);
      const first = await c.submit('/login', { email: u.email, password: PASSWORD }, '/login');
      assert.equal(first.status, 303);
      assert.equal(first.headers.location, '/login/totp');
      // Password alone does not open the portal.
      const early = await c.get('/reseller');
      assert.equal(early.status, 302);
      assert.equal(early.headers.location, '/login');

      const step = await c.get('/login/totp');
      assert.equal(step.status, 200);
      c.csrf = csrfFrom(step.text);
      const bad = await c.submit('/login/totp', { code: wrongCode(secret) });
      assert.equal(bad.status, 401);
      assert.match(bad.text, /That code is not correct/);
      assert.equal((await c.get('/reseller')).status, 302);

      // The enrolment spent this time step's code; the authenticator's next code (accepted for clock drift) logs in.
      assert.equal((await c.submit('/login/totp', { code: currentTotp(secret) })).status, 401, 'a spent code is refused');
      const code = currentTotp(secret, Date.now() + 30_000);
      const good = await c.submit('/login/totp', { code });
      assert.equal(good.status, 303);
      assert.equal(good.headers.location, '/reseller');
      assert.equal((await c.get('/reseller')).status, 200);

      // The same code cannot be replayed for another login.
      const replay = Client.anonymous(t.app);
      assert.equal((await replay.submit('/login', { email: u.email, password: PASSWORD }, '/login')).status, 303);
      replay.csrf = csrfFrom((await replay.get('/login/totp')).text);
      assert.equal((await replay.submit('/login/totp', { code })).status, 401, 'a replayed code is refused');

      await c.refreshCsrf();
      const wrongPw = await c.submit('/account/totp/disable', { password: 'not my password' });
      assert.equal(wrongPw.status, 422);
      assert.match(wrongPw.text, /Password is not correct/);
      assert.ok((await t.db('users').where({ id: u.id }).first()).totp_enabled_at);

      const off = await c.submit('/account/totp/disable', { password: PASSWORD });
      assert.equal(off.status, 303);
      const row = await t.db('users').where({ id: u.id }).first();
      assert.equal(row.totp_enabled_at, null);
      assert.equal(row.totp_secret, null);
      const plain = await Client.anonymous(t.app).submit('/login', { email: u.email, password: PASSWORD }, '/login');
      assert.equal(plain.status, 303);
      assert.equal(plain.headers.location, '/reseller', 'no code asked once it is off');
      const actions = await t.db('audit_log').where({ entity_type: 'user', entity_id: u.id }).orderBy('id').pluck('action');
      assert.deepEqual(actions, ['totp_enable', 'totp_disable']);
    });

    test('the code step cannot be reached without first giving the password', async () => {
      const c = Client.anonymous(t.app);
      const page = await c.get('/login/totp');
      assert.equal(page.status, 302);
      assert.equal(page.headers.location, '/login');
      const post = await c.submit('/login/totp', { code: '123456' }, '/login');
      assert.equal(post.status, 303);
      assert.equal(post.headers.location, '/login');
    });

    test('subscribers cannot enrol TOTP (staff only)', async () => {
      const r = await makeReseller(t.db);
      const sub = await makeSubscriber(t.db, r.id);
      const u = await makeUser(t.db, 'subscriber', { resellerId: r.id, subscriberId: sub.id });
      const c = await Client.login(t.app, u.email);
      const account = await c.get('/account');
      assert.doesNotMatch(account.text, /Turn on two-factor login/);
      const page = await c.get('/account/totp');
      assert.equal(page.status, 302);
      assert.equal(page.headers.location, '/account');
      const post = await c.submit('/account/totp', { code: '123456' });
      assert.notEqual(post.status, 200);
      assert.equal((await t.db('users').where({ id: u.id }).first()).totp_enabled_at, null);
    });
  });

  describe('CSRF', () => {
    test('a form post without a token is refused with 403 and writes nothing', async () => {
      const u = await makeUser(t.db, 'wholesale_admin');
      const c = await Client.login(t.app, u.email);
      const res = await c.agent.post('/wholesale/users').type('form').send({ name: 'No Token', email: 'no-token@example.com', role: 'wholesale_support', password: 'a-long-enough-password' });
      assert.equal(res.status, 403);
      assert.match(res.text, /This form has expired or was not sent by this site/);
      assert.equal(await t.db('users').where({ email: 'no-token@example.com' }).first(), undefined);
    });

    test("a form post with a wrong token (or another session's token) is refused with 403 and writes nothing", async () => {
      const u = await makeUser(t.db, 'wholesale_admin');
      const c = await Client.login(t.app, u.email);
      const other = await Client.login(t.app, (await makeUser(t.db, 'wholesale_admin')).email);
      const form = { name: 'Bad Token', email: 'bad-token@example.com', role: 'wholesale_support', password: 'a-long-enough-password' };
      const forged = await c.agent.post('/wholesale/users').type('form').send({ ...form, _csrf: 'forged-token-value' });
      assert.equal(forged.status, 403);
      const borrowed = await c.agent.post('/wholesale/users').type('form').send({ ...form, _csrf: other.csrf });
      assert.equal(borrowed.status, 403);
      assert.equal(await t.db('users').where({ email: 'bad-token@example.com' }).first(), undefined);
      // The same form with the session's own token goes through.
      const ok = await c.submit('/wholesale/users', form);
      assert.equal(ok.status, 303);
    });

    test('the login form itself needs the token', async () => {
      const u = await makeUser(t.db, 'wholesale_admin');
      const res = await request(t.app).post('/login').type('form').send({ email: u.email, password: PASSWORD });
      assert.equal(res.status, 403);
      assert.match(res.text, /This form has expired/);
      const cookie = sessionCookie(res);
      if (cookie) assert.equal((await request(t.app).get('/wholesale').set('Cookie', cookie)).status, 302, 'the session it got is not logged in');
      assert.equal((await t.db('users').where({ id: u.id }).first()).last_login_at, null);
    });

    test('logout without a token does not end the session', async () => {
      const u = await makeUser(t.db, 'wholesale_admin');
      const c = await Client.login(t.app, u.email);
      const res = await c.agent.post('/logout').type('form').send({});
      assert.equal(res.status, 403);
      assert.equal((await c.get('/wholesale')).status, 200);
    });
  });

  test('changing one\'s own password ends every other session of that login and keeps this one', async () => {
    const u = await makeUser(t.db, 'wholesale_admin');
    const here = await Client.login(t.app, u.email);
    const elsewhere = await Client.login(t.app, u.email);
    const bystander = await Client.login(t.app, (await makeUser(t.db, 'wholesale_admin')).email);
    const res = await here.submit('/account/password', { current_password: PASSWORD, new_password: 'a-new-password-for-me', confirm_password: 'a-new-password-for-me' });
    assert.equal(res.status, 303);
    assert.equal((await here.get('/wholesale')).status, 200, 'the session that changed it stays');
    const gone = await elsewhere.get('/wholesale');
    assert.equal(gone.status, 302, 'the other session is over');
    assert.equal(gone.headers.location, '/login');
    assert.equal((await bystander.get('/wholesale')).status, 200, 'another login\'s session is untouched');
  });

  test('an admin resetting someone\'s password ends every session of that login', async () => {
    const admin = await Client.login(t.app, (await makeUser(t.db, 'wholesale_admin')).email);
    const u = await makeUser(t.db, 'wholesale_support');
    const victim = await Client.login(t.app, u.email);
    const other = await Client.login(t.app, u.email);
    const res = await admin.submit(`/wholesale/users/${u.id}`, { name: 'Reset Person', email: u.email, role: u.role, status: 'active', password: 'a-reset-password-1' });
    assert.equal(res.status, 303);
    for (const c of [victim, other]) assert.equal((await c.get('/wholesale')).status, 302, 'logged out by the reset');
    assert.equal((await admin.get('/wholesale')).status, 200, 'the admin stays logged in');
    await Client.login(t.app, u.email, 'a-reset-password-1');
  });

  test('security headers: CSP with frame-ancestors, nosniff, no X-Powered-By; no HSTS over plain HTTP', async () => {
    for (const path of ['/login', '/healthz', '/no-such-page']) {
      const res = await request(t.app).get(path);
      const csp = res.headers['content-security-policy'] as string | undefined;
      assert.ok(csp, `${path}: CSP`);
      assert.match(csp, /default-src 'self'/);
      assert.ok(/frame-ancestors 'none'/.test(csp) || res.headers['x-frame-options'], `${path}: framing refused`);
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      assert.equal(res.headers['x-powered-by'], undefined);
      assert.equal(res.headers['strict-transport-security'], undefined);
      assert.ok(res.headers['x-request-id'], `${path}: request id`);
    }
    const page = await request(t.app).get('/login');
    assert.match(String(page.headers['set-cookie']), /HttpOnly/);
    assert.match(String(page.headers['set-cookie']), /SameSite=Lax/);
  });

  test('/healthz answers {status: "ok"} without a login', async () => {
    const res = await request(t.app).get('/healthz');
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'ok');
    assert.equal(res.headers['set-cookie'], undefined, 'no session for health checks');
  });
});

describe('auth: login throttling', () => {
  // A fresh app per test: the counters live in the app, so each test starts from zero.
  const limits = { LOGIN_MAX_FAILURES_PER_ACCOUNT: '3', LOGIN_MAX_FAILURES_PER_ADDRESS: '5' };
  const apps: TestApp[] = [];
  const throttledApp = async () => {
    const app = await createTestApp(limits);
    apps.push(app);
    return app;
  };
  after(async () => {
    for (const a of apps) await a.close();
  });

  test('after 3 failures on one account even the right password gets 429 with the account message; other accounts are unaffected', async () => {
    const t = await throttledApp();
    const u = await makeUser(t.db, 'wholesale_admin');
    const bystander = await makeUser(t.db, 'wholesale_admin');
    for (let i = 0; i < 3; i++) {
      const res = await Client.anonymous(t.app).submit('/login', { email: u.email, password: `wrong ${i}` }, '/login');
      assert.equal(res.status, 401, `attempt ${i + 1}`);
    }
    const blocked = await Client.anonymous(t.app).submit('/login', { email: u.email, password: PASSWORD }, '/login');
    assert.equal(blocked.status, 429);
    assert.match(blocked.text, /Too many failed logins for this account/);
    assert.match(blocked.text, /Try again in 15 minutes/);
    // The email's case does not open a second counter.
    const upper = await Client.anonymous(t.app).submit('/login', { email: u.email.toUpperCase(), password: PASSWORD }, '/login');
    assert.equal(upper.status, 429);
    // Another account from the same address (3 failures so far, limit 5) still logs in.
    await Client.login(t.app, bystander.email);
  });

  test('a success before the limit resets the account count', async () => {
    const t = await throttledApp();
    const u = await makeUser(t.db, 'wholesale_admin');
    for (let i = 0; i < 2; i++) await Client.anonymous(t.app).submit('/login', { email: u.email, password: 'wrong' }, '/login');
    await Client.login(t.app, u.email);
    for (let i = 0; i < 2; i++) {
      const res = await Client.anonymous(t.app).submit('/login', { email: u.email, password: 'wrong' }, '/login');
      assert.equal(res.status, 401);
    }
    await Client.login(t.app, u.email);
  });

  test('after 5 failures from one address across different emails, every login from it gets 429 with the address message', async () => {
    const t = await throttledApp();
    const u = await makeUser(t.db, 'wholesale_admin');
    for (let i = 0; i < 5; i++) {
      const res = await Client.anonymous(t.app).submit('/login', { email: `guess-${i}@example.com`, password: 'guess' }, '/login');
      assert.equal(res.status, 401, `attempt ${i + 1}`);
    }
    const blocked = await Client.anonymous(t.app).submit('/login', { email: u.email, password: PASSWORD }, '/login');
    assert.equal(blocked.status, 429);
    assert.match(blocked.text, /Too many failed logins from your address/);
  });

  test('wrong TOTP codes count as failures for the account', async () => {
    const t = await throttledApp();
    const u = await makeUser(t.db, 'wholesale_admin');
    const setup = await Client.login(t.app, u.email);
    const enrol = await setup.get('/account/totp');
    const secret = secretFrom(enrol.text);
    setup.csrf = csrfFrom(enrol.text);
    assert.equal((await setup.submit('/account/totp', { code: currentTotp(secret) })).status, 303);

    const c = Client.anonymous(t.app);
    assert.equal((await c.submit('/login', { email: u.email, password: PASSWORD }, '/login')).status, 303);
    const step = await c.get('/login/totp');
    c.csrf = csrfFrom(step.text);
    for (let i = 0; i < 3; i++) assert.equal((await c.submit('/login/totp', { code: wrongCode(secret) })).status, 401);
    const blocked = await c.submit('/login/totp', { code: currentTotp(secret, Date.now() + 30_000) });
    assert.equal(blocked.status, 429);
    assert.match(blocked.text, /Too many wrong codes for this account/);
    assert.equal((await c.get('/wholesale')).status, 302);
  });

  test('a correct password does not reset the count of wrong codes: one wrong code after each of three logins, then 429 even for the right code', async () => {
    const t = await throttledApp();
    const u = await makeUser(t.db, 'wholesale_admin');
    const setup = await Client.login(t.app, u.email);
    const enrol = await setup.get('/account/totp');
    const secret = secretFrom(enrol.text);
    setup.csrf = csrfFrom(enrol.text);
    assert.equal((await setup.submit('/account/totp', { code: currentTotp(secret) })).status, 303);

    // Three wrong codes in all (the account limit), each after a fresh, correct password (under
    // the address limit of 5): the password's success must not hand out new guesses at the code.
    for (let i = 0; i < 3; i++) {
      const c = Client.anonymous(t.app);
      assert.equal((await c.submit('/login', { email: u.email, password: PASSWORD }, '/login')).status, 303, `password ${i + 1}`);
      c.csrf = csrfFrom((await c.get('/login/totp')).text);
      assert.equal((await c.submit('/login/totp', { code: wrongCode(secret) })).status, 401, `code ${i + 1}`);
    }
    const c = Client.anonymous(t.app);
    assert.equal((await c.submit('/login', { email: u.email, password: PASSWORD }, '/login')).status, 303);
    c.csrf = csrfFrom((await c.get('/login/totp')).text);
    const blocked = await c.submit('/login/totp', { code: currentTotp(secret, Date.now() + 30_000) });
    assert.equal(blocked.status, 429);
    assert.match(blocked.text, /Too many wrong codes for this account/);
  });

  test('wrong current passwords on /account/password are throttled per login: after 3, even the right one gets 429 and nothing changes', async () => {
    const t = await throttledApp();
    const u = await makeUser(t.db, 'wholesale_admin');
    const c = await Client.login(t.app, u.email);
    const change = (current: string) => c.submit('/account/password', { current_password: current, new_password: 'a-new-password-x', confirm_password: 'a-new-password-x' });
    for (let i = 0; i < 3; i++) assert.equal((await change(`guess ${i}`)).status, 422, `guess ${i + 1}`);
    const hash = (await t.db('users').where({ id: u.id }).first()).password_hash;
    const blocked = await change(PASSWORD);
    assert.equal(blocked.status, 429);
    assert.match(blocked.text, /Too many wrong passwords/);
    assert.equal((await t.db('users').where({ id: u.id }).first()).password_hash, hash, 'the password is not changed');
    // Turning two-factor off asks for the password too: the same count.
    assert.equal((await c.submit('/account/totp/disable', { password: PASSWORD })).status, 429);
  });
});
