// The default preset (PPO on reverse) learns on most seeds; actor-critic learns reverse too.
import { beforeAll, describe, expect, it } from 'vitest';
import { startBackend, trainUntil } from './support/engine';

describe('learning to reverse', () => {
  beforeAll(() => startBackend('wasm'));

  it('default preset (PPO) reaches mean score ≥ 0.9 within 300 updates on at least 4 of seeds 1–5', async () => {
    const reached: (number | undefined)[] = [];
    for (const seed of [1, 2, 3, 4, 5]) reached.push((await trainUntil({ seed }, 0.9, 300)).reachedAt);
    console.log(
      `default preset, updates to a 5-update mean score ≥ 0.9, seeds 1–5: ${reached.map((r) => r ?? 'not reached').join(', ')}`,
    );
    expect(reached.filter((r) => r !== undefined).length).toBeGreaterThanOrEqual(4);
  });
});
