/**
 * The main menu and the lists in a real browser (Debian's chromium, playwright-core), at the two
 * widths the product promises: 1366 px (the menu on one row, measured: every entry at the same
 * height, the bar no taller than one row) and a 390 px phone (the menu folded behind one button,
 * its groups opening in place; a wide table scrolls inside its own box, never the page).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { BrowserHarness, navLink, SHOTS, skipWithoutChromium } from '../support/browser';
import { makeReseller, makeTenants, makeUser } from '../support/factories';

describe('navigation at 1366 px and on a 390 px phone', { skip: skipWithoutChromium }, () => {
  const h = new BrowserHarness();
  let fx: Awaited<ReturnType<typeof makeTenants>>;

  before(async () => {
    await h.start();
    fx = await makeTenants(h.t.db);
    // A reseller with long texts, so that the lists have something wide to show.
    await makeReseller(h.t.db, { name: 'A reseller with a rather long name for its table cell', contact_email: 'a-very-long-contact-address@an-example-domain.example' });
  });
  after(() => h.close());

  async function loginAs(email: string, width: number, height: number): Promise<Page> {
    return h.loginAs(email, { width, height });
  }

  interface Box { top: number; bottom: number; height: number; left: number; right: number }
  interface Layout { bar: Box; nav: Box; entries: Array<Box & { text: string }>; brand: Box; who: Box; pageWidth: number; viewport: number }

  /**
   * The boxes of the bar and of each top-level menu entry (links and drop-down titles). Written
   * as text: the test's compiler would otherwise add helpers the page does not have.
   */
  const LAYOUT = `(() => {
    const box = (el) => { const r = el.getBoundingClientRect(); return { top: r.top, bottom: r.bottom, height: r.height, left: r.left, right: r.right }; };
    const nav = document.querySelector('nav.mainnav');
    const entries = [...nav.children].map((el) => (el.tagName === 'DETAILS' ? el.querySelector('summary') : el));
    return {
      bar: box(document.querySelector('header.topbar')),
      nav: box(nav),
      entries: entries.map((el) => ({ text: (el.textContent || '').trim(), ...box(el) })),
      brand: box(document.querySelector('.brand')),
      who: box(document.querySelector('.who')),
      pageWidth: document.documentElement.scrollWidth,
      viewport: window.innerWidth,
    };
  })()`;

  const layout = (page: Page) => page.evaluate(LAYOUT) as Promise<Layout>;

  for (const who of ['wholesale_admin', 'reseller_admin'] as const) {
    test(`1366 px, ${who}: the menu fits one row, groups open without a script, the current page is marked`, async () => {
      const email = who === 'wholesale_admin' ? fx.wholesaleAdmin.email : fx.a.admin.email;
      const portal = who === 'wholesale_admin' ? 'wholesale' : 'reseller';
      const page = await loginAs(email, 1366, 768);
      const list = portal === 'wholesale' ? '/wholesale/resellers' : '/reseller/subscribers';
      await page.goto(list);
      const l = await layout(page);
      assert.ok(l.entries.length >= 4, `menu entries: ${l.entries.map((e) => e.text).join(', ')}`);
      const rowHeight = Math.max(...l.entries.map((e) => e.height));
      for (const e of l.entries) {
        assert.ok(Math.abs(e.top - l.entries[0]!.top) <= 2, `"${e.text}" sits on another row (top ${e.top} vs ${l.entries[0]!.top})`);
      }
      assert.ok(l.nav.height <= rowHeight + 4, `the menu is ${l.nav.height}px tall, one row is ${rowHeight}px: it wraps`);
      // The bar holds brand, menu and the person's box on one row: no taller than its tallest item plus padding.
      const tallest = Math.max(l.brand.height, l.nav.height, l.who.height);
      assert.ok(l.bar.height <= tallest + 24, `the bar is ${l.bar.height}px tall for items of ${tallest}px: it wraps`);
      assert.ok(Math.abs(l.brand.top - l.who.top) < tallest, 'brand and the person’s box on the same row');
      assert.ok(l.pageWidth <= l.viewport, `the page is ${l.pageWidth}px wide in a ${l.viewport}px window`);
      await page.screenshot({ path: path.join(SHOTS, `nav-1366-${portal}.png`) });

      // The current page's group and link are marked.
      const current = page.locator('nav.mainnav details.active > summary');
      assert.equal((await current.textContent())?.trim(), 'Customers');
      assert.equal(await page.locator('nav.mainnav a[aria-current="page"]').getAttribute('href'), list);

      // A closed group hides its links; its title opens it, and a link in it leads to its page.
      const taxes = page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Taxes', exact: true });
      assert.equal(await taxes.isVisible(), false);
      await page.locator('nav.mainnav details', { hasText: 'Rating' }).locator('summary').click();
      assert.equal(await taxes.isVisible(), true);
      await page.screenshot({ path: path.join(SHOTS, `nav-1366-${portal}-open.png`) });
      await Promise.all([page.waitForURL(`**/${portal}/taxes`), taxes.click()]);
      assert.equal((await page.locator('nav.mainnav details.active > summary').textContent())?.trim(), 'Rating');
    });
  }

  test('390 px phone: the menu folds behind one button and opens group by group; tables scroll in their own box', async () => {
    const page = await loginAs(fx.wholesaleAdmin.email, 390, 844);
    await page.goto('/wholesale/resellers');
    const nav = page.getByRole('navigation', { name: 'Main' });
    assert.equal(await nav.isVisible(), false, 'folded at first');
    const toggle = page.locator('label.nav-toggle-button');
    assert.equal(await toggle.isVisible(), true);
    const before = await layout(page);
    assert.ok(before.bar.height < 160, `the folded bar is ${before.bar.height}px tall`);
    await toggle.click();
    assert.equal(await nav.isVisible(), true, 'the button shows the menu');
    const open = await layout(page);
    // Stacked: one entry under another, each the screen's width, none cut off.
    for (const [i, e] of open.entries.entries()) {
      if (i > 0) assert.ok(e.top >= open.entries[i - 1]!.bottom - 1, `"${e.text}" is stacked under the one before`);
      assert.ok(e.right <= 390 + 1 && e.left >= 0, `"${e.text}" fits the screen`);
    }
    await page.locator('nav.mainnav details', { hasText: 'System' }).locator('summary').click();
    await page.screenshot({ path: path.join(SHOTS, 'nav-390-open.png'), fullPage: true });
    const audit = nav.getByRole('link', { name: 'Audit log', exact: true });
    assert.equal(await audit.isVisible(), true);
    const box = await audit.boundingBox();
    assert.ok(box && box.x + box.width <= 390, 'the link is on the screen');
    await Promise.all([page.waitForURL('**/wholesale/audit'), audit.click()]);

    // navLink (the helper every browser test uses) reaches a link the same way from a folded menu.
    await Promise.all([page.waitForURL('**/wholesale/resellers'), (await navLink(page, 'Resellers')).click()]);
    const widths = (await page.evaluate(`(() => {
      const wrap = document.querySelector('.table-wrap');
      return { page: document.documentElement.scrollWidth, wrapClient: wrap.clientWidth, wrapScroll: wrap.scrollWidth };
    })()`)) as { page: number; wrapClient: number; wrapScroll: number };
    assert.ok(widths.page <= 390, `the page is ${widths.page}px wide on a 390px screen`);
    assert.ok(widths.wrapScroll > widths.wrapClient, 'the wide table scrolls inside its box');
    await page.screenshot({ path: path.join(SHOTS, 'list-390.png'), fullPage: true });
  });

  test('the subscriber’s own pages have a short menu that fits a phone without folding away its links', async () => {
    const user = await makeUser(h.t.db, 'subscriber', { resellerId: fx.a.reseller.id, subscriberId: fx.a.subscriber.id });
    const page = await loginAs(user.email, 1366, 768);
    const l = await layout(page);
    for (const e of l.entries) assert.ok(Math.abs(e.top - l.entries[0]!.top) <= 2, `"${e.text}" wraps`);
    assert.ok(l.pageWidth <= l.viewport);
  });
});
