// One explained update laid out for a student: per episode and per action token, the numbers the
// trainer computed (probabilities, KL, rewards, returns, values, TD errors, advantages before and after
// whitening, the next-token distributions before and after the update and the reference's), and per
// optimizer step its per-token terms (explain.ts). Plain data: it crosses to the UI thread as is.
// No TensorFlow.js here.
import type { AlgorithmName } from './algorithms/specs';
import type { Config } from './config';
import type { Episode } from './episodes';
import type { RecordedStep, TokenQuantity } from './explain';
import type { Metrics } from './metrics';

export interface ExplainedToken {
  token: string;
  /** Decision position in the context (the token was sampled from the distribution at this position). */
  position: number;
  /** π_old(a) and π_ref(a) of the sampled token, at the run's temperature. */
  prob: number;
  refProb: number;
  /** The per-token KL to the reference with the run's estimator (klEstimator). */
  kl: number;
  /** −β·KL when the KL is in the reward, else 0. */
  penalty: number;
  /** The (normalised, with rewardNorm) score, on the last action token only; else 0. */
  outcome: number;
  /** The token's reward: penalty + outcome. */
  reward: number;
  /** The return (value target) the algorithm computed for this token. */
  ret: number;
  /** The critic's value at rollout time (NaN without a critic). */
  value: number;
  /** δ_t = r_t + γ·V_{t+1} − V_t (NaN without a critic). */
  tdError: number;
  /** The advantage before whitening, and after (what the loss used). */
  advantageRaw: number;
  advantage: number;
  /** Next-token distributions over the vocabulary at this position: policy before, after, reference. */
  before: number[];
  after: number[];
  reference: number[];
}

export interface ExplainedEpisode {
  /** Its row in the batch (0-based). */
  row: number;
  prompt: string[];
  /** Every response token, observations (written by the environment) included. */
  response: string[];
  observed: boolean[];
  score: number;
  outcome: number;
  gold: number;
  /** The policy's own tokens only, in order. */
  tokens: ExplainedToken[];
  /** Each optimizer step this episode was part of, with its per-token terms (one per action token). */
  steps: Array<{ step: number; epoch: number; terms: Partial<Record<TokenQuantity, number[]>> }>;
}

export interface ExplainedStep {
  step: number;
  epoch: number;
  /** Episodes in the step's batch. */
  episodes: number;
  gradNorm: number;
  clippedGradNorm: number;
  loss: number;
  learningRate: number;
  facts: Record<string, number>;
}

export interface UpdateExplanation {
  update: number;
  /** Set when the update went non-finite and was skipped: the weights did not change. */
  skipped?: string;
  algorithm: AlgorithmName;
  config: Config;
  /** β this update used, and whether it acted through the rewards (else the loss, or nowhere at β = 0). */
  beta: number;
  klInReward: boolean;
  learningRate: number;
  vocabulary: string[];
  episodes: ExplainedEpisode[];
  steps: ExplainedStep[];
  metrics: Metrics;
}

export interface ExplanationInputs {
  update: number;
  skipped?: string;
  config: Config;
  beta: number;
  klInReward: boolean;
  learningRate: number;
  hasCritic: boolean;
  vocabulary: readonly string[];
  decode: (ids: readonly number[]) => string[];
  /** What the policy saw as the prompt (guess hides its letter). */
  visiblePrompt: (prompt: number[]) => number[];
  episodes: readonly Episode[];
  /** The same episodes' advantages before whitening, by episode index. */
  rawAdvantages: readonly (readonly number[])[];
  steps: readonly RecordedStep[];
  /** [episodes, T, V] row-major, in episode order: the policy before and after the update, and the reference. */
  before: Float32Array;
  after: Float32Array;
  reference: Float32Array;
  time: number;
  metrics: Metrics;
}

/** Lays the read-back numbers out per episode and token. */
export function buildExplanation(x: ExplanationInputs): UpdateExplanation {
  const v = x.vocabulary.length;
  const distribution = (buffer: Float32Array, index: number, position: number) =>
    Array.from(buffer.subarray((index * x.time + position) * v, (index * x.time + position + 1) * v));
  const { gamma } = x.config;

  // Where each episode sits in each step's batch, to pick its rows out of the step's [rows, T] terms.
  const stepsOf = new Map<number, ExplainedEpisode['steps']>();
  const byRow = new Map(x.episodes.map((e) => [e.row, e]));
  x.steps.forEach((s, index) => {
    s.rows.forEach((row, i) => {
      const episode = byRow.get(row);
      if (!episode) return;
      const terms: Partial<Record<TokenQuantity, number[]>> = {};
      for (const [name, values] of Object.entries(s.terms) as Array<[TokenQuantity, Float32Array]>)
        terms[name] = episode.positions.map((p) => values[i * x.time + p]);
      const list = stepsOf.get(row) ?? [];
      list.push({ step: index, epoch: s.epoch, terms });
      stepsOf.set(row, list);
    });
  });

  const episodes = x.episodes.map((e, index): ExplainedEpisode => {
    const actions = e.response.filter((_, k) => !e.observed[k]);
    const last = e.positions.length - 1;
    return {
      row: e.row,
      prompt: x.decode(x.visiblePrompt(e.prompt)),
      response: x.decode(e.response),
      observed: e.observed,
      score: e.score,
      outcome: e.outcome,
      gold: e.gold,
      tokens: e.positions.map((position, k) => {
        const penalty = x.klInReward ? -x.beta * e.kl[k] : 0;
        const value = x.hasCritic ? e.values[k] : Number.NaN;
        const nextValue = k < last ? e.values[k + 1] : 0;
        return {
          token: x.decode([actions[k]])[0],
          position,
          prob: Math.exp(e.oldLogp[k]),
          refProb: Math.exp(e.refLogp[k]),
          kl: e.kl[k],
          penalty,
          outcome: k === last ? e.outcome : 0,
          reward: e.rewards[k],
          ret: e.returns[k],
          value,
          tdError: x.hasCritic ? e.rewards[k] + gamma * nextValue - e.values[k] : Number.NaN,
          advantageRaw: x.rawAdvantages[index][k],
          advantage: e.advantages[k],
          before: distribution(x.before, index, position),
          after: distribution(x.after, index, position),
          reference: distribution(x.reference, index, position),
        };
      }),
      steps: stepsOf.get(e.row) ?? [],
    };
  });

  return {
    update: x.update,
    ...(x.skipped ? { skipped: x.skipped } : {}),
    algorithm: x.config.algorithm,
    config: x.config,
    beta: x.beta,
    klInReward: x.klInReward,
    learningRate: x.learningRate,
    vocabulary: [...x.vocabulary],
    episodes,
    steps: x.steps.map((s, step) => ({
      step,
      epoch: s.epoch,
      episodes: s.rows.length,
      gradNorm: s.gradNorm,
      clippedGradNorm: s.clippedGradNorm,
      loss: s.loss,
      learningRate: s.learningRate,
      facts: s.facts,
    })),
    metrics: x.metrics,
  };
}
