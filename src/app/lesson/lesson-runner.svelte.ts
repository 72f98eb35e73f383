// Lessons from the gallery. A comparison runs its arms one after the other on the same charts: each arm
// trains for the lesson's updates, is paused and pinned, and the next arm starts from its own link. A
// single-arm lesson simply plays on. App calls `playWhenReady()` and `advance()` from effects, so both
// re-run whenever the run's state changes; they are plain methods so the sequence is testable in Node.
import type { Config } from '../../engine/config';
import { DEFAULT_ARM_UPDATES } from '../../lessons/authored';
import type { Preset, PresetArm } from '../../presets';
import { decodeLink } from '../../share/link';
import type { PlaygroundState } from '../state.svelte';

/** What the runner asks of the training client. */
export interface RunControl {
  play(): void;
  pause(): void;
  /** A fresh run with these settings (TrainingClient.reset). */
  reset(config: Config): void;
}

/** A preset's arms in the order they run; a preset without arms is one arm, its own link. */
function armsOf(preset: Preset): readonly PresetArm[] {
  return preset.arms && preset.arms.length > 0 ? preset.arms : [{ label: preset.title, link: preset.link }];
}

export class LessonRunner {
  /** Start training as soon as the run is ready (a link's autoplay=1, or a lesson's next arm). */
  autoplay = $state(false);
  /** The comparison in progress: which preset and which of its arms is training. */
  current = $state.raw<{ preset: Preset; arm: number } | undefined>();

  constructor(
    private readonly playground: PlaygroundState,
    private readonly run: RunControl,
  ) {}

  /** Opens a lesson: the pins of earlier runs go, its first arm starts. */
  open(preset: Preset): void {
    this.playground.pinned = [];
    this.startArm(preset, 0);
  }

  /** The user took over (Reset, or a setting that starts a new run): no further arms. */
  stop(): void {
    this.current = undefined;
  }

  /** Plays once the new run is ready, if autoplay is on. */
  playWhenReady(): void {
    if (this.autoplay && this.playground.runState === 'paused' && this.playground.history.length === 0) {
      this.autoplay = false;
      this.run.play();
    }
  }

  /** After an arm's updates: pauses it, pins it under the arm's label, and starts the next arm or ends. */
  advance(): void {
    const lesson = this.current;
    if (!lesson || this.playground.history.length < (lesson.preset.updates ?? DEFAULT_ARM_UPDATES)) return;
    const arms = armsOf(lesson.preset);
    const arm = arms[lesson.arm];
    this.run.pause();
    this.playground.pin(arm.label, arm.link);
    if (lesson.arm + 1 < arms.length) this.startArm(lesson.preset, lesson.arm + 1);
    else this.current = undefined;
  }

  private startArm(preset: Preset, arm: number): void {
    const arms = armsOf(preset);
    // Only comparisons are driven arm by arm; a single-arm lesson simply plays on.
    this.current = arms.length > 1 ? { preset, arm } : undefined;
    this.playground.applyLink(decodeLink(arms[arm].link), 'Lesson');
    this.playground.title = preset.title;
    this.autoplay = true;
    this.run.reset(this.playground.config);
  }
}
