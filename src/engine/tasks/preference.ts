// preference: no prompt and no single right answer. A hidden "human" — two annotators whose verdicts
// are averaged — judges each response; the learner never sees this rule. It only writes the SFT
// demonstrations, labels pairwise comparisons for the reward model and is reported as `reward/gold`.
//   taste: the share of the response's letters that come from the first half of the alphabet (a, b, c
//          of five letters) — the annotator likes those letters;
//   style: an ideal length of 3 and no repeated letter: max(0, 1 − |L − 3|/3) · distinct/L, and 0 for a
//          response that never writes <eos>.
//   gold  = (taste + style) / 2, in [0, 1]; "abc" (any order) scores 1.
// The trap, and the lesson: "more liked letters" is easy to learn from a few comparisons, "no repeats"
// is not, so a policy pushed hard against a reward model learnt from few comparisons writes "aaaa".
import { EOS, type Vocabulary } from '../tokens';
import type { Random } from '../random';
import type { TaskSpec } from './spec';
import { letterVocabulary, lettersAndEos, type Task, type TaskSettings } from './task';

export const IDEAL_LENGTH = 3;
/** Demonstrations are the best of this many random responses, as judged by the hidden human. */
const DEMO_CANDIDATES = 4;

export function likedLetters(vocab: Vocabulary): number[] {
  return [...vocab.letters.slice(0, Math.ceil(vocab.letters.length / 2))].map((letter) => vocab.id(letter));
}

/** The hidden human's verdict on one response (action tokens, <eos> included if emitted). */
export function goldScore(response: readonly number[], liked: readonly number[]): number {
  const eosAt = response.indexOf(EOS);
  if (eosAt <= 0) return eosAt === 0 ? 0 : tasteOf(response, liked) / 2;
  const letters = response.slice(0, eosAt);
  const length = letters.length;
  const style = Math.max(0, 1 - Math.abs(length - IDEAL_LENGTH) / IDEAL_LENGTH) * (new Set(letters).size / length);
  return (tasteOf(letters, liked) + style) / 2;
}

function tasteOf(letters: readonly number[], liked: readonly number[]): number {
  const words = letters.filter((id) => id !== EOS);
  if (words.length === 0) return 0;
  return words.filter((id) => liked.includes(id)).length / words.length;
}

export function preferenceTask(vocab: Vocabulary, settings: TaskSettings): Task {
  const liked = likedLetters(vocab);
  const best = liked.slice(0, IDEAL_LENGTH);
  const randomResponse = (rng: Random) => {
    const length = 1 + rng.int(settings.maxNewTokens - 1);
    return [...Array.from({ length }, () => vocab.id(vocab.letters[rng.int(vocab.letters.length)])), EOS];
  };
  return {
    name: 'preference',
    vocab,
    actions: lettersAndEos(vocab),
    prompt: () => [],
    expected: () => [...best],
    score: (_prompt, response) => goldScore(response, liked),
    // A demonstration: the human's favourite of a few random responses — decent, rarely perfect.
    formatDemo: (_prompt, rng) => {
      const candidates = Array.from({ length: DEMO_CANDIDATES }, () => randomResponse(rng));
      return candidates.reduce((a, b) => (goldScore(b, liked) > goldScore(a, liked) ? b : a));
    },
  };
}

const RLHF_ONLY = 'Only the preference task has an RLHF pipeline (demonstrations, comparisons, a reward model).';

export const preference: TaskSpec<'preference'> = {
  name: 'preference',
  help: 'preference: what a hidden human prefers (the RLHF pipeline: SFT, a reward model learnt from comparisons, then RL against it)',
  owns: { keys: ['demonstrations', 'comparisons', 'labelNoise', 'rmSteps', 'rmRefreshEvery'], reason: RLHF_ONLY },
  ignores: {
    promptLength: 'The preference task has no prompt: every episode starts from <bos> <sep>.',
    scoring: 'Preference is scored by the reward model (and the hidden human’s gold), not against one answer.',
  },
  usesRewardModel: true,
  hasPrompt: false,
  promptTokens: () => 0,
  minAnswer: () => IDEAL_LENGTH,
  vocabulary: letterVocabulary,
  create: preferenceTask,
};
