/**
 * The API in a real browser (issue 14): a wholesale admin makes an API key from the menu (shown
 * once, usable at once, then listed without it and revoked after a confirmation), at 1366 px and on
 * a phone; and the API reference page, Swagger UI drawn from the served OpenAPI document under the
 * strict CSP, listing the operations.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BrowserHarness, navLink, skipWithoutChromium } from '../support/browser';
import { makeTenants } from '../support/factories';

describe('API keys and the API reference in a browser', { skip: skipWithoutChromium }, () => {
  const h = new BrowserHarness();
  let fx: Awaited<ReturnType<typeof makeTenants>>;

  before(async () => {
    await h.start();
    fx = await makeTenants(h.t.db);
  });
  after(() => h.close());

  const noSideways = async (page: import('playwright-core').Page, where: string) => {
    const { scroll, width } = await page.evaluate('({ scroll: document.documentElement.scrollWidth, width: window.innerWidth })') as { scroll: number; width: number };
    assert.ok(scroll <= width + 1, `${where}: the page scrolls sideways (${scroll} > ${width})`);
  };

  for (const size of [{ width: 1366, height: 800 }, { width: 390, height: 844 }]) {
    test(`${size.width} px: a key is made from the menu, shown once, works at once, and is revoked after a confirmation`, async () => {
      const page = await h.loginAs(fx.wholesaleAdmin.email, size);
      await (await navLink(page, 'API keys')).click();
      await page.waitForURL('**/wholesale/api-keys');
      const name = `CRM ${size.width}`;
      await page.getByLabel(/^Name/).fill(name);
      await page.getByLabel(/^Access/).selectOption('write');
      await page.getByRole('button', { name: 'Make the key' }).click();
      const key = (await page.getByTestId('key').textContent())?.trim() as string;
      assert.match(key, /^apk_\d+_[A-Za-z0-9_-]{43}$/);
      await noSideways(page, 'the new key');
      const me = await fetch(`${h.server.url}/api/v1/`, { headers: { Authorization: `Bearer ${key}` } });
      assert.equal(me.status, 200);
      assert.equal(((await me.json()) as { principal: { role: string } }).principal.role, 'wholesale_admin');
      // Listed without the key; the total line counts it.
      await page.goto('/wholesale/api-keys');
      assert.ok(!(await page.content()).includes(key));
      const row = page.locator('tr', { hasText: name });
      await assert.doesNotReject(row.waitFor());
      assert.match((await page.getByTestId('keys-total').textContent()) ?? '', /\d+ keys?, \d+ active/);
      await noSideways(page, 'the key list');
      await row.getByRole('button', { name: 'Revoke' }).click();
      await page.getByRole('button', { name: `Revoke “${name}”` }).click();
      await page.waitForURL('**/wholesale/api-keys');
      assert.match((await page.locator('tr', { hasText: name }).textContent()) ?? '', /revoked/);
      assert.equal((await fetch(`${h.server.url}/api/v1/`, { headers: { Authorization: `Bearer ${key}` } })).status, 401);
    });
  }

  test('the reference page draws every operation from the OpenAPI document, with no CSP violation or script error', async () => {
    const page = await h.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(String(e)));
    await page.setViewportSize({ width: 1366, height: 800 });
    await page.goto('/api/v1/docs');
    await page.locator('#operations-Resellers-createReseller').waitFor();
    const doc = (await (await fetch(`${h.server.url}/api/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, { operationId: string }>> };
    const ids = Object.values(doc.paths).flatMap((p) => Object.values(p).map((o) => o.operationId));
    const shown = await page.locator('.opblock').count();
    assert.equal(shown, ids.length, 'one block per operation');
    assert.deepEqual(problems, []);
  });
});
