// The UI's state, as Svelte runes. The training client writes it from worker events; components read it.
import { defaultConfig, type Config } from '../engine/config';
import { taskSpec } from '../engine/tasks/registry';
import type { BackendName } from '../engine/backend-names';
import type { Metrics } from '../engine/metrics';
import type { Sample, Stage } from '../engine/trainer';
import { EMPTY_LESSON, type AuthoredLesson } from '../share/lesson-link';
import { encodeLink, type DecodedLink } from '../share/link';
import { ExplainState } from './explain-state.svelte';
import type { BackendRequest, RunState } from '../worker/protocol';

export interface Notice {
  id: number;
  severity: 'warning' | 'error';
  message: string;
}

/** A finished or paused run kept on the charts while a new one trains. */
export interface PinnedRun {
  label: string;
  history: Metrics[];
  /** The link that replays it. */
  link: string;
}

/** At most this many pinned runs; pinning another drops the oldest. */
export const MAX_PINNED = 6;

export interface Distribution {
  prefix: string[];
  tokens: string[];
  policy: number[];
  reference: number[];
}

/** How many recent updates the updates/s figure averages over. */
const RATE_WINDOW = 10;

export class PlaygroundState {
  /** The settings of the run in progress (and of the next reset). */
  config = $state<Config>(defaultConfig());
  runState = $state<RunState>('starting');
  backendRequest = $state<BackendRequest>('auto');
  backend = $state<BackendName | undefined>();
  backendReason = $state('');
  /** While `auto` measures the backends: the one being measured, e.g. "webgl (2 of 3)"; '' otherwise. */
  measuring = $state('');
  pretrainProgress = $state(0);
  /** The pipeline stage the worker is in (SFT, reward model, RL) and the fraction of it done. */
  stage = $state<Stage>('sft');
  stageProgress = $state(0);
  vocabulary = $state.raw<string[]>([]);
  /** One entry per update, oldest first; replaced (not mutated) on every update. */
  history = $state.raw<Metrics[]>([]);
  samples = $state.raw<Sample[]>([]);
  notices = $state<Notice[]>([]);
  distribution = $state.raw<Distribution | undefined>();
  /** Settings an instructor's link hides (`hide=`); the settings panel can still show them all. */
  hidden = $state.raw<string[]>([]);
  /** The link's title, shown as plain text. */
  title = $state('');
  /** An instructor's lesson from the link: text, arms, charts, a challenge's goal. */
  lesson = $state.raw<AuthoredLesson>(EMPTY_LESSON);
  /** The update the run was last saved at (the Runs list refreshes when it moves). */
  savedUpdate = $state(0);
  /** The id the worker trains and saves the current run under. */
  runId = $state<string | undefined>();
  pinned = $state.raw<PinnedRun[]>([]);
  /** "Explain this update": open or not, waiting for an update, its numbers and where the student is. */
  readonly explain = new ExplainState();
  latest = $derived(this.history.at(-1));
  /** The task trains against a learnt reward model (the RLHF pipeline): proxy and gold instead of one score. */
  usesRewardModel = $derived(taskSpec(this.config.task).usesRewardModel);
  updatesPerSecond = $derived(rate(this.history));
  /** The experiment as a link (settings, hidden settings, title, lesson): the address bar, pins and re-runs use it. */
  link = $derived(encodeLink(this.config, { hide: this.hidden, title: this.title, lesson: this.lesson }));
  private nextNoticeId = 1;

  /** Takes a decoded link's experiment; its problems become one banner entry, one line each, so none is pushed out. */
  applyLink(link: DecodedLink, source: string): void {
    this.config = link.config;
    this.hidden = link.hide;
    this.title = link.title;
    this.lesson = link.lesson;
    if (link.notices.length > 0) this.addNotice('warning', `${source}:\n${link.notices.join('\n')}`);
  }

  addNotice(severity: Notice['severity'], message: string): void {
    // The same message twice in a row (e.g. a divergence that repeats) is shown once.
    if (this.notices.at(-1)?.message === message) return;
    this.notices = [...this.notices.slice(-4), { id: this.nextNoticeId++, severity, message }];
  }

  dismissNotice(id: number): void {
    this.notices = this.notices.filter((n) => n.id !== id);
  }

  appendMetrics(metrics: Metrics, samples: Sample[]): void {
    // An update number at or below the last one means the worker restarted the run (Reset, or RL re-run)
    // and the history so far is a late update of the old run: the new run starts a fresh history.
    const last = this.history.at(-1);
    this.history = last && metrics.update <= last.update ? [metrics] : [...this.history, metrics];
    this.samples = samples;
  }

  pin(label: string, link: string): void {
    if (this.history.length === 0) return;
    this.pinned = [...this.pinned, { label, history: this.history, link }].slice(-MAX_PINNED);
  }

  /** Pins the run in progress under a label that tells it apart: its number, algorithm and seed. */
  pinCurrent(): void {
    const n = this.pinned.length + 1;
    this.pin(`run ${n}: ${this.config.task}, ${this.config.algorithm}, seed ${this.config.seed}`, this.link);
  }

  unpin(index: number): void {
    this.pinned = this.pinned.filter((_, i) => i !== index);
  }

  clearRun(): void {
    this.history = [];
    this.samples = [];
    this.distribution = undefined;
    this.explain.clear();
  }
}

/** Updates per second over the last few updates, from their wall-clock stamps. */
export function rate(history: readonly Metrics[]): number {
  if (history.length < 2) return 0;
  const recent = history.slice(-RATE_WINDOW);
  const seconds = recent[recent.length - 1].time_s - recent[0].time_s;
  return seconds > 0 ? (recent.length - 1) / seconds : 0;
}
