// The state of "Explain this update": whether the explainer is open, whether an explained update is on
// its way, its numbers, and which stage, episode and token the student is looking at.
import { EXPLAIN_STAGES, type ExplainStage } from '../engine/algorithms/specs';
import type { UpdateExplanation } from '../engine/explanation';

export class ExplainState {
  open = $state(false);
  /** An explained update was asked for and has not arrived yet. */
  pending = $state(false);
  explanation = $state.raw<UpdateExplanation | undefined>();
  stageIndex = $state(0);
  /** Index into the explanation's episodes, and into that episode's action tokens. */
  episode = $state(0);
  token = $state(0);
  stage: ExplainStage = $derived(EXPLAIN_STAGES[this.stageIndex]);

  requested(): void {
    this.open = true;
    this.pending = true;
  }

  arrived(explanation: UpdateExplanation): void {
    this.explanation = explanation;
    this.pending = false;
    this.stageIndex = 0;
    this.episode = 0;
    this.token = 0;
  }

  /** Moves by `delta` stages, staying within the first and the last. */
  move(delta: number): void {
    this.stageIndex = Math.max(0, Math.min(EXPLAIN_STAGES.length - 1, this.stageIndex + delta));
  }

  chooseEpisode(index: number): void {
    this.episode = index;
    this.token = 0;
  }

  close(): void {
    this.open = false;
  }

  /** A new run: the old run's explanation no longer describes it. */
  clear(): void {
    this.explanation = undefined;
    this.pending = false;
  }
}
