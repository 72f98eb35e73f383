// What the rest of the playground knows about a task, in one object per task (its own file, beside
// the task's code): the schema's `task` help, the settings it owns, the settings it ignores and why,
// its prompt and minimum response, its vocabulary, whether it trains against a reward model, and how
// to build it. No TensorFlow.js here or in the task files: the UI thread imports the specs. A new task
// is a file exporting a spec plus one line in registry.ts.
import type { Config, ConfigKey, Problem } from '../config';
import type { Vocabulary } from '../tokens';
import type { Task } from './task';

export interface TaskSpec<Name extends string = string> {
  readonly name: Name;
  /** One clause of the `task` setting's help: what the model must write. */
  readonly help: string;
  /** Settings only this task reads: hidden under every other task, which shows `reason` if asked. */
  readonly owns?: { readonly keys: readonly ConfigKey[]; readonly reason: string };
  /** Settings other tasks read but this one ignores, each with the one-sentence reason shown beside it. */
  readonly ignores?: Partial<Readonly<Record<ConfigKey, string>>>;
  /** True when the task is scored by a reward model learnt from comparisons (the RLHF pipeline). */
  readonly usesRewardModel: boolean;
  /** Episodes draw a prompt (guess's hidden letter counts, though the policy never sees it). */
  readonly hasPrompt: boolean;
  /** Prompt tokens between <bos> and <sep> (0: every episode starts from <bos> <sep>). */
  promptTokens(config: Config): number;
  /** The shortest response the task needs, less its final token (agentic tasks: the whole turn layout). */
  minAnswer(config: Config): number;
  /** Letters, then any tokens only the task's environment writes. */
  vocabulary(config: Config): Vocabulary;
  create(vocab: Vocabulary, config: Config): Task;
  /** Mends a setting that breaks one of the task's rules (in place) and says what changed. */
  repair?(config: Config): Problem | undefined;
}
