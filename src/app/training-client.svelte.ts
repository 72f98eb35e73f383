// The UI side of the worker protocol: sends commands, folds events into PlaygroundState.
import type { Config } from '../engine/config';
import type { BackendName } from '../engine/backend-names';
import type { Command, RerunStage, WorkerEvent } from '../worker/protocol';
import type { PlaygroundState } from './state.svelte';

export class TrainingClient {
  private readonly worker: Worker;

  constructor(
    private readonly state: PlaygroundState,
    private readonly failBackends: BackendName[] = [],
  ) {
    // A plain URL is what Vite's worker bundling recognises; it is not reactive state.
    // eslint-disable-next-line svelte/prefer-svelte-reactivity
    this.worker = new Worker(new URL('../worker/training.worker.ts', import.meta.url), { type: 'module' });
    this.worker.onmessage = (event: MessageEvent<WorkerEvent>) => applyEvent(this.state, event.data);
    this.worker.onerror = (event) => {
      state.runState = 'failed';
      state.addNotice('error', `The training worker crashed: ${event.message || 'unknown error'}. Reload the page.`);
    };
  }

  /** A fresh run with these settings on the chosen backend; charts start over. */
  reset(config: Config): void {
    this.state.config = config;
    this.state.clearRun();
    this.send({
      type: 'reset',
      config: $state.snapshot(config),
      backend: this.state.backendRequest,
      failBackends: this.failBackends,
    });
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
      if (event.backend) state.backend = event.backend;
      if (event.backendReason) state.backendReason = event.backendReason;
      if (event.progress !== undefined) state.pretrainProgress = event.progress;
      if (event.stage) state.stage = event.stage;
      if (event.stageProgress !== undefined) state.stageProgress = event.stageProgress;
      if (event.vocabulary) state.vocabulary = event.vocabulary;
      break;
    case 'metrics':
      state.appendMetrics(event.metrics, event.samples);
      break;
    case 'problem':
      state.addNotice(event.severity, event.message);
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
