/**
 * The portals in a real browser (Debian's chromium driven by playwright-core), clicking through the
 * pages as each role would: labels to fill, buttons by their text. The app is the real one, listening
 * on a loopback port over a fresh test database (TEST_DATABASE_URL or embedded).
 *
 * Screenshots of the main pages go to /tmp/e2e-shots (E2E_SHOTS overrides), never into the repo.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import type { TestApp } from '../support/app';
import { BrowserHarness, SHOTS, skipWithoutChromium, navLink } from '../support/browser';
import { makeNumberRange, makeReseller, makeSubscriber, makeTenants, makeUser, PASSWORD } from '../support/factories';

const skip = skipWithoutChromium;

const SUSPENDED = 'This account is suspended. Please contact your service provider.';
const VIEW_ONLY = 'Your role can view this information but not change it.';
/** Anything that would let a support person change something, by its visible text. */
const WRITE_CONTROL = /^\s*(New\b|Edit\b|Deactivate|Reactivate|Assign number|Assign plan|Create login|Set new password|Release|Save\b|Create\b|Import\b|Mark tax|Tax its|Re-rate)/;

describe('portals in a browser', { skip }, () => {
  const h = new BrowserHarness();
  let t: TestApp;

  before(async () => {
    await h.start();
    t = h.t;
  });

  after(() => h.close());

  /** A new browser window with its own cookies: one per person. */
  const newPage = () => h.newPage();

  /** Clicks a link or a submit button and waits until the page it leads to has loaded. */
  async function go(page: Page, target: Locator): Promise<void> {
    const navigated = page.waitForEvent('framenavigated', { predicate: (frame) => frame === page.mainFrame() });
    await target.click();
    await navigated;
    await page.waitForLoadState();
  }

  async function submitLogin(page: Page, email: string, password: string): Promise<void> {
    await page.goto('/login');
    await input(page, 'Email').fill(email);
    await input(page, 'Password').fill(password);
    await go(page, page.getByRole('button', { name: 'Log in' }));
  }

  /** Logs in through the login form in a fresh window and waits for the portal's home page. */
  async function loginAs(email: string, password = PASSWORD): Promise<Page> {
    const page = await newPage();
    await submitLogin(page, email, password);
    await page.waitForURL((u) => !u.pathname.startsWith('/login'));
    return page;
  }

  async function shot(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  }

  const heading = (page: Page) => page.getByRole('heading', { level: 1 });
  const flashOk = (page: Page) => page.locator('.flash-success');
  const alert = (page: Page) => page.getByRole('alert').first();
  /** A main-menu link, its drop-down opened first (see navLink). */
  const nav = (page: Page, label: string) => navLink(page, label);
  /**
   * The control labelled exactly `label` (a required field's label ends with an aria-hidden "*",
   * which getByLabel's exact match would otherwise count).
   */
  const input = (page: Page, label: string) => page.getByLabel(new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}( \\*)?$`));
  /** The .field block around a labelled control, where its error message sits. */
  const fieldOf = (page: Page, label: string) => page.locator('.field').filter({ has: input(page, label) });

  /** The value beside a term in a page's facts list (dl.facts). */
  const fact = (page: Page, term: string) => page.locator('.facts dt').filter({ hasText: new RegExp(`^${term}$`) }).locator('xpath=following-sibling::dd[1]');

  async function textOf(locator: Locator): Promise<string> {
    return ((await locator.textContent()) ?? '').replace(/\s+/g, ' ').trim();
  }

  /** The links and buttons in the page body that would change something, and the actions of its POST forms. */
  async function writeControls(page: Page): Promise<{ controls: string[]; postForms: Array<string | null> }> {
    await page.locator('main').waitFor();
    const texts = await page.locator('main a, main button, main input[type=submit]').evaluateAll((els) => els.map((e) => (e.textContent || e.getAttribute('value') || '').replace(/\s+/g, ' ').trim()));
    const postForms = await page.locator('form').evaluateAll((forms) => forms.filter((f) => (f.getAttribute('method') ?? 'get').toLowerCase() === 'post').map((f) => f.getAttribute('action')));
    return { controls: texts.filter((text) => WRITE_CONTROL.test(text)), postForms };
  }

  /** No link or button that writes, and no POST form but the logout one. */
  async function assertNoWriteControls(page: Page, where: string): Promise<void> {
    const { controls, postForms } = await writeControls(page);
    assert.deepEqual(controls, [], `${where}: write controls shown to a support role`);
    assert.deepEqual(postForms, ['/logout'], `${where}: POST forms shown to a support role`);
    assert.equal(await page.locator('.view-only').count(), 1, `${where}: no view-only notice`);
  }

  /** A POST a support person forges with their own valid CSRF token: the role guard answers 403. */
  async function assertForgedPostRefused(page: Page, url: string, form: Record<string, string> = {}): Promise<void> {
    const token = await page.locator('meta[name=csrf-token]').getAttribute('content');
    assert.ok(token, 'page has a CSRF token');
    const res = await page.request.post(url, { form: { ...form, _csrf: token }, maxRedirects: 0 });
    assert.equal(res.status(), 403, `POST ${url}`);
    assert.ok((await res.text()).includes(VIEW_ONLY), `POST ${url} refused by the role guard, not by CSRF`);
  }

  // --- The story: a reseller is created, gets a subscriber, is deactivated and reactivated. ---

  let admin: Page;
  let resellerAdmin: Page;
  let subscriber: Page;
  let resellerUrl = '';

  test('1. a wholesale admin creates a reseller with its first admin in one form', async () => {
    const me = await makeUser(t.db, 'wholesale_admin');
    const anonymous = await newPage();
    await anonymous.goto('/login');
    await shot(anonymous, 'login');
    admin = await loginAs(me.email);
    assert.equal(new URL(admin.url()).pathname, '/wholesale');
    assert.equal(await textOf(heading(admin)), 'Dashboard');
    await shot(admin, 'wholesale-dashboard');

    await go(admin, await nav(admin, 'Resellers'));
    await admin.waitForURL('**/wholesale/resellers');
    await go(admin, admin.getByRole('link', { name: 'New reseller' }));
    await admin.waitForURL('**/wholesale/resellers/new');
    assert.equal(await input(admin, 'Billing currency').inputValue(), 'USD');
    await input(admin, 'Name').fill('Harbor Telecom');
    await input(admin, 'Code').fill('harbor-tel');
    await input(admin, 'Contact name').fill('Hal Harbor');
    await input(admin, 'Contact email').fill('ops@harbor.example');
    await input(admin, 'Admin name').fill('Rita Reseller');
    await input(admin, 'Admin email').fill('rita@harbor.example');
    await input(admin, 'Admin password').fill('rita-long-password-1');
    await shot(admin, 'reseller-new');
    await go(admin, admin.getByRole('button', { name: 'Create reseller' }));

    await admin.waitForURL(/\/wholesale\/resellers\/\d+$/);
    resellerUrl = new URL(admin.url()).pathname;
    assert.match(await textOf(heading(admin)), /^Harbor Telecom\s+active$/i);
    assert.equal(await textOf(flashOk(admin)), 'Reseller Harbor Telecom created with admin rita@harbor.example.');
    assert.equal(await textOf(fact(admin, 'Code')), 'harbor-tel');
    assert.equal(await textOf(fact(admin, 'Billing currency')), 'USD');
    // What a support person must not see is there for an admin (so the check in test 5 can fail).
    assert.deepEqual(await writeControls(admin), {
      controls: ['Edit', 'Deactivate reseller', 'Assign plan', 'Mark tax exempt'],
      postForms: ['/logout', `${resellerUrl}/deactivate`, `${resellerUrl}/plan`, `${resellerUrl}/tax-exempt`],
    });
    assert.equal(await admin.locator('.view-only').count(), 0);
    await shot(admin, 'reseller-show');

    await go(admin, await nav(admin, 'Resellers'));
    await admin.waitForURL('**/wholesale/resellers');
    assert.equal(await admin.getByRole('link', { name: 'Harbor Telecom', exact: true }).count(), 1);
    await shot(admin, 'resellers-list');
  });

  test('2. the reseller admin adds a subscriber with a national-format number and a portal login', async () => {
    // The operator gives Harbor its numbers (the range pages have their own integration test).
    await makeNumberRange(t.db, Number(resellerUrl.split('/').pop()), '+12125550100', '+12125550199');
    resellerAdmin = await loginAs('rita@harbor.example', 'rita-long-password-1');
    assert.equal(new URL(resellerAdmin.url()).pathname, '/reseller');
    assert.equal(await textOf(heading(resellerAdmin)), 'Harbor Telecom');
    await shot(resellerAdmin, 'reseller-dashboard');

    await go(resellerAdmin, await nav(resellerAdmin, 'Subscribers'));
    await resellerAdmin.waitForURL('**/reseller/subscribers');
    await go(resellerAdmin, resellerAdmin.getByRole('link', { name: 'New subscriber' }));
    await resellerAdmin.waitForURL('**/reseller/subscribers/new');
    const p = resellerAdmin;
    await input(p, 'Account number').fill('HT-1001');
    await input(p, 'Name').fill('Blue Door Bakery');
    await input(p, 'Contact email').fill('owner@bluedoor.example');
    await input(p, 'Address').fill('12 Harbor St');
    await input(p, 'City').fill('New York');
    await input(p, 'State / province / region').fill('NY');
    await input(p, 'Postal code').fill('10001');
    await input(p, 'Country').fill('US');
    await input(p, 'Numbers').fill('(212) 555-0142');
    await input(p, 'Login email').fill('bakery@bluedoor.example');
    await input(p, 'Password').fill('bakery-long-password');
    await shot(p, 'subscriber-new');
    await go(p, p.getByRole('button', { name: 'Create subscriber' }));

    await p.waitForURL(/\/reseller\/subscribers\/\d+$/);
    assert.equal(await textOf(flashOk(p)), 'Subscriber HT-1001 (Blue Door Bakery) created.');
    assert.match(await textOf(heading(p)), /^HT-1001 · Blue Door Bakery\s+active$/i);
    const numbers = p.locator('section').filter({ has: p.getByRole('heading', { name: 'Phone numbers' }) });
    assert.deepEqual(await numbers.locator('tbody code').allTextContents(), ['+12125550142']);
    const login = p.locator('section').filter({ has: p.getByRole('heading', { name: 'Portal login' }) });
    assert.match(await textOf(login), /bakery@bluedoor\.example\s+active/i);
    await shot(p, 'subscriber-show');

    await go(p, p.getByRole('link', { name: '« All subscribers' }));
    await p.waitForURL('**/reseller/subscribers');
    const row = p.getByRole('row').filter({ hasText: 'HT-1001' });
    assert.match(await textOf(row), /Blue Door Bakery \+12125550142 active New York, NY, US/i);
    await shot(p, 'subscribers-list');
  });

  test('3. the subscriber logs in and sees their account number and number', async () => {
    subscriber = await loginAs('bakery@bluedoor.example', 'bakery-long-password');
    assert.equal(new URL(subscriber.url()).pathname, '/me');
    assert.equal(await textOf(heading(subscriber)), 'Blue Door Bakery');
    assert.equal(await textOf(subscriber.getByTestId('account-number')), 'HT-1001');
    assert.deepEqual(await subscriber.locator('ul.numbers code').allTextContents(), ['+12125550142']);
    assert.equal(await textOf(fact(subscriber, 'Service provider')), 'Harbor Telecom');
    assert.equal(await textOf(fact(subscriber, 'Service address')), '12 Harbor St, New York, NY, 10001, US');
    // Nothing of the staff portals is reachable.
    const res = await subscriber.goto('/reseller/subscribers');
    assert.equal(res?.status(), 403);
    await subscriber.goto('/me');
    await shot(subscriber, 'subscriber-me');
  });

  test('4. deactivating the reseller throws out its subscriber and refuses logins until reactivated', async () => {
    await go(admin, await nav(admin, 'Resellers'));
    await go(admin, admin.getByRole('link', { name: 'Harbor Telecom', exact: true }));
    await admin.waitForURL(`**${resellerUrl}`);
    assert.equal(await textOf(admin.getByTestId('impact-subscribers')), '1');
    assert.match(await textOf(admin.locator('main')), /Deactivating suspends 1 active subscriber and 2 logins/);
    // One click asks first, saying what will happen; the second does it.
    await go(admin, admin.getByRole('button', { name: 'Deactivate reseller' }));
    assert.equal(await textOf(heading(admin)), 'Deactivate Harbor Telecom?');
    assert.match(await textOf(admin.getByTestId('consequences')), /suspends its 1 active subscriber and stops 2 logins/);
    assert.equal(await admin.getByRole('link', { name: 'Cancel' }).getAttribute('href'), resellerUrl);
    await shot(admin, 'reseller-deactivate-confirm');
    await go(admin, admin.getByRole('button', { name: 'Deactivate Harbor Telecom' }));
    await admin.waitForURL(`**${resellerUrl}`);
    assert.equal(await textOf(flashOk(admin)), 'Harbor Telecom is deactivated: 1 subscriber and 2 logins are suspended; new calls will be rated as blocked.');
    assert.match(await textOf(heading(admin)), /inactive$/i);
    assert.equal(await textOf(admin.getByTestId('impact-subscribers')), '1');
    await shot(admin, 'reseller-deactivated');

    // The subscriber's open session ends at the next click.
    await go(subscriber, await nav(subscriber, 'My account'));
    await subscriber.waitForURL('**/login');
    assert.equal(await textOf(alert(subscriber)), SUSPENDED);
    await shot(subscriber, 'login-suspended');
    // So does the reseller admin's.
    await go(resellerAdmin, await nav(resellerAdmin, 'Dashboard'));
    await resellerAdmin.waitForURL('**/login');
    assert.equal(await textOf(alert(resellerAdmin)), SUSPENDED);

    // A fresh login is refused with the same message.
    await submitLogin(subscriber, 'bakery@bluedoor.example', 'bakery-long-password');
    assert.equal(await textOf(alert(subscriber)), SUSPENDED);
    assert.equal(new URL(subscriber.url()).pathname, '/login');
    assert.equal(await input(subscriber, 'Email').inputValue(), 'bakery@bluedoor.example');

    // The wholesale side shows the subscriber as suspended with its reseller.
    await go(admin, admin.getByRole('link', { name: 'All subscribers of Harbor Telecom' }));
    assert.match(await textOf(admin.getByRole('row').filter({ hasText: 'HT-1001' })), /suspended/i);
    assert.equal(await textOf(admin.locator('.notice')), 'This reseller is inactive: all its subscribers are suspended.');
    await go(admin, await nav(admin, 'Resellers'));
    await go(admin, admin.getByRole('link', { name: 'Harbor Telecom', exact: true }));

    await go(admin, admin.getByRole('button', { name: 'Reactivate reseller' }));
    await admin.waitForURL(`**${resellerUrl}`);
    assert.equal(await textOf(flashOk(admin)), 'Harbor Telecom is active again: 1 subscriber and 2 logins have their access back.');
    assert.match(await textOf(heading(admin)), /active$/i);

    await submitLogin(subscriber, 'bakery@bluedoor.example', 'bakery-long-password');
    await subscriber.waitForURL('**/me');
    assert.equal(await textOf(subscriber.getByTestId('account-number')), 'HT-1001');
  });

  // --- Support roles: every page readable, nothing writable. ---

  test('5. support roles see every page with no write control, and forged writes answer 403', async () => {
    const fx = await makeTenants(t.db);
    const { wholesaleSupport, a } = fx;
    const countsBefore = await Promise.all(['resellers', 'subscribers', 'users', 'phone_numbers', 'rates'].map((tbl) => t.db(tbl).count<{ count: string }[]>('* as count')));

    // Wholesale support.
    const ws = await loginAs(wholesaleSupport.email);
    await assertNoWriteControls(ws, 'wholesale dashboard');
    await go(ws, await nav(ws, 'Resellers'));
    await ws.waitForURL('**/wholesale/resellers');
    await assertNoWriteControls(ws, 'resellers list');
    await shot(ws, 'support-resellers-list');
    await go(ws, ws.getByRole('link', { name: a.reseller.name, exact: true }));
    await ws.waitForURL(`**/wholesale/resellers/${a.reseller.id}`);
    await assertNoWriteControls(ws, 'reseller page');
    await shot(ws, 'support-reseller-show');
    await assertForgedPostRefused(ws, `/wholesale/resellers/${a.reseller.id}/deactivate`);
    await assertForgedPostRefused(ws, `/wholesale/resellers/${a.reseller.id}`, { name: 'Renamed', code: a.reseller.code, currency: 'USD' });
    await assertForgedPostRefused(ws, '/wholesale/resellers', { name: 'Forged', code: 'forged', currency: 'USD', admin_name: 'F', admin_email: 'f@example.com', admin_password: 'forged-long-password' });
    await assertForgedPostRefused(ws, '/wholesale/users', { name: 'F', email: 'f2@example.com', role: 'wholesale_admin', password: 'forged-long-password' });

    await go(ws, ws.getByRole('link', { name: `All subscribers of ${a.reseller.name}` }));
    await ws.waitForURL(`**/wholesale/resellers/${a.reseller.id}/subscribers`);
    await assertNoWriteControls(ws, 'wholesale subscribers list');
    await go(ws, ws.getByRole('link', { name: a.subscriber.account_number, exact: true }));
    await ws.waitForURL(`**/wholesale/resellers/${a.reseller.id}/subscribers/${a.subscriber.id}`);
    await assertNoWriteControls(ws, 'wholesale subscriber page');
    assert.deepEqual(await ws.locator('tbody code').allTextContents(), [a.number.number]);
    await ws.goto(`/wholesale/resellers/${a.reseller.id}`);
    await go(ws, ws.getByRole('link', { name: 'Its logins' }));
    await ws.waitForURL(`**/wholesale/resellers/${a.reseller.id}/users`);
    await assertNoWriteControls(ws, 'reseller logins');
    assert.equal(await ws.getByRole('cell', { name: a.admin.email }).count(), 1);
    await go(ws, await nav(ws, 'Wholesale users'));
    await ws.waitForURL('**/wholesale/users');
    await assertNoWriteControls(ws, 'wholesale users');
    await shot(ws, 'support-wholesale-users');
    await go(ws, await nav(ws, 'Rate plans'));
    await ws.waitForURL('**/wholesale/rate-plans');
    await assertNoWriteControls(ws, 'rate plans');
    await go(ws, ws.getByRole('link', { name: fx.operatorPlan.name, exact: true }));
    await ws.waitForURL(`**/wholesale/rate-plans/${fx.operatorPlan.id}`);
    await assertNoWriteControls(ws, 'rate plan page');
    await assertForgedPostRefused(ws, `/wholesale/rate-plans/${fx.operatorPlan.id}/deck`, { mode: 'replace', csv: 'prefix,description\n' });
    await assertForgedPostRefused(ws, `/wholesale/resellers/${a.reseller.id}/plan`, { wholesale_plan_id: String(fx.operatorPlan.id) });
    await go(ws, await nav(ws, 'Audit log'));
    await ws.waitForURL('**/wholesale/audit');
    await assertNoWriteControls(ws, 'wholesale audit log');
    await shot(ws, 'support-wholesale-audit');

    // Reseller support.
    const rs = await loginAs(a.support.email);
    assert.equal(new URL(rs.url()).pathname, '/reseller');
    await assertNoWriteControls(rs, 'reseller dashboard');
    await go(rs, await nav(rs, 'Subscribers'));
    await rs.waitForURL('**/reseller/subscribers');
    await assertNoWriteControls(rs, 'subscribers list');
    await go(rs, rs.getByRole('link', { name: a.subscriber.account_number, exact: true }));
    await rs.waitForURL(`**/reseller/subscribers/${a.subscriber.id}`);
    await assertNoWriteControls(rs, 'subscriber page');
    await shot(rs, 'support-subscriber-show');
    const sub = `/reseller/subscribers/${a.subscriber.id}`;
    await assertForgedPostRefused(rs, `${sub}/numbers`, { number: '+12125550199' });
    await assertForgedPostRefused(rs, `${sub}/login`, { login_email: 'forged@example.com', login_password: 'forged-long-password' });
    await assertForgedPostRefused(rs, `${sub}/deactivate`);
    await assertForgedPostRefused(rs, `${sub}/numbers/${a.number.id}/release`);
    await assertForgedPostRefused(rs, sub, { account_number: 'FORGED', name: 'Forged', country: 'US' });
    await assertForgedPostRefused(rs, '/reseller/subscribers', { account_number: 'FORGED-2', name: 'Forged', country: 'US' });
    await assertForgedPostRefused(rs, '/reseller/users', { name: 'F', email: 'f3@example.com', role: 'reseller_admin', password: 'forged-long-password' });
    await go(rs, await nav(rs, 'Users'));
    await rs.waitForURL('**/reseller/users');
    await assertNoWriteControls(rs, 'reseller users');
    await go(rs, await nav(rs, 'Rate plans'));
    await rs.waitForURL('**/reseller/rate-plans');
    await assertNoWriteControls(rs, 'reseller rate plans');
    await go(rs, rs.getByRole('link', { name: a.plan.name, exact: true }));
    await assertNoWriteControls(rs, 'reseller rate plan page');
    await assertForgedPostRefused(rs, `${sub}/plan`, { retail_plan_id: String(a.plan.id) });
    await go(rs, await nav(rs, 'Audit log'));
    await rs.waitForURL('**/reseller/audit');
    await assertNoWriteControls(rs, 'reseller audit log');

    const countsAfter = await Promise.all(['resellers', 'subscribers', 'users', 'phone_numbers', 'rates'].map((tbl) => t.db(tbl).count<{ count: string }[]>('* as count')));
    assert.deepEqual(countsAfter, countsBefore, 'forged posts wrote nothing');
    const fresh = await t.db('resellers').where({ id: a.reseller.id }).first();
    assert.equal(fresh.status, 'active');
    assert.equal(fresh.name, a.reseller.name);
    const freshSub = await t.db('subscribers').where({ id: a.subscriber.id }).first();
    assert.equal(freshSub.status, 'active');
    assert.equal(freshSub.account_number, a.subscriber.account_number);
  });

  // --- Forms. ---

  test('6. a form error keeps the values typed and shows the message beside the field', async () => {
    const reseller = await makeReseller(t.db, { name: 'Quay Networks' });
    await makeNumberRange(t.db, reseller.id, '+15185550100');
    await makeSubscriber(t.db, reseller.id, { account_number: 'QN-0001' });
    const ra = await makeUser(t.db, 'reseller_admin', { resellerId: reseller.id });
    const p = await loginAs(ra.email);
    await go(p, p.getByRole('link', { name: 'New subscriber' }));
    await p.waitForURL('**/reseller/subscribers/new');
    await input(p, 'Account number').fill('QN-0001');
    await input(p, 'Name').fill('Second Shop');
    await input(p, 'City').fill('Albany');
    await input(p, 'Numbers').fill('(518) 555-0100');
    await input(p, 'Login email').fill('shop@quay.example');
    await input(p, 'Password').fill('shop-long-password');
    await go(p, p.getByRole('button', { name: 'Create subscriber' }));

    await fieldOf(p, 'Account number').locator('.error').waitFor();
    assert.equal(new URL(p.url()).pathname, '/reseller/subscribers');
    assert.equal(await textOf(fieldOf(p, 'Account number').locator('.error')), 'Another subscriber already has this account number');
    assert.equal(await input(p, 'Account number').getAttribute('aria-invalid'), 'true');
    assert.equal(await textOf(alert(p)), 'Please correct the fields marked below.');
    assert.equal(await p.locator('.field .error').count(), 1, 'only the account number is in error');
    assert.equal(await input(p, 'Account number').inputValue(), 'QN-0001');
    assert.equal(await input(p, 'Name').inputValue(), 'Second Shop');
    assert.equal(await input(p, 'City').inputValue(), 'Albany');
    assert.equal(await input(p, 'Numbers').inputValue(), '(518) 555-0100');
    assert.equal(await input(p, 'Login email').inputValue(), 'shop@quay.example');
    assert.equal(await input(p, 'Password').inputValue(), '', 'the password is not sent back');
    await shot(p, 'subscriber-new-error');

    // Correcting the field and retyping the password is enough.
    await input(p, 'Account number').fill('QN-0002');
    await input(p, 'Password').fill('shop-long-password');
    await go(p, p.getByRole('button', { name: 'Create subscriber' }));
    await p.waitForURL(/\/reseller\/subscribers\/\d+$/);
    assert.equal(await textOf(flashOk(p)), 'Subscriber QN-0002 (Second Shop) created.');
    assert.deepEqual(await p.locator('tbody code').allTextContents(), ['+15185550100']);
  });
});
