// chain: the prompt is a table of n letters (n = alphabetSize), read as arrows: position a points to
// the first letter, b to the second, and so on. Start at a and follow `hops` arrows; the answer is
// where they end (hops 2: the letter at the position the first letter names). One hop is a lookup at
// a fixed position; every further hop needs a lookup at a position the previous letter names, which a
// one-layer transformer cannot do inside one token (its attention query cannot depend on what that
// same layer reads). With `thinkTokens` > 0 the policy may first write up to that many free letters
// between <think> and </think>: writing each hop's letter there turns the chain into one lookup per
// token. Only the answer after </think> is scored (an outcome reward), and format pretraining shows
// the layout with random scratch letters, never the chain.
import type { Random } from '../random';
import { alphabet, EOS, Vocabulary } from '../tokens';
import type { TaskSpec } from './spec';
import { lettersAndEos, randomLetters, scoreResponse, type Task, type TaskSettings } from './task';

export const THINK_OPEN = '<think>';
export const THINK_CLOSE = '</think>';

export type ChainSettings = TaskSettings & { hops: number; thinkTokens: number; solvedDemos: number };

/** The letters visited from position a: chain[k] is where k arrows lead (chain[0] = a). */
export function chainOf(table: readonly number[], hops: number, firstLetter: number): number[] {
  const visited = [firstLetter];
  for (let k = 0; k < hops; k++) visited.push(table[visited[k] - firstLetter]);
  return visited;
}

/** A response split into its scratchpad and its answer, or why it has no valid layout. */
export type ChainParse =
  | { ok: true; scratch: number[]; answer: number[]; answerSlots: number }
  | { ok: false; reason: 'no <think>' | 'no </think>' | 'scratchpad too long' };

export function parseChainResponse(
  response: readonly number[],
  ids: { open: number; close: number },
  thinkTokens: number,
  maxNewTokens: number,
): ChainParse {
  if (thinkTokens === 0) return { ok: true, scratch: [], answer: [...response], answerSlots: maxNewTokens };
  if (response[0] !== ids.open) return { ok: false, reason: 'no <think>' };
  const close = response.indexOf(ids.close);
  if (close < 0) return { ok: false, reason: 'no </think>' };
  const scratch = response.slice(1, close);
  if (scratch.length > thinkTokens) return { ok: false, reason: 'scratchpad too long' };
  return { ok: true, scratch, answer: response.slice(close + 1), answerSlots: maxNewTokens - close - 1 };
}

/** True when the scratchpad writes the chain's intermediate letters (hops 1 … hops − 1) in order. */
export function scratchTracksChain(scratch: readonly number[], intermediate: readonly number[]): boolean {
  let next = 0;
  for (const id of scratch) if (next < intermediate.length && id === intermediate[next]) next++;
  return next === intermediate.length;
}

export function chainTask(vocab: Vocabulary, settings: ChainSettings): Task {
  const ids = { open: vocab.id(THINK_OPEN), close: vocab.id(THINK_CLOSE) };
  const firstLetter = vocab.id(vocab.letters[0]);
  const expected = (prompt: readonly number[]) => [chainOf(prompt, settings.hops, firstLetter)[settings.hops]];
  const parse = (response: readonly number[]) =>
    parseChainResponse(response, ids, settings.thinkTokens, settings.maxNewTokens);
  const thinking = settings.thinkTokens > 0;
  /** The letters visited between the start and the answer: what a useful scratchpad writes. */
  const path = (prompt: readonly number[]) => chainOf(prompt, settings.hops, firstLetter).slice(1, settings.hops);

  return {
    name: 'chain',
    vocab,
    actions: thinking ? [...lettersAndEos(vocab), ids.open, ids.close] : lettersAndEos(vocab),
    prompt: (rng: Random) => randomLetters(vocab, vocab.letters.length, rng),
    expected,
    score(prompt, response) {
      const parsed = parse(response);
      return parsed.ok ? scoreResponse(parsed.answer, expected(prompt), settings.scoring, parsed.answerSlots) : 0;
    },
    // The layout only: a scratchpad of random letters (0 … thinkTokens of them), then a random answer;
    // or, for a share `solvedDemos` of them, a worked solution (the path, then the right answer).
    formatDemo(prompt, rng) {
      if (settings.solvedDemos > 0 && rng.next() < settings.solvedDemos) {
        const scratch = path(prompt).slice(0, settings.thinkTokens);
        return thinking ? [ids.open, ...scratch, ids.close, ...expected(prompt), EOS] : [...expected(prompt), EOS];
      }
      const answer = [...randomLetters(vocab, 1, rng), EOS];
      if (!thinking) return answer;
      const scratch = randomLetters(vocab, rng.int(settings.thinkTokens + 1), rng);
      return [ids.open, ...scratch, ids.close, ...answer];
    },
    thinking: {
      marks: (response) => {
        const close = response.indexOf(ids.close);
        const end = thinking && response[0] === ids.open ? (close < 0 ? response.length : close + 1) : 0;
        return response.map((_, i) => i < end);
      },
      tokens: (response) => {
        const parsed = parse(response);
        return parsed.ok ? parsed.scratch.length : 0;
      },
      path,
      tracks: (prompt, response) => {
        const parsed = parse(response);
        return parsed.ok && thinking && scratchTracksChain(parsed.scratch, path(prompt));
      },
    },
  };
}

export const chain: TaskSpec<'chain'> = {
  name: 'chain',
  help: 'chain (thinking): follow hops arrows through a table of letters, with an optional <think> scratchpad before the answer',
  owns: { keys: ['hops', 'thinkTokens', 'solvedDemos'], reason: 'Only the chain task has hops and a scratchpad.' },
  ignores: {
    promptLength: 'The chain prompt is a table with one letter per letter of the alphabet.',
  },
  usesRewardModel: false,
  hasPrompt: true,
  promptTokens: (c) => c.alphabetSize,
  // <think>, the scratchpad, </think>, then the one-letter answer (without thinking: the letter alone).
  minAnswer: (c) => (c.thinkTokens > 0 ? c.thinkTokens + 3 : 1),
  vocabulary: (c) => new Vocabulary(alphabet(c.alphabetSize), [THINK_OPEN, THINK_CLOSE]),
  create: chainTask,
};
