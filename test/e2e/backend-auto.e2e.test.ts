// `auto` measures the backends in the built app. Headless Chromium here has WebGPU and WebGL on
// SwiftShader: by default auto skips them (software), so wasm is the only candidate and nothing is
// measured; with the `measureSoftware=1` seam it measures them too, and must pick wasm because they are
// far slower (WebGL's first update takes ~7 s, WebGPU's ~90 s: both overrun the 5 s budget). The choice
// is remembered in localStorage: a reload starts at once, and "auto: measure again" measures again.
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, test } from 'vitest';
import { assertSetupSucceeded, backendBadge, button, openApp, statusText, waitUntil } from './browser';

const SMALL = '#v=3&batchSize=32&sftSteps=20';
const SHAPE = 'dModel=32&nLayers=1&nHeads=2&contextLength=10&batchSize=32&algorithm=ppo';
const MEMORY_KEY = 'token-rl-playground:backend-choices';

interface Watch {
  /** Seconds during which the status line said "Measuring backends…" (first to last sighting). */
  measuringSeconds: number;
  sawMeasuring: boolean;
}

/** Polls the status line until Play is enabled, noting whether and how long it said it was measuring. */
async function watchUntilReady(page: Page, timeout = 60_000): Promise<Watch> {
  let first: number | undefined;
  let last = 0;
  await waitUntil(
    page,
    'the app to be ready (Play enabled)',
    async () => {
      if ((await statusText(page)).startsWith('Measuring backends…')) {
        first ??= Date.now();
        last = Date.now();
      }
      const play = button(page, 'Play');
      return (await play.count()) > 0 && play.isEnabled();
    },
    { timeout, interval: 100 },
  );
  return { sawMeasuring: first !== undefined, measuringSeconds: first === undefined ? 0 : (last - first) / 1000 };
}

const remembered = (page: Page) =>
  page.evaluate(
    (key) => JSON.parse(localStorage.getItem(key) ?? '[]') as { shape: string; backend: string }[],
    MEMORY_KEY,
  );

describe('auto backend', () => {
  beforeAll(assertSetupSucceeded);

  test('without a hardware GPU, wasm is the only candidate: nothing is measured or remembered', async () => {
    const app = await openApp('backend-auto-default', SMALL);
    const { page } = app;
    const watch = await watchUntilReady(page);
    const badge = await backendBadge(page);
    expect(watch.sawMeasuring, 'status line said "Measuring backends…"').toBe(false);
    expect(badge?.text).toBe('wasm');
    expect(badge?.title).toMatch(/^auto: wasm, the only candidate; webgpu skipped \(.+\), webgl skipped \(.+\)$/);
    expect(badge?.title).toMatch(/software/);
    expect(await remembered(page)).toEqual([]);
  });

  test('measures wasm, WebGL and WebGPU (software), picks wasm, remembers it; measure again forgets it', async () => {
    const app = await openApp('backend-auto-measure', `?measureSoftware=1${SMALL}`);
    const { page } = app;
    const first = await watchUntilReady(page);
    console.log(`[backend-auto] "Measuring backends…" shown for ${first.measuringSeconds.toFixed(1)} s`);
    expect(first.sawMeasuring, 'status line said "Measuring backends…"').toBe(true);
    // Three candidates, each within its 5 s budget (boot included), one after the other.
    expect(first.measuringSeconds).toBeLessThan(3 * 5 + 2);

    const badge = await backendBadge(page);
    await app.screenshot();
    expect(badge?.text).toBe('wasm');
    const title = badge?.title ?? '';
    const wasmRate = /^auto picked wasm: wasm (\d+\.\d) updates\/s/.exec(title);
    expect(wasmRate, `badge title: ${title}`).not.toBeNull();
    expect(Number(wasmRate![1])).toBeGreaterThan(0);
    for (const gpu of ['webgl', 'webgpu']) {
      // Too slow for the budget, or finished and slower than wasm (a machine faster than this one).
      const rate = new RegExp(`\\b${gpu} (\\d+\\.\\d) updates/s`).exec(title);
      if (rate) expect(Number(rate[1])).toBeLessThan(Number(wasmRate![1]));
      else expect(title).toContain(`${gpu} too slow (> 5 s`);
    }
    expect(title).toContain('cpu skipped');

    const stored = await remembered(page);
    expect(stored.map((e) => [e.shape, e.backend])).toEqual([[SHAPE, 'wasm']]);

    // A reload of the same device and shape starts on the remembered backend without measuring.
    await page.reload({ waitUntil: 'load' });
    const again = await watchUntilReady(page);
    expect(again.sawMeasuring, 'measured again after a reload').toBe(false);
    const after = await backendBadge(page);
    expect(after?.text).toBe('wasm');
    expect(after?.title).toMatch(/^auto picked wasm \(measured \d{4}-\d\d-\d\d; .*\): wasm \d+\.\d updates\/s/);

    // "auto: measure again" forgets this shape's choice and measures.
    await page.selectOption('#backend-select', 'remeasure');
    expect(await remembered(page)).toEqual([]);
    expect(await page.locator('#backend-select').inputValue()).toBe('auto');
    await waitUntil(page, 'measuring again', async () => (await statusText(page)).startsWith('Measuring backends…'), {
      timeout: 10_000,
      interval: 100,
    });
    expect(app.errors.page).toEqual([]);
    expect(app.errors.console).toEqual([]);
  });
});
