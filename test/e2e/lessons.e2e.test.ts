// Issue 20 in the real app: an instructor's lesson link shows its text as text, runs its arms one after
// the other and pins them, shows only its charts; a challenge link ends in met or not met with the numbers;
// the lesson editor's preview and link follow the form.
import { beforeAll, describe, expect, test } from 'vitest';
import { assertSetupSucceeded, openApp, waitUntil } from './browser';

const LESSON = '[aria-label="Lesson"]';
const TINY = 'v=4&task=target&batchSize=8&sftSteps=2';

describe('lessons in a link', () => {
  beforeAll(() => assertSetupSucceeded());

  test('an authored comparison: text as text, "Run the comparison" pins both arms, only its charts', async () => {
    const text = encodeURIComponent(
      'Compare `beta`.\n\n<b>bold</b> <img src=x onerror=alert(1)> <script>alert(1)</script>',
    );
    const app = await openApp(
      'lesson-comparison',
      `?backend=wasm#${TINY}&title=Two+betas&text=${text}&arm=low|beta=0&arm=high|beta=0.5&updates=3&charts=reward/score,kl/ref`,
    );
    const { page } = app;
    const lesson = page.locator(LESSON);
    await waitUntil(page, 'the lesson panel', async () => (await lesson.count()) > 0);
    // The link's markup is shown as typed; the only elements made from the text are <p> and <code>.
    expect(await lesson.locator('.lesson-text').innerText()).toContain('<b>bold</b> <img src=x onerror=alert(1)>');
    const tags = await lesson
      .locator('.lesson-text *')
      .evaluateAll((els) => [...new Set(els.map((e) => e.tagName.toLowerCase()))].sort());
    expect(tags).toEqual(['code', 'p']);
    expect(await page.locator('main :is(script, img, b)').count()).toBe(0);
    // Only the lesson's two charts.
    expect(
      await page.locator('figure[data-chart]').evaluateAll((f) => f.map((e) => e.getAttribute('data-chart'))),
    ).toEqual(['reward', 'kl']);

    await page.getByRole('button', { name: 'Run the comparison' }).click();
    const pinned = page.getByRole('list', { name: 'Pinned runs' }).locator('li .label');
    await waitUntil(page, 'two pinned arms', async () => (await pinned.count()) === 2, { timeout: 90_000 });
    expect(await pinned.allInnerTexts()).toEqual(['low', 'high']);
    // The run the comparison ended on is the last arm's, and the lesson is still on screen.
    expect(await page.getByLabel('β (KL penalty)', { exact: true }).inputValue()).toBe('0.5');
    expect(await lesson.count()).toBe(1);
    expect(app.errors.page).toEqual([]);
    await app.screenshot();
  });

  test('a challenge link is met with its numbers; a short budget is not met; a broken limit is said', async () => {
    const met = await openApp(
      'lesson-challenge-met',
      '?backend=wasm#v=4&task=target&batchSize=32&sftSteps=30&goal=reward/score>=0.5@40&limit=beta<=0.3&autoplay=1',
    );
    const status = met.page.locator(`${LESSON} [role="status"]`);
    const text = await waitUntil(met.page, 'the challenge to be met', async () => {
      const t = await status.innerText();
      return /Met:|Not met/.test(t) ? t : undefined;
    });
    expect(text).toMatch(
      /^✓ Met: score 0\.[5-9]\d* at update \d+ of 40 \(goal ≥ 0\.5, mean of the last 5 updates\)\.$/,
    );
    await met.screenshot();

    const missed = await openApp(
      'lesson-challenge-missed',
      `?backend=wasm#${TINY}&goal=reward/score>=0.99@3&autoplay=1`,
    );
    const missedStatus = missed.page.locator(`${LESSON} [role="status"]`);
    const missedText = await waitUntil(missed.page, 'the challenge to end', async () => {
      const t = await missedStatus.innerText();
      return /Met:|Not met/.test(t) ? t : undefined;
    });
    expect(missedText).toMatch(/^✗ Not met: score 0\.\d+ at update 3 of 3; the goal was ≥ 0\.99\.$/);

    // Settings that break a limit are said before the student presses play.
    await missed.page.evaluate(() => (location.hash = '#v=4&beta=0.5&goal=reward/score>=0.9@50&limit=beta<=0.3'));
    await waitUntil(missed.page, 'the limit warning', async () =>
      /Your settings break a limit: beta is 0.5, but the challenge needs beta ≤ 0.3/.test(
        await missed.page.locator(LESSON).innerText(),
      ),
    );
  });

  test('the lesson editor: an arm from the current settings, a goal, and a link that opens the lesson', async () => {
    const app = await openApp('lesson-editor', `?backend=wasm#${TINY}`);
    const { page } = app;
    await page.getByRole('button', { name: 'Make a lesson' }).click();
    const editor = page.locator('[aria-label="Lesson editor"]');
    await editor.getByLabel('Title').fill('My lesson');
    await editor.locator('textarea').fill('Watch the `KL` chart.');
    await editor.getByRole('button', { name: 'Add the current settings as an arm' }).click();
    await editor.getByLabel('Arm 1 settings').fill('beta=0');
    await editor.getByRole('button', { name: 'Add the current settings as an arm' }).click();
    await editor.getByLabel('Arm 2 settings').fill('beta=0.2;nope=1');
    await editor.getByLabel('A challenge with a goal').check();
    const preview = editor.getByLabel('Preview');
    await waitUntil(page, 'the preview to show the arms and the problem', async () => {
      const t = await preview.innerText();
      return t.includes('arm 2: beta = 0.2') && t.includes('"nope=1" is not a known key=value');
    });
    expect(await preview.locator('code').innerText()).toBe('KL');
    const link = await editor.getByLabel("The lesson's link").inputValue();
    expect(link).toMatch(
      /#v=4&task=target&batchSize=8&sftSteps=2&title=My\+lesson&text=.*&arm=arm%201\|beta=0&arm=arm%202\|beta=0\.2&goal=reward\/score%3E=0\.9@100$/,
    );
    await app.screenshot();
    await editor.getByRole('button', { name: 'Open it here' }).click();
    await waitUntil(page, 'the lesson to open', async () =>
      (await page.locator(LESSON).innerText()).includes('Run the comparison'),
    );
    expect(await page.locator('.lesson-title').innerText()).toBe('My lesson');
  });
});
