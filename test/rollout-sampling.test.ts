// GumbelSampler (src/engine/sampling.ts), the sampling both rollouts share: each token is the Gumbel-max
// draw of its step, splitting the steps into turns draws the same tokens, the final pass that reuses the
// last step's forward matches a fresh one, and every tensor is freed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_FUSED_OPS, FUSED_OPS, setFusedOps } from '../src/engine/kernels/wasm-fused';
import { modelKernelStats } from '../src/engine/kernels/wasm-model';
import { SAMPLE_STEP_KERNEL, sampleStepStats } from '../src/engine/kernels/wasm-sample';
import { nextTokens, tokenLogProbs } from '../src/engine/log-probs';
import { disposeParams, forward, initParams, type ModelShape, type Params } from '../src/engine/model';
import { promptBuffer } from '../src/engine/rollout';
import { GumbelSampler, gumbelNoise, type RolloutPlanes } from '../src/engine/sampling';
import { tf } from '../src/engine/tf';
import { EOS, PAD } from '../src/engine/tokens';
import { startBackend } from './support/engine';

const shape: ModelShape = { vocabSize: 9, dModel: 16, nLayers: 1, nHeads: 2, contextLength: 10 };
const prompts = [
  [4, 5],
  [6, 7],
  [8, 4],
  [5, 5],
  [7, 6],
  [4, 8],
];
const steps = 5;
const seed = 21;
// A low temperature sharpens the untrained policy's logits, so they, not only the noise, decide the draws.
const temperature = 0.2;

let policy: Params;
let reference: Params;
let tensorsBefore = 0;

beforeAll(async () => {
  await startBackend('cpu');
  tensorsBefore = tf.memory().numTensors;
  policy = initParams(shape, 3);
  reference = initParams(shape, 4, 'reference');
});
afterAll(() => {
  disposeParams(policy);
  disposeParams(reference);
  expect(tf.memory().numTensors).toBe(tensorsBefore);
});

/** Samples `steps` tokens after the prompt, reloading the buffer (unchanged) after each step in `breaks`. */
async function sampleAll(
  breaks: readonly number[] = [],
  models: { policy: Params; reference: Params; shape: ModelShape } = { policy, reference, shape },
  /** Writes into the buffer at each break, as an environment's observation would. */
  observe: (buffer: Int32Array, step: number) => void = () => {},
): Promise<{ planes: RolloutPlanes; responseStart: number }> {
  const { tokens, responseStart } = promptBuffer(prompts, models.shape.contextLength);
  const sampler = new GumbelSampler(models.policy, models.shape, temperature, steps, seed, tokens);
  try {
    for (let s = 0; s < steps; s++) {
      sampler.sample(responseStart + s);
      if (!breaks.includes(s)) continue;
      // What rollout-env.ts does between turns (by default without observations).
      const buffer = Int32Array.from((await sampler.tokens.data()) as Int32Array);
      observe(buffer, s);
      const done = Uint8Array.from(await sampler.done.data());
      sampler.load(buffer, done);
    }
    return { planes: (await sampler.finish(models.reference)).planes, responseStart };
  } finally {
    sampler.dispose();
  }
}

/**
 * The planes as the rollout reads them: log π_ref at decision positions only (on wasm the reference's
 * pass keeps from the first one, and earlier positions come back as the log-probs of zero logits).
 */
function decisions({ planes, responseStart }: { planes: RolloutPlanes; responseStart: number }): RolloutPlanes {
  const time = planes.tokens.length / prompts.length;
  return { ...planes, refLogp: planes.refLogp.map((x, i) => (i % time >= responseStart - 1 ? x : 0)) };
}

describe('GumbelSampler', () => {
  it('writes argmax(logits at position − 1 + step s row of the noise) at each position, <pad> after <eos>', async () => {
    const { planes, responseStart } = await sampleAll();
    const [rows, time, vocab] = [prompts.length, shape.contextLength, shape.vocabSize];
    // The model is causal, so a pass over the finished buffer has the logits each step sampled from.
    const logits = tf.tidy(() =>
      forward(policy, shape, tf.tensor2d(planes.tokens, [rows, time], 'int32'), temperature).logits.arraySync(),
    );
    const noise = gumbelNoise(seed, steps, rows, vocab);
    let letters = 0;
    for (let b = 0; b < rows; b++) {
      let done = false;
      for (let s = 0; s < steps; s++) {
        const position = responseStart + s;
        const token = planes.tokens[b * time + position];
        if (done) {
          expect(token, `row ${b} step ${s}`).toBe(PAD);
          continue;
        }
        const scores = logits[b][position - 1].map((l, v) => l + noise[(s * rows + b) * vocab + v]);
        expect(token, `row ${b} step ${s}`).toBe(scores.indexOf(Math.max(...scores)));
        done = token === EOS;
        letters++;
      }
    }
    // The check compared real draws, not only <pad>s.
    expect(letters).toBeGreaterThan(rows * 2);
  });

  it('splitting the steps into turns draws the same tokens and gives the same planes', async () => {
    const straight = await sampleAll();
    expect((await sampleAll([1])).planes).toEqual(straight.planes);
    expect((await sampleAll([0, 2, 3])).planes).toEqual(straight.planes);
  });

  it("the final pass reuses the last step's forward: log π, V and log π_ref match fresh passes", async () => {
    const { planes, responseStart } = await sampleAll();
    const [rows, time] = [prompts.length, shape.contextLength];
    const fresh = tf.tidy(() => {
      const tokens = tf.tensor2d(planes.tokens, [rows, time], 'int32');
      const out = forward(policy, shape, tokens, temperature);
      const ref = forward(reference, shape, tokens, temperature);
      return [
        tokenLogProbs(out.logits, nextTokens(tokens)).logp.dataSync(),
        out.values.dataSync(),
        tokenLogProbs(ref.logits, nextTokens(tokens)).logp.dataSync(),
      ];
    });
    const [logp, values, refLogp] = fresh;
    // Decision positions up to the one that chose the last response token; beyond it the kept pass has
    // not seen that token, and nothing reads those positions.
    for (let b = 0; b < rows; b++) {
      for (let t = 0; t < responseStart + steps - 1; t++) {
        const i = b * time + t;
        expect(planes.oldLogp[i], `row ${b} position ${t}`).toBeCloseTo(logp[i], 5);
        expect(planes.values[i]).toBeCloseTo(values[i], 5);
        expect(planes.refLogp[i]).toBeCloseTo(refLogp[i], 5);
      }
    }
    // π and π_ref are different models here, so the reference plane is not a copy of the policy's.
    expect(planes.refLogp).not.toEqual(planes.oldLogp);
  });

  it("wasm: its key/value cache computes each position once and gives the prefix passes' planes, bit for bit", async () => {
    await startBackend('wasm');
    const wide = { ...shape, nLayers: 2 };
    const models = { policy: initParams(wide, 6), reference: initParams(wide, 7, 'reference'), shape: wide };
    try {
      const before = { ...modelKernelStats };
      const stepsBefore = sampleStepStats.runs;
      const cached = await sampleAll([], models);
      // One extension a step, 10 positions per row in all (the prefix passes: 4 + 5 + 6 + 7 + 10 = 32),
      // and the rest of each step as one kernel (the prefix passes below run tfjs's ops: same tokens).
      expect(modelKernelStats.extend - before.extend).toBe(steps);
      expect(sampleStepStats.runs - stepsBefore).toBe(steps);
      expect(modelKernelStats.extendedPositions - before.extendedPositions).toBe(shape.contextLength);
      // Reloading the buffer between turns (observations may change any position) starts the cache again.
      const inTurns = await sampleAll([1, 3], models);
      setFusedOps(FUSED_OPS.filter((op) => op !== 'model'));
      const extendsBefore = modelKernelStats.extend;
      const prefix = await sampleAll([], models);
      expect(modelKernelStats.extend).toBe(extendsBefore);
      // The kernel sampled the cached runs (straight and in turns), not the prefix passes.
      expect(sampleStepStats.runs - stepsBefore).toBe(2 * steps);
      expect(decisions(cached)).toEqual(decisions(prefix));
      expect(decisions(inTurns)).toEqual(decisions(prefix));
      // An observation that rewrites an earlier position (here the first prompt letter of every row)
      // changes every later position's numbers: the cache must not keep them.
      const observe = (buffer: Int32Array, step: number) => {
        for (let b = 0; b < prompts.length; b++) buffer[b * wide.contextLength + 1] = 4 + ((b + step) % 4);
      };
      setFusedOps(FUSED_OPS);
      const observedCached = await sampleAll([1, 3], models, observe);
      setFusedOps(FUSED_OPS.filter((op) => op !== 'model'));
      const observedPrefix = await sampleAll([1, 3], models, observe);
      expect(decisions(observedCached)).toEqual(decisions(observedPrefix));
      expect(observedPrefix.planes.tokens).not.toEqual(prefix.planes.tokens);
      // Real draws: some rows wrote letters, not only <eos>.
      expect(prefix.planes.tokens.filter((t) => t >= 3).length).toBeGreaterThan(prompts.length * 3);
    } finally {
      setFusedOps(DEFAULT_FUSED_OPS);
      disposeParams(models.policy);
      disposeParams(models.reference);
      await startBackend('cpu');
    }
  });

  it('wasm: the sampling step kernel keeps the first of equal maxima, writes <pad> for finished rows, and ends rows at <eos>', async () => {
    await startBackend('wasm');
    const [batch, vocab, time] = [4, 5, 6];
    const out = tf.tidy(() => {
      // Row 0: a tie between tokens 1 and 3 (argMax takes 1); row 1: <eos> wins; row 2: finished; row 3: the
      // noise decides (step 1's row).
      const logits = tf.tensor2d([0, 2, 1, 2, 0, 0, 0, 5, 0, 0, 9, 0, 0, 0, 0, 1, 1, 1, 1, 1], [batch, vocab]);
      const noise = tf.concat([
        tf.zeros([1, batch, vocab]),
        tf.tensor3d([
          [
            [0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0],
            [0, 0, 0, 0.5, 0],
          ],
        ]),
      ]);
      const tokens = tf.fill([batch, time], 7, 'int32');
      const done = tf.tensor1d([0, 0, 1, 0], 'bool');
      const run = (step: number) => {
        const [t, d] = tf
          .engine()
          .runKernel(
            SAMPLE_STEP_KERNEL,
            { logits, noise, tokens, done },
            { step, position: 4, pad: PAD, eos: 2 },
          ) as tf.Tensor[];
        return [Array.from(t.dataSync()), Array.from(d.dataSync())];
      };
      // tfjs's argMax on the same scores, for the tie in row 0.
      const tfjs = Array.from(
        tf.argMax(tf.add(logits, tf.squeeze(tf.slice(noise, [0, 0, 0], [1, -1, -1]), [0])), 1).dataSync(),
      );
      return [run(0), run(1), [tfjs, []]];
    });
    expect(out[2][0][0]).toBe(1);
    const column = (flat: number[]) => Array.from({ length: batch }, (_, b) => flat[b * time + 4]);
    expect(column(out[0][0])).toEqual([1, 2, PAD, 0]);
    expect(out[0][1]).toEqual([0, 1, 1, 0]);
    expect(column(out[1][0])).toEqual([1, 2, PAD, 3]);
    // Only the sampled position changes.
    expect(out[0][0].filter((t, i) => i % time !== 4)).toEqual(new Array(batch * (time - 1)).fill(7));
    await startBackend('cpu');
  });

  // The sampler runs an earlier step's forward pass on the prefix that decides it; causality makes that
  // the same function, and each row is computed in the same order, so the numbers are equal, not close.
  it.each(['cpu', 'wasm'] as const)(
    '%s: the logits and values of a prefix equal the full pass at every position of the prefix, exactly',
    async (backend) => {
      await startBackend(backend);
      const model = initParams({ ...shape, nLayers: 2 }, 5);
      const tokens = Array.from({ length: prompts.length * shape.contextLength }, (_, i) => 3 + ((i * 7) % 6));
      for (const length of [2, 5, 9]) {
        const [prefix, full] = tf.tidy(() => {
          const all = tf.tensor2d(tokens, [prompts.length, shape.contextLength], 'int32');
          const head = tf.slice(all, [0, 0], [prompts.length, length]) as tf.Tensor2D;
          const run = (t: tf.Tensor2D, n: number) => {
            const out = forward(model, { ...shape, nLayers: 2 }, t, temperature);
            const slice = <R extends tf.Rank>(x: tf.Tensor<R>) =>
              tf.slice(x, x.rank === 3 ? [0, 0, 0] : [0, 0], x.rank === 3 ? [-1, n, -1] : [-1, n]);
            return tf.concat([tf.reshape(slice(out.logits), [-1]), tf.reshape(slice(out.values), [-1])]);
          };
          return [Array.from(run(head, length).dataSync()), Array.from(run(all, length).dataSync())];
        });
        expect(prefix, `prefix of ${length}`).toEqual(full);
      }
      disposeParams(model);
      await startBackend('cpu');
    },
  );
});
