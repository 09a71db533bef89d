import fs from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createTestApp, listen, type TestApp } from './app';

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

  async start(): Promise<void> {
    fs.mkdirSync(SHOTS, { recursive: true });
    this.t = await createTestApp();
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

  async close(): Promise<void> {
    for (const c of this.contexts) await c.close().catch(() => undefined);
    await this.browser?.close().catch(() => undefined);
    await this.server?.close();
    await this.t?.close();
  }
}
