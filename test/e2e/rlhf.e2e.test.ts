// The RLHF pipeline in the app: a preference link runs SFT, then the reward model, then RL, in that
// order; the stage cards show the reward model's held-out accuracy; the reward chart draws gold beside
// the proxy and the over-optimisation chart draws both against √KL; the inspector shows both scores.
import { expect, test } from 'vitest';
import { openApp, waitForUpdateCount, waitUntil } from './browser';
import { STATUS_RECORDER, statusLog } from './status-recorder';

test('the pipeline preset runs SFT, reward model and RL in order and charts reward/gold', async () => {
  const link = '#v=1&task=preference&sftSteps=30&comparisons=64&rmSteps=60&autoplay=1';
  const app = await openApp('rlhf', '');
  const { page } = app;
  await page.addInitScript(STATUS_RECORDER);
  await page.goto(new URL(link, page.url()).href, { waitUntil: 'load' });
  await page.reload({ waitUntil: 'load' });
  await waitForUpdateCount(page, 5);

  const texts = (await statusLog(page)).map(([, text]) => text);
  const first = (pattern: RegExp) => texts.findIndex((t) => pattern.test(t));
  const sft = first(/^Stage 1\/3/);
  const rewardModel = first(/^Stage 2\/3/);
  const rl = first(/^Update \d+ · score -?[\d.]+ \(proxy\) · gold [\d.]+/);
  expect(sft, texts.join(' | ')).toBeGreaterThanOrEqual(0);
  expect(rewardModel).toBeGreaterThan(sft);
  expect(rl).toBeGreaterThan(rewardModel);

  const cards = page.locator('[data-stage]');
  expect(
    await cards.evaluateAll((els) => els.map((e) => [e.getAttribute('data-stage'), e.getAttribute('data-state')])),
  ).toEqual([
    ['sft', 'done'],
    ['reward-model', 'done'],
    ['rl', 'running'],
  ]);
  const accuracy = /held-out accuracy (\d\.\d\d)/.exec((await cards.nth(1).textContent()) ?? '');
  expect(accuracy, 'the reward model card shows its held-out accuracy').not.toBeNull();
  expect(Number(accuracy?.[1])).toBeGreaterThan(0.5);

  // The charts' text alternatives name their series with the latest values.
  const label = (chart: string) => page.locator(`figure[data-chart="${chart}"] canvas`).getAttribute('aria-label');
  await waitUntil(page, 'the reward chart to draw gold', async () =>
    /gold \(hidden human\) [\d.]+/.test((await label('reward')) ?? ''),
  );
  expect(await label('reward')).toMatch(/proxy \(reward model\) -?[\d.]+/);
  expect(await label('overoptimisation')).toMatch(/gold [\d.]+.*√KL/);

  const headers = await page.locator('.inspector th').allTextContents();
  expect(headers).toContain('proxy (reward model)');
  expect(headers).toContain('gold (human)');
  await app.screenshot('rlhf-pipeline');
  expect(app.errors.page).toEqual([]);
});

test('stages re-run: the reward model retrains, and RL restarts from the SFT policy with the old run pinned', async () => {
  const app = await openApp('rlhf-rerun', '#v=1&task=preference&sftSteps=20&comparisons=48&rmSteps=40&autoplay=1');
  const { page } = app;
  await waitForUpdateCount(page, 3);
  const rewardCard = page.locator('[data-stage="reward-model"]');
  await page.getByRole('button', { name: 'Re-train reward model' }).click();
  await waitUntil(
    page,
    'the reward model stage to run again',
    async () => (await rewardCard.getAttribute('data-state')) === 'running',
    { interval: 20 },
  );
  await waitUntil(
    page,
    'the reward model stage to finish again',
    async () => (await rewardCard.getAttribute('data-state')) === 'done',
  );
  // RL continues from the current policy: the update count keeps climbing.
  const before = await waitForUpdateCount(page, 1);
  await page.getByRole('button', { name: 'Play' }).click();
  await waitForUpdateCount(page, before + 2);

  await page.getByRole('button', { name: 'Restart RL from the SFT policy' }).click();
  await waitUntil(page, 'the old run to be pinned', async () =>
    ((await page.locator('figure[data-chart="reward"] canvas').getAttribute('aria-label')) ?? '').includes(
      'before re-run',
    ),
  );
  // Every status text from here on: at ~20 updates/s the restarted run passes `before` within a second,
  // faster than a poll of the status line could be sure to see it.
  await page.evaluate(STATUS_RECORDER);
  await page.getByRole('button', { name: 'Play' }).click();
  await waitUntil(page, 'RL to restart from update 1', async () => {
    const updates = (await statusLog(page)).map(([, text]) => Number(/^Update (\d+)/.exec(text)?.[1] ?? NaN));
    return updates.find((update) => update >= 1 && update < before);
  });
  await app.screenshot('rlhf-rerun');
  expect(app.errors.page).toEqual([]);
});
