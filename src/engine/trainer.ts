// The training loop, one update at a time (docs/reference.md §1):
//   prompts -> rollout on the device (one read-back) -> scores -> per-token rewards with the KL penalty
//   -> advantages -> optimizer steps -> one metrics read-back.
// Used by the CLI, the tests and the app's worker alike.
import { ALGORITHM_REGISTRY } from './algorithms';
import { klInReward } from './algorithms/specs';
import {
  batchTensors,
  disposeBatch,
  measureUpdateKl,
  type AlgorithmState,
  type UpdateContext,
} from './algorithms/common';
import { adaptiveBeta, mean } from './advantages';
import { coerce, FIELD_BY_KEY, validate, type Config, type Problem } from './config';
import { buildEpisodes, type Episode } from './episodes';
import { DeviceAverages } from './device-averages';
import { ExplainRecorder } from './explain';
import { buildExplanation, type UpdateExplanation } from './explanation';
import type { Metrics } from './metrics';
import { cloneParams, disposeParams, forward, initParams, paramSpecs, type ModelShape, type Params } from './model';
import { Adam, adamSettingsOf, disposeSnapshot, type OptimizerSnapshot } from './optimizer';
import { loadFlat, ReadBack } from './params';
import type { Rollout } from './rollout';
import { deriveSeed, Random } from './random';
import type { RewardModel } from './reward-model';
import { RewardModelStage } from './reward-model-stage';
import { demonstrationSet } from './rlhf';
import { rollout } from './rollout';
import { rolloutWithEnvironment } from './rollout-env';
import { sftStep } from './sft';
import { checkSnapshot, SNAPSHOT_FORMAT, type SnapshotSizes, type TrainerSnapshot } from './snapshot';
import { createTask, taskSpec, type Task } from './tasks';
import { tf } from './tf';
import { PAD } from './tokens';
import { klAdaptiveLearningRate, normaliseScores } from './training-practices';
import { updateMetrics } from './update-metrics';

/** A decoded episode for the inspector. Arrays are per action token. */
export interface Sample {
  prompt: string[];
  response: string[];
  expected: string[];
  /** The training score (the reward model's, when the run has one). */
  score: number;
  /** The task's own score: the hidden human's verdict for preference. */
  gold: number;
  /** Per response token: written by the environment. logp, advantage and kl cover the other tokens. */
  observed: boolean[];
  /** Tasks with a scratchpad: which response tokens are thinking, what they should track, and whether they do. */
  thinking?: { marks: boolean[]; path: string[]; tracks: boolean };
  logp: number[];
  advantage: number[];
  kl: number[];
}

export interface Divergence {
  update: number;
  /** The metric that was not finite, e.g. "loss/policy". */
  quantity: string;
  value: number;
  message: string;
}

export interface StepResult {
  metrics: Metrics;
  samples: Sample[];
  /** Set when this update produced a NaN/Inf and was skipped (weights restored). */
  divergence?: Divergence;
  /** The update's numbers, stage by stage, when it was asked to be explained. */
  explanation?: UpdateExplanation;
  /** Why an explained update came without its explanation (the update itself went through). */
  explanationProblem?: string;
}

export interface StepOptions {
  /** Keep this update's numbers for "Explain this update" (a few more forward passes, one more read-back). */
  explain?: boolean;
}

export interface TrainerOptions {
  /** Number of decoded samples returned per update. */
  samples?: number;
  /** Test seam: poison the advantages with NaN at this update, to prove the guard. */
  injectNaNAtUpdate?: number;
  /** Test seam: poison the reward model's stage-2 fit with NaN, to prove its guard. */
  injectRewardModelNaN?: boolean;
}

/** Quantities checked for NaN/Inf after every update, in the order they are blamed. */
const GUARDED = ['loss/policy', 'loss/value', 'loss/total', 'optim/grad_norm'] as const;
const SEED_STREAMS = {
  init: 0,
  prompts: 1,
  sampling: 2,
  shuffle: 3,
  sft: 4,
  demonstrations: 5,
  comparisons: 6,
  rewardModel: 7,
  refresh: 8,
} as const;

/** Which stage of the pipeline a run is in: SFT, reward-model training (preference only), then RL. */
export type Stage = 'sft' | 'reward-model' | 'rl';

export class Trainer {
  readonly task: Task;
  readonly shape: ModelShape;
  /** Which update comes next is `update + 1`; 0 before the first. */
  update = 0;
  episodes = 0;
  /** Current KL coefficient (moves when adaptive KL is on). */
  beta: number;
  sftLoss = Number.NaN;
  readonly problems: Problem[];
  private config: Config;
  private readonly policy: Params;
  private reference: Params | undefined;
  private optimizer: Adam;
  private algorithmState: AlgorithmState = {};
  private sftDone = 0;
  /** Tasks with a reward model (the RLHF pipeline): the fixed demonstrations for SFT, and stage 2. */
  private readonly demonstrations: number[][] | undefined;
  private readonly rewardModelStage: RewardModelStage | undefined;
  /** Stage re-runs so far: each draws fresh seeds. */
  private rerunCount = 0;
  private startedAt = performance.now();
  private disposed = false;

  constructor(
    raw: unknown,
    private readonly options: TrainerOptions = {},
  ) {
    const { config, problems } = validate(raw);
    this.config = config;
    this.problems = problems;
    this.beta = config.beta;
    this.task = createTask(config);
    this.shape = {
      vocabSize: this.task.vocab.size,
      dModel: config.dModel,
      nLayers: config.nLayers,
      nHeads: config.nHeads,
      contextLength: config.contextLength,
    };
    this.policy = initParams(this.shape, deriveSeed(config.seed, SEED_STREAMS.init), 'policy', this.task.actions);
    this.optimizer = new Adam(this.policy, adamSettingsOf(this.config));
    if (this.usesRewardModel) {
      this.demonstrations = demonstrationSet(
        this.task,
        config.demonstrations,
        deriveSeed(config.seed, SEED_STREAMS.demonstrations),
      );
      this.rewardModelStage = new RewardModelStage(
        this.task,
        this.shape,
        SEED_STREAMS,
        options.injectRewardModelNaN ?? false,
      );
    }
  }

  /** The preference task trains against a learnt reward model; the other tasks against their score. */
  get usesRewardModel(): boolean {
    return taskSpec(this.config.task).usesRewardModel;
  }

  /** The reward model the rollout scores with (tasks with one, from stage 2 on). */
  get rewardModel(): RewardModel | undefined {
    return this.rewardModelStage?.rewardModel;
  }

  /** Comparisons the reward model has trained on so far (0 without one); grows with bootstrapping. */
  get comparisonsTrained(): number {
    return this.rewardModelStage?.comparisonsTrained ?? 0;
  }

  get stage(): Stage {
    if (this.sftDone < this.config.sftSteps) return 'sft';
    if (this.rewardModelStage && !this.rewardModelStage.done(this.config)) return 'reward-model';
    return 'rl';
  }

  /**
   * The whole state the next update depends on, as plain structured-clone-able data (snapshot.ts).
   * Take it between updates (not while `step` or `pretrain` is running): every value is captured
   * before the first await, and the tensors are read back once, concatenated.
   */
  async snapshot(): Promise<TrainerSnapshot> {
    if (this.disposed) throw new Error('This trainer was disposed; create a new one.');
    const read = new ReadBack();
    const [m, v] = this.optimizer.moments;
    const tensors = {
      policy: read.add(this.policy.flat),
      reference: this.reference && read.add(this.reference.flat),
      m: read.add(m),
      v: read.add(v),
    };
    const stage = this.rewardModelStage?.capture(read);
    const snapshot: TrainerSnapshot = {
      format: SNAPSHOT_FORMAT,
      config: { ...this.config },
      update: this.update,
      episodes: this.episodes,
      sftDone: this.sftDone,
      rerunCount: this.rerunCount,
      beta: this.beta,
      sftLoss: this.sftLoss,
      elapsedS: (performance.now() - this.startedAt) / 1000,
      algorithmState: { ...this.algorithmState },
      // Filled in after the read below.
      policy: new Float32Array(0),
      optimizer: { step: this.optimizer.step, m: new Float32Array(0), v: new Float32Array(0) },
    };
    await read.read();
    snapshot.policy = tensors.policy();
    if (tensors.reference) snapshot.reference = tensors.reference();
    snapshot.optimizer.m = tensors.m();
    snapshot.optimizer.v = tensors.v();
    if (stage) snapshot.rewardModelStage = stage();
    return snapshot;
  }

  /**
   * A trainer that continues a snapshot's run: the next update gives exactly the numbers it would
   * have given (same backend). Throws a clear Error, with nothing left allocated, when the snapshot
   * is of another format, its settings do not validate, or an array has the wrong length.
   */
  static restore(raw: unknown, options: TrainerOptions = {}): Trainer {
    const snapshot = checkSnapshot(raw, snapshotSizes);
    // Built like a fresh trainer (the same variables, so dispose frees everything), then overwritten.
    const trainer = new Trainer(snapshot.config, options);
    try {
      trainer.load(snapshot);
    } catch (error) {
      trainer.dispose();
      throw error;
    }
    return trainer;
  }

  private load(s: TrainerSnapshot): void {
    this.update = s.update;
    this.episodes = s.episodes;
    this.sftDone = s.sftDone;
    this.rerunCount = s.rerunCount;
    this.beta = s.beta;
    this.sftLoss = s.sftLoss;
    this.startedAt = performance.now() - s.elapsedS * 1000;
    this.algorithmState = { ...s.algorithmState };
    loadFlat(this.policy, s.policy);
    if (s.reference) {
      this.reference = cloneParams(this.policy, 'reference', false);
      loadFlat(this.reference, s.reference);
    }
    this.optimizer.load(s.optimizer.step, s.optimizer.m, s.optimizer.v);
    if (s.rewardModelStage) this.rewardModelStage?.load(s.rewardModelStage);
  }

  get settings(): Readonly<Config> {
    return this.config;
  }

  /** Fraction of the stages before RL done (SFT, and the reward model for preference); 1 when none. */
  get pretrainProgress(): number {
    const total = this.config.sftSteps + (this.usesRewardModel ? this.config.rmSteps : 0);
    return total === 0 ? 1 : Math.min(1, (this.sftDone + (this.rewardModelStage?.steps ?? 0)) / total);
  }

  /** Fraction of the current stage done (1 in RL). */
  get stageProgress(): number {
    if (this.stage === 'sft') return this.sftDone / this.config.sftSteps;
    if (this.stage === 'reward-model') return (this.rewardModelStage?.steps ?? 0) / this.config.rmSteps;
    return 1;
  }

  get pretrained(): boolean {
    return this.stage === 'rl' && this.reference !== undefined;
  }

  /**
   * Runs up to `steps` format-pretraining steps (all remaining by default) and returns the latest
   * loss. When the stage ends, the reference policy is frozen and a fresh optimizer starts RL.
   */
  async pretrain(steps = Infinity): Promise<number> {
    const end = Math.min(this.config.sftSteps, this.sftDone + steps);
    const budget = steps - Math.max(0, end - this.sftDone);
    const losses: tf.Scalar[] = [];
    const demos = this.demonstrations;
    const demo = demos ? (_prompt: number[], rng: Random) => demos[rng.int(demos.length)] : undefined;
    for (; this.sftDone < end; this.sftDone++) {
      losses.push(
        sftStep(
          this.task,
          this.policy,
          this.shape,
          this.optimizer,
          this.config,
          deriveSeed(this.config.seed, SEED_STREAMS.sft, this.sftDone),
          demo,
        ),
      );
    }
    if (losses.length > 0) {
      const last = losses[losses.length - 1];
      this.sftLoss = (await last.data())[0];
      tf.dispose(losses);
    }
    if (this.sftDone >= this.config.sftSteps && !this.reference) {
      this.reference = cloneParams(this.policy, 'reference', false);
      this.optimizer.dispose();
      this.optimizer = new Adam(this.policy, adamSettingsOf(this.config));
    }
    // Stage 2: the human compares samples of the SFT policy (frozen as the reference when SFT ended).
    if (this.stage === 'reward-model' && budget > 0)
      await this.rewardModelStage?.train(budget, this.reference ?? this.policy, this.config, this.rerunCount);
    return this.sftLoss;
  }

  /**
   * Re-runs stage 2: a fresh reward model, fresh comparisons of the SFT policy (with the current
   * comparisons, label noise and steps settings); RL then continues against the new model.
   */
  rerunRewardModel(): void {
    if (!this.rewardModelStage || !this.reference) return;
    this.rewardModelStage.rerun();
    this.rerunCount++;
  }

  /** Re-runs stage 3: the policy goes back to the SFT policy with a fresh optimizer; updates count from 0. */
  rerunRl(): void {
    if (!this.reference) return;
    this.policy.flat.assign(this.reference.flat);
    this.optimizer.dispose();
    this.optimizer = new Adam(this.policy, adamSettingsOf(this.config));
    this.update = 0;
    this.episodes = 0;
    this.beta = this.config.beta;
    // Every piece of algorithm state starts afresh too (e.g. REINFORCE's moving-average baseline), and
    // the reward model goes back to how stage 2 left it (bootstrapping refits are undone).
    this.algorithmState = {};
    this.rewardModelStage?.restoreStageEnd();
    this.startedAt = performance.now();
    this.rerunCount++;
  }

  /** One RL update (running any remaining format pretraining first). */
  async step(options: StepOptions = {}): Promise<StepResult> {
    if (this.disposed) throw new Error('This trainer was disposed; create a new one.');
    if (!this.pretrained) await this.pretrain();
    const reference = this.reference as Params;
    const config = this.config;
    const update = this.update + 1;
    const started = performance.now();

    // 1. Prompts and a batch of responses sampled on the device.
    // batchSize / G prompts, each repeated G times on adjacent rows (G = 1: one prompt per row, as before).
    const promptRng = new Random(deriveSeed(config.seed, SEED_STREAMS.prompts, update));
    const groupSize = config.groupSize;
    const prompts = Array.from({ length: config.batchSize / groupSize }, () => this.task.prompt(promptRng)).flatMap(
      (prompt) => Array.from({ length: groupSize }, () => [...prompt]),
    );
    const rolloutSettings = {
      batchSize: config.batchSize,
      maxNewTokens: config.maxNewTokens,
      temperature: config.temperature,
      keepLogSoftmax: true,
      // An explained update keeps per-token terms at every position: it runs its own pass.
      recordForward: ALGORITHM_REGISTRY[config.algorithm].readsRecordedForward === true && !options.explain,
      // A re-run stage samples afresh; a first run keeps the seeds links and tests were made with.
      samplingSeed: deriveSeed(
        config.seed,
        SEED_STREAMS.sampling,
        update,
        ...(this.rerunCount ? [this.rerunCount] : []),
      ),
    };
    const environment = this.task.environment;
    const batch = environment
      ? await rolloutWithEnvironment(this.policy, reference, this.shape, prompts, rolloutSettings, environment)
      : await rollout(this.policy, reference, this.shape, prompts, rolloutSettings, this.rewardModelStage?.rewardModel);
    const rolledOut = performance.now();

    // 2. Scores, per-token KL penalties and advantages on the CPU. An algorithm with the KL in its loss
    //    (GRPO) gets rewards without it.
    const beta = this.beta;
    const learningRate = config.adaptiveLr
      ? (this.algorithmState.learningRate ?? config.learningRate)
      : config.learningRate;
    const algorithm = ALGORITHM_REGISTRY[config.algorithm];
    const rewardBeta = klInReward(config) ? beta : 0;
    const state = this.algorithmState;
    const episodes = buildEpisodes(
      batch,
      this.task,
      rewardBeta,
      config.klEstimator,
      config.rewardNorm ? (scores) => normaliseScores(scores, state) : undefined,
    );
    // An explained update also shows the advantages before whitening: the same computation on a copy,
    // with whitening off and a copy of the algorithm's state (so the real one moves once).
    const rawAdvantages = options.explain
      ? (() => {
          const copy = structuredClone(episodes);
          algorithm.computeAdvantages(copy, { ...config, whitenAdvantages: false }, structuredClone(state));
          return copy.map((e) => e.advantages);
        })()
      : [];
    algorithm.computeAdvantages(episodes, config, this.algorithmState);
    if (this.options.injectNaNAtUpdate === update)
      for (const e of episodes) e.advantages = e.advantages.map(() => Number.NaN);

    // 3. Optimizer steps, guarded: a non-finite loss or gradient restores the weights from before.
    const snapshot = this.optimizer.snapshot();
    const metrics = new DeviceAverages();
    const ctx: UpdateContext = {
      config,
      params: this.policy,
      shape: this.shape,
      optimizer: this.optimizer,
      metrics,
      shuffleSeed: deriveSeed(config.seed, SEED_STREAMS.shuffle, update),
      beta,
      learningRate,
      ...(options.explain ? { explain: new ExplainRecorder() } : {}),
    };
    // An explained update's recorder and distributions live until its one read-back, and are freed
    // whatever happens on the way.
    const distributions = ctx.explain && this.keepDistributions(ctx, batch, episodes, reference);
    try {
      return await this.finishStep(ctx, batch, episodes, distributions, {
        update,
        started,
        rolledOut,
        rawAdvantages,
        snapshot,
      });
    } finally {
      disposeSnapshot(snapshot);
      ctx.explain?.dispose();
      distributions?.dispose();
    }
  }

  /** Steps 3–4 of `step` after the rollout: the guarded optimizer steps, bookkeeping, metrics (and the explanation). */
  private async finishStep(
    ctx: UpdateContext,
    batch: Rollout,
    episodes: Episode[],
    distributions: ReturnType<Trainer['keepDistributions']> | undefined,
    facts: {
      update: number;
      started: number;
      rolledOut: number;
      rawAdvantages: number[][];
      /** The weights and moments before the update, for the guard to restore. */
      snapshot: OptimizerSnapshot;
    },
  ): Promise<StepResult> {
    const { config, metrics } = ctx;
    const beta = ctx.beta ?? config.beta;
    const { update, started, rolledOut, rawAdvantages, snapshot } = facts;
    const learningRate = ctx.learningRate ?? config.learningRate;
    const algorithm = ALGORITHM_REGISTRY[config.algorithm];
    const updateKl = measureUpdateKl(ctx, batch, episodes);
    try {
      await algorithm.update(ctx, batch, episodes);
      updateKl.finish();
    } finally {
      updateKl.dispose();
    }
    const device = await metrics.read();
    const finished = performance.now();
    const divergence = this.findDivergence(device, update);
    if (divergence) this.optimizer.restore(snapshot);
    // Freed now, so perf/tensors below counts what the run keeps (step's finally frees it on a throw).
    disposeSnapshot(snapshot);
    // After the guard: a skipped update shows the weights it kept.
    distributions?.after();
    if (this.rewardModelStage && config.rmRefreshEvery > 0 && update % config.rmRefreshEvery === 0)
      await this.rewardModelStage.refresh(batch, update, config);

    // 4. Bookkeeping: counters, adaptive β, metrics.
    this.update = update;
    this.episodes += episodes.length;
    const klPerResponse = mean(episodes.map((e) => e.klK1Sum));
    if (config.adaptiveKl && !divergence) {
      this.beta = adaptiveBeta(this.beta, klPerResponse, config.klTarget, config.batchSize, config.klHorizon);
    }
    if (config.adaptiveLr && !divergence && Number.isFinite(device['policy/approx_kl'])) {
      this.algorithmState.learningRate = klAdaptiveLearningRate(
        learningRate,
        device['policy/approx_kl'],
        config.lrKlTarget,
      );
    }
    const result: StepResult = {
      metrics: updateMetrics(episodes, device, {
        update,
        episodes: this.episodes,
        elapsedS: (performance.now() - this.startedAt) / 1000,
        beta,
        learningRate,
        rewardNorm: config.rewardNorm,
        started,
        rolledOut,
        finished,
        memory: tf.memory(),
        hasCritic: algorithm.spec.hasCritic,
        sftLoss: this.sftLoss,
        rewardModel: this.rewardModelStage?.metrics(
          episodes.map((e) => e.score),
          episodes.map((e) => e.gold),
        ),
        environment: this.task.environment,
        thinking: this.task.thinking,
      }),
      samples: this.samples(episodes),
    };
    if (ctx.explain && distributions) {
      const read = new ReadBack();
      const steps = ctx.explain.collect(read);
      const read3 = distributions.collect(read);
      await read.read();
      // A bug here must not cost the update itself: it is reported, and the update stands.
      try {
        result.explanation = buildExplanation({
          ...(divergence ? { skipped: divergence.message } : {}),
          update,
          config,
          beta,
          klInReward: klInReward(config) && beta > 0,
          learningRate,
          hasCritic: algorithm.spec.hasCritic,
          vocabulary: this.task.vocab.tokens,
          decode: (ids) => this.task.vocab.decode(ids),
          visiblePrompt: (prompt) => (this.task.environment ? this.task.environment.visiblePrompt(prompt) : prompt),
          episodes,
          rawAdvantages,
          steps: steps(),
          ...read3(),
          time: this.shape.contextLength,
          metrics: result.metrics,
        });
      } catch (error) {
        result.explanationProblem = `This update could not be explained: ${error instanceof Error ? error.message : String(error)}`;
      }
    }
    // A reward-model fit (stage 2, or a refit in this update) that went non-finite and was undone.
    const rewardModelDivergence = this.rewardModelStage?.takeDivergence();
    const reported = divergence ?? (rewardModelDivergence && { update: this.update, ...rewardModelDivergence });
    if (reported) result.divergence = reported;
    return result;
  }

  /**
   * Changes one setting for the next update. Returns a problem (and changes nothing) when the value is
   * invalid or the setting needs a reset (task, model, algorithm, batch size...).
   */
  set(key: string, value: unknown): Problem | undefined {
    const field = FIELD_BY_KEY.get(key);
    if (!field) return { key, message: `Unknown setting "${key}".` };
    if (!field.live) return { key, message: `${field.label} (${key}) shapes the run; start a new run to change it.` };
    const result = coerce(field, value);
    if (result.problem) return { key, message: result.problem };
    const { config, problems } = validate({ ...this.config, [key]: result.value });
    if (problems.length > 0) return problems[0];
    this.config = config;
    // A new β replaces the adaptive controller's current value too.
    if (key === 'beta') this.beta = config.beta;
    // A new learning rate (or switching the adaptive rate on or off) restarts the adaptive rate from it.
    if (key === 'learningRate' || key === 'adaptiveLr') delete this.algorithmState.learningRate;
    if (key === 'adamBeta2' || key === 'adamEpsilon') this.optimizer.settings = adamSettingsOf(config);
    return undefined;
  }

  /**
   * Next-token distributions of the policy and the reference after `prefix` (token ids, <bos> first):
   * the KL penalty made visible. Before RL starts the reference is the policy itself.
   */
  async nextTokenDistributions(prefix: readonly number[]): Promise<{ policy: number[]; reference: number[] }> {
    const time = this.shape.contextLength;
    if (prefix.length < 1 || prefix.length > time) throw new Error(`A prefix needs 1 to ${time} tokens.`);
    const row = new Int32Array(time).fill(PAD);
    row.set(prefix);
    const both = tf.tidy(() => {
      const tokens = tf.tensor2d(row, [1, time], 'int32');
      const probabilities = (params: Params) => {
        const { logits } = forward(params, this.shape, tokens, this.config.temperature);
        return tf.softmax(tf.reshape(tf.slice(logits, [0, prefix.length - 1, 0], [1, 1, this.shape.vocabSize]), [-1]));
      };
      return tf.stack([probabilities(this.policy), probabilities(this.reference ?? this.policy)]);
    });
    const values = Array.from(await both.data());
    both.dispose();
    const v = this.shape.vocabSize;
    return { policy: values.slice(0, v), reference: values.slice(v) };
  }

  /**
   * For an explained update: the policy's and the reference's next-token distributions on the whole
   * batch now (before the update), and the policy's again when `after()` is called; kept on the device.
   */
  private keepDistributions(ctx: UpdateContext, rollout: Rollout, episodes: Episode[], reference: Params) {
    const batch = batchTensors(rollout, episodes);
    const softmax = (params: Params) =>
      tf.tidy(() => tf.softmax(forward(params, this.shape, batch.tokens, this.config.temperature).logits));
    const before = softmax(ctx.params);
    const ref = softmax(reference);
    let after: tf.Tensor | undefined;
    return {
      after: () => {
        after = softmax(ctx.params);
      },
      collect: (read: ReadBack) => {
        const readers = [read.add(before), read.add(ref), after ? read.add(after) : undefined];
        return () => {
          const [b, r, a] = readers.map((reader) => reader?.() ?? new Float32Array(0));
          return { before: b, reference: r, after: a };
        };
      },
      dispose: () => {
        tf.dispose([before, ref, ...(after ? [after] : [])]);
        disposeBatch(batch);
      },
    };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    disposeParams(this.policy);
    if (this.reference) disposeParams(this.reference);
    this.optimizer.dispose();
    this.rewardModelStage?.dispose();
  }

  private findDivergence(device: Record<string, number>, update: number): Divergence | undefined {
    for (const quantity of GUARDED) {
      const value = device[quantity];
      if (value !== undefined && !Number.isFinite(value)) {
        return {
          update,
          quantity,
          value,
          message: `${quantity} became ${value} at update ${update}; the update was skipped and the last good weights kept. Try a lower learning rate.`,
        };
      }
    }
    return undefined;
  }

  private samples(episodes: Episode[]): Sample[] {
    const decode = (ids: readonly number[]) => this.task.vocab.decode(ids);
    return episodes.slice(0, this.options.samples ?? 4).map((e) => ({
      // What the policy saw: guess keeps its hidden letter out of the prompt (it shows in `expected`).
      prompt: decode(this.task.environment ? this.task.environment.visiblePrompt(e.prompt) : e.prompt),
      response: decode(e.response),
      expected: decode(this.task.expected(e.prompt)),
      score: e.score,
      gold: e.gold,
      observed: e.observed,
      ...(this.task.thinking && {
        thinking: {
          marks: this.task.thinking.marks(e.response),
          path: decode(this.task.thinking.path(e.prompt)),
          tracks: this.task.thinking.tracks(e.prompt, e.response),
        },
      }),
      logp: e.oldLogp,
      advantage: e.advantages,
      kl: e.kl,
    }));
  }
}

export function createTrainer(raw: unknown, options?: TrainerOptions): Trainer {
  return new Trainer(raw, options);
}

/** `Trainer.restore` as a function, beside `createTrainer`. */
export function restoreTrainer(snapshot: unknown, options?: TrainerOptions): Trainer {
  return Trainer.restore(snapshot, options);
}

/** What a snapshot's arrays must measure for its config; no tensors made. */
function snapshotSizes(config: Config): SnapshotSizes {
  const vocabSize = createTask(config).vocab.size;
  const { dModel, nLayers, nHeads, contextLength } = config;
  const specs = paramSpecs({ vocabSize, dModel, nLayers, nHeads, contextLength });
  return {
    params: specs.reduce((n, spec) => n + spec.shape.reduce((a, b) => a * b, 1), 0),
    contextLength,
    vocabSize,
    usesRewardModel: taskSpec(config.task).usesRewardModel,
  };
}
