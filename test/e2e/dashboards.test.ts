/**
 * The dashboards in a real browser: calls posted through the intake, then the reseller's and the
 * subscriber's home pages draw their charts with Chart.js served by the app, under the app's CSP
 * (no violation reported, no page error), with the same figures in the table, on a desktop and on
 * a phone.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { TestApp } from '../support/app';
import { BrowserHarness, logIn, SHOTS, skipWithoutChromium } from '../support/browser';
import { makePlan, makeRates, makeReseller, makeSubscriber, makeUser, randomNumber, rateRow } from '../support/factories';
import { makePlatform, postCdrs } from '../support/intake';

describe('dashboards in a browser', { skip: skipWithoutChromium }, () => {
  const h = new BrowserHarness();
  let t: TestApp;

  before(async () => {
    await h.start();
    t = h.t;
  });
  after(() => h.close());

  /** Logs in, and records what the page reports: CSP violations and script errors. */
  async function loginAs(email: string): Promise<{ page: Page; problems: string[] }> {
    const page = await h.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    await logIn(page, email);
    return { page, problems };
  }

  /** Whether Chart.js drew a chart on the canvas (its instance and a drawn size). */
  const drawn = (page: Page, which: 'volume' | 'money') =>
    page.evaluate(`(() => {
      const c = document.querySelector('canvas[data-chart="${which}"]');
      return Boolean(c && window.Chart && window.Chart.getChart(c)) && c.width > 0 && c.height > 0;
    })()`) as Promise<boolean>;
  const chartLoaded = "typeof window.Chart !== 'undefined'";

  test('the reseller and the subscriber see their charts drawn under the CSP, and the table beside', async () => {
    const platform = await makePlatform(t.db);
    const wholesale = await makePlan(t.db, null, { currency: 'USD', rounding_decimals: 4 });
    const reseller = await makeReseller(t.db, { currency: 'USD', wholesale_plan_id: wholesale.id, time_zone: 'America/New_York' });
    const retail = await makePlan(t.db, reseller.id, { currency: 'USD', rounding_decimals: 2 });
    const number = randomNumber();
    const sub = await makeSubscriber(t.db, reseller.id, { name: 'Chart Subscriber', retail_plan_id: retail.id }, [number]);
    await makeRates(t.db, rateRow(wholesale, { rate: '0.0200', description: 'United Kingdom' }), rateRow(retail, { rate: '0.0900', increment: 60, description: 'UK' }));
    const now = Date.now();
    const records = [1, 2, 2, 5].map((daysAgo, i) => {
      const start = now - daysAgo * 86_400_000;
      return { leg_id: `dash-e2e-${now}-${i}`, calling: number, called: '+442071234567', start: new Date(start).toISOString(), answer: new Date(start + 3000).toISOString(), end: new Date(start + 3000 + (60 + i * 30) * 1000).toISOString() };
    });
    const res = await postCdrs(t, platform.token, records);
    assert.equal(res.status, 200, JSON.stringify(res.body));

    const admin = await loginAs((await makeUser(t.db, 'reseller_admin', { resellerId: reseller.id })).email);
    await admin.page.goto('/reseller');
    await admin.page.waitForFunction(chartLoaded);
    await admin.page.waitForTimeout(300);
    assert.ok(await drawn(admin.page, 'volume'), 'calls and minutes drawn');
    assert.ok(await drawn(admin.page, 'money'), 'money drawn');
    assert.equal(await admin.page.getByTestId('usage-calls').textContent(), '4');
    assert.match((await admin.page.getByTestId('top-subscribers').textContent()) ?? '', /Chart Subscriber/);
    await admin.page.screenshot({ path: path.join(SHOTS, 'dashboard-reseller-1366.png'), fullPage: true });
    await admin.page.setViewportSize({ width: 390, height: 844 });
    await admin.page.waitForTimeout(300);
    const overflow = (await admin.page.evaluate('document.documentElement.scrollWidth - window.innerWidth')) as number;
    assert.ok(overflow <= 1, `the page fits a phone's width (overflow ${overflow}px)`);
    await admin.page.screenshot({ path: path.join(SHOTS, 'dashboard-reseller-390.png'), fullPage: true });
    assert.deepEqual(admin.problems, []);

    const me = await loginAs((await makeUser(t.db, 'subscriber', { resellerId: reseller.id, subscriberId: sub.id })).email);
    await me.page.goto('/me');
    await me.page.waitForFunction(chartLoaded);
    await me.page.waitForTimeout(300);
    assert.ok(await drawn(me.page, 'volume'));
    assert.equal(await me.page.getByTestId('usage-calls').textContent(), '4');
    await me.page.screenshot({ path: path.join(SHOTS, 'dashboard-subscriber-1366.png'), fullPage: true });
    assert.deepEqual(me.problems, []);
  });
});
