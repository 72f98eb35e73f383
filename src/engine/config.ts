// The experiment schema: every knob, once. Controls, the link codec, the CLI flags and validation are
// all generated from FIELDS, so a knob added here appears everywhere.

import { TASK_SPECS, TASKS, taskSpec, type TaskName } from './tasks/registry';

import { ALGORITHM_SPECS, ALGORITHMS, type AlgorithmName } from './algorithms/specs';

export { ALGORITHMS, TASKS, type AlgorithmName, type TaskName };
export const KL_ESTIMATORS = ['k1', 'k3'] as const;
export const BASELINES = ['none', 'moving-average', 'batch-mean'] as const;
export const SCORINGS = ['dense', 'sparse'] as const;
export const LOSS_AGGREGATIONS = ['response', 'token', 'constant'] as const;
export const RATIO_LEVELS = ['token', 'sequence'] as const;
export const KL_PLACEMENTS = ['auto', 'reward', 'loss'] as const;

export type KlEstimator = (typeof KL_ESTIMATORS)[number];
export type BaselineKind = (typeof BASELINES)[number];
export type Scoring = (typeof SCORINGS)[number];
export type LossAggregation = (typeof LOSS_AGGREGATIONS)[number];
export type RatioLevel = (typeof RATIO_LEVELS)[number];
export type KlPlacement = (typeof KL_PLACEMENTS)[number];

/** The settings' groups, in the order the panel shows them, with their titles. */
export const FIELD_GROUPS = [
  { id: 'task', title: 'Task' },
  { id: 'algorithm', title: 'Algorithm' },
  { id: 'optimisation', title: 'Optimisation' },
  { id: 'kl', title: 'KL to the reference' },
  { id: 'ppo', title: 'PPO, GRPO and TRPO steps' },
  { id: 'sampling', title: 'Sampling' },
  { id: 'rlhf', title: 'RLHF pipeline' },
  { id: 'agent', title: 'Agent environment' },
  { id: 'model', title: 'Model' },
  { id: 'run', title: 'Run' },
] as const;

export type FieldGroup = (typeof FIELD_GROUPS)[number]['id'];

interface FieldBase<K extends string> {
  key: K;
  /** Short name for a control's label. */
  label: string;
  /** One line for a tooltip or `--help`. */
  help: string;
  group: FieldGroup;
  /** True when the trainer can apply a new value on the next update without a reset. */
  live: boolean;
  unit?: string;
}

export interface NumberField<K extends string = ConfigKey> extends FieldBase<K> {
  kind: 'number';
  default: number;
  min: number;
  max: number;
  integer: boolean;
  /** Suggests a log-scale slider (learning rates, coefficients spanning decades). */
  log?: boolean;
}

export interface ChoiceField<K extends string = ConfigKey, C extends string = string> extends FieldBase<K> {
  kind: 'choice';
  default: NoInfer<C>;
  choices: readonly C[];
  /** A sentence per choice, shown under the picker for the chosen one. */
  choiceHelp?: Readonly<Partial<Record<string, string>>>;
}

export interface BooleanField<K extends string = ConfigKey> extends FieldBase<K> {
  kind: 'boolean';
  default: boolean;
}

export interface StringField<K extends string = ConfigKey> extends FieldBase<K> {
  kind: 'string';
  default: string;
  /** Allowed characters, as a regular-expression character class body. */
  pattern: RegExp;
  maxLength: number;
}

const num = <const K extends string>(f: Omit<NumberField<K>, 'kind'>): NumberField<K> => ({ kind: 'number', ...f });
const choice = <const K extends string, const C extends string>(
  f: Omit<ChoiceField<K, C>, 'kind'>,
): ChoiceField<K, C> => ({ kind: 'choice', ...f });
const bool = <const K extends string>(f: Omit<BooleanField<K>, 'kind'>): BooleanField<K> => ({ kind: 'boolean', ...f });
const str = <const K extends string>(f: Omit<StringField<K>, 'kind'>): StringField<K> => ({ kind: 'string', ...f });

// The schema as a tuple, so `Config` below is derived from it: a field added here is a typed setting.
const SCHEMA = [
  // Task
  choice({
    key: 'task',
    label: 'Task',
    group: 'task',
    live: false,
    default: 'reverse',
    choices: TASKS,
    help: `What the model must write: ${Object.values(TASK_SPECS)
      .map((spec) => spec.help)
      .join('; ')}.`,
  }),
  num({
    key: 'alphabetSize',
    label: 'Alphabet size',
    group: 'task',
    live: false,
    default: 5,
    min: 2,
    max: 16,
    integer: true,
    unit: 'letters',
    help: 'How many letters (a, b, c, ...) prompts and answers are made of.',
  }),
  num({
    key: 'promptLength',
    label: 'Prompt length',
    group: 'task',
    live: false,
    default: 3,
    min: 1,
    max: 12,
    integer: true,
    unit: 'tokens',
    help: 'Letters in each prompt (reverse, sort); the answer has the same length.',
  }),
  str({
    key: 'targetWord',
    label: 'Target word',
    group: 'task',
    live: false,
    default: 'bad',
    pattern: /^[a-p]+$/,
    maxLength: 12,
    help: 'The word the target task rewards; letters must lie inside the alphabet.',
  }),
  choice({
    key: 'scoring',
    label: 'Scoring',
    group: 'task',
    live: true,
    default: 'dense',
    choices: SCORINGS,
    help: 'Dense: fraction of letters right. Sparse: 1 only for an exact answer followed by <eos>.',
  }),
  // Model
  num({
    key: 'dModel',
    label: 'Width (d_model)',
    group: 'model',
    live: false,
    default: 32,
    min: 8,
    max: 256,
    integer: true,
    help: "Size of every token's vector inside the transformer.",
  }),
  num({
    key: 'nLayers',
    label: 'Layers',
    group: 'model',
    live: false,
    default: 1,
    min: 1,
    max: 6,
    integer: true,
    help: 'Number of transformer blocks (attention + MLP).',
  }),
  num({
    key: 'nHeads',
    label: 'Attention heads',
    group: 'model',
    live: false,
    default: 2,
    min: 1,
    max: 8,
    integer: true,
    help: 'Heads per attention layer; must divide the width.',
  }),
  num({
    key: 'contextLength',
    label: 'Context length',
    group: 'model',
    live: false,
    default: 10,
    min: 4,
    max: 64,
    integer: true,
    unit: 'tokens',
    help: 'Fixed sequence length of every batch: <bos>, prompt, <sep>, response, padding.',
  }),
  // Algorithm
  choice({
    key: 'algorithm',
    label: 'Algorithm',
    group: 'algorithm',
    live: false,
    default: 'ppo',
    choices: ALGORITHMS,
    choiceHelp: Object.fromEntries(Object.values(ALGORITHM_SPECS).map((spec) => [spec.name, spec.summary])),
    help: `How the policy learns from its samples: ${Object.values(ALGORITHM_SPECS)
      .map((spec) => spec.help)
      .join('; ')}.`,
  }),
  num({
    key: 'groupSize',
    label: 'Group size G',
    group: 'algorithm',
    live: false,
    default: 1,
    min: 1,
    max: 64,
    integer: true,
    unit: 'responses/prompt',
    help: 'Each update draws batchSize / G prompts and samples G responses to each (tasks without a prompt: G independent samples per group). GRPO and RLOO compare the responses within a group, so they need G ≥ 2; the batch size must be a multiple of G.',
  }),
  choice({
    key: 'baseline',
    label: 'Baseline',
    group: 'algorithm',
    live: true,
    default: 'batch-mean',
    choices: BASELINES,
    help: "REINFORCE only: subtracted from every reward-to-go; it alone centres the advantages (whitening does not), cutting variance without bias. none: 0 (with scores ≥ 0 every sampled token is pushed up); batch-mean: this batch's mean return; moving-average: a running mean of earlier batches' returns (rate 0.1; 0 on the first batch).",
  }),
  num({
    key: 'gamma',
    label: 'γ (discount)',
    group: 'algorithm',
    live: true,
    default: 1,
    min: 0,
    max: 1,
    integer: false,
    help: 'How much a reward k tokens later counts now: γ^k.',
  }),
  num({
    key: 'lambda',
    label: 'λ (GAE)',
    group: 'algorithm',
    live: true,
    default: 0.95,
    min: 0,
    max: 1,
    integer: false,
    help: 'GAE: 0 trusts the critic (low variance, biased), 1 is the Monte-Carlo return.',
  }),
  bool({
    key: 'whitenAdvantages',
    label: 'Whiten advantages',
    group: 'algorithm',
    live: true,
    default: true,
    help: "Rescale advantages over the batch's action tokens. REINFORCE: divide by their std only, so the baseline still decides the sign. Actor-critic and PPO: subtract the mean and divide by the std (as CleanRL). Value targets keep their scale.",
  }),
  choice({
    key: 'lossAgg',
    label: 'Loss aggregation',
    group: 'algorithm',
    live: true,
    default: 'response',
    choices: LOSS_AGGREGATIONS,
    help: 'GRPO: how token losses become one number. response: mean over each response’s own length, then over responses (Shao et al. 2024); token: every token of the batch counts once (DAPO); constant: each response’s sum over maxNewTokens, as Dr. GRPO (Liu et al. 2025), so a long wrong answer is not penalised less per token.',
  }),
  bool({
    key: 'stdNorm',
    label: 'Divide by group std',
    group: 'algorithm',
    live: true,
    default: true,
    help: 'GRPO: Â = (r − mean of the group) / (std of the group + 1e-4); off: Â = r − mean, as Dr. GRPO (Liu et al. 2025), so nearly-solved and nearly-failed prompts do not weigh more.',
  }),
  choice({
    key: 'ratioLevel',
    label: 'Importance ratio',
    group: 'algorithm',
    live: true,
    default: 'token',
    choices: RATIO_LEVELS,
    help: 'GRPO: token: one ratio π/π_old per token, clipped per token; sequence: one per response, the geometric mean of its token ratios, clipped once (GSPO, Zheng et al. 2025).',
  }),
  bool({
    key: 'rewardNorm',
    label: 'Normalise rewards',
    group: 'algorithm',
    live: true,
    default: false,
    help: 'Score each response as (score − running mean) / running std over every score seen so far (the seed’s “batch normalisation” of rewards), before the KL penalty: the reward keeps one scale whatever the task’s.',
  }),
  num({
    key: 'valueCoef',
    label: 'Value coef c_v',
    group: 'algorithm',
    live: true,
    default: 0.5,
    min: 0,
    max: 10,
    integer: false,
    help: 'Weight of the value (critic) loss in the total loss.',
  }),
  num({
    key: 'entropyCoef',
    label: 'Entropy coef c_e',
    group: 'algorithm',
    live: true,
    default: 0.01,
    min: 0,
    max: 1,
    integer: false,
    help: 'Bonus c_e·H for a spread-out next-token distribution: keeps exploring, so a solved run does not collapse onto answers it can no longer learn out of.',
  }),
  // Optimisation
  num({
    key: 'learningRate',
    label: 'Learning rate',
    group: 'optimisation',
    live: true,
    default: 0.001,
    min: 1e-6,
    max: 0.1,
    integer: false,
    log: true,
    help: 'Adam step size.',
  }),
  bool({
    key: 'adaptiveLr',
    label: 'KL-adaptive learning rate',
    group: 'optimisation',
    live: true,
    default: false,
    help: 'PPO and GRPO: after each update, halve the learning rate when its approx-KL was above 2× the LR KL target and raise it 1.5× when below ½×, within 1e-6 to 1e-2 (the schedule of rl_games and Isaac Gym’s PPO, which divides by 1.5).',
  }),
  num({
    key: 'lrKlTarget',
    label: 'LR KL target',
    group: 'optimisation',
    live: true,
    default: 0.008,
    min: 0.0001,
    max: 1,
    integer: false,
    log: true,
    unit: 'nats/token',
    help: 'KL-adaptive learning rate: the approx-KL per update it steers towards (rl_games’ kl_threshold 0.008).',
  }),
  num({
    key: 'batchSize',
    label: 'Batch size',
    group: 'optimisation',
    live: false,
    default: 128,
    min: 2,
    max: 1024,
    integer: true,
    unit: 'episodes',
    help: 'Episodes sampled per update.',
  }),
  num({
    key: 'maxGradNorm',
    label: 'Max grad norm',
    group: 'optimisation',
    live: true,
    default: 1,
    min: 0,
    max: 100,
    integer: false,
    help: 'Clip the global gradient norm to this (0 = no clipping).',
  }),
  num({
    key: 'adamBeta2',
    label: 'Adam β₂',
    group: 'optimisation',
    live: true,
    default: 0.99,
    min: 0.9,
    max: 0.9999,
    integer: false,
    help: 'How long Adam remembers the size of each weight’s gradients (its second moment v; memory ≈ 1/(1 − β₂) steps). Each step divides by √v, so after a long spell of tiny gradients the next ordinary one moves a weight by a full learning-rate step or more: a shorter memory forgets the quiet spell sooner.',
  }),
  num({
    key: 'adamEpsilon',
    label: 'Adam ε',
    group: 'optimisation',
    live: true,
    default: 1e-5,
    min: 1e-8,
    max: 0.1,
    integer: false,
    log: true,
    help: 'Added to √v before Adam divides by it. Where a weight’s gradients are smaller than ε, its step shrinks with them (like plain SGD with momentum) instead of being scaled up to a full learning-rate step; lessons/DEFAULTS.md shows one such step undoing a solved task.',
  }),
  // KL to the reference
  num({
    key: 'beta',
    label: 'β (KL penalty)',
    group: 'kl',
    live: true,
    default: 0.05,
    min: 0,
    max: 10,
    integer: false,
    help: 'The weight of the KL to the frozen reference policy: a per-token reward penalty β·KL, or β·k3 in the loss (see “KL goes into”). 0: the KL is only observed.',
  }),
  choice({
    key: 'klEstimator',
    label: 'KL estimator',
    group: 'kl',
    live: true,
    default: 'k1',
    choices: KL_ESTIMATORS,
    help: 'k1 = log π − log π_ref (unbiased, can be negative); k3 = e^−k1 + k1 − 1 (never negative).',
  }),
  choice({
    key: 'klIn',
    label: 'KL goes into',
    group: 'kl',
    live: true,
    default: 'auto',
    choices: KL_PLACEMENTS,
    help: 'reward: −β·KL on every token’s reward (the RLHF way: Ziegler et al. 2019, Ouyang et al. 2022); loss: β·k3 per token added to the loss (GRPO’s way); auto: the algorithm’s own (GRPO the loss, the others the reward).',
  }),
  bool({
    key: 'adaptiveKl',
    label: 'Adaptive β',
    group: 'kl',
    live: true,
    default: false,
    help: 'Adjust β after each update so KL tracks the target (Ziegler et al. 2019).',
  }),
  num({
    key: 'klTarget',
    label: 'KL target',
    group: 'kl',
    live: true,
    default: 1,
    min: 0.001,
    max: 100,
    integer: false,
    unit: 'nats/response',
    help: 'Adaptive β: the KL per response it steers towards.',
  }),
  num({
    key: 'klHorizon',
    label: 'KL horizon',
    group: 'kl',
    live: true,
    default: 10000,
    min: 1,
    max: 1e6,
    integer: true,
    unit: 'episodes',
    log: true,
    help: 'Adaptive β: how many episodes a full correction takes.',
  }),
  // PPO
  num({
    key: 'clipEpsilon',
    label: 'Clip ε',
    group: 'ppo',
    live: true,
    default: 0.2,
    min: 0.01,
    max: 1,
    integer: false,
    help: 'PPO: the probability ratio is clipped to [1−ε, 1+ε].',
  }),
  num({
    key: 'clipEpsilonHigh',
    label: 'Clip ε high',
    group: 'ppo',
    live: true,
    default: 0,
    min: 0,
    max: 1,
    integer: false,
    help: 'GRPO: the upper clip, ratio ≤ 1 + ε_high, so a rare token can still rise (DAPO’s clip-higher, 0.28); 0 = the same as clip ε.',
  }),
  num({
    key: 'valueClip',
    label: 'Value clip',
    group: 'ppo',
    live: true,
    default: 0.2,
    min: 0,
    max: 10,
    integer: false,
    help: 'PPO: how far a value may move from its rollout value before the loss stops rewarding it (0 = off).',
  }),
  num({
    key: 'epochs',
    label: 'Epochs',
    group: 'ppo',
    live: true,
    default: 4,
    min: 1,
    max: 16,
    integer: true,
    help: 'PPO and GRPO: passes over each batch; TRPO: passes of critic fitting after its one policy step.',
  }),
  num({
    key: 'minibatches',
    label: 'Minibatches',
    group: 'ppo',
    live: true,
    default: 4,
    min: 1,
    max: 64,
    integer: true,
    help: 'PPO and GRPO (TRPO’s critic too): each epoch splits the shuffled batch into this many optimizer steps.',
  }),
  num({
    key: 'targetKl',
    label: 'Target approx-KL',
    group: 'ppo',
    live: true,
    default: 0,
    min: 0,
    max: 10,
    integer: false,
    unit: 'nats/token',
    help: 'PPO: stop the epochs early once approx-KL exceeds 1.5× this (0 = never).',
  }),
  num({
    key: 'maxKl',
    label: 'Trust region δ',
    group: 'ppo',
    live: true,
    default: 0.05,
    min: 0.0001,
    max: 1,
    integer: false,
    log: true,
    unit: 'nats/token',
    help: 'TRPO: the largest mean KL(π_old ‖ π_new) per action token one update may take. Spinning Up’s 0.01 (made for robot control) leaves the default reverse run near its start after 100 updates, so the default here is larger.',
  }),
  // Sampling
  num({
    key: 'temperature',
    label: 'Temperature',
    group: 'sampling',
    live: true,
    default: 1,
    min: 0.05,
    max: 5,
    integer: false,
    help: 'Logits are divided by this before every softmax: sampling, training and the reference.',
  }),
  num({
    key: 'maxNewTokens',
    label: 'Max new tokens',
    group: 'sampling',
    live: false,
    default: 5,
    min: 1,
    max: 32,
    integer: true,
    unit: 'tokens',
    help: 'A response stops at <eos> or after this many tokens.',
  }),
  // Run
  num({
    key: 'sftSteps',
    label: 'Format pretraining steps',
    group: 'run',
    live: false,
    default: 60,
    min: 0,
    max: 5000,
    integer: true,
    unit: 'steps',
    help: 'Supervised steps before RL that teach the answer format and <eos> (not the answer).',
  }),
  // RLHF pipeline (task = preference)
  num({
    key: 'demonstrations',
    label: 'Demonstrations',
    group: 'rlhf',
    live: false,
    default: 64,
    min: 1,
    max: 4096,
    integer: true,
    unit: 'responses',
    help: 'Preference task, stage 1: responses the hidden human wrote for supervised fine-tuning (SFT).',
  }),
  num({
    key: 'comparisons',
    label: 'Comparisons',
    group: 'rlhf',
    live: false,
    default: 256,
    min: 8,
    max: 8192,
    integer: true,
    unit: 'pairs',
    help: 'Preference task, stage 2: pairs of SFT samples the hidden human compared; the reward model learns from 80% and is tested on 20%.',
  }),
  num({
    key: 'labelNoise',
    label: 'Label noise',
    group: 'rlhf',
    live: false,
    default: 0,
    min: 0,
    max: 0.5,
    integer: false,
    help: 'Chance that the human picks the worse response of a pair (a careless or disagreeing annotator).',
  }),
  num({
    key: 'rmSteps',
    label: 'Reward-model steps',
    group: 'rlhf',
    live: false,
    default: 200,
    min: 1,
    max: 5000,
    integer: true,
    unit: 'steps',
    help: 'Optimizer steps that fit the reward model to the comparisons (Bradley–Terry loss).',
  }),
  num({
    key: 'rmRefreshEvery',
    label: 'Refresh reward model every',
    group: 'rlhf',
    live: true,
    default: 0,
    min: 0,
    max: 1000,
    integer: true,
    unit: 'updates',
    help: 'Bootstrapping: every N updates the human compares fresh samples of the current policy and the reward model trains on them too (0 = never).',
  }),
  // Agentic tasks
  bool({
    key: 'tools',
    label: 'Tools available',
    group: 'agent',
    live: false,
    default: true,
    help: 'Calculator task: whether <calc> gets the sum back from the environment (off: it gets _ _ _).',
  }),
  num({
    key: 'toolCost',
    label: 'Cost per tool call',
    group: 'agent',
    live: false,
    default: 0,
    min: 0,
    max: 1,
    integer: false,
    help: 'Calculator task: subtracted from the score of a right answer for each <calc>; when does a tool pay?',
  }),
  bool({
    key: 'feedback',
    label: 'Feedback after a wrong answer',
    group: 'agent',
    live: false,
    default: true,
    help: 'Retry task: after a wrong first attempt the environment says where it went wrong (off: blank tokens).',
  }),
  bool({
    key: 'hiddenAnswer',
    label: 'Hide the prompt',
    group: 'agent',
    live: false,
    default: false,
    help: 'Retry task: the policy does not see the letters to reverse, so its first attempt is a guess and only the feedback says which letters were right.',
  }),
  // Thinking (task = chain)
  num({
    key: 'hops',
    label: 'Hops',
    group: 'task',
    live: false,
    default: 2,
    min: 1,
    max: 4,
    integer: true,
    unit: 'arrows',
    help: 'Chain task: arrows to follow through the table; each hop after the first needs the letter the last one found.',
  }),
  num({
    key: 'thinkTokens',
    label: 'Thinking budget',
    group: 'task',
    live: false,
    default: 2,
    min: 0,
    max: 8,
    integer: true,
    unit: 'tokens',
    help: 'Chain task: free letters the policy may write between <think> and </think> before its answer (0: answer at once). Only the answer is scored.',
  }),
  num({
    key: 'solvedDemos',
    label: 'Worked solutions in pretraining',
    group: 'task',
    live: false,
    default: 0,
    min: 0,
    max: 1,
    integer: false,
    help: 'Chain task: share of format-pretraining examples that show a worked solution (the path in the scratchpad, then the right answer); 0 teaches the layout only.',
  }),
  num({
    key: 'seed',
    label: 'Seed',
    group: 'run',
    live: false,
    default: 1,
    min: 0,
    max: 2 ** 31 - 1,
    integer: true,
    help: 'Every random choice of the run follows from this number.',
  }),
] as const;

type ValueOf<F> =
  F extends ChoiceField<string, infer C>
    ? C
    : F extends NumberField<string>
      ? number
      : F extends BooleanField<string>
        ? boolean
        : string;

/** One experiment's settings: a value for every field of the schema, typed by the field. */
export type Config = { -readonly [F in (typeof SCHEMA)[number] as F['key']]: ValueOf<F> };

export type ConfigKey = keyof Config;

export type Field = NumberField | ChoiceField | BooleanField | StringField;

export const FIELDS: readonly Field[] = SCHEMA;

export const FIELD_BY_KEY: ReadonlyMap<string, Field> = new Map(FIELDS.map((f) => [f.key, f]));

export function defaultConfig(): Config {
  const config: Record<string, unknown> = {};
  for (const field of FIELDS) config[field.key] = field.default;
  return config as unknown as Config;
}

/** Tokens of the prompt in the buffer, between <bos> and <sep> (the task's spec says how many). */
export function promptTokens(c: Config): number {
  return taskSpec(c.task).promptTokens(c);
}

/** Tokens a sequence needs: <bos>, prompt, <sep>, then up to maxNewTokens responses. */
export function requiredContextLength(c: Config): number {
  return 2 + promptTokens(c) + c.maxNewTokens;
}

/**
 * Settings that were renamed, with how their old values read, so a link, a saved run or a CLI setting
 * written before the rename keeps its meaning. (GRPO's lengthNorm switch became lossAgg, which has a
 * third way, DAPO's per token.)
 */
export const RENAMED_SETTINGS: Readonly<Record<string, { key: ConfigKey; values: Readonly<Record<string, string>> }>> =
  {
    lengthNorm: {
      key: 'lossAgg',
      values: { true: 'response', false: 'constant', '1': 'response', '0': 'constant' },
    },
  };

/** The value a renamed setting's old value reads as (unknown values pass through, to be validated). */
export function renamedValue(oldKey: string, value: unknown): unknown {
  const text = String(value);
  const map = RENAMED_SETTINGS[oldKey].values;
  return Object.hasOwn(map, text) ? map[text] : value;
}

/** Old keys become their new names (the new key wins when both are given). */
function migrateRenamed(input: Record<string, unknown>): Record<string, unknown> {
  const renamed = Object.keys(input).filter((key) => Object.hasOwn(RENAMED_SETTINGS, key));
  if (renamed.length === 0) return input;
  const out = { ...input };
  for (const key of renamed) {
    const target = RENAMED_SETTINGS[key].key;
    if (!(target in out)) out[target] = renamedValue(key, input[key]);
    delete out[key];
  }
  return out;
}

export interface Problem {
  key: string;
  message: string;
}

/**
 * Reads any object into a valid Config. Never throws: each bad, missing-type or out-of-range value is
 * replaced (default, clamp or repair) and described in `problems`.
 */
export function validate(raw: unknown, defaults: Config = defaultConfig()): { config: Config; problems: Problem[] } {
  const problems: Problem[] = [];
  // `defaults`: what a missing or bad value becomes (an older link's defaults, for instance).
  const config = { ...defaults } as unknown as Record<string, unknown>;
  const input: Record<string, unknown> = migrateRenamed(
    raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {},
  );
  if ((raw === null || typeof raw !== 'object' || Array.isArray(raw)) && raw !== undefined) {
    problems.push({ key: '', message: 'Configuration is not an object; using defaults.' });
  }
  for (const key of Object.keys(input)) {
    if (!FIELD_BY_KEY.has(key)) problems.push({ key, message: `Unknown setting "${key}" ignored.` });
  }
  for (const field of FIELDS) {
    if (!(field.key in input) || input[field.key] === undefined) continue;
    const result = coerce(field, input[field.key], defaults[field.key]);
    config[field.key] = result.value;
    if (result.problem) problems.push({ key: field.key, message: result.problem });
  }
  repairCrossFieldRules(config as unknown as Config, problems);
  return { config: config as unknown as Config, problems };
}

/** A value for a message; never throws (a null-prototype object has no toString). */
function show(value: unknown): string {
  try {
    return String(value).slice(0, 40);
  } catch {
    return typeof value;
  }
}

/** Reads one value for one field; a string is parsed (links and CLI flags hand in strings). */
export function coerce(
  field: Field,
  value: unknown,
  /** What a bad value becomes: the field's default, unless the caller reads against other defaults. */
  fallback: unknown = field.default,
): { value: unknown; problem?: string } {
  const safe = fallback;
  const name = `${field.label} (${field.key})`;
  switch (field.kind) {
    case 'number': {
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isFinite(n)) {
        return {
          value: safe,
          problem: `${name}: "${show(value)}" is not a finite number; using ${String(fallback)}.`,
        };
      }
      let v = field.integer ? Math.round(n) : n;
      const rounded = v !== n;
      if (v < field.min || v > field.max) {
        v = Math.min(field.max, Math.max(field.min, v));
        return { value: v, problem: `${name}: ${n} is outside ${field.min}…${field.max}; using ${v}.` };
      }
      return rounded ? { value: v, problem: `${name}: ${n} must be a whole number; using ${v}.` } : { value: v };
    }
    case 'choice': {
      if (typeof value === 'string' && field.choices.includes(value)) return { value };
      return {
        value: safe,
        problem: `${name}: "${show(value)}" is not one of ${field.choices.join(', ')}; using ${String(fallback)}.`,
      };
    }
    case 'boolean': {
      if (typeof value === 'boolean') return { value };
      if (value === 'true' || value === '1' || value === 1) return { value: true };
      if (value === 'false' || value === '0' || value === 0) return { value: false };
      return {
        value: safe,
        problem: `${name}: "${show(value)}" is not true or false; using ${String(fallback)}.`,
      };
    }
    case 'string': {
      if (typeof value === 'string' && value.length <= field.maxLength && field.pattern.test(value)) return { value };
      return {
        value: safe,
        problem: `${name}: "${show(value)}" is not allowed (letters a–p, at most ${field.maxLength}); using "${String(fallback)}".`,
      };
    }
  }
}

function repairCrossFieldRules(c: Config, problems: Problem[]): void {
  if (c.dModel % c.nHeads !== 0) {
    let heads = c.nHeads;
    while (c.dModel % heads !== 0) heads--;
    problems.push({
      key: 'nHeads',
      message: `Attention heads (nHeads): ${c.nHeads} does not divide width ${c.dModel}; using ${heads}.`,
    });
    c.nHeads = heads;
  }
  // The task's own rules between its settings (e.g. target's word must use the alphabet's letters).
  const taskProblem = taskSpec(c.task).repair?.(c);
  if (taskProblem) problems.push(taskProblem);
  // The shortest response a task needs, less its final token (agentic tasks: the whole turn layout).
  const minAnswer = taskSpec(c.task).minAnswer(c);
  if (c.maxNewTokens < minAnswer + 1) {
    problems.push({
      key: 'maxNewTokens',
      message: `Max new tokens (maxNewTokens): ${c.maxNewTokens} leaves no room for a ${minAnswer}-letter answer and <eos>; using ${minAnswer + 1}.`,
    });
    c.maxNewTokens = minAnswer + 1;
  }
  const need = requiredContextLength(c);
  if (c.contextLength < need) {
    problems.push({
      key: 'contextLength',
      message: `Context length (contextLength): ${c.contextLength} is too short for <bos>, prompt, <sep> and ${c.maxNewTokens} new tokens; using ${need}.`,
    });
    c.contextLength = need;
  }
  // Group algorithms (GRPO, RLOO) compare a response with the others to the same prompt.
  if (ALGORITHM_SPECS[c.algorithm].usesGroups && c.groupSize < 2) {
    problems.push({
      key: 'groupSize',
      message: `Group size G (groupSize): ${c.algorithm} compares each response with the others to its prompt, so it needs G ≥ 2; using 2.`,
    });
    c.groupSize = 2;
  }
  if (c.batchSize % c.groupSize !== 0) {
    const batch = Math.max(c.groupSize, c.batchSize - (c.batchSize % c.groupSize));
    problems.push({
      key: 'batchSize',
      message: `Batch size (batchSize): ${c.batchSize} is not a multiple of the group size ${c.groupSize} (batchSize / G prompts, G responses each); using ${batch}.`,
    });
    c.batchSize = batch;
  }
  if (c.minibatches > c.batchSize) {
    problems.push({
      key: 'minibatches',
      message: `Minibatches (minibatches): ${c.minibatches} exceeds the batch size; using ${c.batchSize}.`,
    });
    c.minibatches = c.batchSize;
  }
}

/** True when changing `key` needs a fresh run (model, task or algorithm structure). */
export function needsReset(key: ConfigKey): boolean {
  return !FIELD_BY_KEY.get(key)?.live;
}
