// Hosting: the built app works away from a site's root (global-setup serves dist/ under /course/playground/,
// as a GitHub Pages project site does) and under its Content-Security-Policy (no inline script, no eval,
// nothing from elsewhere) the page, its worker and the wasm backend still train.
import type { Request } from 'playwright-core';
import { beforeAll, describe, expect, onTestFinished, test } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../../vite.config';
import { assertSetupSucceeded, openApp, waitForUpdateCount } from './browser';
import { SUB_PATH } from './global-setup';

describe('hosting', () => {
  beforeAll(() => assertSetupSucceeded());

  test('served under a sub-path with its CSP, the app trains on wasm with no violation and nothing loaded from the root', async () => {
    const app = await openApp('hosting-subpath', '?backend=wasm#v=2&autoplay=1');
    const { page, context } = app;
    const outsideSubPath: string[] = [];
    const onRequest = (request: Request) => {
      const { pathname } = new URL(request.url());
      if (request.url().startsWith('http') && !pathname.startsWith(SUB_PATH)) outsideSubPath.push(pathname);
    };
    // The context outlives the test (browser.ts): the listener does not.
    context.on('request', onRequest);
    onTestFinished(() => void context.off('request', onRequest));
    await page.evaluate(() => {
      const w = window as unknown as { cspViolations: string[] };
      w.cspViolations = [];
      document.addEventListener('securitypolicyviolation', (e) =>
        w.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`),
      );
    });
    await waitForUpdateCount(page, 2);
    expect(new URL(page.url()).pathname).toBe(SUB_PATH);
    const policy = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
    expect(policy).toBe(CONTENT_SECURITY_POLICY);
    expect(await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)).toEqual([]);
    expect(app.errors.console.filter((m) => /Content Security Policy/i.test(m))).toEqual([]);
    expect(outsideSubPath).toEqual([]);
    // The root itself serves nothing: had an asset URL been absolute, it would have 404ed.
    const root = await page.request.get(new URL('/', page.url()).href);
    expect(root.status()).toBe(404);
  });
});
