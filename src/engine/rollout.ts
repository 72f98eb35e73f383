// Batched sampling on the device into fixed-shape buffers [batch, contextLength]. Sampling uses the
// Gumbel-max trick with noise drawn from the run's seeded generator, so a run replays exactly and no
// backend-specific multinomial kernel is needed. The whole rollout ends in one read-back.
//
// Layout of a row: <bos> prompt… <sep> response… <pad>…  A "decision position" t is one whose logits
// chose token t+1; arrays indexed by t (log-probs, values, masks) describe the action token t+1.
import { forward, type ForwardOutput, type ModelShape, type Params } from './model';
import { Random } from './random';
import { tokenLogProbs, entropy } from './algorithms/losses';
import { BOS, EOS, PAD, SEP } from './tokens';
import { tf, type Tensor2D, type Tensor3D } from './tf';

export interface Rollout {
  batchSize: number;
  time: number;
  /** Tokens [B*T], row-major. */
  tokens: Int32Array;
  prompts: number[][];
  /** Action tokens per episode, <eos> included when emitted. */
  responses: number[][];
  /** Index of the first response token in a row. */
  responseStart: number;
  /** [B*T] log π_old, log π_ref, V_old and entropy at each decision position. */
  oldLogp: Float32Array;
  refLogp: Float32Array;
  values: Float32Array;
  entropy: Float32Array;
  /** Agentic tasks: each row's decision positions of action tokens (default: every response token's). */
  actionPositions?: number[][];
  /** Agentic tasks: which response tokens the environment wrote. */
  observed?: boolean[][];
  /** [B] the reward model's (normalised) score of each response, when the run has a reward model. */
  rewardScores?: Float32Array;
}

/** Scores finished rows on the device: tokens [B, T] and the position of each row's last token [B]. */
export interface DeviceScorer {
  scoreTensor(tokens: Tensor2D, ends: tf.Tensor1D): tf.Tensor1D;
}

export interface RolloutSettings {
  batchSize: number;
  maxNewTokens: number;
  temperature: number;
  samplingSeed: number;
}

/** Prompt rows [<bos>, prompt, <sep>, <pad>…] and where responses start. */
export function promptBuffer(prompts: number[][], time: number): { tokens: Int32Array; responseStart: number } {
  const responseStart = (prompts[0]?.length ?? 0) + 2;
  const tokens = new Int32Array(prompts.length * time).fill(PAD);
  prompts.forEach((prompt, b) => {
    tokens[b * time] = BOS;
    prompt.forEach((id, i) => (tokens[b * time + 1 + i] = id));
    tokens[b * time + 1 + prompt.length] = SEP;
  });
  return { tokens, responseStart };
}

/** next[b, t] = tokens[b, t + 1], the token chosen at decision position t (<pad> after the end). */
export function nextTokens(tokens: Tensor2D): Tensor2D {
  const [batch, time] = tokens.shape;
  return tf.concat([tf.slice(tokens, [0, 1], [batch, time - 1]), tf.fill([batch, 1], PAD, 'int32')], 1) as Tensor2D;
}

/** Response tokens of one row: from responseStart through the first <eos>, or maxNewTokens of them. */
export function responseOf(
  tokens: Int32Array,
  row: number,
  time: number,
  responseStart: number,
  maxNewTokens: number,
): number[] {
  const response: number[] = [];
  for (let s = 0; s < maxNewTokens; s++) {
    const id = tokens[row * time + responseStart + s];
    response.push(id);
    if (id === EOS) break;
  }
  return response;
}

/** Position of a response's last token in its row: its <eos>, or the last written position. */
export function responseEnd(response: readonly number[], responseStart: number): number {
  return responseStart + response.length - 1;
}

/**
 * responseEnd on the device for every row of a finished buffer [B, T]: responseStart + (tokens up to and
 * including the first <eos>, or maxNewTokens) − 1. Only <eos> decides, never a count of <pad>s, so a
 * response's content cannot move where the reward model reads it.
 */
export function responseEnds(tokens: Tensor2D, responseStart: number, maxNewTokens: number): tf.Tensor1D {
  return tf.tidy(() => {
    const [batch] = tokens.shape;
    const region = tf.slice(tokens, [0, responseStart], [batch, maxNewTokens]);
    const isEos = tf.cast(tf.equal(region, EOS), 'int32');
    // A position is written while no <eos> came strictly before it.
    const eosBefore = tf.sub(tf.cumsum(isEos, 1), isEos);
    const written = tf.sum(tf.cast(tf.equal(eosBefore, 0), 'int32'), 1);
    return tf.add(written, tf.scalar(responseStart - 1, 'int32')) as tf.Tensor1D;
  });
}

/** Gumbel noise for every (step, row, token): argmax(logits/τ + g) samples from softmax(logits/τ). */
export function gumbelNoise(seed: number, steps: number, batchSize: number, vocab: number): Float32Array {
  const rng = new Random(seed);
  const noise = new Float32Array(steps * batchSize * vocab);
  for (let i = 0; i < noise.length; i++) noise[i] = -Math.log(-Math.log(rng.next() * (1 - 1e-7) + 1e-7 / 2));
  return noise;
}

export interface SampleStep {
  /** The buffer with the sampled tokens written at `position` (<pad> for finished rows). */
  tokens: Tensor2D;
  /** Rows finished: before, or by sampling <eos> now. */
  done: tf.Tensor1D;
  /** `keep` only: this step's forward pass, whose logits and values are final at every decision position. */
  kept?: ForwardOutput;
}

/**
 * One sampling step on the device: the policy's logits at `position − 1` plus row `step` of the Gumbel
 * noise choose the token at `position`. With `keep`, the forward pass is returned too: the model is
 * causal and only the newest token was still missing, so the last step's pass already holds the final
 * logits and values at every decision position and need not be redone.
 */
export function sampleStep(
  policy: Params,
  shape: ModelShape,
  buffers: { tokens: Tensor2D; done: tf.Tensor1D; gumbel: Tensor3D; columns: tf.Tensor1D },
  at: { step: number; position: number },
  temperature: number,
  keep: boolean,
): SampleStep {
  return tf.tidy(() => {
    const { tokens, done, gumbel, columns } = buffers;
    const [batchSize, time] = tokens.shape;
    const vocab = shape.vocabSize;
    const out = forward(policy, shape, tokens, temperature);
    const logits = tf.reshape(tf.slice(out.logits, [0, at.position - 1, 0], [batchSize, 1, vocab]), [batchSize, vocab]);
    const noiseRow = tf.reshape(tf.slice(gumbel, [at.step, 0, 0], [1, batchSize, vocab]), [batchSize, vocab]);
    const sampled = tf.cast(tf.argMax(tf.add(logits, noiseRow), -1), 'int32');
    const chosen = tf.where(done, tf.fill([batchSize], PAD, 'int32'), sampled);
    const atPosition = tf.reshape(tf.equal(columns, at.position), [1, time]);
    return {
      tokens: tf.where(atPosition, tf.reshape(chosen, [batchSize, 1]), tokens) as Tensor2D,
      done: tf.logicalOr(done, tf.equal(chosen, EOS)) as tf.Tensor1D,
      ...(keep ? { kept: { logits: out.logits, values: out.values } } : {}),
    };
  }) as SampleStep;
}

/**
 * The planes every rollout reads back, each [B, T]: tokens (as floats), log π_old, log π_ref, V_old and
 * entropy of the finished buffer. `last` is the final sampling step's kept forward pass. Call in tf.tidy.
 */
export function rolloutPlanes(
  policy: Params,
  reference: Params,
  shape: ModelShape,
  tokens: Tensor2D,
  last: ForwardOutput | undefined,
  temperature: number,
): tf.Tensor[] {
  const next = nextTokens(tokens);
  const current = last ?? forward(policy, shape, tokens, temperature);
  const { logp, logSoftmax } = tokenLogProbs(current.logits, next);
  const ref = tokenLogProbs(forward(reference, shape, tokens, temperature).logits, next).logp;
  return [tf.cast(tokens, 'float32'), logp, ref, current.values, entropy(logSoftmax)];
}

/** The read-back planes as the Rollout's per-position arrays (each [B·T]). */
export function unpackPlanes(data: Float32Array, n: number) {
  return {
    tokens: Int32Array.from(data.subarray(0, n)),
    oldLogp: data.slice(n, 2 * n),
    refLogp: data.slice(2 * n, 3 * n),
    values: data.slice(3 * n, 4 * n),
    entropy: data.slice(4 * n, 5 * n),
  };
}

export async function rollout(
  policy: Params,
  reference: Params,
  shape: ModelShape,
  prompts: number[][],
  settings: RolloutSettings,
  scorer?: DeviceScorer,
): Promise<Rollout> {
  const { batchSize, maxNewTokens, temperature } = settings;
  const time = shape.contextLength;
  const vocab = shape.vocabSize;
  const { tokens: initial, responseStart } = promptBuffer(prompts, time);

  const noise = gumbelNoise(settings.samplingSeed, maxNewTokens, batchSize, vocab);

  const stacked = tf.tidy(() => {
    const gumbel = tf.tensor3d(noise, [maxNewTokens, batchSize, vocab]);
    const columns = tf.range(0, time, 1, 'int32') as tf.Tensor1D;
    let tokens = tf.tensor2d(initial, [batchSize, time], 'int32');
    let done = tf.zeros([batchSize], 'bool') as tf.Tensor1D;
    let last: ForwardOutput | undefined;
    for (let s = 0; s < maxNewTokens; s++) {
      const final = s === maxNewTokens - 1;
      const step = sampleStep(
        policy,
        shape,
        { tokens, done, gumbel, columns },
        { step: s, position: responseStart + s },
        temperature,
        final,
      );
      tf.dispose([tokens, done]);
      ({ tokens, done } = step);
      if (step.kept) last = step.kept;
    }
    const planes = rolloutPlanes(policy, reference, shape, tokens, last, temperature);
    if (scorer) {
      const scores = scorer.scoreTensor(tokens, responseEnds(tokens, responseStart, maxNewTokens));
      planes.push(
        tf.pad(tf.reshape(scores, [batchSize, 1]), [
          [0, 0],
          [0, time - 1],
        ]),
      );
    }
    return tf.stack(planes);
  });
  const data = (await stacked.data()) as Float32Array; // the rollout's one read-back
  stacked.dispose();

  const n = batchSize * time;
  const planes = unpackPlanes(data, n);
  return {
    batchSize,
    time,
    prompts,
    responses: prompts.map((_, b) => responseOf(planes.tokens, b, time, responseStart, maxNewTokens)),
    responseStart,
    ...planes,
    ...(scorer ? { rewardScores: Float32Array.from({ length: batchSize }, (_, b) => data[5 * n + b * time]) } : {}),
  };
}
