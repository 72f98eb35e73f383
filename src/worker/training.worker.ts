// The training worker: owns the trainer and every tensor. Commands come in (protocol.ts); metrics,
// samples, status and problems go out. Updates run back to back while playing, yielding to the
// message queue between updates so pause, step and settings are handled promptly.
// A copy of this worker also serves `auto` as a probe: it measures one backend and is terminated.
import type { BackendChoice } from '../engine/backend';
import type { BackendName } from '../engine/backend-names';
import { validate, type Config } from '../engine/config';
import { createTrainer, Trainer } from '../engine/trainer';
import { loadRun } from '../store/runs';
import { startAutoBackend } from './backend-auto';
import { TIMED_UPDATES } from './backend-measure';
import { chooseWebgpuKernels, startBrowserBackend, startBrowserBackendIn } from './browser-backend';
import {
  isCommand,
  type AutoOptions,
  type BackendRequest,
  type Command,
  type RunState,
  type WorkerEvent,
} from './protocol';
import { RunSaver } from './run-saver';

const SFT_CHUNK = 10;

const scope = self as unknown as DedicatedWorkerGlobalScope;
let trainer: Trainer | undefined;
let backend: BackendChoice | undefined;
let state: RunState = 'starting';
let playing = false;
/** The run's history and its saves to IndexedDB (undefined: this run is not saved). */
let saver: RunSaver | undefined;
/** Test seam: the update at which the backend "loses its device". */
let crashAtUpdate: number | undefined;
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

/** Starts the backend a run asked for; `auto` measures (or recalls) the fastest for this config. */
function startRunBackend(
  request: BackendRequest,
  config: Config,
  failing: BackendName[] = [],
  auto: AutoOptions = {},
): Promise<BackendChoice> {
  if (request !== 'auto') return startBrowserBackend(request, failing);
  return startAutoBackend({
    config,
    memory: auto.backendMemory,
    failing,
    measureSoftware: auto.measureSoftware ?? false,
    onMeasuring: (text) => setState('starting', { measuring: text }),
    onMeasured: (entry) => post({ type: 'backend-measured', entry }),
  });
}

/**
 * Probe (this script as a nested worker of a training worker): one warm-up update and the timed ones of
 * `config` on exactly `backend`, each update's time reported. Its parent terminates it.
 */
async function probe(command: Extract<Command, { type: 'probe' }>): Promise<void> {
  const report = (event: Extract<WorkerEvent, { type: 'probe' }>['event']) => post({ type: 'probe', event });
  try {
    await startBrowserBackendIn([command.backend], command.failBackends);
    report({ type: 'started' });
    const t = createTrainer(command.config);
    try {
      for (let i = 0; i < 1 + TIMED_UPDATES; i++) {
        const started = performance.now();
        // step() ends with its metrics read-back: the time includes the device finishing the update.
        await t.step();
        report({ type: 'update', ms: performance.now() - started });
      }
    } finally {
      t.dispose();
    }
  } catch (error) {
    report({ type: 'error', message: errorText(error).replace(/^No TensorFlow.js backend could start: /, '') });
  }
}

const newSaver = (runId: string, link: string, title: string) =>
  new RunSaver(
    runId,
    link,
    title,
    (message) => problem('warning', message),
    (updates) => post({ type: 'saved', runId, updates }),
  );

async function reset(command: Extract<Command, { type: 'reset' }>): Promise<void> {
  playing = false;
  trainer?.dispose();
  trainer = undefined;
  saver = command.runId ? newSaver(command.runId, command.link ?? '', command.title ?? '') : undefined;
  crashAtUpdate = command.crashAtUpdate;
  setState('starting');
  try {
    backend = await startRunBackend(command.backend, command.config, command.failBackends, command);
    if (backend.fellBack) problem('warning', `Backend: ${backend.reason}.`);
    trainer = createTrainer(command.config);
    for (const p of trainer.problems) problem('warning', p.message);
    await runStages(trainer);
  } catch (error) {
    setState('failed');
    problem('error', `Could not start training: ${errorText(error)}. Try another backend and press Reset.`);
  }
}

/** Continues a saved run: its trainer state, history and samples; then paused (or its stages finish). */
async function restore(command: Extract<Command, { type: 'restore' }>): Promise<void> {
  playing = false;
  trainer?.dispose();
  trainer = undefined;
  saver = undefined;
  crashAtUpdate = undefined;
  setState('starting');
  const loaded = await loadRun(command.runId);
  if (!loaded.ok) {
    setState('failed');
    problem('error', `${loaded.problem.message}. Press Reset to start a fresh run.`);
    return;
  }
  const run = loaded.value;
  try {
    // The snapshot's settings, as the trainer will read them, choose the backend under `auto`.
    const config = validate((run.snapshot as { config?: unknown }).config ?? {}).config;
    backend = await startRunBackend(command.backend, config, command.failBackends, command);
    if (backend.fellBack) problem('warning', `Backend: ${backend.reason}.`);
    trainer = Trainer.restore(run.snapshot);
  } catch (error) {
    setState('failed');
    problem('error', `Could not continue the saved run: ${errorText(error)}. Press Reset to start a fresh run.`);
    return;
  }
  saver = RunSaver.resume(
    run,
    (message) => problem('warning', message),
    (updates) => post({ type: 'saved', runId: run.id, updates }),
  );
  post({
    type: 'restored',
    runId: run.id,
    config: { ...trainer.settings },
    link: run.link,
    title: run.title,
    history: run.history,
    samples: run.samples,
  });
  await runStages(trainer);
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

async function update(explain = false): Promise<boolean> {
  if (!trainer || !trainer.pretrained) return false;
  try {
    if (crashAtUpdate === trainer.update + 1) throw new Error('the device was lost (simulated by crashAt)');
    const result = await trainer.step({ explain });
    post({ type: 'metrics', runId: saver?.runId, metrics: result.metrics, samples: result.samples });
    if (result.explanation) post({ type: 'explanation', runId: saver?.runId, explanation: result.explanation });
    if (result.explanationProblem) problem('warning', result.explanationProblem);
    if (result.divergence) problem('warning', result.divergence.message);
    saver?.record(result.metrics, result.samples);
    await saver?.maybeSave(trainer);
    return true;
  } catch (error) {
    // A backend that dies mid-run (e.g. WebGPU device lost): stop; the app moves the run to a new
    // worker on the next backend down and restores its last saved state.
    playing = false;
    setState('failed');
    post({
      type: 'backend-lost',
      backend: backend?.name,
      runId: saver?.runId,
      message: `The ${backend?.name ?? ''} backend stopped: ${errorText(error)}.`,
    });
    return false;
  }
}

// A zero-delay setTimeout called again and again from its own callback is clamped to 4 ms once nested
// five deep (the HTML timer rules), a pause after every update; a message on a channel is a task that
// waits only for the messages already queued, such as a pause.
const yieldChannel = new MessageChannel();
let resumeAfterYield: (() => void) | undefined;
yieldChannel.port1.onmessage = () => resumeAfterYield?.();

function yieldToMessages(): Promise<void> {
  return new Promise((resolve) => {
    resumeAfterYield = resolve;
    yieldChannel.port2.postMessage(null);
  });
}

async function playLoop(): Promise<void> {
  while (playing) {
    queue = queue.then(async () => {
      if (playing) await update();
    });
    await queue;
    // Let pause, set and step messages in between updates.
    await yieldToMessages();
  }
  if (state === 'playing') setState('paused');
  // Stopped: save what is new, so a reload continues from here.
  queue = queue.then(() => (trainer && state !== 'failed' ? saver?.maybeSave(trainer, true) : undefined));
}

function handle(command: Command): void {
  // The commands that start a backend say which webgpu programs to run (absent: auto).
  if (command.type === 'probe' || command.type === 'reset' || command.type === 'restore')
    chooseWebgpuKernels(command.webgpuKernels ?? 'auto');
  switch (command.type) {
    case 'probe':
      void probe(command);
      break;
    case 'reset':
      queue = queue.then(() => reset(command));
      break;
    case 'restore':
      queue = queue.then(() => restore(command));
      break;
    case 'label':
      if (saver) Object.assign(saver, { link: command.link, title: command.title });
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
      if (playing) {
        if (command.explain) problem('warning', 'Pause training first: an update can be explained only while paused.');
        return;
      }
      queue = queue.then(async () => {
        if (await update(command.explain)) {
          setState('paused');
          if (trainer) await saver?.maybeSave(trainer, true);
        }
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
