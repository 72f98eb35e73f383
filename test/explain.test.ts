// "Explain this update": the numbers shown for an explained update are the trainer's own. Each test
// explains one real update and recomputes, from the shown per-token numbers, what the trainer reported
// as metrics: the clip decisions give policy/clipfrac, the per-token objectives give loss/policy, the
// token rewards give reward/total, the distributions before and after give policy/update_kl. And
// explaining an update does not change it: the same seed gives the same metrics with or without.
import { beforeAll, describe, expect, it } from 'vitest';
import { advantageDerivation, clipDerivation, fmt } from '../src/app/explain-format';
import { mean, whiten } from '../src/engine/advantages';
import type { UpdateExplanation } from '../src/engine/explanation';
import type { Metrics } from '../src/engine/metrics';
import { tf } from '../src/engine/tf';
import { createTrainer } from '../src/engine/trainer';
import { startBackend } from './support/engine';

const SMALL = { batchSize: 16, sftSteps: 10, seed: 3 };

/** The explanation of update `at` (the updates before it run normally), and the tensors alive before and after. */
async function explainUpdate(config: Record<string, unknown>, at = 2) {
  const trainer = createTrainer({ ...SMALL, ...config });
  try {
    for (let i = 1; i < at; i++) await trainer.step();
    const tensorsBefore = tf.memory().numTensors;
    const result = await trainer.step({ explain: true });
    const tensorsAfter = tf.memory().numTensors;
    if (!result.explanation) throw new Error('no explanation');
    return { explanation: result.explanation, metrics: result.metrics, tensorsBefore, tensorsAfter };
  } finally {
    trainer.dispose();
  }
}

/** Per optimizer step, the per-token values of `term` over every episode in the step, in episode order. */
function termByStep(x: UpdateExplanation, term: 'clipped' | 'objective' | 'ratio'): number[][] {
  const steps: number[][] = x.steps.map(() => []);
  for (const e of x.episodes) for (const s of e.steps) steps[s.step].push(...(s.terms[term] ?? []));
  return steps;
}

const withoutTiming = (m: Metrics) =>
  Object.fromEntries(Object.entries(m).filter(([k]) => !k.startsWith('perf/') && k !== 'time_s'));

describe('explain one update (wasm backend)', () => {
  beforeAll(() => startBackend('wasm'));

  it('PPO: the shown clip decisions, objectives, rewards, gradient norms and distributions reproduce the metrics', async () => {
    const { explanation: x, metrics, tensorsBefore, tensorsAfter } = await explainUpdate({ algorithm: 'ppo' });
    expect(tensorsAfter).toBe(tensorsBefore);
    const { epochs, minibatches, batchSize } = x.config;
    expect(x.steps).toHaveLength(epochs * minibatches);
    expect(x.episodes).toHaveLength(batchSize);
    // Every episode is in exactly one minibatch per epoch.
    for (const e of x.episodes) expect(e.steps.map((s) => s.epoch)).toEqual([0, 1, 2, 3].slice(0, epochs));

    // policy/clipfrac is the mean over steps of each step's share of clipped tokens.
    const clipped = termByStep(x, 'clipped');
    const clipfrac = mean(clipped.map((flags) => mean(flags)));
    expect(clipfrac).toBeGreaterThan(0); // an update late enough that some tokens are clipped
    expect(clipfrac).toBeCloseTo(metrics['policy/clipfrac'], 6);
    // Each clip decision is the ratio leaving [1 − ε, 1 + ε].
    const ratios = termByStep(x, 'ratio').flat();
    clipped.flat().forEach((flag, i) => expect(flag).toBe(Math.abs(ratios[i] - 1) > x.config.clipEpsilon ? 1 : 0));
    // The explainer's verdict for one token: the clipped term counts exactly when the ratio has moved
    // past the clip in the direction its advantage pushes.
    expect(clipDerivation(x, 1, 1.5)).toContain('max(−1.500, −1.200) = −1.200: the clipped term is larger');
    expect(clipDerivation(x, -1, 1.5)).toContain('max(1.500, 1.200) = 1.500: the unclipped term counts');
    expect(clipDerivation(x, -1, 0.5)).toContain('max(0.500, 0.800) = 0.800: the clipped term is larger');
    // In the first step the weights are those that sampled the batch: every ratio is 1.
    const first = x.episodes.flatMap((e) => e.steps.filter((s) => s.step === 0).flatMap((s) => s.terms.ratio ?? []));
    for (const r of first) expect(r).toBeCloseTo(1, 5);

    // loss/policy is the mean over steps of each step's mean objective.
    expect(mean(termByStep(x, 'objective').map((o) => mean(o)))).toBeCloseTo(metrics['loss/policy'], 5);
    // optim/grad_norm is the mean of the steps' norms; after clipping none exceeds maxGradNorm.
    expect(mean(x.steps.map((s) => s.gradNorm))).toBeCloseTo(metrics['optim/grad_norm'], 4);
    for (const s of x.steps) expect(s.clippedGradNorm).toBeLessThanOrEqual(x.config.maxGradNorm + 1e-6);

    // reward/total: the mean over episodes of the summed token rewards, each −β·KL plus the score at the end.
    for (const e of x.episodes) for (const t of e.tokens) expect(t.reward).toBeCloseTo(t.penalty + t.outcome, 6);
    expect(mean(x.episodes.map((e) => e.tokens.reduce((a, t) => a + t.reward, 0)))).toBeCloseTo(
      metrics['reward/total'],
      6,
    );
    expect(mean(x.episodes.map((e) => e.tokens.reduce((a, t) => a + t.kl, 0)))).toBeCloseTo(metrics['kl/ref'], 5);

    // GAE for one token, from the shown TD errors: A_t = Σ_l (γλ)^l δ_{t+l}; then whitening over the batch.
    const { gamma, lambda } = x.config;
    const e = x.episodes[0];
    const gae = e.tokens.reduce((a, t, l) => a + (gamma * lambda) ** l * t.tdError, 0);
    expect(e.tokens[0].advantageRaw).toBeCloseTo(gae, 5);
    // The explainer writes that sum out with these numbers and its result.
    const [delta, sum, target] = advantageDerivation(x, e, 0);
    expect(delta.endsWith(`= ${fmt(e.tokens[0].tdError)}`)).toBe(true);
    expect(sum.endsWith(`= ${fmt(gae)}`)).toBe(true);
    expect(target.startsWith(`R = A + V = ${fmt(e.tokens[0].advantageRaw)} + ${fmt(e.tokens[0].value)}`)).toBe(true);
    const raw = x.episodes.flatMap((ep) => ep.tokens.map((t) => t.advantageRaw));
    const white = whiten(raw);
    expect(x.episodes.flatMap((ep) => ep.tokens.map((t) => t.advantage))).toEqual(
      white.map((w) => expect.closeTo(w, 5)),
    );

    // The distributions: the sampled token's probability before the update is π_old(a); the exact KL
    // from before to after, averaged over action tokens, is policy/update_kl.
    const kls: number[] = [];
    for (const ep of x.episodes)
      for (const t of ep.tokens) {
        const id = x.vocabulary.indexOf(t.token);
        expect(t.before[id]).toBeCloseTo(t.prob, 4);
        expect(t.reference[id]).toBeCloseTo(t.refProb, 4);
        kls.push(t.before.reduce((a, p, v) => a + (p > 0 ? p * Math.log(p / t.after[v]) : 0), 0));
      }
    expect(mean(kls)).toBeCloseTo(metrics['policy/update_kl'], 4);
  });

  it('a skipped (non-finite) update is explained as skipped, its distribution after = before', async () => {
    const trainer = createTrainer({ ...SMALL, algorithm: 'ppo' }, { injectNaNAtUpdate: 2 });
    try {
      await trainer.step();
      const tensors = tf.memory().numTensors;
      const { explanation: x, divergence } = await trainer.step({ explain: true });
      expect(tf.memory().numTensors).toBe(tensors);
      expect(divergence).toBeDefined();
      expect(x?.skipped).toBe(divergence?.message);
      const t = x?.episodes[0].tokens[0];
      expect(t?.after).toEqual(t?.before);
    } finally {
      trainer.dispose();
    }
  });

  it('explaining an update does not change it: the same metrics with and without', async () => {
    const plain = createTrainer({ ...SMALL, algorithm: 'ppo' });
    let plainMetrics: Metrics | undefined;
    for (let i = 0; i < 2; i++) plainMetrics = (await plain.step()).metrics;
    plain.dispose();
    const { metrics } = await explainUpdate({ algorithm: 'ppo' });
    expect(withoutTiming(metrics)).toEqual(withoutTiming(plainMetrics as Metrics));
  });

  it('REINFORCE: returns minus the batch-mean baseline, scaled by their std, and −A·log π per token', async () => {
    const { explanation: x, metrics } = await explainUpdate({ algorithm: 'reinforce', baseline: 'batch-mean' });
    expect(x.steps).toHaveLength(1);
    const tokens = x.episodes.flatMap((e) => e.tokens);
    const baseline = mean(tokens.map((t) => t.ret));
    tokens.forEach((t) => expect(t.advantageRaw).toBeCloseTo(t.ret - baseline, 6));
    const std = Math.sqrt(tokens.reduce((a, t) => a + t.advantageRaw ** 2, 0) / (tokens.length - 1));
    tokens.forEach((t) => expect(t.advantage).toBeCloseTo(t.advantageRaw / std, 4));
    for (const t of tokens) expect(Number.isNaN(t.value) && Number.isNaN(t.tdError)).toBe(true);
    expect(mean(termByStep(x, 'objective')[0])).toBeCloseTo(metrics['loss/policy'], 5);
    // Its objective per token is −A·log π_old at the one step's (unchanged) weights.
    const objectives = x.episodes.flatMap((e) => e.steps[0].terms.objective ?? []);
    tokens.forEach((t, i) => expect(objectives[i]).toBeCloseTo(-t.advantage * Math.log(t.prob), 4));
  });

  it('GRPO: the clip decisions with clip-higher reproduce policy/clipfrac', async () => {
    const { explanation: x, metrics } = await explainUpdate({
      algorithm: 'grpo',
      groupSize: 4,
      clipEpsilonHigh: 0.28,
    });
    const clipfrac = mean(termByStep(x, 'clipped').map((flags) => mean(flags)));
    expect(clipfrac).toBeCloseTo(metrics['policy/clipfrac'], 6);
    // Each answer's advantage from its group's rewards, as the explainer writes it.
    for (const e of x.episodes.slice(0, 4))
      expect(
        advantageDerivation(x, e, 0)
          .at(-1)
          ?.endsWith(`= ${fmt(e.tokens[0].advantageRaw)}`),
      ).toBe(true);
    const ratios = termByStep(x, 'ratio').flat();
    termByStep(x, 'clipped')
      .flat()
      .forEach((flag, i) => expect(flag).toBe(ratios[i] < 1 - x.config.clipEpsilon || ratios[i] > 1.28 ? 1 : 0));
    // No critic, and the KL in the loss: no penalty in the token rewards.
    expect(x.klInReward).toBe(false);
    for (const e of x.episodes) for (const t of e.tokens) expect(t.penalty).toBe(0);
  });

  it('TRPO: one policy step whose facts are the trust region metrics, then the critic steps', async () => {
    const { explanation: x, metrics } = await explainUpdate({ algorithm: 'trpo', epochs: 1, minibatches: 2 }, 1);
    const policy = x.steps.filter((s) => !s.facts.critic);
    expect(policy).toHaveLength(1);
    expect(policy[0].facts.kl).toBeCloseTo(metrics['trpo/kl'], 6);
    expect(policy[0].facts.accepted).toBe(metrics['trpo/accepted']);
    expect(x.steps.filter((s) => s.facts.critic)).toHaveLength(x.config.epochs * x.config.minibatches);
  });
});
