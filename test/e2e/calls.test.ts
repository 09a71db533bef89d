/**
 * A call in a real browser: a platform posts a CDR, the subscriber opens "My calls" from the
 * navigation and sees it with its retail cost; the reseller opens it and sees both charges; a
 * reseller's support person sees the unrated page without re-rate controls; a reseller in New York
 * reads its calls in its own zone, on a desktop and on a phone.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { TestApp } from '../support/app';
import { BrowserHarness, SHOTS, skipWithoutChromium, navLink } from '../support/browser';
import { makeCallLeg, makePlan, makeRates, makeReseller, makeSubscriber, makeUser, randomNumber, rateRow } from '../support/factories';
import { makePlatform, postCdrs } from '../support/intake';

const skip = skipWithoutChromium;

describe('calls in a browser', { skip }, () => {
  const h = new BrowserHarness();
  let t: TestApp;

  before(async () => {
    await h.start();
    t = h.t;
  });

  after(() => h.close());

  async function loginAs(email: string): Promise<Page> {
    return h.loginAs(email);
  }

  /** A main-menu link, its drop-down opened first (see navLink). */
  const nav = (page: Page, label: string) => navLink(page, label);

  test('a posted call shows on the subscriber\'s calls page with its retail cost, and on the reseller\'s with both charges', async () => {
    const platform = await makePlatform(t.db);
    const wholesale = await makePlan(t.db, null, { currency: 'USD', rounding_decimals: 4 });
    const reseller = await makeReseller(t.db, { currency: 'USD', wholesale_plan_id: wholesale.id });
    const retail = await makePlan(t.db, reseller.id, { currency: 'USD', rounding_decimals: 2 });
    const number = randomNumber();
    const sub = await makeSubscriber(t.db, reseller.id, { retail_plan_id: retail.id }, [number]);
    await makeRates(t.db, rateRow(wholesale, { rate: '0.0200' }), rateRow(retail, { rate: '0.0900', increment: 60 }));
    const subscriberUser = await makeUser(t.db, 'subscriber', { resellerId: reseller.id, subscriberId: sub.id });
    const resellerAdmin = await makeUser(t.db, 'reseller_admin', { resellerId: reseller.id });
    const resellerSupport = await makeUser(t.db, 'reseller_support', { resellerId: reseller.id });

    const subscriber = await loginAs(subscriberUser.email);
    const start = Date.now() - 600_000;
    const res = await postCdrs(t, platform.token, {
      leg_id: 'E2E-1', calling: number, called: '+442079460000',
      start: new Date(start).toISOString(), answer: new Date(start + 3000).toISOString(), end: new Date(start + 3000 + 95_000).toISOString(),
    });
    assert.equal(res.status, 200);
    const legId = res.body.records[0].legs[0].id as number;

    await Promise.all([subscriber.waitForURL('**/me/calls'), nav(subscriber, 'My calls').then((link) => link.click())]);
    const row = subscriber.locator(`tr[data-leg="${legId}"]`);
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /\+442079460000/);
    assert.equal(((await row.getByTestId('cost').textContent()) ?? '').trim(), '0.18 USD');
    assert.match((await row.locator('td').nth(4).textContent()) ?? '', /1:35/);
    assert.equal(await subscriber.getByText(/wholesale/i).count(), 0);
    await subscriber.screenshot({ path: path.join(SHOTS, 'calls-subscriber.png'), fullPage: true });

    const admin = await loginAs(resellerAdmin.email);
    await Promise.all([admin.waitForURL('**/reseller/calls'), nav(admin, 'Calls').then((link) => link.click())]);
    const adminRow = admin.locator(`tr[data-leg="${legId}"]`);
    assert.equal(((await adminRow.getByTestId('wholesale').textContent()) ?? '').trim(), '0.0317 USD');
    assert.equal(((await adminRow.getByTestId('retail').textContent()) ?? '').trim(), '0.18 USD');
    await Promise.all([admin.waitForURL(`**/reseller/calls/${legId}`), adminRow.getByRole('link').first().click()]);
    assert.equal(((await admin.getByTestId('billed-wholesale').textContent()) ?? '').trim(), '0.0317 USD');
    assert.equal(((await admin.getByTestId('billed-retail').textContent()) ?? '').trim(), '0.18 USD');
    await admin.screenshot({ path: path.join(SHOTS, 'calls-reseller-detail.png'), fullPage: true });

    const support = await loginAs(resellerSupport.email);
    await Promise.all([support.waitForURL('**/reseller/unrated'), nav(support, 'Unrated').then((link) => link.click())]);
    assert.equal(await support.getByRole('button', { name: /Re-rate/ }).count(), 0);
    assert.equal(await support.locator('input[name=ids]').count(), 0);
  });

  test('a reseller in New York reads its calls in EST, the zone named, at 1366 px and on a phone', async () => {
    const platform = await makePlatform(t.db);
    const reseller = await makeReseller(t.db, { time_zone: 'America/New_York' });
    const number = randomNumber();
    const sub = await makeSubscriber(t.db, reseller.id, {}, [number]);
    const leg = await makeCallLeg(t.db, { platformId: platform.id, resellerId: reseller.id, subscriberId: sub.id, calling: number, startAt: new Date('2026-12-07T16:00:00Z') });
    // 04:30 UTC on the 7th is still the 6th in New York: not on the page of the 7th.
    const before = await makeCallLeg(t.db, { platformId: platform.id, resellerId: reseller.id, subscriberId: sub.id, calling: number, startAt: new Date('2026-12-07T04:30:00Z') });
    const admin = await loginAs((await makeUser(t.db, 'reseller_admin', { resellerId: reseller.id })).email);

    for (const [width, height, name] of [[1366, 768, 'calls-new-york-1366'], [390, 844, 'calls-new-york-phone']] as const) {
      await admin.setViewportSize({ width, height });
      await admin.goto('/reseller/calls?from=2026-12-07&to=2026-12-07');
      const row = admin.locator(`tr[data-leg="${leg.id}"]`);
      assert.equal(((await row.locator('td').first().textContent()) ?? '').trim(), '2026-12-07 11:00:00 EST');
      assert.equal(await admin.locator(`tr[data-leg="${before.id}"]`).count(), 0);
      assert.match((await admin.getByTestId('zone-hint').textContent()) ?? '', /Times and dates are in America\/New_York/);
      assert.ok(await admin.getByTestId('time-zone').isVisible(), 'the zone is named in the page header');
      assert.match((await admin.getByTestId('time-zone').textContent()) ?? '', /America\/New_York \(E[SD]T\)/);
      // The page itself never scrolls sideways; a wide table scrolls in its own box.
      const overflow = await admin.locator('html').evaluate((el) => el.scrollWidth - el.clientWidth);
      assert.ok(overflow <= 0, `${width} px: the page is ${overflow} px wider than the screen`);
      await admin.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
    }
  });
});
