// The training worker: owns the trainer and every tensor. Commands come in (protocol.ts); metrics,
// samples, status and problems go out. Updates run back to back while playing, yielding to the
// message queue between updates so pause, step and settings are handled promptly.
import type { BackendChoice } from '../engine/backend';
import { createTrainer, type Trainer } from '../engine/trainer';
import { startBrowserBackend } from './browser-backend';
import { isCommand, type Command, type RunState, type WorkerEvent } from './protocol';

const SFT_CHUNK = 10;

const scope = self as unknown as DedicatedWorkerGlobalScope;
let trainer: Trainer | undefined;
let backend: BackendChoice | undefined;
let state: RunState = 'starting';
let playing = false;
/** Serialises commands that touch the trainer (reset, step, inspect, the play loop's updates). */
let queue: Promise<void> = Promise.resolve();

function post(event: WorkerEvent): void {
  scope.postMessage(event);
}

function setState(next: RunState, extra: Partial<Extract<WorkerEvent, { type: 'status' }>> = {}): void {
  state = next;
  post({ type: 'status', state, backend: backend?.name, backendReason: backend?.reason, ...extra });
}

function problem(severity: 'warning' | 'error', message: string): void {
  post({ type: 'problem', severity, message });
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

async function reset(command: Extract<Command, { type: 'reset' }>): Promise<void> {
  playing = false;
  trainer?.dispose();
  trainer = undefined;
  setState('starting');
  try {
    backend = await startBrowserBackend(command.backend, command.failBackends);
    if (backend.fellBack) problem('warning', `Backend: ${backend.reason}.`);
    trainer = createTrainer(command.config);
    for (const p of trainer.problems) problem('warning', p.message);
    await runStages(trainer);
  } catch (error) {
    setState('failed');
    problem('error', `Could not start training: ${errorText(error)}. Try another backend and press Reset.`);
  }
}

/** Runs the stages before RL (SFT; the reward model for preference) in chunks, reporting each. */
async function runStages(t: Trainer): Promise<void> {
  const vocabulary = [...t.task.vocab.tokens];
  while (!t.pretrained) {
    setState('pretraining', {
      progress: t.pretrainProgress,
      stage: t.stage,
      stageProgress: t.stageProgress,
      vocabulary,
    });
    await t.pretrain(SFT_CHUNK);
  }
  setState('paused', { vocabulary, stage: t.stage, stageProgress: 1 });
}

async function update(): Promise<boolean> {
  if (!trainer || !trainer.pretrained) return false;
  try {
    const result = await trainer.step();
    post({ type: 'metrics', metrics: result.metrics, samples: result.samples });
    if (result.divergence) problem('warning', result.divergence.message);
    return true;
  } catch (error) {
    // A backend that dies mid-run (e.g. WebGPU device lost): stop, keep what is charted.
    playing = false;
    setState('failed');
    problem(
      'error',
      `The ${backend?.name ?? ''} backend stopped: ${errorText(error)}. Training is paused and your charts are kept; pick a backend and press Reset.`,
    );
    return false;
  }
}

async function playLoop(): Promise<void> {
  while (playing) {
    queue = queue.then(async () => {
      if (playing) await update();
    });
    await queue;
    // Let pause, set and step messages in between updates.
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  if (state === 'playing') setState('paused');
}

function handle(command: Command): void {
  switch (command.type) {
    case 'reset':
      queue = queue.then(() => reset(command));
      break;
    case 'play':
      // Decided in the queue, after any reset sent before it: a play that follows a reset starts the
      // new run once its stages are done, instead of being dropped while the old run still plays.
      queue = queue.then(() => {
        if (playing || state === 'failed' || !trainer?.pretrained) return;
        playing = true;
        setState('playing');
        void playLoop();
      });
      break;
    case 'pause':
      playing = false;
      break;
    case 'step':
      if (playing) return;
      queue = queue.then(async () => {
        if (await update()) setState('paused');
      });
      break;
    case 'set': {
      const refused = trainer?.set(command.key, command.value);
      if (refused) problem('warning', refused.message);
      break;
    }
    case 'rerun':
      playing = false;
      queue = queue.then(async () => {
        if (!trainer?.pretrained) return;
        try {
          if (command.stage === 'reward-model') trainer.rerunRewardModel();
          else trainer.rerunRl();
          await runStages(trainer);
        } catch (error) {
          setState('failed');
          problem('error', `Could not re-run the ${command.stage} stage: ${errorText(error)}. Press Reset.`);
        }
      });
      break;
    case 'inspect':
      queue = queue.then(async () => {
        if (!trainer) return;
        try {
          const ids = command.prefix.map((token) => trainer!.task.vocab.id(token));
          const { policy, reference } = await trainer.nextTokenDistributions(ids);
          post({
            type: 'distribution',
            prefix: command.prefix,
            tokens: [...trainer.task.vocab.tokens],
            policy,
            reference,
          });
        } catch (error) {
          problem('warning', `Could not inspect that prefix: ${errorText(error)}`);
        }
      });
      break;
  }
}

scope.onmessage = (event: MessageEvent<unknown>) => {
  if (!isCommand(event.data)) {
    problem('warning', 'The training worker ignored a malformed command.');
    return;
  }
  handle(event.data);
};
