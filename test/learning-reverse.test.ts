// The default preset (PPO on reverse) learns on most seeds; actor-critic learns reverse too.
import { beforeAll, describe, expect, it } from 'vitest';
import { findPreset } from '../src/presets';
import { decodeLink } from '../src/share/link';
import { startBackend, trainUntil } from './support/engine';

describe('learning to reverse', () => {
  beforeAll(() => startBackend('wasm'));

  it('default preset (PPO) reaches mean score ≥ 0.9 within 100 updates on seed 1', async () => {
    // Seeds 1–5 reach it at 20, 28, 24, 35, 37 updates (lessons/DEFAULTS.md). The five seeds are
    // `npm run lessons`' job (lesson 4) and the PyTorch export test trains seeds 1–3; one seed here.
    const reached: (number | undefined)[] = [];
    for (const seed of [1]) reached.push((await trainUntil({ seed }, 0.9, 100)).reachedAt);
    console.log(
      `default preset, updates to a 5-update mean score ≥ 0.9, seed 1: ${reached.map((r) => r ?? 'not reached').join(', ')}`,
    );
    expect(reached.every((r) => r !== undefined)).toBe(true);
  });

  it('actor-critic (its preset: batch 32, λ = 1, c_v = 0.1) reaches mean score ≥ 0.9 within 600 updates on seeds 1 and 4', async () => {
    // One optimizer step per batch (PPO takes 16), so it needs many more updates than PPO: 240, 213, 269,
    // 209 and 259 on seeds 1–5 at v4 (at v1's learning rate and no entropy bonus, 234–404, and seed 2 was
    // still at 0.39 after 800 updates). Seeds 1 and 4 keep the test short.
    const reached: (number | undefined)[] = [];
    for (const seed of [1, 4]) {
      const config = { ...decodeLink(findPreset('actor-critic-reverse')?.link ?? '').config, seed };
      reached.push((await trainUntil(config, 0.9, 600)).reachedAt);
    }
    console.log(`actor-critic on reverse, seeds 1 and 4: 5-update mean score ≥ 0.9 at ${reached.join(', ')}`);
    expect(reached.every((r) => r !== undefined)).toBe(true);
  });
});
