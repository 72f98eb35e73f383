// The cpu and wasm backends compute the same PPO losses, gradient and values on the same batch and
// weights, to 1e-4 (src/engine/agreement.ts; the browser self-test does the same for webgl and webgpu).
import { describe, expect, it } from 'vitest';
import { maxAbsDifference, numbersOnFixedBatch, type BackendNumbers } from '../src/engine/agreement';
import { startBackend } from './support/engine';

async function on(backend: 'cpu' | 'wasm'): Promise<BackendNumbers> {
  await startBackend(backend);
  return numbersOnFixedBatch(1);
}

describe('backends agree on the same batch', () => {
  it('cpu and wasm: every loss term, the gradient and the values within 1e-4', async () => {
    const cpu = await on('cpu');
    const wasm = await on('wasm');
    // The batch exercises every branch: some ratios clip, some value predictions clip.
    expect(cpu.losses['policy/clipfrac']).toBeGreaterThan(0.05);
    expect(cpu.losses['policy/clipfrac']).toBeLessThan(0.95);
    expect(cpu.losses['value/clipfrac']).toBeGreaterThan(0.05);
    expect(cpu.losses['optim/grad_norm']).toBeGreaterThan(0.01);
    expect(Object.keys(wasm.losses).sort()).toEqual(Object.keys(cpu.losses).sort());
    for (const [name, value] of Object.entries(cpu.losses)) {
      expect(Number.isFinite(value), name).toBe(true);
      expect(Math.abs(wasm.losses[name] - value), name).toBeLessThan(1e-4);
    }
    expect(cpu.gradient.length).toBeGreaterThan(10_000);
    expect(maxAbsDifference(wasm.gradient, cpu.gradient)).toBeLessThan(1e-4);
    expect(Math.max(...cpu.values.map(Math.abs))).toBeGreaterThan(0.05);
    expect(maxAbsDifference(wasm.values, cpu.values)).toBeLessThan(1e-4);
    // One format-pretraining step (its loss, then the weights after a clipped Adam step): the
    // composite Adam on cpu, the fused kernel on wasm.
    expect(cpu.stepped.length).toBe(cpu.gradient.length + 1);
    expect(maxAbsDifference(wasm.stepped, cpu.stepped)).toBeLessThan(1e-4);
  });
});
