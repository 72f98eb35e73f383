// Stage 2 of the RLHF pipeline (docs/reference.md §8) and its upkeep during RL: the hidden human
// compares pairs of SFT samples, a reward model fits them, and the rollout reads its normalised scores.
// Also: re-running the stage, putting the model back as stage 2 left it for a re-run of RL,
// bootstrapping refits on the current policy's samples, and the rm/... metrics. The trainer owns one
// only for tasks whose spec says `usesRewardModel`.
import type { Config } from './config';
import type { ModelShape, Params } from './model';
import type { ReadBack } from './params';
import { deriveSeed, Random } from './random';
import { RewardModel } from './reward-model';
import { collectComparisons, labelPairs, rankAgreement } from './rlhf';
import type { Rollout } from './rollout';
import type { RewardModelStageSnapshot } from './snapshot';
import type { Task } from './tasks';

/** Seeds of the stage's random choices, as streams of the run's seed. */
export interface RewardModelSeeds {
  comparisons: number;
  rewardModel: number;
  refresh: number;
}

/** A fit that went non-finite and was undone (the trainer reports it with the next update). */
export interface RewardModelDivergence {
  quantity: 'rm/loss';
  value: number;
  message: string;
}

export class RewardModelStage {
  /** Undefined until stage 2 starts, and again after a re-run of the stage is asked for. */
  private model: RewardModel | undefined;
  private stepsDone = 0;
  private loss = Number.NaN;
  private accuracy = Number.NaN;
  /** rm/loss and rm/accuracy as stage 2 ended, for a re-run of RL. */
  private stageEnd = { loss: Number.NaN, accuracy: Number.NaN };
  private divergence: RewardModelDivergence | undefined;

  constructor(
    private readonly task: Task,
    private readonly shape: ModelShape,
    private readonly streams: RewardModelSeeds,
    /** Test seam: poison each new model's first fit with NaN, to prove its guard. */
    private readonly poisonFirstFit = false,
  ) {}

  /** The fitted model the rollout scores with (undefined before stage 2 has started). */
  get rewardModel(): RewardModel | undefined {
    return this.model;
  }

  /** Comparisons the model has trained on so far; grows with bootstrapping. */
  get comparisonsTrained(): number {
    return this.model?.train.length ?? 0;
  }

  get steps(): number {
    return this.stepsDone;
  }

  done(config: Config): boolean {
    return this.stepsDone >= config.rmSteps;
  }

  /**
   * Up to `steps` more fitting steps; the first call collects the comparisons of the SFT policy `sft`.
   * `rerun` counts the run's stage re-runs: each draws fresh comparisons and a fresh initialisation.
   */
  async train(steps: number, sft: Params, config: Config, rerun: number): Promise<void> {
    if (!this.model) {
      this.model = new RewardModel(this.shape, deriveSeed(config.seed, this.streams.rewardModel, rerun));
      const pairs = await collectComparisons(sft, this.shape, this.task, {
        count: config.comparisons,
        noise: config.labelNoise,
        maxNewTokens: config.maxNewTokens,
        temperature: config.temperature,
        seed: deriveSeed(config.seed, this.streams.comparisons, rerun),
      });
      this.model.add(pairs, true);
      if (this.poisonFirstFit) this.model.poisonNextFit = true;
    }
    const n = Math.min(steps, config.rmSteps - this.stepsDone);
    this.loss = this.guard(await this.model.fit(n), 0);
    this.stepsDone += n;
    if (this.done(config)) {
      this.accuracy = await this.model.heldOutAccuracy();
      await this.model.normalise();
      this.model.keepCheckpoint();
      this.stageEnd = { loss: this.loss, accuracy: this.accuracy };
    }
  }

  /** Asks for stage 2 again: a fresh model on fresh comparisons (with the current settings). */
  rerun(): void {
    this.model?.dispose();
    this.model = undefined;
    this.stepsDone = 0;
    this.loss = Number.NaN;
    this.accuracy = Number.NaN;
  }

  /** For a re-run of RL: the model as stage 2 left it (bootstrapping refits undone). */
  restoreStageEnd(): void {
    if (!this.model) return;
    this.model.restoreCheckpoint();
    this.loss = this.stageEnd.loss;
    this.accuracy = this.stageEnd.accuracy;
  }

  /** Bootstrapping: the human compares pairs of this batch's samples; the model refits and renormalises. */
  async refresh(batch: Rollout, update: number, config: Config): Promise<void> {
    const model = this.model;
    if (!model) return;
    const rng = new Random(deriveSeed(config.seed, this.streams.refresh, update));
    model.add(labelPairs(batch, this.task, config.labelNoise, rng), false);
    this.loss = this.guard(await model.fit(Math.max(20, Math.round(config.rmSteps / 4))), update);
    this.accuracy = await model.heldOutAccuracy();
    // The refit moved every score: the proxy goes back to mean 0 and std 1 on the comparisons so far.
    await model.normalise();
  }

  /** The fit restores its weights on a non-finite loss; this keeps the report until it is taken. */
  private guard(loss: number, update: number): number {
    if (!Number.isFinite(loss) && this.comparisonsTrained > 0) {
      this.divergence = {
        quantity: 'rm/loss',
        value: loss,
        message: `rm/loss became ${loss} ${update === 0 ? 'while fitting the reward model' : `while refitting the reward model at update ${update}`}; the fit was undone and the last good reward model kept.`,
      };
    }
    return loss;
  }

  /** The fit that went non-finite since the last call, if any. */
  takeDivergence(): RewardModelDivergence | undefined {
    const d = this.divergence;
    this.divergence = undefined;
    return d;
  }

  /** rm/... metrics for an update whose episodes scored `proxy` (the model) and `gold` (the human). */
  metrics(
    proxy: readonly number[],
    gold: readonly number[],
  ): Record<'rm/loss' | 'rm/accuracy' | 'rm/agreement', number> {
    return {
      'rm/loss': this.loss,
      'rm/accuracy': this.accuracy,
      'rm/agreement': this.model ? rankAgreement(proxy, gold) : Number.NaN,
    };
  }

  /** The stage as plain data: its tensors go into `read`; the returned function builds it after the read. */
  capture(read: ReadBack): () => RewardModelStageSnapshot {
    const model = this.model?.capture(read);
    const plain: RewardModelStageSnapshot = {
      steps: this.stepsDone,
      loss: this.loss,
      accuracy: this.accuracy,
      stageEnd: { ...this.stageEnd },
    };
    if (this.divergence) plain.divergence = { ...this.divergence };
    return () => (model ? { ...plain, model: model() } : plain);
  }

  /** Continues from a snapshot (checked by checkSnapshot) on a stage that has no model yet. */
  load(s: RewardModelStageSnapshot): void {
    this.stepsDone = s.steps;
    this.loss = s.loss;
    this.accuracy = s.accuracy;
    this.stageEnd = { ...s.stageEnd };
    this.divergence = s.divergence && { ...s.divergence };
    if (s.model) {
      // The seed does not matter: every weight and the generator's state are overwritten.
      this.model = new RewardModel(this.shape, 0);
      this.model.load(s.model);
    }
  }

  dispose(): void {
    this.model?.dispose();
  }
}
