// The backend self-test page: every backend this Chromium can start (cpu, wasm, WebGL and WebGPU on
// SwiftShader here) computes the fixed batch's PPO losses, gradient and values within 1e-4 of cpu.
import { expect, test } from 'vitest';
import { openApp, waitUntil } from './browser';

test('selftest.html: wasm, webgl and webgpu agree with cpu to 1e-4', async () => {
  const app = await openApp('selftest', 'selftest.html');
  const { page } = app;
  await waitUntil(page, 'the self-test to finish', () => page.evaluate(() => document.body.dataset.done === 'true'), {
    timeout: 240_000,
  });
  const rows = await page.$$eval('tr[data-backend]', (trs) =>
    trs.map((tr) => ({ backend: tr.dataset.backend, difference: tr.dataset.maxDifference, text: tr.textContent })),
  );
  await app.screenshot();
  console.log(rows.map((r) => `${r.backend}: max |Δ| ${r.difference ?? 'n/a'}`).join('; '));
  expect(rows.map((r) => r.backend)).toEqual(['cpu', 'wasm', 'webgl', 'webgpu']);
  for (const row of rows) {
    expect(row.difference, `${row.backend} ran (${row.text})`).toBeDefined();
    expect(Number(row.difference), row.backend).toBeLessThanOrEqual(1e-4);
  }
  expect(app.errors.page).toEqual([]);
});
