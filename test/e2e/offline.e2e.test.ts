// Offline once loaded: the service worker (vite-plugin-pwa, see vite.config.ts) precaches the app, its
// workers and the wasm binaries, so with the server gone a reload still trains; a new deployment waits
// for the user's Reload and never restarts a run by itself. Each test serves its own copy of dist/
// (under the sub-path) so it can stop the server, or redeploy, without touching the other tests.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page, Response } from 'playwright-core';
import { beforeAll, describe, expect, onTestFinished, test } from 'vitest';
import {
  assertSetupSucceeded,
  backendBadge,
  button,
  clickWhenEnabled,
  openApp,
  updateCount,
  waitForElement,
  waitForUpdateCount,
  waitUntil,
} from './browser';
import { SUB_PATH } from './global-setup';
import { startStaticServer, type StaticServer } from './static-server';

const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));

/** A copy of the built app served under SUB_PATH, removed when the test ends. */
async function serveCopy(): Promise<{ dir: string; server: StaticServer }> {
  const dir = mkdtempSync(join(tmpdir(), 'token-rl-offline-'));
  cpSync(DIST, dir, { recursive: true });
  const server = await startStaticServer(dir, 0, SUB_PATH);
  onTestFinished(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, server };
}

/** Waits until a service worker controls the page, i.e. the precache is complete and in use. */
async function waitForController(page: Page): Promise<void> {
  await waitUntil(page, 'a service worker to control the page', () =>
    page.evaluate(() => navigator.serviceWorker.controller !== null),
  );
}

describe('offline', () => {
  beforeAll(() => assertSetupSucceeded());

  test('loaded once, the app reloads with the server stopped and trains on wasm from the cache', async () => {
    const { server } = await serveCopy();
    const app = await openApp('offline-reload', '?backend=wasm#v=2&autoplay=1', server.url);
    const { page, context } = app;
    await waitForController(page);
    await server.close();
    // The server is really gone: a request that bypasses the service worker fails.
    await expect(page.request.get(server.url)).rejects.toThrow();

    const responses: { url: string; cached: boolean }[] = [];
    const onResponse = (response: Response) => {
      if (response.url().startsWith('http'))
        responses.push({ url: response.url(), cached: response.fromServiceWorker() });
    };
    // The context outlives the test (browser.ts): the listener does not.
    context.on('response', onResponse);
    onTestFinished(() => void context.off('response', onResponse));
    await page.reload({ waitUntil: 'load', timeout: 60_000 });
    // A reload continues the run paused (its hash no longer says autoplay): press Play.
    const before = await updateCount(page);
    await clickWhenEnabled(page, button(page, 'Play'), 'the Play button');
    await waitForUpdateCount(page, Math.max(2, before + 1));

    expect((await backendBadge(page))?.text, 'backend badge').toContain('wasm');
    expect(await page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
    // Every request of the reloaded page (page, chunks, worker, wasm binary) came from the cache.
    const loaded = responses.map((r) => new URL(r.url).pathname);
    expect(loaded).toContain(SUB_PATH);
    expect(loaded.some((path) => /\/assets\/training\.worker-[\w-]+\.js$/.test(path))).toBe(true);
    expect(loaded.some((path) => /\.wasm$/.test(path))).toBe(true);
    expect(responses.filter((r) => !r.cached)).toEqual([]);
    expect(app.errors.console).toEqual([]);
    expect(app.errors.page).toEqual([]);
  });

  test('a new deployment shows "A new version is available — Reload", keeps training until clicked, then takes over', async () => {
    const { dir, server } = await serveCopy();
    // A small model and batch: training in the background leaves the cores to the service worker.
    const app = await openApp('offline-update', '?backend=wasm#v=3&dModel=16&batchSize=16&autoplay=1', server.url);
    const { page } = app;
    await waitForController(page);
    await waitForUpdateCount(page, 1);
    // Marks this document: a reload (by the app or the update) would drop it.
    await page.evaluate(() => ((window as unknown as { loadedOnce: boolean }).loadedOnce = true));
    const notice = page.getByTestId('update-notice');
    expect(await notice.count()).toBe(0);

    // Redeploy: a byte-different sw.js is a new version; the browser finds it on its next check. The
    // check runs paused: while this page trains, headless Chromium here starts the update job only after
    // 55 s (measured: the sw.js request itself goes out then), against 1–6 s paused. A real tab checks
    // hourly, so the delay costs a student nothing; the test would pay it in full.
    await clickWhenEnabled(page, button(page, 'Pause'), 'the Pause button');
    await waitForElement(page, button(page, 'Play'), 'the Play button');
    const sw = join(dir, 'sw.js');
    writeFileSync(sw, `${readFileSync(sw, 'utf8')}\n// redeployed\n`);
    await page.evaluate(async () => {
      const registration = await navigator.serviceWorker.getRegistration();
      await registration?.update();
    });
    await waitForElement(page, notice, 'the update notice', 60_000);
    expect((await notice.textContent())?.replace(/\s+/g, ' ').trim()).toBe('A new version is available — Reload');

    // It waits for the user: the run trains on in the same document.
    await clickWhenEnabled(page, button(page, 'Play'), 'the Play button');
    await waitForUpdateCount(page, (await updateCount(page)) + 2);
    expect(await page.evaluate(() => (window as unknown as { loadedOnce?: boolean }).loadedOnce)).toBe(true);
    expect(await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.waiting !== null)).toBe(
      true,
    );
    await app.screenshot('offline-update-notice');

    await Promise.all([
      page.waitForEvent('load', { timeout: 60_000 }),
      notice.getByRole('button', { name: 'Reload' }).click(),
    ]);
    expect(await page.evaluate(() => (window as unknown as { loadedOnce?: boolean }).loadedOnce)).toBeUndefined();
    await waitForController(page);
    // The new version is the active one, nothing is left waiting, and the app trains again.
    const after = await page.evaluate(async () => {
      const registration = await navigator.serviceWorker.getRegistration();
      return { waiting: registration?.waiting ?? null, active: registration?.active?.state };
    });
    expect(after).toEqual({ waiting: null, active: 'activated' });
    expect(await notice.count()).toBe(0);
    await waitForUpdateCount(page, 1);
    expect(app.errors.console).toEqual([]);
    expect(app.errors.page).toEqual([]);
  });
});
