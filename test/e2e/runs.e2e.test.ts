// Nothing lost: a run survives a reload (IndexedDB through the worker) and continues from where it was,
// the Runs list names it, and a backend that fails mid-run hands the run to a new worker on the next
// backend down, restored from its last save.
import { beforeAll, describe, expect, test } from 'vitest';
import {
  alertText,
  assertSetupSucceeded,
  backendBadge,
  button,
  clickWhenEnabled,
  openApp,
  updateCount,
  waitForUpdateCount,
  waitUntil,
} from './browser';

describe('saved runs', () => {
  beforeAll(() => assertSetupSucceeded());

  test('a reload continues the run: the same charts, the same update count, then training goes on', async () => {
    const app = await openApp('runs-reload', '?backend=wasm#v=2&autoplay=1');
    const { page } = app;
    await waitForUpdateCount(page, 6);
    await clickWhenEnabled(page, button(page, 'Pause'), 'the Pause button');
    // Pausing saves; the Runs list shows the run with the update it was saved at.
    const saved = page.locator('ul[aria-label="Saved runs"] li');
    const label = await waitUntil(page, 'the run in the Runs list', async () => {
      const text = (await saved.first().textContent()) ?? '';
      const n = Number(/(\d+) updates/.exec(text)?.[1] ?? 0);
      return n >= 6 && n === (await updateCount(page)) ? text : undefined;
    });
    const before = await updateCount(page);
    expect(label).toMatch(/reverse · ppo/);
    await page.reload();
    // The charts and the status line come back at the same update, and training continues from there.
    await waitUntil(page, 'the restored run', async () => ((await updateCount(page)) === before ? true : undefined));
    expect(await alertText(page)).toBeUndefined();
    await clickWhenEnabled(page, button(page, 'Play'), 'the Play button');
    await waitForUpdateCount(page, before + 2);
    expect(await page.locator('ul[aria-label="Saved runs"] li').count()).toBe(1);
    await app.screenshot();
  });

  test('a backend lost mid-run: the run moves to the next backend down and continues from its last save', async () => {
    // crashAt=4: the wasm backend fails at update 4, as a lost GPU device would.
    const app = await openApp('runs-recover', '?backend=wasm&crashAt=4#v=2&batchSize=16&autoplay=1');
    const { page } = app;
    const notice = await waitUntil(page, 'the recovery notice', () => alertText(page), { timeout: 60_000 });
    expect(notice).toMatch(/The wasm backend stopped: .*Continuing on cpu from the last save/);
    await waitUntil(page, 'the cpu backend', async () =>
      (await backendBadge(page))?.text === 'cpu' ? true : undefined,
    );
    // The saved history (update 1, the first save) is back, and the run trains on.
    await clickWhenEnabled(page, button(page, 'Play'), 'the Play button');
    await waitForUpdateCount(page, 3);
    expect(app.errors.page).toEqual([]);
    await app.screenshot();
  });
});
