// Per-update time on the default preset for each algorithm and Node backend, split into rollout and
// optimisation, with tokens/s, kernels launched and host read-backs per update. Warm-up updates (kernel
// set-up, format pretraining) are excluded; times are medians over the measured updates. Also the learning
// curve of a run (mean score per 10 updates), for the side-by-side with the PyTorch reference.
import { useBackend, type BackendName } from '../src/engine/backend';
import { ALGORITHMS, type AlgorithmName, type Config } from '../src/engine/config';
import { createTrainer } from '../src/engine/trainer';
import { countKernels, countReadBacks } from './counters';

export interface NodeRow {
  backend: string;
  algorithm: string;
  updateMs: number;
  rolloutMs: number;
  optimizeMs: number;
  tokensPerS: number;
  episodesPerS: number;
  kernels: number;
  readBacks: number;
  /** The settings the run used, after validation (what the PyTorch reference is checked against). */
  config: Readonly<Config>;
}

export interface NodeBenchOptions {
  backends: BackendName[];
  algorithms?: readonly AlgorithmName[];
  warmup: number;
  updates: number;
  /** Settings other than the algorithm (default: the engine's defaults). */
  config?: Partial<Config>;
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(backend: BackendName, algorithm: AlgorithmName, options: NodeBenchOptions): Promise<NodeRow> {
  const trainer = createTrainer({ ...options.config, algorithm });
  await trainer.pretrain();
  for (let i = 0; i < options.warmup; i++) await trainer.step();
  const samples = { update: [] as number[], rollout: [] as number[], optimize: [] as number[], tokens: [] as number[] };
  for (let i = 0; i < options.updates; i++) {
    const { metrics } = await trainer.step();
    samples.update.push(metrics['perf/update_ms']);
    samples.rollout.push(metrics['perf/rollout_ms']);
    samples.optimize.push(metrics['perf/optimize_ms']);
    samples.tokens.push(metrics['perf/tokens_per_s']);
  }
  // Counted on separate updates: profiling slows kernels down.
  const readBacks = await countReadBacks(() => trainer.step());
  const kernels = (await countKernels(() => trainer.step())).total;
  const config = { ...trainer.settings };
  trainer.dispose();
  const updateMs = median(samples.update);
  return {
    backend,
    algorithm,
    updateMs,
    rolloutMs: median(samples.rollout),
    optimizeMs: median(samples.optimize),
    tokensPerS: median(samples.tokens),
    episodesPerS: (config.batchSize / updateMs) * 1000,
    kernels,
    readBacks,
    config,
  };
}

export async function benchNode(options: NodeBenchOptions): Promise<NodeRow[]> {
  const rows: NodeRow[] = [];
  for (const backend of options.backends) {
    const started = await useBackend(backend);
    if (started.name !== backend) {
      console.log(`skipping ${backend}: ${started.reason}`);
      continue;
    }
    for (const algorithm of options.algorithms ?? ALGORITHMS) rows.push(await measure(backend, algorithm, options));
  }
  return rows;
}

/**
 * One run's learning curve on `backend`: the mean of reward/score (the task's score) over each 10 of
 * `updates` updates, after format pretraining.
 */
export async function learnNode(backend: BackendName, config: Partial<Config>, updates: number): Promise<number[]> {
  const started = await useBackend(backend);
  if (started.name !== backend) throw new Error(`${backend} did not start: ${started.reason}`);
  const trainer = createTrainer(config);
  try {
    await trainer.pretrain();
    const means: number[] = [];
    let window: number[] = [];
    for (let i = 0; i < updates; i++) {
      window.push((await trainer.step()).metrics['reward/score']);
      if (window.length === 10) {
        means.push(window.reduce((a, b) => a + b, 0) / 10);
        window = [];
      }
    }
    return means;
  } finally {
    trainer.dispose();
  }
}

export function formatNodeRows(rows: readonly NodeRow[]): string {
  const lines = [
    '| backend | algorithm | update ms | rollout ms | optimise ms | kernels/update | read-backs/update | tokens/s | episodes/s |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows)
    lines.push(
      `| ${r.backend} | ${r.algorithm} | ${r.updateMs.toFixed(0)} | ${r.rolloutMs.toFixed(0)} | ${r.optimizeMs.toFixed(0)} | ${r.kernels} | ${r.readBacks} | ${r.tokensPerS.toFixed(0)} | ${r.episodesPerS.toFixed(0)} |`,
    );
  return lines.join('\n');
}
