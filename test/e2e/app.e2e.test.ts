// The built app in a real Chromium (headless, software rendering). Each test opens a fresh browser,
// saves a screenshot of its final state to artifacts/e2e/<name>.png (and <name>-failed.png on failure).
// DOM contract: buttons Play/Pause, Step, Reset, Download CSV, Download JSONL; #status-line
// (role=status); #alert-banner (role=alert); [data-testid=backend-badge]; figure[data-chart] canvas;
// a "Learning rate" labelled input; ?backend= and ?failBackend= URL parameters; keys space, s, r.
import { beforeAll, describe, expect, test } from 'vitest';
import {
  SELECTORS,
  alertText,
  assertSetupSucceeded,
  backendBadge,
  button,
  canvasFingerprint,
  canvasHasInk,
  clickWhenEnabled,
  describeApp,
  download,
  openApp,
  statusText,
  updateCount,
  waitForUpdateCount,
  waitForElement,
  waitUntil,
  type AppSession,
} from './browser';
import type { Page } from 'playwright-core';

/** The backend for tests about the UI rather than a backend: fast and the same on every machine. */
// A quarter of the default batch and fewer format steps: these tests are about the controls, not the
// learning, and a smaller run leaves the 2 cores to the browser and the other test files.
const WASM = '?backend=wasm#v=3&batchSize=32&sftSteps=20';

/** Backend start + format pretraining, until Play is enabled. */
const READY_TIMEOUT = 120_000;

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Waits until the run is ready (backend started, pretrained): Play is enabled. */
async function waitForReady(page: Page, timeout = READY_TIMEOUT): Promise<void> {
  const play = button(page, 'Play');
  await waitForElement(page, play, 'the Play button');
  await waitUntil(
    page,
    'the app to be ready (the Play button enabled)',
    async () => (await play.count()) > 0 && play.isEnabled(),
    {
      timeout,
    },
  );
}

/** Clicks Play and waits until the button reads Pause. */
async function play(page: Page, timeout = READY_TIMEOUT): Promise<void> {
  await clickWhenEnabled(page, button(page, 'Play'), 'the Play button', timeout);
  await waitUntil(page, 'the Play button to become Pause', async () => (await button(page, 'Pause').count()) > 0, {
    timeout: 30_000,
  });
}

/** Clicks Pause and waits until the button reads Play again (the update in flight has landed). */
async function pause(page: Page): Promise<void> {
  await clickWhenEnabled(page, button(page, 'Pause'), 'the Pause button', 30_000);
  await waitUntil(page, 'the Pause button to become Play', async () => (await button(page, 'Play').count()) > 0, {
    timeout: 60_000,
  });
}

/** Asserts that the count stays at `expected` for `ms`. */
async function expectCountStays(page: Page, expected: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const count = await updateCount(page);
    if (count !== expected) {
      throw new Error(
        `The update count moved from ${expected} to ${count}; it should not have.\n${await describeApp(page)}`,
      );
    }
    await sleep(250);
  }
}

async function expectNoErrors(app: AppSession): Promise<void> {
  const detail = `\n${await describeApp(app.page)}`;
  expect(app.errors.page, `uncaught errors on the page or in its worker${detail}`).toEqual([]);
  expect(app.errors.console, `console errors${detail}`).toEqual([]);
}

function parseJsonl(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`JSONL line ${i + 1} is not JSON: ${line.slice(0, 200)}`);
      }
    });
}

describe('Token RL Playground in Chromium', () => {
  // A failed global setup (no Chromium, the app does not build) fails the file once, with its reason.
  beforeAll(assertSetupSucceeded);

  test('loads with no console errors (default backend: auto)', async () => {
    const app = await openApp('load-default');
    const { page } = app;
    expect(await page.title()).toContain('Token RL Playground');
    // Errors come mostly from the worker (backend start, pretraining): the app must become ready (Play
    // enabled) — an app that never does fails here, after its errors are printed.
    const ready = await waitForReady(page).then(
      () => undefined,
      (error: Error) => error,
    );
    await app.screenshot();
    await expectNoErrors(app);
    expect(ready, 'the app became ready to play').toBeUndefined();
  });

  test('Play trains: the update count rises and every chart has ink', async () => {
    const app = await openApp('play', WASM);
    const { page } = app;
    const status = page.locator(SELECTORS.status);
    await waitForElement(page, status, `the status line (${SELECTORS.status})`);
    expect(await status.getAttribute('role'), `role of ${SELECTORS.status}`).toBe('status');

    // Empty charts have ink too (axes, grid): remember how each looked before training, to see data arrive.
    await waitForReady(page);
    const canvases = page.locator(SELECTORS.chartCanvas);
    const count = await canvases.count();
    expect(count, `charts (${SELECTORS.chartCanvas}) on the page`).toBeGreaterThanOrEqual(4);
    const before: string[] = [];
    for (let i = 0; i < count; i++) before.push(await canvasFingerprint(page, canvases.nth(i)));

    await play(page);
    const first = await waitForUpdateCount(page, 2);
    await waitForUpdateCount(page, first + 2, 60_000);
    expect(await statusText(page)).toMatch(/^Update \d+ · score -?\d+(\.\d+)? · KL \S+ nats · value loss \S+$/);

    const blank: number[] = [];
    const unchanged: number[] = [];
    for (let i = 0; i < count; i++) {
      // A chart may draw a frame or two after its data arrive.
      const inked = await waitUntil(page, `chart ${i + 1} to have ink`, () => canvasHasInk(page, canvases.nth(i)), {
        timeout: 10_000,
      }).catch(() => false);
      if (!inked) blank.push(i + 1);
      const redrawn = await waitUntil(
        page,
        `chart ${i + 1} to draw the training data`,
        async () => (await canvasFingerprint(page, canvases.nth(i))) !== before[i],
        { timeout: 10_000 },
      ).catch(() => false);
      if (!redrawn) unchanged.push(i + 1);
    }
    await app.screenshot();
    expect(blank, `blank chart canvases (1-based) of ${count}`).toEqual([]);
    expect(unchanged, `chart canvases (1-based) of ${count} that looked the same after training`).toEqual([]);
    await expectNoErrors(app);
  });

  test('Pause stops training: the count stays put for 1.5 s', async () => {
    const app = await openApp('pause', WASM);
    const { page } = app;
    await play(page);
    await waitForUpdateCount(page, 2);
    await pause(page);
    const paused = await updateCount(page);
    await expectCountStays(page, paused, 1_500);
    await app.screenshot();
    await expectNoErrors(app);
  });

  test('Step advances by exactly one update', async () => {
    const app = await openApp('step', WASM);
    const { page } = app;
    await waitForReady(page);
    const before = await updateCount(page);
    for (const expected of [before + 1, before + 2]) {
      await clickWhenEnabled(page, button(page, 'Step'), 'the Step button', 30_000);
      await waitForUpdateCount(page, expected, 60_000);
      await expectCountStays(page, expected, 1_000);
    }
    await app.screenshot();
    await expectNoErrors(app);
  });

  test('changing the learning rate mid-run shows in the exported optim/lr', async () => {
    const app = await openApp('learning-rate', WASM);
    const { page } = app;
    const lr = page.getByLabel('Learning rate', { exact: true });
    await waitForElement(page, lr, 'the "Learning rate" input');
    await play(page);
    await waitForUpdateCount(page, 2);

    await lr.fill('0.0005', { timeout: 10_000 });
    await lr.press('Enter');
    const changedAt = await updateCount(page);
    // The update in flight when the change lands may use either rate; the ones after it use the new one.
    await waitForUpdateCount(page, changedAt + 3, 90_000);
    await pause(page);
    const last = await updateCount(page);
    expect(await lr.inputValue()).toBe('0.0005');

    const jsonl = await download(page, button(page, 'Download JSONL'));
    expect(jsonl.name).toMatch(/\.jsonl$/);
    const rows = parseJsonl(jsonl.text);
    expect(rows.length, 'one JSONL row per update').toBe(last);
    for (const key of ['update', 'reward/score', 'optim/lr']) expect(rows[0], `JSONL key ${key}`).toHaveProperty([key]);
    expect(rows.map((r) => r.update)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    expect(rows[0]['optim/lr'], 'the learning rate before the change').not.toBe(0.0005);
    const after = rows.filter((r) => (r.update as number) > changedAt + 1);
    expect(after.length).toBeGreaterThanOrEqual(2);
    expect(
      after.map((r) => [r.update, r['optim/lr']]),
      'optim/lr of the updates after the change',
    ).toEqual(after.map((r) => [r.update, 0.0005]));

    const csv = await download(page, button(page, 'Download CSV'));
    expect(csv.name).toMatch(/\.csv$/);
    const lines = csv.text.trim().split('\n');
    expect(lines[0].split(',')).toEqual(expect.arrayContaining(['update', 'reward/score', 'optim/lr']));
    expect(lines.length - 1, 'one CSV row per update').toBe(last);

    await app.screenshot();
    await expectNoErrors(app);
  });

  test('?backend=webgpu trains at least 2 updates with finite numbers (SwiftShader: slow)', async () => {
    // A smaller run (the link in the hash): WebGPU on SwiftShader is a CPU emulation of a GPU.
    const app = await openApp('backend-webgpu', '?backend=webgpu#v=1&batchSize=8&epochs=2&minibatches=2&sftSteps=2');
    const { page } = app;
    await play(page, 420_000);
    await waitForUpdateCount(page, 2, 420_000);
    const badge = await backendBadge(page);
    await app.screenshot();
    expect(badge?.text, 'backend badge').toContain('webgpu');
    // SwiftShader is a software adapter, so the barrier-free programs run, and the tooltip says so.
    expect(badge?.title, 'backend badge title (why this backend)').toContain(
      'software adapter: barrier-free WebGPU programs',
    );
    // Guards against kernels that silently compute garbage on this backend (tfjs-webgpu's addN did).
    expect(await statusText(page)).toMatch(/KL -?\d+\.\d+ nats · value loss \d+\.\d+/);
    expect((await alertText(page)) ?? '').not.toMatch(/NaN/);
    await expectNoErrors(app);
  }, 900_000);

  test('?backend=wasm trains', async () => {
    const app = await openApp('backend-wasm', WASM);
    const { page } = app;
    await play(page);
    await waitForUpdateCount(page, 3);
    const badge = await backendBadge(page);
    await app.screenshot();
    expect(badge?.text, 'backend badge').toContain('wasm');
    expect(badge?.title, 'backend badge title (why this backend)').not.toBe('');
    await expectNoErrors(app);
  });

  test('?failBackend=webgpu,webgl&backend=webgpu falls back and says so', async () => {
    const app = await openApp('fallback', '?failBackend=webgpu,webgl&backend=webgpu');
    const { page } = app;
    await waitForElement(page, page.locator(SELECTORS.badge), 'the backend badge');
    const badge = await waitUntil(page, 'the backend badge to name wasm or cpu', async () => {
      const b = await backendBadge(page);
      return b && /\b(wasm|cpu)\b/.test(b.text) ? b : undefined;
    });
    expect(badge.text).not.toContain('webgpu');
    expect(badge.title, 'backend badge title (why this backend)').not.toBe('');
    const banner = await waitUntil(page, 'the alert banner', () => alertText(page), { timeout: 30_000 });
    expect(banner, 'alert banner').toMatch(/webgpu/i);
    expect(banner, 'alert banner').toMatch(/fail/i);
    await play(page);
    await waitForUpdateCount(page, 1);
    await app.screenshot();
  });

  test('keyboard: s steps by exactly one, not while typing in an input', async () => {
    const app = await openApp('keyboard-step', WASM);
    const { page } = app;
    await waitForReady(page);
    const before = await updateCount(page);
    await page.locator('body').focus();
    await page.keyboard.press('s');
    await waitForUpdateCount(page, before + 1, 60_000);
    await expectCountStays(page, before + 1, 1_000);

    await page.getByLabel('Learning rate', { exact: true }).focus();
    await page.keyboard.press('s');
    await expectCountStays(page, before + 1, 1_000);
    await app.screenshot();
    await expectNoErrors(app);
  });

  test('keyboard: space plays and pauses, r resets', async () => {
    const app = await openApp('keyboard-play-reset', WASM);
    const { page } = app;
    await waitForReady(page);
    await page.locator('body').focus();
    await page.keyboard.press('Space');
    await waitUntil(
      page,
      'space to start training (Pause shown)',
      async () => (await button(page, 'Pause').count()) > 0,
      {
        timeout: 30_000,
      },
    );
    await waitForUpdateCount(page, 2);
    await page.keyboard.press('Space');
    await waitUntil(page, 'space to pause (Play shown)', async () => (await button(page, 'Play').count()) > 0, {
      timeout: 60_000,
    });
    await page.keyboard.press('r');
    await waitUntil(page, 'r to reset the run (update count back to 0)', async () => (await updateCount(page)) === 0, {
      timeout: 30_000,
    });
    await waitForReady(page);
    await app.screenshot();
    await expectNoErrors(app);
  });
});
