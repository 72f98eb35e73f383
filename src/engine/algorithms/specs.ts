// What the rest of the playground knows about each algorithm, without TensorFlow.js (the UI thread
// imports this): the schema's `algorithm` choices and help, whether it trains a critic, and which
// settings it ignores and why (the panel disables those with the reason). The update itself is the
// algorithm's own file; index.ts maps each name here to it, and fails to compile if one is missing.
// A new algorithm: its file, its entry here, its line in index.ts.
import type { ConfigKey } from '../config';

export interface AlgorithmSpec<Name extends string = string> {
  readonly name: Name;
  /** One clause of the `algorithm` setting's help. */
  readonly help: string;
  /** The value head is trained as a critic and used in the advantages; value loss and explained variance are reported. */
  readonly hasCritic: boolean;
  /** Settings this algorithm never reads, each with the one-sentence reason shown beside it. */
  readonly ignores: Partial<Readonly<Record<ConfigKey, string>>>;
}

const PPO_ONLY = {
  clipEpsilon: 'Only PPO clips the probability ratio.',
  valueClip: 'Only PPO clips the value loss.',
  epochs: 'Only PPO takes several passes over a batch; REINFORCE and actor-critic take one optimizer step per update.',
  minibatches: 'Only PPO splits a batch into minibatches; REINFORCE and actor-critic take one step on the whole batch.',
  targetKl: 'Only PPO can stop its epochs early.',
} as const;

const reinforce: AlgorithmSpec<'reinforce'> = {
  name: 'reinforce',
  help: 'REINFORCE (Monte-Carlo policy gradient)',
  hasCritic: false,
  ignores: {
    ...PPO_ONLY,
    lambda: 'REINFORCE uses Monte-Carlo returns, not GAE, so λ has no role.',
    valueCoef: 'REINFORCE trains no critic, so there is no value loss to weigh.',
  },
};

const actorCritic: AlgorithmSpec<'actor-critic'> = {
  name: 'actor-critic',
  help: 'actor-critic (GAE with a learned value)',
  hasCritic: true,
  ignores: {
    ...PPO_ONLY,
    baseline: 'Only REINFORCE subtracts a baseline; actor-critic and PPO subtract the learned value (GAE).',
  },
};

const ppo: AlgorithmSpec<'ppo'> = {
  name: 'ppo',
  help: 'PPO (clipped surrogate)',
  hasCritic: true,
  ignores: {
    baseline: 'Only REINFORCE subtracts a baseline; actor-critic and PPO subtract the learned value (GAE).',
  },
};

export const ALGORITHM_SPECS = { reinforce, 'actor-critic': actorCritic, ppo } as const;

export type AlgorithmName = keyof typeof ALGORITHM_SPECS;

export const ALGORITHMS = Object.keys(ALGORITHM_SPECS) as readonly AlgorithmName[];
