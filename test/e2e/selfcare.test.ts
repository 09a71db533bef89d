/**
 * A subscriber on a 390 px phone: its calls page (filtered by a number typed as people type it,
 * with the totals and each call's cost) and its rates page (searched by a number), every row a
 * card that fits the screen, nothing scrolling sideways.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { TestApp } from '../support/app';
import { BrowserHarness, navLink, SHOTS, skipWithoutChromium } from '../support/browser';
import { makeCallLeg, makeCharge, makePlan, makeRates, makeReseller, makeSubscriber, makeUser, rateRow } from '../support/factories';
import { makePlatform } from '../support/intake';

describe('self-care on a phone', { skip: skipWithoutChromium }, () => {
  const h = new BrowserHarness();
  let t: TestApp;

  before(async () => {
    await h.start();
    t = h.t;
  });
  after(() => h.close());

  async function loginAs(email: string): Promise<Page> {
    return h.loginAs(email, { width: 390, height: 844 });
  }

  /** The page never scrolls sideways, and no card is wider than the screen. */
  async function fitsThePhone(page: Page, what: string) {
    const overflow = await page.locator('html').evaluate((el) => el.scrollWidth - el.clientWidth);
    assert.ok(overflow <= 0, `${what}: the page is ${overflow} px wider than the screen`);
    const widest = await page.locator('table.stack tr').evaluateAll((rows) => Math.max(0, ...rows.map((r) => r.getBoundingClientRect().right)));
    assert.ok(widest <= 390, `${what}: a row reaches ${widest} px`);
  }

  test('a subscriber reads its calls and its rates at 390 px', async () => {
    const platform = await makePlatform(t.db);
    const reseller = await makeReseller(t.db, { time_zone: 'America/Los_Angeles' });
    const plan = await makePlan(t.db, reseller.id, { name: 'Home Phone', currency: 'USD', rounding_decimals: 2 });
    await makeRates(t.db, rateRow(plan, { prefix: '44', description: 'United Kingdom', rate: '0.0500' }), rateRow(plan, { prefix: '4420', description: 'United Kingdom - London', rate: '0.0300' }));
    const own = '+14155550100';
    const sub = await makeSubscriber(t.db, reseller.id, { retail_plan_id: plan.id, country: 'US', region: 'CA' }, [own]);
    const user = await makeUser(t.db, 'subscriber', { resellerId: reseller.id, subscriberId: sub.id });
    const start = Date.now() - 3_600_000;
    const london = await makeCallLeg(t.db, { platformId: platform.id, resellerId: reseller.id, subscriberId: sub.id, calling: own, called: '+442079460000', startAt: new Date(start) });
    const paris = await makeCallLeg(t.db, { platformId: platform.id, resellerId: reseller.id, subscriberId: sub.id, calling: own, called: '+33123456789', startAt: new Date(start + 60_000) });
    await makeCharge(t.db, london, { kind: 'retail', resellerId: reseller.id, subscriberId: sub.id, ratePlanId: plan.id, amount: '0.0300' });
    await makeCharge(t.db, paris, { kind: 'retail', resellerId: reseller.id, subscriberId: sub.id, ratePlanId: plan.id, amount: '0.1200' });

    const page = await loginAs(user.email);
    // On a phone the menu is folded behind its button: navLink opens it as a person would.
    await Promise.all([page.waitForURL('**/me/calls'), (await navLink(page, 'My calls')).click()]);
    await page.locator(`tr[data-leg="${paris.id}"]`).waitFor();
    assert.equal(((await page.getByTestId('total-calls').textContent()) ?? '').trim(), '2');
    assert.equal(((await page.getByTestId('total-retail-USD').textContent()) ?? '').trim(), '0.15 USD');
    await fitsThePhone(page, 'calls');
    await page.screenshot({ path: path.join(SHOTS, 'selfcare-calls-390.png'), fullPage: true });

    // The number as a person writes it: national, with brackets and spaces.
    await page.getByLabel('Number', { exact: true }).fill('020 7946 0000');
    await Promise.all([page.waitForURL(/q=/), page.getByRole('button', { name: 'Filter' }).click()]);
    // Not a US number: read by its digits, so nothing (and no message) for a US subscriber; the international form finds it.
    await page.getByLabel('Number', { exact: true }).fill('+44 20 7946 0000');
    await Promise.all([page.waitForURL(/q=%2B44/), page.getByRole('button', { name: 'Filter' }).click()]);
    const row = page.locator(`tr[data-leg="${london.id}"]`);
    assert.equal(await page.locator('tr[data-leg]').count(), 1);
    assert.equal(((await row.getByTestId('cost').textContent()) ?? '').trim(), '0.03 USD');
    // A card: the label beside the value, in one column.
    assert.equal(await row.getByTestId('cost').evaluate((el) => (globalThis as unknown as { getComputedStyle(e: unknown, p: string): { content: string } }).getComputedStyle(el, '::before').content), '"Cost"');
    await fitsThePhone(page, 'calls filtered');

    await page.getByLabel('Number', { exact: true }).fill('hello');
    await Promise.all([page.waitForURL(/q=hello/), page.getByRole('button', { name: 'Filter' }).click()]);
    assert.match((await page.getByTestId('q-error').textContent()) ?? '', /not a phone number/);
    assert.equal(await page.locator('tr[data-leg]').count(), 0);
    await fitsThePhone(page, 'calls with a message');

    await Promise.all([page.waitForURL('**/me/rates'), page.getByRole('navigation', { name: 'My account' }).getByRole('link', { name: 'Rates' }).click()]);
    assert.match((await page.getByTestId('plan').textContent()) ?? '', /Home Phone/);
    await page.getByLabel('Destination or number').fill('011 44 20 7946 0000');
    await Promise.all([page.waitForURL(/q=011/), page.getByRole('button', { name: 'Search' }).click()]);
    const rate = page.locator('tr[data-prefix="4420"]');
    assert.match((await rate.getByTestId('price').textContent()) ?? '', /0\.03 per min/);
    assert.equal(await page.locator('tr[data-prefix]').count(), 1);
    await fitsThePhone(page, 'rates');
    await page.screenshot({ path: path.join(SHOTS, 'selfcare-rates-390.png'), fullPage: true });
  });
});
