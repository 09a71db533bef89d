/**
 * Webhooks in a real browser (issue 14): a reseller's admin registers an endpoint from the menu,
 * ticks two events, copies the secret shown once; a subscriber's change reaches a local receiver
 * (which refuses it once), verified with the convention's library; the endpoint's page lists the
 * delivery with both attempts and their answers, and "Send again" sends it once more. At 1366 px
 * and 390 px.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { SecretBox } from '../../src/modules/auth/secret-box';
import { updateSubscriber } from '../../src/modules/subscribers/subscribers.service';
import { subscriberFields } from '../../src/modules/subscribers/subscribers.schemas';
import { fanOut, sendDue } from '../../src/modules/webhooks/webhooks.service';
import { TEST_INSTANCE_SECRET, type TestApp } from '../support/app';
import { BrowserHarness, navLink, SHOTS, skipWithoutChromium } from '../support/browser';
import { makeTenants } from '../support/factories';
import { until } from '../support/wait';

describe('webhooks in a browser', { skip: skipWithoutChromium }, () => {
  const h = new BrowserHarness();
  let t: TestApp;
  before(async () => {
    // The receiver listens on 127.0.0.1: private addresses allowed, as for a local receiver.
    await h.start({ OUTBOUND_ALLOW_PRIVATE: 'true' });
    t = h.t;
  });
  after(() => h.close());

  test('a reseller registers an endpoint, a change reaches its receiver after one refusal, both attempts are shown, and it is sent again by hand', async () => {
    const fx = await makeTenants(t.db);
    const answers: number[] = [];
    const verified: boolean[] = [];
    let secret = '';
    const server = http.createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        try {
          new Webhook(secret).verify(Buffer.concat(parts).toString('utf8'), req.headers as Record<string, string>);
          verified.push(true);
        } catch {
          verified.push(false);
        }
        const status = answers.length === 0 ? 503 : 204;
        answers.push(status);
        res.writeHead(status).end(status === 503 ? 'try again later' : undefined);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks`;
    try {
      const page = await h.loginAs(fx.a.admin.email, { width: 1366, height: 900 });
      await Promise.all([page.waitForURL('**/reseller/webhooks'), (await navLink(page, 'Webhooks')).click()]);
      await Promise.all([page.waitForURL('**/reseller/webhooks/new'), page.getByRole('link', { name: 'New endpoint' }).click()]);
      await page.getByLabel(/^Address/).fill(url);
      await page.getByLabel('Description').fill('Our accounting');
      await page.getByRole('checkbox', { name: /subscriber\.updated/ }).check();
      await page.getByRole('checkbox', { name: /subscriber\.deactivated/ }).check();
      assert.equal(await page.getByRole('checkbox', { name: /reconciliation\.finished/ }).count(), 0, 'no operator event offered to a reseller');
      await page.screenshot({ path: path.join(SHOTS, 'webhooks-new-1366.png'), fullPage: true });
      await page.getByRole('button', { name: 'Register endpoint' }).click();
      // Shown in the answer to the post (never at an address that could be opened again).
      secret = (await page.getByTestId('secret').textContent()) ?? '';
      assert.match(secret, /^whsec_[A-Za-z0-9+/]+=*$/);
      await page.screenshot({ path: path.join(SHOTS, 'webhooks-secret-1366.png'), fullPage: true });
      const endpointPath = (await page.getByTestId('done').getAttribute('href')) as string;
      await Promise.all([page.waitForURL(`**${endpointPath}`), page.getByTestId('done').click()]);
      assert.match((await page.locator('dl.facts').textContent()) ?? '', /subscriber\.deactivated, subscriber\.updated/);

      const sub = fx.a.subscriber;
      await updateSubscriber(t.db, { userId: fx.a.admin.id, email: fx.a.admin.email, role: 'reseller_admin', scope: { kind: 'reseller', resellerId: fx.a.reseller.id } }, { kind: 'reseller', resellerId: fx.a.reseller.id }, sub.id,
        subscriberFields.parse({ account_number: sub.account_number, name: 'Renamed in the browser test', country: 'US' }));
      await until('the delivery made', async () => {
        await fanOut(t.db);
        return (await t.db('webhook_deliveries').where({ reseller_id: fx.a.reseller.id }).first()) ?? undefined;
      }, 300_000);
      const box = new SecretBox(TEST_INSTANCE_SECRET);
      const now = Date.now();
      await sendDue(t.db, box, { allowPrivate: true, nowMs: now });
      await sendDue(t.db, box, { allowPrivate: true, nowMs: now + 61_000 });
      assert.deepEqual(answers, [503, 204]);
      assert.deepEqual(verified, [true, true]);

      await page.goto(endpointPath);
      const deliveries = page.getByTestId('deliveries');
      assert.match((await deliveries.textContent()) ?? '', /subscriber\.updated/);
      assert.match((await deliveries.textContent()) ?? '', /503 in \d+ ms/);
      assert.match((await deliveries.textContent()) ?? '', /try again later/);
      assert.match((await deliveries.textContent()) ?? '', /delivered/);
      assert.equal(await page.getByTestId('secret').count(), 0, 'the secret is not shown again');
      await page.screenshot({ path: path.join(SHOTS, 'webhooks-deliveries-1366.png'), fullPage: true });
      await Promise.all([page.waitForURL(`**${endpointPath}`), page.getByRole('button', { name: 'Send again' }).click()]);
      await sendDue(t.db, box, { allowPrivate: true, nowMs: Date.now() });
      assert.deepEqual(answers, [503, 204, 204]);
      await page.reload();
      assert.match((await deliveries.textContent()) ?? '', /by hand/);

      // On a phone the page does not scroll sideways (the table scrolls in its own box).
      await page.setViewportSize({ width: 390, height: 844 });
      await page.reload();
      const overflow = await page.locator('html').evaluate((el) => el.scrollWidth - el.clientWidth);
      await page.screenshot({ path: path.join(SHOTS, 'webhooks-deliveries-390.png'), fullPage: true });
      assert.ok(overflow <= 0, `the page is ${overflow} px wider than the screen`);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
