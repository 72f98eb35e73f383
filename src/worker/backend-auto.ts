// `auto` in the browser worker: start the backend remembered for this device and model shape, or measure
// the candidates and start the fastest.
//
// Each candidate is measured in a throwaway copy of this worker (a nested worker running the same
// script), one after the other, never two at once (they would share the cores). The copy starts the
// backend, trains one warm-up update and TIMED_UPDATES timed ones of the current configuration, and is
// terminated when it is done or when its budget (MEASURE_BUDGET_MS, boot included) runs out. An update
// in flight cannot be cancelled inside a worker — WebGPU's first update on a software adapter takes
// ~9 s, most of it compiling shaders — but a worker can be terminated, taking its tensors and GPU device with it, so a
// slow candidate costs its budget and no more, and this worker's own tfjs state is never touched by it.
//
// Software WebGPU/WebGL (SwiftShader, llvmpipe) are skipped before measuring, as before: they run several
// times slower than wasm for this model (the `measureSoftware` test seam measures them to show it), and
// measuring them would cost every GPU-less machine their budgets (10 s) on its first visit. cpu is
// measured only when wasm cannot start: on the same processor it is always the slower one. With a single
// candidate left there is nothing to choose, and nothing is measured or remembered.
import type { BackendChoice, BackendName } from '../engine/backend';
import { BACKENDS } from '../engine/backend-names';
import type { Config } from '../engine/config';
import {
  chooseFastest,
  describeChoice,
  describeMeasurement,
  findRemembered,
  measureConfig,
  runProbe,
  shapeKey,
  type BackendMeasurement,
  type BackendMemoryEntry,
  type ProbeEvent,
  type ProbeHandle,
} from './backend-measure';
import {
  chosenWebgpuKernels,
  deviceFingerprint,
  gpuChecks,
  startBrowserBackend,
  startBrowserBackendIn,
} from './browser-backend';
import type { Command, WorkerEvent } from './protocol';

export interface AutoStart {
  config: Config;
  /** The app's remembered choices (any shape, any device; checked here). */
  memory: unknown;
  failing: readonly BackendName[];
  measureSoftware: boolean;
  /** Called before each candidate is measured, e.g. "webgl (2 of 3)". */
  onMeasuring: (text: string) => void;
  /** A new measurement, for the app to remember. */
  onMeasured: (entry: BackendMemoryEntry) => void;
}

/** Measures one backend in a copy of this worker (its script URL is this worker's own). */
function startProbe(
  backend: BackendName,
  config: Config,
  failing: readonly BackendName[],
  onEvent: (event: ProbeEvent) => void,
): ProbeHandle {
  const worker = new Worker(self.location.href, { type: 'module' });
  worker.onmessage = (event: MessageEvent<WorkerEvent>) => {
    if (event.data.type === 'probe') onEvent(event.data.event);
  };
  worker.onerror = (event) => {
    event.preventDefault();
    onEvent({ type: 'error', message: event.message || 'the measuring worker crashed' });
  };
  const command: Command = {
    type: 'probe',
    backend,
    config,
    failBackends: [...failing],
    webgpuKernels: chosenWebgpuKernels(),
  };
  worker.postMessage(command);
  return worker;
}

const unique = (names: readonly BackendName[]) => names.filter((name, i) => names.indexOf(name) === i);

export async function startAutoBackend(o: AutoStart): Promise<BackendChoice> {
  const checks = await gpuChecks();
  const device = await deviceFingerprint();
  const shape = shapeKey(o.config);

  const remembered = findRemembered(o.memory, device, shape);
  if (remembered) {
    try {
      const started = await startBrowserBackendIn([remembered.backend], o.failing);
      return { name: started.name, fellBack: false, reason: describeChoice(remembered, true) };
    } catch {
      // The remembered backend no longer starts here: measure again.
    }
  }

  const skipped: BackendMeasurement[] = [];
  const gpus: BackendName[] = [];
  // wasm first (the baseline, and nearly always done within its budget), then the GPUs.
  for (const name of ['webgl', 'webgpu'] as const) {
    const check = checks[name];
    if (check.problem && !(o.measureSoftware && check.software)) {
      skipped.push({ backend: name, outcome: 'skipped', note: check.brief });
    } else gpus.push(name);
  }
  const candidates: BackendName[] = ['wasm', ...gpus];

  if (candidates.length === 1 || typeof Worker === 'undefined') {
    // Nothing to choose between (or no nested workers to measure in): the usual order.
    const started = await startBrowserBackend('auto', o.failing);
    if (candidates.length > 1) {
      return { ...started, reason: `auto could not measure (no workers inside workers here): ${started.reason}` };
    }
    if (started.name !== 'wasm') return started;
    const others = skipped.sort((a, b) => BACKENDS.indexOf(a.backend) - BACKENDS.indexOf(b.backend));
    return { ...started, reason: `auto: wasm, the only candidate; ${others.map(describeMeasurement).join(', ')}` };
  }

  const measurements: BackendMeasurement[] = [];
  const measureOne = async (name: BackendName, i: number, n: number) => {
    o.onMeasuring(`${name} (${i} of ${n})`);
    const m = await runProbe(name, (onEvent) => startProbe(name, measureConfig(o.config), o.failing, onEvent));
    measurements.push(m);
    return m;
  };
  for (const [i, name] of candidates.entries()) {
    const m = await measureOne(name, i + 1, candidates.length);
    // cpu only stands in for a wasm that cannot run.
    if (name === 'wasm' && m.outcome === 'failed') {
      candidates.push('cpu');
    }
  }
  if (!candidates.includes('cpu')) {
    skipped.push({ backend: 'cpu', outcome: 'skipped', note: 'slower than wasm on the same processor' });
  }

  const fastest = chooseFastest(measurements);
  const byRate = measurements
    .filter((m) => m.outcome === 'measured')
    .sort((a, b) => (b.updatesPerSecond ?? 0) - (a.updatesPerSecond ?? 0))
    .map((m) => m.backend);
  // The fastest; should it not start here now, the next fastest, then the usual order of the rest.
  const order = unique([...byRate, ...BACKENDS.filter((b) => candidates.includes(b)), 'cpu']);
  const started = await startBrowserBackendIn(order, o.failing);
  const entry: BackendMemoryEntry = {
    device,
    shape,
    backend: started.name,
    measurements: [...measurements, ...skipped],
    date: new Date().toISOString(),
  };
  o.onMeasured(entry);
  const reason = describeChoice(entry);
  return fastest === undefined || started.name === fastest
    ? { name: started.name, fellBack: false, reason }
    : { name: started.name, fellBack: true, reason: `${reason}; ${started.reason}` };
}
