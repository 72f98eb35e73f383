// `npm run bench`: per-update time on the default preset for each algorithm and Node backend, split
// into rollout and optimisation, with tokens/s. Warm-up updates (kernel set-up, format pretraining)
// are excluded; times are medians over the measured updates.
import os from 'node:os';
import { useBackend, type BackendName } from '../engine/backend';
import { ALGORITHMS } from '../engine/config';
import { createTrainer } from '../engine/trainer';
import { tf } from '../engine/tf';

const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const MEASURED = Number(process.env.BENCH_UPDATES ?? 6);
const BACKENDS: BackendName[] = (process.env.BENCH_BACKENDS?.split(',') as BackendName[] | undefined) ?? [
  'wasm',
  'cpu',
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Row {
  backend: string;
  algorithm: string;
  updateMs: number;
  rolloutMs: number;
  optimizeMs: number;
  tokensPerS: number;
  episodesPerS: number;
}

async function measure(backend: BackendName, algorithm: string): Promise<Row> {
  const trainer = createTrainer({ algorithm });
  await trainer.pretrain();
  const samples = { update: [] as number[], rollout: [] as number[], optimize: [] as number[], tokens: [] as number[] };
  for (let i = 0; i < WARMUP + MEASURED; i++) {
    const { metrics } = await trainer.step();
    if (i < WARMUP) continue;
    samples.update.push(metrics['perf/update_ms']);
    samples.rollout.push(metrics['perf/rollout_ms']);
    samples.optimize.push(metrics['perf/optimize_ms']);
    samples.tokens.push(metrics['perf/tokens_per_s']);
  }
  const batch = trainer.settings.batchSize;
  trainer.dispose();
  const updateMs = median(samples.update);
  return {
    backend,
    algorithm,
    updateMs,
    rolloutMs: median(samples.rollout),
    optimizeMs: median(samples.optimize),
    tokensPerS: median(samples.tokens),
    episodesPerS: (batch / updateMs) * 1000,
  };
}

async function main(): Promise<void> {
  console.log(
    `Node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}, tfjs ${tf.version_core}`,
  );
  console.log(`default preset, ${WARMUP} warm-up + ${MEASURED} measured updates, medians\n`);
  const rows: Row[] = [];
  for (const backend of BACKENDS) {
    const started = await useBackend(backend);
    if (started.name !== backend) {
      console.log(`skipping ${backend}: ${started.reason}`);
      continue;
    }
    for (const algorithm of ALGORITHMS) rows.push(await measure(backend, algorithm));
  }
  const header = '| backend | algorithm | update ms | rollout ms | optimise ms | tokens/s | episodes/s |';
  console.log(header);
  console.log('|---|---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.backend} | ${r.algorithm} | ${r.updateMs.toFixed(0)} | ${r.rolloutMs.toFixed(0)} | ${r.optimizeMs.toFixed(0)} | ${r.tokensPerS.toFixed(0)} | ${r.episodesPerS.toFixed(0)} |`,
    );
  }
}

await main();
