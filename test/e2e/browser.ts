// Browser helpers for the e2e tests: launch the system Chromium with playwright-core (never a downloaded
// browser), collect console and page errors per page, save screenshots to artifacts/e2e/, and read the
// app's state through its DOM contract (status line, alert banner, backend badge, chart canvases).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type ConsoleMessage, type Locator, type Page } from 'playwright-core';
import { inject, onTestFinished } from 'vitest';
import { CHROMIUM_ARGS } from './chromium-args';

export const ARTIFACTS_DIR = fileURLToPath(new URL('../../artifacts/e2e/', import.meta.url));

// ---------------------------------------------------------------------------------------------------
// The app's DOM contract, in one place.

export const SELECTORS = {
  status: '#status-line',
  alert: '#alert-banner',
  badge: '[data-testid="backend-badge"]',
  chartCanvas: 'figure[data-chart] canvas',
} as const;

export const button = (page: Page, name: 'Play' | 'Pause' | 'Step' | 'Reset' | 'Download CSV' | 'Download JSONL') =>
  page.getByRole('button', { name, exact: true });

// ---------------------------------------------------------------------------------------------------
// Errors per page.

export interface PageErrors {
  /** console.error messages (from the page or its workers), and failed resource loads. */
  console: string[];
  /** Uncaught exceptions and unhandled rejections (page or workers). */
  page: string[];
}

const errorsByPage = new WeakMap<Page, PageErrors>();

function location(message: ConsoleMessage): string {
  const { url, lineNumber } = message.location();
  return url ? ` (${url.replace(/^https?:\/\/[^/]+/, '')}:${lineNumber})` : '';
}

/** Starts collecting a page's errors (idempotent); `errorsOf(page)` reads them. */
export function trackErrors(page: Page): PageErrors {
  const existing = errorsByPage.get(page);
  if (existing) return existing;
  const errors: PageErrors = { console: [], page: [] };
  errorsByPage.set(page, errors);
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const where = message.worker() ? '[worker] ' : '';
    errors.console.push(`${where}${message.text()}${location(message)}`);
  });
  page.on('pageerror', (error) => errors.page.push(error.stack ?? `${error.name}: ${error.message}`));
  return errors;
}

export function errorsOf(page: Page): PageErrors {
  return errorsByPage.get(page) ?? trackErrors(page);
}

// ---------------------------------------------------------------------------------------------------
// Browser.

export interface BrowserSession {
  context: BrowserContext;
  /** The first page of the persistent context, with error tracking on. */
  page: Page;
  userDataDir: string;
  close(): Promise<void>;
}

/** Throws the global setup's failure (no Chromium, app build failed), if there was one. */
export function assertSetupSucceeded(): void {
  const setupError = inject('setupError');
  if (setupError) throw new Error(`The e2e setup failed, so no browser test can run:\n${setupError}`);
}

/** Launches the system Chromium with a fresh profile in a temporary directory. */
export async function launchBrowser(): Promise<BrowserSession> {
  assertSetupSucceeded();
  const userDataDir = mkdtempSync(join(tmpdir(), 'token-rl-e2e-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: inject('chromiumPath'),
      headless: true,
      viewport: { width: 1366, height: 768 },
      acceptDownloads: true,
      args: CHROMIUM_ARGS,
    });
  } catch (error) {
    rmSync(userDataDir, { recursive: true, force: true });
    throw error;
  }
  // Playwright actions (click, fill, getAttribute…) fail after 15 s instead of 30 s; waits that need
  // longer (pretraining, SwiftShader WebGPU) poll with waitUntil and their own timeouts.
  context.setDefaultTimeout(15_000);
  context.on('page', (p) => trackErrors(p));
  const page = context.pages()[0] ?? (await context.newPage());
  trackErrors(page);
  let closed = false;
  return {
    context,
    page,
    userDataDir,
    async close() {
      if (closed) return;
      closed = true;
      await context.close().catch(() => {});
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

export interface AppSession {
  /** The browser context the page lives in: shared by the tests of one file (see openApp). */
  context: BrowserContext;
  /** The app's page, opened for this test, with error tracking on. */
  page: Page;
  /** Errors seen on the page so far. */
  errors: PageErrors;
  /** Saves a screenshot to artifacts/e2e/<name>.png and returns its path. */
  screenshot(name?: string): Promise<string>;
}

// One browser per test file, a fresh page per test.
// Launching a browser and loading the app into a cold profile cost 4.6 CPU-seconds a test on 2 cores
// (measured: launch and close 1.2, the load 3.4); in a warm profile the load costs ~3.0, and the launch
// is paid once per file. What a test leaves behind is cleared when it ends: its pages are closed and
// every kind of storage of the origins it opened (local storage, IndexedDB, caches, service workers)
// is deleted, so the next test starts as a first visit. The HTTP cache stays, as for a returning
// visitor. test/e2e/per-file.ts closes the browser after the file's last test.
let sharedBrowser: Promise<BrowserSession> | undefined;

/** Closes this file's shared browser, if one was launched. */
export async function closeSharedBrowser(): Promise<void> {
  const session = sharedBrowser;
  sharedBrowser = undefined;
  if (session) await (await session.catch(() => undefined))?.close();
}

/** Clears what a test left in the shared browser; when that fails, closes it (the next test relaunches). */
async function clearAfterTest(context: BrowserContext, page: Page, origin: string): Promise<void> {
  try {
    // A test that opened two apps has had this page closed by the first one's clearing.
    const cdp = await context.newCDPSession(page.isClosed() ? await context.newPage() : page);
    await cdp.send('Storage.clearDataForOrigin', { origin, storageTypes: 'all' });
    await cdp.detach();
    for (const p of context.pages()) if (p !== context.pages()[0]) await p.close();
  } catch {
    await closeSharedBrowser();
  }
}

/**
 * Opens the built app (baseURL + `query`, e.g. '?backend=wasm') in a new page of this file's browser,
 * inside a test. When the test ends its pages close and the app's storage is cleared; a failing test
 * first saves artifacts/e2e/<name>-failed.png. `baseURL` defaults to the global setup's server; a test
 * serving its own copy passes its URL.
 */
export async function openApp(name: string, query = '', baseURL = inject('baseURL')): Promise<AppSession> {
  sharedBrowser ??= launchBrowser();
  const session = await sharedBrowser;
  const { context } = session;
  const page = await context.newPage();
  const url = new URL(query, baseURL).href;
  const app: AppSession = {
    context,
    page,
    errors: errorsOf(page),
    screenshot: (shot = name) => screenshot(page, shot),
  };
  onTestFinished(async ({ task }) => {
    try {
      if (task.result?.state === 'fail') await app.screenshot(`${name}-failed`).catch(() => {});
    } finally {
      await clearAfterTest(context, page, new URL(url).origin);
    }
  });
  try {
    await page.goto(url, { waitUntil: 'load', timeout: 60_000 });
  } catch (error) {
    throw new Error(`Could not load ${url}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return app;
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name.replace(/[^\w.-]+/g, '_')}.png`);
  await page.screenshot({ path, timeout: 30_000 });
  return path;
}

// ---------------------------------------------------------------------------------------------------
// Reading the app.

const normalise = (text: string | null) => (text ?? '').replace(/\s+/g, ' ').trim();

/** The text of an element, or undefined when it is not on the page. */
async function textOf(locator: Locator): Promise<string | undefined> {
  if ((await locator.count()) === 0) return undefined;
  return normalise(await locator.first().textContent({ timeout: 5_000 }));
}

/** The status line's text ('' when there is none). */
export async function statusText(page: Page): Promise<string> {
  return (await textOf(page.locator(SELECTORS.status))) ?? '';
}

/** The update number in a status text ('Update 12 · score …'), or 0 before the first update. */
export function parseUpdateCount(status: string): number {
  const match = /\bUpdate\s+(\d+)\b/.exec(status);
  return match ? Number(match[1]) : 0;
}

/** The update count shown on the status line; 0 before the first update. */
export async function updateCount(page: Page): Promise<number> {
  return parseUpdateCount(await statusText(page));
}

/** The alert banner's text, or undefined when there is no banner. */
export async function alertText(page: Page): Promise<string | undefined> {
  return textOf(page.locator(SELECTORS.alert));
}

/** The backend badge's text and title, or undefined when there is no badge. */
export async function backendBadge(page: Page): Promise<{ text: string; title: string } | undefined> {
  const badge = page.locator(SELECTORS.badge);
  const text = await textOf(badge);
  if (text === undefined) return undefined;
  return { text, title: normalise(await badge.first().getAttribute('title', { timeout: 5_000 })) };
}

/** A paragraph describing what the app shows, for failure messages. */
export async function describeApp(page: Page): Promise<string> {
  const safely = async <T>(read: () => Promise<T>): Promise<T | string> => {
    try {
      return await read();
    } catch (error) {
      return `<could not read: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}>`;
    }
  };
  const errors = errorsOf(page);
  const badge = await safely(() => backendBadge(page));
  const lines = [
    `  url:          ${page.url()}`,
    `  status line:  ${JSON.stringify(await safely(() => statusText(page)))}`,
    `  alert banner: ${JSON.stringify((await safely(() => alertText(page))) ?? '(none)')}`,
    `  badge:        ${JSON.stringify(badge ?? '(none)')}`,
    `  console errors (${errors.console.length}): ${errors.console.slice(-5).join(' | ') || '-'}`,
    `  page errors (${errors.page.length}): ${errors.page.slice(-3).join(' | ') || '-'}`,
  ];
  return `The app showed:\n${lines.join('\n')}`;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/**
 * Polls `check` until it returns a truthy value, which it returns. On timeout it throws an error naming
 * `what` and describing the app's state.
 */
export async function waitUntil<T>(
  page: Page,
  what: string,
  check: () => Promise<T | undefined | null | false>,
  { timeout = 60_000, interval = 250 } = {},
): Promise<T> {
  const deadline = Date.now() + timeout;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) break;
    if (page.isClosed()) throw new Error(`The page closed while waiting for ${what}.`);
    await sleep(interval);
  }
  const last = lastError instanceof Error ? `\n  last error: ${lastError.message.split('\n')[0]}` : '';
  throw new Error(`Timed out after ${timeout / 1000} s waiting for ${what}.${last}\n${await describeApp(page)}`);
}

/** Waits until the status line shows at least `atLeast` updates; returns the count. */
export function waitForUpdateCount(page: Page, atLeast: number, timeout = 120_000): Promise<number> {
  return waitUntil(
    page,
    `the status line to reach update ${atLeast}`,
    async () => {
      const count = await updateCount(page);
      return count >= atLeast ? count : undefined;
    },
    { timeout },
  );
}

/** How long an element of the contract may take to appear after the page loaded. */
export const APPEAR_TIMEOUT = 15_000;

/** Waits until `locator` matches an element; fails fast (APPEAR_TIMEOUT) when the app lacks it. */
export async function waitForElement(
  page: Page,
  locator: Locator,
  what: string,
  timeout = APPEAR_TIMEOUT,
): Promise<void> {
  await waitUntil(page, `${what} to be on the page`, async () => (await locator.count()) > 0, { timeout });
}

/**
 * Waits until a button is on the page (APPEAR_TIMEOUT) and enabled (`timeout`: e.g. while the backend
 * starts and the model pretrains), then clicks it.
 */
export async function clickWhenEnabled(page: Page, locator: Locator, what: string, timeout = 120_000): Promise<void> {
  await waitForElement(page, locator, what, Math.min(APPEAR_TIMEOUT, timeout));
  await waitUntil(page, `${what} to be enabled`, async () => (await locator.count()) > 0 && locator.isEnabled(), {
    timeout,
  });
  await locator.click({ timeout: 10_000 });
}

/**
 * True when the canvas (a selector's first match, or a locator) has any pixel that differs from its
 * background, taken as the colour of its top-left pixel (transparent for a chart.js canvas).
 */
export async function canvasHasInk(page: Page, selector: string | Locator): Promise<boolean> {
  const canvas = (typeof selector === 'string' ? page.locator(selector) : selector).first();
  return canvas.evaluate((element) => {
    if (!(element instanceof HTMLCanvasElement)) throw new Error(`not a <canvas>: <${element.tagName}>`);
    const { width, height } = element;
    if (width === 0 || height === 0) return false;
    // Copy into a 2D canvas: reads the pixels whatever context the chart draws with.
    const copy = document.createElement('canvas');
    copy.width = width;
    copy.height = height;
    const context = copy.getContext('2d', { willReadFrequently: true });
    if (!context) throw new Error('no 2D context to read the canvas with');
    context.drawImage(element, 0, 0);
    const pixels = context.getImageData(0, 0, width, height).data;
    const [r, g, b, a] = [pixels[0], pixels[1], pixels[2], pixels[3]];
    const tolerance = 8;
    for (let i = 4; i < pixels.length; i += 4) {
      if (
        Math.abs(pixels[i] - r) > tolerance ||
        Math.abs(pixels[i + 1] - g) > tolerance ||
        Math.abs(pixels[i + 2] - b) > tolerance ||
        Math.abs(pixels[i + 3] - a) > tolerance
      )
        return true;
    }
    return false;
  });
}

/** A short hash of a canvas's pixels (via toDataURL), to tell whether it has been redrawn differently. */
export async function canvasFingerprint(page: Page, selector: string | Locator): Promise<string> {
  const canvas = (typeof selector === 'string' ? page.locator(selector) : selector).first();
  return canvas.evaluate((element) => {
    if (!(element instanceof HTMLCanvasElement)) throw new Error(`not a <canvas>: <${element.tagName}>`);
    const data = element.toDataURL('image/png');
    let hash = 0x811c9dc5;
    for (let i = 0; i < data.length; i++) hash = Math.imul(hash ^ data.charCodeAt(i), 0x01000193);
    return `${element.width}x${element.height}:${(hash >>> 0).toString(16)}`;
  });
}

/** Clicks a download button and returns the downloaded file's text and suggested name. */
export async function download(
  page: Page,
  locator: Locator,
  timeout = 30_000,
): Promise<{ name: string; text: string }> {
  const [file] = await Promise.all([page.waitForEvent('download', { timeout }), locator.click({ timeout })]);
  const path = await file.path();
  return { name: file.suggestedFilename(), text: await readFile(path, 'utf8') };
}
