// `npm run bench`: per-update time on the Node backends for each algorithm, the PyTorch reference
// side by side with wasm PPO, and time-to-threshold in headless Chromium for each browser backend.
// Environment: BENCH_BACKENDS=wasm,cpu  BENCH_ALGORITHMS=reinforce,actor-critic,ppo  BENCH_WARMUP=2
// BENCH_UPDATES=6  BENCH_BROWSER=wasm,webgl,cpu,webgpu (or 0 to skip)  BENCH_BROWSER_TIMEOUT_S=120
// BENCH_MEMORY_UPDATES=0 (e.g. 2000: memory flatness in the browser)
import os from 'node:os';
import type { BackendName } from '../src/engine/backend';
import { ALGORITHMS, type AlgorithmName } from '../src/engine/config';
import { tf } from '../src/engine/tf';
import { benchNode, formatNodeRows, type NodeRow } from './node';
import { benchBrowser } from './browser';
import { runPytorchReference, type PytorchResult } from './pytorch';

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

// PyTorch before and after our wasm PPO run, so both see the same machine load.
console.log('\nPPO update against PyTorch doing identical work (bench/ppo_reference.py, one thread):');
const before = await runPytorchReference({ warmup, updates: Math.max(updates, 10) });
const ours = (await benchNode({ backends: ['wasm'], algorithms: ['ppo'], warmup, updates }))[0] as NodeRow | undefined;
const after = await runPytorchReference({ warmup, updates: Math.max(updates, 10) });
console.log(formatComparison(ours, before, after));

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
