// target: no prompt; every episode is rewarded for writing one fixed word. The simplest RL problem:
// a bandit over sequences, where the policy only has to find and keep one answer.
import type { TaskSpec } from './spec';
import {
  formatDemoOfLength,
  letterVocabulary,
  scoreResponse,
  type Task,
  type TaskSettings,
  lettersAndEos,
} from './task';
import { alphabet, type Vocabulary } from '../tokens';

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

export const target: TaskSpec<'target'> = {
  name: 'target',
  help: 'target: one fixed word',
  owns: { keys: ['targetWord'], reason: 'Only the target task rewards a fixed word.' },
  ignores: { promptLength: 'The target task has no prompt: every episode starts from <bos> <sep>.' },
  usesRewardModel: false,
  hasPrompt: false,
  promptTokens: () => 0,
  minAnswer: (c) => c.targetWord.length,
  vocabulary: letterVocabulary,
  create: targetTask,
  // A letter outside the alphabet wraps around into it (with 3 letters, "bad" becomes "baa").
  repair(c) {
    const letters = alphabet(c.alphabetSize);
    if ([...c.targetWord].every((ch) => letters.includes(ch))) return undefined;
    const repaired = [...c.targetWord].map((ch) => letters[(ch.charCodeAt(0) - 97) % letters.length]).join('');
    const problem = {
      key: 'targetWord',
      message: `Target word (targetWord): "${c.targetWord}" uses letters outside a–${letters.at(-1)}; using "${repaired}".`,
    };
    c.targetWord = repaired;
    return problem;
  },
};
