/**
 * Issue 11's journey in a browser: a reseller builds a retail plan (a rate added in the page), a
 * destination group, a toll package with included minutes and a feature package on one the
 * operator offers, and gives them to a subscriber; one call arrives through the real intake; the
 * subscriber sees the call (covered by the package), the minutes used and left, the features and
 * the account total; the reseller's support user sees the same figures and no write control.
 * Only what is not the reseller's job (the operator's side, logins, platform) is set up in SQL.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { SYSTEM_ACTOR } from '../../src/domain/tenancy/actor';
import { RECURRING_CHARGES_JOB } from '../../src/modules/billing/billing.jobs';
import { enqueueJob } from '../../src/modules/jobs/jobs.service';
import type { TestApp } from '../support/app';
import { BrowserHarness, navLink, SHOTS, skipWithoutChromium } from '../support/browser';
import { makePlan, makeRates, makeReseller, makeSubscriber, makeUser, rateRow } from '../support/factories';
import { makePlatform, postCdrs } from '../support/intake';
import { until } from '../support/wait';

const OWN = '+12125550147';
const text = async (page: Page, testId: string) => ((await page.getByTestId(testId).first().textContent()) ?? '').replace(/\s+/g, ' ').trim();

describe('packages journey: reseller builds, subscriber and support see', { skip: skipWithoutChromium }, () => {
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

  async function go(page: Page, label: string) {
    const link = await navLink(page, label);
    await Promise.all([page.waitForLoadState('load'), link.click()]);
  }

  async function submit(page: Page, button: string, urlPart?: RegExp) {
    // The page after the post (the same address, after a redirect to the page posted from).
    await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: button, exact: true }).click()]);
    if (urlPart) assert.match(new URL(page.url()).pathname, urlPart, `after ${button}`);
    const err = page.locator('main .flash-error, main .error');
    assert.equal(await err.count(), 0, `after ${button}: ${await err.allTextContents()}`);
  }

  /** Picks the option whose text matches, as a person reads the list. */
  async function choose(select: Locator, label: RegExp) {
    const options = await select.locator('option').allTextContents();
    const found = options.find((o) => label.test(o.trim()));
    assert.ok(found, `no option ${label} in ${options.join(' | ')}`);
    await select.selectOption({ label: found.trim() });
  }

  /** A read-only page: no form that posts, no button outside GET filters, no link to change anything. */
  async function noWriteControl(page: Page, what: string) {
    const main = page.locator('main');
    assert.equal(await main.locator('form[method="post" i]').count(), 0, `${what}: a form that posts`);
    const buttons = await main.locator('button, input[type="submit"]').evaluateAll((els) =>
      els.filter((e) => (e.closest('form')?.getAttribute('method') ?? 'get').toLowerCase() !== 'get').map((e) => e.textContent?.trim()),
    );
    assert.deepEqual(buttons, [], `${what}: buttons that change something`);
    const hrefs = await main.locator('a').evaluateAll((els) => els.map((e) => e.getAttribute('href') ?? ''));
    assert.deepEqual(hrefs.filter((href) => /\/(new|edit)(\?|$)|\/end$|\/retire$|\/delete$/.test(href)), [], `${what}: links to change something`);
  }

  test('a reseller builds and assigns packages; a call through the intake; subscriber and support see the same figures', async () => {
    // -- The operator's side and the logins (not the reseller's job): straight into the tables.
    const platform = await makePlatform(t.db);
    const wholesale = await makePlan(t.db, null, { name: 'Operator wholesale', currency: 'USD' });
    await makeRates(t.db, rateRow(wholesale, { prefix: '44', rate: '0.0200' }));
    const reseller = await makeReseller(t.db, { name: 'Bright Lines', wholesale_plan_id: wholesale.id, time_zone: 'UTC', currency: 'USD' });
    const admin = await makeUser(t.db, 'reseller_admin', { resellerId: reseller.id });
    const support = await makeUser(t.db, 'reseller_support', { resellerId: reseller.id });
    const sub = await makeSubscriber(t.db, reseller.id, { name: 'Ada Lovelace', time_zone: 'UTC' }, [OWN]);
    const subUser = await makeUser(t.db, 'subscriber', { resellerId: reseller.id, subscriberId: sub.id });
    const features = await t.db('features').insert([{ code: 'VM', name: 'Voicemail' }, { code: 'CLIP', name: 'Caller ID' }, { code: 'CW', name: 'Call waiting' }]).returning('*');
    const [offered] = await t.db('feature_packages').insert({ reseller_id: null, name: 'Operator basics', currency: 'USD', setup_fee: '1', monthly_fee: '2' }).returning('*');
    await t.db('feature_package_features').insert(features.map((f: { id: number }) => ({ package_id: offered.id, feature_id: f.id })));
    await t.db('feature_package_offers').insert({ package_id: offered.id, reseller_id: reseller.id });

    // The packages start at the cycle's start (day 1, UTC), so each month is charged whole.
    const now = new Date();
    const cycleStart = `${now.toISOString().slice(0, 8)}01 00:00`;

    // -- The reseller, in the pages.
    const r = await loginAs(admin.email);
    await go(r, 'Rate plans');
    await Promise.all([r.waitForURL('**/rate-plans/new'), r.getByRole('link', { name: 'New rate plan' }).click()]);
    await r.getByLabel(/^Name/).fill('Home Talk');
    await r.getByLabel(/^Decimals of a charge/).fill('2');
    await submit(r, 'Create plan', /\/rate-plans\/\d+$/);
    await Promise.all([r.waitForURL('**/rates/new'), r.getByRole('link', { name: 'Add a rate' }).click()]);
    await r.getByLabel(/^Prefix/).fill('44');
    await r.getByLabel(/^Description/).fill('United Kingdom');
    await r.getByLabel('Step 1 interval start').fill('0');
    await r.getByLabel('Step 1 rate', { exact: true }).fill('0.10');
    await r.getByLabel('Step 1 rate unit').fill('60');
    await r.getByLabel('Step 1 increment').fill('60');
    await submit(r, 'Add the rate', /\/rate-plans\/\d+$/);
    assert.match(await r.locator('main').innerText(), /United Kingdom/);
    await r.screenshot({ path: path.join(SHOTS, 'packages-1-plan.png'), fullPage: true });

    await go(r, 'Destination groups');
    await Promise.all([r.waitForURL('**/destination-groups/new'), r.getByRole('link', { name: 'New destination group' }).click()]);
    await r.getByLabel(/^Name/).fill('United Kingdom');
    await r.getByLabel(/^Prefixes/).fill('44');
    await submit(r, 'Create group', /\/destination-groups\/\d+$/);

    await go(r, 'Toll packages');
    await Promise.all([r.waitForURL('**/toll-packages/new'), r.getByRole('link', { name: 'New toll package' }).click()]);
    await r.getByLabel(/^Name/).fill('UK 10');
    await r.getByLabel(/^Monthly fee/).fill('5.00');
    await r.getByRole('checkbox', { name: 'United Kingdom', exact: true }).check();
    await r.getByLabel('Included minutes for United Kingdom').fill('10');
    await submit(r, 'Create package', /\/toll-packages\/\d+$/);
    await r.screenshot({ path: path.join(SHOTS, 'packages-2-toll-package.png'), fullPage: true });

    await go(r, 'Feature packages');
    await Promise.all([r.waitForURL('**/feature-packages/new'), r.getByRole('link', { name: 'New feature package' }).click()]);
    await Promise.all([r.waitForURL(/base=/), r.getByRole('link', { name: 'Operator basics' }).click()]);
    await r.getByLabel(/^Name/).fill('Home features');
    await r.getByRole('checkbox', { name: /CW/ }).uncheck();
    await r.getByLabel(/^Retail setup fee/).fill('3.00');
    await r.getByLabel(/^Retail monthly fee/).fill('4.50');
    await submit(r, 'Create package', /\/feature-packages\/\d+$/);
    await r.screenshot({ path: path.join(SHOTS, 'packages-3-feature-package.png'), fullPage: true });

    await go(r, 'Subscribers');
    await Promise.all([r.waitForURL(`**/subscribers/${sub.id}`), r.getByRole('link', { name: new RegExp(sub.account_number) }).first().click()]);
    await choose(r.getByLabel('Plan', { exact: true }), /Home Talk/);
    await submit(r, 'Assign plan');
    await choose(r.getByLabel('Assign package'), /^Home features/);
    await r.getByLabel(/^From/).fill(cycleStart);
    await submit(r, 'Assign');
    await Promise.all([r.waitForURL('**/toll-packages'), r.getByRole('link', { name: 'Give or end toll packages; history' }).click()]);
    await choose(r.getByLabel(/^Toll package/), /^UK 10/);
    await r.getByLabel(/^Starts/).fill(cycleStart);
    await submit(r, 'Give package');
    await r.screenshot({ path: path.join(SHOTS, 'packages-4-subscriber-toll-packages.png'), fullPage: true });

    // -- A 4-minute call to London arrives through the intake with the platform's credential.
    const startMs = now.getTime() - 6 * 60_000;
    const iso = (ms: number) => new Date(ms).toISOString();
    const res = await postCdrs(t, platform.token, { leg_id: 'journey-1', calling: OWN, called: '+442079460000', start: iso(startMs), answer: iso(startMs + 5_000), end: iso(startMs + 5_000 + 240_000) });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const leg = res.body.records[0].legs[0];
    assert.equal(leg.status, 'rated', JSON.stringify(leg));

    // -- The recurring-charges job, run by the app's worker as the hourly schedule would queue it.
    const jobId = await enqueueJob(t.db, t.jobs, SYSTEM_ACTOR, { kind: RECURRING_CHARGES_JOB, payload: {}, title: 'Recurring charges', returnTo: '/wholesale/jobs' });
    await until('the recurring charges posted', async () => {
      const j = await t.db('jobs').where({ id: jobId }).first();
      return j.status === 'done' ? j : j.status === 'failed' ? Promise.reject(new Error(j.error)) : undefined;
    });

    /**
     * The figures every viewer must see: the call covered whole by the allowance (0.00, 4:00 of
     * package time), 4 of 10 minutes used and 6 left, VM and CLIP (CW left out of the package),
     * and a cycle total of 12.50 USD: 5.00 (toll package month) + 3.00 setup + 4.50 month of the
     * feature package, whole months as both started at the cycle's start; no taxes are set.
     */
    async function sameFigures(page: Page, urls: { calls: string; tolls: string; features: string; account: string }, who: string) {
      await page.goto(urls.calls);
      const row = page.locator(`tr[data-leg="${leg.id}"]`);
      await row.waitFor();
      assert.equal(await page.locator('tr[data-leg]').count(), 1, `${who}: calls`);
      assert.equal(((await row.getByTestId('cost').textContent()) ?? '').trim(), '0.00 USD', `${who}: the call's cost`);
      assert.equal(((await row.getByTestId('package').textContent()) ?? '').trim(), '4:00', `${who}: the call's package time`);
      await page.screenshot({ path: path.join(SHOTS, `packages-${who}-calls.png`), fullPage: true });

      await page.goto(urls.tolls);
      const allowance = page.locator('[data-testid="allowances"] tr[data-assignment]');
      assert.equal(await allowance.count(), 1, `${who}: allowances`);
      assert.match((await allowance.innerText()).replace(/\s+/g, ' '), /UK 10 United Kingdom/);
      assert.deepEqual(
        [await text(page, 'included'), await text(page, 'used'), await text(page, 'left')],
        ['10 min', '4 min', '6 min'],
        `${who}: included, used, left`,
      );
      await page.screenshot({ path: path.join(SHOTS, `packages-${who}-toll-packages.png`), fullPage: true });

      await page.goto(urls.features);
      assert.deepEqual(await page.locator('[data-testid="feature-set"] tr[data-code]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-code'))).then((c) => c.sort()), ['CLIP', 'VM'], `${who}: features`);
      assert.match(await page.locator('[data-testid="feature-set"]').innerText(), /Voicemail[\s\S]*Home features/);
      await page.screenshot({ path: path.join(SHOTS, `packages-${who}-features.png`), fullPage: true });

      await page.goto(urls.account);
      assert.equal(await text(page, 'usage-calls'), '1', `${who}: calls this cycle`);
      assert.equal(await text(page, 'usage-minutes'), '4:00', `${who}: minutes this cycle`);
      assert.equal(await text(page, 'total-USD'), '12.50', `${who}: the cycle's total`);
      await page.screenshot({ path: path.join(SHOTS, `packages-${who}-account.png`), fullPage: true });
    }

    // -- The subscriber, in its own portal (reached through the menu first, as a person would).
    const s = await loginAs(subUser.email);
    await go(s, 'My calls');
    await sameFigures(s, { calls: '/me/calls', tolls: '/me/toll-packages', features: '/me/features', account: '/me/account' }, 'subscriber');
    await s.setViewportSize({ width: 390, height: 844 });
    await s.goto('/me/account');
    assert.equal(await text(s, 'total-USD'), '12.50');
    const overflow = await s.locator('html').evaluate((el) => el.scrollWidth - el.clientWidth);
    assert.ok(overflow <= 0, `the account page is ${overflow} px wider than a 390 px phone`);
    // Each table a stack of cards: nothing to scroll sideways inside a card either.
    const widest = await s.locator('main table').evaluateAll((tables) => Math.max(0, ...tables.map((el) => el.scrollWidth - el.clientWidth)));
    assert.ok(widest <= 0, `a table on the account page scrolls ${widest} px sideways at 390 px`);
    await s.screenshot({ path: path.join(SHOTS, 'packages-subscriber-account-390.png'), fullPage: true });

    // -- The reseller's support user: the same subscriber's views, the same figures, nothing to change.
    const p = await loginAs(support.email);
    await go(p, 'Subscribers');
    await Promise.all([p.waitForURL(`**/subscribers/${sub.id}`), p.getByRole('link', { name: new RegExp(sub.account_number) }).first().click()]);
    await noWriteControl(p, 'support: subscriber page');
    // A long login beside the menu at 1280 px gives way (cut short); it never covers the menu.
    const navRight = await p.getByRole('navigation', { name: 'Main' }).evaluate((el) => Math.max(...[...el.children].map((c) => c.getBoundingClientRect().right)));
    const whoLeft = await p.locator('.who').evaluate((el) => el.getBoundingClientRect().left);
    assert.ok(navRight <= whoLeft, `the menu (to ${navRight} px) runs under the login details (from ${whoLeft} px)`);
    assert.match(await p.getByTestId('toll-packages').innerText(), /UK 10/);
    assert.match(await p.getByTestId('features-section').innerText(), /Voicemail/);
    await p.screenshot({ path: path.join(SHOTS, 'packages-support-subscriber.png'), fullPage: true });
    const base = `/reseller/subscribers/${sub.id}`;
    await sameFigures(p, { calls: `${base}/calls`, tolls: `${base}/toll-packages`, features: `${base}/feature-packages`, account: `${base}/account` }, 'support');
    for (const url of [`${base}/calls`, `${base}/toll-packages`, `${base}/feature-packages`, `${base}/account`]) {
      await p.goto(url);
      await noWriteControl(p, `support: ${url}`);
    }
  });
});
