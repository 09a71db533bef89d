/**
 * Portal and web hardening (issue 9, items 5-13): each test shows one thing an attack on the
 * running product found, and fails without its fix.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, type TestApp } from '../support/app';
import { encodeCursor } from '../../src/db/paging';
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
    // Tenant b: deactivating its subscriber must not disturb the tests that log in as a's.
    const admin = await Client.login(t.app, fx.b.admin.email);
    const deactivate = `/reseller/subscribers/${fx.b.subscriber.id}/deactivate`;
    await admin.submit(deactivate);
    const conflict = (referer: string) => admin.agent.post(deactivate).set('Host', 'portal.example').set('Referer', referer).type('form').send({ _csrf: admin.csrf });
    for (const hostile of ['javascript:alert(document.cookie)', 'https://evil.example/phish', '//evil.example/x', 'http://evil.example/reseller']) {
      const res = await conflict(hostile);
      assert.equal(res.status, 303, hostile);
      assert.equal(res.headers.location, '/', `${hostile} is not followed`);
    }
    const own = await conflict(`http://portal.example/reseller/subscribers/${fx.b.subscriber.id}?tab=numbers`);
    assert.equal(own.headers.location, `/reseller/subscribers/${fx.b.subscriber.id}?tab=numbers`, 'a page of this app is where "back" is');
  });

  test('a crafted paging cursor answers 400 on every list that pages, not 500', async () => {
    const reseller = await Client.login(t.app, fx.a.admin.email);
    const subscriber = await Client.login(t.app, fx.a.subscriberUser.email);
    const operator = await Client.login(t.app, fx.wholesaleAdmin.email);
    // The attack's cursor (a text where the calls pages keep a start time), and one that no list writes.
    const fromAttack = encodeURIComponent(encodeCursor(['NT-2001', 7]));
    const crafted = encodeURIComponent(encodeCursor([7, 'NT-2001']));
    for (const [client, path] of [[reseller, '/reseller/calls'], [reseller, '/reseller/unrated'], [subscriber, '/me/calls']] as const) {
      assert.equal((await client.get(`${path}?cursor=${fromAttack}`)).status, 400, `${path} with the attack's cursor`);
    }
    const cases: Array<[Client, string]> = [
      [reseller, '/reseller/calls'], [reseller, '/reseller/unrated'], [subscriber, '/me/calls'], [operator, '/wholesale/calls'],
      [operator, '/wholesale/rejects'], [operator, '/wholesale/resellers'], [operator, '/wholesale/users'], [reseller, '/reseller/subscribers'],
      [reseller, '/reseller/users'], [reseller, '/reseller/audit'], [operator, `/wholesale/rate-plans/${fx.operatorPlan.id}`],
    ];
    for (const [client, path] of cases) {
      const res = await client.get(`${path}?cursor=${crafted}`);
      assert.equal(res.status, 400, `${path} with a crafted cursor`);
      const ok = await client.get(path);
      assert.equal(ok.status, 200, `${path} without one`);
    }
  });
});
