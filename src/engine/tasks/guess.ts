// guess: the environment hides a number (one of the alphabet's letters, a = 0); each turn the policy
// guesses one letter and the environment answers `<` (the number is lower), `>` (higher) or `=` (found,
// the episode ends); anything but a letter is not a guess and gets `?`. Up to maxNewTokens / 2 turns.
// Score: 1 − (turns − 1)/K when found on turn `turns` of K, else 0 — so the best policy is a binary
// search. The hidden number travels as the prompt, which the policy never sees.
import type { Random } from '../random';
import { alphabet, Vocabulary } from '../tokens';
import type { TaskSpec } from './spec';
import { lettersAndEos, type Environment, type Task, type TaskSettings, type Turn } from './task';

export const GUESS_OBSERVATIONS = ['<', '>', '=', '?'] as const;

export function guessTask(vocab: Vocabulary, settings: TaskSettings): Task {
  const turnCount = Math.max(1, Math.floor(settings.maxNewTokens / 2));
  const turns: Turn[] = Array.from({ length: turnCount }, () => ({ actions: 1, observations: 1 }));
  const [lower, higher, found, invalid] = GUESS_OBSERVATIONS.map((t) => vocab.id(t));
  const guesses = (response: readonly number[]) => response.filter((_, i) => i % 2 === 0);

  const verdict = (secret: number, guess: number): number =>
    !vocab.isLetter(guess) ? invalid : secret < guess ? lower : secret > guess ? higher : found;

  const environment: Environment = {
    turns,
    visiblePrompt: () => [],
    observe(prompt, response) {
      const answer = verdict(prompt[0], response[response.length - 1]);
      return { tokens: [answer], done: answer === found };
    },
    stats(prompt, response) {
      return { turns: guesses(response).length, toolCalls: 0 };
    },
  };

  return {
    name: 'guess',
    vocab,
    actions: lettersAndEos(vocab),
    prompt: (rng: Random) => [vocab.id(vocab.letters[rng.int(vocab.letters.length)])],
    expected: (prompt) => [prompt[0], found],
    score(prompt, response) {
      const turnsTaken = guesses(response).findIndex((g) => g === prompt[0]) + 1;
      return turnsTaken === 0 ? 0 : 1 - (turnsTaken - 1) / turnCount;
    },
    // Format: a guess per turn with the environment's true answers, until found or out of turns.
    formatDemo(prompt, rng) {
      const demo: number[] = [];
      for (let t = 0; t < turnCount; t++) {
        const guess = vocab.id(vocab.letters[rng.int(vocab.letters.length)]);
        const answer = verdict(prompt[0], guess);
        demo.push(guess, answer);
        if (answer === found) break;
      }
      return demo;
    },
    environment,
  };
}

export const guess: TaskSpec<'guess'> = {
  name: 'guess',
  help: 'guess (an agent): a hidden letter, found by guessing with < > = hints',
  ignores: {
    promptLength: 'The guess task’s prompt is the hidden letter alone, which the policy never sees.',
    scoring: 'Guess is scored by how many turns the search took.',
  },
  usesRewardModel: false,
  hasPrompt: true,
  // The hidden letter travels in the episode's prompt array but is not written into the buffer.
  promptTokens: () => 0,
  minAnswer: () => 1,
  vocabulary: (c) => new Vocabulary(alphabet(c.alphabetSize), [...GUESS_OBSERVATIONS]),
  create: guessTask,
};
