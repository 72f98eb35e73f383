// The KL penalty to the frozen reference policy: zero at the start, grows without a penalty, stays
// small with a large one, and the adaptive controller moves β by the formula.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Metrics } from '../src/engine/metrics';
import { createTrainer } from '../src/engine/trainer';
import { meanOf, startBackend } from './support/engine';

async function run(config: Record<string, unknown>, updates: number): Promise<Metrics[]> {
  const trainer = createTrainer(config);
  const rows: Metrics[] = [];
  for (let i = 0; i < updates; i++) rows.push((await trainer.step()).metrics);
  trainer.dispose();
  return rows;
}

describe('KL to the reference policy', () => {
  beforeAll(() => startBackend('wasm'));

  it('is exactly 0 at the first update, when the policy is the reference', async () => {
    const [first] = await run({ seed: 5 }, 1);
    expect(first['kl/ref']).toBe(0);
    expect(first['kl/ref_k3']).toBe(0);
    expect(first['reward/total']).toBeCloseTo(first['reward/score'], 12);
  });

  it('grows past 1 nat per response in 40 updates with β = 0, while β = 1 keeps it 3× smaller and learns slower', async () => {
    // Batch 64 (v2's default, as measured): the claim needs the updates, not the extra samples.
    const free = await run({ beta: 0, batchSize: 64, seed: 2 }, 40);
    const held = await run({ beta: 1, batchSize: 64, seed: 2 }, 40);
    const lastFree = free.slice(-5);
    const lastHeld = held.slice(-5);
    // Without a penalty the policy moves far from the reference as it learns.
    expect(meanOf(lastFree, 'kl/ref')).toBeGreaterThan(1);
    expect(meanOf(lastFree, 'reward/score')).toBeGreaterThan(meanOf(free.slice(0, 5), 'reward/score') + 0.3);
    // A large β keeps it close, at the cost of reward.
    expect(meanOf(lastHeld, 'kl/ref')).toBeLessThan(meanOf(lastFree, 'kl/ref') / 3);
    expect(meanOf(lastHeld, 'reward/score')).toBeLessThan(meanOf(lastFree, 'reward/score') - 0.1);
  });

  it('adaptive β follows β·(1 + clip(KL/target − 1, ±0.2)·batch/horizon) after each update', async () => {
    const rows = await run({ adaptiveKl: true, beta: 0.1, klTarget: 0.5, klHorizon: 256, batchSize: 32, seed: 4 }, 12);
    for (let i = 1; i < rows.length; i++) {
      const previous = rows[i - 1];
      const error = Math.min(0.2, Math.max(-0.2, previous['kl/ref'] / 0.5 - 1));
      expect(rows[i]['kl/beta']).toBeCloseTo(previous['kl/beta'] * (1 + (error * 32) / 256), 12);
    }
    // KL starts at 0 (below target), so β first falls.
    expect(rows[1]['kl/beta']).toBeCloseTo(0.1 * (1 - (0.2 * 32) / 256), 12);
  });
});
