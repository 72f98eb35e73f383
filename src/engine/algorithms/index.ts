import type { AlgorithmName } from '../config';
import { actorCritic } from './actor-critic';
import type { Algorithm } from './common';
import { ppo } from './ppo';
import { reinforce } from './reinforce';

export const ALGORITHM_REGISTRY: Record<AlgorithmName, Algorithm> = {
  reinforce,
  'actor-critic': actorCritic,
  ppo,
};
