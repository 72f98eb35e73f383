// Preset links in the real app: a link sets and starts the experiment, the URL follows every change,
// a malformed link is explained and still trains, `hide=` hides exactly the listed controls.
import { beforeAll, describe, expect, test } from 'vitest';
import {
  alertText,
  assertSetupSucceeded,
  button,
  clickWhenEnabled,
  openApp,
  statusText,
  waitForUpdateCount,
  waitUntil,
} from './browser';

describe('preset links', () => {
  beforeAll(() => assertSetupSucceeded());

  test('a link with autoplay=1 starts training with its values shown in the controls', async () => {
    const app = await openApp(
      'link-autoplay',
      '?backend=wasm#v=1&task=sort&learningRate=0.002&seed=7&autoplay=1&title=Sorting',
    );
    const { page } = app;
    await waitForUpdateCount(page, 2);
    expect(await page.getByLabel('Task', { exact: true }).inputValue()).toBe('sort');
    expect(await page.getByLabel('Learning rate', { exact: true }).inputValue()).toBe('0.002');
    expect(await page.getByLabel('Seed', { exact: true }).inputValue()).toBe('7');
    expect(await page.locator('.lesson-title').textContent()).toBe('Sorting');
    expect(await button(page, 'Pause').count()).toBe(1);
    await app.screenshot();
  });

  test('changing a knob rewrites the hash, and a reload keeps the value', async () => {
    const app = await openApp('link-follow', '?backend=wasm');
    const { page } = app;
    const beta = page.getByLabel('β (KL penalty)', { exact: true });
    await beta.fill('0.3');
    await beta.press('Enter');
    await waitUntil(page, 'the hash to hold beta=0.3', async () =>
      (await page.evaluate(() => location.hash)).includes('beta=0.3'),
    );
    expect(new URL(page.url()).search).toBe('?backend=wasm');
    await page.reload();
    await waitUntil(page, 'the β control to show 0.3 after reload', async () => (await beta.inputValue()) === '0.3');
    await app.screenshot();
  });

  test('a malformed link shows the banner and the app still trains', async () => {
    const app = await openApp(
      'link-malformed',
      '?backend=wasm#v=1&lr=banana&colour=red&batchSize=0&task=%E0%A4%A&title=%3Cscript%3Ealert(1)%3C%2Fscript%3E',
    );
    const { page } = app;
    const banner = await waitUntil(page, 'the alert banner', () => alertText(page), { timeout: 30_000 });
    expect(banner).toMatch(/banana/);
    expect(banner).toMatch(/colour/);
    expect(banner).toMatch(/Batch size \(batchSize\): 0 is outside 2…1024; using 2/);
    // The title is plain text: no script element was created from it.
    expect(await page.locator('.lesson-title').textContent()).toContain('<script>');
    expect(await page.locator('main script').count()).toBe(0);
    await clickWhenEnabled(page, button(page, 'Play'), 'the Play button');
    await waitForUpdateCount(page, 1);
    expect(await statusText(page)).toMatch(/^Update \d+/);
    await app.screenshot();
  });

  test('hide= hides exactly the listed controls, and "show all settings" brings them back', async () => {
    const app = await openApp('link-hide', '?backend=wasm#v=1&hide=beta,clipEpsilon,seed');
    const { page } = app;
    await waitUntil(page, 'the controls', async () => (await page.locator('.control').count()) > 0);
    const visibleKeys = async () =>
      page.locator('.control :is(input, select)').evaluateAll((els) => els.map((el) => el.id.replace('control-', '')));
    const shown = await visibleKeys();
    expect(shown).not.toContain('beta');
    expect(shown).not.toContain('clipEpsilon');
    expect(shown).not.toContain('seed');
    expect(shown).toContain('learningRate');
    await page.getByRole('button', { name: /Show all settings \(3 hidden/ }).click();
    const all = await visibleKeys();
    expect(all.length).toBe(shown.length + 3);
    await app.screenshot();
  });

  test('a TRPO link: the picker says what TRPO does, δ is a control, the clip is not used, its metrics are chartable', async () => {
    const app = await openApp('link-trpo', '?backend=wasm#v=3&algorithm=trpo');
    const { page } = app;
    expect(await page.locator('#control-algorithm').inputValue()).toBe('trpo');
    expect(await page.getByTestId('choice-help-algorithm').textContent()).toMatch(
      /mean KL to the old policy is at most δ/,
    );
    expect(await page.locator('#control-maxKl').isEnabled()).toBe(true);
    expect(await page.locator('#control-clipEpsilon').isDisabled()).toBe(true);
    const extraCharts = await page.locator('select option').allTextContents();
    expect(extraCharts).toEqual(expect.arrayContaining(['TRPO step KL (≤ δ)', 'KL moved by the update']));
    expect(app.errors.console).toEqual([]);
    expect(app.errors.page).toEqual([]);
  });

  test('a link opened in an open tab applies like a fresh load; the run it replaces is pinned, and Back returns to it', async () => {
    const app = await openApp('link-open-tab', '?backend=wasm#v=2&autoplay=1');
    const { page } = app;
    await waitForUpdateCount(page, 2);
    // An instructor's link pasted into the address bar of the tab that is training.
    await page.evaluate(() => {
      location.hash = '#v=2&task=sort&learningRate=0.002&title=Sorting&autoplay=1';
    });
    await waitUntil(page, 'the task control to show sort', async () =>
      (await page.getByLabel('Task', { exact: true }).inputValue()) === 'sort' ? true : undefined,
    );
    expect(await page.getByLabel('Learning rate', { exact: true }).inputValue()).toBe('0.002');
    expect(await page.locator('.lesson-title').textContent()).toBe('Sorting');
    // autoplay=1: the new run trains by itself; the reverse run it replaced is pinned.
    await waitUntil(page, 'the sort run to train', async () =>
      (await statusText(page)).match(/^Update \d+/) ? true : undefined,
    );
    expect(await page.locator('ul[aria-label="Pinned runs"] li').count()).toBe(1);
    // The address holds the applied link (canonical: autoplay is not an experiment setting).
    await waitUntil(page, 'the canonical hash', async () => {
      const hash = await page.evaluate(() => location.hash);
      return hash.includes('task=sort') && !hash.includes('autoplay') ? true : undefined;
    });
    // Back: the experiment before the link (reverse).
    await page.goBack();
    await waitUntil(page, 'the task control to show reverse again', async () =>
      (await page.getByLabel('Task', { exact: true }).inputValue()) === 'reverse' ? true : undefined,
    );
    expect(await page.evaluate(() => location.hash)).not.toContain('task=sort');
    await app.screenshot();
  });
});
