// `npm run bench`: Node backends per algorithm, the PyTorch reference side by side, and the browser.
// Environment: BENCH_BACKENDS=wasm,cpu  BENCH_WARMUP=2  BENCH_UPDATES=6
import os from 'node:os';
import type { BackendName } from '../src/engine/backend';
import { tf } from '../src/engine/tf';
import { benchNode, formatNodeRows } from './node';

const backends = (process.env.BENCH_BACKENDS?.split(',') as BackendName[] | undefined) ?? ['wasm', 'cpu'];
const warmup = Number(process.env.BENCH_WARMUP ?? 2);
const updates = Number(process.env.BENCH_UPDATES ?? 6);

console.log(`Node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}, tfjs ${tf.version_core}`);
console.log(`default preset, ${warmup} warm-up + ${updates} measured updates, medians\n`);
console.log(formatNodeRows(await benchNode({ backends, warmup, updates })));
