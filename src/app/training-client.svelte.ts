// The UI side of the worker protocol: sends commands, folds events into PlaygroundState. It also keeps
// the run alive: when the backend dies mid-run or the worker crashes, it starts a new worker on the next
// backend down the fallback chain and restores the run's last save.
import { BACKENDS, type BackendName } from '../engine/backend-names';
import type { Config } from '../engine/config';
import { newRunId } from '../store/runs';
import type { AutoOptions, BackendRequest, Command, RerunStage, WebgpuKernels, WorkerEvent } from '../worker/protocol';
import { BackendMemory } from './backend-memory';
import type { PlaygroundState } from './state.svelte';

export interface ClientOptions {
  /** Backends that refuse to start (a test seam, `?failBackend=`). */
  failBackends?: BackendName[];
  /** Test and bench seam (`?webgpuKernels=`): force webgpu's barrier-free programs or tfjs's. */
  webgpuKernels?: WebgpuKernels;
  /** Test seam (`?crashAt=N`): the first run's backend fails at update N, as a lost GPU would. */
  crashAtUpdate?: number;
  /** Test seam (`?measureSoftware=1`): `auto` measures software WebGPU/WebGL too instead of skipping them. */
  measureSoftware?: boolean;
  /** Where `auto`'s measurements are remembered (localStorage by default). */
  memory?: BackendMemory;
}

/** The next backend down the fallback chain (webgpu → webgl → wasm → cpu); cpu stays cpu. */
export function nextBackendDown(backend: BackendName | undefined): BackendName {
  const i = backend === undefined ? BACKENDS.length - 1 : BACKENDS.indexOf(backend);
  return BACKENDS[Math.min(BACKENDS.length - 1, i + 1)];
}

export class TrainingClient {
  private worker!: Worker;
  private crashAtUpdate: number | undefined;
  private recoveries = 0;
  private readonly memory: BackendMemory;

  constructor(
    private readonly state: PlaygroundState,
    private readonly options: ClientOptions = {},
  ) {
    this.crashAtUpdate = options.crashAtUpdate;
    this.memory = options.memory ?? new BackendMemory();
    this.spawn();
  }

  private spawn(): void {
    // A plain URL is what Vite's worker bundling recognises; it is not reactive state.
    // eslint-disable-next-line svelte/prefer-svelte-reactivity
    this.worker = new Worker(new URL('../worker/training.worker.ts', import.meta.url), { type: 'module' });
    this.worker.onmessage = (event: MessageEvent<WorkerEvent>) => this.receive(event.data);
    this.worker.onerror = (event) => {
      event.preventDefault();
      this.recover(this.state.backend, `The training worker crashed: ${event.message || 'unknown error'}.`);
    };
  }

  private receive(event: WorkerEvent): void {
    if (event.type === 'backend-lost') this.recover(event.backend, event.message);
    else if (event.type === 'backend-measured') this.memory.remember(event.entry);
    else applyEvent(this.state, event);
  }

  /**
   * A new worker on the next backend down, continuing the run from its last save (or a fresh run with
   * the same settings when nothing was saved yet). Gives up after a few tries in a row.
   */
  private recover(failed: BackendName | undefined, why: string): void {
    this.worker.terminate();
    this.recoveries++;
    if (this.recoveries > BACKENDS.length) {
      this.state.runState = 'failed';
      this.state.addNotice('error', `${why} Every backend failed; reload the page to try again.`);
      return;
    }
    const next = nextBackendDown(failed);
    const from = this.state.history.at(-1)?.update ?? 0;
    this.state.backendRequest = next;
    this.spawn();
    if (this.state.runId) {
      this.state.addNotice(
        'warning',
        `${why} Continuing on ${next} from the last save (the charts go back to it if updates after it were lost; they were at update ${from}).`,
      );
      this.send({
        type: 'restore',
        runId: this.state.runId,
        backend: next,
        webgpuKernels: this.options.webgpuKernels,
        ...this.autoOptions(),
      });
    } else {
      this.state.addNotice('warning', `${why} Starting again on ${next}.`);
      this.reset(this.state.config);
    }
  }

  /** A fresh run with these settings on the chosen backend; charts start over. */
  reset(config: Config): void {
    this.state.config = config;
    this.state.clearRun();
    this.state.runId = newRunId();
    const crashAtUpdate = this.crashAtUpdate;
    this.crashAtUpdate = undefined;
    this.send({
      type: 'reset',
      config: $state.snapshot(config),
      backend: this.state.backendRequest,
      failBackends: this.options.failBackends,
      webgpuKernels: this.options.webgpuKernels,
      runId: this.state.runId,
      link: this.state.link,
      title: this.state.title,
      ...(crashAtUpdate !== undefined ? { crashAtUpdate } : {}),
      ...this.autoOptions(),
    });
  }

  /** What `auto` needs from this side: the remembered measurements (the worker has no localStorage). */
  private autoOptions(): AutoOptions {
    return {
      backendMemory: this.memory.entries(),
      ...(this.options.measureSoftware ? { measureSoftware: true } : {}),
    };
  }

  /** Continues a saved run (a reload, or the Runs list): its settings, charts and weights. */
  restore(runId: string, backend: BackendRequest = this.state.backendRequest): void {
    this.state.clearRun();
    this.state.runId = runId;
    this.send({
      type: 'restore',
      runId,
      backend,
      failBackends: this.options.failBackends,
      webgpuKernels: this.options.webgpuKernels,
      ...this.autoOptions(),
    });
  }

  /** The run's label in the saved runs (its link and title) changed. */
  label(link: string, title: string): void {
    this.send({ type: 'label', link, title });
  }

  play(): void {
    this.send({ type: 'play' });
  }

  pause(): void {
    this.send({ type: 'pause' });
  }

  step(): void {
    this.send({ type: 'step' });
  }

  /** One update whose numbers come back stage by stage (the explainer opens when they arrive). */
  explain(): void {
    this.state.explain.requested();
    this.send({ type: 'step', explain: true });
  }

  set(key: string, value: unknown): void {
    this.send({ type: 'set', key, value });
  }

  /**
   * RLHF: re-run the reward-model stage (RL then continues), or restart RL from the SFT policy — the
   * run so far is pinned first, since its curves start over.
   */
  rerun(stage: RerunStage): void {
    if (stage === 'rl') {
      this.state.pin('before re-run', this.state.link);
      this.state.clearRun();
    }
    this.send({ type: 'rerun', stage });
  }

  inspect(prefix: string[]): void {
    this.send({ type: 'inspect', prefix });
  }

  dispose(): void {
    this.worker.terminate();
  }

  private send(command: Command): void {
    this.worker.postMessage(command);
  }
}

export function applyEvent(state: PlaygroundState, event: WorkerEvent): void {
  switch (event.type) {
    case 'status':
      state.runState = event.state;
      // An explained update reports its numbers before the worker says it is paused again: any status
      // now means no explanation is on its way (it arrived, or the step was refused or failed).
      state.explain.pending = false;
      if (event.backend) state.backend = event.backend;
      if (event.backendReason) state.backendReason = event.backendReason;
      if (event.progress !== undefined) state.pretrainProgress = event.progress;
      if (event.stage) state.stage = event.stage;
      if (event.stageProgress !== undefined) state.stageProgress = event.stageProgress;
      if (event.vocabulary) state.vocabulary = event.vocabulary;
      // Only the status events sent while `auto` measures carry it; the next one clears it.
      state.measuring = event.measuring ?? '';
      break;
    case 'metrics':
      // A late update of the run a reset replaced: it is not the new run's first update.
      if (event.runId !== undefined && state.runId !== undefined && event.runId !== state.runId) break;
      state.appendMetrics(event.metrics, event.samples);
      break;
    case 'restored':
      state.config = event.config;
      state.title = event.title;
      state.history = event.history;
      state.samples = event.samples;
      break;
    case 'saved':
      // A save of the run a reset replaced says nothing about the current one.
      if (state.runId !== undefined && event.runId !== state.runId) break;
      state.savedUpdate = event.updates;
      break;
    case 'backend-lost':
    case 'backend-measured':
    case 'probe':
      break;
    case 'problem':
      state.addNotice(event.severity, event.message);
      break;
    case 'explanation':
      // Of a run a reset replaced, or no longer asked for (a re-run of RL cleared it).
      if (event.runId !== undefined && state.runId !== undefined && event.runId !== state.runId) break;
      if (!state.explain.pending) break;
      state.explain.arrived(event.explanation);
      break;
    case 'distribution':
      state.distribution = {
        prefix: event.prefix,
        tokens: event.tokens,
        policy: event.policy,
        reference: event.reference,
      };
      break;
  }
}
