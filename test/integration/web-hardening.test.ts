/**
 * Portal and web hardening (issue 9, items 5-13): each test shows one thing an attack on the
 * running product found, and fails without its fix.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createTestApp, type TestApp } from '../support/app';
import { encodeCursor } from '../../src/db/paging';
import { parse } from 'csv-parse/sync';
import { makeCallLeg, makeSubscriber, makeTenants } from '../support/factories';
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
    // Confirmed (the portal asks first): a second deactivation is then the conflict.
    await admin.submit(deactivate, { confirm: 'yes' });
    const conflict = (referer: string) => admin.agent.post(deactivate).set('Host', 'portal.example').set('Referer', referer).type('form').send({ _csrf: admin.csrf, confirm: 'yes' });
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

  /**
   * Posts a multipart deck of `size` bytes, written in 64 KB chunks as the server takes them (the
   * client never holds the body), with the session cookie of `c` and its token ahead of the file.
   * Resolves with the status and how much of the body had been written when the answer came.
   */
  async function streamUpload(server: http.Server, c: Client, path: string, size: number): Promise<{ status: number; sentBeforeAnswer: number }> {
    const cookie = ((await c.get('/account')).request as unknown as { cookies: string }).cookies;
    const { port } = server.address() as AddressInfo;
    const boundary = 'hardening-boundary';
    const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${c.csrf}\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="deck.csv"\r\nContent-Type: text/csv\r\n\r\n`);
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const chunk = Buffer.alloc(64 * 1024, 'a');
    return new Promise((resolve, reject) => {
      let sent = 0;
      let answered: { status: number; sentBeforeAnswer: number } | undefined;
      const req = http.request({ port, host: '127.0.0.1', path, method: 'POST', headers: { cookie, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': head.length + size + tail.length } }, (res) => {
        answered = { status: res.statusCode as number, sentBeforeAnswer: sent };
        res.resume();
        res.on('end', () => resolve(answered as { status: number; sentBeforeAnswer: number }));
      });
      req.on('error', (err) => (answered ? resolve(answered) : reject(err)));
      const write = () => {
        while (!answered && sent < size) {
          const n = Math.min(chunk.length, size - sent);
          sent += n;
          if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void req.once('drain', write);
        }
        if (!answered) req.end(tail);
      };
      req.write(head);
      write();
    });
  }

  test('an upload from someone who may not import is refused before its body is read: four 50 MB posts from a subscriber leave memory as it was', async (ctx) => {
    const server = http.createServer(t.app).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const subscriber = await Client.login(t.app, fx.a.subscriberUser.email);
      await subscriber.refreshCsrf('/me');
      const support = await Client.login(t.app, fx.a.support.email);
      const size = 50 * 1024 * 1024 - 4096;
      global.gc?.();
      const rssBefore = process.memoryUsage().rss;
      for (let i = 0; i < 4; i++) {
        const res = await streamUpload(server, subscriber, `/wholesale/rate-plans/${fx.operatorPlan.id}/deck`, size);
        assert.equal(res.status, 403);
        assert.ok(res.sentBeforeAnswer < 16 * 1024 * 1024, `answered after ${res.sentBeforeAnswer} bytes: the body was read`);
      }
      const grown = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
      ctx.diagnostic(`rss ${Math.round(rssBefore / 1024 / 1024)} MB before, grown by ${grown.toFixed(1)} MB after four 50 MB uploads from a subscriber`);
      assert.ok(grown < 60, `rss grew by ${grown.toFixed(1)} MB`);
      // A view-only role of the right portal: refused the same way.
      const refused = await streamUpload(server, support, `/reseller/rate-plans/${fx.a.plan.id}/deck`, 20 * 1024 * 1024);
      assert.equal(refused.status, 403);
      assert.ok(refused.sentBeforeAnswer < 16 * 1024 * 1024);
      // An admin over their role's limit: 413, and the file is not kept.
      const admin = await Client.login(t.app, fx.a.admin.email);
      await admin.refreshCsrf(`/reseller/rate-plans/${fx.a.plan.id}`);
      const tooBig = await streamUpload(server, admin, `/reseller/rate-plans/${fx.a.plan.id}/deck`, 11 * 1024 * 1024);
      assert.equal(tooBig.status, 413);
      // A wrong token ahead of the file: refused before the file is read.
      admin.csrf = 'not-the-token';
      const forged = await streamUpload(server, admin, `/reseller/rate-plans/${fx.a.plan.id}/deck`, 9 * 1024 * 1024);
      assert.equal(forged.status, 403);
      assert.ok(forged.sentBeforeAnswer < 8 * 1024 * 1024, `answered after ${forged.sentBeforeAnswer} bytes`);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  test('the operator\'s calls export neutralises a subscriber name and a switch\'s call_id that a spreadsheet would run as formulas', async () => {
    const sub = await makeSubscriber(t.db, fx.a.reseller.id, { name: '=HYPERLINK("http://evil.example","Invoice")' }, ['+12125550142']);
    const leg = await makeCallLeg(t.db, { platformId: fx.platform.id, resellerId: fx.a.reseller.id, subscriberId: sub.id, calling: '+12125550142' });
    await t.db('call_legs').where({ id: leg.id }).update({ call_id: '@SUM(1+1)*cmd|" /C calc"!A0' });
    const operator = await Client.login(t.app, fx.wholesaleAdmin.email);
    const res = await operator.get(`/wholesale/calls.csv?reseller=${fx.a.reseller.id}`);
    assert.equal(res.status, 200);
    const row = (parse(res.text, { columns: true }) as Array<Record<string, string>>).find((r) => r.leg_id === String(leg.id));
    assert.ok(row, 'the call is exported');
    assert.equal(row.subscriber_name, `'=HYPERLINK("http://evil.example","Invoice")`);
    assert.equal(row.call_id, `'@SUM(1+1)*cmd|" /C calc"!A0`);
    assert.equal(row.calling_number, "'+12125550142", 'an E.164 number is kept as text, not run as +12125550142');
    assert.equal(row.billable_seconds, '60');
  });

  test('the reseller Unrated page names none of the operator\'s platforms (the operator\'s does)', async () => {
    const [other] = await t.db('platforms').insert({ name: 'Secret Carrier Switch 7', format: 'generic-json', credential_hash: '1'.repeat(64) }).returning('id');
    const reseller = await Client.login(t.app, fx.a.admin.email);
    for (const path of ['/reseller/unrated', `/reseller/unrated?platform=${other.id}`]) {
      const res = await reseller.get(path);
      assert.equal(res.status, 200);
      assert.ok(!res.text.includes('Secret Carrier Switch 7'), `${path} names another platform`);
      assert.ok(!res.text.includes('All platforms'), `${path} offers a platform menu`);
    }
    const operator = await Client.login(t.app, fx.wholesaleAdmin.email);
    assert.match((await operator.get('/wholesale/unrated')).text, /Secret Carrier Switch 7/);
  });

  test('Cache-Control: no-store on pages, the health check and before login; the static files stay cacheable', async () => {
    const anonymous = Client.anonymous(t.app);
    for (const path of ['/login', '/healthz', '/no-such-page']) assert.equal((await anonymous.get(path)).headers['cache-control'], 'no-store', path);
    const css = await anonymous.get('/public/app.css');
    assert.equal(css.status, 200);
    assert.match(css.headers['cache-control'] as string, /max-age=3600/);
  });
});
