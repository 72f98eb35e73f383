// Batched sampling on the device into a fixed-shape buffer [batch, contextLength], and the final pass
// that reads the rollout back, written once for rollout.ts (one turn) and rollout-env.ts (turns with
// observations in between). Sampling uses the Gumbel-max trick with noise drawn from the run's seeded
// generator, so a run replays exactly and no backend-specific multinomial kernel is needed.
import {
  createModelCache,
  extendModelCache,
  isCurrentRecording,
  recordedForward,
  startForwardRecording,
  type RecordedForward,
} from './fused-model';
import type { ModelCache } from './kernels/wasm-model';
import { SAMPLE_STEP_KERNEL, type SampleStepAttrs } from './kernels/wasm-sample';
import { entropy, nextTokens, tokenLogProbs } from './log-probs';
import { forward, type ForwardOutput, type ModelShape, type Params } from './model';
import { Random } from './random';
import { tf, type Tensor, type Tensor1D, type Tensor2D, type Tensor3D } from './tf';
import { EOS, PAD } from './tokens';

/** Gumbel noise for every (step, row, token): argmax(logits/τ + g) samples from softmax(logits/τ). */
export function gumbelNoise(seed: number, steps: number, batchSize: number, vocab: number): Float32Array {
  const rng = new Random(seed);
  const noise = new Float32Array(steps * batchSize * vocab);
  for (let i = 0; i < noise.length; i++) noise[i] = -Math.log(-Math.log(rng.next() * (1 - 1e-7) + 1e-7 / 2));
  return noise;
}

/** The planes of a finished rollout, each [B·T] row-major. */
export interface RolloutPlanes {
  tokens: Int32Array;
  /** log π_old, log π_ref, V_old and entropy at each decision position. */
  oldLogp: Float32Array;
  refLogp: Float32Array;
  values: Float32Array;
  entropy: Float32Array;
}

/**
 * The policy writing into a token buffer on the device. All the noise is drawn up front for `steps`
 * sampling steps (step k uses row k of it, whatever position it writes), so the draws do not depend on
 * how the steps are split into turns. Owns its tensors until `dispose()`.
 */
export class GumbelSampler {
  /** The buffer [B, T] and which rows are finished [B] (<eos> sampled, or ended by the caller). */
  tokens: Tensor2D;
  done: Tensor1D;
  private readonly gumbel: Tensor3D;
  private readonly columns: Tensor1D;
  /** The last step's forward pass: its logits and values are final at every decision position. */
  private last: ForwardOutput | undefined;
  private step = 0;
  /** Where the whole-model kernels run (wasm): the positions computed so far, and how far they go. */
  private readonly cache: ModelCache | undefined;
  private cachedUpTo = 0;
  /** The earliest position whose logits chose a token: the reference's pass in `finish` keeps from there. */
  private firstDecision = Number.POSITIVE_INFINITY;
  /** The forward pass being recorded (with `record`, where the cache runs), until `load` ends it. */
  private recording: RecordedForward | undefined;
  private recordingComplete = false;

  constructor(
    private readonly policy: Params,
    private readonly shape: ModelShape,
    private readonly temperature: number,
    private readonly steps: number,
    seed: number,
    buffer: Int32Array,
    /** Record the policy's forward pass of the whole buffer as it samples (see `recorded`). */
    private readonly record = false,
  ) {
    const batchSize = buffer.length / shape.contextLength;
    const noise = gumbelNoise(seed, steps, batchSize, shape.vocabSize);
    this.gumbel = tf.tensor3d(noise, [steps, batchSize, shape.vocabSize]);
    this.columns = tf.range(0, shape.contextLength, 1, 'int32') as Tensor1D;
    this.tokens = tf.tensor2d(buffer, [batchSize, shape.contextLength], 'int32');
    this.done = tf.zeros([batchSize], 'bool') as Tensor1D;
    this.cache = createModelCache(shape, batchSize, shape.contextLength);
  }

  /**
   * One sampling step: the policy's logits at `position − 1` plus the next row of noise choose the
   * token at `position` (<pad> for finished rows). The model is causal and only the newest token was
   * still missing, so the last step's pass already holds the final logits and values at every decision
   * position: it is kept for `finish` rather than redone.
   */
  sample(position: number): void {
    const keep = this.step === this.steps - 1;
    this.firstDecision = Math.min(this.firstDecision, position - 1);
    const next = tf.tidy(() => {
      const [batchSize, time] = this.tokens.shape;
      const vocab = this.shape.vocabSize;
      // The model is causal, so the logits at position − 1 depend only on tokens 0 … position − 1 (the
      // same numbers, every row computed as in the full pass; test/rollout-sampling.test.ts). Where the
      // whole-model kernels run (wasm), a key/value cache computes only the positions no step has yet:
      // at the default lengths 10 positions per row over the rollout's five steps. Elsewhere an earlier step
      // runs the prefix alone: 36 positions per row (prefixes of 5–8, then the last step's whole buffer of
      // 10). The last step covers the whole buffer either way; its logits and values are kept for `finish`.
      if (this.cache) {
        const { logits, out } = this.extend(position, keep);
        // The rest of the step as one kernel (kernels/wasm-sample.ts: the same tokens as the ops below).
        const attrs: SampleStepAttrs = { step: this.step, position, pad: PAD, eos: EOS };
        const [tokens, done] = tf
          .engine()
          .runKernel(
            SAMPLE_STEP_KERNEL,
            { logits, noise: this.gumbel, tokens: this.tokens, done: this.done },
            attrs as unknown as tf.NamedAttrMap,
          ) as unknown as [Tensor2D, Tensor1D];
        return { tokens, done, kept: keep && out ? { logits: out.logits, values: out.values } : undefined };
      }
      const { logits, out } = this.prefixPass(
        keep ? this.tokens : (tf.slice(this.tokens, [0, 0], [batchSize, position]) as Tensor2D),
        position,
      );
      const noise = tf.reshape(tf.slice(this.gumbel, [this.step, 0, 0], [1, batchSize, vocab]), [batchSize, vocab]);
      const sampled = tf.cast(tf.argMax(tf.add(logits, noise), -1), 'int32');
      const chosen = tf.where(this.done, tf.fill([batchSize], PAD, 'int32'), sampled);
      const atPosition = tf.reshape(tf.equal(this.columns, position), [1, time]);
      return {
        tokens: tf.where(atPosition, tf.reshape(chosen, [batchSize, 1]), this.tokens) as Tensor2D,
        done: tf.logicalOr(this.done, tf.equal(chosen, EOS)) as Tensor1D,
        kept: keep && out ? { logits: out.logits, values: out.values } : undefined,
      };
    });
    this.replace(next.tokens, next.done);
    if (next.kept) this.last = next.kept;
    this.step++;
  }

  /** The logits at position − 1 [B, V] from a forward pass over `input` (a prefix, or the whole buffer). */
  private prefixPass(input: Tensor2D, position: number): { logits: Tensor; out: ForwardOutput } {
    const out = forward(this.policy, this.shape, input, this.temperature);
    const [batchSize, , vocab] = out.logits.shape;
    const logits = tf.reshape(tf.slice(out.logits, [0, position - 1, 0], [batchSize, 1, vocab]), [batchSize, vocab]);
    return { logits, out };
  }

  /** The same logits from the cache, computing the positions it lacks (all of them on the last step). */
  private extend(position: number, keep: boolean): { logits: Tensor; out?: ForwardOutput } {
    const [batchSize, time] = this.tokens.shape;
    const to = keep ? time : position;
    const range = { from: this.cachedUpTo, to, pick: position - 1, full: keep };
    // The first step of a single-turn rollout starts the recording, kept from its first decision on.
    // The recording holds this cache's keys and values: a newer one (another sampler) would have taken its
    // buffer, so a step never writes into one that is not the latest.
    if (this.recording && !isCurrentRecording(this.recording.recording.id))
      throw new Error('a sampler recording its forward pass was interleaved with another recording one');
    if (this.record && this.step === 0 && range.from === 0)
      this.recording = recordedForward(
        startForwardRecording(this.policy, this.shape, batchSize, time, position - 1),
        this.policy,
        batchSize,
        time,
      );
    const { picked, full } = extendModelCache(
      this.cache!,
      this.policy,
      this.shape,
      this.tokens,
      range,
      this.temperature,
      this.recording?.recording,
    );
    if (keep && this.recording) this.recordingComplete = true;
    // The sampled token goes to `position`: every position before it stays valid.
    this.cachedUpTo = Math.min(to, position);
    return { logits: picked, out: full };
  }

  /** Replaces the buffer and the done flags (the environment wrote observations or ended rows). */
  load(tokens: Int32Array | Tensor2D, done: Uint8Array | Tensor1D): void {
    // Observations may overwrite any position: the cache starts again from the first (and a recording,
    // which has rows of the old tokens, ends unfinished).
    this.cachedUpTo = 0;
    this.recording = undefined;
    this.recordingComplete = false;
    this.replace(tokens, done);
  }

  private replace(tokens: Int32Array | Tensor2D, done: Uint8Array | Tensor1D): void {
    const shape = this.tokens.shape;
    tf.dispose([this.tokens, this.done]);
    this.tokens = tokens instanceof Int32Array ? tf.tensor2d(tokens, shape, 'int32') : tokens;
    this.done = done instanceof Uint8Array ? tf.tensor1d(done, 'bool') : done;
  }

  /**
   * The rollout's final read-back: tokens (as floats), log π_old, log π_ref, V_old and entropy of the
   * finished buffer, then the planes `extra` adds (each [B, T], returned as one array after the five),
   * stacked into one data() call.
   */
  async finish(
    reference: Params,
    extra: (tokens: Tensor2D) => Tensor[] = () => [],
    keepLogSoftmax = false,
  ): Promise<{ planes: RolloutPlanes; extra: Float32Array; logSoftmax?: Tensor3D }> {
    let kept: Tensor3D | undefined;
    const stacked = tf.tidy(() => {
      const { tokens } = this;
      const next = nextTokens(tokens);
      const current = this.last ?? forward(this.policy, this.shape, tokens, this.temperature);
      const { logp, logSoftmax } = tokenLogProbs(current.logits, next);
      // The policy's full distributions as sampled: the trainer's measure of how far the update moves
      // them starts from these instead of running the same forward pass again.
      if (keepLogSoftmax) kept = tf.keep(logSoftmax);
      // The reference's log-probs are read at decision positions only (earlier ones are the mask's: see forward).
      const keepFrom = Number.isFinite(this.firstDecision) ? this.firstDecision : 0;
      const ref = tokenLogProbs(forward(reference, this.shape, tokens, this.temperature, keepFrom).logits, next).logp;
      return tf.stack([tf.cast(tokens, 'float32'), logp, ref, current.values, entropy(logSoftmax), ...extra(tokens)]);
    });
    let data: Float32Array;
    try {
      data = (await stacked.data()) as Float32Array;
    } catch (error) {
      kept?.dispose();
      throw error;
    } finally {
      stacked.dispose();
    }
    const n = this.tokens.size;
    const planes = {
      tokens: Int32Array.from(data.subarray(0, n)),
      oldLogp: data.slice(n, 2 * n),
      refLogp: data.slice(2 * n, 3 * n),
      values: data.slice(3 * n, 4 * n),
      entropy: data.slice(4 * n, 5 * n),
    };
    return { planes, extra: data.subarray(5 * n), ...(kept ? { logSoftmax: kept } : {}) };
  }

  /**
   * With `record`, once the last step ran: the policy's forward pass of the finished buffer as the update
   * reads it (fused-model.ts: RecordedForward). Each position was computed once; the positions from the
   * last sampled one on were computed before its token was written, and no decision reads them.
   */
  get recorded(): RecordedForward | undefined {
    return this.recordingComplete ? this.recording : undefined;
  }

  dispose(): void {
    tf.dispose([this.tokens, this.done, this.gumbel, this.columns]);
    if (this.last) tf.dispose([this.last.logits, this.last.values]);
    this.cache?.free();
  }
}
