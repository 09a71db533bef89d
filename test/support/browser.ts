import fs from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { createTestApp, listen, type TestApp } from './app';
import { PASSWORD } from './factories';

/** Debian's chromium, driven by playwright-core (never a downloaded browser). */
export const CHROMIUM = process.env.E2E_CHROMIUM ?? '/usr/bin/chromium';
export const skipWithoutChromium = fs.existsSync(CHROMIUM) ? false : 'chromium not installed (apt-get install chromium)';
export const SHOTS = process.env.E2E_SHOTS ?? '/tmp/e2e-shots';

/**
 * The real app on a loopback port and one headless Chromium, with a fresh cookie jar per person
 * (newPage). A fresh profile: playwright's launch() makes a temporary user-data dir and removes it
 * on close (it refuses --user-data-dir in args).
 */
export class BrowserHarness {
  t!: TestApp;
  server!: { url: string; close(): Promise<void> };
  browser!: Browser;
  private readonly contexts: BrowserContext[] = [];

  /** `env`: settings for the app (e.g. OUTBOUND_ALLOW_PRIVATE for a test with a local receiver). */
  async start(env: Record<string, string> = {}): Promise<void> {
    fs.mkdirSync(SHOTS, { recursive: true });
    this.t = await createTestApp(env);
    this.server = await listen(this.t.app);
    this.browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }

  /** A new browser window with its own cookies: one per person. */
  async newPage(): Promise<Page> {
    const context = await this.browser.newContext({ baseURL: this.server.url, viewport: { width: 1280, height: 860 } });
    context.setDefaultTimeout(10_000);
    this.contexts.push(context);
    return context.newPage();
  }

  /** A new window (at `size`, if given) logged in through the login form, on the page it lands on. */
  async loginAs(email: string, size?: { width: number; height: number }, password = PASSWORD): Promise<Page> {
    const page = await this.newPage();
    if (size) await page.setViewportSize(size);
    await logIn(page, email, password);
    return page;
  }

  async close(): Promise<void> {
    for (const c of this.contexts) await c.close().catch(() => undefined);
    await this.browser?.close().catch(() => undefined);
    await this.server?.close();
    await this.t?.close();
  }
}

/** Fills the login form of `page` and waits until it has left the login pages. */
export async function logIn(page: Page, email: string, password = PASSWORD): Promise<void> {
  await page.goto('/login');
  await page.getByLabel(/^Email( \*)?$/).fill(email);
  await page.getByLabel(/^Password( \*)?$/).fill(password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.getByRole('button', { name: 'Log in' }).click()]);
}

/**
 * A link of the main menu by its text, as a person reaches it: the drop-down it sits in opened
 * first (its summary clicked), and on a phone the menu itself (the Menu button).
 */
export async function navLink(page: Page, label: string): Promise<Locator> {
  const nav = page.getByRole('navigation', { name: 'Main' });
  const link = nav.getByRole('link', { name: label, exact: true });
  if (await link.isVisible()) return link;
  const toggle = page.locator('label.nav-toggle-button');
  if ((await toggle.isVisible()) && !(await nav.isVisible())) await toggle.click();
  // `has` is looked for inside each details element: a locator from the page, not from the nav.
  const group = nav.locator('details').filter({ has: page.getByRole('link', { name: label, exact: true, includeHidden: true }) });
  if ((await group.count()) > 0 && !(await link.isVisible())) await group.locator('summary').click();
  return link;
}
