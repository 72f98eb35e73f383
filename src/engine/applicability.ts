// Which settings can matter for a run, and why not when they cannot. Read off the engine: every rule
// below names the code that ignores the field. The UI disables (or, for another task's settings, hides)
// a field with its reason; test/dead-knobs.test.ts changes every field where it applies and checks that
// the run changes. No TensorFlow.js here: the UI thread imports this.
import type { Config, ConfigKey } from './config';
import { ALGORITHM_SPECS } from './algorithms/specs';
import { TASK_SPECS, taskSpec } from './tasks/registry';

/** The task that owns `key` (reads it and no other task does), if any, from the task specs. */
function ownerOf(key: ConfigKey) {
  return Object.values(TASK_SPECS).find((spec) => spec.owns?.keys.includes(key));
}

/**
 * A one-sentence reason when `key` cannot change anything a run computes or shows under `config`;
 * undefined when it can.
 */
export function inapplicable(key: ConfigKey, config: Config): string | undefined {
  const owner = ownerOf(key);
  if (owner && owner.name !== config.task) return owner.owns?.reason;
  // A setting other tasks read and this one ignores (its spec says why).
  const ignored = taskSpec(config.task).ignores?.[key];
  if (ignored) return ignored;
  // A setting this algorithm never reads (its spec says why).
  const unread = ALGORITHM_SPECS[config.algorithm].ignores[key];
  if (unread) return unread;

  switch (key) {
    // trainer.ts repeats each prompt G times; without a prompt only grpo.ts and rloo.ts read the groups.
    case 'groupSize':
      return !ALGORITHM_SPECS[config.algorithm].usesGroups && !taskSpec(config.task).hasPrompt
        ? 'Without a prompt a group of G responses is just G more samples, and only GRPO and RLOO compare the responses within a group.'
        : undefined;
    // ppo.ts and losses.ts: one step from the weights that sampled the batch has ratio 1 and V = V_old.
    case 'clipEpsilon':
    case 'clipEpsilonHigh':
    case 'valueClip':
      return config.epochs === 1 && config.minibatches === 1
        ? 'With 1 epoch of 1 minibatch PPO or GRPO takes one step from the weights that sampled the batch: the ratio is 1 and no value has moved, so nothing is clipped.'
        : undefined;
    // ppo.ts checks approx-KL after an epoch, before the next one.
    case 'targetKl':
      return config.epochs === 1 ? 'With 1 epoch there is no later epoch to stop.' : undefined;
    // advantages.ts adaptiveBeta() multiplies β, so β = 0 stays 0.
    case 'adaptiveKl':
      return config.beta === 0 ? 'Adaptive β scales β, and from β = 0 it stays 0.' : undefined;
    case 'klTarget':
    case 'klHorizon':
      if (!config.adaptiveKl) return 'Only adaptive β steers KL towards a target.';
      return config.beta === 0 ? 'Adaptive β scales β, and from β = 0 it stays 0.' : undefined;
    // losses.ts klLossTerms and grpo.ts: β = 0 leaves the KL out of the loss and the reward alike.
    case 'klIn':
      return config.beta === 0 ? 'With β = 0 there is no KL term to place: the KL is only observed.' : undefined;
    // trainer.ts reads lrKlTarget only for the KL-adaptive learning rate.
    case 'lrKlTarget':
      return config.adaptiveLr ? undefined : 'Only the KL-adaptive learning rate steers towards this target.';
    // trainer.ts: the demonstrations feed SFT (stage 1) only.
    case 'demonstrations':
      return config.sftSteps === 0
        ? 'Demonstrations feed only stage 1 (SFT), which is off at 0 pretraining steps.'
        : undefined;
    default:
      return undefined;
  }
}

export type Presence = { state: 'shown' } | { state: 'disabled' | 'hidden'; reason: string };

/**
 * How a control appears: shown; disabled with its reason (a knob of this run's kind that does
 * nothing here, so students still see that PPO has a clip); or hidden (another task's setting).
 */
export function presence(key: ConfigKey, config: Config): Presence {
  const reason = inapplicable(key, config);
  if (reason === undefined) return { state: 'shown' };
  const owner = ownerOf(key);
  return { state: owner && owner.name !== config.task ? 'hidden' : 'disabled', reason };
}
