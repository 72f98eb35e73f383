// The playground on any screen (issue 16): a phone (390 × 844) and a tablet (820 × 1180), each in
// portrait and landscape. One browser and one page for the whole file, resized between tests: the app
// loads and pretrains once, takes one update (so the inspector has samples and the charts a point), and
// each viewport is then checked as it is, without further training.
// Checked per viewport: nothing wider than the viewport, every chart canvas inside it, Play reachable,
// the Settings drawer opens (aria-expanded) and shows "Learning rate", touch targets ≥ 44 px, and (on
// the phone) the settings PPO ignores sit disabled, with their reasons, under a disclosure. Plus axe-core
// at desktop and phone: no serious or critical violation, WCAG 2.2's target size included.
// Screenshots: artifacts/e2e/responsive-*.png. AXE_REPORT=1 prints every axe violation (any impact).
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { AxeResults, RunOptions } from 'axe-core';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { inject } from 'vitest';
import {
  ARTIFACTS_DIR,
  button,
  clickWhenEnabled,
  describeApp,
  launchBrowser,
  screenshot,
  waitForUpdateCount,
  waitUntil,
  type BrowserSession,
} from './browser';

const require = createRequire(import.meta.url);

/** A small run (see app.e2e.test.ts): these tests are about the layout, not the learning. */
const WASM = '?backend=wasm#v=3&batchSize=32&sftSteps=20';

const VIEWPORTS = [
  { name: 'phone-portrait', width: 390, height: 844, phone: true },
  { name: 'phone-landscape', width: 844, height: 390, phone: true },
  { name: 'tablet-portrait', width: 820, height: 1180, phone: false },
  { name: 'tablet-landscape', width: 1180, height: 820, phone: false },
] as const;
const DESKTOP = { width: 1366, height: 768 };

/** WCAG 2.5.5's target size, which the issue asks of every control at phone and tablet widths. */
const TOUCH_PX = 44;

let session: BrowserSession | undefined;
const pageOf = (): Page => {
  if (!session) throw new Error('the browser did not start (see beforeAll)');
  return session.page;
};

const settingsButton = (page: Page) => page.getByRole('button', { name: 'Settings', exact: true });
const learningRate = (page: Page) => page.getByLabel('Learning rate', { exact: true });

/** Resizes the page and waits until the charts have followed (Chart.js resizes on its own observer). */
async function resize(page: Page, width: number, height: number): Promise<void> {
  await page.setViewportSize({ width, height });
  await waitUntil(
    page,
    `the charts to fit ${width} px`,
    () =>
      page.evaluate(
        (w) =>
          [...document.querySelectorAll('figure[data-chart] canvas')].every(
            (c) => c.getBoundingClientRect().right <= w + 1,
          ),
        width,
      ),
    { timeout: 5_000, interval: 50 },
  );
  // Two frames: layout, then the chart's redraw at its new size.
  await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
}

interface Offender {
  what: string;
  left: number;
  right: number;
}

/**
 * Rendered elements that reach past the viewport's left or right edge. The one exception is content
 * inside a container that scrolls sideways on its own (overflow-x auto or scroll, and wider inside than
 * out): today only the explainer's tables of numbers (ExplainPanel's `.scroll`) on a phone. Such a
 * container must itself fit, which this check still sees; the settings column and `main` clip instead
 * (overflow-x hidden), so anything too wide inside them is reported.
 */
function offendersOf(page: Page): Promise<Offender[]> {
  return page.evaluate(() => {
    const width = window.innerWidth;
    const scrollsSideways = (el: Element) => /(auto|scroll)/.test(getComputedStyle(el).overflowX);
    const describe = (el: Element) => {
      const id = el.id ? `#${el.id}` : '';
      const cls = typeof el.className === 'string' && el.className ? `.${el.className.trim().split(/\s+/)[0]}` : '';
      const text = (el.textContent ?? '').replace(/\s+/g, ' ').trim().slice(0, 40);
      return `<${el.tagName.toLowerCase()}${id}${cls}> "${text}"`;
    };
    const found: { what: string; left: number; right: number }[] = [];
    for (const el of document.body.querySelectorAll('*')) {
      const rect = el.getBoundingClientRect();
      if (rect.width === 0 && rect.height === 0) continue;
      if (rect.right <= width + 1 && rect.left >= -1) continue;
      let parent = el.parentElement;
      let inScroller = false;
      while (parent && parent !== document.body) {
        if (scrollsSideways(parent) && parent.scrollWidth > parent.clientWidth) inScroller = true;
        parent = parent.parentElement;
      }
      if (!inScroller) found.push({ what: describe(el), left: Math.round(rect.left), right: Math.round(rect.right) });
    }
    return found.slice(0, 12);
  });
}

/** Visible controls smaller than TOUCH_PX in either direction (a checkbox counts with its label). */
function smallTargetsOf(page: Page): Promise<string[]> {
  return page.evaluate((min) => {
    const small: string[] = [];
    const visible = (el: Element) => {
      const rect = el.getBoundingClientRect();
      return rect.width > 0 && rect.height > 0 && getComputedStyle(el).visibility !== 'hidden';
    };
    for (const el of document.querySelectorAll('button, select, input, summary, a[href]')) {
      if (!visible(el)) continue;
      const target = el instanceof HTMLInputElement && el.type === 'checkbox' ? (el.closest('label') ?? el) : el;
      const { width, height } = target.getBoundingClientRect();
      if (width < min - 0.5 || height < min - 0.5) {
        const name = (el.getAttribute('aria-label') ?? el.textContent ?? el.id).replace(/\s+/g, ' ').trim();
        small.push(`<${el.tagName.toLowerCase()}> "${name.slice(0, 40)}" ${Math.round(width)}×${Math.round(height)}`);
      }
    }
    return small;
  }, TOUCH_PX);
}

/**
 * Scrolls the locator into view and asserts it is visible and inside the viewport, and (unless it is
 * meant to be disabled) clickable there.
 */
async function expectReachable(page: Page, locator: Locator, what: string, clickable = true): Promise<void> {
  await locator.scrollIntoViewIfNeeded({ timeout: 5_000 });
  expect(await locator.isVisible(), `${what} visible`).toBe(true);
  const box = await locator.boundingBox();
  const viewport = page.viewportSize();
  expect(box, `${what} has a box`).not.toBeNull();
  if (box && viewport) {
    expect(box.x, `${what}'s left edge`).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width, `${what}'s right edge`).toBeLessThanOrEqual(viewport.width + 1);
    expect(box.y, `${what}'s top edge`).toBeGreaterThanOrEqual(0);
    expect(box.y + box.height, `${what}'s bottom edge`).toBeLessThanOrEqual(viewport.height + 1);
  }
  // Playwright's actionability checks (visible, stable, enabled, not covered) without clicking.
  if (clickable) await locator.click({ trial: true, timeout: 5_000 });
}

/** A screenshot in artifacts/e2e/, with the pointer parked on the page's corner (no hover tooltips). */
async function shoot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<void> {
  await page.mouse.move(0, 0);
  if (!options.fullPage) {
    await screenshot(page, name);
    return;
  }
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS_DIR, `${name}.png`), fullPage: true, timeout: 30_000 });
}

type Violation = AxeResults['violations'][number];

/** axe-core on the whole document as it is shown (hidden content is not checked). */
async function axeViolations(page: Page): Promise<Violation[]> {
  // The app's CSP refuses an inline <script> (page.addScriptTag); DevTools' evaluate is not subject to it.
  if (!(await page.evaluate(() => 'axe' in window)))
    await page.evaluate(readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8'));
  // Every rule axe runs by default, plus WCAG 2.2's target size (24 px; off by default in axe 4.14).
  const results = await page.evaluate(() =>
    (window as unknown as { axe: { run: (context: Document, options: RunOptions) => Promise<AxeResults> } }).axe.run(
      document,
      { rules: { 'target-size': { enabled: true } } },
    ),
  );
  return results.violations;
}

const serious = (violations: Violation[]) =>
  violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');

const summary = (violations: Violation[]) =>
  violations.map((v) => {
    const where = v.nodes
      .slice(0, 3)
      .map((n) => n.target.join(' '))
      .join(' | ');
    return `${v.id} (${v.impact}, ${v.nodes.length} nodes): ${v.help} — ${where}`;
  });

function report(label: string, violations: Violation[]): void {
  if (process.env.AXE_REPORT) console.log(`axe ${label}:\n  ${summary(violations).join('\n  ') || 'none'}`);
}

describe('the playground on phones and tablets', () => {
  beforeAll(async () => {
    session = await launchBrowser();
    const page = session.page;
    await page.goto(new URL(WASM, inject('baseURL')).href, { waitUntil: 'load', timeout: 60_000 });
    // One update: samples in the inspector and a point on each chart, laid out like a run in progress.
    await clickWhenEnabled(page, button(page, 'Step'), 'the Step button');
    await waitForUpdateCount(page, 1, 60_000);
  }, 120_000);

  afterAll(async () => {
    await session?.close();
  });

  test.each(VIEWPORTS)(
    '$name ($width × $height): fits the width, Play reachable, settings in a drawer',
    async ({ name, width, height }) => {
      const page = pageOf();
      // A drawer a failed test left open would fail the next one too.
      const leftOpen = page.locator('[aria-controls="settings-drawer"][aria-expanded="true"]');
      if ((await leftOpen.count()) > 0) await page.keyboard.press('Escape');
      await resize(page, width, height);
      await page.evaluate(() => window.scrollTo(0, 0));

      // Nothing scrolls sideways, and nothing pokes out (an element can overflow a clipping parent).
      const scroll = await page.evaluate(() => ({
        scrollWidth: document.documentElement.scrollWidth,
        innerWidth: window.innerWidth,
      }));
      expect(scroll.scrollWidth, `the page's scroll width at ${width} px`).toBeLessThanOrEqual(scroll.innerWidth);
      expect(await offendersOf(page), `elements past the viewport's edge at ${width} px`).toEqual([]);

      const canvases = await page.evaluate(() =>
        [...document.querySelectorAll('figure[data-chart] canvas')].map((c) => {
          const r = c.getBoundingClientRect();
          return { chart: c.closest('figure')?.dataset.chart, left: r.left, right: r.right, width: r.width };
        }),
      );
      expect(canvases.length, 'chart canvases').toBeGreaterThanOrEqual(4);
      for (const c of canvases) {
        expect(c.left, `chart ${c.chart}'s left edge`).toBeGreaterThanOrEqual(0);
        expect(c.right, `chart ${c.chart}'s right edge`).toBeLessThanOrEqual(width);
        expect(c.width, `chart ${c.chart}'s width`).toBeGreaterThan(200);
      }

      // The touch targets of the main view (the drawer's are checked below, open).
      expect(await smallTargetsOf(page), `controls under ${TOUCH_PX} px at ${width} × ${height}`).toEqual([]);

      await expectReachable(page, button(page, 'Play'), 'Play');
      await page.evaluate(() => window.scrollTo(0, 0));
      await shoot(page, `responsive-${name}`, { fullPage: true });

      // The settings: a drawer behind a button that says whether it is open.
      const toggle = settingsButton(page);
      await expectReachable(page, toggle, 'the Settings button');
      expect(await toggle.getAttribute('aria-expanded')).toBe('false');
      expect(await learningRate(page).isVisible(), '"Learning rate" before the drawer opens').toBe(false);
      await toggle.click();
      expect(await toggle.getAttribute('aria-expanded')).toBe('true');
      await expectReachable(page, learningRate(page), '"Learning rate" in the open drawer');
      expect(await offendersOf(page), `elements past the edge with the drawer open`).toEqual([]);
      expect(await smallTargetsOf(page), `drawer controls under ${TOUCH_PX} px`).toEqual([]);
      if (name === 'phone-portrait') {
        await page.evaluate(() => document.querySelector('#settings-drawer .drawer-body')?.scrollTo(0, 0));
        await shoot(page, `responsive-${name}-settings`);
        // A setting PPO never reads is not among the controls; the disclosure lists it, disabled, with why.
        const baseline = page.locator('#control-baseline');
        const unused = page.getByTestId('unused-settings');
        expect(await baseline.isVisible(), 'Baseline (unused by PPO) before the disclosure opens').toBe(false);
        await unused.locator('summary').click();
        const said = (await unused.locator('summary').textContent())?.replace(/\s+/g, ' ').trim();
        expect(said).toMatch(/^\d+ settings do nothing in this run \(ppo on reverse\): which and why$/);
        await expectReachable(page, baseline, 'Baseline in the open disclosure', false);
        expect(await baseline.isDisabled()).toBe(true);
        expect(await page.locator('#reason-baseline').isVisible(), 'the reason Baseline does nothing').toBe(true);
        expect(await offendersOf(page), `elements past the edge with the disclosure open`).toEqual([]);
        expect(await smallTargetsOf(page), `disclosure controls under ${TOUCH_PX} px`).toEqual([]);
        await unused.locator('summary').scrollIntoViewIfNeeded();
        await shoot(page, `responsive-${name}-unused-settings`);
        await unused.locator('summary').click();
      }
      // Escape closes it and gives the focus back to its button.
      await learningRate(page).focus();
      await page.keyboard.press('Escape');
      expect(await toggle.getAttribute('aria-expanded')).toBe('false');
      expect(await learningRate(page).isVisible()).toBe(false);
      expect(await page.evaluate(() => document.activeElement?.textContent?.trim())).toBe('Settings');
      expect(session?.page.isClosed(), await describeApp(page)).toBe(false);
    },
  );

  // The explainer (one update, five stages) must stack in the same widths: each stage is checked at
  // each size, and the phone portrait's are saved as screenshots.
  test('explain mode: every stage fits each viewport, with touch-sized controls', async () => {
    const page = pageOf();
    await resize(page, 390, 844);
    await page.getByRole('button', { name: 'Explain this update' }).first().click();
    const region = page.getByRole('region', { name: /^Explain update \d+/ });
    await region.waitFor({ timeout: 60_000 });
    const heading = page.getByRole('region', { name: /^\d\. / }).getByRole('heading');
    // Every stage at every size, then one assertion: a run lists all that do not fit.
    const problems: Record<string, string[]> = {};
    for (let stage = 1; stage <= 5; stage++) {
      await waitUntil(page, `stage ${stage}`, async () => (await heading.textContent())?.startsWith(`${stage}.`));
      for (const { name, width, height } of VIEWPORTS) {
        await resize(page, width, height);
        const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
        const found = [
          ...(scrollWidth > width ? [`the page scrolls sideways (${scrollWidth} px)`] : []),
          ...(await offendersOf(page)).map((o) => `past the edge: ${o.what} ${o.left}…${o.right}`),
          ...(await smallTargetsOf(page)).map((t) => `under ${TOUCH_PX} px: ${t}`),
        ];
        if (found.length > 0) problems[`stage ${stage} at ${name}`] = found;
      }
      await resize(page, 390, 844);
      await region.scrollIntoViewIfNeeded();
      await shoot(page, `responsive-explain-stage${stage}`);
      if (stage < 5) await region.getByRole('button', { name: 'Next', exact: true }).click();
    }
    expect(problems, 'explain stages that do not fit').toEqual({});
  });

  test('axe-core: no serious or critical violation at desktop and phone', async () => {
    const page = pageOf();
    await resize(page, DESKTOP.width, DESKTOP.height);
    // The settings column is always shown at desktop widths: no drawer button there.
    expect(await settingsButton(page).isVisible()).toBe(false);
    expect(await learningRate(page).isVisible()).toBe(true);
    // Open the collapsed boxes (lessons, saved runs) so their contents are checked too.
    const openAll = (open: boolean) =>
      page.evaluate((o) => document.querySelectorAll('details').forEach((d) => (d.open = o)), open);
    await openAll(true);
    const desktop = await axeViolations(page);
    report('desktop', desktop);
    await openAll(false);
    await page.evaluate(() => document.querySelector('#settings-drawer .drawer-body')?.scrollTo(0, 0));
    await shoot(page, 'responsive-desktop');

    await resize(page, 390, 844);
    const phone = await axeViolations(page);
    report('phone', phone);
    await settingsButton(page).click();
    await openAll(true);
    const drawer = await axeViolations(page);
    report('phone, settings open', drawer);
    await openAll(false);
    await page.keyboard.press('Escape');

    expect(summary(serious(desktop)), 'serious/critical axe violations at 1366 × 768').toEqual([]);
    expect(summary(serious(phone)), 'serious/critical axe violations at 390 × 844').toEqual([]);
    expect(summary(serious(drawer)), 'serious/critical axe violations at 390 × 844, settings open').toEqual([]);
  });
});
