// retry (reflexion-style verbal feedback): the base task is `reverse`. The policy answers (letters and
// `<eos>`); a wrong answer gets `<wrong>` and the first wrong position (`@1`, `@2`, …) from the
// environment, and the policy tries again; a right one gets `<right> _` and the episode ends. Two
// attempts. Score: the last attempt's dense reverse score, times 0.8 for a second attempt. With
// `feedback` off the environment writes `_ _` instead — the same turns, no information.
import type { Random } from '../random';
import { EOS, Vocabulary } from '../tokens';
import { alphabet } from '../tokens';
import type { TaskSpec } from './spec';
import {
  formatDemoOfLength,
  scoreResponse,
  type Environment,
  type Task,
  type TaskSettings,
  type Turn,
  lettersAndEos,
} from './task';

export const RETRY_DISCOUNT = 0.8;
export const RETRY_EXTRAS = (promptLength: number) => [
  '<wrong>',
  '<right>',
  '_',
  ...Array.from({ length: promptLength + 1 }, (_, i) => `@${i + 1}`),
];

export type RetrySettings = TaskSettings & { feedback: boolean; hiddenAnswer: boolean };

/** An attempt is promptLength letters and <eos>, then two feedback tokens; then one more attempt. */
export function retryTurns(promptLength: number): Turn[] {
  return [
    { actions: promptLength + 1, observations: 2 },
    { actions: promptLength + 1, observations: 0 },
  ];
}

export function retryTask(vocab: Vocabulary, settings: RetrySettings): Task {
  const turns = retryTurns(settings.promptLength);
  const attemptLength = settings.promptLength + 1;
  const [wrong, right, blank] = ['<wrong>', '<right>', '_'].map((t) => vocab.id(t));
  const expected = (prompt: readonly number[]) => [...prompt].reverse();
  const attempts = (response: readonly number[]) => {
    const first = response.slice(0, attemptLength);
    const second = response.slice(attemptLength + 2);
    return second.length > 0 ? [first, second] : [first];
  };
  const attemptScore = (prompt: readonly number[], attempt: readonly number[]) =>
    scoreResponse(attempt, expected(prompt), 'dense', attemptLength);

  const environment: Environment = {
    turns,
    eosEndsTurn: true,
    // Hidden: the policy sees <bos> <sep> only, so its first attempt is a guess and the feedback is all it learns.
    visiblePrompt: (prompt) => (settings.hiddenAnswer ? [] : [...prompt]),
    observe(prompt, response) {
      const answer = expected(prompt);
      const attempt = response.slice(0, attemptLength);
      const correct = attemptScore(prompt, attempt) === 1 && attempt[answer.length] === EOS;
      if (correct) return { tokens: [right, blank], done: true };
      if (!settings.feedback) return { tokens: [blank, blank], done: false };
      let firstWrong = answer.findIndex((id, i) => attempt[i] !== id);
      if (firstWrong < 0) firstWrong = answer.length; // the letters are right, <eos> is not
      return { tokens: [wrong, vocab.id(`@${firstWrong + 1}`)], done: false };
    },
    stats: (_prompt, response) => ({ turns: attempts(response).length, toolCalls: 0 }),
  };

  return {
    name: 'retry',
    vocab,
    actions: lettersAndEos(vocab),
    prompt: (rng: Random) =>
      Array.from({ length: settings.promptLength }, () => vocab.id(vocab.letters[rng.int(vocab.letters.length)])),
    expected,
    score(prompt, response) {
      const all = attempts(response);
      const last = all[all.length - 1];
      return attemptScore(prompt, last) * (all.length === 2 ? RETRY_DISCOUNT : 1);
    },
    // Two format-right attempts (random letters), with the environment's true feedback in between.
    formatDemo(prompt, rng) {
      const first = formatDemoOfLength(vocab, settings.promptLength, rng);
      const reply = environment.observe(prompt, first, 0);
      if (reply.done) return [...first, ...reply.tokens];
      return [...first, ...reply.tokens, ...formatDemoOfLength(vocab, settings.promptLength, rng)];
    },
    environment,
  };
}

export function retryVocabulary(letters: string, promptLength: number): Vocabulary {
  return new Vocabulary(letters, RETRY_EXTRAS(promptLength));
}

export const retry: TaskSpec<'retry'> = {
  name: 'retry',
  help: 'retry (an agent): the prompt backwards, with a second attempt after feedback on a wrong one',
  owns: { keys: ['feedback', 'hiddenAnswer'], reason: 'Only the retry task gives feedback after a wrong answer.' },
  ignores: {
    scoring: 'Retry always scores its attempts densely (letters in place), times 0.8 for a second attempt.',
    maxNewTokens:
      'A retry response has a fixed layout: two attempts of prompt-length letters and <eos>, with two feedback tokens between.',
  },
  usesRewardModel: false,
  hasPrompt: true,
  promptTokens: (c) => (c.hiddenAnswer ? 0 : c.promptLength),
  minAnswer: (c) => 2 * c.promptLength + 3,
  vocabulary: (c) => retryVocabulary(alphabet(c.alphabetSize), c.promptLength),
  create: retryTask,
};
