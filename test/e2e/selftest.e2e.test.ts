// The backend self-test page: every backend this Chromium can start (cpu, wasm, WebGL and WebGPU on
// SwiftShader here) computes the fixed batch's PPO losses, gradient and values, and one format-pretraining
// step's loss and Adam update, within 1e-4 of cpu, and 30 single ops within 1e-5. SwiftShader is a fallback
// adapter, so WebGPU runs the barrier-free programs (engine/kernels/webgpu-barrier-free.ts) for all of it,
// and the model's layers, the log-softmax and Adam as webgpu-fused.ts's programs: the page counts each
// kind that ran.
import { expect, test } from 'vitest';
import { openApp, waitUntil } from './browser';

const BARRIER_FREE_KINDS = ['reduce', 'transpose', 'softmax', 'matmul-4x4', 'matmul-naive', 'binary'];
// webgpu-fused.ts's programs, by the kernel names layers.ts, log-probs.ts and optimizer.ts run them under.
const WEBGPU_FUSED_KERNELS = [
  'TrlLayerNorm',
  'TrlLayerNormGrad',
  'TrlGelu',
  'TrlGeluGrad',
  'TrlCausalAttention',
  'TrlCausalAttentionGrad',
  'TrlColumnSum',
  'TrlAdam',
  'TrlLogSoftmax',
  'TrlLogSoftmaxGrad',
  'TrlPickLogProb',
  'TrlPickLogProbGrad',
];

test('selftest.html: wasm, webgl and webgpu (barrier-free on SwiftShader) agree with cpu', async () => {
  const app = await openApp('selftest', 'selftest.html');
  const { page } = app;
  await waitUntil(page, 'the self-test to finish', () => page.evaluate(() => document.body.dataset.done === 'true'), {
    timeout: 240_000,
  });
  const rows = await page.$$eval('tr[data-backend]', (trs) =>
    trs.map((tr) => ({
      backend: tr.dataset.backend,
      difference: tr.dataset.maxDifference,
      fused: tr.dataset.fused,
      text: tr.textContent,
    })),
  );
  const kernelRows = await page.$$eval('tr[data-kernels-backend]', (trs) =>
    trs.map((tr) => ({
      backend: tr.dataset.kernelsBackend,
      difference: tr.dataset.maxDifference,
      barrierFree: tr.dataset.barrierFree,
      text: tr.textContent,
    })),
  );
  await app.screenshot();
  console.log(rows.map((r) => `${r.backend}: max |Δ| ${r.difference ?? 'n/a'}`).join('; '));
  console.log(kernelRows.map((r) => `${r.backend} ops: ${r.text}`).join('; '));

  // One PPO update's numbers.
  expect(rows.map((r) => r.backend)).toEqual(['cpu', 'wasm', 'webgl', 'webgpu']);
  for (const row of rows) {
    expect(row.difference, `${row.backend} ran (${row.text})`).toBeDefined();
    expect(Number(row.difference), row.backend).toBeLessThanOrEqual(1e-4);
  }

  // On SwiftShader the PPO batch's layers ran as webgpu-fused.ts's programs, each way.
  const fused = JSON.parse(rows.find((r) => r.backend === 'webgpu')?.fused ?? '{}') as Record<string, number>;
  console.log('FUSED', JSON.stringify(fused));
  for (const kernel of WEBGPU_FUSED_KERNELS) expect(fused[kernel], `fused ${kernel} ran on webgpu`).toBeGreaterThan(0);
  // On wasm the whole model ran as one kernel each way.
  const wasm = JSON.parse(rows.find((r) => r.backend === 'wasm')?.fused ?? '{}') as Record<string, number>;
  for (const kernel of ['TrlModel', 'TrlModelGrad']) expect(wasm[kernel], `${kernel} ran on wasm`).toBeGreaterThan(0);

  // Single ops: each replaced program's op, on webgpu with the barrier-free programs.
  expect(kernelRows.map((r) => r.backend)).toEqual(['cpu', 'wasm', 'webgl', 'webgpu']);
  for (const row of kernelRows) {
    expect(row.difference, `${row.backend} ops ran (${row.text})`).toBeDefined();
    expect(Number(row.difference), `${row.backend} ops (${row.text})`).toBeLessThanOrEqual(1e-5);
  }
  const webgpu = kernelRows.find((r) => r.backend === 'webgpu');
  const used = JSON.parse(webgpu?.barrierFree ?? '{}') as Record<string, number>;
  for (const kind of BARRIER_FREE_KINDS) expect(used[kind], `barrier-free ${kind} ran on webgpu`).toBeGreaterThan(0);
  expect(app.errors.page).toEqual([]);
});
