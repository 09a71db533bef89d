/**
 * Portal and web hardening (issue 9, items 5-13): each test shows one thing an attack on the
 * running product found, and fails without its fix.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, type TestApp } from '../support/app';
import { makeTenants } from '../support/factories';
import { Client } from '../support/http';

describe('web hardening', () => {
  let t: TestApp;
  let fx: Awaited<ReturnType<typeof makeTenants>>;

  before(async () => {
    t = await createTestApp();
    fx = await makeTenants(t.db);
  });
  after(() => t.close());

  test('a conflict sends the browser back only to a page of this app, never to the Referer of another site or a javascript: URL', async () => {
    const admin = await Client.login(t.app, fx.a.admin.email);
    const deactivate = `/reseller/subscribers/${fx.a.subscriber.id}/deactivate`;
    await admin.submit(deactivate);
    const conflict = (referer: string) => admin.agent.post(deactivate).set('Host', 'portal.example').set('Referer', referer).type('form').send({ _csrf: admin.csrf });
    for (const hostile of ['javascript:alert(document.cookie)', 'https://evil.example/phish', '//evil.example/x', 'http://evil.example/reseller']) {
      const res = await conflict(hostile);
      assert.equal(res.status, 303, hostile);
      assert.equal(res.headers.location, '/', `${hostile} is not followed`);
    }
    const own = await conflict(`http://portal.example/reseller/subscribers/${fx.a.subscriber.id}?tab=numbers`);
    assert.equal(own.headers.location, `/reseller/subscribers/${fx.a.subscriber.id}?tab=numbers`, 'a page of this app is where "back" is');
  });
});
