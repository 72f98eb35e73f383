// "Explain this update" in the built app: an explain=1 link opens the explainer, the button runs one
// update, and the five stages are reachable with the keyboard alone, each a region with a heading and
// its numbers as text. That the numbers are the trainer's own is test/explain.test.ts's job.
import { beforeAll, describe, expect, test } from 'vitest';
import { assertSetupSucceeded, openApp, updateCount, waitUntil } from './browser';

const LINK = '?backend=wasm#v=3&batchSize=32&sftSteps=20&explain=1';

describe('Explain this update', () => {
  beforeAll(assertSetupSucceeded);

  test('an explain=1 link opens it; one update is walked through in five stages with ← and →', async () => {
    const app = await openApp('explain', LINK);
    const { page } = app;
    const explainer = page.getByRole('region', { name: 'Explain this update' });
    await explainer.waitFor({ timeout: 60_000 });

    const run = page.getByRole('button', { name: 'Explain this update' }).first();
    await waitUntil(page, 'the Explain button to be enabled', () => run.isEnabled(), { timeout: 120_000 });
    await run.click();
    const region = page.getByRole('region', { name: /^Explain update 1 — PPO/ });
    await region.waitFor({ timeout: 60_000 });
    expect(await updateCount(page)).toBe(1);

    // Stage 1: the sampled tokens with their probabilities, as text.
    const stage = page.getByRole('region', { name: /^\d\. / });
    await expect.poll(() => stage.getByRole('heading').textContent()).toBe('1. Rollout');
    const firstRow = await stage.locator('tbody tr').first().textContent();
    expect(firstRow).toMatch(/0\.\d{3}/);

    // → walks forward through the stages, ← back; the keyboard alone is enough.
    await page.locator('body').focus();
    const headings = ['2. Rewards', '3. Returns and advantages', '4. The objective', '5. The step'];
    for (const heading of headings) {
      await page.keyboard.press('ArrowRight');
      await expect.poll(() => stage.getByRole('heading').textContent()).toBe(heading);
    }
    // Stage 5: one row per optimizer step (4 epochs × 4 minibatches) and the chosen token's distribution.
    expect(await stage.locator('table').first().locator('tbody tr').count()).toBe(16);
    expect(await stage.getByText('(sampled)').count()).toBe(1);
    await page.keyboard.press('ArrowLeft');
    await expect.poll(() => stage.getByRole('heading').textContent()).toBe('4. The objective');

    // Picking another token of the episode changes which token the formulas are for.
    await page.keyboard.press('ArrowLeft');
    const tokens = region.getByRole('group', { name: 'Token of this episode' }).getByRole('button');
    const count = await tokens.count();
    expect(count).toBeGreaterThan(1);
    await tokens.nth(count - 1).click();
    expect(await tokens.nth(count - 1).getAttribute('aria-pressed')).toBe('true');
    const label = (await tokens.nth(count - 1).textContent())?.trim() ?? '';
    await expect.poll(() => stage.locator('.formula p').first().textContent()).toBe(`For ${label}:`);
    await app.screenshot('explain-stage3');
    expect(app.errors.page).toEqual([]);
  });
});
