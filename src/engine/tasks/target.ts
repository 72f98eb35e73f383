// target: no prompt; every episode is rewarded for writing one fixed word. The simplest RL problem:
// a bandit over sequences, where the policy only has to find and keep one answer.
import { formatDemoOfLength, scoreResponse, type Task, type TaskSettings, lettersAndEos } from './task';
import type { Vocabulary } from '../tokens';

export function targetTask(vocab: Vocabulary, settings: TaskSettings): Task {
  const word = vocab.encode(settings.targetWord);
  return {
    name: 'target',
    vocab,
    actions: lettersAndEos(vocab),
    prompt: () => [],
    expected: () => [...word],
    score: (_prompt, response) => scoreResponse(response, word, settings.scoring, settings.maxNewTokens),
    formatDemo: (_prompt, rng) => formatDemoOfLength(vocab, word.length, rng),
  };
}
