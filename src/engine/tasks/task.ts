// One interface for every token-level task. A task turns randomness into prompts, knows the expected
// answer, scores a response, and writes well-formed but unsolved responses for format pretraining.
import type { Config, TaskName } from '../config';
import type { TaskSpec } from './spec';
import type { Random } from '../random';
import { alphabet, EOS, Vocabulary } from '../tokens';

export interface Task {
  readonly name: TaskName;
  readonly vocab: Vocabulary;
  /**
   * The tokens the policy may write (its action vocabulary), ascending: the letters and <eos>, plus the
   * task's own action tokens (e.g. <calc>). Every other token has probability 0 under the policy and the
   * reference alike, so <pad>, <bos>, <sep> and the environment's tokens never appear as actions.
   */
  readonly actions: readonly number[];
  /** Prompt token ids for one episode (may be empty). */
  prompt(rng: Random): number[];
  /** The answer a perfect policy writes, without <eos>. */
  expected(prompt: readonly number[]): number[];
  /** Score in [0, 1] of a response (the action tokens, <eos> included if emitted). */
  score(prompt: readonly number[], response: readonly number[]): number;
  /** A response with the answer's format (right length, letters, <eos>) but random content. */
  formatDemo(prompt: readonly number[], rng: Random): number[];
  /** Agentic tasks: the environment that writes observation tokens into the episode. */
  environment?: Environment;
  /** Tasks with a scratchpad (<think> … </think>) before the scored answer. */
  thinking?: Thinking;
}

/** What a response's scratchpad holds, for the metrics and the inspector. */
export interface Thinking {
  /** Per response token: part of the scratchpad, its <think> and </think> included. */
  marks(response: readonly number[]): boolean[];
  /** Scratchpad tokens the response wrote, tags excluded (0 when its layout is broken). */
  tokens(response: readonly number[]): number;
  /** The intermediate quantities a useful scratchpad holds (chain: the letters visited before the answer). */
  path(prompt: readonly number[]): number[];
  /** True when the scratchpad writes the intermediate quantities the answer needs, in order. */
  tracks(prompt: readonly number[], response: readonly number[]): boolean;
}

/** One turn of an agentic episode: the policy writes `actions` tokens, then the environment `observations`. */
export interface Turn {
  actions: number;
  observations: number;
}

/**
 * The environment's side of an agentic episode (docs/reference.md §2). A response is a fixed sequence of turns, so
 * batch shapes stay fixed; observation tokens are context, not actions (no log-prob, KL, value target
 * or policy loss), and the rollout reads the device back once per turn, not per token.
 */
export interface Environment {
  readonly turns: readonly Turn[];
  /**
   * <eos> ends the turn, not the episode: the turn's remaining action slots stay <pad> (context, not
   * actions) and the environment answers as usual (retry: an attempt ends with <eos>). Default: <eos> ends the episode.
   */
  readonly eosEndsTurn?: boolean;
  /** The prompt the policy sees; the rest (e.g. a hidden number) stays with the environment. */
  visiblePrompt(prompt: readonly number[]): number[];
  /** After turn `turn`: exactly that turn's `observations` tokens, and whether the episode is over. */
  observe(prompt: readonly number[], response: readonly number[], turn: number): { tokens: number[]; done: boolean };
  /** Turns and tool calls a finished response used (for the metrics). */
  stats(prompt: readonly number[], response: readonly number[]): { turns: number; toolCalls: number };
}

/** Index in a response of every observation slot of a turn layout. */
export function observationSlots(turns: readonly Turn[]): Set<number> {
  const slots = new Set<number>();
  let index = 0;
  for (const turn of turns) {
    index += turn.actions;
    for (let k = 0; k < turn.observations; k++) slots.add(index++);
  }
  return slots;
}

export type TaskSettings = Pick<Config, 'scoring' | 'maxNewTokens' | 'promptLength' | 'targetWord'>;

/**
 * docs/reference.md §2. `y` = response up to the first <eos>; `L` = its length, or maxNewTokens with no <eos>.
 * Dense = matching positions / max(L, n); sparse = 1 only for y = x followed by <eos>.
 */
export function scoreResponse(
  response: readonly number[],
  expected: readonly number[],
  scoring: Config['scoring'],
  maxNewTokens: number,
): number {
  const eosAt = response.indexOf(EOS);
  const emittedEos = eosAt >= 0;
  const y = emittedEos ? response.slice(0, eosAt) : response.slice(0, maxNewTokens);
  const length = emittedEos ? y.length : maxNewTokens;
  const n = expected.length;
  if (scoring === 'sparse') {
    return emittedEos && y.length === n && y.every((id, i) => id === expected[i]) ? 1 : 0;
  }
  let matches = 0;
  for (let i = 0; i < Math.min(y.length, n); i++) if (y[i] === expected[i]) matches++;
  return matches / Math.max(length, n, 1);
}

/** The action vocabulary of most tasks: every letter, then <eos>. */
export function lettersAndEos(vocab: Vocabulary): number[] {
  return [EOS, ...vocab.encode(vocab.letters)];
}

/** Random letters of a given length, then <eos>: the format without the content. */
export function randomLetters(vocab: Vocabulary, length: number, rng: Random): number[] {
  return Array.from({ length }, () => vocab.id(vocab.letters[rng.int(vocab.letters.length)]));
}

export function formatDemoOfLength(vocab: Vocabulary, length: number, rng: Random): number[] {
  return [...randomLetters(vocab, length, rng), EOS];
}

/** The vocabulary of a task made of letters only: `alphabetSize` letters after the special tokens. */
export function letterVocabulary(config: Pick<Config, 'alphabetSize'>): Vocabulary {
  return new Vocabulary(alphabet(config.alphabetSize));
}

/**
 * A task whose prompt is `promptLength` random letters and whose answer is a function of it (reverse,
 * sort), with its spec: everything but the name, the help and the function is the same for all of them.
 */
export function promptTransformTask<Name extends string>(
  name: Name,
  help: string,
  answerOf: (prompt: readonly number[]) => number[],
): TaskSpec<Name> {
  const create = (vocab: Vocabulary, settings: TaskSettings): Task => ({
    // Name is one of the registry's names; only the registry's type knows which (it is derived from the specs).
    name: name as string as TaskName,
    vocab,
    actions: lettersAndEos(vocab),
    prompt: (rng) => randomLetters(vocab, settings.promptLength, rng),
    expected: answerOf,
    score: (prompt, response) => scoreResponse(response, answerOf(prompt), settings.scoring, settings.maxNewTokens),
    formatDemo: (prompt, rng) => formatDemoOfLength(vocab, prompt.length, rng),
  });
  return {
    name,
    help,
    usesRewardModel: false,
    hasPrompt: true,
    promptTokens: (c) => c.promptLength,
    minAnswer: (c) => c.promptLength,
    vocabulary: letterVocabulary,
    create,
  };
}
