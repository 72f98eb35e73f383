// A trainer's complete state as plain data (issue 14, "Runs survive a reload"): numbers, strings,
// booleans, plain objects, arrays and Float32Array/Int32Array only, so structuredClone and IndexedDB
// keep it as is. `Trainer.snapshot()` writes one and `Trainer.restore()` reads it back, checked here
// first so that a snapshot from another version or a damaged one fails with a clear message before
// any tensor is made. No TensorFlow.js here: the UI thread may import the types.
import type { AlgorithmState } from './algorithms/common';
import { validate, type Config } from './config';
import type { Comparison } from './reward-model';

export const SNAPSHOT_FORMAT = 1;

/** Adam's state on one flat parameter vector. */
export interface AdamState {
  step: number;
  m: Float32Array;
  v: Float32Array;
}

/** Comparisons packed: pair i is rows 2i (chosen) and 2i + 1 (rejected), each `contextLength` tokens. */
export interface ComparisonSet {
  tokens: Int32Array;
  /** The last response token's position in each row, in the same order (2 per pair). */
  ends: Int32Array;
}

export interface RewardModelSnapshot {
  params: Float32Array;
  optimizer: AdamState;
  /** The minibatch generator's state. */
  rng: number;
  steps: number;
  offset: number;
  scale: number;
  train: ComparisonSet;
  heldOut: ComparisonSet;
  /** How stage 2 left the model (absent until it ended): a re-run of RL goes back to it. */
  checkpoint?: {
    params: Float32Array;
    optimizer: AdamState;
    trainCount: number;
    offset: number;
    scale: number;
  };
}

export interface RewardModelStageSnapshot {
  steps: number;
  loss: number;
  accuracy: number;
  stageEnd: { loss: number; accuracy: number };
  /** A non-finite fit not yet reported with an update. */
  divergence?: { quantity: 'rm/loss'; value: number; message: string };
  /** Absent before stage 2 starts (and after a re-run of it is asked for). */
  model?: RewardModelSnapshot;
}

export interface TrainerSnapshot {
  format: typeof SNAPSHOT_FORMAT;
  /** The validated settings, live changes included. */
  config: Config;
  update: number;
  episodes: number;
  sftDone: number;
  rerunCount: number;
  beta: number;
  sftLoss: number;
  /** Seconds the run had trained for, so time_s carries on. */
  elapsedS: number;
  algorithmState: AlgorithmState;
  /** The policy's flat parameters (value head included). */
  policy: Float32Array;
  /** The frozen reference; absent until format pretraining ends. */
  reference?: Float32Array;
  optimizer: AdamState;
  /** Tasks with a reward model only. */
  rewardModelStage?: RewardModelStageSnapshot;
}

/** What the arrays of a snapshot must measure, worked out from its config by the trainer. */
export interface SnapshotSizes {
  /** Parameters of the policy (and of the reward model: the same transformer). */
  params: number;
  contextLength: number;
  vocabSize: number;
  usesRewardModel: boolean;
}

export function packComparisons(pairs: readonly Comparison[], contextLength: number): ComparisonSet {
  const tokens = new Int32Array(pairs.length * 2 * contextLength);
  const ends = new Int32Array(pairs.length * 2);
  pairs.forEach((p, i) => {
    tokens.set(p.chosen, 2 * i * contextLength);
    tokens.set(p.rejected, (2 * i + 1) * contextLength);
    ends[2 * i] = p.chosenEnd;
    ends[2 * i + 1] = p.rejectedEnd;
  });
  return { tokens, ends };
}

export function unpackComparisons(set: ComparisonSet, contextLength: number): Comparison[] {
  const row = (r: number) => set.tokens.slice(r * contextLength, (r + 1) * contextLength);
  return Array.from({ length: set.ends.length / 2 }, (_, i) => ({
    chosen: row(2 * i),
    rejected: row(2 * i + 1),
    chosenEnd: set.ends[2 * i],
    rejectedEnd: set.ends[2 * i + 1],
  }));
}

/** Bytes of a snapshot's typed arrays, and of everything else as JSON (roughly what a store keeps). */
export function snapshotBytes(snapshot: TrainerSnapshot): { arrays: number; json: number } {
  let arrays = 0;
  const json = JSON.stringify(snapshot, (_key, value: unknown) => {
    if (ArrayBuffer.isView(value)) {
      arrays += value.byteLength;
      return undefined;
    }
    return value;
  }).length;
  return { arrays, json };
}

function fail(message: string): never {
  throw new Error(`This saved run cannot be restored: ${message}.`);
}

function record(value: unknown, path: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || ArrayBuffer.isView(value))
    fail(`${path} is not an object`);
  return value as Record<string, unknown>;
}

function count(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) fail(`${path} is not a whole number ≥ 0`);
  return value;
}

/** Any number: NaN stands for "not measured yet" (a loss before its first fit). */
function number(value: unknown, path: string): number {
  if (typeof value !== 'number') fail(`${path} is not a number`);
  return value;
}

function finite(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(`${path} is not a finite number`);
  return value;
}

function floats(value: unknown, path: string, length: number): Float32Array {
  if (!(value instanceof Float32Array)) fail(`${path} is not a Float32Array`);
  if (value.length !== length) fail(`${path} has ${value.length} values where this model has ${length}`);
  return value;
}

function adam(value: unknown, path: string, params: number): AdamState {
  const a = record(value, path);
  count(a.step, `${path}.step`);
  floats(a.m, `${path}.m`, params);
  floats(a.v, `${path}.v`, params);
  return a as unknown as AdamState;
}

function comparisons(value: unknown, path: string, sizes: SnapshotSizes): ComparisonSet {
  const c = record(value, path);
  const { tokens, ends } = c;
  if (!(tokens instanceof Int32Array) || !(ends instanceof Int32Array)) fail(`${path} is not two Int32Arrays`);
  if (ends.length % 2 !== 0 || tokens.length !== ends.length * sizes.contextLength)
    fail(`${path} has ${tokens.length} tokens for ${ends.length / 2} pairs`);
  if (ends.some((e) => e < 0 || e >= sizes.contextLength)) fail(`${path} has a response end outside the context`);
  if (tokens.some((t) => t < 0 || t >= sizes.vocabSize)) fail(`${path} has a token outside the vocabulary`);
  return c as unknown as ComparisonSet;
}

function rewardModel(value: unknown, sizes: SnapshotSizes): RewardModelSnapshot {
  const path = 'rewardModelStage.model';
  const m = record(value, path);
  floats(m.params, `${path}.params`, sizes.params);
  adam(m.optimizer, `${path}.optimizer`, sizes.params);
  if (typeof m.rng !== 'number' || !Number.isInteger(m.rng) || m.rng < 0 || m.rng >= 2 ** 32)
    fail(`${path}.rng is not a 32-bit state`);
  count(m.steps, `${path}.steps`);
  finite(m.offset, `${path}.offset`);
  finite(m.scale, `${path}.scale`);
  const train = comparisons(m.train, `${path}.train`, sizes);
  comparisons(m.heldOut, `${path}.heldOut`, sizes);
  if (m.checkpoint !== undefined) {
    const c = record(m.checkpoint, `${path}.checkpoint`);
    floats(c.params, `${path}.checkpoint.params`, sizes.params);
    adam(c.optimizer, `${path}.checkpoint.optimizer`, sizes.params);
    if (count(c.trainCount, `${path}.checkpoint.trainCount`) > train.ends.length / 2)
      fail(`${path}.checkpoint.trainCount exceeds the training pairs`);
    finite(c.offset, `${path}.checkpoint.offset`);
    finite(c.scale, `${path}.checkpoint.scale`);
  }
  return m as unknown as RewardModelSnapshot;
}

function rewardModelStage(value: unknown, sizes: SnapshotSizes): RewardModelStageSnapshot {
  const s = record(value, 'rewardModelStage');
  count(s.steps, 'rewardModelStage.steps');
  number(s.loss, 'rewardModelStage.loss');
  number(s.accuracy, 'rewardModelStage.accuracy');
  const end = record(s.stageEnd, 'rewardModelStage.stageEnd');
  number(end.loss, 'rewardModelStage.stageEnd.loss');
  number(end.accuracy, 'rewardModelStage.stageEnd.accuracy');
  if (s.divergence !== undefined) {
    const d = record(s.divergence, 'rewardModelStage.divergence');
    if (d.quantity !== 'rm/loss' || typeof d.message !== 'string') fail('rewardModelStage.divergence is malformed');
    number(d.value, 'rewardModelStage.divergence.value');
  }
  if (s.model !== undefined) rewardModel(s.model, sizes);
  else if ((s.steps as number) > 0) fail('rewardModelStage has fitting steps but no reward model');
  return s as unknown as RewardModelStageSnapshot;
}

/**
 * Checks a stored value is a whole snapshot this version can restore: its format, settings that
 * validate without a single repair, and every array the length `sizesOf(config)` says. Throws an
 * Error whose message the app can show; returns the snapshot with its config as validated.
 */
export function checkSnapshot(raw: unknown, sizesOf: (config: Config) => SnapshotSizes): TrainerSnapshot {
  const s = record(raw, 'the snapshot');
  if (s.format !== SNAPSHOT_FORMAT)
    fail(`it has format ${JSON.stringify(s.format) ?? 'none'}, and this version reads format ${SNAPSHOT_FORMAT}`);
  const { config, problems } = validate(record(s.config, 'config'));
  if (problems.length > 0) fail(`its settings do not validate (${problems.map((p) => p.message).join(' ')})`);
  const sizes = sizesOf(config);
  for (const key of ['update', 'episodes', 'sftDone', 'rerunCount'] as const) count(s[key], key);
  finite(s.beta, 'beta');
  number(s.sftLoss, 'sftLoss');
  if (finite(s.elapsedS, 'elapsedS') < 0) fail('elapsedS is negative');
  const algorithmState = record(s.algorithmState, 'algorithmState');
  for (const [key, value] of Object.entries(algorithmState)) number(value, `algorithmState.${key}`);
  floats(s.policy, 'policy', sizes.params);
  if (s.reference !== undefined) {
    floats(s.reference, 'reference', sizes.params);
    if ((s.sftDone as number) < config.sftSteps) fail('it has a reference policy before format pretraining ended');
  } else if ((s.update as number) > 0) fail('it has RL updates but no reference policy');
  adam(s.optimizer, 'optimizer', sizes.params);
  if (sizes.usesRewardModel !== (s.rewardModelStage !== undefined))
    fail(`its reward-model stage ${sizes.usesRewardModel ? 'is missing' : 'does not belong to this task'}`);
  if (s.rewardModelStage !== undefined) rewardModelStage(s.rewardModelStage, sizes);
  return { ...(s as unknown as TrainerSnapshot), config };
}
