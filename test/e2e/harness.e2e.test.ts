// The e2e harness itself: the tests of a file share one browser (browser.ts, openApp), so what one test
// stores must be gone when the next opens the app, as on a first visit.
import { beforeAll, describe, expect, test } from 'vitest';
import { assertSetupSucceeded, openApp } from './browser';

const KEY = 'e2e-harness-left-behind';

describe('the e2e harness', () => {
  beforeAll(() => assertSetupSucceeded());

  test('a test stores something in local storage and IndexedDB', async () => {
    const { page } = await openApp('harness-store', '?backend=wasm');
    const stored = await page.evaluate(async (key) => {
      localStorage.setItem(key, '1');
      await new Promise<void>((resolve, reject) => {
        const request = indexedDB.open(key);
        request.onsuccess = () => {
          request.result.close();
          resolve();
        };
        request.onerror = () => reject(request.error);
      });
      return { local: localStorage.getItem(key), databases: (await indexedDB.databases()).map((d) => d.name) };
    }, KEY);
    expect(stored).toEqual({ local: '1', databases: expect.arrayContaining([KEY]) as unknown });
  });

  test('the next test finds neither', async () => {
    const { page } = await openApp('harness-fresh', '?backend=wasm');
    const found = await page.evaluate(
      async (key) => ({
        local: localStorage.getItem(key),
        databases: (await indexedDB.databases()).map((d) => d.name),
      }),
      KEY,
    );
    expect(found.local).toBeNull();
    expect(found.databases).not.toContain(KEY);
  });
});
