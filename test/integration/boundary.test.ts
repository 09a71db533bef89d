/**
 * The boundary (issue 10, part 4; docs/ARCHITECTURE.md, "The boundary"): errors by content type (HTML
 * pages for people, RFC 9457 problem details for programs), and the machine API at /api/v1 mounted
 * like the intake: bearer keys, no session, no CSRF, no login redirect, no HTML.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Response } from 'supertest';
import request from 'supertest';
import { findLoginById } from '../../src/modules/users/users.repository';
import { toPrincipal } from '../../src/web/passport';
import { createTestApp, type TestApp } from '../support/app';
import { makeTenants } from '../support/factories';
import { Client } from '../support/http';

type Fixture = Awaited<ReturnType<typeof makeTenants>>;

/** An answer in RFC 9457's media type, with its five members as they must be. */
function assertProblem(res: Response, status: number, instance: string): Record<string, unknown> {
  assert.equal(res.status, status, res.text);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  const body = JSON.parse(res.text) as Record<string, unknown>;
  assert.equal(body.status, status);
  assert.equal(typeof body.type, 'string');
  assert.equal(typeof body.title, 'string');
  assert.equal(typeof body.detail, 'string');
  assert.equal(body.instance, instance);
  return body;
}

function assertNoSession(res: Response): void {
  assert.equal(res.headers['set-cookie'], undefined, `${res.status}: the API must not set or renew a session cookie`);
}

describe('the API router at /api/v1, as shipped (no API keys yet)', () => {
  let t: TestApp;
  let fx: Fixture;
  before(async () => {
    t = await createTestApp();
    fx = await makeTenants(t.db);
  });
  after(() => t.close());

  test('GET /api/v1/ without a key: 401 problem details with a Bearer challenge, no session cookie, no HTML', async () => {
    for (const path of ['/api/v1/', '/api/v1']) {
      const res = await request(t.app).get(path).set('Accept', 'text/html');
      const body = assertProblem(res, 401, path);
      assert.equal(body.type, 'about:blank');
      assert.equal(body.title, 'Unauthorized');
      assert.equal(res.headers['www-authenticate'], 'Bearer realm="api"');
      assertNoSession(res);
    }
  });

  test('no key is accepted today, and a header that is not "Bearer <key>" is refused as such', async () => {
    const unknown = await request(t.app).get('/api/v1/').set('Authorization', 'Bearer abc.def-123');
    assertProblem(unknown, 401, '/api/v1/');
    assert.equal(unknown.headers['www-authenticate'], 'Bearer realm="api", error="invalid_token"');
    const basic = await request(t.app).get('/api/v1/').set('Authorization', 'Basic dXNlcjpwYXNz');
    assertProblem(basic, 401, '/api/v1/');
    assert.equal(basic.headers['www-authenticate'], 'Bearer realm="api", error="invalid_request"');
  });

  test("a person's session is no API key: the API neither reads nor renews it, and asks no CSRF token", async () => {
    const admin = await Client.login(t.app, fx.wholesaleAdmin.email);
    const get = await admin.get('/api/v1/');
    assertProblem(get, 401, '/api/v1/');
    assertNoSession(get);
    // No CSRF check runs: the refusal is the key's (401), not the form's (403 "Form expired").
    const post = await admin.agent.post('/api/v1/').set('Content-Type', 'application/json').send('{}');
    assertProblem(post, 401, '/api/v1/');
    assertNoSession(post);
    // An unknown path of the API says nothing to a caller without a key.
    assertProblem(await admin.get('/api/v1/resellers'), 401, '/api/v1/resellers');
  });

  test('any other path under /api is a 404 in problem details, without the portal session', async () => {
    const admin = await Client.login(t.app, fx.wholesaleAdmin.email);
    for (const path of ['/api', '/api/v2/resellers', '/api/v1x']) {
      const res = await admin.get(path);
      assertProblem(res, 404, path);
      assertNoSession(res);
    }
  });
});

describe('the API router with a key check plugged in (the step issue 14 fills with real keys)', () => {
  let t: TestApp;
  let fx: Fixture;
  // This test's own check: a key names a login of the fixture (never a key of the product).
  const keys = new Map<string, number>();
  before(async () => {
    t = await createTestApp({}, {}, {
      apiKeys: async (token) => {
        const id = keys.get(token);
        const login = id === undefined ? undefined : await findLoginById(t.db, id);
        return login ? toPrincipal(login) : undefined;
      },
    });
    fx = await makeTenants(t.db);
    keys.set('admin-key', fx.a.admin.id);
    keys.set('support-key', fx.a.support.id);
  });
  after(() => t.close());

  const api = (key: string) => ({
    get: (path: string) => request(t.app).get(path).set('Authorization', `Bearer ${key}`),
    post: (path: string, body: string) => request(t.app).post(path).set('Authorization', `Bearer ${key}`).set('Content-Type', 'application/json').send(body),
  });

  test('a key the check accepts reaches the endpoint, as the principal it names', async () => {
    const res = await api('admin-key').get('/api/v1/');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.deepEqual(res.body, { api: 'v1', principal: { role: 'reseller_admin', reseller_id: fx.a.reseller.id, subscriber_id: null }, documentation: '/api/v1/docs', openapi: '/api/v1/openapi.json' });
    assertNoSession(res);
  });

  test('with a key: an unknown path is a 404, unreadable JSON a 400, both problem details', async () => {
    assertProblem(await api('admin-key').get('/api/v1/nothing-here'), 404, '/api/v1/nothing-here');
    assertProblem(await api('admin-key').post('/api/v1/', '{"not json'), 400, '/api/v1/');
  });

  test('a support key writes nothing: the read-only guard answers 403 in problem details', async () => {
    assertProblem(await api('support-key').post('/api/v1/', '{}'), 403, '/api/v1/');
  });

  test('a key of a login that lost access is refused like its session would be', async () => {
    await t.db('users').where({ id: fx.a.admin.id }).update({ status: 'disabled' });
    try {
      assertProblem(await api('admin-key').get('/api/v1/'), 401, '/api/v1/');
    } finally {
      await t.db('users').where({ id: fx.a.admin.id }).update({ status: 'active' });
    }
  });
});

describe('portal errors by content type: pages for people, problem details for programs', () => {
  let t: TestApp;
  let fx: Fixture;
  before(async () => {
    t = await createTestApp();
    fx = await makeTenants(t.db);
  });
  after(() => t.close());

  const JSON_ACCEPT = 'application/json';

  test('not found: the HTML page as before, or 404 problem details for a client that asks for JSON', async () => {
    const admin = await Client.login(t.app, fx.wholesaleAdmin.email);
    const path = '/wholesale/resellers/999999';
    const page = await admin.get(path);
    assert.equal(page.status, 404);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    const body = assertProblem(await admin.get(path).set('Accept', JSON_ACCEPT), 404, path);
    assert.equal(body.title, 'Not Found');
    // A browser's Accept (HTML first, */* last) still gets the page.
    const browser = await admin.get(path).set('Accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8');
    assert.match(String(browser.headers['content-type']), /^text\/html/);
  });

  test('not logged in: a redirect to the login page for a person, 401 problem details for a program', async () => {
    const anon = request(t.app);
    const page = await anon.get('/wholesale/resellers');
    assert.equal(page.status, 302);
    assert.equal(page.headers.location, '/login');
    assertProblem(await anon.get('/wholesale/resellers').set('Accept', 'application/problem+json'), 401, '/wholesale/resellers');
  });

  test("another portal's page and a view-only role's write: 403 problem details", async () => {
    const reseller = await Client.login(t.app, fx.a.admin.email);
    assertProblem(await reseller.get('/wholesale').set('Accept', JSON_ACCEPT), 403, '/wholesale');
    const support = await Client.login(t.app, fx.wholesaleSupport.email);
    const res = await support.agent.post('/wholesale/resellers').set('Accept', JSON_ACCEPT).type('form').send({ _csrf: support.csrf, name: 'X' });
    const body = assertProblem(res, 403, '/wholesale/resellers');
    assert.match(String(body.detail), /view/);
  });

  test('a refused CSRF token: 403 problem details', async () => {
    const admin = await Client.login(t.app, fx.wholesaleAdmin.email);
    const res = await admin.agent.post('/wholesale/resellers').set('Accept', JSON_ACCEPT).type('form').send({ _csrf: 'not-the-token', name: 'X' });
    assertProblem(res, 403, '/wholesale/resellers');
  });

  test('bad fields: the form again (422 HTML) for a person, 422 problem details naming each field for a program', async () => {
    const admin = await Client.login(t.app, fx.wholesaleAdmin.email);
    const form = { _csrf: admin.csrf, name: '', code: 'ok-code', currency: 'USD', admin_name: 'Ann', admin_email: 'not-an-email', admin_password: 'long enough password' };
    const page = await admin.agent.post('/wholesale/resellers').type('form').send(form);
    assert.equal(page.status, 422);
    assert.match(page.text, /Enter a valid email address/);
    const res = await admin.agent.post('/wholesale/resellers').set('Accept', JSON_ACCEPT).type('form').send(form);
    const body = assertProblem(res, 422, '/wholesale/resellers');
    assert.equal(body.type, '/problems/validation');
    assert.deepEqual(body.errors, [
      { detail: 'Name is required', pointer: '#/name' },
      { detail: 'Enter a valid email address', pointer: '#/admin_email' },
    ]);
    // And a service's own field errors (a code already taken) go the same way.
    const taken = await admin.agent.post('/wholesale/resellers').set('Accept', JSON_ACCEPT).type('form').send({ ...form, name: 'Taken Co', code: fx.a.reseller.code, admin_email: 'ann@example.com' });
    const takenBody = assertProblem(taken, 422, '/wholesale/resellers');
    assert.deepEqual(takenBody.errors, [{ detail: 'Another reseller already uses this code', pointer: '#/code' }]);
  });

  test('a conflict: back to the page with a message for a person, 409 problem details for a program', async () => {
    const admin = await Client.login(t.app, fx.wholesaleAdmin.email);
    const path = `/wholesale/resellers/${fx.a.reseller.id}/activate`;
    const page = await admin.submit(path);
    assert.equal(page.status, 303);
    const res = await admin.agent.post(path).set('Accept', JSON_ACCEPT).type('form').send({ _csrf: admin.csrf });
    assert.match(String(assertProblem(res, 409, path).detail), /already active/);
  });
});
