// One batch of episodes for the single-turn tasks: prompts into a fixed-shape buffer [batch,
// contextLength], responses sampled on the device (sampling.ts), the whole rollout read back once.
//
// Layout of a row: <bos> prompt… <sep> response… <pad>…  A "decision position" t is one whose logits
// chose token t+1; arrays indexed by t (log-probs, values, masks) describe the action token t+1.
import type { RecordedForward } from './fused-model';
import type { ModelShape, Params } from './model';
import { GumbelSampler } from './sampling';
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
  /**
   * With `keepLogSoftmax`: the sampling policy's log-softmax over the whole buffer [B, T, V], left on
   * the device for the caller, who disposes it.
   */
  logSoftmax?: Tensor3D;
  /**
   * With `recordForward`, where the whole-model kernels run: the policy's forward pass of the buffer,
   * recorded while sampling, for an update whose loss reads it at these weights (nothing to dispose).
   */
  recorded?: RecordedForward;
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
  /** Keep the policy's log-softmax on the device as `Rollout.logSoftmax` (the trainer's update KL). */
  keepLogSoftmax?: boolean;
  /** Record the policy's forward pass while sampling, as `Rollout.recorded` (a one-step update reads it). */
  recordForward?: boolean;
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

// Lives beside the log-probs it indexes; re-exported for sft.ts and agreement.ts, which import it from here.

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
  const { tokens: initial, responseStart } = promptBuffer(prompts, time);
  const sampler = new GumbelSampler(
    policy,
    shape,
    temperature,
    maxNewTokens,
    settings.samplingSeed,
    initial,
    settings.recordForward,
  );
  try {
    for (let s = 0; s < maxNewTokens; s++) sampler.sample(responseStart + s);
    // The reward model's score of each row rides along as one more plane: [B, 1] padded to [B, T].
    const scorePlane = (tokens: Tensor2D) => {
      if (!scorer) return [];
      const scores = scorer.scoreTensor(tokens, responseEnds(tokens, responseStart, maxNewTokens));
      return [
        tf.pad(tf.reshape(scores, [batchSize, 1]), [
          [0, 0],
          [0, time - 1],
        ]),
      ];
    };
    // The rollout's one read-back.
    const { planes, extra, logSoftmax } = await sampler.finish(reference, scorePlane, settings.keepLogSoftmax);
    return {
      batchSize,
      time,
      prompts,
      responses: prompts.map((_, b) => responseOf(planes.tokens, b, time, responseStart, maxNewTokens)),
      responseStart,
      ...planes,
      ...(scorer ? { rewardScores: Float32Array.from({ length: batchSize }, (_, b) => extra[b * time]) } : {}),
      ...(logSoftmax ? { logSoftmax } : {}),
      ...(sampler.recorded ? { recorded: sampler.recorded } : {}),
    };
  } finally {
    sampler.dispose();
  }
}
