// Real Chromium for the Settings pages' tests: Debian's `chromium` (ANVIL_CHROMIUM, installed by the test
// bootstrap when missing) driven by playwright-core through its executable path — Playwright's own
// browser download cannot work here. Every page a test opens is watched: console errors, uncaught
// exceptions, every URL it requests and every Set-Cookie it receives, so a test can say "nothing went
// wrong and no secret travelled in a URL" as well as what the person sees.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { requireEnv } from './stack';

/** Where screenshots go: git-ignored, kept after the run. */
export const TEST_OUTPUT = path.resolve(__dirname, '../../test-output/portal');

// As the machine's notes say: without the background-networking flags Chromium keeps trying to reach
// Google's hosts through a closed network; --no-sandbox because the suite runs as root.
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: requireEnv('ANVIL_CHROMIUM'), headless: true, args: CHROMIUM_FLAGS });
}

export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 375, height: 812 };

export interface Watched {
  page: Page;
  context: BrowserContext;
  /** Console errors and uncaught exceptions, in order. */
  errors: string[];
  /** Every URL the page requested (documents, scripts, API calls). */
  urls: string[];
  setCookies: string[];
}

/** A fresh browser context (no cookies, no storage) with a watched page. */
export async function openPage(browser: Browser, viewport = DESKTOP): Promise<Watched> {
  const context = await browser.newContext({ viewport, acceptDownloads: true, locale: 'en-US', timezoneId: 'UTC' });
  const page = await context.newPage();
  const watched: Watched = { page, context, errors: [], urls: [], setCookies: [] };
  watchPage(watched, page);
  return watched;
}

export function watchPage(w: Pick<Watched, 'errors' | 'urls' | 'setCookies'>, page: Page): void {
  page.on('console', (m) => {
    if (m.type() === 'error') w.errors.push(`console: ${m.text()}${m.location().url ? ` (${m.location().url})` : ''}`);
  });
  page.on('pageerror', (e) => w.errors.push(`uncaught: ${e.message}`));
  page.on('request', (r) => w.urls.push(r.url()));
  page.on('response', (r) => {
    const cookie = r.headers()['set-cookie'];
    if (cookie) w.setCookies.push(`${r.url()}: ${cookie}`);
  });
  page.setDefaultTimeout(20_000);
}

/**
 * Asserts no console error happened since the last call, except the browser's own report of an API
 * answer that the step provoked on purpose (e.g. "the server responded with a status of 400").
 */
export function assertNoConsoleErrors(w: Watched, expectedStatuses: number[] = []): void {
  const unexpected = w.errors.filter((e) => {
    const m = /Failed to load resource: the server responded with a status of (\d{3})/.exec(e);
    return !(m && expectedStatuses.includes(Number(m[1])));
  });
  w.errors.length = 0;
  assert.deepEqual(unexpected, [], 'the browser console reported errors');
}

/** axe on the page as it is now: zero serious or critical violations. */
export async function assertAccessible(page: Page, what: string): Promise<void> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']).analyze();
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    bad.map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
    [],
    `axe found serious or critical violations on ${what}`,
  );
  assert.ok(results.passes.length >= 10, `axe ran its checks on ${what} (${results.passes.length} passed)`);
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(TEST_OUTPUT, { recursive: true });
  const file = path.join(TEST_OUTPUT, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Waits until the locator is visible (Playwright's web-first wait), then returns it. */
export async function visible(locator: Locator, timeout = 20_000): Promise<Locator> {
  await locator.first().waitFor({ state: 'visible', timeout });
  return locator;
}

/** Waits until nothing matches the locator. */
export async function gone(locator: Locator, timeout = 20_000): Promise<void> {
  await locator.first().waitFor({ state: 'hidden', timeout }).catch(async (err: unknown) => {
    if ((await locator.count()) > 0) throw err;
  });
}

/** The page's document has no horizontal overflow at its current width. */
export async function assertNoHorizontalScroll(page: Page, what: string): Promise<void> {
  // A string: this file is compiled without the DOM's types.
  const { scrollWidth, clientWidth } = await page.evaluate<{ scrollWidth: number; clientWidth: number }>(
    '({ scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth })',
  );
  assert.ok(scrollWidth <= clientWidth, `${what} scrolls sideways at ${clientWidth} px (content is ${scrollWidth} px wide)`);
}
