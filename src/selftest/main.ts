// The backend self-test page (selftest.html): does this machine's WebGPU, WebGL and wasm compute the
// same PPO losses, gradient and values as the plain-JavaScript cpu backend, on one fixed batch?
// Plain DOM, text only; each row carries data-backend / data-max-difference for the browser tests.
import { maxAbsDifference } from '../engine/agreement';
import type { BackendNumbers } from '../engine/agreement';
import { WEBGPU_KERNELS, type WebgpuKernels } from '../worker/protocol';
import type { SelfTestEvent, SelfTestStart } from './protocol';

const TOLERANCE = 1e-4;
/** Single ops: float32 rounding in a different summation order, relative above magnitude 1. */
const KERNEL_TOLERANCE = 1e-5;

const root = document.getElementById('selftest') as HTMLElement;
const element = <K extends keyof HTMLElementTagNameMap>(tag: K, text = '', parent: HTMLElement = root) => {
  const node = document.createElement(tag);
  node.textContent = text;
  parent.append(node);
  return node;
};

element('h1', 'Backend self-test');
const back = element('a', '← Token RL Playground');
back.setAttribute('href', './');
element(
  'p',
  `Each backend computes PPO's losses, the gradient of every weight, the value head's outputs and the weights after one Adam step on the same batch and weights. ` +
    `They should agree with the cpu backend (plain JavaScript) to ${TOLERANCE}. A larger difference means this GPU or driver computes something else.`,
);
const status = element('p', 'Running… (WebGPU on a machine without a GPU can take a minute)');
status.setAttribute('role', 'status');
const table = element('table');
const header = element('tr', '', table);
for (const title of [
  'backend',
  'max |Δ| losses',
  'max |Δ| gradient',
  'max |Δ| values',
  'max |Δ| after Adam',
  'ms',
  'verdict',
])
  element('th', title, header);

element(
  'p',
  `Then each backend runs single ops (matmuls, reductions, transpose, softmax, broadcast arithmetic) that should agree with cpu to ${KERNEL_TOLERANCE}. ` +
    'On a software WebGPU adapter such as SwiftShader, WebGPU runs barrier-free programs for them instead of TensorFlow.js’s (“barrier-free” counts them).',
);
const kernelTable = element('table');
const kernelHeader = element('tr', '', kernelTable);
for (const title of ['backend', 'worst op', 'max |Δ|', 'barrier-free programs run', 'verdict'])
  element('th', title, kernelHeader);

let reference: BackendNumbers | undefined;

function addKernelRow(data: Extract<SelfTestEvent, { type: 'kernels' }>): void {
  const row = element('tr', '', kernelTable);
  row.dataset.kernelsBackend = data.backend;
  if (data.barrierFree) row.dataset.barrierFree = JSON.stringify(data.barrierFree);
  const used = data.barrierFree
    ? Object.entries(data.barrierFree)
        .filter(([, n]) => n > 0)
        .map(([kind, n]) => `${kind} ${n}`)
        .join(', ') || 'none (TensorFlow.js programs)'
    : '–';
  if (data.error !== undefined) {
    for (const cell of [data.backend, '–', '–', used, `FAILED: ${data.error}`]) element('td', cell, row);
    return;
  }
  const worst = data.maxDifference;
  row.dataset.maxDifference = String(worst);
  row.dataset.worstOp = data.worstOp;
  const verdict = data.backend === 'cpu' ? 'reference' : worst <= KERNEL_TOLERANCE ? 'agrees' : 'DISAGREES';
  for (const cell of [data.backend, `${data.worstOp} (of ${data.checks})`, worst.toExponential(1), used, verdict])
    element('td', cell, row);
}

function addRow(cells: string[], backend: string, difference?: number): HTMLElement {
  const row = element('tr', '', table);
  row.dataset.backend = backend;
  if (difference !== undefined) row.dataset.maxDifference = String(difference);
  for (const cell of cells) element('td', cell, row);
  return row;
}

const worker = new Worker(new URL('./selftest.worker.ts', import.meta.url), { type: 'module' });
const requestedKernels = new URLSearchParams(location.search).get('webgpuKernels');
const start: SelfTestStart = WEBGPU_KERNELS.includes(requestedKernels as WebgpuKernels)
  ? { webgpuKernels: requestedKernels as WebgpuKernels }
  : {};
worker.postMessage(start);
worker.onmessage = ({ data }: MessageEvent<SelfTestEvent>) => {
  if (data.type === 'done') {
    status.textContent = 'Done.';
    document.body.dataset.done = 'true';
    worker.terminate();
    return;
  }
  if (data.type === 'kernels') {
    addKernelRow(data);
    return;
  }
  if (data.type === 'unavailable') {
    addRow([data.backend, '–', '–', '–', '–', '–', `not available: ${data.reason}`], data.backend);
    return;
  }
  const { numbers } = data;
  reference ??= numbers;
  const names = Object.keys(reference.losses);
  const losses = maxAbsDifference(
    names.map((n) => numbers.losses[n] ?? NaN),
    names.map((n) => reference!.losses[n]),
  );
  const gradient = maxAbsDifference(numbers.gradient, reference.gradient);
  const values = maxAbsDifference(numbers.values, reference.values);
  const stepped = maxAbsDifference(numbers.stepped, reference.stepped);
  const worst = Number.isNaN(losses) ? Infinity : Math.max(losses, gradient, values, stepped);
  const verdict = data.backend === 'cpu' ? 'reference' : worst <= TOLERANCE ? 'agrees' : 'DISAGREES';
  const row = addRow(
    [
      data.backend,
      losses.toExponential(1),
      gradient.toExponential(1),
      values.toExponential(1),
      stepped.toExponential(1),
      data.ms.toFixed(0),
      verdict,
    ],
    data.backend,
    worst,
  );
  if (data.fused) {
    // On a software WebGPU adapter the model's layers run as fused programs (webgpu-fused.ts); on wasm
    // the whole model as one kernel each way (wasm-model.ts).
    row.dataset.fused = JSON.stringify(data.fused);
    const ran = Object.entries(data.fused).filter(([, n]) => n > 0);
    row.title = ran.length ? `fused kernels run: ${ran.map(([k, n]) => `${k} ${n}`).join(', ')}` : '';
  }
};
