// calculator: the prompt is a two-digit addition `d d + d d =` (10,000 problems: too many for this
// model to memorise). On its first turn the policy may write `<calc>`: the environment then writes the
// sum's digits, filled to four slots with `_` (`5 7 _ _`: always at least one `_` after the digits);
// anything else gets `_ _ _ _` (no tool call, or
// tools switched off). Then the policy writes its answer (up to three digits) and `<eos>`. Score: the
// reverse/sort scoring of the answer's digits against the sum's (dense: digits in the right place;
// sparse: exact), minus `toolCost` per tool call. Digits are the task's letters.
import type { Random } from '../random';
import { EOS, Vocabulary } from '../tokens';
import type { TaskSpec } from './spec';
import { scoreResponse, type Environment, type Task, type TaskSettings, lettersAndEos } from './task';

export const CALCULATOR_DIGITS = '0123456789';
export const CALCULATOR_EXTRAS = ['+', '=', '<calc>', '_'] as const;
/** One tool turn (one action, four observed slots), then the answer turn (three digits and <eos>). */
export const CALCULATOR_TURNS = [
  { actions: 1, observations: 4 },
  { actions: 4, observations: 0 },
] as const;

export type CalculatorSettings = TaskSettings & { tools: boolean; toolCost: number };

export function calculatorTask(vocab: Vocabulary, settings: CalculatorSettings): Task {
  const digit = (d: number) => vocab.id(String(d));
  const [plus, equals, calc, blank] = CALCULATOR_EXTRAS.map((t) => vocab.id(t));
  const valueOf = (ids: readonly number[]) => ids.reduce((n, id) => n * 10 + Number(vocab.tokens[id]), 0);
  const sumOf = (prompt: readonly number[]) => valueOf(prompt.slice(0, 2)) + valueOf(prompt.slice(3, 5));
  const digitsOf = (n: number) =>
    String(n)
      .split('')
      .map((c) => vocab.id(c));
  const filled = (ids: number[]) => [...ids, blank, blank, blank, blank].slice(0, 4);
  const toolCalls = (response: readonly number[]) => (response[0] === calc ? 1 : 0);
  /** The answer: the first action unless it is the tool call, then the answer turn (a stray <calc> there is a wrong digit). */
  const answerOf = (response: readonly number[]): number[] => [
    ...(response[0] === calc || response[0] === undefined ? [] : [response[0]]),
    ...response.slice(5),
  ];

  const environment: Environment = {
    turns: CALCULATOR_TURNS,
    visiblePrompt: (prompt) => [...prompt],
    observe(prompt, response) {
      const called = response[0] === calc && settings.tools;
      return { tokens: filled(called ? digitsOf(sumOf(prompt)) : []), done: false };
    },
    stats: (_prompt, response) => ({ turns: response.length > 5 ? 2 : 1, toolCalls: toolCalls(response) }),
  };

  return {
    name: 'calculator',
    vocab,
    actions: [...lettersAndEos(vocab), calc],
    prompt: (rng: Random) => {
      const d = () => digit(rng.int(10));
      return [d(), d(), plus, d(), d(), equals];
    },
    expected: (prompt) => digitsOf(sumOf(prompt)),
    score(prompt, response) {
      const score = scoreResponse(answerOf(response), digitsOf(sumOf(prompt)), settings.scoring, 3);
      return Math.max(0, score - settings.toolCost * toolCalls(response));
    },
    // The format, not the sum: a tool call half the time, the environment's true reply, random digits.
    formatDemo(prompt, rng) {
      const first = rng.next() < 0.5 ? calc : digit(rng.int(10));
      const reply = environment.observe(prompt, [first], 0).tokens;
      const length = 1 + rng.int(3);
      return [first, ...reply, ...Array.from({ length }, () => digit(rng.int(10))), EOS];
    },
    environment,
  };
}

export function calculatorVocabulary(): Vocabulary {
  return new Vocabulary(CALCULATOR_DIGITS, [...CALCULATOR_EXTRAS]);
}

export const calculator: TaskSpec<'calculator'> = {
  name: 'calculator',
  help: 'calculator (an agent with a tool): the sum of two two-digit numbers, with a <calc> tool that writes it',
  owns: { keys: ['tools', 'toolCost'], reason: 'Only the calculator task has a tool to call.' },
  ignores: {
    alphabetSize: 'The calculator task writes the digits 0–9, whatever the alphabet size.',
    promptLength: 'The calculator prompt is always two two-digit numbers: d d + d d =.',
    maxNewTokens:
      'A calculator response has a fixed layout: a tool turn, four reply slots, then up to three digits and <eos>.',
  },
  usesRewardModel: false,
  hasPrompt: true,
  promptTokens: () => 6,
  minAnswer: () => CALCULATOR_TURNS.reduce((n, t) => n + t.actions + t.observations, 0) - 1,
  vocabulary: calculatorVocabulary,
  create: calculatorTask,
};
