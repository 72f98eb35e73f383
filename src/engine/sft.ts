// Format pretraining (supervised fine-tuning) before RL. The policy learns the *shape* of an answer —
// the right number of letters, then <eos> — from demonstrations with random letters, not the solution.
// The reference policy is copied after this stage, so KL to it measures drift from a model that
// already speaks the format.
import { maskedMean } from './algorithms/losses';
import { nextTokens, tokenLogProbs } from './log-probs';
import { forward, type ModelShape, type Params } from './model';
import type { Adam } from './optimizer';
import { Random } from './random';
import { promptBuffer } from './rollout';
import type { Task } from './tasks';
import { observationSlots } from './tasks/task';
import { tf, type Scalar } from './tf';

export interface SftSettings {
  batchSize: number;
  learningRate: number;
  maxGradNorm: number;
  temperature: number;
}

/** One cross-entropy step on demonstrations. Returns the loss as a scalar tensor the caller owns. */
export function sftStep(
  task: Task,
  params: Params,
  shape: ModelShape,
  optimizer: Adam,
  settings: SftSettings,
  seed: number,
  /** Where demonstrations come from: fresh format demos by default, a fixed set for preference. */
  demo: (prompt: number[], rng: Random) => number[] = (prompt, rng) => task.formatDemo(prompt, rng),
): Scalar {
  const rng = new Random(seed);
  const prompts = Array.from({ length: settings.batchSize }, () => task.prompt(rng));
  const visible = task.environment ? prompts.map(task.environment.visiblePrompt) : prompts;
  const { tokens, responseStart } = promptBuffer(visible, shape.contextLength);
  const mask = new Int32Array(tokens.length);
  // Observation tokens of agentic tasks are context: written into the demonstration, never a target.
  const observations = task.environment ? observationSlots(task.environment.turns) : new Set<number>();
  prompts.forEach((prompt, b) => {
    demo(prompt, rng).forEach((id, s) => {
      tokens[b * shape.contextLength + responseStart + s] = id;
      if (!observations.has(s)) mask[b * shape.contextLength + responseStart - 1 + s] = 1; // the position that chooses it
    });
  });
  const count = mask.reduce((a, b) => a + b, 0);
  const [tokenTensor, maskTensor] = tf.tidy(() => [
    tf.tensor2d(tokens, [settings.batchSize, shape.contextLength], 'int32'),
    tf.cast(tf.tensor2d(mask, [settings.batchSize, shape.contextLength], 'int32'), 'bool'),
  ]);
  const { value, grads } = tf.variableGrads(() => {
    const { logits } = forward(params, shape, tokenTensor as tf.Tensor2D, settings.temperature);
    const { logp } = tokenLogProbs(logits, nextTokens(tokenTensor as tf.Tensor2D));
    return tf.neg(maskedMean(logp, maskTensor, count)) as Scalar;
  }, [params.flat]);
  const norm = optimizer.apply(grads[params.flat.name], settings.learningRate, settings.maxGradNorm);
  tf.dispose([norm, tokenTensor, maskTensor, ...Object.values(grads)]);
  return value;
}
