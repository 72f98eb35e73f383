// Built-in presets: each is a link (DESIGN §6) plus what it is for. The instructors' gallery grows here.
export interface Preset {
  name: string;
  title: string;
  summary: string;
  link: string;
}

export const PRESETS: readonly Preset[] = [
  {
    name: 'default',
    title: 'PPO learns to reverse',
    summary: 'The default run: PPO with a small KL penalty teaches a tiny transformer to reverse 3 letters.',
    link: '#v=1',
  },
  {
    name: 'first-policy-gradient',
    title: 'A first policy gradient',
    summary: 'REINFORCE with a batch-mean baseline finds one fixed word: the simplest RL problem on tokens.',
    link: '#v=1&task=target&algorithm=reinforce',
  },
  {
    name: 'actor-critic-reverse',
    title: 'A critic and GAE',
    summary:
      'Actor-critic learns a value for each prefix; one optimizer step per batch, so it needs ~300 updates where PPO needs 30.',
    link: '#v=1&algorithm=actor-critic&lambda=1&valueCoef=0.1&batchSize=32',
  },
  {
    name: 'sort',
    title: 'PPO learns to sort',
    summary: 'Sorting needs the whole prompt at every step: harder than reversing.',
    link: '#v=1&task=sort',
  },
];

export function findPreset(name: string): Preset | undefined {
  return PRESETS.find((p) => p.name === name);
}
