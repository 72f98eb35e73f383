// `npm run bench`: per-update time on the Node backends for each algorithm, the PyTorch reference
// side by side with wasm PPO and GRPO on the same settings, and time-to-threshold in headless Chromium
// for each browser backend.
// Environment: BENCH_BACKENDS=wasm,cpu  BENCH_ALGORITHMS=reinforce,actor-critic,ppo  BENCH_WARMUP=2
// BENCH_UPDATES=6  BENCH_BROWSER=wasm,webgl,cpu,webgpu (or 0 to skip)  BENCH_BROWSER_TIMEOUT_S=120
// BENCH_MEMORY_UPDATES=0 (e.g. 2000: memory flatness in the browser)
// BENCH_LEARN=0 (e.g. 60: learning curves of wasm and PyTorch, PPO and GRPO, seeds BENCH_LEARN_SEEDS=1,2,3)
import os from 'node:os';
import type { BackendName } from '../src/engine/backend';
import { ALGORITHMS, defaultConfig, validate, type AlgorithmName, type Config } from '../src/engine/config';
import { tf } from '../src/engine/tf';
import { benchNode, formatNodeRows, learnNode, type NodeRow } from './node';
import { benchBrowser } from './browser';
import { runPytorchLearningCurve, runPytorchReference, type LearningCurve, type PytorchResult } from './pytorch';

const list = <T extends string>(name: string, fallback: readonly T[]) =>
  (process.env[name]?.split(',').filter(Boolean) as T[] | undefined) ?? [...fallback];
const backends = list<BackendName>('BENCH_BACKENDS', ['wasm', 'cpu']);
const algorithms = list<AlgorithmName>('BENCH_ALGORITHMS', ALGORITHMS);
const warmup = Number(process.env.BENCH_WARMUP ?? 2);
const updates = Number(process.env.BENCH_UPDATES ?? 6);

console.log(`Node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}, tfjs ${tf.version_core}`);
console.log(`default preset, ${warmup} warm-up + ${updates} measured updates, medians\n`);
const rows = await benchNode({ backends, algorithms, warmup, updates });
console.log(formatNodeRows(rows));

// The PyTorch comparisons: the engine's defaults on both sides (the script takes them on its command
// line and reports back what it ran), GRPO with groups of 8. PyTorch runs before and after ours, so both
// see the same machine load.
const COMPARED = [
  { algorithm: 'ppo', groupSize: 1, title: 'PPO' },
  { algorithm: 'grpo', groupSize: 8, title: 'GRPO' },
] as const;
const comparisonConfig = (algorithm: AlgorithmName, groupSize: number): Config =>
  validate({ ...defaultConfig(), algorithm, groupSize }).config;
const describeSettings = (c: Config) =>
  `batch ${c.batchSize}${c.groupSize > 1 ? ` (${c.batchSize / c.groupSize} prompts × G ${c.groupSize})` : ''}, ` +
  `lr ${c.learningRate}, β ${c.beta}, c_e ${c.entropyCoef}, ${c.epochs} epochs × ${c.minibatches} minibatches`;

const compared = COMPARED.filter((c) => algorithms.includes(c.algorithm));
for (const { algorithm, groupSize, title } of compared) {
  const config = comparisonConfig(algorithm, groupSize);
  console.log(`\n${title} update against PyTorch doing identical work (bench/ppo_reference.py, one thread):`);
  console.log(`settings on both sides: ${describeSettings(config)}`);
  const reference = { warmup, updates: Math.max(updates, 10), config };
  const before = await runPytorchReference(reference);
  const ours = (await benchNode({ backends: ['wasm'], algorithms: [algorithm], warmup, updates, config }))[0] as
    NodeRow | undefined;
  const after = await runPytorchReference(reference);
  console.log(formatComparison(ours, before, after));
}

// Learning curves, off by default (minutes): does the reference learn as our engine does on the same settings?
const learnUpdates = Number(process.env.BENCH_LEARN ?? 0);
if (learnUpdates >= 10) {
  const seeds = (process.env.BENCH_LEARN_SEEDS ?? '1,2,3').split(',').filter(Boolean).map(Number);
  for (const { algorithm, groupSize, title } of compared) {
    const config = comparisonConfig(algorithm, groupSize);
    console.log(`\n${title} mean score per 10 updates, wasm against PyTorch (${describeSettings(config)}):`);
    const curves: { label: string; means: LearningCurve }[] = [];
    for (const seed of seeds)
      curves.push({ label: `tfjs wasm, seed ${seed}`, means: await learnCurve({ ...config, seed }, learnUpdates) });
    for (const seed of seeds)
      curves.push({
        label: `PyTorch, seed ${seed}`,
        means: await runPytorchLearningCurve({ updates: learnUpdates, seed, settings: config }),
      });
    console.log(formatLearning(curves, learnUpdates));
  }
}

const browserBackends =
  process.env.BENCH_BROWSER === '0' ? [] : list('BENCH_BROWSER', ['wasm', 'webgl', 'cpu', 'webgpu']);
const memoryUpdates = Number(process.env.BENCH_MEMORY_UPDATES ?? 0);
if (browserBackends.length > 0 || memoryUpdates > 0) {
  console.log('');
  console.log(
    await benchBrowser({
      backends: browserBackends,
      thresholdTimeoutS: Number(process.env.BENCH_BROWSER_TIMEOUT_S ?? 120),
      memoryUpdates,
    }),
  );
}

async function learnCurve(config: Config, n: number): Promise<LearningCurve> {
  try {
    return { available: true, means: await learnNode('wasm', config, n) };
  } catch (error) {
    return { available: false, reason: String(error) };
  }
}

/** One row per run, one column per 10 updates; each side's mean over seeds below its runs. */
function formatLearning(curves: readonly { label: string; means: LearningCurve }[], n: number): string {
  const columns = Math.floor(n / 10);
  const lines = [
    `| run | ${Array.from({ length: columns }, (_, i) => `${(i + 1) * 10}`).join(' | ')} |`,
    `|---|${'---:|'.repeat(columns)}`,
  ];
  const row = (label: string, means: readonly number[]) =>
    `| ${label} | ${means.map((m) => m.toFixed(3)).join(' | ')} |`;
  for (const side of ['tfjs wasm', 'PyTorch']) {
    const runs = curves.filter((c) => c.label.startsWith(side));
    const done: number[][] = [];
    for (const { label, means } of runs) {
      if (means.available) {
        lines.push(row(label, means.means));
        done.push(means.means);
      } else lines.push(`| ${label} | not run: ${means.reason} |`);
    }
    if (done.length > 1)
      lines.push(
        row(
          `**${side}, mean of ${done.length}**`,
          done[0].map((_, i) => done.reduce((a, m) => a + m[i], 0) / done.length),
        ),
      );
  }
  return lines.join('\n');
}

function formatComparison(ours: NodeRow | undefined, ...torch: PytorchResult[]): string {
  const runs = torch.filter((t) => t.available);
  if (runs.length === 0) return `PyTorch reference not run: ${torch[0].available ? '' : torch[0].reason}`;
  if (!ours) return 'wasm did not start, so there is nothing to compare.';
  const mean = (pick: (t: (typeof runs)[number]) => number) => runs.reduce((a, t) => a + pick(t), 0) / runs.length;
  const torchMs = {
    update: mean((t) => t.updateMs),
    rollout: mean((t) => t.rolloutMs),
    optimize: mean((t) => t.optimizeMs),
  };
  return [
    '| implementation | update ms | rollout ms | optimise ms |',
    '|---|---:|---:|---:|',
    `| tfjs ${tf.version_core}, wasm | ${ours.updateMs.toFixed(0)} | ${ours.rolloutMs.toFixed(0)} | ${ours.optimizeMs.toFixed(0)} |`,
    `| PyTorch ${runs[0].torch}, cpu (mean of ${runs.length} runs) | ${torchMs.update.toFixed(0)} | ${torchMs.rollout.toFixed(0)} | ${torchMs.optimize.toFixed(0)} |`,
    `| **ratio tfjs / PyTorch** | **${(ours.updateMs / torchMs.update).toFixed(2)}×** | ${(ours.rolloutMs / torchMs.rollout).toFixed(2)}× | ${(ours.optimizeMs / torchMs.optimize).toFixed(2)}× |`,
  ].join('\n');
}
