// The worker's side of saved runs: it keeps the run's metric history and latest samples, and saves the
// trainer's state to IndexedDB at a bounded cadence (after the first update, then at most every
// SAVE_EVERY_MS while training, and whenever training stops), off the UI thread. A failed save is
// reported once and training goes on.
import type { Metrics } from '../engine/metrics';
import type { Sample, Trainer } from '../engine/trainer';
import { saveRun, type SavedRun } from '../store/runs';

export const SAVE_EVERY_MS = 10_000;

export class RunSaver {
  history: Metrics[] = [];
  samples: Sample[] = [];
  private lastSavedAt = 0;
  private savedUpdate = -1;
  private failed = false;

  constructor(
    readonly runId: string,
    public link: string,
    public title: string,
    private readonly report: (message: string) => void,
    private readonly saved: (updates: number) => void,
  ) {}

  /** A saved run's history carries on. */
  static resume(run: SavedRun, report: (m: string) => void, saved: (u: number) => void): RunSaver {
    const saver = new RunSaver(run.id, run.link, run.title, report, saved);
    saver.history = run.history;
    saver.samples = run.samples;
    saver.savedUpdate = run.updates;
    saver.lastSavedAt = Date.now();
    return saver;
  }

  record(metrics: Metrics, samples: Sample[]): void {
    // A re-run of RL starts its update count over: its history starts over too.
    const last = this.history.at(-1);
    // Appended in place: a copy per update would cost O(updates) each time over a long run.
    if (last && metrics.update <= last.update) this.history = [metrics];
    else this.history.push(metrics);
    this.samples = samples;
  }

  /** Saves when due (`force`: whenever there is something new), between updates. */
  async maybeSave(trainer: Trainer, force = false): Promise<void> {
    const updates = this.history.at(-1)?.update ?? 0;
    if (updates === 0 || updates === this.savedUpdate) return;
    const due = force || this.savedUpdate < 0 || Date.now() - this.lastSavedAt >= SAVE_EVERY_MS;
    if (!due) return;
    this.lastSavedAt = Date.now();
    const config = trainer.settings;
    let snapshot;
    try {
      snapshot = await trainer.snapshot();
    } catch (error) {
      this.fail(`Could not save the run: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    const result = await saveRun({
      id: this.runId,
      link: this.link,
      title: this.title,
      task: config.task,
      algorithm: config.algorithm,
      updates,
      savedAt: Date.now(),
      history: this.history,
      samples: this.samples,
      snapshot,
    });
    if (!result.ok) return this.fail(result.problem.message);
    this.failed = false;
    this.savedUpdate = updates;
    this.saved(updates);
  }

  private fail(message: string): void {
    // Reported once until a save succeeds again: a full disk must not flood the banner.
    if (!this.failed) this.report(`${message} Training goes on; this run will not survive a reload.`);
    this.failed = true;
  }
}
