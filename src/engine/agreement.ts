// Do two backends compute the same numbers? One fixed PPO minibatch (tokens, old log-probs,
// advantages, returns, old values all drawn from a seeded generator on the CPU) and the same initial
// weights: the loss terms, the gradient and the forward pass on whichever backend is running, read
// back for comparison. Used by the unit tests (cpu vs wasm) and the browser self-test (webgl, webgpu).
import { ppoLoss } from './algorithms/ppo';
import type { EpisodeBatch } from './algorithms/common';
import { validate } from './config';
import { forward, initParams } from './model';
import { Adam } from './optimizer';
import { disposeParams } from './params';
import { Random } from './random';
import { nextTokens } from './log-probs';
import { promptBuffer } from './rollout';
import { sftStep } from './sft';
import { createTask } from './tasks';
import { tf } from './tf';
import { EOS } from './tokens';

export interface BackendNumbers {
  /** Loss terms and the gradient norm, by metric name. */
  losses: Record<string, number>;
  /** d loss / d parameters, flat. */
  gradient: number[];
  /** The value head's output at every position of the batch. */
  values: number[];
  /** One format-pretraining step's loss, then the parameters after its Adam step (clipped to norm 0.01). */
  stepped: number[];
}

/** Largest absolute difference between two equally long lists (Infinity when lengths differ). */
export function maxAbsDifference(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** The fixed batch: 16 episodes of the default task with random responses and training targets. */
function fixedBatch(seed: number): { batch: EpisodeBatch; config: ReturnType<typeof validate>['config'] } {
  // Entropy bonus on so its gradient is compared too.
  const { config } = validate({ entropyCoef: 0.01 });
  const task = createTask(config);
  const rng = new Random(seed);
  const rows = 16;
  const time = config.contextLength;
  const prompts = Array.from({ length: rows }, () => task.prompt(rng));
  const { tokens, responseStart } = promptBuffer(prompts, time);
  const mask = new Int32Array(rows * time);
  const planes = Array.from({ length: 4 }, () => new Float32Array(rows * time));
  const [oldLogp, oldValues, advantages, returns] = planes;
  let count = 0;
  const letters = task.vocab.size - EOS - 1;
  for (let b = 0; b < rows; b++) {
    const length = 1 + rng.int(config.maxNewTokens);
    for (let s = 0; s < length; s++) {
      const last = s === length - 1 && length < config.maxNewTokens;
      tokens[b * time + responseStart + s] = last ? EOS : EOS + 1 + rng.int(letters);
      const t = b * time + responseStart - 1 + s;
      mask[t] = 1;
      // old log-probs near the initial policy's (≈ log 1/vocab), so some ratios clip and some do not
      oldLogp[t] = -Math.log(task.vocab.size) + 0.4 * rng.normal();
      oldValues[t] = 0.2 * rng.normal();
      advantages[t] = rng.normal();
      returns[t] = rng.next();
      count++;
    }
  }
  const batch = tf.tidy(() => {
    const tokenTensor = tf.tensor2d(tokens, [rows, time], 'int32');
    return {
      tokens: tokenTensor,
      next: nextTokens(tokenTensor),
      mask: tf.cast(tf.tensor2d(mask, [rows, time], 'int32'), 'bool') as tf.Tensor2D,
      count,
      oldLogp: tf.tensor2d(oldLogp, [rows, time]),
      // PPO keeps its KL in the reward here, so its loss never reads these.
      refLogp: tf.tensor2d(oldLogp, [rows, time]),
      oldValues: tf.tensor2d(oldValues, [rows, time]),
      advantages: tf.tensor2d(advantages, [rows, time]),
      returns: tf.tensor2d(returns, [rows, time]),
      // Every position, so the backends' numbers compare the whole forward pass.
      keepFrom: 0,
    };
  });
  return { batch, config };
}

/** PPO loss terms, gradient and values on the fixed batch, on the running backend. */
export async function numbersOnFixedBatch(seed = 1): Promise<BackendNumbers> {
  const { batch, config } = fixedBatch(seed);
  const task = createTask(config);
  const shape = {
    vocabSize: task.vocab.size,
    dModel: config.dModel,
    nLayers: config.nLayers,
    nHeads: config.nHeads,
    contextLength: config.contextLength,
  };
  const params = initParams(shape, seed, 'agreement');
  // Nudge every weight (the value head starts at exactly zero) so no term is trivially zero.
  const noise = new Random(seed + 1);
  const nudge = Float32Array.from({ length: params.flat.size }, () => 0.05 * noise.normal());
  tf.tidy(() => params.flat.assign(tf.add(params.flat, tf.tensor1d(nudge))));
  const ctx = { config, params, shape };
  const names: string[] = [];
  /** The loss's reported terms outlive the gradient's scope; freed with the rest below. */
  const kept: tf.Scalar[] = [];
  const packed = tf.tidy(() => {
    let report: Partial<Record<string, tf.Scalar>> = {};
    const { value, grads } = tf.variableGrads(() => {
      const loss = ppoLoss(ctx, batch);
      report = loss.report;
      for (const t of Object.values(report)) if (t) kept.push(tf.keep(t));
      return loss.total;
    }, [params.flat]);
    const gradient = grads[params.flat.name];
    const scalars = { 'loss/total': value, ...report, 'optim/grad_norm': tf.norm(gradient) };
    names.push(...Object.keys(scalars));
    const values = forward(params, shape, batch.tokens, config.temperature).values;
    return tf.concat([tf.stack(Object.values(scalars)), gradient, tf.reshape(values, [-1])]);
  });
  // One format-pretraining step from the same weights (sft.ts: cross-entropy, its gradient, a clipped
  // Adam step), so the backends' log-softmax, its gradient and Adam are compared too.
  const adam = new Adam(params);
  const sftSettings = { batchSize: 16, learningRate: 1e-3, maxGradNorm: 0.01, temperature: config.temperature };
  const sftLoss = sftStep(task, params, shape, adam, sftSettings, seed);
  const stepped = [...(await sftLoss.data()), ...(await params.flat.data())];
  tf.dispose(sftLoss);
  adam.dispose();
  const data = Array.from(await packed.data());
  tf.dispose([packed, ...Object.values(batch).filter((t): t is tf.Tensor => t instanceof tf.Tensor), ...kept]);
  const gradientEnd = names.length + params.flat.size;
  disposeParams(params);
  const losses = Object.fromEntries(names.map((name, i) => [name, data[i]]));
  return { losses, gradient: data.slice(names.length, gradientEnd), values: data.slice(gradientEnd), stepped };
}
