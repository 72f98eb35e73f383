// What the rest of the playground knows about each algorithm, without TensorFlow.js (the UI thread
// imports this): the schema's `algorithm` choices and help, whether it trains a critic, and which
// settings it ignores and why (the panel disables those with the reason). The update itself is the
// algorithm's own file; index.ts maps each name here to it, and fails to compile if one is missing.
// A new algorithm: its file, its entry here, its line in index.ts.
import type { Config, ConfigKey } from '../config';

export interface AlgorithmSpec<Name extends string = string> {
  readonly name: Name;
  /** Its name as a student reads it, e.g. "Actor-critic". */
  readonly title: string;
  /** One clause of the `algorithm` setting's help. */
  readonly help: string;
  /** One sentence for a student: what this algorithm does differently (shown under the algorithm picker). */
  readonly summary: string;
  /** The value head is trained as a critic and used in the advantages; value loss and explained variance are reported. */
  readonly hasCritic: boolean;
  /** Settings this algorithm never reads, each with the one-sentence reason shown beside it. */
  readonly ignores: Partial<Readonly<Record<ConfigKey, string>>>;
  /** The per-token −β·KL goes into the rewards (false: the algorithm puts β·KL in its loss instead). */
  readonly klInReward: boolean;
  /** Its advantages compare the G responses of a prompt with each other, so it needs groupSize ≥ 2. */
  readonly usesGroups: boolean;
  /** Two or three sentences per stage of "Explain this update", written for this algorithm. */
  readonly explain: ExplainTexts;
}

/** The stages of "Explain this update", in order. */
export const EXPLAIN_STAGES = ['rollout', 'rewards', 'advantages', 'objective', 'step'] as const;
export type ExplainStage = (typeof EXPLAIN_STAGES)[number];
export type ExplainTexts = Readonly<Record<ExplainStage, string>>;

// Stage texts several algorithms share.
const ROLLOUT_TEXT =
  'The policy wrote these answers one token at a time, sampling each token from its next-token distribution. ' +
  'Beside each token: how likely the policy made it (π) and how likely the frozen reference would have (π_ref); where they differ, the policy has moved away from where it started.';
const REWARDS_IN_REWARD =
  'The task scores the whole answer, and that score is paid on the last token. ' +
  'With β above 0 and the KL in the reward (this algorithm’s default), every token also pays −β·KL for how far the policy moved from the reference at that token, so a token’s reward is its share of the score minus its KL penalty.';
const ONE_STEP_TEXT =
  'The gradient of the loss is computed once, its norm clipped to the maximum (so one odd batch cannot take a huge step), and Adam moves every weight by about the learning rate. ' +
  'Pick a token: its next-token distribution before and after this update, beside the reference’s, shows what the step changed.';
const CRITIC_ADVANTAGES =
  'The critic predicted a value V for every prefix; the TD error δ = r + γ·V(next) − V(now) says how much better a token turned out than predicted. ' +
  'GAE(λ) adds the TD errors ahead of a token, each weighted by (γλ) per step, into its advantage; the return R = A + V is the critic’s target. With whitening on, the advantages of the whole batch are then rescaled to mean 0 and standard deviation 1.';

const PPO_ONLY = {
  clipEpsilon: 'Only PPO and GRPO clip the probability ratio.',
  valueClip: 'Only PPO clips the value loss.',
  epochs:
    'Only PPO, GRPO and TRPO (for its critic) take several passes over a batch; REINFORCE, actor-critic and RLOO take one optimizer step per update.',
  minibatches:
    'Only PPO, GRPO and TRPO (for its critic) split a batch into minibatches; REINFORCE, actor-critic and RLOO take one step on the whole batch.',
  targetKl: 'Only PPO and GRPO can stop their epochs early.',
} as const;

const TRPO_ONLY = {
  maxKl: 'Only TRPO bounds each step by a KL trust region.',
} as const;

const GRPO_ONLY = {
  lossAgg: 'Only GRPO chooses how its token losses are averaged; the others take the mean over action tokens.',
  stdNorm: 'Only GRPO divides its advantages by the group’s standard deviation.',
  ratioLevel: 'Only GRPO can take one importance ratio per response.',
  clipEpsilonHigh: 'Only GRPO has an asymmetric clip.',
} as const;

/** The KL-adaptive learning rate reads the approx-KL of an update's own steps, which only PPO and GRPO measure. */
const NO_STEP_KL = {
  adaptiveLr:
    'Only PPO and GRPO measure how far their own steps moved the policy (approx-KL), which the KL-adaptive learning rate steers by.',
  lrKlTarget: 'Only PPO and GRPO steer their learning rate by approx-KL.',
} as const;

/** What an algorithm taking one plain gradient step per batch (REINFORCE, actor-critic, RLOO) never reads. */
const ONE_STEP = { ...NO_STEP_KL, ...TRPO_ONLY, ...PPO_ONLY, ...GRPO_ONLY } as const;

const NO_CRITIC = 'trains no critic, so there is no value loss to weigh.';
const NO_GAE = 'takes one return per response, not GAE, so λ has no role.';
const NO_BASELINE = 'Only REINFORCE subtracts a chosen baseline; GRPO and RLOO subtract the other responses’ rewards.';

const reinforce: AlgorithmSpec<'reinforce'> = {
  name: 'reinforce',
  title: 'REINFORCE',
  help: 'REINFORCE (Monte-Carlo policy gradient)',
  summary:
    'Pushes up every token of the answers that beat a baseline, by how much they beat it: one gradient step per batch, no critic.',
  hasCritic: false,
  ignores: {
    ...ONE_STEP,
    lambda: 'REINFORCE uses Monte-Carlo returns, not GAE, so λ has no role.',
    valueCoef: 'REINFORCE trains no critic, so there is no value loss to weigh.',
  },
  klInReward: true,
  usesGroups: false,
  explain: {
    rollout: ROLLOUT_TEXT,
    rewards: REWARDS_IN_REWARD,
    advantages:
      'REINFORCE has no critic: each token’s return G is the reward still to come from it (discounted by γ). ' +
      'A baseline (the batch mean or a moving average; or none) is subtracted, so that only answers better than usual are pushed up — without one, every answer with a positive return is; whitening, when on, then divides by the batch’s standard deviation, without centring.',
    objective:
      'The loss is −A·log π(token), averaged over every token of the batch: a positive advantage makes its token more likely, a negative one less. ' +
      'There is no ratio and no clip: REINFORCE takes one step from the weights that sampled the batch.',
    step: ONE_STEP_TEXT,
  },
};

const actorCritic: AlgorithmSpec<'actor-critic'> = {
  name: 'actor-critic',
  title: 'Actor-critic',
  help: 'actor-critic (GAE with a learned value)',
  summary:
    'Learns a value for every prefix and judges each token against it (GAE), instead of judging whole answers: one step per batch.',
  hasCritic: true,
  ignores: {
    ...ONE_STEP,
    baseline: 'Only REINFORCE subtracts a baseline; actor-critic and PPO subtract the learned value (GAE).',
  },
  klInReward: true,
  usesGroups: false,
  explain: {
    rollout: ROLLOUT_TEXT,
    rewards: REWARDS_IN_REWARD,
    advantages: CRITIC_ADVANTAGES,
    objective:
      'The policy loss is −A·log π(token), averaged over the batch’s tokens; the critic’s loss is ½(V − R)², weighted by c_v, and pulls its values towards the returns. ' +
      'Actor and critic share the network, so one loss trains both in a single step.',
    step: ONE_STEP_TEXT,
  },
};

const ppo: AlgorithmSpec<'ppo'> = {
  name: 'ppo',
  title: 'PPO',
  help: 'PPO (clipped surrogate)',
  summary:
    'Actor-critic that reuses each batch for several epochs of steps, clipping the probability ratio π/π_old so no step strays far.',
  hasCritic: true,
  ignores: {
    ...TRPO_ONLY,
    ...GRPO_ONLY,
    baseline: 'Only REINFORCE subtracts a baseline; actor-critic and PPO subtract the learned value (GAE).',
  },
  klInReward: true,
  usesGroups: false,
  explain: {
    rollout: ROLLOUT_TEXT,
    rewards: REWARDS_IN_REWARD,
    advantages: CRITIC_ADVANTAGES,
    objective:
      'PPO reuses the batch for several epochs of minibatch steps, so the weights drift from those that sampled it: the ratio r = π/π_old measures that drift per token. ' +
      'Its loss per token is max(−A·r, −A·clip(r, 1−ε, 1+ε)): once a token’s ratio has moved past the clip in the direction its advantage wants, the clipped term wins and its gradient is zero. ' +
      'The value loss (with its own clip when ε_v > 0) and the entropy bonus (when c_e > 0) are added.',
    step:
      'Each minibatch is one optimizer step: gradient, its norm clipped to the maximum, then Adam. ' +
      'Pick a token: its next-token distribution before and after all of this update’s steps, beside the reference’s, shows what PPO changed.',
  },
};

// Dr. GRPO (Liu et al. 2025) is GRPO with lossAgg constant and stdNorm off: no algorithm of its own, two switches.
const grpo: AlgorithmSpec<'grpo'> = {
  name: 'grpo',
  title: 'GRPO',
  summary:
    'No critic: each answer is judged against the other answers to the same prompt (its group), then PPO’s clipped steps, with the KL in the loss.',
  help: 'GRPO (no critic: each response is scored against its group of G, PPO’s clip, KL in the loss; Dr. GRPO = loss aggregation constant and std division off)',
  hasCritic: false,
  ignores: {
    ...TRPO_ONLY,
    valueClip: 'GRPO trains no critic, so there is no value to clip.',
    valueCoef: `GRPO ${NO_CRITIC}`,
    lambda: `GRPO ${NO_GAE}`,
    gamma: 'GRPO rewards the whole response with its score, so there is nothing to discount.',
    baseline: NO_BASELINE,
    whitenAdvantages: 'GRPO normalises advantages within each group instead (stdNorm).',
  },
  klInReward: false,
  usesGroups: true,
  explain: {
    rollout:
      ROLLOUT_TEXT +
      ' GRPO samples several answers (a group) to each prompt, on adjacent rows, so that they can be compared.',
    rewards:
      'The task scores each answer. GRPO does not put the KL into the rewards: it adds β·KL to the loss instead (the next stages), so a token’s reward is just the score on the last token. ' +
      'With klIn set to reward, the KL penalty is paid per token as in PPO.',
    advantages:
      'There is no critic: each answer’s advantage is its reward minus the mean reward of its group, divided by the group’s standard deviation (unless stdNorm is off, as in Dr. GRPO). ' +
      'Every token of an answer carries the same advantage; a group whose answers all scored the same teaches nothing.',
    objective:
      'As PPO: the ratio r = π/π_old per token (or one per answer with ratioLevel sequence), and the loss max(−A·r, −A·clip(r, 1−ε_low, 1+ε_high)). ' +
      'β times the k3 estimate of the KL to the reference is added per token, and the token losses are averaged per answer, per token or by a constant (lossAgg).',
    step:
      'Each minibatch is one optimizer step: gradient, its norm clipped to the maximum, then Adam. ' +
      'Pick a token: its next-token distribution before and after the update, beside the reference’s, shows what changed.',
  },
};

const rloo: AlgorithmSpec<'rloo'> = {
  name: 'rloo',
  title: 'RLOO',
  summary:
    'No critic: REINFORCE on whole answers, each judged against the mean reward of the other answers to its prompt (leave one out).',
  help: 'RLOO (REINFORCE on whole responses, each baselined by the mean reward of the other G − 1 in its group)',
  hasCritic: false,
  ignores: {
    ...ONE_STEP,
    valueCoef: `RLOO ${NO_CRITIC}`,
    lambda: `RLOO ${NO_GAE}`,
    gamma: 'RLOO sums a response’s rewards undiscounted into one return.',
    baseline: NO_BASELINE,
  },
  klInReward: true,
  usesGroups: true,
  explain: {
    rollout:
      ROLLOUT_TEXT +
      ' RLOO samples several answers to each prompt, on adjacent rows, so that each can be judged against the others.',
    rewards: REWARDS_IN_REWARD,
    advantages:
      'Each answer’s return is the sum of its token rewards; its baseline is the mean return of the other answers to the same prompt (leave one out), so it does not depend on the answer itself. ' +
      'Every token of an answer carries the same advantage A = R − baseline, optionally whitened over the batch’s answers.',
    objective:
      'The loss is −A·log π(token) summed over an answer’s tokens (the answer’s log-probability), averaged over answers. ' +
      'No ratio and no clip: one step from the weights that sampled the batch.',
    step: ONE_STEP_TEXT,
  },
};

const trpo: AlgorithmSpec<'trpo'> = {
  name: 'trpo',
  title: 'TRPO',
  summary:
    'Actor-critic with one natural-gradient step per batch, shrunk until the mean KL to the old policy is at most δ: a hard trust region where PPO clips.',
  help: 'TRPO (the natural-gradient step of largest gain whose mean KL to the old policy stays ≤ δ, found by conjugate gradient and a line search; the critic is fitted afterwards)',
  hasCritic: true,
  ignores: {
    ...NO_STEP_KL,
    ...GRPO_ONLY,
    clipEpsilon: 'TRPO bounds its step by the KL trust region δ instead of clipping the ratio.',
    valueCoef:
      'TRPO fits its critic on the value loss alone, after the policy step, so there is nothing to weigh it against.',
    valueClip: 'Only PPO clips the value loss.',
    targetKl: 'TRPO takes one step, bounded by δ, so there are no epochs to stop early.',
    baseline: 'Only REINFORCE subtracts a baseline; actor-critic, PPO and TRPO subtract the learned value (GAE).',
  },
  klInReward: true,
  usesGroups: false,
  explain: {
    rollout: ROLLOUT_TEXT,
    rewards: REWARDS_IN_REWARD,
    advantages: CRITIC_ADVANTAGES,
    objective:
      'TRPO maximises the mean of r·A, where r = π/π_old, subject to a hard limit: the mean KL from the old policy to the new one may be at most δ. ' +
      'The ratios shown are at the weights the step ended on; no clip is needed, the limit does its job.',
    step:
      'The direction is the natural gradient (found by conjugate gradient on the Fisher matrix), scaled so that the KL would be exactly δ, then shrunk ×0.8 at a time until the KL is within δ and the loss did not rise. ' +
      'The critic is fitted afterwards with Adam on its own head. Pick a token to see its distribution before and after.',
  },
};

export const ALGORITHM_SPECS = { reinforce, 'actor-critic': actorCritic, ppo, trpo, grpo, rloo } as const;

export type AlgorithmName = keyof typeof ALGORITHM_SPECS;

export const ALGORITHMS = Object.keys(ALGORITHM_SPECS) as readonly AlgorithmName[];

/**
 * Whether this run's −β·KL goes into the per-token rewards (true) or β·k3 into the loss (false): the
 * klIn setting, where `auto` is the algorithm's own choice (GRPO: the loss; the others: the reward).
 */
export function klInReward(config: Pick<Config, 'algorithm' | 'klIn'>): boolean {
  return config.klIn === 'auto' ? ALGORITHM_SPECS[config.algorithm].klInReward : config.klIn === 'reward';
}
