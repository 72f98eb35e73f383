// A challenge's live check. The goal is judged from the run's metrics (src/lessons/goal.ts); what the
// metrics do not record is whether the student kept the limits while training, so this watches the
// settings: the first limit broken during a run (a live knob turned past it) ends that run's attempt.
import type { Config } from '../../engine/config';
import type { Metrics } from '../../engine/metrics';
import { brokenLimit, goalStatus, type GoalStatus } from '../../lessons/goal';
import type { AuthoredLesson } from '../../share/lesson-link';

export class ChallengeWatch {
  /** The limit the current run broke, as a sentence; undefined while every limit held. */
  broken = $state<string | undefined>();
  /** The run being watched, known by its first update's metrics. */
  private runStart: Metrics | undefined;

  /** Called whenever the history, the settings or the lesson change. */
  observe(lesson: AuthoredLesson, history: readonly Metrics[], config: Config): void {
    if (history[0] !== this.runStart) {
      this.runStart = history[0];
      this.broken = undefined;
    }
    if (!lesson.goal || history.length === 0 || this.broken !== undefined) return;
    // A decided challenge stays decided: settings changed after it was met or missed do not matter.
    const state = goalStatus(lesson.goal, history).state;
    if (state === 'met' || state === 'missed') return;
    this.broken = brokenLimit(lesson.limits, config);
  }

  /** Where the run stands; undefined when the lesson has no goal. */
  status(lesson: AuthoredLesson, history: readonly Metrics[]): GoalStatus | undefined {
    return lesson.goal ? goalStatus(lesson.goal, history, this.broken) : undefined;
  }
}
