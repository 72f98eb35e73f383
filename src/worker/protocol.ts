// The typed message protocol between the UI thread and the training worker. The UI sends commands and
// never touches tensors; the worker sends status, metrics, samples, problems and inspections.
import type { BackendName } from '../engine/backend-names';
import type { Config } from '../engine/config';
import type { UpdateExplanation } from '../engine/explanation';
import type { Metrics } from '../engine/metrics';
import type { Sample, Stage } from '../engine/trainer';
import type { BackendMemoryEntry, ProbeEvent } from './backend-measure';

/**
 * `auto` measures the backends that start and picks the fastest (backend-auto.ts); a name forces one
 * (falling back only if it cannot start).
 */
export type BackendRequest = 'auto' | BackendName;
export const BACKEND_REQUESTS: readonly BackendRequest[] = ['auto', 'webgpu', 'webgl', 'wasm', 'cpu'];

/**
 * Which programs the webgpu backend runs where tfjs's use shared memory and workgroup barriers: `auto`
 * the barrier-free ones (engine/kernels/webgpu-barrier-free.ts) on a software adapter such as
 * SwiftShader and tfjs's on a GPU; `barrier-free` and `tfjs` force one (`?webgpuKernels=`, a test and
 * bench seam).
 */
export type WebgpuKernels = 'auto' | 'barrier-free' | 'tfjs';
export const WEBGPU_KERNELS: readonly WebgpuKernels[] = ['auto', 'barrier-free', 'tfjs'];

/** How `auto` chooses: what the app remembers, and test seams. Ignored when a backend is forced. */
export interface AutoOptions {
  /** The app's remembered choices (localStorage); the worker picks the entry of its device and shape. */
  backendMemory?: BackendMemoryEntry[];
  /** Test seam (`?measureSoftware=1`): measure software WebGPU/WebGL too instead of skipping them. */
  measureSoftware?: boolean;
}

export type Command =
  /**
   * Start a fresh run (also used for reset): builds a trainer, runs format pretraining, then pauses.
   * `runId` names the run in the browser's saved runs (absent: not saved); `link` and `title` label it.
   * `crashAtUpdate` is a test seam: that update fails as a lost GPU device would.
   */
  | ({
      type: 'reset';
      config: Config;
      backend: BackendRequest;
      failBackends?: BackendName[];
      webgpuKernels?: WebgpuKernels;
      runId?: string;
      link?: string;
      title?: string;
      crashAtUpdate?: number;
    } & AutoOptions)
  /** Continue a saved run (a reload, the Runs list, or a new worker after a crash); then paused. */
  | ({
      type: 'restore';
      runId: string;
      backend: BackendRequest;
      failBackends?: BackendName[];
      webgpuKernels?: WebgpuKernels;
    } & AutoOptions)
  /**
   * Sent by a training worker to a copy of itself (`auto` measuring one backend): train a few updates
   * of `config` on `backend` and report each (`probe` events). The copy is terminated afterwards.
   */
  | {
      type: 'probe';
      backend: BackendName;
      config: Config;
      failBackends?: BackendName[];
      webgpuKernels?: WebgpuKernels;
    }
  /** The run's label in the saved runs changed (a live setting, a title). */
  | { type: 'label'; link: string; title: string }
  | { type: 'play' }
  | { type: 'pause' }
  /** Exactly one update, then paused; `explain` also sends that update's numbers, stage by stage. */
  | { type: 'step'; explain?: boolean }
  /** A live setting, applied from the next update. */
  | { type: 'set'; key: string; value: unknown }
  /** Next-token distributions of policy and reference after `prefix` (token strings, <bos> first). */
  | { type: 'inspect'; prefix: string[] }
  /** RLHF: train the reward model again (fresh comparisons), or restart RL from the SFT policy. */
  | { type: 'rerun'; stage: RerunStage };

export type RerunStage = 'reward-model' | 'rl';
export const RERUN_STAGES: readonly RerunStage[] = ['reward-model', 'rl'];

export type RunState = 'starting' | 'pretraining' | 'paused' | 'playing' | 'failed';

export type WorkerEvent =
  | {
      type: 'status';
      state: RunState;
      backend?: BackendName;
      /** Why this backend runs (what was asked for, what failed on the way). */
      backendReason?: string;
      /** Fraction of all stages before RL done, while pretraining. */
      progress?: number;
      /** The pipeline stage (SFT, reward model, RL) and the fraction of it done. */
      stage?: Stage;
      stageProgress?: number;
      vocabulary?: string[];
      /** While `auto` measures: the backend being measured, e.g. "webgl (2 of 3)". */
      measuring?: string;
    }
  /** `auto` measured the backends: the app remembers the choice for this device and model shape. */
  | { type: 'backend-measured'; entry: BackendMemoryEntry }
  /** A probe's progress (from a copy of the worker measuring one backend, to the worker that asked). */
  | { type: 'probe'; event: ProbeEvent }
  /**
   * One update of run `runId`. An update in flight when a reset arrives still finishes and reports: its
   * run id tells the app it belongs to the run it left, not to the new one.
   */
  | { type: 'metrics'; runId?: string; metrics: Metrics; samples: Sample[] }
  /** A saved run is back in a trainer: the app shows its history and settings. */
  | {
      type: 'restored';
      runId: string;
      config: Config;
      link: string;
      title: string;
      history: Metrics[];
      samples: Sample[];
    }
  /**
   * The backend failed in the middle of a run (a lost GPU device, say): the app starts a new worker
   * on the next backend down and restores the run's last saved state.
   */
  | { type: 'backend-lost'; backend: BackendName | undefined; runId: string | undefined; message: string }
  /** The run was saved at this update (the Runs list refreshes). */
  | { type: 'saved'; runId: string; updates: number }
  /** Something the user should know: a fallback, a skipped update, a refused setting, a dead backend. */
  | { type: 'problem'; severity: 'warning' | 'error'; message: string }
  | { type: 'distribution'; prefix: string[]; tokens: string[]; policy: number[]; reference: number[] }
  /** The numbers of an explained update (after its `metrics` event). */
  | { type: 'explanation'; runId?: string; explanation: UpdateExplanation };

const COMMAND_TYPES = new Set([
  'reset',
  'restore',
  'label',
  'play',
  'pause',
  'step',
  'set',
  'inspect',
  'rerun',
  'probe',
]);

const isBackendName = (x: unknown) => BACKEND_REQUESTS.includes(x as BackendRequest) && x !== 'auto';
/** The remembered entries are checked one by one where they are used; here only their container. */
const autoOptionsOk = (m: Record<string, unknown>) =>
  (m.backendMemory === undefined || Array.isArray(m.backendMemory)) &&
  (m.measureSoftware === undefined || typeof m.measureSoftware === 'boolean');

/** Structural check of a message arriving at the worker; anything else is ignored with a problem. */
export function isCommand(message: unknown): message is Command {
  if (message === null || typeof message !== 'object') return false;
  const m = message as Record<string, unknown>;
  if (typeof m.type !== 'string' || !COMMAND_TYPES.has(m.type)) return false;
  switch (m.type) {
    case 'reset':
      return (
        typeof m.config === 'object' &&
        m.config !== null &&
        BACKEND_REQUESTS.includes(m.backend as BackendRequest) &&
        autoOptionsOk(m)
      );
    case 'restore':
      return typeof m.runId === 'string' && BACKEND_REQUESTS.includes(m.backend as BackendRequest) && autoOptionsOk(m);
    case 'probe':
      return typeof m.config === 'object' && m.config !== null && isBackendName(m.backend);
    case 'label':
      return typeof m.link === 'string' && typeof m.title === 'string';
    case 'set':
      return typeof m.key === 'string';
    case 'step':
      return m.explain === undefined || typeof m.explain === 'boolean';
    case 'inspect':
      return Array.isArray(m.prefix) && m.prefix.every((t) => typeof t === 'string');
    case 'rerun':
      return RERUN_STAGES.includes(m.stage as RerunStage);
    default:
      return true;
  }
}
