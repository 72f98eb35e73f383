// `npm run bench`: per-update time on the Node backends for each algorithm, the PyTorch reference
// side by side with wasm PPO and GRPO on the same settings, and time-to-threshold in headless Chromium
// for each browser backend.
// Environment: BENCH_BACKENDS=wasm,cpu  BENCH_ALGORITHMS=reinforce,actor-critic,ppo  BENCH_WARMUP=2
// BENCH_UPDATES=6  BENCH_ROUNDS=1 (interleaved rounds of each PyTorch comparison, reported as medians)
// BENCH_BROWSER=wasm,webgl,cpu,webgpu (or 0 to skip; webgpu:tfjs and
// webgpu:barrier-free force WebGPU's programs)  BENCH_BROWSER_REPEATS=1  BENCH_BROWSER_TIMEOUT_S=120
// BENCH_MEMORY_UPDATES=0 (e.g. 2000: memory flatness in the browser)
// BENCH_LEARN=0 (e.g. 60: learning curves of wasm and PyTorch, PPO and GRPO, seeds BENCH_LEARN_SEEDS=1,2,3)
// BENCH_CONFIGS="default;dModel=64&…" (the PyTorch comparisons' settings, link query strings, ';' between)
// BENCH_TORCH=independent,reference (the PyTorch scripts timed; the ratio is against the fastest)
// BENCH_SIMD=compare (the PyTorch comparisons time wasm with tfjs's kernels, the SIMD BatchMatMul alone and
// every SIMD kernel; on, off or matmul: one of them)
import os from 'node:os';
import { inapplicable } from '../src/engine/applicability';
import type { BackendName } from '../src/engine/backend';
import { ALGORITHMS, defaultConfig, validate, type AlgorithmName, type Config } from '../src/engine/config';
import { DEFAULT_FUSED_OPS, setFusedOps } from '../src/engine/kernels/wasm-fused';
import { setSimdMatMulMode } from '../src/engine/kernels/wasm-matmul';
import { tf } from '../src/engine/tf';
import { decodeLink } from '../src/share/link';
import { benchNode, formatNodeRows, learnNode, type NodeRow } from './node';
import { benchBrowser } from './browser';
import {
  PYTORCH_SCRIPTS,
  runPytorchLearningCurve,
  runPytorchReference,
  type LearningCurve,
  type PytorchResult,
  type PytorchScript,
} from './pytorch';

const list = <T extends string>(name: string, fallback: readonly T[]) =>
  (process.env[name]?.split(',').filter(Boolean) as T[] | undefined) ?? [...fallback];
const backends = list<BackendName>('BENCH_BACKENDS', ['wasm', 'cpu']);
const algorithms = list<AlgorithmName>('BENCH_ALGORITHMS', ALGORITHMS);
const warmup = Number(process.env.BENCH_WARMUP ?? 2);
const updates = Number(process.env.BENCH_UPDATES ?? 6);
// Rounds of each PyTorch comparison: each round times our side and then each script once more, so
// both sides are sampled across the same minutes; the tables then show medians over rounds and runs.
const rounds = Math.max(1, Math.floor(Number(process.env.BENCH_ROUNDS ?? 1)));

// The PyTorch comparisons, read first so that a wrong BENCH_CONFIGS or BENCH_TORCH stops before any work:
// the same settings on both sides (the scripts take them on their command line and report back what they
// ran), GRPO with groups of 8, for each configuration of BENCH_CONFIGS: the default preset and issue 17's
// larger model. Each PyTorch script runs before and after ours, so both see the same machine load.
// ppo_reference.py (the textbook version) does PPO and GRPO only; ppo_independent.py does all four.
const COMPARED = [
  { algorithm: 'ppo', groupSize: 1, title: 'PPO', scripts: PYTORCH_SCRIPTS },
  { algorithm: 'grpo', groupSize: 8, title: 'GRPO', scripts: PYTORCH_SCRIPTS },
  { algorithm: 'reinforce', groupSize: 1, title: 'REINFORCE', scripts: ['independent'] },
  { algorithm: 'actor-critic', groupSize: 1, title: 'Actor-critic', scripts: ['independent'] },
] as const satisfies readonly {
  algorithm: AlgorithmName;
  groupSize: number;
  title: string;
  scripts: readonly PytorchScript[];
}[];
const LARGER = 'dModel=64&nLayers=2&nHeads=4&alphabetSize=4&beta=0.05&learningRate=0.001&entropyCoef=0.01&sftSteps=150';
const configs = (process.env.BENCH_CONFIGS ?? `default;${LARGER}`)
  .split(';')
  .map((query) => query.trim())
  .filter(Boolean)
  .map((query) => {
    if (query === 'default') return { label: 'default preset', base: defaultConfig() };
    const { config, notices } = decodeLink(query);
    if (notices.length > 0) throw new Error(`BENCH_CONFIGS: "${query}": ${notices.join(' ')}`);
    return { label: query, base: config };
  });
const torchScripts = list<PytorchScript>('BENCH_TORCH', PYTORCH_SCRIPTS);
// Our side of each comparison, on wasm: tfjs-wasm's own kernels only; the SIMD BatchMatMul alone
// (src/engine/kernels/wasm-matmul.ts: bit-identical to tfjs's kernel, so the numerics before the fused
// kernels); and the default, every SIMD kernel (wasm-fused.ts too).
type Kernels = 'tfjs' | 'matmul' | 'default';
const KERNEL_LABELS: Record<Kernels, string> = {
  tfjs: 'wasm, tfjs kernels only',
  matmul: 'wasm + SIMD BatchMatMul only',
  default: 'wasm + every SIMD kernel (default)',
};
const SIMD_VARIANTS: Record<string, Kernels[]> = {
  compare: ['tfjs', 'matmul', 'default'],
  on: ['default'],
  off: ['tfjs'],
  matmul: ['matmul'],
};
const useKernels = (kernels: Kernels) => {
  setSimdMatMulMode(kernels === 'tfjs' ? 'off' : 'all');
  setFusedOps(kernels === 'default' ? DEFAULT_FUSED_OPS : []);
};
const simdVariants = SIMD_VARIANTS[process.env.BENCH_SIMD ?? 'compare'];
if (!simdVariants) throw new Error(`BENCH_SIMD: "${process.env.BENCH_SIMD}" is none of compare, on, off, matmul`);
for (const script of torchScripts)
  if (!PYTORCH_SCRIPTS.includes(script))
    throw new Error(`BENCH_TORCH: "${script}" is none of ${PYTORCH_SCRIPTS.join(', ')}`);
const SCRIPT_FILES: Record<PytorchScript, string> = {
  independent: 'ppo_independent.py',
  reference: 'ppo_reference.py',
};
/** The PyTorch scripts BENCH_TORCH asked for that implement this algorithm. */
const scriptsFor = (implemented: readonly PytorchScript[]) => torchScripts.filter((s) => implemented.includes(s));
const comparisonConfig = (base: Config, algorithm: AlgorithmName, groupSize: number): Config =>
  validate({ ...base, algorithm, groupSize }).config;
const describeSettings = (c: Config) =>
  `batch ${c.batchSize}${c.groupSize > 1 ? ` (${c.batchSize / c.groupSize} prompts × G ${c.groupSize})` : ''}, ` +
  `lr ${c.learningRate}, β ${c.beta}, c_e ${c.entropyCoef}, ${inapplicable('epochs', c) ? 'one step per batch' : `${c.epochs} epochs × ${c.minibatches} minibatches`}, ` +
  `d_model ${c.dModel}, ${c.nLayers} layer${c.nLayers > 1 ? 's' : ''}, ${c.nHeads} heads, alphabet ${c.alphabetSize}, ` +
  `${c.sftSteps} format-pretraining steps`;

console.log(`Node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}, tfjs ${tf.version_core}`);
console.log(`default preset, ${warmup} warm-up + ${updates} measured updates, medians\n`);
const rows = await benchNode({ backends, algorithms, warmup, updates });
console.log(formatNodeRows(rows));

const compared = COMPARED.filter((c) => algorithms.includes(c.algorithm));
for (const { label, base } of compared.length > 0 ? configs : []) {
  for (const { algorithm, groupSize, title, scripts } of compared) {
    const config = comparisonConfig(base, algorithm, groupSize);
    const torchScriptsHere = scriptsFor(scripts);
    console.log(`\n${title} update against PyTorch doing identical work (one thread), ${label}:`);
    console.log(`settings on both sides: ${describeSettings(config)}`);
    const reference = { warmup, updates: Math.max(updates, 10), config };
    const torch = new Map<PytorchScript, PytorchResult[]>(torchScriptsHere.map((script) => [script, []]));
    for (const script of torchScriptsHere) torch.get(script)?.push(await runPytorchReference({ ...reference, script }));
    const oursByRound = simdVariants.map((kernels) => ({ label: KERNEL_LABELS[kernels], rows: [] as NodeRow[] }));
    for (let round = 0; round < rounds; round++) {
      for (const [i, kernels] of simdVariants.entries()) {
        useKernels(kernels);
        const row = (await benchNode({ backends: ['wasm'], algorithms: [algorithm], warmup, updates, config }))[0];
        if (row) oursByRound[i].rows.push(row);
      }
      useKernels('default');
      for (const script of torchScriptsHere)
        torch.get(script)?.push(await runPytorchReference({ ...reference, script }));
    }
    const ours = oursByRound.map(({ label, rows }) => ({ label, row: medianRow(rows), rounds: rows }));
    console.log(formatComparison(ours, torch));
  }
}

// Learning curves, off by default (minutes): does the reference learn as our engine does on the same settings?
const learnUpdates = Number(process.env.BENCH_LEARN ?? 0);
if (learnUpdates >= 10) {
  const seeds = (process.env.BENCH_LEARN_SEEDS ?? '1,2,3').split(',').filter(Boolean).map(Number);
  for (const { label, base } of configs) {
    for (const { algorithm, groupSize, title, scripts } of compared) {
      const config = comparisonConfig(base, algorithm, groupSize);
      console.log(
        `\n${title} mean score per 10 updates, wasm against PyTorch, ${label} (${describeSettings(config)}):`,
      );
      const curves: { label: string; means: LearningCurve }[] = [];
      for (const seed of seeds)
        curves.push({ label: `tfjs wasm, seed ${seed}`, means: await learnCurve({ ...config, seed }, learnUpdates) });
      for (const script of scriptsFor(scripts))
        for (const seed of seeds)
          curves.push({
            label: `PyTorch ${SCRIPT_FILES[script]}, seed ${seed}`,
            means: await runPytorchLearningCurve({ script, updates: learnUpdates, seed, settings: config }),
          });
      console.log(formatLearning(curves, learnUpdates));
    }
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
      repeats: Number(process.env.BENCH_BROWSER_REPEATS ?? 1),
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
  for (const side of ['tfjs wasm', ...torchScripts.map((script) => `PyTorch ${SCRIPT_FILES[script]}`)]) {
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

/**
 * The median over runs or rounds: for an even count the mean of the middle two. (Per-update medians in
 * node.ts and the scripts take the upper one, the same on both sides; across a side's runs the upper
 * one would pick its slower half, which would flatter whichever side has an even count: PyTorch's.)
 */
function centre(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Each timing the median over rounds (one round: that round's row). */
function medianRow(rows: readonly NodeRow[]): NodeRow | undefined {
  if (rows.length <= 1) return rows[0];
  return {
    ...rows[0],
    updateMs: centre(rows.map((r) => r.updateMs)),
    rolloutMs: centre(rows.map((r) => r.rolloutMs)),
    optimizeMs: centre(rows.map((r) => r.optimizeMs)),
  };
}

/**
 * One row per implementation (ours: the median over rounds; each PyTorch script: the mean of its two
 * runs, or with more rounds the median of its runs), and tfjs against the fastest. With more than one
 * round the ratio row also gives each round's ratio, our round against the mean of the script's runs
 * just before and just after it.
 */
function formatComparison(
  variants: readonly { label: string; row: NodeRow | undefined; rounds: readonly NodeRow[] }[],
  torch: ReadonlyMap<PytorchScript, PytorchResult[]>,
): string {
  const ours = variants.flatMap(({ label, row, rounds }) => (row ? [{ label, row, rounds }] : []));
  if (ours.length === 0) return 'wasm did not start, so there is nothing to compare.';
  const lines = [
    '| implementation | update ms | rollout ms | optimise ms | kernels/update |',
    '|---|---:|---:|---:|---:|',
    ...ours.map(
      ({ label, row }) =>
        `| tfjs ${tf.version_core}, ${label} | ${row.updateMs.toFixed(0)} | ${row.rolloutMs.toFixed(0)} | ${row.optimizeMs.toFixed(0)} | ${row.kernels} |`,
    ),
  ];
  let fastest: { file: string; update: number; rollout: number; optimize: number; runs: number[] } | undefined;
  for (const [script, results] of torch) {
    const runs = results.flatMap((t) => (t.available ? [t] : []));
    const file = SCRIPT_FILES[script];
    if (runs.length === 0) {
      const reason = results.map((t) => (t.available ? '' : t.reason)).find(Boolean);
      lines.push(`| PyTorch, ${file} | not run: ${reason ?? 'no runs'} | | | |`);
      continue;
    }
    const useMedian = runs.length > 2;
    const summarise = (pick: (t: (typeof runs)[number]) => number) =>
      useMedian ? centre(runs.map(pick)) : runs.reduce((a, t) => a + pick(t), 0) / runs.length;
    const ms = {
      file,
      update: summarise((t) => t.updateMs),
      rollout: summarise((t) => t.rolloutMs),
      optimize: summarise((t) => t.optimizeMs),
      runs: runs.map((t) => t.updateMs),
    };
    lines.push(
      `| PyTorch ${runs[0].torch}, ${file}, ${runs[0].blas} (${useMedian ? 'median' : 'mean'} of ${runs.length} runs) | ${ms.update.toFixed(0)} | ${ms.rollout.toFixed(0)} | ${ms.optimize.toFixed(0)} | |`,
    );
    if (!fastest || ms.update < fastest.update) fastest = ms;
  }
  if (fastest) {
    const torchRuns = fastest.runs;
    for (const { label, row, rounds: perRound } of ours) {
      // Round r ran between the script's runs r and r + 1 (when every run of it ran).
      const roundRatios =
        perRound.length > 1 && torchRuns.length === perRound.length + 1
          ? ` (rounds: ${perRound.map((r, i) => `${(r.updateMs / ((torchRuns[i] + torchRuns[i + 1]) / 2)).toFixed(2)}×`).join(', ')})`
          : '';
      lines.push(
        `| **ratio ${label} / PyTorch (${fastest.file})** | **${(row.updateMs / fastest.update).toFixed(2)}×**${roundRatios} | ${(row.rolloutMs / fastest.rollout).toFixed(2)}× | ${(row.optimizeMs / fastest.optimize).toFixed(2)}× | |`,
      );
    }
  }
  return lines.join('\n');
}
