// `auto` measures instead of guessing: each candidate backend trains a few updates of the current
// configuration, the fastest wins, and the choice is remembered per device and model shape. This file is
// the part without TensorFlow.js (the UI thread imports it, the unit tests drive it with fake probes and
// timers): the probe's budget, what its events amount to, the choice, the memory entry and its text.
// Where a probe runs (a throwaway nested worker) is `backend-auto.ts`.
import { BACKENDS, type BackendName } from '../engine/backend-names';
import type { Config } from '../engine/config';

/**
 * A candidate's whole budget: its worker booting, the backend starting, one warm-up update and the timed
 * updates. WebGPU on a software adapter needs ~9 s for its first update (shader compilation, format
 * pretraining); a real GPU that needs more than this for the first few updates of a tiny model is not
 * worth waiting for.
 */
export const MEASURE_BUDGET_MS = 5000;
/** Warm updates timed after the warm-up one (which pays shader compilation, wasm tiering, first uploads). */
export const TIMED_UPDATES = 2;

export type MeasureOutcome = 'measured' | 'too-slow' | 'failed' | 'skipped';

export interface BackendMeasurement {
  backend: BackendName;
  outcome: MeasureOutcome;
  /** `measured`: TIMED_UPDATES divided by their total time. */
  updatesPerSecond?: number;
  /** Why it was skipped or failed, or how far it got before the budget ran out. */
  note?: string;
}

/** One measurement, remembered per device and model shape. */
export interface BackendMemoryEntry {
  /** The browser and its GPUs (`deviceFingerprint` in backend-auto.ts). */
  device: string;
  /** `shapeKey(config)`. */
  shape: string;
  /** The backend auto picked. */
  backend: BackendName;
  measurements: BackendMeasurement[];
  /** When it was measured (ISO 8601). */
  date: string;
}

/** What a probe reports: its backend started, an update took `ms`, or it failed. */
export type ProbeEvent = { type: 'started' } | { type: 'update'; ms: number } | { type: 'error'; message: string };

/** The settings a probe's speed depends on: the key of the memory (with the device). */
const SHAPE_FIELDS = ['dModel', 'nLayers', 'nHeads', 'contextLength', 'batchSize', 'algorithm'] as const;

export function shapeKey(config: Config): string {
  return SHAPE_FIELDS.map((key) => `${key}=${String(config[key])}`).join('&');
}

/**
 * The configuration a probe trains: the run's own, without the stages before RL (the update's speed does
 * not depend on them) except the smallest reward-model fit the preference task needs before RL can start.
 */
export function measureConfig(config: Config): Config {
  return { ...config, sftSteps: 0, rmSteps: 1, comparisons: 8 };
}

const round = (x: number) => Number(x.toPrecision(3));

/** The measurement a probe's events amount to; `timedOut`: its budget ran out before it finished. */
export function summarize(
  backend: BackendName,
  events: readonly ProbeEvent[],
  timedOut: boolean,
  budgetMs = MEASURE_BUDGET_MS,
): BackendMeasurement {
  const error = events.find((e) => e.type === 'error');
  if (error) return { backend, outcome: 'failed', note: error.message };
  const updates = events.flatMap((e) => (e.type === 'update' ? [e.ms] : []));
  if (updates.length >= 1 + TIMED_UPDATES) {
    const timed = updates.slice(1, 1 + TIMED_UPDATES).reduce((a, b) => a + b, 0);
    return { backend, outcome: 'measured', updatesPerSecond: round((TIMED_UPDATES * 1000) / Math.max(timed, 1e-3)) };
  }
  if (!timedOut) return { backend, outcome: 'failed', note: 'the measurement stopped early' };
  const started = events.some((e) => e.type === 'started');
  const reached = !started
    ? 'had not started'
    : updates.length === 0
      ? 'first update not done'
      : `${updates.length} of ${1 + TIMED_UPDATES} updates done`;
  return { backend, outcome: 'too-slow', note: `> ${budgetMs / 1000} s: ${reached}` };
}

/** True once a probe has nothing more to report: it failed, or did the warm-up and the timed updates. */
export function probeFinished(events: readonly ProbeEvent[]): boolean {
  return (
    events.some((e) => e.type === 'error') || events.filter((e) => e.type === 'update').length >= 1 + TIMED_UPDATES
  );
}

/** Where a probe runs; `terminate` stops it, even in the middle of an update. */
export interface ProbeHandle {
  terminate(): void;
}

export interface Timers {
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}

const realTimers: Timers = {
  setTimeout: (run, ms) => setTimeout(run, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
};

/**
 * Runs one probe (`start` launches it and forwards its events) until it finishes or its budget runs out;
 * either way it is terminated, so an update still in flight (a GPU compiling shaders) cannot hold the run.
 */
export function runProbe(
  backend: BackendName,
  start: (onEvent: (event: ProbeEvent) => void) => ProbeHandle,
  budgetMs = MEASURE_BUDGET_MS,
  timers: Timers = realTimers,
): Promise<BackendMeasurement> {
  return new Promise((resolve) => {
    const events: ProbeEvent[] = [];
    let handle: ProbeHandle | undefined;
    let done = false;
    const finish = (timedOut: boolean) => {
      if (done) return;
      done = true;
      timers.clearTimeout(timer);
      handle?.terminate();
      resolve(summarize(backend, events, timedOut, budgetMs));
    };
    const timer = timers.setTimeout(() => finish(true), budgetMs);
    try {
      handle = start((event) => {
        if (done) return;
        events.push(event);
        if (probeFinished(events)) finish(false);
      });
      // A probe that finished while starting was not terminated yet.
      if (done) handle.terminate();
    } catch (error) {
      events.push({ type: 'error', message: error instanceof Error ? error.message : String(error) });
      finish(false);
    }
  });
}

/** The fastest measured backend; ties go to the one earlier in webgpu → webgl → wasm → cpu. */
export function chooseFastest(measurements: readonly BackendMeasurement[]): BackendName | undefined {
  let best: BackendMeasurement | undefined;
  for (const m of measurements) {
    if (m.outcome !== 'measured' || m.updatesPerSecond === undefined) continue;
    const better =
      !best ||
      m.updatesPerSecond > best.updatesPerSecond! ||
      (m.updatesPerSecond === best.updatesPerSecond && BACKENDS.indexOf(m.backend) < BACKENDS.indexOf(best.backend));
    if (better) best = m;
  }
  return best?.backend;
}

const OUTCOME_ORDER: Record<MeasureOutcome, number> = { measured: 0, 'too-slow': 1, failed: 2, skipped: 3 };

/** One backend's part of the badge's text: "wasm 6.1 updates/s", "webgpu skipped (software adapter)". */
export function describeMeasurement(m: BackendMeasurement): string {
  switch (m.outcome) {
    case 'measured':
      return `${m.backend} ${m.updatesPerSecond!.toFixed(1)} updates/s`;
    case 'too-slow':
      return `${m.backend} too slow (${m.note ?? `> ${MEASURE_BUDGET_MS / 1000} s`})`;
    case 'failed':
      return `${m.backend} failed (${m.note ?? 'did not start'})`;
    case 'skipped':
      return `${m.backend} skipped (${m.note ?? 'not a candidate'})`;
  }
}

/**
 * The badge's text for an auto choice, fastest first: "auto picked wasm: wasm 6.1 updates/s, webgl too
 * slow (> 5 s: first update not done), webgpu skipped (software adapter)". A remembered choice says when
 * it was measured and how to measure again.
 */
export function describeChoice(entry: BackendMemoryEntry, remembered = false): string {
  const sorted = [...entry.measurements].sort(
    (a, b) =>
      OUTCOME_ORDER[a.outcome] - OUTCOME_ORDER[b.outcome] ||
      (b.updatesPerSecond ?? 0) - (a.updatesPerSecond ?? 0) ||
      BACKENDS.indexOf(a.backend) - BACKENDS.indexOf(b.backend),
  );
  const measured = entry.measurements.some((m) => m.outcome === 'measured');
  const head = measured
    ? `auto picked ${entry.backend}`
    : `auto: no backend finished its updates within ${MEASURE_BUDGET_MS / 1000} s, so ${entry.backend} (the usual order)`;
  const when = remembered ? ` (measured ${entry.date.slice(0, 10)}; Backend › "auto: measure again" re-measures)` : '';
  return `${head}${when}: ${sorted.map(describeMeasurement).join(', ')}`;
}

const isBackend = (x: unknown): x is BackendName => BACKENDS.includes(x as BackendName);

function isMeasurement(x: unknown): x is BackendMeasurement {
  if (x === null || typeof x !== 'object') return false;
  const m = x as Record<string, unknown>;
  return (
    isBackend(m.backend) &&
    typeof m.outcome === 'string' &&
    m.outcome in OUTCOME_ORDER &&
    (m.updatesPerSecond === undefined || (typeof m.updatesPerSecond === 'number' && m.updatesPerSecond > 0)) &&
    (m.note === undefined || typeof m.note === 'string') &&
    (m.outcome !== 'measured' || typeof m.updatesPerSecond === 'number')
  );
}

/** Structural check of a remembered entry (localStorage holds whatever an older version wrote). */
export function isMemoryEntry(x: unknown): x is BackendMemoryEntry {
  if (x === null || typeof x !== 'object') return false;
  const e = x as Record<string, unknown>;
  return (
    typeof e.device === 'string' &&
    typeof e.shape === 'string' &&
    isBackend(e.backend) &&
    typeof e.date === 'string' &&
    Array.isArray(e.measurements) &&
    e.measurements.every(isMeasurement)
  );
}

/** The remembered choice for this device and shape, if any (the newest, should there be several). */
export function findRemembered(entries: unknown, device: string, shape: string): BackendMemoryEntry | undefined {
  if (!Array.isArray(entries)) return undefined;
  return entries
    .filter(isMemoryEntry)
    .filter((e) => e.device === device && e.shape === shape)
    .at(-1);
}
