// Which settings can matter for a run, and why not when they cannot. Read off the engine: every rule
// below names the code that ignores the field. The UI disables (or, for another task's settings, hides)
// a field with its reason; test/dead-knobs.test.ts changes every field where it applies and checks that
// the run changes. No TensorFlow.js here: the UI thread imports this.
import type { Config, ConfigKey, TaskName } from './config';

/** Settings that belong to particular tasks: hidden, not just disabled, under every other task. */
const OWN_TASKS: Partial<Record<ConfigKey, readonly TaskName[]>> = {
  targetWord: ['target'],
  demonstrations: ['preference'],
  comparisons: ['preference'],
  labelNoise: ['preference'],
  rmSteps: ['preference'],
  rmRefreshEvery: ['preference'],
  tools: ['calculator'],
  toolCost: ['calculator'],
  feedback: ['retry'],
};

/** Why another task's setting does nothing here (tasks/*.ts read these only in their own task). */
const OWNER_REASON: Partial<Record<ConfigKey, string>> = {
  targetWord: 'Only the target task rewards a fixed word.',
  demonstrations: 'Only the preference task has an RLHF pipeline (demonstrations, comparisons, a reward model).',
  comparisons: 'Only the preference task has an RLHF pipeline (demonstrations, comparisons, a reward model).',
  labelNoise: 'Only the preference task has an RLHF pipeline (demonstrations, comparisons, a reward model).',
  rmSteps: 'Only the preference task has an RLHF pipeline (demonstrations, comparisons, a reward model).',
  rmRefreshEvery: 'Only the preference task has an RLHF pipeline (demonstrations, comparisons, a reward model).',
  tools: 'Only the calculator task has a tool to call.',
  toolCost: 'Only the calculator task has a tool to call.',
  feedback: 'Only the retry task gives feedback after a wrong answer.',
};

const PPO_ONLY: Partial<Record<ConfigKey, string>> = {
  clipEpsilon: 'Only PPO clips the probability ratio.',
  valueClip: 'Only PPO clips the value loss.',
  epochs: 'Only PPO takes several passes over a batch; REINFORCE and actor-critic take one optimizer step per update.',
  minibatches: 'Only PPO splits a batch into minibatches; REINFORCE and actor-critic take one step on the whole batch.',
  targetKl: 'Only PPO can stop its epochs early.',
};

/**
 * A one-sentence reason when `key` cannot change anything a run computes or shows under `config`;
 * undefined when it can.
 */
export function inapplicable(key: ConfigKey, config: Config): string | undefined {
  const own = OWN_TASKS[key];
  if (own && !own.includes(config.task)) return OWNER_REASON[key];
  const ppoOnly = PPO_ONLY[key];
  if (ppoOnly && config.algorithm !== 'ppo') return ppoOnly;

  switch (key) {
    // tasks/index.ts: calculator's vocabulary is the ten digits, not the alphabet.
    case 'alphabetSize':
      return config.task === 'calculator'
        ? 'The calculator task writes the digits 0–9, whatever the alphabet size.'
        : undefined;
    // config.ts promptTokens(): only reverse, sort and retry draw promptLength letters.
    case 'promptLength':
      switch (config.task) {
        case 'target':
        case 'preference':
          return `The ${config.task} task has no prompt: every episode starts from <bos> <sep>.`;
        case 'guess':
          return 'The guess task’s prompt is the hidden letter alone, which the policy never sees.';
        case 'calculator':
          return 'The calculator prompt is always two two-digit numbers: d d + d d =.';
        default:
          return undefined;
      }
    // tasks/*.ts: only target, reverse, sort and calculator pass `scoring` to scoreResponse().
    case 'scoring':
      switch (config.task) {
        case 'preference':
          return 'Preference is scored by the reward model (and the hidden human’s gold), not against one answer.';
        case 'guess':
          return 'Guess is scored by how many turns the search took.';
        case 'retry':
          return 'Retry always scores its attempts densely (letters in place), times 0.8 for a second attempt.';
        default:
          return undefined;
      }
    // rollout-env.ts walks the environment's fixed turns; only guess derives its turns from maxNewTokens.
    case 'maxNewTokens':
      if (config.task === 'calculator')
        return 'A calculator response has a fixed layout: a tool turn, four reply slots, then up to three digits and <eos>.';
      if (config.task === 'retry')
        return 'A retry response has a fixed layout: two attempts of prompt-length letters and <eos>, with two feedback tokens between.';
      return undefined;
    // reinforce.ts: Monte-Carlo returns minus a baseline; no GAE and no value loss.
    case 'baseline':
      return config.algorithm === 'reinforce'
        ? undefined
        : 'Only REINFORCE subtracts a baseline; actor-critic and PPO subtract the learned value (GAE).';
    case 'lambda':
      return config.algorithm === 'reinforce'
        ? 'REINFORCE uses Monte-Carlo returns, not GAE, so λ has no role.'
        : undefined;
    case 'valueCoef':
      return config.algorithm === 'reinforce'
        ? 'REINFORCE trains no critic, so there is no value loss to weigh.'
        : undefined;
    // ppo.ts and losses.ts: one step from the weights that sampled the batch has ratio 1 and V = V_old.
    case 'clipEpsilon':
    case 'valueClip':
      return config.epochs === 1 && config.minibatches === 1
        ? 'With 1 epoch of 1 minibatch PPO takes one step from the weights that sampled the batch: the ratio is 1 and no value has moved, so nothing is clipped.'
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
  const own = OWN_TASKS[key];
  return { state: own && !own.includes(config.task) ? 'hidden' : 'disabled', reason };
}
