import type { AlgorithmName } from '../config';
import { actorCritic } from './actor-critic';
import type { Algorithm } from './common';
import { grpo } from './grpo';
import { ppo } from './ppo';
import { reinforce } from './reinforce';
import { rloo } from './rloo';
import { trpo } from './trpo';

export const ALGORITHM_REGISTRY: Record<AlgorithmName, Algorithm> = {
  reinforce,
  'actor-critic': actorCritic,
  ppo,
  trpo,
  grpo,
  rloo,
};
