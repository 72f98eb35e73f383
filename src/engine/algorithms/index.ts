import type { AlgorithmName } from '../config';
import { actorCritic } from './actor-critic';
import type { Algorithm } from './common';
import { grpo } from './grpo';
import { ppo } from './ppo';
import { reinforce } from './reinforce';
import { rloo } from './rloo';

export const ALGORITHM_REGISTRY: Record<AlgorithmName, Algorithm> = {
  reinforce,
  'actor-critic': actorCritic,
  ppo,
  grpo,
  rloo,
};
